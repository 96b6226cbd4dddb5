r"""Figures 1 and 2: the policies, and the log-derivative trick."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from pgref.plotting._base import new_figure, styled


@styled
def draw_policies(data) -> Figure:
    """Left: π_θ(a|s) against θ₃ for each direction a. Right: Gaussian densities N(θ, σ²)."""
    figure, (left, right) = new_figure(2)
    for index, code in enumerate(data.action_codes):
        left.plot(data.theta_action, data.softmax_probs[:, index], label=f"a = {code:g}")
    left.set(
        xlabel="θ₃ (weight of a in x(s, a) = [x, y, a])",
        ylabel="π_θ(a | s)",
        title="Softmax: π_θ(a|s) ∝ exp(θᵀx(s, a))\n(the same in every state: x, y cancel)",
        ylim=(0, 1),
    )
    left.legend(title="direction code")
    for (theta, variance), density in zip(data.gaussian_params, data.densities, strict=True):
        right.plot(data.actions, density,
                   label=f"θ = {theta:g}, σ² = {variance:g} (σ = {variance**0.5:g})")
    right.set(
        xlabel="action a",
        ylabel="π_θ(a | s)",
        title="Gaussian: π_θ(a|s) = N(θᵀx(s), σ²), x(s) = 1",
    )
    right.legend()
    return figure


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _running_means(axes, counts, running, scores, labels, title) -> None:
    """Running means of score components inside the widest ±2 s/√N band around 0."""
    envelope = 2.0 * scores.std(axis=0, ddof=1).max() / np.sqrt(counts)
    axes.fill_between(counts, -envelope, envelope, color="grey", alpha=0.2, linewidth=0,
                      label="±2 s/√N (widest component)")
    for index, label in enumerate(labels):
        axes.plot(counts, running[:, index], color=f"C{index}", label=label)
    axes.axhline(0.0, color="black", linewidth=1.0)
    limit = 2.5 * envelope[np.searchsorted(counts, 30)]
    axes.set(xscale="log", ylim=(-limit, limit), xlim=(1, counts[-1]),
             xlabel="number of sampled actions N", ylabel="1/N Σᵢ ∇ log π_θ(Aᵢ|s)",
             title=title)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)


@styled
def draw_log_derivative(data) -> Figure:
    """Running means of softmax and Gaussian scores converging to E[∇ log π] = 0."""
    figure, (left, right) = new_figure(2, height=4.6)
    labels = [f"∂/∂θ{str(a).translate(_SUBSCRIPTS)}, π_θ(a = {a}|s) = {p:.2f}"
              for a, p in enumerate(data.softmax_action_probs)]
    _running_means(left, data.counts, data.softmax_running_mean, data.softmax_scores, labels,
                   "Softmax over 4 actions, x(s, a) = e_a: E[∇ log π_θ(A|s)]\n"
                   "= Σ_a ∇π_θ(a|s) = ∇ Σ_a π_θ(a|s) = ∇1 = 0")
    theta, variance = data.gaussian_theta
    _running_means(right, data.counts, data.gaussian_running_mean, data.gaussian_scores,
                   ["∂/∂θ = (A − θ)/σ²", "∂/∂σ² = ((A − θ)² − σ²)/(2σ⁴)"],
                   f"Gaussian N(θ, σ²), θ = {theta:g}, σ² = {variance:g}: E[∇ log π_θ(A|s)]\n"
                   "= ∫ ∇π_θ(a|s) da = ∇ ∫ π_θ(a|s) da = ∇1 = 0")
    return figure
