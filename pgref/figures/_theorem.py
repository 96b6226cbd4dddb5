r"""Data of figure 6: the pieces of the policy gradient theorem on the gridworld — n(s), μ(s), φ."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import envs, estimators, exact, rollout
from pgref.policies import SoftmaxLinearPolicy

__all__ = ["TheoremData", "theorem_data"]


class TheoremData(NamedTuple):
    r"""Data behind ``theorem.png``.

    Attributes
    ----------
    positions : ndarray, shape (S, 2)
        The cell (x, y) of each state.
    slip, gamma : float
        The gridworld's slip probability and γ.
    start, goal : int
        S₀ and the terminal state.
    action_names : tuple of str
    action_probs : ndarray, shape (A,)
        π_θ(·|s), the same in every cell.
    visits : ndarray, shape (S,)
        n(s) from :func:`pgref.exact.discounted_visits`.
    distribution : ndarray, shape (S,)
        μ(s) from :func:`pgref.exact.on_policy_distribution`.
    n_episodes : int
        K, the number of sampled episodes.
    empirical_visits, empirical_standard_error : ndarray, shape (S,)
        n̂(s) = 1/K Σₖ Σₜ 1[Sₜ[k] = s] and its standard error
        (:func:`pgref.estimators.visit_counts`).
    empirical_distribution : ndarray, shape (S,)
        μ̂(s) (:func:`pgref.estimators.visit_frequencies`).
    steps : ndarray of int, shape (k_max + 1,)
        0, 1, …, k_max.
    partial_sums : ndarray, shape (k_max + 1, S)
        Σ_{j<k} Σ_s′ p₀(s′) φ(s′→x, j) at row k, column x (row 0 is zero), from
        :func:`pgref.exact.k_step_visits`.
    """

    positions: np.ndarray
    slip: float
    gamma: float
    start: int
    goal: int
    action_names: tuple[str, ...]
    action_probs: np.ndarray
    visits: np.ndarray
    distribution: np.ndarray
    n_episodes: int
    empirical_visits: np.ndarray
    empirical_standard_error: np.ndarray
    empirical_distribution: np.ndarray
    steps: np.ndarray
    partial_sums: np.ndarray


def theorem_data(quick: bool = False) -> TheoremData:
    r"""n(s), μ(s), their sampled estimates, and the truncated φ series, on a 4 × 3 gridworld.

    Parameters
    ----------
    quick : bool
        K = 2 000 episodes instead of 40 000.

    Returns
    -------
    TheoremData

    Notes
    -----
    Blog, "Policy gradient from the lens of Bellman": φ(s→x, k), the probability of being in x
    k steps after s, and the expected visits

        n(x) = Σ_s p₀(s) Σ_{k≥0} φ(s→x, k),    μ(x) = n(x) / Σ_x′ n(x′),

    so that ∇J = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s) ∝ Σ_s μ(s) Σ_a q_π(s, a) ∇π_θ(a|s)
    (lecture: "Policy Gradient Theorem", where d_π = μ). Here γ = 1: n(s) is the expected
    number of steps spent in s, Σ_s n(s) the expected episode length. The gridworld slips with
    probability 0.1; the policy prefers right and up in every cell.
    """
    slip = 0.1
    problem = envs.gridworld(slip=slip)
    mdp = problem.mdp
    policy = SoftmaxLinearPolicy(problem.features)
    preferences = np.array([1.0, 0.5, 0.0, 0.0])  # right, up, left, down
    theta = np.tile(preferences, mdp.n_states)
    pi = policy.action_probs(theta)

    n_episodes = 2_000 if quick else 40_000
    episodes = rollout.sample_episodes(mdp, policy, theta, n_episodes,
                                       np.random.default_rng(60))
    counts = estimators.visit_counts(episodes, mdp.n_states, mdp.gamma)

    k_max = 150
    terms = np.array([mdp.initial @ exact.k_step_visits(mdp, pi, k) for k in range(k_max)])
    terms[:, mdp.terminal] = 0.0  # nothing is done, and nothing counted, in the terminal state
    partial_sums = np.vstack([np.zeros(mdp.n_states), np.cumsum(terms, axis=0)])
    return TheoremData(
        problem.positions, slip, mdp.gamma,
        int(np.argmax(mdp.initial)), int(np.flatnonzero(mdp.terminal)[0]),
        problem.action_names, pi[0],
        exact.discounted_visits(mdp, pi), exact.on_policy_distribution(mdp, pi),
        n_episodes, counts.mean, counts.standard_error(),
        estimators.visit_frequencies(episodes, mdp.n_states, mdp.gamma),
        np.arange(k_max + 1), partial_sums,
    )
