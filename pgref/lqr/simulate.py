r"""Simulation of many linear-quadratic episodes at once, for Monte-Carlo checks and for the
sampled estimators, with the exact bias of cutting the infinite horizon at H steps.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.lqr.lyapunov import noise_cost_per_step, stable_closed_loop, value_matrix
from pgref.lqr.policy import gain_and_variance
from pgref.lqr.problem import LinearQuadraticProblem
from pgref.policies.gaussian import GaussianPolicy
from pgref.rollout import Episodes


class DiscountedReturns(NamedTuple):
    r"""Gᵏ = Σ_{t<H} γᵗ Rₜ₊₁ for each of K episodes, the horizon H and the truncation bias."""

    returns: np.ndarray  # (K,)
    horizon: int
    truncation_bias: float  # E[Σ_{t≥H} γᵗ Rₜ₊₁]: E[returns] = 𝒥 − truncation_bias


def truncation_bias(problem: LinearQuadraticProblem, policy: GaussianPolicy, theta,
                    horizon: int) -> float:
    r"""The exact expected part of the return that a cut at H steps leaves out.

    Parameters
    ----------
    problem : LinearQuadraticProblem
    policy : GaussianPolicy
        On the identity features (see :func:`linear_gaussian_policy`).
    theta : array_like, shape (n_params,)
    horizon : int
        H ≥ 1.

    Returns
    -------
    float
        E[Σ_{t≥H} γᵗ Rₜ₊₁] = 𝒥 − E[Σ_{t<H} γᵗ Rₜ₊₁] ≤ 0.

    Notes
    -----
    E[Σ_{t≥H} γᵗ Rₜ₊₁] = −γᴴ (tr(X S_H) + c/(1 − γ)), with X the value matrix, c the noise cost
    per step and S_H = E[s_H s_Hᵀ] propagated exactly from S₀ by S ← (A + BL) S (A + BL)ᵀ + σ²BBᵀ.
    It shrinks roughly like (γ ρ(A + BL)²)ᴴ, and like γᴴ once the noise has reached its
    stationary level. Raises :class:`UnstableClosedLoopError` for an unstable gain.
    """
    gain, variance = gain_and_variance(problem, policy, theta)
    horizon = checks.positive_int("horizon", horizon)
    return _truncation_bias(problem, gain, variance, horizon)


def _truncation_bias(problem, gain, variance, horizon) -> float:
    closed_loop = stable_closed_loop(problem, gain)
    value = value_matrix(problem, gain)
    moment = problem.initial_second_moment
    noise = variance * problem.B @ problem.B.T
    for _ in range(horizon):
        moment = closed_loop @ moment @ closed_loop.T + noise
    constant = noise_cost_per_step(problem, value, variance) / (1.0 - problem.gamma)
    return float(-(problem.gamma**horizon) * (np.sum(value * moment) + constant))


def _episode_steps(problem, gain, variance, n_episodes, horizon, rng):
    """Yield (Sₜ, Aₜ) for t = 0 … H−1, all K episodes at once, shapes (K, n) and (K, d), with
    Aₜ = L Sₜ + σ ξₜ, ξₜ ∼ N(0, I): the draw of ``GaussianPolicy.sample`` on the identity
    features, with the gain L and σ² checked once by the caller."""
    eigenvalues, eigenvectors = np.linalg.eigh(problem.initial_cov)
    # Validation allowed eigenvalues down to −1e-10·scale (round-off); they are zero here.
    factor = eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))
    states = problem.initial_mean + rng.standard_normal((n_episodes, problem.state_dim)) @ factor.T
    sigma = np.sqrt(variance)
    A_T, B_T, L_T = problem.A.T, problem.B.T, gain.T
    noise_shape = (n_episodes, problem.action_dim)
    for _ in range(horizon):
        actions = states @ L_T + sigma * rng.standard_normal(noise_shape)
        yield states, actions
        states = states @ A_T + actions @ B_T


def _rewards(problem, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Rₜ₊₁ = −(SₜᵀQSₜ + AₜᵀRAₜ) of each row of states (N, n) and actions (N, d)."""
    return -(np.einsum("ki,ij,kj->k", states, problem.Q, states)
             + np.einsum("ki,ij,kj->k", actions, problem.R, actions))


