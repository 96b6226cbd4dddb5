r"""Figure 6: n(s) and μ(s) on the gridworld, exact and counted, and the φ series."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from pgref.plotting._base import EXACT_COLOUR, new_figure, styled


def _grid(positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values[s] placed at row y, column x of a (height, width) image."""
    cells = positions.astype(int)
    image = np.full((cells[:, 1].max() + 1, cells[:, 0].max() + 1), np.nan)
    image[cells[:, 1], cells[:, 0]] = values
    return image


def _heat_map(axes, data, visits, distribution, symbols, title, vmax):
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


@styled
def draw_theorem(data) -> Figure:
    """Exact n(s), μ(s); counted n̂(s), μ̂(s); the truncated φ series over k."""
    figure, (exact, counted, series) = new_figure(3, width=4.8, height=4.0)
    vmax = max(data.visits.max(), data.empirical_visits.max())
    _heat_map(exact, data, data.visits, data.distribution, ("n", "μ"),
              "Exact: n(s) = Σₜ Pr(Sₜ = s),\nμ(s) = n(s) / Σₓ n(x)", vmax)
    image = _heat_map(counted, data, data.empirical_visits, data.empirical_distribution,
                      ("n̂", "μ̂"),
                      f"Counted in K = {data.n_episodes:,} episodes:\n"
                      "n̂(s) = 1/K Σₖ Σₜ 1[Sₜ[k] = s]", vmax)
    figure.colorbar(image, ax=[exact, counted], shrink=0.8, label="expected visits per episode")

    ratio = data.partial_sums / np.where(data.visits > 0, data.visits, np.nan)
    live = [s for s in range(data.visits.size) if data.visits[s] > 0]
    for state in live:
        series.plot(data.steps, ratio[:, state], color="tab:blue", alpha=0.35, linewidth=1.0)
    series.plot([], [], color="tab:blue", alpha=0.5, label="each state x (one line each)")
    total = data.partial_sums[:, live].sum(axis=1) / data.visits.sum()
    series.plot(data.steps, total, color=EXACT_COLOUR, linewidth=2.0,
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
    return figure
