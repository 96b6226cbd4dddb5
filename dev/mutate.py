r"""Mutation testing of pgref's formula lines: does the suite notice a changed operator or constant?

Usage (from the repository root, with the project's venv):

    python dev/mutate.py [--sample N] [--seed S] [--timeout SECONDS] [MODULE ...]

MODULE is a path such as ``pgref/exact/estimator_moments.py``; default: every formula module of
:data:`TARGETS`. Each mutant changes ONE node of a formula line (inside a function body, not in
a docstring, an error message or a ``raise``): an arithmetic operator (+ ↔ −, * ↔ /, ** → *),
a comparison (< ↔ ≤, > ↔ ≥, == ↔ !=), a unary minus dropped, or a number c → c + 1 (0 → 1,
1 → 2, 0.5 → 1.5). The mutated module is written into a scratch copy of the repository, and the
module's tests (:data:`TARGETS`) run there with ``pytest -x`` and a per-mutant timeout; a mutant
is killed when they fail or time out. Survivors are listed with their line: read each one, and
either add a test or note it as equivalent (the program cannot tell).

Not in CI: it runs the tests once per mutant (about 3–15 s each on two cores).
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {
    "pgref/exact/chain.py": ["tests/test_exact.py", "tests/test_exact_moments.py"],
    "pgref/exact/gradient.py": ["tests/test_exact.py"],
    "pgref/exact/moments.py": ["tests/test_exact_moments.py"],
    "pgref/exact/estimator_moments.py": ["tests/test_exact_moments.py"],
    "pgref/estimators.py": ["tests/test_estimators.py", "tests/test_estimators_statistics.py"],
    "pgref/policies/softmax.py": ["tests/test_policies.py"],
    "pgref/policies/gaussian.py": ["tests/test_policies.py"],
    "pgref/policies/discrete.py": ["tests/test_policies.py"],
    "pgref/rollout/samplers.py": ["tests/test_rollout.py"],
    "pgref/lqr/exact.py": ["tests/test_lqr.py"],
    "pgref/algorithms/natural.py": ["tests/test_natural.py"],
}
"""Formula module → the test files that should kill its mutants."""

SWAPS = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.Pow: ast.Mult, ast.FloorDiv: ast.Mult, ast.MatMult: None,
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
}


def _excluded_lines(tree: ast.Module) -> set[int]:
    """Lines of docstrings, raise statements and f-strings (messages, not formulas)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise | ast.JoinedStr | ast.Assert):
            lines.update(range(node.lineno, node.end_lineno + 1))
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def _in_functions(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def mutants(source: str) -> list[tuple[int, int, str]]:
    """(node index in ast.walk order, line, description) of every mutation of formula lines."""
    tree = ast.parse(source)
    allowed = _in_functions(tree) - _excluded_lines(tree)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        line = getattr(node, "lineno", None)
        if line not in allowed:
            continue
        if isinstance(node, ast.BinOp) and SWAPS.get(type(node.op)):
            found.append((index, line, f"{type(node.op).__name__} → "
                                       f"{SWAPS[type(node.op)].__name__}"))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and SWAPS.get(
                type(node.ops[0])):
            found.append((index, line, f"{type(node.ops[0]).__name__} → "
                                       f"{SWAPS[type(node.ops[0])].__name__}"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            found.append((index, line, "unary minus dropped"))
        elif (isinstance(node, ast.Constant) and type(node.value) in (int, float)
              and not isinstance(node.value, bool)):
            found.append((index, line, f"{node.value!r} → {node.value + 1!r}"))
    return found


def mutate(source: str, target: int) -> str:
    """The source with the node at ``target`` (ast.walk order) mutated."""
    tree = ast.parse(source)
    for index, node in enumerate(ast.walk(tree)):
        if index != target:
            continue
        if isinstance(node, ast.BinOp):
            node.op = SWAPS[type(node.op)]()
        elif isinstance(node, ast.Compare):
            node.ops = [SWAPS[type(node.ops[0])]()]
        elif isinstance(node, ast.UnaryOp):
            node.op = ast.UAdd()
        elif isinstance(node, ast.Constant):
            node.value = node.value + 1
        break
    return ast.unparse(tree)


def run_tests(workdir: Path, tests: list[str], timeout: float) -> str:
    """'killed', 'survived' or 'timeout' for the tests run in ``workdir``."""
    environment = {**os.environ, "HYPOTHESIS_PROFILE": "dev", "PYTHONDONTWRITEBYTECODE": "1",
                   "OMP_NUM_THREADS": "1"}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=workdir, env=environment, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if result.returncode == 0 else "killed"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=list(TARGETS))
    parser.add_argument("--sample", type=int, default=0, help="mutants drawn at random (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0)
    arguments = parser.parse_args(argv)
    candidates = []
    for module in arguments.modules:
        source = (ROOT / module).read_text()
        candidates += [(module, *mutant) for mutant in mutants(source)]
    if arguments.sample:
        candidates = random.Random(arguments.seed).sample(
            candidates, min(arguments.sample, len(candidates)))
    started, counts, survivors = time.time(), {"killed": 0, "survived": 0, "timeout": 0}, []
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch) / "repo"
        shutil.copytree(ROOT, workdir, ignore=shutil.ignore_patterns(
            ".venv", ".git", "figures", "notebooks_src", "__pycache__", ".hypothesis"))
        for number, (module, index, line, description) in enumerate(candidates, 1):
            original = (ROOT / module).read_text()
            (workdir / module).write_text(mutate(original, index))
            try:
                outcome = run_tests(workdir, TARGETS[module], arguments.timeout)
            finally:
                (workdir / module).write_text(original)
            counts[outcome] += 1
            if outcome == "survived":
                survivors.append(f"{module}:{line}  {description}")
            print(f"[{number}/{len(candidates)}] {module}:{line} {description}: {outcome}",
                  file=sys.stderr, flush=True)
    total = sum(counts.values())
    killed = counts["killed"] + counts["timeout"]
    print(f"{killed}/{total} mutants killed ({100 * killed / max(total, 1):.1f} %), "
          f"{counts['timeout']} by timeout, in {time.time() - started:.0f} s")
    for survivor in survivors:
        print("survived:", survivor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
