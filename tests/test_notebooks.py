r"""The notebooks in ``notebooks_src/``: each runs in quick mode and shows a figure, is jupytext
percent format, and together they follow the lecture's parts in order.

Each notebook runs with ``PGREF_QUICK=1``, so a cell that raises (an ``assert`` on a claim of the
lecture included) fails its test, and so does a warning:

- with the optional [notebooks] extra, as Jupyter notebooks: ``python -m pgref notebooks
  --quick`` executes all six once into a temporary folder, and each must have no error and no
  stderr output and at least one inline PNG figure;
- without it, as scripts, in this process by :func:`runpy.run_path` (pytest's
  ``filterwarnings = error`` turns a warning into a failure) under matplotlib's Agg backend,
  where :func:`pgref.notebooks.show` must save at least one PNG (into a temporary folder).

CI runs the suite both ways. A notebook also runs as a script from inside ``notebooks_src/``
with this interpreter and no ``PYTHONPATH``, which only works when pgref is installed in it.
"""

import importlib
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

from pgref import figures, notebooks
from pgref.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks_src"
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


def _has_notebooks_extra() -> bool:
    return all(importlib.util.find_spec(name) is not None
               for name in ("jupytext", "nbclient", "ipykernel"))


NEEDS_EXTRA = ('needs the optional [notebooks] extra: '
               '.venv/bin/python -m pip install -e ".[notebooks]"')


@pytest.fixture(scope="module")
def executed_notebooks(tmp_path_factory) -> Path:
    """The folder into which `python -m pgref notebooks --quick --out DIR` wrote, run once."""
    if not _has_notebooks_extra():
        pytest.skip(NEEDS_EXTRA)
    out = tmp_path_factory.mktemp("notebooks")
    assert main(["notebooks", "--quick", "--out", str(out)]) == 0
    return out


def _outputs(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [output for cell in cells if cell["cell_type"] == "code"
            for output in cell["outputs"]]


def test_notebooks_command_writes_six_executed_notebooks(executed_notebooks):
    written = sorted(executed_notebooks.glob("*.ipynb"))
    assert [path.stem for path in written] == [stem for stem, _ in LECTURE_PARTS]
    for path in written:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = [cell for cell in cells if cell["cell_type"] == "code"]
        assert all(cell["execution_count"] for cell in code), f"{path.name}: a cell did not run"
        assert not [o for o in _outputs(path) if o["output_type"] == "error"], path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_in_quick_mode_and_shows_a_figure(path, request, monkeypatch, tmp_path):
    if _has_notebooks_extra():
        executed = request.getfixturevalue("executed_notebooks") / f"{path.stem}.ipynb"
        outputs = _outputs(executed)
        problems = [o for o in outputs if o["output_type"] == "error"
                    or (o["output_type"] == "stream" and o["name"] == "stderr")]
        assert not problems, f"{executed.name}: {problems[:1]}"
        inline = [o for o in outputs if "image/png" in o.get("data", {})]
        assert inline, f"{executed.name} shows no figure inline"
        return
    monkeypatch.setenv("PGREF_QUICK", "1")
    monkeypatch.setenv(notebooks.FIGURES_VARIABLE, str(tmp_path))
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    saved = sorted(tmp_path.glob("*.png"))
    assert saved, f"{path.name} run as a script saved no figure"
    assert all(png.name.startswith(path.stem[:3]) for png in saved), saved


def test_show_saves_under_agg_and_refuses_bad_names(monkeypatch, tmp_path, capsys):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv(notebooks.FIGURES_VARIABLE, str(tmp_path / "figs"))
    figure = plt.figure()
    path = notebooks.show(figure, "example_1")
    assert path == tmp_path / "figs" / "example_1.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert f"saved the figure to {path}" in capsys.readouterr().out
    assert not plt.fignum_exists(figure.number)  # closed once saved
    for name in ("", "a/b", "x.png"):
        with pytest.raises(ValueError, match="name must be a plain file name"):
            notebooks.show(plt.figure(), name)
    plt.close("all")


def test_notebooks_command_names_the_extra_when_it_is_missing(monkeypatch, capsys):
    for name in ("ipykernel", "jupytext", "nbclient"):  # as if the extra were not installed
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["notebooks", "--out", "unused"]) == 1
    message = capsys.readouterr().err
    assert "`python -m pgref notebooks` needs ipykernel: install the optional [notebooks] extra" \
        in message and '.venv/bin/python -m pip install -e ".[notebooks]"' in message
    assert not Path("unused").exists()


