"""The command line and the README's two commands."""

import re
from pathlib import Path

import pytest

import pgref
from pgref.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    """The shell commands in the README's first code block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_the_two_commands():
    install_figures, install_tests = readme_commands()
    assert "pip install -r requirements.txt" in install_figures
    assert install_figures.startswith("python3 -m venv .venv")
    assert install_figures.endswith("python -m pgref figures")
    assert "pip install -r requirements.txt" in install_tests
    assert install_tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()


def test_requirements_are_the_four_runtime_packages_and_pgref_itself():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert "-e ." in lines  # pgref, editable: importable from any folder in the environment
    names = {re.split(r"[=<>~]", line)[0] for line in lines if line != "-e ."}
    assert names == {"numpy", "matplotlib", "pytest", "hypothesis"}
    assert all("==" in line for line in lines if line != "-e .")  # pinned


def test_ci_installs_the_extras_and_runs_the_suite_again():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    extras = ci.index('.venv/bin/python -m pip install -e ".[gym,notebooks]"')
    assert ci.index(readme_commands()[1]) < extras
    assert any(".venv/bin/python -m pytest" in line for line in ci[extras:])
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'gym = ["gymnasium' in pyproject and 'notebooks = ["jupytext' in pyproject


def test_readme_commands_call_the_environments_python():
    """After the first command, every `python -m pgref …` works as written: no bare python."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    calls = re.findall(r"(\S*)python -m pgref", text)
    assert calls and set(calls) <= {".venv/bin/", "`.venv/bin/"}, set(calls)
    assert "PYTHONPATH=" not in text


def _in_repository(path: str) -> bool:
    """A path from the root, or a bare file name in one of the project's folders; files that
    `python -m pgref notebooks` writes into the git-ignored notebooks/ count too."""
    if path.startswith("notebooks/"):
        return True
    if "/" in path:
        return (ROOT / path).exists()
    folders = (ROOT, ROOT / "figures", ROOT / "notebooks_src", ROOT / "tests", ROOT / "pgref")
    return any((folder / path).exists() for folder in folders)


def test_readme_refers_only_to_files_in_the_repository():
    """Every file name the README mentions exists (it once cited a design page that did not)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"(?<![\w./-])((?:[\w-]+/)*[\w.-]+\.(?:md|py|txt|toml|png|ipynb))\b",
                           text))
    paths |= set(re.findall(r"\]\(((?!https?:|#)[^)]+)\)", text))  # relative links
    missing = [path for path in sorted(paths) if not _in_repository(path)]
    assert not missing, f"README.md refers to files that are not in the repository: {missing}"


def test_readme_documents_the_extras_gym_and_the_notebooks_command():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for words in ('pip install -e ".[gym]"', 'pip install -e ".[notebooks]"', "pgref.gym",
                  "CartPole", "python -m pgref notebooks", 'gymnasium.make("pgref/'):
        assert words in text, words


def test_every_public_name_appears_in_the_readme():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in pgref.__all__ if name not in text]
    assert not missing, f"README.md does not mention {missing}"


def test_figures_command_writes_into_out(tmp_path, capsys):
    assert main(["figures", "--quick", "--out", str(tmp_path), "--only", "policies"]) == 0
    assert (tmp_path / "policies.png").is_file()
    assert "policies.png" in capsys.readouterr().err


def test_unknown_commands_and_names_exit_with_usage():
    with pytest.raises(SystemExit) as raised:
        main(["bench", "no-such-benchmark"])
    assert raised.value.code == 2
    with pytest.raises(SystemExit):
        main(["figures", "--only", "no-such-figure"])


def _resolve(dotted: str):
    """The object a dotted name like ``exact.objective`` or ``pgref.rollout.Episodes`` names."""
    import importlib

    parts = dotted.removeprefix("pgref.").split(".")
    obj = pgref
    for index, part in enumerate(parts):
        if not hasattr(obj, part):  # a submodule not imported by its package
            obj = importlib.import_module("pgref." + ".".join(parts[: index + 1]))
        else:
            obj = getattr(obj, part)
    return obj


def test_every_pgref_module_and_function_the_readme_names_exists():
    """Every `module.name` of pgref in the README's code spans resolves (issue: say only what
    is true); names of objects a user holds (``episodes.states``, ``policy.…``) are skipped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    top = {name for name in dir(pgref) if not name.startswith("_")}
    names = set()
    for span in re.findall(r"`([^`\n]+)`", text):
        for dotted in re.findall(r"(?<![\w.])((?:pgref\.)?[a-z_]+(?:\.[A-Za-z_][A-Za-z_0-9]*)+)",
                                 span):
            first = dotted.removeprefix("pgref.").split(".")[0]
            if re.search(r"\.(?:py|png|md|txt|toml|ipynb)$", dotted):
                continue  # a file name; test_readme_refers_only_to_files_in_the_repository
            if dotted.startswith("pgref.") or first in top:
                names.add(dotted)
    assert len(names) > 50  # the check reads the README's names at all
    import importlib.util

    if importlib.util.find_spec("gymnasium") is None:  # pgref.gym needs the [gym] extra
        names = {name for name in names if not name.startswith("pgref.gym")}
    missing = []
    for dotted in sorted(names):
        try:
            _resolve(dotted)
        except (AttributeError, ImportError):
            # ``mdp.transitions`` and the like: the attributes of an MDP a user holds
            attribute = dotted.split(".", 1)[1] if dotted.startswith("mdp.") else None
            if attribute is None or not hasattr(pgref.envs.short_corridor().mdp, attribute):
                missing.append(dotted)
    assert not missing, f"README.md names what pgref does not have: {missing}"