def _check_simulation(problem, policy, theta, n_episodes, horizon, rng):
    gain, variance = gain_and_variance(problem, policy, theta)
    n_episodes = checks.positive_int("n_episodes", n_episodes)
    horizon = checks.positive_int("horizon", horizon)
    rng = checks.rng_generator(rng)
    return gain, variance, n_episodes, horizon, rng


def sample_trajectories(
    problem: LinearQuadraticProblem,
    policy: GaussianPolicy,
    theta,
    n_episodes: int,
    horizon: int,
    rng: np.random.Generator,
) -> Episodes:
    r"""Simulate K episodes of the linear-Gaussian policy for H steps, all episodes at once.

    Parameters
    ----------
    problem : LinearQuadraticProblem
    policy : GaussianPolicy
        On the identity features (see :func:`linear_gaussian_policy`); actions are drawn as
        ``policy.sample`` draws them, Aₜ = L Sₜ + σ ξₜ with ξₜ ∼ N(0, I).
    theta : array_like, shape (n_params,)
    n_episodes : int
        K.
    horizon : int
        H. The infinite-horizon problem is cut at H steps, so every episode is marked
        truncated; :func:`truncation_bias` gives the exact expected size of what was cut.
    rng : numpy.random.Generator

    Returns
    -------
    Episodes
        K episodes of H steps each, stored flat: ``states`` (K·H, n), ``actions`` (K·H,) for
        d = 1, else (K·H, d), ``rewards`` (K·H,); every episode truncated.

    Notes
    -----
    s₀ ∼ N(initial_mean, initial_cov), Aₜ ∼ N(LSₜ, σ² I), Rₜ₊₁ = −(SₜᵀQSₜ + AₜᵀRAₜ),
    Sₜ₊₁ = ASₜ + BAₜ. Raises :class:`UnstableClosedLoopError` for an unstable gain (the
    truncation bias would be unbounded in H).
    """
    gain, variance, n_episodes, horizon, rng = _check_simulation(
        problem, policy, theta, n_episodes, horizon, rng
    )
    stable_closed_loop(problem, gain)
    steps = list(_episode_steps(problem, gain, variance, n_episodes, horizon, rng))
    # Step t of episode k goes to row k·H + t: stack along time, then episodes first.
    states, actions = (np.stack(part, axis=1).reshape(n_episodes * horizon, -1)
                       for part in zip(*steps, strict=True))
    rewards = _rewards(problem, states, actions)  # all K·H steps in one pass
    if problem.action_dim == 1:
        actions = actions.reshape(n_episodes * horizon)
    return Episodes(states, actions, rewards, np.full(n_episodes, horizon),
                    np.ones(n_episodes, dtype=bool))


def sample_discounted_returns(problem: LinearQuadraticProblem, policy: GaussianPolicy, theta,
                              n_episodes: int, horizon: int,
                              rng: np.random.Generator) -> DiscountedReturns:
    r"""Gᵏ = Σ_{t<H} γᵗ Rᵏₜ₊₁ for K simulated episodes, without storing the trajectories.

    Same arguments and the same random draws as :func:`sample_trajectories` (so the same
    ``rng`` state gives the same returns). The Monte-Carlo estimate of 𝒥 is
    mean(returns) + truncation_bias, with standard error std(returns)/√K.
    """
    gain, variance, n_episodes, horizon, rng = _check_simulation(
        problem, policy, theta, n_episodes, horizon, rng
    )
    bias = _truncation_bias(problem, gain, variance, horizon)
    returns = np.zeros(n_episodes)
    discount = 1.0
    for states, actions in _episode_steps(problem, gain, variance, n_episodes, horizon, rng):
        returns += discount * _rewards(problem, states, actions)
        discount *= problem.gamma
    return DiscountedReturns(returns, horizon, bias)
