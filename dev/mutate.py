r"""Mutation testing of pgref's formula lines: does the suite notice a changed operator or constant?

Usage (from the repository root, with the project's venv; CPU-heavy, so niced):

    nice -n 10 .venv/bin/python dev/mutate.py [--sample N] [--seed S] [--timeout SECONDS]
                                              [--list] [--exclude MODULE] ...
                                              [--log FILE] ... [--summary]
                                              [MODULE[:LINE[:NODE]] ...]

MODULE is a path such as ``pgref/exact/estimator_moments.py`` (``:LINE`` keeps the mutants of
one line, ``:LINE:NODE`` one mutant, as the survivors are printed); default: every formula
module of :data:`TARGETS`. ``--exclude MODULE`` (repeated for more) leaves modules out (say,
those being rewritten); ``--sample N`` then draws from the mutants of the modules that remain,
listed in :data:`TARGETS` order, so the same seed and the same modules draw the same mutants.

Each mutant changes ONE node of a formula line: an arithmetic
operator (+ ↔ −, * ↔ /, ** → *, // → *), a comparison (< ↔ ≤, > ↔ ≥, == ↔ !=), a unary minus
dropped, a number c → c + 1 (0 → 1, 1 → 2, 0.5 → 1.5), or a discount γ read as 1 (a name or
attribute ``gamma`` replaced by ``1.0``: the lecture's most common slip, invisible at γ = 1).

A formula line is a line inside a function body (default values included), except docstrings,
``raise`` and ``assert`` statements, f-strings (messages), and the condition of an input guard
(an ``if`` whose body only raises: a check of the arguments, not a formula; ``--include-guards``
mutates those too). The −1 of ``reshape(…, -1)`` is not made −2 (NumPy reads any negative size
as "unknown").

The unmutated tests are run first in the scratch copy of the repository (a mutant would count as
killed by a suite that fails anyway); then each mutant is written there and the module's tests
(:data:`TARGETS`) run with ``pytest -x`` and a per-mutant timeout (default: 4 × the unmutated
run, at least 30 s); a mutant is killed when they fail or time out. Hypothesis runs its ``dev``
profile (10 examples), so the score is a lower bound for the full suite. Mutants listed in
:data:`EQUIVALENT` (read and found not to change behaviour) are run anyway; those that survive
are reported apart (a key names every node of its mutation type on the line, so a listed one
that is killed counts as killed), and the score is killed / (mutants − equivalent ones).
Other survivors are listed with their line: read each one, and either add a test or record it
in :data:`EQUIVALENT` with the reason.

``--log FILE`` appends each mutant's outcome to FILE as it is known (one tab-separated line:
module, node, line, mutation, outcome) and, when FILE already holds lines, skips the mutants
they name and counts their outcomes in the score: a run of every module (hours) can be stopped
and taken up again, on the same commit, by the same command. With several files (``--log a.log
--log b.log``) the outcomes of all are read and new ones go to the first; ``--summary`` runs
nothing and prints the score of the logged mutants (with this checkout's :data:`EQUIVALENT`,
so a run made on an earlier commit of the same formula code is scored with the equivalents
recorded since).

Not in CI: it runs the tests once per mutant (about 3–40 s each on two cores).
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

_EXACT = ["tests/test_exact.py", "tests/test_exact_solver.py", "tests/test_exact_accuracy.py",
          "tests/test_exact_doubled.py", "tests/test_exact_enclosure.py"]
_LQR = ["tests/test_lqr.py", "tests/test_learning_lqr.py"]
TARGETS = {
    # the exact layer (tabular)
    "pgref/exact/chain.py": [*_EXACT, "tests/test_exact_moments.py"],
    "pgref/exact/solver.py": _EXACT,
    "pgref/exact/doubled.py": _EXACT,
    "pgref/exact/doubled_gth.py": _EXACT,
    "pgref/exact/value_differences.py": _EXACT,
    # their own test files first: pytest -x stops at the first failure
    "pgref/exact/doubled_chain.py": ["tests/test_exact_doubled.py", "tests/test_exact_enclosure.py",
                                     "tests/test_exact_accuracy.py", "tests/test_exact.py",
                                     "tests/test_exact_solver.py"],
    "pgref/exact/enclosure.py": ["tests/test_exact_enclosure.py", "tests/test_exact_accuracy.py",
                                 "tests/test_exact_doubled.py", "tests/test_exact.py",
                                 "tests/test_exact_solver.py"],
    "pgref/exact/certified.py": [*_EXACT, "tests/test_natural.py"],
    "pgref/exact/gradient.py": [*_EXACT, "tests/test_natural.py"],
    "pgref/exact/moments.py": ["tests/test_exact_moments.py"],
    "pgref/exact/estimator_moments.py": ["tests/test_exact_moments.py",
                                         "tests/test_estimators_statistics.py"],
    "pgref/exact/trajectory.py": ["tests/test_trajectory_form.py"],
    # the estimators
    "pgref/estimators.py": ["tests/test_estimators.py", "tests/test_exact_moments.py",
                            "tests/test_estimators_statistics.py"],
    # the policies
    "pgref/policies/discrete.py": ["tests/test_policies.py", "tests/test_rollout.py",
                                   "tests/test_exact.py"],
    "pgref/policies/softmax.py": ["tests/test_policies.py", "tests/test_exact.py"],
    "pgref/policies/mlp.py": ["tests/test_policies.py", "tests/test_exact.py",
                              "tests/test_estimators.py"],
    "pgref/policies/gaussian.py": ["tests/test_policies.py", *_LQR, "tests/test_rollout.py"],
    # sampling
    "pgref/rollout/inverse_cdf.py": ["tests/test_rollout.py"],
    "pgref/rollout/samplers.py": ["tests/test_rollout.py", "tests/test_estimators.py"],
    "pgref/rollout/episodes.py": ["tests/test_rollout.py", "tests/test_estimators.py"],
    # the linear-quadratic problems
    "pgref/lqr/problem.py": _LQR,
    "pgref/lqr/lyapunov.py": _LQR,
    "pgref/lqr/policy.py": _LQR,
    "pgref/lqr/simulate.py": _LQR,
    "pgref/lqr/bandit.py": [*_LQR, "tests/test_estimators_statistics.py"],
    # the natural gradient and the batch loops (per_step.py and history.py: not yet)
    "pgref/algorithms/natural.py": ["tests/test_natural.py"],
    "pgref/algorithms/batch.py": ["tests/test_algorithms.py", "tests/test_learning_lqr.py"],
    "pgref/algorithms/baselines.py": ["tests/test_algorithms.py", "tests/test_learning_lqr.py",
                                      "tests/test_per_step.py"],
    "pgref/algorithms/per_step.py": ["tests/test_per_step.py"],
    "pgref/algorithms/lockstep.py": ["tests/test_per_step.py", "tests/test_sutton_barto.py"],
    "pgref/algorithms/tabular_walk.py": ["tests/test_per_step.py"],
    "pgref/algorithms/tabular_softmax.py": ["tests/test_per_step.py"],
    "pgref/algorithms/exact_trace.py": ["tests/test_per_step.py"],
    "pgref/algorithms/learner.py": ["tests/test_per_step.py"],
}
"""Formula module → the test files that should kill its mutants."""

EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("pgref/algorithms/lockstep.py", "enough = max(1, int(WAITING_SHARE * len(runs.ids)))",
     "Mult → Div"): "how many waiting runs are walked together: when, not what (each run's "
                    "episodes depend on its own stream and θ only)",
    ("pgref/algorithms/lockstep.py",
     "if np.count_nonzero(runs.finished) * 2 > len(runs.ids):", "Gt → GtE"):
        "when finished rows are compacted away: memory, not results",
    ("pgref/algorithms/lockstep.py", "self.length[rows], self.t[rows] = 0, 0", "0 → 1"):
        "a finished row has length 0, so t < length stays false whatever t is",
    ("pgref/algorithms/per_step.py",
     "if n_runs > 1 and learner.softmax is not None:", "1 → 2"):
        "lockstep or one run after another for n_runs = 2: equal to 1e−12 by design (tested)",
    ("pgref/algorithms/per_step.py",
     "if n_runs > 1 and learner.softmax is not None and tabular_baseline:", "1 → 2"):
        "lockstep or one run after another for n_runs = 2: equal to 1e−12 by design (tested)",
    ("pgref/algorithms/tabular_walk.py", "if stream.position + 1 > len(stream.values):",
     "1 → 2"): "refilling the stream one uniform earlier keeps the same sequence of uniforms",
    **{("pgref/algorithms/tabular_walk.py", "if state < 0:", mutation):
        "a certain move to state 0 searched anyway finds state 0 (its row is (1, 0, …))"
       for mutation in ("0 → 1", "Lt → LtE")},
    ("pgref/algorithms/learner.py", "if self.floor is not None and theta[-1] < self.floor:",
     "Lt → LtE"): "differs only when an update lands exactly on the floor",
    ("pgref/exact/trajectory.py", "while probability.sum() >= tolerance:", "GtE → Gt"):
        "differs only when the unfinished mass equals the tolerance exactly",
    **{("pgref/exact/solver.py", "return solution[:, 0], solution[:, 1] / (1.0 - slack[1]) * "
        "slack[0], solution[:, 1]", mutation):
        "a second-order term: the bound moves by a relative 2·slack ≈ 1e−14"
       for mutation in ("Sub → Add", "Div → Mult")},
    ("pgref/exact/solver.py", "if largest <= 64 * EPS:", "LtE → Lt"):
        "differs only when the largest ρ is exactly 64ε (both branches bound the data error)",
    **{("pgref/exact/solver.py", line, "LtE → Lt"):
        "a block of exactly blocks[0] columns factorised whole or as one outer block of inner "
        "ones: the same certified solution, rounded differently"
       for line in ("if not blocks or n <= blocks[0]:   # one innermost block",
                    "if not blocks or work.shape[0] <= blocks[0]:   # one innermost block")},
    ("pgref/exact/solver.py",
     "if not blocks or work.shape[0] <= blocks[0]:   # one innermost block", "0 → 1"):
        "the factors are square: shape[1] = shape[0]",
    **{("pgref/exact/solver.py", "return x, (eta + 8.0 * EPS**2) * split + 0.5 * EPS * "
        "np.abs(x) + data, lengths", mutation):
        "the double-double rounding term 8ε² M⁻¹|b| (or −8ε²: the Add → Sub that survives; "
        "the line's other two are killed) is below 1e−18 of the data term 2nδ M⁻¹|b| "
        "(δ ≥ 4ε) that every such bound carries"
       for mutation in ("8.0 → 9.0", "2 → 3", "Add → Sub")},
    **{("pgref/exact/solver.py", "for _ in range(MAX_REFINEMENTS + 1):", mutation):
        "how many refinement rounds are tried: with one more the best round is kept; with one "
        "fewer a case only the last round would certify goes to GTH in double-double, which "
        "certifies the same values to the tolerance"
       for mutation in ("1 → 2", "Add → Sub")},
    ("pgref/exact/solver.py", "if not bound < best[0] / 2:  # NaN, inf, or not halved: no "
     "progress", "Div → Mult"):
        "more rounds of refinement: the round with the smallest bound is kept either way",
    **{("pgref/exact/solver.py", "if bound <= 0.01 * RELATIVE_TOLERANCE * "
        "float(np.max(np.abs(x[0]), initial=0.0)):", mutation):
        "when a certified refinement stops early: each round gains about −log₁₀(ηκ) digits, so "
        "the round that passes 1e−9 passes 1e−11 too (and the best round is kept)"
       for mutation in ("LtE → Lt", "0.01 → 1.01")},
    ("pgref/exact/chain.py", "if gamma == 1.0 and not np.all(system.exits > 0):  # else every "
     "state exits directly", "γ → 1"):
        "with γ < 1 every exit mass is at least 1 − γ > 0, so the graph check is skipped anyway",
    ("pgref/exact/value_differences.py", "rounding = chain.gamma * (sum_rounding(n_states * "
     "n_actions) + (n_actions + 6) * EPS) * (", "Add → Sub"):
        "a margin of a few ε for the rounding of L̂: it moves "
        "the adjoint bound by about ε of itself",
    ("pgref/exact/value_differences.py", "rounding = chain.gamma * (sum_rounding(n_states * "
     "n_actions) + (n_actions + 6) * EPS) * (", "γ → 1"):
        "a margin of a few ε for the rounding of L̂, times γ ≤ 1 or 1: the adjoint bound moves by "
        "about ε of itself",
    **{("pgref/exact/value_differences.py", "eta = doubled_gth.relative_error(n_live) + 8.0 * "
        "EPS**2", mutation):
        "8ε² (the double-double subtraction) beside 128n³ε²: η moves by at most 1/16 of itself, "
        "in a term that is itself a margin"
       for mutation in ("8.0 → 9.0", "2 → 3")},
    ("pgref/exact/value_differences.py", "future = doubled.multiply(total, (np.full(total[0]."
     "shape, gamma), np.zeros(total[0].shape)))", "0 → 1"):
        "the two parts of a pair have one shape",
    ("pgref/exact/solver.py", "return 2.0 * n**3 * EPS < 0.5", "Lt → LtE"):
        "differs only when 2n³ε is exactly 1/2, which no integer n gives",
    ("pgref/exact/solver.py", "np.fill_diagonal(spread, 0.0)", "0.0 → 1.0"):
        "only entries where B > 0 are read, and B's diagonal is 0",
    ("pgref/exact/solver.py",
     "if n and index[-1] - index[0] == n - 1:   # a contiguous block: read p in place", "1 → 2"):
        "index[−2] or size − 2 can only send a contiguous block to the fancy-indexed copy, "
        "which holds the same matrix",
    ("pgref/estimators.py",
     "if lengths.size * int(lengths.max(initial=0)) <= 4 * rewards.size + 65536:", "Add → Sub"):
        "one padded table or one per group of lengths: the same cumulative sums either way "
        "(memory, not results; both paths tested bit for bit)",
    ("pgref/estimators.py",
     "if lengths.size * int(lengths.max(initial=0)) <= 4 * rewards.size + 65536:", "Mult → Div"):
        "one padded table or one per group of lengths: the same cumulative sums either way",
    ("pgref/algorithms/tabular_walk.py", "if stream.position + 1 > len(stream.values):",
     "Gt → GtE"): "refilling the stream one uniform earlier keeps the same sequence of uniforms",
    ("pgref/estimators.py",
     "if lengths.size * int(lengths.max(initial=0)) <= 4 * rewards.size + 65536:", "LtE → Lt"):
        "one padded table or one per group of lengths: the same cumulative sums either way",
    ("pgref/estimators.py", "group = np.where(lengths > 0, 1, 0)            # little padding: "
     "one table for all", "Gt → GtE"):
        "an episode of length 0 in the group adds no row to gather or scatter",
    ("pgref/exact/solver.py", "np.linalg.solve(work, np.zeros((n, 0)))   # factorises it: "
     "refuses a singular block now", "0 → 1"):
        "a right-hand side of one zero column instead of none: LAPACK factorises the block and "
        "refuses a singular one either way; the result is not read",
    ("pgref/exact/solver.py",
     "if in_doubled is not None and np.max(in_doubled[1]) < np.max(errors):", "Lt → LtE"):
        "at equal bounds either answer is certified by the same bound (two bounds of different "
        "formulas, equal only by coincidence)",
    ("pgref/exact/doubled.py", "for order in range(2, 10):                                   "
     "      # e = Σ rⁿ/n!, n = 1 … 9", "10 → 11"):
        "one more Taylor term r¹⁰/10!, below 1e−36 of e^r (|r| ≤ 0.35·2⁻¹⁰): e^x moves far "
        "less than its documented error of 64ε²",
    ("pgref/estimators.py", "if gamma != 1.0:  # γᵗ = 1 at γ = 1: nothing to multiply",
     "1.0 → 2.0"): "γ ≤ 1 (checked): at γ = 1 the branch multiplies by 1.0ᵗ = 1.0 exactly",
    ("pgref/estimators.py", "if discount_weighting and gamma != 1.0:  # γᵗ = 1 at γ = 1: "
     "nothing to multiply", "1.0 → 2.0"):
        "γ ≤ 1 (checked): at γ = 1 the branch multiplies by 1.0ᵗ = 1.0 exactly",
    ("pgref/estimators.py", "for g in np.unique(group[lengths > 0]).tolist():", "Gt → GtE"):
        "a group of length-0 episodes only (g = 0) scatters and gathers nothing",
    ("pgref/estimators.py", "first_steps = np.flatnonzero(np.diff(episode, prepend=-1))  "
     "# each episode's first", "1 → 2"):
        "any negative value before the first episode index marks the chunk's first step",
    ("pgref/lqr/policy.py", "probe = np.vstack([np.eye(n), -2.5 * np.eye(n), "
     "np.linspace(-1.5, 3.0, n)[None, :]])", "2.5 → 3.5"):
        "the probe points are arbitrary: −3.5 I checks homogeneity as −2.5 I does",
    ("pgref/rollout/samplers.py", "columns = [np.concatenate(parts) if len(blocks) > 1 "
     "else parts[0]", "Gt → GtE"):
        "concatenating a single block copies it: the same values",
    **{(module, line, "Lt → LtE"):
        "differs only for a probability equal to the smallest normal float, 2.2e−308, exactly"
       for module, line in (
           ("pgref/exact/gradient.py",
            "lost = (pi < TINY).any(axis=1, keepdims=True) * TINY * spread"),
           ("pgref/exact/value_differences.py",
            "lost = np.any(pi < TINY, axis=1, keepdims=True) * TINY * spread"))},
    **{("pgref/rollout/inverse_cdf.py", "per_outcome = 4 if n_rows * n_outcomes <= GUIDE_LIMIT "
        "else 1", mutation): "only the guide's size changes (still a power of two ≥ n slices): "
        "the same draws, found in a different number of steps"
       for mutation in ("Mult → Div", "4 → 5", "1 → 2", "LtE → Lt")},
    ("pgref/rollout/inverse_cdf.py", "n_slices = 1 << int(np.ceil(np.log2(per_outcome * "
     "n_outcomes)))", "1 → 2"):
        "twice as many guide slices, still a power of two ≥ n: the same draws, found in "
        "fewer search steps",
    ("pgref/lqr/simulate.py", "states = problem.initial_mean + rng.standard_normal((n_episodes, "
     "problem.state_dim)) @ factor.T", "Add → Sub"):
        "s₀ = m − Lξ has the law of m + Lξ (ξ is a centred Gaussian)",
    ("pgref/algorithms/natural.py", "cutoff = (EIGENVALUE_TOLERANCE_FACTOR * fisher.shape[0] * "
     "np.finfo(float).eps", "0 → 1"):
        "F is square: shape[1] = shape[0]",
    ("pgref/exact/solver.py", "if slack[1] >= 0.5:", "GtE → Gt"):
        "differs only when the bound's relative slack is 0.5 exactly",
    ("pgref/lqr/problem.py", "scale = max(1.0, float(np.abs(matrix).max(initial=0.0)))",
     "0.0 → 1.0"):
        "max(1, max(|M|, 1)) = max(1, max |M|)",
    ("pgref/exact/solver.py", "if not np.all(np.isfinite(solution)) or "
     "np.any(solution[:, 1] <= 0):", "LtE → Lt"):
        "a length M⁻¹1 of exactly 0 never comes out of a finite solve (M⁻¹1 ≥ 1/‖M‖_∞ > 0)",
    ("pgref/lqr/problem.py", "n = a.shape[0]", "0 → 1"):
        "A is checked square on the next line, so shape[0] = shape[1] wherever n is used",
    ("pgref/lqr/policy.py", "probe = np.vstack([np.eye(n), -2.5 * np.eye(n), "
     "np.linspace(-1.5, 3.0, n)[None, :]])", "1.5 → 2.5"):
        "the extra probe point is arbitrary: −2.5 … 3 off the axes catches s³ or |s| as "
        "−1.5 … 3 does",
    ("pgref/lqr/policy.py", "probe = np.vstack([np.eye(n), -2.5 * np.eye(n), "
     "np.linspace(-1.5, 3.0, n)[None, :]])", "3.0 → 4.0"):
        "the extra probe point is arbitrary: any point off the axes catches a non-linear map",
    ("pgref/lqr/policy.py", "probe = np.vstack([np.eye(n), -2.5 * np.eye(n), "
     "np.linspace(-1.5, 3.0, n)[None, :]])", "unary minus dropped"):
        "the probe points are arbitrary: the last row (negative entries) still catches |s| or s³",
    ("pgref/lqr/lyapunov.py", "if change <= tolerance * max(1.0, float(np.abs(value).max())):",
     "LtE → Lt"):
        "differs only when the change equals the tolerance exactly (then one more iteration)",
    ("pgref/rollout/samplers.py", "for array in columns[:3]:", "3 → 4"):
        "also freezes the lengths, which Episodes copies read-only anyway: same arrays, flags",
    ("pgref/exact/estimator_moments.py", "optimum = np.where(scored, -cross / "
     "np.where(scored, variance_u, 1.0), 0.0)", "1.0 → 2.0"):
        "the 1.0 only stands in for Var U = 0 to avoid 0/0; those components are set to 0 by "
        "the outer where",
    ("pgref/exact/moments.py", "for power in range(3))", "3 → 4"):
        "adds an unused fourth matrix p·r³: next_expectation is only asked for powers 0, 1, 2",
    ("pgref/exact/moments.py", "n_states = self.P_pi.shape[0]", "0 → 1"):
        "P_π is square (S × S): shape[1] = shape[0]",
    **{("pgref/rollout/samplers.py", "observation = _checked_reset(env.reset(seed=int("
        "rng.integers(2**31 - 1))))", mutation):
        "each reset's seed is still one integer drawn from rng out of billions: other episodes "
        "with the same law, still reproducible from rng alone (what the docstring promises); "
        "equivalent in law, not bit for bit"
       for mutation in ("2 → 3", "1 → 2", "Sub → Add", "31 → 32")},
    ("pgref/policies/mlp.py", "g_error = (2.0 * np.abs(h) + delta_h) * delta_h + 2.0 * EPS * "
     "(h**2 + np.abs(g))", "Mult → Div"):
        "2ε times or over h² + |1 − h²|, which is 1 for |h| ≤ 1 (tanh): the same to rounding",
    ("pgref/policies/mlp.py", "if index > 0:", "Gt → GtE"):
        "one more δ after the first layer, which the loop then never reads (there is no "
        "layer below the features); only wasted work",
    ("pgref/exact/estimator_moments.py", "weight_mean = alpha * returns.first - b  "
     "# E[ω | s, a]", "Sub → Add"):
        "b(s) enters E[X | s] only as Σ_a π(a|s) z(s, a) b(s) = b(s) E[z] = 0 (the baseline "
        "adds no bias), so ± b give the same mean up to rounding",
    **{("pgref/estimators.py", "if lengths.size * int(lengths.max(initial=0)) <= 4 * "
        "rewards.size + 65536:", mutation):
        "one padded table or one per group of lengths: the same cumulative sums either way"
       for mutation in ("4 → 5", "65536 → 65537", "0 → 1")},
    **{("pgref/estimators.py", "group = np.where(lengths > 0, 1, 0)            # little padding: "
        "one table for all", mutation):
        "still one table (label 2 for 1), or length-0 (and length-1) episodes moved to a "
        "group of their own: each row's cumulative sum is the same, a length-0 row adds none"
       for mutation in ("1 → 2", "0 → 1")},
    ("pgref/algorithms/natural.py", "if (n_params != flat.shape[0] or not np.all((flat == 0.0) "
     "| (flat == 1.0))", "0 → 1"):
        "n_params = shape[1] always; the check is redundant anyway: rows each summing to 1 and "
        "columns each summing to 1 (checked next) force as many rows as columns (both = Σ)",
    ("pgref/algorithms/natural.py", "return np.linalg.solve(fisher + damping * "
     "np.eye(fisher.shape[0]), gradient)", "0 → 1"):
        "F is square: shape[1] = shape[0]",
    ("pgref/lqr/problem.py", "return self.A.shape[0]", "0 → 1"):
        "A is checked square (n × n) when the problem is made, and frozen: shape[1] = shape[0]",
    ("pgref/lqr/lyapunov.py", "n = transition.shape[0]", "0 → 1"):
        "F is the closed loop A + BL, square (n × n): shape[1] = shape[0]",
    ("pgref/lqr/bandit.py", "max_steps: int = 1) -> Episodes:", "1 → 2"):
        "max_steps is only checked (≥ 1): no cut ≥ 1 shortens a one-step episode",
    **{("pgref/estimators.py",
        "if gamma == 1.0 and rewards.size < _EPISODES_PER_STEP * lengths.max():", mutation):
        "γ = 1 by the time-step loop Gₜ = Rₜ₊₁ + 1·Gₜ₊₁ or by the running sums over padded rows: "
        "the same numbers in the same order either way (both paths tested bit for bit; only the "
        "sign of a zero G after a last reward of −0.0 can differ, and −0.0 == 0.0)"
       for mutation in ("1.0 → 2.0", "Lt → LtE", "Mult → Div")},
    # the exact solvers' refinement and certificate: constants of order ε² and the policy of
    # when to refine change a bound far below the tolerance it is compared with, or only how
    # many rounds a certified answer takes
    **{("pgref/exact/solver.py",
        "return (8.0 * np.ceil(np.log2(n + 1)) + 40.0) * EPS**2", mutation):
        "a term of order ε² ≈ 5e−32 in a bound compared with 1e−9: seen only by a bound that "
        "lands within 1e−31 (relative) of the tolerance"
       for mutation in ("Add → Sub", "1 → 2", "8.0 → 9.0", "40.0 → 41.0")},
    **{("pgref/exact/solver.py",
        "if not bound < best[0] / 2:  # NaN, inf, or not halved: no progress", mutation):
        "how many refinement rounds run: the best certified answer is kept either way"
       for mutation in ("2 → 3", "Lt → LtE")},
    ("pgref/exact/solver.py", "value = residual[0] + residual[1]", "Add → Sub"):
        "a renormalised pair: |lo| ≤ ½ ulp(hi), so hi − lo rounds to hi as hi + lo does (a tie "
        "rounds to the even hi both ways), except for hi a power of two, where it moves R by one "
        "unit of the binade below, inside the bound's ε|R|",
    ("pgref/exact/solver.py",
     "if n and index[-1] - index[0] == n - 1:   # a contiguous block: read p in place",
     "Sub → Add"):
        "sorted distinct indices have index[−1] ≥ index[0] + n − 1, so index[−1] + index[0] = "
        "n − 1 only for the block 0 … n − 1: the mutant reads fewer blocks in place and copies "
        "the others by fancy indexing, the same matrix",
    ("pgref/exact/solver.py", "return bool(np.max(errors, initial=0.0)", "LtE → Lt"):
        "differs only when the bound equals share · tolerance · ‖x‖ exactly, or for x = 0 with "
        "a bound of 0, which the GTH path then answers with the same 0",
    ("pgref/exact/solver.py", "if not np.all(np.isfinite(solution)) or "
     "np.any(solution[:, 1] <= 0):", "0 → 1"):
        "y = M⁻¹1 = 1 + γP y ≥ 1: only a y of exactly 1 (a state that exits at once) sends the "
        "solve to GTH, which certifies the same values to the tolerance",
    ("pgref/exact/solver.py", "n = off_diagonal.shape[0]", "0 → 1"):
        "B is square: shape[1] = shape[0]",
    ("pgref/exact/solver.py", "n = work.shape[0]", "0 → 1"):
        "the eliminated block is a square view: shape[1] = shape[0]",
    ("pgref/exact/solver.py", "if np.max(refined_errors) < np.max(errors):", "Lt → LtE"):
        "with equal bounds either answer is certified the same",
    ("pgref/exact/certified.py", "longest = float(lengths[order[0]]) if lengths.size else 0.0",
     "0.0 → 1.0"): "no non-terminal state: the size is 0 and the bound 0, so certify returns first",
    ("pgref/exact/chain.py", "if gamma == 1.0 and not np.all(system.exits > 0):  # else every "
     "state exits directly", "0 → 1"):
        "the graph check runs always and finds no stuck state where every state exits directly",
    # the per-step loops: when the lockstep runs are walked, compacted and buffered changes
    # when each run computes, not what (each run's episodes depend on its stream and θ only)
    ("pgref/algorithms/per_step.py", "if n_runs > 1 and learner.softmax is not None:",
     "Gt → GtE"): "one run through the lockstep path: the single-run loop's numbers (tested)",
    ("pgref/algorithms/per_step.py",
     "if n_runs > 1 and learner.softmax is not None and tabular_baseline:", "Gt → GtE"):
        "one run through the lockstep path: the single-run loop's numbers (tested)",
    ("pgref/algorithms/lockstep.py", "self.factor[rows, 0] = 0.0", "0.0 → 1.0"):
        "a finished row's θ and w are never recorded again, and the row is compacted away",
    ("pgref/algorithms/lockstep.py", "moving = t < runs.length", "Lt → LtE"):
        "only finished rows (length 0, t = 0) take one more step, never recorded",
    ("pgref/algorithms/lockstep.py",
     "unfinished = len(runs.ids) - int(np.count_nonzero(runs.finished))", "Sub → Add"):
        "a larger count ends the inner loop sooner (n_waiting follows it): when, not what",
    ("pgref/algorithms/lockstep.py",
     "n_waiting = unfinished - int(np.count_nonzero(moving))", "Sub → Add"):
        "the inner loop ends sooner and waiting runs restart earlier: when, not what",
    ("pgref/algorithms/lockstep.py", "while n_waiting < enough and n_waiting < unfinished:",
     "Lt → LtE"): "one more iteration in which waiting runs take zero steps: when, not what",
    ("pgref/algorithms/lockstep.py", "enough = max(1, int(WAITING_SHARE * len(runs.ids)))",
     "1 → 2"): "how many waiting runs are walked together: when, not what",
    **{("pgref/algorithms/lockstep.py",
        "if np.count_nonzero(runs.finished) * 2 > len(runs.ids):", mutation):
        "when finished rows are compacted away (or never): memory, not results"
       for mutation in ("Mult → Div", "2 → 3")},
    **{("pgref/algorithms/lockstep.py",
        "width = max(int(lengths.max()) + 1, 2 * self.pairs.shape[1])", mutation):
        "the buffer's width: memory; every episode still fits in its length + 1 columns"
       for mutation in ("Mult → Div", "1 → 2", "2 → 3")},
    ("pgref/algorithms/tabular_walk.py",
     "self.position = 0                   # nothing read: the first walk refills", "0 → 1"):
        "the first walk refills before it reads, and a refill starts from position 0",
    ("pgref/algorithms/tabular_walk.py", "G = [0.0] * len(rewards)", "0.0 → 1.0"):
        "every entry is written by the recursion before it is returned",
    **{("pgref/algorithms/tabular_walk.py",
        "if len(u) - i < 2:                          # both uniforms of the step, or refill",
        mutation): "refilling the stream a step earlier keeps the same sequence of uniforms"
       for mutation in ("Lt → LtE", "2 → 3")},
    ("pgref/algorithms/tabular_walk.py",
     "self.certain = np.where(mdp.transitions.max(axis=2) == 1.0,", "1.0 → 2.0"):
        "no move counted certain: each is searched, and the search of a certain row finds its "
        "state",
    ("pgref/algorithms/tabular_walk.py", "mdp.transitions.argmax(axis=2), -1).ravel().tolist()",
     "1 → 2"): "−2 marks an uncertain move as well as −1: the walk tests state < 0",
    ("pgref/algorithms/exact_trace.py", "certified = np.all(np.isfinite(solution), axis=(1, 2)) "
     "& np.all(y >= 1.0 - 1e-9, axis=1)", "GtE → Gt"):
        "differs only when some y equals 1 − 1e−9 exactly",
    **{("pgref/algorithms/exact_trace.py", line, "LtE → Lt"):
        "differs only when κ∞ equals CONDITION_LIMIT exactly"
       for line in ("J[np.flatnonzero(finite)[certified & (condition <= CONDITION_LIMIT)]] = (",
                    "v[certified & (condition <= CONDITION_LIMIT)] @ mdp.initial[acting])")},
    ("pgref/algorithms/learner.py",
     "theta, _ = checked_loop_inputs(problem, policy, theta, 1.0, rng)", "1.0 → 2.0"):
        "a stand-in α for the shared check of θ and rng; α itself is checked by checked_alpha",
    # the decimal enclosures: exponent limits, which corner path, how fast P grows
    **{("pgref/exact/enclosure.py", line, mutation):
        "a decimal exponent limit of 1e±1 000 000 or more: no enclosed number comes near either"
       for line in ("self.down = Context(prec=digits, rounding=ROUND_FLOOR, Emin=-10**6, "
                    "Emax=10**6)",
                    "self.up = Context(prec=digits, rounding=ROUND_CEILING, Emin=-10**6, "
                    "Emax=10**6)",
                    "self.near = Context(prec=digits + 10, Emin=-10**6, Emax=10**6)")
       for mutation in ("10 → 11", "6 → 7")},
    **{("pgref/exact/enclosure.py", "widening = Decimal(10) ** (-digits - 9)           # > ½ "
        "ulp at P + 10 digits, relatively", mutation):
        "any widening > 0 encloses: a correctly rounded e^x at P + 10 digits has no P-digit "
        "number between it and e^x, so rounding r(1 ± w) outward to P digits passes e^x"
       for mutation in ("9 → 10", "10 → 11")},
    ("pgref/exact/enclosure.py", "digits *= 2", "2 → 3"):
        "how fast P grows after a pivot's lower bound reached 0: the same rule accepts the answer",
    ("pgref/exact/enclosure.py", "self.tanh_widening = Decimal(10) ** (-digits - 8)", "8 → 9"):
        "a widening of 10 units of the (P + 10)th digit still covers tanh's error of at most 3",
    ("pgref/exact/enclosure.py", "return value if t >= 0 else value.copy_negate()", "GtE → Gt"):
        "tanh(0) = 0: negating it changes nothing",
    **{("pgref/exact/enclosure.py", "if a[0] >= 0 and b[0] >= 0:", mutation):
        "the four-corner product is an enclosure for every sign: the shortcut saves work only"
       for mutation in ("0 → 1", "GtE → Gt")},
    ("pgref/exact/enclosure.py", "lo, hi = interval if sign > 0 else (interval[1].copy_negate(), "
     "interval[0].copy_negate())", "0 → 1"):
        "an expected reward's interval is about 10⁻ᴾ wide: an end read twice moves the float64 "
        "midpoints by far less than their rounding",
    ("pgref/exact/enclosure.py", "for sign in (1, -1):", "1 → 2"):
        "_positive_part reads only the sign of its sign: 2 takes the positive part as 1 does",
    # the decimal enclosures' rows, divisions and growth of P, and the double-double pairs' shapes
    **{("pgref/exact/enclosure.py", line, "Gt → GtE"):
        "row k of B holds no entry (k, k): the chain skips a self-loop, which cancels in M's row"
       for line in ("pivot = arithmetic.add(arithmetic.total(v for j, v in upper[k].items() "
                    "if j > k),",
                    "for j, value in upper[k].items() if j > k)")},
    **{("pgref/exact/enclosure.py", line, "GtE → Gt"):
        "a zero numerator gives 0 over either end of b"
       for line in ("self.up.divide(a[1], b[0] if a[1] >= 0 else b[1]))",
                    "return (self.down.divide(a[0], b[1] if a[0] >= 0 else b[0]),")},
    **{("pgref/exact/enclosure.py", line, mutation):
        "how many digits P grows by (at least 10 either way): the same rule accepts the answer"
       for line, mutation in (
           ("short = math.ceil(up.divide(widest, scale).log10()) + 10 if scale > 0 else digits",
            "0 → 1"),
           ("short = math.ceil(up.divide(widest, scale).log10()) + 10 if scale > 0 else digits",
            "10 → 11"),
           ("short = math.ceil(up.divide(widest, scale).log10()) + 10 if scale > 0 else digits",
            "Add → Sub"),
           ("digits += max(10, short + 2)", "Add → Sub"),
           ("digits += max(10, short + 2)", "10 → 11"),
           ("digits += max(10, short + 2)", "2 → 3"))},
    ("pgref/exact/enclosure.py", "lo, hi = interval if sign > 0 else (interval[1].copy_negate(), "
     "interval[0].copy_negate())", "Gt → GtE"):
        "the sign is +1 or −1 (``for sign in (1, -1)``), never 0",
    ("pgref/exact/gradient.py", "if size == 0.0 and np.isfinite(bound) and bound > 0.0:",
     "Gt → GtE"):
        "(a guard, mutated with --include-guards) a bound of exactly 0 (every score 0) refused "
        "here is answered by the decimal enclosure, which holds the exact 0 as [0, 0]",
    ("pgref/exact/enclosure.py", "if index > 0:", "Gt → GtE"):
        "at the first layer the mutant also takes δ back to the inputs, which no parameter "
        "reads: more work, the same enclosures",
    **{("pgref/exact/value_differences.py", "positive, negative = r_hi > 0, r_hi < 0", mutation):
        "a zero reward (hi = lo = 0 in a renormalised pair) adds 0 (or −0.0, equal to it) to "
        "either column of the split"
       for mutation in ("Gt → GtE", "Lt → LtE")},
    **{("pgref/exact/doubled_gth.py", line, "0 → 1"):
        "the shape of either part of a double-double pair: both have the same"
       for line in ("n = remaining[0].size", "n = x[0].shape[0]")},
    **{("pgref/exact/doubled_chain.py", line, "0 → 1"):
        "the shape of either part of a double-double pair: both have the same"
       for line in ("gaps = doubled.add(preferences, _pair(-np.broadcast_to(top, "
                    "preferences[0].shape)))",
                    "off_diagonal = doubled.multiply(moved, _pair(np.full(moved[0].shape, "
                    "gamma)))",
                    "exit_per_action = doubled.add(doubled.two_sum(np.ones(to_terminal[0].shape), "
                    "-gamma),",
                    "doubled.multiply(_pair(np.full(to_terminal[0].shape, gamma)),")},
}
"""(module, the mutated line stripped, the mutation) → why the mutant cannot change behaviour."""

SWAPS = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.Pow: ast.Mult, ast.FloorDiv: ast.Mult, ast.MatMult: None,
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
}


def _only_raises(body: list[ast.stmt]) -> bool:
    return all(isinstance(statement, ast.Raise) for statement in body)


def _excluded_lines(tree: ast.Module, include_guards: bool = False) -> set[int]:
    """Lines of docstrings, raise/assert statements, f-strings and (unless told) input guards."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise | ast.JoinedStr | ast.Assert):
            lines.update(range(node.lineno, node.end_lineno + 1))
        if (not include_guards and isinstance(node, ast.If) and _only_raises(node.body)
                and not node.orelse):
            lines.update(range(node.test.lineno, node.test.end_lineno + 1))
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


