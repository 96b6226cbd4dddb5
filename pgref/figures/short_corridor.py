r"""Figure ``short_corridor``: the lecture's loops learning on Sutton & Barto's Example 13.1.

Lecture: "First Policy Gradient Algorithm" (PG_v1), "REINFORCE: First Official Algorithm".
"""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import algorithms, exact
from pgref.features import one_hot_state_features
from pgref.figures import common

CAPTION = ("The short corridor (Sutton & Barto, Example 13.1): the exact 𝒥(p) with p = π(right) "
           "and its maximum (left); 𝒥(θ) after each episode of the lecture's PG_v1, REINFORCE "
           "and REINFORCE with a learned baseline, mean ± 1 standard error over runs, beside "
           "exact ascent θ ← θ + α∇𝒥 taking one step per episode (right).")


SEED = 5
"""The seed of the learning curves' generators."""


class CorridorData(NamedTuple):
    r"""Data behind ``short_corridor.png``."""

    probabilities: np.ndarray
    """Shape (P,): p = π(right), the same in every state."""
    objective_by_probability: np.ndarray
    """Shape (P,): 𝒥(p) from :func:`pgref.exact.objective` at θ = [log p, log(1 − p)]."""
    best_probability: float
    """The grid's maximiser p*."""
    best_objective: float
    """𝒥(p*)."""
    names: tuple[str, ...]
    """The M sampled methods."""
    alphas: np.ndarray
    """Shape (M,): their step sizes α."""
    seed: int
    """The seed of ``np.random.default_rng``: method m's R runs draw from its ``spawn(M)[m]``,
    run r from that generator's ``spawn(R)[r]`` (one lockstep call per method)."""
    theta: np.ndarray
    """Shape (M, R, E + 1, 2): θ before the first episode and after each episode."""
    objective: np.ndarray
    """Shape (M, R, E + 1): the exact 𝒥 at each θ (``History.objective``); NaN after a run
    stopped."""
    stops: tuple
    """For each method, the runs that stopped (``History.stops``: run, episode, reason): an
    episode that did not reach the goal within 100 000 steps."""
    exact_alpha: float
    """α of exact ascent, one step θ ← θ + α ∇𝒥 per episode."""
    exact_theta: np.ndarray
    """Shape (E + 1, 2): θ of exact ascent."""
    exact_objective: np.ndarray
    """Shape (E + 1,): 𝒥 at those θ."""


def short_corridor_data(quick: bool = False) -> CorridorData:
    r"""𝒥(p) of the short corridor, and learning curves of the lecture's loops over runs.

    Parameters
    ----------
    quick : bool
        2 runs of 20 episodes and a coarse p grid instead of 8 runs of 150 episodes.

    Notes
    -----
    Sutton & Barto, Example 13.1: with p = π(right) in every state, 𝒥(p) = v_π(S₀) is maximised
    at an interior p* (no deterministic policy reaches the goal). Lecture, "First Policy Gradient
    Algorithm" (PG_v1: θ ← θ + α G(τ) ∇ log π_θ(Aₜ|Sₜ) at every step) and "REINFORCE" (Gₜ in
    place of G(τ)); REINFORCE with a learned baseline v̂(s) (Sutton & Barto, 13.4). Exact ascent
    takes one step θ ← θ + α ∇𝒥 per episode with REINFORCE's α: the step REINFORCE takes on
    average, without the noise. All start from θ₀ with π(right) ≈ 0.25.
    """
    mdp, policy = common.corridor()
    probabilities = np.linspace(0.02, 0.98, 97 if quick else 481)
    objective = np.array([exact.objective(mdp, policy, np.log([p, 1.0 - p]))
                          for p in probabilities])
    best = int(np.argmax(objective))

    n_runs, n_episodes = (2, 20) if quick else (8, 150)
    baseline = algorithms.LinearValueBaseline(one_hot_state_features(mdp.n_states), alpha=0.1)
    methods = {  # name → (α, run)
        "PG_v1": (6e-4, algorithms.PG_v1),
        "REINFORCE": (1.5e-3, algorithms.REINFORCE),
        "REINFORCE, learned v̂(s)": (
            1.5e-3, lambda *args, **keywords: algorithms.REINFORCE(*args, baseline=baseline,
                                                                   **keywords)),
    }
    histories = [run(mdp, policy, common.CORRIDOR_THETA, alpha, n_episodes, method_rng,
                     n_runs=n_runs, max_steps=100_000)
                 for (alpha, run), method_rng in zip(
                     methods.values(), np.random.default_rng(SEED).spawn(len(methods)),
                     strict=True)]
    exact_alpha = methods["REINFORCE"][0]
    ascent = algorithms.exact_gradient_ascent(mdp, policy, common.CORRIDOR_THETA, exact_alpha,
                                              n_episodes)
    return CorridorData(
        probabilities, objective, float(probabilities[best]), float(objective[best]),
        tuple(methods), np.array([alpha for alpha, _ in methods.values()]), SEED,
        np.array([history.theta for history in histories]),
        np.array([history.objective for history in histories]),
        tuple(tuple(history.stops) for history in histories),
        exact_alpha, ascent.theta, ascent.objective,
    )


def draw_short_corridor(data: CorridorData, figure: Figure) -> None:
    """Left: 𝒥(p) and p*. Right: 𝒥(θ) against episodes, mean ± 1 standard error over runs."""
    left, right = figure.subplots(1, 2)
    left.plot(data.probabilities, data.objective_by_probability, color=common.EXACT_COLOUR)
    left.plot(data.best_probability, data.best_objective, "o", color="tab:red",
              label=f"maximum: p* ≈ {data.best_probability:.3f}, "
                    f"𝒥(p*) ≈ {common.number(data.best_objective)}")
    start = data.exact_objective[0]
    left.axhline(start, color="grey", linestyle=":", linewidth=1.0,
                 label=f"𝒥(θ₀) = {common.number(start)}, the start of every run")
    left.set(ylim=(-60, -8), xlabel="p = π(right), the same in every state",
             ylabel="𝒥(p) = v_π(S₀)", title="Short corridor: exact 𝒥(p) (γ = 1)")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8.5)

    episodes = np.arange(data.objective.shape[2])
    n_runs = data.objective.shape[1]
    for name, alpha, curves, stops, colour in zip(data.names, data.alphas, data.objective,
                                                  data.stops, common.ESTIMATOR_COLOURS,
                                                  strict=True):
        mean, error = common.mean_and_standard_error(curves)       # over the runs not stopped
        right.fill_between(episodes, mean - error, mean + error, color=colour, alpha=0.2,
                           linewidth=0)
        stopped = f" ({len(stops)} of {n_runs} runs stopped)" if stops else ""
        right.plot(episodes, mean, color=colour, label=f"{name}, α = {alpha:g}{stopped}")
    right.plot(episodes, data.exact_objective, color=common.EXACT_COLOUR, linestyle="--",
               label=f"exact ascent α∇𝒥, α = {data.exact_alpha:g}")
    right.axhline(data.best_objective, color="tab:red", linewidth=1.0,
                  label="𝒥(p*), the best possible")
    right.set(xlabel="episode", ylabel="𝒥(θ) after the episode (exact)",
              xlim=(0, episodes[-1]),
              title=f"Learning: mean ± 1 standard error over {n_runs} runs")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8.5)


FIGURE = common.FigureSpec(name="short_corridor", size=(10.0, 4.4), caption=CAPTION,
                           data=short_corridor_data, draw=draw_short_corridor,
                           boxes=((0.0638, 0.2649, 0.3559, 0.6771),
                                  (0.5356, 0.2649, 0.3559, 0.6771)))
