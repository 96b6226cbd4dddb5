r"""Drawing: one function per figure, taking the data that :mod:`pgref.figures` computed.

Nothing here computes a quantity another module computes; it only draws. Saving strips the
metadata that would change from run to run, so the PNGs are byte-identical.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from pgref.plotting._base import plt
from pgref.plotting._estimation import draw_discounting, draw_monte_carlo, draw_variance
from pgref.plotting._learning import draw_rates, draw_short_corridor
from pgref.plotting._particle import draw_particle
from pgref.plotting._policies import draw_log_derivative, draw_policies
from pgref.plotting._theorem import draw_theorem

__all__ = [
    "draw_discounting",
    "draw_log_derivative",
    "draw_monte_carlo",
    "draw_particle",
    "draw_policies",
    "draw_rates",
    "draw_short_corridor",
    "draw_theorem",
    "draw_variance",
    "save",
]


def save(figure: Figure, path: Path | str) -> None:
    """Save as PNG with no software or date metadata (deterministic bytes), then close."""
    figure.savefig(path, format="png", metadata={"Software": None})
    plt.close(figure)
