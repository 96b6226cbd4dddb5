r"""The shared look of pgref's figures: one style, one way to open a figure, fixed colours."""

from __future__ import annotations

import functools
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # files only, no screen: the same bytes on every machine

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 9,
    "legend.framealpha": 0.9,
}

METHOD_COLOURS = ("tab:blue", "tab:orange", "tab:purple", "tab:green")
"""PG_v1 / G(τ), REINFORCE / Gₜ, a constant baseline, a state-dependent baseline."""

EXACT_COLOUR = "black"


def styled(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Run a drawing function inside pgref's style (matplotlib rc settings)."""

    @functools.wraps(draw)
    def wrapper(data) -> Figure:
        with plt.rc_context(STYLE):
            return draw(data)

    return wrapper


def new_figure(n_columns: int, width: float = 5.0, height: float = 3.8) -> tuple[Figure, list]:
    """A figure with ``n_columns`` axes side by side, laid out by matplotlib (no overlaps)."""
    figure, axes = plt.subplots(1, n_columns, figsize=(width * n_columns, height),
                                layout="constrained")
    return figure, list(axes) if n_columns > 1 else [axes]


def number(value: float, spec: str = ".2f") -> str:
    """``format(value, spec)`` with a typographic minus sign (−), as on the axes."""
    return format(value, spec).replace("-", "\u2212")
