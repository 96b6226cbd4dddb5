r"""Data of figures 5 and 9: learning on the short corridor; the rate of exact softmax ascent."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import algorithms, envs, exact
from pgref.features import one_hot_state_features
from pgref.figures._estimation import CORRIDOR_THETA
from pgref.policies import SoftmaxLinearPolicy

__all__ = ["CorridorData", "RatesData", "rates_data", "short_corridor_data"]


# -- 5. The short corridor (lecture: "PG_v1", "REINFORCE"; Sutton & Barto, Example 13.1) ---------


class CorridorData(NamedTuple):
    r"""Data behind ``short_corridor.png``.

    Attributes
    ----------
    probabilities : ndarray, shape (P,)
        p = π(right), the same in every state.
    objective_by_probability : ndarray, shape (P,)
        J(p) from :func:`pgref.exact.objective` at θ = [log p, log(1 − p)].
    best_probability, best_objective : float
        The grid's maximiser p* and J(p*).
    names : tuple of str
        The M sampled methods.
    alphas : ndarray, shape (M,)
        Their step sizes α.
    seeds : tuple of int
    theta : ndarray, shape (M, n_seeds, E + 1, 2)
        θ before the first episode and after each of the E episodes.
    objective : ndarray, shape (M, n_seeds, E + 1)
        The exact J at each θ (``History.objective``).
    exact_alpha : float
        α of exact ascent, one step θ ← θ + α ∇J per episode.
    exact_theta : ndarray, shape (E + 1, 2)
    exact_objective : ndarray, shape (E + 1,)
    """

    probabilities: np.ndarray
    objective_by_probability: np.ndarray
    best_probability: float
    best_objective: float
    names: tuple[str, ...]
    alphas: np.ndarray
    seeds: tuple[int, ...]
    theta: np.ndarray
    objective: np.ndarray
    exact_alpha: float
    exact_theta: np.ndarray
    exact_objective: np.ndarray


def short_corridor_data(quick: bool = False) -> CorridorData:
    r"""J(p) of the short corridor, and learning curves of the lecture's loops over seeds.

    Parameters
    ----------
    quick : bool
        2 seeds of 20 episodes and a coarse p grid instead of 8 seeds of 150 episodes.

    Returns
    -------
    CorridorData

    Notes
    -----
    Sutton & Barto, Example 13.1: with p = π(right) in every state, J(p) = v_π(S₀) is maximised
    at an interior p* (no deterministic policy reaches the goal). Lecture, "First Policy Gradient
    Algorithm" (PG_v1: θ ← θ + α G(τ) ∇ log π_θ(Aₜ|Sₜ) at every step) and "REINFORCE" (Gₜ in
    place of G(τ)); REINFORCE with a learned baseline v̂(s) (Sutton & Barto, 13.4). Exact ascent
    takes one step θ ← θ + α ∇J per episode with REINFORCE's α: the step REINFORCE takes on
    average, without the noise. All start from θ₀ with π(right) ≈ 0.25.
    """
    problem = envs.short_corridor()
    mdp = problem.mdp
    policy = SoftmaxLinearPolicy(problem.features)
    probabilities = np.linspace(0.02, 0.98, 97 if quick else 481)
    objective = np.array([exact.objective(mdp, policy, np.log([p, 1.0 - p]))
                          for p in probabilities])
    best = int(np.argmax(objective))

    seeds, n_episodes = ((0, 1), 20) if quick else (tuple(range(8)), 150)
    baseline = algorithms.LinearValueBaseline(one_hot_state_features(mdp.n_states), alpha=0.1)
    methods = {  # name → (α, run)
        "PG_v1": (6e-4, algorithms.PG_v1),
        "REINFORCE": (1.5e-3, algorithms.REINFORCE),
        "REINFORCE, learned v̂(s)": (
            1.5e-3, lambda *args, **kw: algorithms.REINFORCE(*args, baseline=baseline, **kw)),
    }
    histories = [[run(mdp, policy, CORRIDOR_THETA, alpha, n_episodes,
                      np.random.default_rng(seed), max_steps=100_000) for seed in seeds]
                 for alpha, run in methods.values()]
    exact_alpha = methods["REINFORCE"][0]
    ascent = algorithms.exact_gradient_ascent(mdp, policy, CORRIDOR_THETA, exact_alpha,
                                              n_episodes)
    return CorridorData(
        probabilities, objective, float(probabilities[best]), float(objective[best]),
        tuple(methods), np.array([alpha for alpha, _ in methods.values()]), seeds,
        np.array([[h.theta for h in row] for row in histories]),
        np.array([[h.objective for h in row] for row in histories]),
        exact_alpha, ascent.theta, ascent.objective,
    )


# -- 9. The O(1/t) rate of exact softmax ascent (Mei et al., 2020), vanilla against natural -----


class RatesData(NamedTuple):
    r"""Data behind ``rates.png``.

    Attributes
    ----------
    means : ndarray, shape (A,)
        The bandit's expected rewards r(a); J* = max_a r(a).
    alpha : float
        α of both ascents.
    steps : ndarray of int, shape (T + 1,)
        t = 0, 1, …, T.
    vanilla_gap : ndarray, shape (T + 1,)
        J* − J(θₜ) under θ ← θ + α ∇J(θ) (:func:`pgref.algorithms.exact_gradient_ascent`).
    natural_gap : ndarray, shape (T_nat + 1,)
        J* − J(θₜ) under θ ← θ + α F⁺∇J(θ) (:func:`pgref.algorithms.natural_gradient_ascent`).
    n_suboptimal : int
        k, the number of sub-optimal arms.
    limit : float
        lim t·(J* − J(θₜ)) = k / ((k + 1) α) for vanilla ascent.
    late_slope : float
        The log-log slope of the vanilla gap over t ≥ T/10 (:func:`pgref.algorithms.loglog_slope`).
    """

    means: np.ndarray
    alpha: float
    steps: np.ndarray
    vanilla_gap: np.ndarray
    natural_gap: np.ndarray
    n_suboptimal: int
    limit: float
    late_slope: float


def rates_data(quick: bool = False) -> RatesData:
    r"""Sub-optimality gaps of exact softmax policy gradient and natural gradient on a bandit.

    Parameters
    ----------
    quick : bool
        T = 300 vanilla updates instead of 3 000.

    Returns
    -------
    RatesData

    Notes
    -----
    Mei et al. (2020): with the exact gradient (lecture: "Training Policy Network",
    θ ← θ + α ∇J) a softmax policy approaches a deterministic optimum only at rate
    J* − J(θₜ) = Θ(1/t), because ∇π_θ vanishes as π_θ saturates. On a bandit the gradient flow
    gives t·(J* − J(θₜ)) → k / ((k + 1) α) (derived in ``tests/test_natural.py``). The natural
    gradient F⁺∇J (Kakade, 2001) moves θ by the advantages instead, and its gap falls
    geometrically (Agarwal et al., 2021).
    """
    means = np.array([1.0, 0.6, 0.2])
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    alpha = 1.0
    n_updates = 300 if quick else 3_000
    theta_0 = np.zeros(means.size)
    vanilla = algorithms.exact_gradient_ascent(problem.mdp, policy, theta_0, alpha, n_updates)
    natural = algorithms.natural_gradient_ascent(problem.mdp, policy, theta_0, alpha, 40)
    steps = np.arange(n_updates + 1)
    gap = means.max() - vanilla.objective
    late = steps >= n_updates // 10
    n_suboptimal = int(np.sum(means < means.max()))
    return RatesData(
        means, alpha, steps, gap, means.max() - natural.objective,
        n_suboptimal, n_suboptimal / ((n_suboptimal + 1) * alpha),
        algorithms.loglog_slope(steps[late], gap[late]),
    )
