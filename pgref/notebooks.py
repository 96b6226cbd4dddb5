r"""The lecture's notebooks: executed ``.ipynb`` files from ``notebooks_src/``, and their figures.

``notebooks_src/*.py`` are Jupytext percent-format notebooks, one per part of the lecture, and
plain Python scripts at the same time.

- :func:`build` (``python -m pgref notebooks``) turns each into an executed notebook, with its
  outputs and figures inline, by Jupytext and nbclient from the optional ``[notebooks]`` extra,
  into ``notebooks/`` (git-ignored) by default.
- :func:`show`, which every figure of a notebook goes through, shows a figure where it can be
  seen (inline in Jupyter, in a window under a GUI backend) and otherwise — a notebook run as a
  script under a non-interactive backend such as Agg — saves it as a PNG and says where, rather
  than dropping it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pgref import checks

__all__ = [
    "DEFAULT_DIRECTORY",
    "FIGURES_VARIABLE",
    "INLINE_BACKEND",
    "SOURCE_DIRECTORY",
    "build",
    "execute",
    "figures_directory",
    "show",
]

REPOSITORY = Path(__file__).resolve().parent.parent
SOURCE_DIRECTORY = REPOSITORY / "notebooks_src"
"""The Jupytext sources, ``notebooks_src/`` next to the ``pgref`` package."""

DEFAULT_DIRECTORY = REPOSITORY / "notebooks"
"""Where :func:`build` writes by default: ``notebooks/`` next to the package (git-ignored)."""

FIGURES_VARIABLE = "PGREF_NOTEBOOK_FIGURES"
"""The environment variable naming the folder :func:`show` saves into (default
``notebooks/figures/`` next to the package, git-ignored)."""

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
"""The matplotlib backend of the kernels :func:`build` starts: figures go into the notebook."""

EXTRA_ADVICE = ('install the optional [notebooks] extra (Jupytext, nbclient, ipykernel) with '
                '`.venv/bin/python -m pip install -e ".[notebooks]"` in the pgref repository')


def figures_directory() -> Path:
    """The folder :func:`show` saves figures into: ``$PGREF_NOTEBOOK_FIGURES`` if set, else
    ``notebooks/figures/`` next to the ``pgref`` package."""
    return Path(os.environ.get(FIGURES_VARIABLE) or DEFAULT_DIRECTORY / "figures")


def show(figure, name: str) -> Path | None:
    r"""Show ``figure`` where it can be seen; otherwise save it as ``name``.png and say where.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    name : str
        The file name without ``.png``, e.g. ``"03_rms_error"`` (letters, digits, ``_``, ``-``).

    Returns
    -------
    Path or None
        The PNG written under a non-interactive backend (Agg, the default of a script without a
        display), into :func:`figures_directory`; None where the figure was shown (the inline
        backend of a Jupyter kernel, or a GUI backend, whose window this call opens).

    Raises
    ------
    ValueError
        For a ``name`` that is not a plain file name.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.backends import BackendFilter, backend_registry

    if not name or not all(character.isalnum() or character in "_-" for character in name):
        raise ValueError(f"name must be a plain file name (letters, digits, '_', '-') without "
                         f".png; got {name!r}")
    backend = matplotlib.get_backend()
    if backend.lower() not in backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE):
        plt.show()
        return None
    directory = figures_directory()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    print(f"saved the figure to {path}")
    return path


def _extra_modules():
    try:
        import ipykernel  # noqa: F401  (the kernel nbclient starts)
        import jupytext
        import nbclient
        import nbformat
    except ImportError as error:
        raise ImportError(f"`python -m pgref notebooks` needs {error.name}: {EXTRA_ADVICE}",
                          name=error.name) from error
    return jupytext, nbclient, nbformat


