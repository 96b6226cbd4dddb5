"""One symbol per quantity (README, "Notation"): the prose of pgref — docstrings, comments,
strings, the notebooks' markdown and the README — writes the objective as the lecture does, 𝒥,
never J (which is the number of features); the Gaussian mean as m(s), never μ (the on-policy
distribution); the moving particle's gain as L, never K (the episodes per estimate)."""

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "the objective written J": re.compile(
        r"∇̂?J(?![A-Za-z_0-9])|∂J/|(?<![A-Za-z_0-9])J\((?:θ|π|p\))|(?<![A-Za-z_0-9])J\*"),
    "the Gaussian mean written μ": re.compile(r"μ\(s\) = Θ|N\(μ"),
    "the features counted by 𝒥": re.compile(r"𝒥 is\s+the number of features|ℝ𝒥|\(S, A, 𝒥\)"),
    "the gain written K": re.compile(r"N\(K s|K = Θᵀ|(?<![A-Za-z_0-9])K\*"),
}


def _prose(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string and comment of a Python file; the whole text otherwise."""
    text = path.read_text()
    if path.suffix != ".py":
        return [(1, text)]
    return [(token.start[0], token.string)
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type in (tokenize.STRING, tokenize.COMMENT)]


FILES = sorted(ROOT.glob("pgref/**/*.py")) + sorted(ROOT.glob("notebooks_src/*.py")) + [
    ROOT / "README.md"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_prose_uses_one_symbol_per_quantity(path):
    found = [f"line {line}: {what}: {match.group(0)!r}"
             for line, text in _prose(path)
             for what, pattern in FORBIDDEN.items()
             for match in pattern.finditer(text)]
    assert not found, found


def test_the_check_finds_what_it_forbids():
    """Positive controls: each pattern catches the old spelling."""
    for what, old in (("the objective written J", "θ ← θ + α ∇J(π_θ); J* = −11.66"),
                      ("the Gaussian mean written μ", "mean μ(s) = Θᵀx(s)"),
                      ("the gain written K", "a ∼ N(K s, σ² I), K* from Riccati"),
                      ("the features counted by 𝒥", "𝒥 is the number of features")):
        assert FORBIDDEN[what].search(old)
