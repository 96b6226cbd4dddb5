r"""The figures: one module per figure, a registry in the README's order, deterministic saving.

Each figure module (``pgref.figures.policies``, …) opens with the figure's ``CAPTION``, holds a
function computing its data as a NamedTuple (what the tests check) and a function drawing those
data into a given matplotlib Figure, and closes with ``FIGURE``, a
:class:`~pgref.figures.common.FigureSpec` naming all three with the size. Every data function
creates its own ``np.random.default_rng(seed)``; ``quick=True`` shrinks the samples for a smoke
run.

Nothing here imports :mod:`matplotlib.pyplot` or chooses a backend: :func:`render` returns a
plain :class:`~matplotlib.figure.Figure` (a notebook shows it inline), and :func:`generate`
prints it to PNG on matplotlib's Agg canvas, byte-identical from run to run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgref import checks
from pgref.figures import (
    common,
    discounting,
    log_derivative,
    monte_carlo,
    particle,
    policies,
    rates,
    short_corridor,
    sutton_barto_13_1,
    sutton_barto_13_2,
    theorem,
    variance,
)

__all__ = ["DEFAULT_DIRECTORY", "REGISTRY", "generate", "render", "save"]

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "figures"

REGISTRY: dict[str, common.FigureSpec] = {
    module.FIGURE.name: module.FIGURE
    for module in (policies, log_derivative, monte_carlo, variance, short_corridor, theorem,
                   discounting, particle, rates, sutton_barto_13_1, sutton_barto_13_2)
}
"""The figures in the README gallery's order, by file name (without ``.png``)."""


def render(name: str, data: NamedTuple | None = None, quick: bool = False) -> Figure:
    """The figure ``name`` drawn in pgref's style from ``data`` (default: computed afresh).

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    data : NamedTuple, optional
        The figure's data, as ``REGISTRY[name].data`` returns them.
    quick : bool
        With ``data=None``: compute them in quick mode.
    """
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"name must be one of {list(REGISTRY)}; got {name!r}")
    checks.true_or_false("quick", quick)
    spec = REGISTRY[name]
    data = spec.data(quick) if data is None else data
    with matplotlib.rc_context(common.STYLE):
        figure = Figure(figsize=spec.size)
        spec.draw(data, figure)
    for axes, box in zip(figure.axes, spec.boxes, strict=True):
        axes.set_position(box)
    return figure


def generate(
    out_dir: Path | str | None = None,
    quick: bool = False,
    names: Iterable[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Compute, draw and save figures as PNG on the Agg canvas; return the paths written.

    Parameters
    ----------
    out_dir : path, optional
        Where to write; default ``figures/`` next to the ``pgref`` package.
    quick : bool
        Smaller grids and fewer samples, for a fast smoke run.
    names : iterable of str, optional
        Which figures (default: all of :data:`REGISTRY`).
    progress : bool
        Print one line per figure on stderr.
    """
    if out_dir is not None and not isinstance(out_dir, str | os.PathLike):
        raise ValueError(f"out_dir must be a directory path (str or pathlib.Path) or None; got "
                         f"{type(out_dir).__name__}")
    checks.true_or_false("quick", quick)
    checks.true_or_false("progress", progress)
    if isinstance(names, str):
        raise ValueError(f"names must be a list of figure names, e.g. [{names!r}]; got the "
                         f"string {names!r}")
    out_dir = Path(DEFAULT_DIRECTORY if out_dir is None else out_dir)
    chosen = list(REGISTRY) if names is None else list(names)
    unknown = [name for name in chosen if not isinstance(name, str) or name not in REGISTRY]
    if unknown:
        raise ValueError(f"names must be among {list(REGISTRY)}; unknown: {unknown}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, name in enumerate(chosen, start=1):
        if progress:
            print(f"[{index}/{len(chosen)}] {name}.png ...", file=sys.stderr, flush=True)
        written.append(out_dir / f"{name}.png")
        save(render(name, quick=quick), written[-1])
    return written


def save(figure: Figure, path: Path | str) -> None:
    """Print ``figure`` to a PNG file at ``path`` on matplotlib's Agg canvas (files only, no
    screen), as :func:`generate` does: no "Software" entry (the same bytes whatever the
    matplotlib version writes there) and zlib level 1, quicker to encode than the default level
    6 (the README's benchmark section gives the times).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        As :func:`render` returns it.
    path : str or pathlib.Path
        The file to write; its directory must exist.
    """
    if not isinstance(figure, Figure):
        raise ValueError(f"figure must be a matplotlib Figure, as render returns; got "
                         f"{type(figure).__name__}")
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"path must be a file path (str or pathlib.Path); got "
                         f"{type(path).__name__}")
    if not Path(path).parent.is_dir():
        raise ValueError(f"path {str(path)!r} is in a directory that does not exist: create "
                         f"{str(Path(path).parent)!r} first, e.g. with Path.mkdir(parents=True)")
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", metadata={"Software": None},
                   pil_kwargs={"compress_level": 1})