def _kernel_environment(quick: bool) -> dict[str, str]:
    """The environment of the notebooks' kernels: inline figures, the same pgref as this one."""
    environment = dict(os.environ)
    environment["MPLBACKEND"] = INLINE_BACKEND
    if quick:
        environment["PGREF_QUICK"] = "1"
    else:
        environment.pop("PGREF_QUICK", None)
    path = [str(REPOSITORY), *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(path)
    return environment


def execute(source: Path | str, out_dir: Path | str, *, quick: bool = False,
            timeout: int = 600) -> Path:
    r"""Execute one Jupytext notebook and write it as ``out_dir/<name>.ipynb``.

    Parameters
    ----------
    source : path
        A Jupytext percent-format ``.py`` notebook.
    out_dir : path
        Where to write; the kernel runs in this folder.
    quick : bool
        Run with ``PGREF_QUICK=1`` (fewer samples).
    timeout : int
        Seconds any one cell may take.

    Returns
    -------
    Path
        The executed notebook, with every cell's outputs and the figures inline (PNG).

    Raises
    ------
    ImportError
        Without the ``[notebooks]`` extra, naming the command that installs it.
    RuntimeError
        When a cell raises; the notebook is written up to the failing cell, and the message
        names it and the error. Also when called inside a running event loop (e.g. from a
        Jupyter kernel): call it from a script, or use :func:`build`, which runs it in threads.
    """
    jupytext, nbclient, nbformat = _extra_modules()
    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    target = out_dir / f"{source.stem}.ipynb"
    client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(out_dir)}},
                                     extra_arguments=["--IPKernelApp.log_level=ERROR"])
    try:  # in an event loop of its own, closed afterwards (one per thread of :func:`build`)
        asyncio.run(client.async_execute(env=_kernel_environment(quick)))
    except nbclient.exceptions.CellExecutionError as error:
        nbformat.write(notebook, target)
        raise RuntimeError(f"{source.name} failed: {error.ename}: {error.evalue} (the "
                           f"notebook, up to the failing cell, is in {target})") from error
    nbformat.write(notebook, target)
    return target


def build(out_dir: Path | str | None = None, *, quick: bool = False,
          source_dir: Path | str = SOURCE_DIRECTORY, jobs: int | None = None,
          progress: bool = True) -> list[Path]:
    r"""Execute every notebook of ``source_dir`` into ``out_dir``: ``python -m pgref notebooks``.

    Parameters
    ----------
    out_dir : path, optional
        Default :data:`DEFAULT_DIRECTORY`, ``notebooks/`` (git-ignored).
    quick : bool
        Run with ``PGREF_QUICK=1``.
    source_dir : path
        The Jupytext ``.py`` notebooks; default ``notebooks_src/``.
    jobs : int ≥ 1, optional
        How many notebooks run at once, each in its own kernel; default the number of CPUs.
    progress : bool
        Print one line per notebook on stderr as it starts.

    Returns
    -------
    list of Path
        The executed ``.ipynb`` files, in the lecture's order.

    Raises
    ------
    ValueError
        When ``source_dir`` holds no ``.py`` notebook, or ``jobs`` is not an integer ≥ 1.
    ImportError
        Without the ``[notebooks]`` extra (checked before any notebook runs).
    RuntimeError
        When a notebook's cell raises (see :func:`execute`).
    """
    if jobs is None:
        jobs = os.cpu_count() or 1
    jobs = checks.positive_int("jobs", jobs)
    sources = sorted(Path(source_dir).glob("*.py"))
    if not sources:
        raise ValueError(f"source_dir must hold Jupytext .py notebooks; {source_dir} has none "
                         f"(the repository's are in {SOURCE_DIRECTORY})")
    _extra_modules()
    out_dir = Path(DEFAULT_DIRECTORY if out_dir is None else out_dir)

    def run(numbered: tuple[int, Path]) -> Path:
        index, source = numbered
        if progress:
            print(f"[{index}/{len(sources)}] {source.stem}.ipynb ...", file=sys.stderr,
                  flush=True)
        return execute(source, out_dir, quick=quick)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run, enumerate(sources, start=1)))
