r"""Figures 5 and 9: learning on the short corridor; the O(1/t) rate of exact softmax ascent."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from pgref.plotting._base import EXACT_COLOUR, METHOD_COLOURS, new_figure, number, styled

_CORRIDOR_COLOURS = (METHOD_COLOURS[0], METHOD_COLOURS[1], METHOD_COLOURS[3])


@styled
def draw_short_corridor(data) -> Figure:
    """Left: J(p) and p*. Right: J(θ) against episodes, mean and range over seeds."""
    figure, (left, right) = new_figure(2, height=4.4)
    left.plot(data.probabilities, data.objective_by_probability, color=EXACT_COLOUR)
    left.plot(data.best_probability, data.best_objective, "o", color="tab:red",
              label=f"maximum: p* ≈ {data.best_probability:.3f}, "
                    f"J(p*) ≈ {number(data.best_objective)}")
    start = data.exact_objective[0]
    left.axhline(start, color="grey", linestyle=":", linewidth=1.0,
                 label=f"J(θ₀) = {number(start)}, the start of every run")
    left.set(ylim=(-60, -8), xlabel="p = π(right), the same in every state",
             ylabel="J(p) = v_π(S₀)", title="Short corridor: exact J(p) (γ = 1)")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8.5)

    episodes = np.arange(data.objective.shape[2])
    for name, alpha, curves, colour in zip(data.names, data.alphas, data.objective,
                                           _CORRIDOR_COLOURS, strict=True):
        mean = curves.mean(axis=0)
        error = curves.std(axis=0, ddof=1) / np.sqrt(curves.shape[0])
        right.fill_between(episodes, mean - error, mean + error, color=colour, alpha=0.2,
                           linewidth=0)
        right.plot(episodes, mean, color=colour, label=f"{name}, α = {alpha:g}")
    right.plot(episodes, data.exact_objective, color=EXACT_COLOUR, linestyle="--",
               label=f"exact ascent α∇J, α = {data.exact_alpha:g}")
    right.axhline(data.best_objective, color="tab:red", linewidth=1.0,
                  label="J(p*), the best possible")
    right.set(xlabel="episode", ylabel="J(θ) after the episode (exact)",
              xlim=(0, episodes[-1]),
              title=f"Learning: mean ± 1 standard error over {len(data.seeds)} seeds")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8.5)
    return figure


@styled
def draw_rates(data) -> Figure:
    """Left: J* − J(θₜ) on log-log axes. Right: t·(J* − J(θₜ)) levelling off."""
    figure, (left, right) = new_figure(2, height=4.0)
    t = data.steps[1:]
    left.plot(t, data.vanilla_gap[1:], color="tab:blue", label="vanilla: θ ← θ + α∇J")
    natural_t = np.arange(data.natural_gap.size)
    shown = (natural_t > 0) & (data.natural_gap > 1e-14)  # below: rounding of J itself
    left.plot(natural_t[shown], data.natural_gap[shown], "o-", color="tab:orange",
              markersize=3, label="natural: θ ← θ + α F⁺∇J")
    left.plot(t, data.limit / t, color="grey", linestyle="--",
              label=f"k/((k + 1)α t) = {data.limit:.3g}/t")
    left.set(xscale="log", yscale="log", xlabel="update t", ylabel="J* − J(θₜ)",
             title=f"Sub-optimality gap (late log-log slope {number(data.late_slope, '.3f')})")
    left.legend(loc="upper right")

    right.plot(t, t * data.vanilla_gap[1:], color="tab:blue", label="vanilla: t·(J* − J(θₜ))")
    right.axhline(data.limit, color="grey", linestyle="--",
                  label=f"gradient-flow limit k/((k + 1)α) = {data.limit:.3g},\n"
                        f"k = {data.n_suboptimal} sub-optimal arms")
    right.set(xscale="log", ylim=(0, 1.3 * np.max(t * data.vanilla_gap[1:])),
              xlabel="update t", ylabel="t·(J* − J(θₜ))",
              title="O(1/t): t times the gap levels off")
    right.legend(loc="lower right")
    means = ", ".join(f"{m:g}" for m in data.means)
    figure.suptitle(f"Exact softmax policy gradient on a bandit, r = ({means}), α = "
                    f"{data.alpha:g}", fontsize=10)
    return figure