def mutants(source: str, include_guards: bool = False) -> list[tuple[int, int, str]]:
    """(node index in ast.walk order, line, description) of every mutation of formula lines."""
    tree = ast.parse(source)
    allowed = _in_functions(tree) - _excluded_lines(tree, include_guards)
    unknown_sizes = _reshape_unknowns(tree)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        line = getattr(node, "lineno", None)
        if line not in allowed or id(node) in unknown_sizes:
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
        elif _is_gamma(node):
            found.append((index, line, "γ → 1"))
    return found


def _reshape_unknowns(tree: ast.Module) -> set[int]:
    """The 1 of each ``reshape(…, -1, …)``: NumPy reads every negative size as "unknown", so
    −1 → −2 cannot change anything."""
    unknown = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "reshape"):
            for argument in node.args:
                if isinstance(argument, ast.UnaryOp) and isinstance(argument.op, ast.USub):
                    unknown.add(id(argument.operand))
    return unknown


def _is_gamma(node: ast.AST) -> bool:
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
    return name == "gamma" and isinstance(getattr(node, "ctx", None), ast.Load)


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
        elif _is_gamma(node):
            node.__class__, node.value, node.kind = ast.Constant, 1.0, None
        break
    return ast.unparse(tree)


def run_tests(workdir: Path, tests: list[str], timeout: float | None) -> str:
    """'killed', 'survived' or 'timeout' for the tests run in ``workdir``."""
    environment = {**os.environ, "HYPOTHESIS_PROFILE": "dev", "PYTHONDONTWRITEBYTECODE": "1",
                   "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=workdir, env=environment, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if result.returncode == 0 else "killed"


def _selected(spec: str, include_guards: bool) -> list[tuple[str, int, int, str]]:
    """The mutants of ``MODULE``, ``MODULE:LINE`` or ``MODULE:LINE:NODE`` (as survivors print)."""
    module, *where = spec.split(":")
    if module not in TARGETS:
        raise SystemExit(f"{module} is not a formula module of TARGETS; add it with its tests")
    found = [(module, *mutant) for mutant in
             mutants((ROOT / module).read_text(), include_guards)]
    if where:
        found = [mutant for mutant in found if mutant[2] == int(where[0])]
    if len(where) > 1:
        found = [mutant for mutant in found if mutant[1] == int(where[1])]
    return found


def _key(module: str, line: int, description: str) -> tuple[str, str, str]:
    return module, (ROOT / module).read_text().splitlines()[line - 1].strip(), description


def _logged(path: Path) -> dict[tuple[str, int], str]:
    """(module, node) → outcome, for the mutants a ``--log`` file already names."""
    if not path.exists():
        return {}
    outcomes = {}
    for row in path.read_text().splitlines():
        module, index, _line, _description, outcome = row.split("\t")
        outcomes[module, int(index)] = outcome
    return outcomes


def _count(module: str, index: int, line: int, description: str, outcome: str,
           counts: dict[str, int], survivors: list[str], equivalent: list[str]) -> None:
    """Add one outcome to the score; a survivor listed in EQUIVALENT is reported apart."""
    key = _key(module, line, description)
    # a key names every node of its type on the line: a killed one is not equivalent
    if key in EQUIVALENT and outcome == "survived":
        equivalent.append(f"{module}:{line}:{index}  {description}  ({outcome}; "
                          f"{EQUIVALENT[key]})")
    else:
        counts[outcome] += 1
        if outcome == "survived":
            survivors.append(f"{module}:{line}:{index}  {description}  | {key[1]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=list(TARGETS))
    parser.add_argument("--sample", type=int, default=0, help="mutants drawn at random (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=0.0,
                        help="seconds per mutant (0: 4 × the unmutated run, at least 30)")
    parser.add_argument("--include-guards", action="store_true",
                        help="also mutate the conditions of input guards")
    parser.add_argument("--list", action="store_true", help="count the mutants and stop")
    parser.add_argument("--exclude", action="append", default=[], metavar="MODULE",
                        help="leave this module out (of the MODULE arguments or of TARGETS); "
                             "repeat for more")
    parser.add_argument("--log", type=Path, action="append", default=[], metavar="FILE",
                        help="append each outcome to the first --log file; the mutants any "
                             "of them names are not rerun; repeat for more files")
    parser.add_argument("--summary", action="store_true",
                        help="run nothing: the score of the mutants the --log files name")
    arguments = parser.parse_args(argv)
    unknown = set(arguments.exclude) - set(TARGETS)
    if unknown:
        raise SystemExit(f"--exclude: {' '.join(sorted(unknown))} not in TARGETS")
    candidates = [mutant for spec in arguments.modules if spec.split(":")[0]
                  not in arguments.exclude
                  for mutant in _selected(spec, arguments.include_guards)]
    if arguments.list:
        for module in dict.fromkeys(mutant[0] for mutant in candidates):
            print(f"{sum(m[0] == module for m in candidates):5d}  {module}")
        print(f"{len(candidates):5d}  in all")
        return 0
    if arguments.sample:
        candidates = random.Random(arguments.seed).sample(
            candidates, min(arguments.sample, len(candidates)))
    started, counts = time.time(), {"killed": 0, "survived": 0, "timeout": 0}
    survivors, equivalent = [], []
    logged = {key: outcome for path in arguments.log for key, outcome in _logged(path).items()}
    for module, index, line, description in candidates:
        if (module, index) in logged:
            _count(module, index, line, description, logged[module, index], counts, survivors,
                   equivalent)
    candidates = [] if arguments.summary else [
        mutant for mutant in candidates if mutant[:2] not in logged]
    print(f"{len(logged)} mutants logged, {len(candidates)} to run", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch) / "repo"
        shutil.copytree(ROOT, workdir, ignore=shutil.ignore_patterns(
            ".venv", ".git", "figures", "notebooks_src", "__pycache__", ".hypothesis"))
        timeouts = {}
        for tests in dict.fromkeys(tuple(TARGETS[m[0]]) for m in candidates):
            begun = time.time()
            if run_tests(workdir, list(tests), None) != "survived":
                raise SystemExit(f"the unmutated tests fail: {' '.join(tests)}")
            timeouts[tests] = arguments.timeout or max(30.0, 4 * (time.time() - begun))
        for number, (module, index, line, description) in enumerate(candidates, 1):
            original = (ROOT / module).read_text()
            (workdir / module).write_text(mutate(original, index))
            try:
                outcome = run_tests(workdir, TARGETS[module], timeouts[tuple(TARGETS[module])])
            finally:
                (workdir / module).write_text(original)
            _count(module, index, line, description, outcome, counts, survivors, equivalent)
            if arguments.log:
                with arguments.log[0].open("a") as log:
                    print(module, index, line, description, outcome, sep="\t", file=log)
            print(f"[{number}/{len(candidates)}] {module}:{line} {description}: {outcome}",
                  file=sys.stderr, flush=True)
    total = sum(counts.values())
    killed = counts["killed"] + counts["timeout"]
    print(f"{killed}/{total} non-equivalent mutants killed ({100 * killed / max(total, 1):.1f} %),"
          f" {counts['timeout']} by timeout; {len(equivalent)} equivalent; "
          f"in {time.time() - started:.0f} s")
    for line in equivalent:
        print("equivalent:", line)
    for survivor in survivors:
        print("survived:", survivor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
