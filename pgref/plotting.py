r"""Drawing: one function per figure, taking the data that :mod:`pgref.figures` computed.

Nothing here computes a quantity another module computes; it only draws. Saving strips the
metadata that would change from run to run, so the PNGs are byte-identical.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen: the same bytes on every machine

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["draw_policies", "save"]

_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def save(figure: Figure, path: Path | str) -> None:
    """Save as PNG with no software or date metadata (deterministic bytes), then close."""
    figure.savefig(path, format="png", metadata={"Software": None})
    plt.close(figure)


def _new_figure(n_columns: int, width: float = 5.0, height: float = 3.8) -> tuple[Figure, list]:
    with plt.rc_context(_STYLE):
        figure, axes = plt.subplots(1, n_columns, figsize=(width * n_columns, height),
                                    layout="constrained")
    return figure, list(axes) if n_columns > 1 else [axes]


def draw_policies(data) -> Figure:
    """Left: π_θ(a|s) against θ₃ for each direction a. Right: Gaussian densities N(θ, σ²)."""
    with plt.rc_context(_STYLE):
        figure, (left, right) = _new_figure(2)
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
