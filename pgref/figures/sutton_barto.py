r"""Sutton & Barto's Figures 13.1 and 13.2: REINFORCE on the short corridor at the book's scale.

Example 13.1 (the short corridor with switched actions), θ₀ with π(right) = 0.05 (the book's
ε-greedy-left start, ε = 0.1), 1000 episodes averaged over 100 runs, γ = 1:

- Figure 13.1: REINFORCE (lecture: "REINFORCE: First Official Algorithm") at α = 2⁻¹², 2⁻¹³,
  2⁻¹⁴;
- Figure 13.2: REINFORCE at α = 2⁻¹³ against REINFORCE with a learned baseline v̂(s) = w
  (one constant feature, as in the book) at α^θ = 2⁻⁹, α^w = 2⁻⁶ (Sutton & Barto, 13.4).

Each figure shows the total reward per episode, the mean over runs with a ± 1 standard-error
band, next to the mean of the exact 𝒥(θ) of the policy each episode was sampled with, and the
optimum 𝒥* = −(6 + 4√2). pgref computes the book's algorithm: no probability is clamped, and a
run whose policy stops reaching the goal (an episode longer than ``max_steps``) is stopped and
counted in the legend rather than kept alive.

:func:`figure_13_1_data` and :func:`figure_13_2_data` return a :class:`SuttonBartoData`;
:func:`draw` draws one into a Matplotlib ``Figure``; :data:`CAPTION_13_1` and
:data:`CAPTION_13_2` are the captions; :data:`FIGURE_13_1` and :data:`FIGURE_13_2` declare the
two figures (``sutton_barto_13_1.png``, ``sutton_barto_13_2.png``) for the registry.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import algorithms, envs
from pgref.figures import common
from pgref.policies import SoftmaxLinearPolicy

__all__ = [
    "BOXES",
    "CAPTION_13_1",
    "CAPTION_13_2",
    "FIGURE_13_1",
    "FIGURE_13_2",
    "J_STAR",
    "THETA_0",
    "SuttonBartoData",
    "draw",
    "figure_13_1_data",
    "figure_13_2_data",
    "reinforce_at_2_13",
    "split_by_setting",
]

J_STAR = -(6.0 + 4.0 * math.sqrt(2.0))
"""The short corridor's optimum 𝒥* = −(6 + 4√2) ≈ −11.657, at π(right) = 2 − √2."""

THETA_0 = np.log([0.05, 0.95])
"""θ₀ = [θ_right, θ_left] with π(right) = σ(θ_right − θ_left) = 0.05."""

N_RUNS, N_EPISODES = 100, 1000
QUICK_RUNS, QUICK_EPISODES = 20, 60
MAX_STEPS = 100_000
SEED_13_1, SEED_13_2 = 131, 132

_DIFFERENCES = (
    "The widely used public code for these figures differs: it uses step sizes 2e−3, 2e−4 and "
    "2e−5 (and 2e−4, then 2e−3 with α^w = 2e−2 for Figure 13.2), clamps π(a|s) to at least "
    "0.05 so that no run can stop reaching the goal, and pays a final reward of 0 instead of "
    "−1, which shifts its totals by +1."
)

CAPTION_13_1 = (
    "Sutton & Barto, Figure 13.1: REINFORCE on the short corridor with switched actions "
    "(Example 13.1) from π(right) = 0.05, total reward per episode, mean over 100 runs ± 1 "
    "standard error (bands), at the book's step sizes α = 2⁻¹², 2⁻¹³, 2⁻¹⁴; dashed: over the same "
    "episodes, the mean exact 𝒥(θ) of the policies they were sampled with; dotted: "
    "𝒥* = −(6 + 4√2). "
    "No probability is clamped: runs whose policy no longer reaches the goal within 100 000 "
    "steps are stopped and counted in the legend. " + _DIFFERENCES
)

CAPTION_13_2 = (
    "Sutton & Barto, Figure 13.2: REINFORCE at α = 2⁻¹³ (the runs of Figure 13.1) against "
    "REINFORCE with a learned "
    "baseline v̂(s) = w (one constant feature) at α^θ = 2⁻⁹, α^w = 2⁻⁶ on the short corridor "
    "from π(right) = 0.05: total reward per episode, mean over 100 runs ± 1 standard error; "
    "dashed: over the same episodes, the mean exact 𝒥(θ); dotted: 𝒥* = −(6 + 4√2); stopped runs "
    "counted in the legend. "
    + _DIFFERENCES
)


