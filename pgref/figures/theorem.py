r"""Figure ``theorem``: the weights of the policy gradient theorem — n(s), μ(s), the φ series.

Lecture: "Policy Gradient Theorem"; blog: "Policy gradient from the lens of Bellman".
"""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import envs, estimators, exact, rollout
from pgref.figures import common
from pgref.policies import SoftmaxLinearPolicy

CAPTION = ("The policy gradient theorem's weights on a 4 × 3 gridworld with slips (γ = 1): the "
           "expected visits n(s) and on-policy distribution μ(s) by linear solves, the same "
           "counted in sampled episodes, and the truncated series Σ_{k<K} Σ_s p₀(s) φ(s→x, k) "
           "reaching n(x) in every state.")


class TheoremData(NamedTuple):
    r"""Data behind ``theorem.png``."""

    positions: np.ndarray
    """Shape (S, 2): the cell (x, y) of each state."""
    slip: float
    """The gridworld's slip probability."""
    gamma: float
    start: int
    """S₀."""
    goal: int
    """The terminal state."""
    action_names: tuple[str, ...]
    action_probs: np.ndarray
    """Shape (A,): π_θ(·|s), the same in every cell."""
    visits: np.ndarray
    """Shape (S,): n(s) from :func:`pgref.exact.discounted_visits`."""
    distribution: np.ndarray
    """Shape (S,): μ(s) from :func:`pgref.exact.on_policy_distribution`."""
    n_episodes: int
    """K, the number of sampled episodes."""
    empirical_visits: np.ndarray
    """Shape (S,): n̂(s) = 1/K Σₖ Σₜ 1[Sₜ[k] = s] (:func:`pgref.estimators.visit_counts`)."""
    empirical_standard_error: np.ndarray
    """Shape (S,): its standard error."""
    empirical_distribution: np.ndarray
    """Shape (S,): μ̂(s) (:func:`pgref.estimators.visit_frequencies`)."""
    steps: np.ndarray
    """Integers, shape (k_max + 1,): 0, 1, …, k_max."""
    partial_sums: np.ndarray
    """Shape (k_max + 1, S): Σ_{j<k} Σ_s′ p₀(s′) φ(s′→x, j) at row k, column x (row 0 is zero),
    from :func:`pgref.exact.k_step_visits`."""


def theorem_data(quick: bool = False) -> TheoremData:
    r"""n(s), μ(s), their sampled estimates, and the truncated φ series, on a 4 × 3 gridworld.

    Parameters
    ----------
    quick : bool
        K = 2 000 sampled episodes instead of 40 000 (the exact n(s), μ(s) and φ are the same).

    Notes
    -----
    Blog, "Policy gradient from the lens of Bellman": φ(s→x, k), the probability of being in x
    k steps after s, and the expected visits

        n(x) = Σ_s p₀(s) Σ_{k≥0} φ(s→x, k),    μ(x) = n(x) / Σ_x′ n(x′),

    so that ∇𝒥 = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s) ∝ Σ_s μ(s) Σ_a q_π(s, a) ∇π_θ(a|s)
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


def _grid(positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values[s] placed at row y, column x of a (height, width) image."""
    cells = positions.astype(int)
    image = np.full((cells[:, 1].max() + 1, cells[:, 0].max() + 1), np.nan)
    image[cells[:, 1], cells[:, 0]] = values
    return image


def _draw_heat_map(axes, data, visits, distribution, symbols, title, vmax):
    """visits and distribution written in each cell over a colour map of the visits."""
    image = axes.imshow(_grid(data.positions, visits), origin="lower", cmap="viridis",
                        vmin=0.0, vmax=vmax)
    for state, (x, y) in enumerate(data.positions.astype(int)):
        if state == data.goal:
            text = "goal"
        else:
            text = f"{symbols[0]} = {visits[state]:.2f}\n{symbols[1]} = {distribution[state]:.3f}"
            if state == data.start:
                text = "S₀\n" + text
        colour = "white" if visits[state] < 0.6 * vmax else "black"
        axes.text(x, y, text, ha="center", va="center", fontsize=8.5, color=colour)
    height, width = _grid(data.positions, visits).shape
    axes.set(xticks=range(width), xlabel="x", yticks=range(height), ylabel="y", title=title)
    axes.grid(False)
    return image


def draw_theorem(data: TheoremData, figure: Figure) -> None:
    """Exact n(s), μ(s); counted n̂(s), μ̂(s); the truncated φ series over k."""
    exact_axes, counted, series = figure.subplots(1, 3)
    vmax = max(data.visits.max(), data.empirical_visits.max())
    _draw_heat_map(exact_axes, data, data.visits, data.distribution, ("n", "μ"),
                   "Exact: n(s) = Σₜ Pr(Sₜ = s),\nμ(s) = n(s) / Σₓ n(x)", vmax)
    image = _draw_heat_map(counted, data, data.empirical_visits, data.empirical_distribution,
                           ("n̂", "μ̂"),
                           f"Counted in K = {data.n_episodes:,} episodes:\n"
                           "n̂(s) = 1/K Σₖ Σₜ 1[Sₜ[k] = s]", vmax)
    figure.colorbar(image, ax=[exact_axes, counted], shrink=0.8,
                    label="expected visits per episode")

    ratio = data.partial_sums / np.where(data.visits > 0, data.visits, np.nan)
    live = [s for s in range(data.visits.size) if data.visits[s] > 0]
    for state in live:
        series.plot(data.steps, ratio[:, state], color="tab:blue", alpha=0.35, linewidth=1.0)
    series.plot([], [], color="tab:blue", alpha=0.5, label="each state x (one line each)")
    total = data.partial_sums[:, live].sum(axis=1) / data.visits.sum()
    series.plot(data.steps, total, color=common.EXACT_COLOUR, linewidth=2.0,
                label=f"Σₓ: expected episode length ({data.visits.sum():.1f} steps)")
    series.axhline(1.0, color="grey", linestyle="--", linewidth=1.0)
    series.set(xlabel="K, number of terms k = 0, …, K − 1", ylim=(0, 1.05),
               xlim=(0, data.steps[-1]),
               ylabel="[sum over k < K of Σ_s p₀(s) φ(s→x, k)] / n(x)",
               title="The blog's φ series, truncated at K terms,\nreaches n(x) in every state")
    series.legend(loc="lower right")
    probs = ", ".join(f"{name} {p:.2f}" for name, p in zip(data.action_names,
                                                            data.action_probs, strict=True))
    height, width = _grid(data.positions, data.visits).shape
    figure.suptitle(f"{width} × {height} gridworld, slip {data.slip:g}, γ = {data.gamma:g}; "
                    f"π_θ(·|s) in every cell: {probs}", fontsize=10)


FIGURE = common.FigureSpec(name="theorem", size=(3 * 4.8, 4.0), caption=CAPTION,
                           data=theorem_data, draw=draw_theorem,
                           boxes=((0.0112, 0.1192, 0.2850, 0.7029),
                                  (0.3113, 0.1192, 0.2850, 0.7029),
                                  (0.7121, 0.1192, 0.2850, 0.7029),
                                  (0.6255, 0.1895, 0.0878, 0.5623)))
