r"""Figure ``short_corridor``: the lecture's loops learning on Sutton & Barto's Example 13.1.

Lecture: "First Policy Gradient Algorithm" (PG_v1), "REINFORCE: First Official Algorithm".
"""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import algorithms, exact
from pgref.features import one_hot_state_features
from pgref.figures import common

CAPTION = ("The short corridor (Sutton & Barto, Example 13.1): the exact J(p) with p = π(right) "
           "and its maximum (left); J(θ) after each episode of the lecture's PG_v1, REINFORCE "
           "and REINFORCE with a learned baseline, mean ± 1 standard error over seeds, beside "
           "exact ascent θ ← θ + α∇J taking one step per episode (right).")


class CorridorData(NamedTuple):
    r"""Data behind ``short_corridor.png``."""

    probabilities: np.ndarray
    """Shape (P,): p = π(right), the same in every state."""
    objective_by_probability: np.ndarray
    """Shape (P,): J(p) from :func:`pgref.exact.objective` at θ = [log p, log(1 − p)]."""
    best_probability: float
    """The grid's maximiser p*."""
    best_objective: float
    """J(p*)."""
    names: tuple[str, ...]
    """The M sampled methods."""
    alphas: np.ndarray
    """Shape (M,): their step sizes α."""
    seeds: tuple[int, ...]
    theta: np.ndarray
    """Shape (M, n_seeds, E + 1, 2): θ before the first episode and after each episode."""
    objective: np.ndarray
    """Shape (M, n_seeds, E + 1): the exact J at each θ (``History.objective``)."""
    exact_alpha: float
    """α of exact ascent, one step θ ← θ + α ∇J per episode."""
    exact_theta: np.ndarray
    """Shape (E + 1, 2): θ of exact ascent."""
    exact_objective: np.ndarray
    """Shape (E + 1,): J at those θ."""


def short_corridor_data(quick: bool = False) -> CorridorData:
    r"""J(p) of the short corridor, and learning curves of the lecture's loops over seeds.

    Parameters
    ----------
    quick : bool
        2 seeds of 20 episodes and a coarse p grid instead of 8 seeds of 150 episodes.

    Notes
    -----
    Sutton & Barto, Example 13.1: with p = π(right) in every state, J(p) = v_π(S₀) is maximised
    at an interior p* (no deterministic policy reaches the goal). Lecture, "First Policy Gradient
    Algorithm" (PG_v1: θ ← θ + α G(τ) ∇ log π_θ(Aₜ|Sₜ) at every step) and "REINFORCE" (Gₜ in
    place of G(τ)); REINFORCE with a learned baseline v̂(s) (Sutton & Barto, 13.4). Exact ascent
    takes one step θ ← θ + α ∇J per episode with REINFORCE's α: the step REINFORCE takes on
    average, without the noise. All start from θ₀ with π(right) ≈ 0.25.
    """
    mdp, policy = common.corridor()
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
            1.5e-3, lambda *args, **keywords: algorithms.REINFORCE(*args, baseline=baseline,
                                                                   **keywords)),
    }
    histories = [[run(mdp, policy, common.CORRIDOR_THETA, alpha, n_episodes,
                      np.random.default_rng(seed), max_steps=100_000) for seed in seeds]
                 for alpha, run in methods.values()]
    exact_alpha = methods["REINFORCE"][0]
    ascent = algorithms.exact_gradient_ascent(mdp, policy, common.CORRIDOR_THETA, exact_alpha,
                                              n_episodes)
    return CorridorData(
        probabilities, objective, float(probabilities[best]), float(objective[best]),
        tuple(methods), np.array([alpha for alpha, _ in methods.values()]), seeds,
        np.array([[h.theta for h in row] for row in histories]),
        np.array([[h.objective for h in row] for row in histories]),
        exact_alpha, ascent.theta, ascent.objective,
    )


def draw_short_corridor(data: CorridorData, figure: Figure) -> None:
    """Left: J(p) and p*. Right: J(θ) against episodes, mean ± 1 standard error over seeds."""
    left, right = figure.subplots(1, 2)
    left.plot(data.probabilities, data.objective_by_probability, color=common.EXACT_COLOUR)
    left.plot(data.best_probability, data.best_objective, "o", color="tab:red",
              label=f"maximum: p* ≈ {data.best_probability:.3f}, "
                    f"J(p*) ≈ {common.number(data.best_objective)}")
    start = data.exact_objective[0]
    left.axhline(start, color="grey", linestyle=":", linewidth=1.0,
                 label=f"J(θ₀) = {common.number(start)}, the start of every run")
    left.set(ylim=(-60, -8), xlabel="p = π(right), the same in every state",
             ylabel="J(p) = v_π(S₀)", title="Short corridor: exact J(p) (γ = 1)")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8.5)

    episodes = np.arange(data.objective.shape[2])
    for name, alpha, curves, colour in zip(data.names, data.alphas, data.objective,
                                           common.ESTIMATOR_COLOURS, strict=True):
        mean = curves.mean(axis=0)
        error = curves.std(axis=0, ddof=1) / np.sqrt(curves.shape[0])
        right.fill_between(episodes, mean - error, mean + error, color=colour, alpha=0.2,
                           linewidth=0)
        right.plot(episodes, mean, color=colour, label=f"{name}, α = {alpha:g}")
    right.plot(episodes, data.exact_objective, color=common.EXACT_COLOUR, linestyle="--",
               label=f"exact ascent α∇J, α = {data.exact_alpha:g}")
    right.axhline(data.best_objective, color="tab:red", linewidth=1.0,
                  label="J(p*), the best possible")
    right.set(xlabel="episode", ylabel="J(θ) after the episode (exact)",
              xlim=(0, episodes[-1]),
              title=f"Learning: mean ± 1 standard error over {len(data.seeds)} seeds")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8.5)


FIGURE = common.FigureSpec(name="short_corridor", size=(10.0, 4.4), caption=CAPTION,
                           data=short_corridor_data, draw=draw_short_corridor)