def test_bench_figures_smoke_run():
    """A smoke run of ``python -m pgref bench figures --quick`` (one figure in quick mode, in a
    child process): its times are not checked, only that the table is printed."""
    from pgref.benchmarks import run

    lines = run("figures", quick=True)
    assert any(line.startswith("| figures command |") for line in lines)
    assert sum(line.startswith("| reference, ") for line in lines) == 2


def test_the_loops_benchmark_reference_is_the_books_reinforce_on_the_corridor():
    """``bench loops`` times pgref against ``book_reinforce``: replayed here from the same
    uniforms with pgref's corridor (its transitions) and policy (its score), episode after
    episode, θ ← θ + α Gₜ ∇ log π_θ(Aₜ|Sₜ) at every step gives the same θ and step count."""
    import numpy as np

    from pgref import envs
    from pgref.benchmarks.loops import ALPHA, THETA_0, book_reinforce
    from pgref.policies import SoftmaxLinearPolicy

    problem = envs.short_corridor()
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    alpha = ALPHA     # the benchmark's (from θ₀, α = 2⁻⁷ drives π(right) to 4e−7 in 3 episodes)
    theta, steps = book_reinforce(THETA_0, alpha, 5, np.random.default_rng(7))
    uniforms = np.random.default_rng(7)
    replayed, replayed_steps = THETA_0.copy(), 0
    for _ in range(5):
        state, pairs = 0, []
        while not mdp.terminal[state] and len(pairs) < 10_000:
            right = uniforms.uniform() <= policy.action_probs(replayed)[state, 0]
            action = 0 if right else 1                       # actions (right, left)
            pairs.append((state, action))
            state = int(np.argmax(mdp.transitions[state, action]))
        assert mdp.terminal[state], "the replayed episode did not end within 10 000 steps"
        G = -np.arange(len(pairs), 0, -1.0)                  # Gₜ = −(T − t): every step pays −1
        for (s, a), G_t in zip(pairs, G, strict=True):
            replayed = replayed + alpha * G_t * policy.grad_log_prob(replayed, s, a)
        replayed_steps += len(pairs)
    assert steps == replayed_steps > 5
    np.testing.assert_allclose(theta, replayed, rtol=1e-12, atol=1e-12)
    assert np.abs(theta - THETA_0).max() > 1e-3


def test_bench_loops_smoke_run():
    """A smoke run of ``python -m pgref bench loops --quick``: the table is printed, one row
    per method, the reference's ratio 1.00."""
    from pgref.benchmarks import run

    lines = run("loops", quick=True)
    rows = [line for line in lines if line.startswith("| ") and "---" not in line]
    assert rows[1].startswith("| reference: the book's boxed REINFORCE")
    assert rows[1].endswith("| 1.00 |")
    assert len(rows) == 7


def test_seconds_at_the_goals_speed_scale_by_the_reference():
    """10 s measured with the reference at 60 µs per step are 5 s where it takes 30 µs."""
    from pgref.benchmarks.loops import REFERENCE_AT_GOAL, seconds_at_goal_speed

    assert REFERENCE_AT_GOAL == 30e-6
    assert seconds_at_goal_speed(10.0, 60e-6) == pytest.approx(5.0, rel=1e-15)
