r"""Benchmarks run by ``python -m pgref bench NAME``: each prints ratios measured in one run.

Each benchmark is a module ``pgref.benchmarks.<name>`` with a function
``run(quick: bool = False) -> list[str]`` returning the lines of its table. Speed goals are
checked here, by ratios printed side by side, never by timed tests.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["available", "run"]


def available() -> list[str]:
    """The names of the benchmarks in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def run(name: str, quick: bool = False) -> list[str]:
    """Run benchmark ``name`` and return its printed lines."""
    names = available()
    if name not in names:
        raise ValueError(f"benchmark name must be one of {names}; got {name!r}")
    module = importlib.import_module(f"{__name__}.{name}")
    return module.run(quick=quick)