class SuttonBartoData(NamedTuple):
    r"""Data behind ``sutton_barto_13_1.png`` or ``sutton_barto_13_2.png``.

    Attributes
    ----------
    labels : tuple of str
        The M settings, e.g. ``"α = 2⁻¹²"``.
    alphas : ndarray, shape (M,)
        α (α^θ) of each setting.
    value_alphas : ndarray, shape (M,)
        α^w of a learned baseline; NaN for plain REINFORCE.
    returns : ndarray, shape (M, R, E)
        G(τ) = Σₜ Rₜ₊₁ of episode k of run r; NaN once the run has stopped.
    objective : ndarray, shape (M, R, E)
        The exact 𝒥(θₖ) of the θ episode k was sampled with, also for the episode at which a
        run stopped (cut, with no return) where float64 can deliver it; NaN after it.
    stops : tuple of tuple of Stop
        For each setting, the stopped runs (run, episode, reason).
    seed : int
        The seed of ``np.random.default_rng``; the runs of a call use its ``spawn``. (Figure
        13.2's REINFORCE runs at α = 2⁻¹³ are Figure 13.1's, from :data:`SEED_13_1`.)
    """

    labels: tuple[str, ...]
    alphas: np.ndarray
    value_alphas: np.ndarray
    returns: np.ndarray
    objective: np.ndarray
    stops: tuple[tuple[algorithms.Stop, ...], ...]
    seed: int

    @property
    def n_stopped(self) -> np.ndarray:
        """The number of stopped runs of each setting, shape (M,)."""
        return np.array([len(stops) for stops in self.stops])


def _corridor():
    problem = envs.short_corridor()
    return problem.mdp, SoftmaxLinearPolicy(problem.features)


def _scale(quick: bool) -> tuple[int, int]:
    """(runs per setting, episodes per run): the book's 100 × 1000, or 20 × 60 in quick mode."""
    return (QUICK_RUNS, QUICK_EPISODES) if quick else (N_RUNS, N_EPISODES)


def split_by_setting(history, n_settings: int):
    r"""Split a history of M·R runs (setting m holds runs mR … (m + 1)R − 1) into the returns
    (M, R, E), the 𝒥(θₖ) before each episode k (M, R, E) and the stops of each setting, with
    runs renumbered within their setting."""
    R = history.theta.shape[0] // n_settings
    returns = history.episode_returns.reshape(n_settings, R, -1)
    objective = history.objective[:, :-1].reshape(n_settings, R, -1)
    stops = tuple(tuple(stop._replace(run=stop.run - m * R) for stop in history.stops
                        if m * R <= stop.run < (m + 1) * R) for m in range(n_settings))
    return returns, objective, stops


def figure_13_1_data(quick: bool = False) -> SuttonBartoData:
    r"""REINFORCE at α = 2⁻¹², 2⁻¹³, 2⁻¹⁴: 100 runs × 1000 episodes each (Figure 13.1).

    Parameters
    ----------
    quick : bool
        20 runs × 60 episodes.

    Returns
    -------
    SuttonBartoData

    Notes
    -----
    One call of :func:`pgref.algorithms.REINFORCE` with ``n_runs = 300`` and one α per run
    (100 runs per step size) advances all learners in lockstep; run r uses
    ``default_rng(SEED_13_1).spawn(300)[r]``. Update (Sutton & Barto, 13.8, γ = 1):
    θ ← θ + α Gₜ ∇ log π_θ(Aₜ|Sₜ) at every step t.
    """
    mdp, policy = _corridor()
    n_runs, n_episodes = _scale(quick)
    alphas = 2.0 ** np.array([-12.0, -13.0, -14.0])
    history = algorithms.REINFORCE(mdp, policy, THETA_0, np.repeat(alphas, n_runs), n_episodes,
                                   np.random.default_rng(SEED_13_1), n_runs=3 * n_runs,
                                   max_steps=MAX_STEPS)
    returns, objective, stops = split_by_setting(history, 3)
    _RUNS_AT_2_13[quick] = (returns[1].copy(), objective[1].copy(), stops[1])
    return SuttonBartoData(("α = 2⁻¹²", "α = 2⁻¹³", "α = 2⁻¹⁴"), alphas, np.full(3, np.nan),
                           returns, objective, stops, SEED_13_1)


_RUNS_AT_2_13: dict[bool, tuple] = {}
"""Figure 13.1's runs at α = 2⁻¹³ computed in this process, by ``quick``: (returns (R, E),
𝒥(θₖ) (R, E), stops). Figure 13.2 shows the same runs; it takes them from here when Figure 13.1
was drawn first (as ``python -m pgref figures`` does) and computes them otherwise."""


def reinforce_at_2_13(quick: bool = False) -> tuple:
    r"""Figure 13.1's REINFORCE runs at α = 2⁻¹³ (runs R … 2R − 1 of its call, with their
    generators ``default_rng(SEED_13_1).spawn(3R)[R:2R]``): (returns (R, E), 𝒥(θₖ) (R, E),
    stops), kept from :func:`figure_13_1_data` if it ran in this process, computed otherwise —
    the same numbers either way (each run depends on its own generator and α only). Update as in
    :func:`figure_13_1_data` (lecture: "REINFORCE: First Official Algorithm"; Sutton & Barto,
    13.8)."""
    if quick in _RUNS_AT_2_13:
        returns, objective, stops = _RUNS_AT_2_13[quick]
        return returns.copy(), objective.copy(), stops
    mdp, policy = _corridor()
    n_runs, n_episodes = _scale(quick)
    rng = np.random.default_rng(SEED_13_1)
    rng.spawn(n_runs)                           # the generators of the α = 2⁻¹² runs, not used
    history = algorithms.REINFORCE(mdp, policy, THETA_0, 2.0**-13, n_episodes, rng,
                                   n_runs=n_runs, max_steps=MAX_STEPS)
    returns, objective, stops = split_by_setting(history, 1)
    return returns[0], objective[0], stops[0]


