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


def test_requirements_are_the_four_runtime_packages():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    names = {re.split(r"[=<>~]", line)[0] for line in lines if line and not line.startswith("#")}
    assert names == {"numpy", "matplotlib", "pytest", "hypothesis"}


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
