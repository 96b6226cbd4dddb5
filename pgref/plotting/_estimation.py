r"""Figures 3, 4 and 7: Monte-Carlo estimates of ∇J, their variance, and the factor γᵗ."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from pgref.plotting._base import EXACT_COLOUR, METHOD_COLOURS, new_figure, number, styled

Z_95 = 1.959963984540054  # Φ⁻¹(0.975): the half-width of a 95% normal interval in SEs

_ESTIMATOR_COLOURS = (METHOD_COLOURS[0], METHOD_COLOURS[1], METHOD_COLOURS[3])


def _running_estimates(axes, counts, estimates, standard_errors, labels, colours) -> None:
    """Running estimates with their 95% bands, on a log K axis."""
    for estimate, error, label, colour in zip(estimates, standard_errors, labels, colours,
                                              strict=True):
        axes.fill_between(counts, estimate - Z_95 * error, estimate + Z_95 * error,
                          color=colour, alpha=0.15, linewidth=0)
        axes.plot(counts, estimate, color=colour, label=label)
    axes.set(xscale="log", xlabel="number of episodes K")


def _focus(axes, counts, estimates, standard_errors, centre, from_count) -> None:
    """Axis limits that show the estimates from K = ``from_count`` on, not the wild first few."""
    shown = counts >= from_count
    low = np.min((estimates - Z_95 * standard_errors)[:, shown])
    high = np.max((estimates + Z_95 * standard_errors)[:, shown])
    low, high = min(low, np.min(centre)), max(high, np.max(centre))
    margin = 0.08 * (high - low)
    axes.set(ylim=(low - margin, high + margin), xlim=(from_count, counts[-1]))


@styled
def draw_monte_carlo(data) -> Figure:
    """Left: one run of each estimator against ∇J. Right: RMS error against K, log-log."""
    figure, (left, right) = new_figure(2, height=4.8)
    exact = data.exact_gradient[0]
    _running_estimates(left, data.counts, data.running_estimate, data.running_standard_error,
                       data.names, _ESTIMATOR_COLOURS)
    left.axhline(exact, color=EXACT_COLOUR, linestyle="--",
                 label=f"exact ∂J/∂θ_right = {number(exact)}")
    _focus(left, data.counts, data.running_estimate, data.running_standard_error, exact,
           from_count=10)
    left.set(ylabel="estimate of ∂J/∂θ_right",
             title="One run of each estimator\n(band: 95% interval)")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8.5)

    for name, error, variance, slope, colour in zip(data.names, data.rms_error,
                                                    data.per_episode_variance, data.slopes,
                                                    _ESTIMATOR_COLOURS, strict=True):
        right.plot(data.counts, error, "o", color=colour, markersize=3.5,
                   label=f"{name} (fitted slope {number(slope)})")
        right.plot(data.counts, np.sqrt(variance / data.counts), color=colour, linewidth=1.0,
                   linestyle="--")
    right.plot([], [], color="grey", linestyle="--", label="√(tr Cov / K): slope −1/2")
    right.set(xscale="log", yscale="log", xlabel="number of episodes K",
              ylabel="RMS error ‖estimate − ∇J‖",
              title=f"RMS error over {data.final_estimates.shape[1]} independent runs\n"
                    f"(slopes fitted for K ≥ {data.slope_from})")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8.5)
    return figure


@styled
def draw_variance(data) -> Figure:
    """Left: per-episode variance with 95% intervals. Right: the means, all at ∇J."""
    figure, (left, right) = new_figure(2, height=3.6)
    rows = np.arange(len(data.names))[::-1]  # the first estimator on top
    colours = METHOD_COLOURS[: len(data.names)]
    errors = np.vstack([data.variance - data.variance_lower,
                        data.variance_upper - data.variance])
    left.barh(rows, data.variance, xerr=errors, color=colours, alpha=0.8, capsize=4)
    for index, (row, value) in enumerate(zip(rows, data.variance, strict=True)):
        ratio = "" if index == 0 else f" = {value / data.variance[0]:.2f} × PG_v1's"
        left.text(value * 1.02 + 0.01 * data.variance.max(), row + 0.22, f"{value:,.0f}{ratio}",
                  fontsize=9)
    left.set(yticks=rows, yticklabels=data.names, xlim=(0, 1.35 * data.variance_upper.max()),
             xlabel="per-episode variance s² of the ∂/∂θ_right term",
             title=f"Variance (K = {data.per_episode.shape[1]:,} episodes, 95% intervals)")
    left.grid(axis="y", visible=False)

    for row, mean, error, colour in zip(rows, data.mean, data.standard_error, colours,
                                        strict=True):
        right.errorbar(mean, row, xerr=Z_95 * error, fmt="o", color=colour, capsize=4)
    right.axvline(data.exact_component, color=EXACT_COLOUR, linestyle="--",
                  label=f"exact ∂J/∂θ_right = {number(data.exact_component)}")
    right.set(yticks=rows, yticklabels=[], ylim=(rows[-1] - 0.6, rows[0] + 0.9),
              xlabel="estimate of ∂J/∂θ_right", title="Same mean ∇J: estimates, 95% intervals")
    right.grid(axis="y", visible=False)
    right.legend(loc="upper right")
    return figure


@styled
def draw_discounting(data) -> Figure:
    """Left: REINFORCE with and without γᵗ against their limits. Right: the limits against γ."""
    figure, (left, right) = new_figure(2, height=4.2)
    colours = (METHOD_COLOURS[3], "tab:red")
    labels = ("with γᵗ: Σₜ γᵗ Gₜ ∇log π_θ(Aₜ|Sₜ)", "without γᵗ: Σₜ Gₜ ∇log π_θ(Aₜ|Sₜ)")
    _running_estimates(left, data.counts, data.running_estimate, data.running_standard_error,
                       labels, colours)
    gradient, dropped = data.exact_gradient[0], data.dropped_direction[0]
    left.axhline(gradient, color=EXACT_COLOUR, linestyle="--",
                 label=f"∂J/∂θ_right = {number(gradient)} (exact)")
    left.axhline(dropped, color=colours[1], linestyle=":",
                 label=f"γᵗ-dropped direction = {number(dropped)} (exact)")
    _focus(left, data.counts, data.running_estimate, data.running_standard_error,
           [gradient, dropped], from_count=30)
    left.set(ylabel="REINFORCE estimate, ∂/∂θ_right",
             title=f"Short corridor, γ = {data.gamma:g}: two different limits")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8.5)

    right.plot(data.gammas, data.gradient_by_gamma, color=EXACT_COLOUR,
               label="∂J/∂θ_right (with γᵗ)")
    right.plot(data.gammas, data.dropped_by_gamma, color=colours[1], linestyle=":",
               linewidth=2.0, label="γᵗ-dropped direction: Σ_s n₁(s) Σ_a q_γ(s, a) ∂π_θ(a|s)")
    right.axvline(data.gamma, color="grey", linewidth=1.0, label=f"γ = {data.gamma:g} (left)")
    right.set(xlabel="discount γ", ylabel="limit of the estimate, ∂/∂θ_right",
              title="The two agree only at γ = 1")
    right.plot([], [], " ", label="n₁(s) = Σₜ Pr(Sₜ = s), undiscounted visits")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8.5)
    return figure