def figure_13_2_data(quick: bool = False) -> SuttonBartoData:
    r"""REINFORCE at α = 2⁻¹³ and with a learned v̂(s) = w at α^θ = 2⁻⁹, α^w = 2⁻⁶ (Figure 13.2).

    Parameters
    ----------
    quick : bool
        As in :func:`figure_13_1_data`.

    Notes
    -----
    Sutton & Barto, "REINFORCE with Baseline (episodic)", at every step t:
    δ ← Gₜ − v̂(Sₜ, w), w ← w + α^w δ ∇v̂(Sₜ, w), θ ← θ + α^θ δ ∇ log π_θ(Aₜ|Sₜ), with the one
    feature x(s) = 1 (so v̂(s) = w and ∇v̂ = 1) and w₀ = 0: one call with ``n_runs`` learners,
    whose generators are ``default_rng(SEED_13_2).spawn(R)``. The REINFORCE runs at α = 2⁻¹³
    are Figure 13.1's (:func:`reinforce_at_2_13`), as in the book, where both figures show
    that setting.
    """
    mdp, policy = _corridor()
    n_runs, n_episodes = _scale(quick)
    alphas, value_alphas = np.array([2.0**-13, 2.0**-9]), np.array([np.nan, 2.0**-6])
    baseline = algorithms.LinearValueBaseline(np.ones((mdp.n_states, 1)), value_alphas[1])
    history = algorithms.REINFORCE(mdp, policy, THETA_0, alphas[1], n_episodes,
                                   np.random.default_rng(SEED_13_2), baseline, n_runs=n_runs,
                                   max_steps=MAX_STEPS)
    parts = [reinforce_at_2_13(quick), [part[0] for part in split_by_setting(history, 1)]]
    return SuttonBartoData(
        ("REINFORCE, α = 2⁻¹³", "with baseline v̂ = w, α^θ = 2⁻⁹, α^w = 2⁻⁶"), alphas,
        value_alphas, np.stack([p[0] for p in parts]), np.stack([p[1] for p in parts]),
        tuple(p[2] for p in parts), SEED_13_2)


COLOURS = ("tab:blue", "tab:orange", "tab:green")


def draw(data: SuttonBartoData, figure: Figure) -> None:
    """Draw total reward per episode (mean ± s.e.), the mean exact 𝒥 and 𝒥* into ``figure``.

    Both means at episode k are over the runs with a return there: a stopped run's last episode,
    cut at ``max_steps``, has the 𝒥(θₖ) of its policy (often far below the plot) but no return,
    and is left out of both."""
    axes = figure.subplots()
    n_runs = data.returns.shape[1]
    episodes = np.arange(1, data.returns.shape[2] + 1)
    mean, error = common.mean_and_standard_error(data.returns)
    sampled = np.where(np.isnan(data.returns), np.nan, data.objective)   # the same episodes
    exact_mean, _ = common.mean_and_standard_error(sampled)
    for m, label in enumerate(data.labels):
        colour = COLOURS[m]
        axes.fill_between(episodes, mean[m] - error[m], mean[m] + error[m], color=colour,
                          alpha=0.25, linewidth=0)
        axes.plot(episodes, mean[m], color=colour, linewidth=0.8, alpha=0.7,
                  label=f"{label}: sampled G (stopped runs: {data.n_stopped[m]} of {n_runs})")
        axes.plot(episodes, exact_mean[m], color=colour, linewidth=1.8, linestyle="--", zorder=4,
                  label="mean exact 𝒥(θ) of the sampled policies" if m == 0 else None)
    axes.axhline(J_STAR, color="black", linestyle=":", linewidth=1.0,
                 label="𝒥* = −(6 + 4√2) ≈ −11.66")
    axes.set(xlabel="episode", ylabel="total reward on episode",
             ylim=(-90, -10), xlim=(1, episodes[-1]))
    axes.grid(alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="lower right", fontsize=8)


BOXES = ((0.0850, 0.0993, 0.8854, 0.8810),)
"""The one axes' box of both figures (see :attr:`pgref.figures.common.FigureSpec.boxes`)."""

FIGURE_13_1 = common.FigureSpec(name="sutton_barto_13_1", size=(7.5, 4.8),
                                data=figure_13_1_data, draw=draw, caption=CAPTION_13_1, boxes=BOXES)
FIGURE_13_2 = common.FigureSpec(name="sutton_barto_13_2", size=(7.5, 4.8),
                                data=figure_13_2_data, draw=draw, caption=CAPTION_13_2, boxes=BOXES)
