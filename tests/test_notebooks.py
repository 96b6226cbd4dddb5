r"""The notebooks in ``notebooks_src/``: each runs in quick mode, is jupytext percent format, and
together they follow the lecture's parts in order.

Each notebook is plain Python; it is run in this process by :func:`runpy.run_path` with
``PGREF_QUICK=1``, so a cell that raises (an ``assert`` on a claim of the lecture included)
fails its test, and a warning fails it too (pytest's ``filterwarnings = error``). Figures that a
notebook draws go to matplotlib's Agg backend and are closed afterwards; nothing is written.
"""

import importlib
import re
import runpy
from pathlib import Path

import matplotlib
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks_src"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.py"))

# The lecture's parts, in its order: (file stem, words the notebook's title must contain).
LECTURE_PARTS = [
    ("01_policy_networks_and_features", ("policy network", "feature")),
    ("02_objective_and_log_derivative_trick", ("objective", "log-derivative trick")),
    ("03_monte_carlo_sgd_and_pg_v1", ("monte-carlo", "sgd", "pg_v1")),
    ("04_reinforce", ("reinforce",)),
    ("05_policy_gradient_theorem", ("policy gradient theorem",)),
    ("06_gaussian_policies", ("gaussian polic",)),
]

CELL_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
PGREF_NAME = re.compile(r"`(pgref(?:\.\w+)+)`")


def _cells(path: Path) -> list[tuple[str, list[str]]]:
    """The cells after the first marker, as (kind, lines); kind is "code" or "markdown"."""
    cells: list[tuple[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        marker = CELL_MARKER.match(line)
        if marker:
            kind = "markdown" if marker["rest"].strip() == "[markdown]" else "code"
            cells.append((kind, []))
        elif cells:
            cells[-1][1].append(line)
    return cells


def _markdown_text(path: Path) -> str:
    return "\n".join(line for kind, lines in _cells(path) if kind == "markdown" for line in lines)


def _ids(paths):
    return [path.stem for path in paths]


def test_the_notebooks_cover_the_lecture_parts_in_order():
    assert _ids(NOTEBOOKS) == [stem for stem, _ in LECTURE_PARTS]
    for number, (path, (_, words)) in enumerate(zip(NOTEBOOKS, LECTURE_PARTS, strict=True), 1):
        kind, lines = _cells(path)[0]
        assert kind == "markdown", f"{path.name} must open with a markdown cell (its title)"
        title = lines[0].lower()
        assert title.startswith(f"# # {number} · "), f"{path.name}: title {lines[0]!r}"
        for word in words:
            assert word in title, f"{path.name}: the title {lines[0]!r} lacks {word!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_jupytext_percent_format(path):
    cells = _cells(path)
    kinds = [kind for kind, _ in cells]
    assert "markdown" in kinds and "code" in kinds, f"{path.name}: {kinds}"
    for kind, lines in cells:
        if kind == "markdown":
            bad = [line for line in lines if line and not (line == "#" or line.startswith("# "))]
            assert not bad, f"{path.name}: markdown lines must start with '# ': {bad[:3]}"
    code = [line for kind, lines in cells if kind == "code" for line in lines]
    assert any(line.strip() for line in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_names_pgref_functions_that_exist(path):
    """Every `pgref.…` named in a markdown cell resolves; no code is cited by line number."""
    text = _markdown_text(path)
    names = set(PGREF_NAME.findall(text))
    assert names, f"{path.name} points to no pgref function in its markdown"
    for name in sorted(names):
        parts = name.split(".")
        for split in range(len(parts), 0, -1):  # the longest importable module prefix
            try:
                target = importlib.import_module(".".join(parts[:split]))
            except ModuleNotFoundError:
                continue
            break
        for attribute in parts[split:]:
            assert hasattr(target, attribute), f"{path.name} names {name}, which does not exist"
            target = getattr(target, attribute)
    assert not re.search(r"\.py:\d+|#L\d+|\bline \d+ of \w+\.py", text), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_in_quick_mode(path, monkeypatch):
    monkeypatch.setenv("PGREF_QUICK", "1")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
