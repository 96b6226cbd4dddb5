r"""Gaussian policies on continuous problems, with exact J and ∇J (lecture: "Example: Gaussian").

Two problems where the Gaussian policy π_θ(a|s) = N(Θᵀx(s), σ² I) has a closed-form objective:

- :class:`GaussianBandit`, one step: r(a) = −‖a − a*(s)‖², s drawn from a finite distribution.
- :class:`LinearQuadraticProblem`, the continuous moving particle (lecture: "Example: Moving
  Particle") and any other linear-quadratic problem: sₜ₊₁ = A sₜ + B aₜ,
  rₜ₊₁ = −(sₜᵀQ sₜ + aₜᵀR aₜ), discount γ < 1, s₀ ∼ N(initial_mean, initial_cov).

For the linear-Gaussian policy a ∼ N(K s, σ² I) — a :class:`pgref.GaussianPolicy` on the state
features x(s) = s, so that K = Θᵀ — :func:`objective` and :func:`policy_gradient` return the exact
J(θ) and ∇J(θ) from two discrete Lyapunov equations, solved as linear systems; no sampling.
:func:`optimal_gain` iterates the discounted Riccati equation. :func:`sample_trajectories` and
:func:`sample_discounted_returns` simulate many episodes at once for Monte-Carlo checks and for
the sampled estimators, cut at H steps (:func:`truncation_bias` is the exact effect of the cut).
Both problems are exact problems (:class:`pgref.problems.ExactProblem`):
``problem.sample_episodes(policy, theta, n_episodes, rng)``, ``problem.objective(policy,
theta)`` and ``problem.policy_gradient(policy, theta)``.

Variance, not standard deviation: σ² is ``variance`` everywhere; σ appears only as
``standard_deviation``.
"""

from pgref.lqr.bandit import GaussianBandit
from pgref.lqr.lyapunov import (
    UnstableClosedLoopError,
    closed_loop_matrix,
    discounted_spectral_radius,
    objective,
    optimal_gain,
    policy_gradient,
    state_second_moment,
    value_matrix,
)
from pgref.lqr.policy import gain_matrix, linear_gaussian_policy, state_features, theta_for_gain
from pgref.lqr.problem import LinearQuadraticProblem, moving_particle
from pgref.lqr.simulate import (
    DiscountedReturns,
    sample_discounted_returns,
    sample_trajectories,
    truncation_bias,
)

__all__ = [
    "DiscountedReturns",
    "GaussianBandit",
    "LinearQuadraticProblem",
    "UnstableClosedLoopError",
    "closed_loop_matrix",
    "discounted_spectral_radius",
    "gain_matrix",
    "linear_gaussian_policy",
    "moving_particle",
    "objective",
    "optimal_gain",
    "policy_gradient",
    "sample_discounted_returns",
    "sample_trajectories",
    "state_features",
    "state_second_moment",
    "theta_for_gain",
    "truncation_bias",
    "value_matrix",
]