def test_build_refuses_a_folder_without_notebooks_and_bad_jobs(tmp_path):
    with pytest.raises(ValueError, match=r"source_dir must hold Jupytext \.py notebooks"):
        notebooks.build(tmp_path / "out", source_dir=tmp_path)
    for jobs in (0, 1.5):
        with pytest.raises(ValueError, match=r"jobs must be an integer ≥ 1"):
            notebooks.build(tmp_path / "out", jobs=jobs)


def test_a_failing_cell_is_reported_and_the_notebook_written_up_to_it(tmp_path):
    if not _has_notebooks_extra():
        pytest.skip(NEEDS_EXTRA)
    source = tmp_path / "broken.py"
    source.write_text("# %%\nprint('first cell ran')\n\n# %%\nraise ValueError('boom')\n",
                      encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"broken\.py failed: ValueError: boom \(the notebook"):
        notebooks.execute(source, tmp_path / "out")
    outputs = _outputs(tmp_path / "out" / "broken.ipynb")
    assert "".join(outputs[0]["text"]) == "first cell ran\n"
    assert outputs[-1]["output_type"] == "error"


def test_a_notebook_runs_from_notebooks_src_with_no_pythonpath(tmp_path):
    """pgref is installed in this interpreter (requirements.txt's `-e .`), from this clone.

    The notebook runs as a script with ``cwd=notebooks_src/``, this interpreter (the venv's
    Python under the README's test command) and ``PYTHONPATH`` removed: Python puts only the
    script's folder on sys.path, so ``import pgref`` succeeds only if pgref is installed. The
    run prints where pgref came from, which must be this clone, not another copy.
    """
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment |= {"PGREF_QUICK": "1", "MPLBACKEND": "Agg",
                    notebooks.FIGURES_VARIABLE: str(tmp_path)}
    notebook = "02_objective_and_log_derivative_trick.py"
    code = ("import runpy, pgref; print('pgref from', pgref.__file__); "
            f"runpy.run_path({notebook!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=NOTEBOOK_DIR,
                            env=environment, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"{result.stderr[-2000:]}\npgref must be installed in {sys.executable}: run the "
        "README's first command (requirements.txt installs pgref with `-e .`)")
    assert f"pgref from {ROOT / 'pgref' / '__init__.py'}" in result.stdout
    assert sorted(png.name for png in tmp_path.glob("*.png")) == ["02_returns.png"]


@pytest.mark.skipif(os.environ.get("PGREF_FRESH_CLONE") != "1",
                    reason="slow (a new virtual environment): set PGREF_FRESH_CLONE=1 to run")
def test_from_a_fresh_clone_the_first_readme_command_writes_the_committed_figures(tmp_path):
    """git clone, the README's first command verbatim (it installs the pinned requirements and
    runs ``python -m pgref figures``): every figure it writes is byte for byte the committed
    one; then a notebook from notebooks_src/ runs with the new venv's Python and no
    PYTHONPATH."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    readme = (clone / "README.md").read_text(encoding="utf-8")
    first_command = re.search(r"```(?:bash|sh)\n(.*?)\n", readme).group(1)
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(["bash", "-c", first_command], cwd=clone, env=environment, check=True)
    changed = subprocess.run(["git", "status", "--porcelain", "--", "figures"], cwd=clone,
                             capture_output=True, text=True, check=True).stdout
    assert changed == "", f"the first command changed the committed figures:\n{changed}"
    assert len(list((clone / "figures").glob("*.png"))) == len(figures.REGISTRY)
    environment |= {"PGREF_QUICK": "1", "MPLBACKEND": "Agg",
                    notebooks.FIGURES_VARIABLE: str(tmp_path / "figures")}
    python = clone / ".venv" / "bin" / "python"
    notebook = "02_objective_and_log_derivative_trick.py"
    subprocess.run([str(python), notebook], cwd=clone / "notebooks_src", env=environment,
                   check=True)
    where = subprocess.run([str(python), "-c", "import pgref; print(pgref.__file__)"],
                           cwd=tmp_path, env=environment, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert Path(where) == clone / "pgref" / "__init__.py"
