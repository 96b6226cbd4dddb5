r"""Data of figure 8: the continuous moving particle under a learned linear-Gaussian policy."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import algorithms, lqr
from pgref.policies import GaussianPolicy

__all__ = ["ParticleData", "particle_data"]


class ParticleData(NamedTuple):
    r"""Data behind ``particle.png``.

    Attributes
    ----------
    problem : lqr.LinearQuadraticProblem
        The particle: sₜ₊₁ = sₜ + 0.1 aₜ, reward −(‖sₜ‖² + 0.1‖aₜ‖²), s₀ ∼ N(0, I).
    policy : GaussianPolicy
        a ∼ N(Θᵀs, σ² I), θ = [Θ row-major, log σ²] (:func:`pgref.lqr.linear_gaussian_policy`).
    gamma : float
    optimal_gain : ndarray, shape (2, 2)
        K* from :func:`pgref.lqr.optimal_gain` (the best σ² is 0: a = K*s).
    alpha : float
        α of both the sampled and the exact ascent.
    batch_size : int
        K episodes per sampled update.
    seeds : tuple of int
    updates : ndarray of int, shape (U + 1,)
    theta : ndarray, shape (n_seeds, U + 1, 5)
        θ = [Θ row-major, log σ²] of REINFORCE_batch, per seed and update.
    gain : ndarray, shape (n_seeds, U + 1, 2, 2)
        K = Θᵀ (:func:`pgref.lqr.gain_matrix`).
    variance : ndarray, shape (n_seeds, U + 1)
        σ² (``policy.variance``).
    objective : ndarray, shape (n_seeds, U + 1)
        The exact J(θ) (``History.objective``).
    exact_gain : ndarray, shape (U + 1, 2, 2)
    exact_variance : ndarray, shape (U + 1,)
    exact_objective : ndarray, shape (U + 1,)
        The same for exact ascent θ ← θ + α ∇J.
    initial_paths, learned_paths : ndarray, shape (n_paths, H, 2)
        Positions Sₜ of sampled episodes under θ₀ and under the learned θ (seed 0's last).
    """

    problem: lqr.LinearQuadraticProblem
    policy: GaussianPolicy
    gamma: float
    optimal_gain: np.ndarray
    alpha: float
    batch_size: int
    seeds: tuple[int, ...]
    updates: np.ndarray
    theta: np.ndarray
    gain: np.ndarray
    variance: np.ndarray
    objective: np.ndarray
    exact_gain: np.ndarray
    exact_variance: np.ndarray
    exact_objective: np.ndarray
    initial_paths: np.ndarray
    learned_paths: np.ndarray


def particle_data(quick: bool = False) -> ParticleData:
    r"""REINFORCE on the 2-D moving particle: the gain K → K*, σ² → 0; paths before and after.

    Parameters
    ----------
    quick : bool
        One seed of 10 updates instead of 4 seeds of 100.

    Returns
    -------
    ParticleData

    Notes
    -----
    Lecture, "Example: Moving Particle" (continuous: sₜ₊₁ = sₜ + Δt aₜ, reward
    −(‖sₜ‖² + 0.1‖aₜ‖²), γ = 0.8, s₀ ∼ N(0, I)) with the policy of "Example: Gaussian",
    a ∼ N(Θᵀx(s), σ² I) on x(s) = s, learning θ and σ² (through log σ², which keeps σ² > 0).
    REINFORCE_batch with γᵗ and K = 100 episodes of H = 40 steps per update (γᴴ ≈ 1.3e-4 cut
    off); exact ascent uses the Lyapunov-solve ∇J of :func:`pgref.lqr.policy_gradient`. The
    optimal gain K* solves the discounted Riccati equation; the optimal σ² is 0, since
    ∂J/∂σ² < 0 everywhere (:func:`pgref.lqr.objective`).
    """
    problem = lqr.moving_particle(dim=2, gamma=0.8, initial_mean=np.zeros(2),
                                  initial_cov=np.eye(2))
    policy = lqr.linear_gaussian_policy(problem, variance=0.5, learn_variance=True,
                                        variance_parameter="log_variance")
    theta_0 = lqr.theta_for_gain(policy, np.zeros((2, 2)), 0.5)
    alpha, batch_size, horizon = 0.03, 100, 40
    seeds, n_updates = ((0,), 10) if quick else ((0, 1, 2, 3), 100)
    histories = [algorithms.REINFORCE_batch(problem, policy, theta_0, alpha, n_updates,
                                            batch_size, np.random.default_rng(80 + seed),
                                            max_steps=horizon, allow_truncated=True)
                 for seed in seeds]
    ascent = algorithms.exact_gradient_ascent(problem, policy, theta_0, alpha, n_updates)

    def gains(thetas):
        return np.array([lqr.gain_matrix(policy, theta) for theta in thetas])

    def variances(thetas):
        return np.array([policy.variance(theta) for theta in thetas])

    rng = np.random.default_rng(88)
    n_paths, path_length = 12, 30
    paths = [lqr.sample_trajectories(problem, policy, theta, n_paths, path_length,
                                     rng).padded().states  # (n_paths, H, 2)
             for theta in (theta_0, histories[0].final_theta)]
    return ParticleData(
        problem, policy, problem.gamma, lqr.optimal_gain(problem), alpha, batch_size, seeds,
        np.arange(n_updates + 1),
        np.array([h.theta for h in histories]),
        np.array([gains(h.theta) for h in histories]),
        np.array([variances(h.theta) for h in histories]),
        np.array([h.objective for h in histories]),
        gains(ascent.theta), variances(ascent.theta), ascent.objective,
        paths[0], paths[1],
    )
