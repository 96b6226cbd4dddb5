r"""The exact policy gradient theorem against finite differences and against two bare solves.

``python -m pgref bench exact`` (or ``pgref.benchmarks.run("exact")``). For each number of states
S it times, in the same run, :func:`pgref.exact.policy_gradient` — two certified linear solves
sharing one block factorisation of I − γP_NN, and the score table — against

- :func:`pgref.numerics.central_difference` of :func:`pgref.exact.objective` over all θ
  components, which needs 2·dim θ solves (the first table), and
- two bare ``np.linalg.solve`` calls of the same size, (I − P_NN) v = r and its transpose,
  which factorise the matrix twice (the second table): the ratio weighs the theorem's single
  factorisation against the price of building I − γP_NN from p, of q, of the certificate and of
  the scores. It also times the accurate path (:func:`pgref.exact.solver.solve` with
  ``accurate=True``: GTH elimination, and from about 60 states on its refinement in
  double-double with the a-posteriori bound), which the solver takes only when the fast path's
  error bound is too large (near-deterministic policies with γ = 1).

All face the same random episodic MDP and the same softmax-linear policy.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from pgref import envs, exact
from pgref.exact import solver
from pgref.exact.chain import chain
from pgref.numerics import central_difference
from pgref.policies import SoftmaxLinearPolicy

__all__ = ["run"]

N_ACTIONS = 4
N_FEATURES = 8
SIZES = (100, 250, 500, 1000, 2000, 3000)
QUICK_SIZES = (10, 30)
ACCURATE_PATH_SIZES = (100, 250, 500, 1000)
"""The accurate path is O(S³) in S NumPy rank-1 updates: timed up to S = 1000 only."""
REPEATS = 3
BUDGET_SECONDS = 2.0
PAIR_REPEATS = (5, 11)
"""Rounds of the theorem against the two bare solves: at least 5, at most 11."""
PAIR_BUDGET_SECONDS = 6.0
"""After the first 5 rounds, no further round once the pair has spent this much."""


def _best_times(*functions, repeats: tuple[int, int] = (1, REPEATS),
                budget: float = BUDGET_SECONDS) -> tuple[list[float], list, np.ndarray]:
    """The shortest CPU time (``time.process_time``) of each function over the rounds, its last
    result, and every round's times (rounds × functions).

    Each round calls every function once, in turn, so that a busy machine slows them alike; odd
    rounds call them in reverse order, so that none always runs in the caches the other left.
    Rounds stop after ``repeats[1]``, or after ``repeats[0]`` once ``budget`` seconds have been
    spent.
    """
    fewest, most = repeats
    results, rounds, spent = [None] * len(functions), [], 0.0
    for round_index in range(most):
        times = [np.inf] * len(functions)
        order = range(len(functions)) if round_index % 2 == 0 else reversed(range(len(functions)))
        for index in order:
            start = time.process_time()
            results[index] = functions[index]()
            times[index] = time.process_time() - start
            spent += times[index]
        rounds.append(times)
        if round_index + 1 >= fewest and spent > budget:
            break
    rounds = np.array(rounds)
    return list(rounds.min(axis=0)), results, rounds


def _problem(n_states: int, rng: np.random.Generator):
    problem = envs.random_mdp(rng, n_states, N_ACTIONS, gamma=1.0, n_terminal=1,
                              termination_prob=0.02, n_features=N_FEATURES)
    policy = SoftmaxLinearPolicy(problem.features)
    return problem.mdp, policy, rng.standard_normal(policy.n_params)


class Row(NamedTuple):
    """One size S: best CPU seconds of each method, the gap, and the per-round ratios."""

    theorem: float
    differences: float       # NaN when not asked for
    solves: float
    accurate: float          # NaN when not asked for
    gap: float               # max|∇J_theorem − ∇J_FD| / max|∇J_theorem|, NaN without FD
    ratio_low: float         # the smallest theorem / solves ratio of one round
    ratio_high: float        # the largest
    rounds: int


def _row(n_states: int, rng: np.random.Generator, *, differences: bool = True,
         accurate: bool = False) -> Row:
    """The times of (theorem, finite differences, two bare solves, accurate path) and the
    relative gap between theorem and finite differences, for one random MDP of size S.

    The theorem and the two bare solves alternate for PAIR_REPEATS rounds; finite differences
    and the accurate path are timed afterwards, in rounds of their own (REPEATS, BUDGET_SECONDS),
    so that their seconds-long runs do not cut the pair's rounds short.
    """
    mdp, policy, theta = _problem(n_states, rng)
    pi = policy.action_probs(theta)
    system = chain(mdp, pi, mdp.gamma, "the values").system
    matrix, ones = system.matrix, np.ones(system.index.size)

    def accurate_path():  # a new system each time: the factors are kept on it
        fresh = chain(mdp, pi, mdp.gamma, "the values").system
        return solver.solve(fresh, -ones, accurate=True)

    def theorem():
        return exact.policy_gradient(mdp, policy, theta)

    def bare_solves():
        return np.linalg.solve(matrix, ones), np.linalg.solve(matrix.T, ones)

    (theorem_time, solves_time), results, rounds = _best_times(
        theorem, bare_solves, repeats=PAIR_REPEATS, budget=PAIR_BUDGET_SECONDS)
    ratios = rounds[:, 0] / rounds[:, 1]
    others = []
    if differences:
        others.append(lambda: central_difference(
            lambda t: exact.objective(mdp, policy, t), theta, step=1e-5, order=2))
    if accurate:
        others.append(accurate_path)
    times, other_results, _ = _best_times(*others) if others else ([], [], None)
    differences_time = times[0] if differences else np.nan
    accurate_time = times[-1] if accurate else np.nan
    gap = (np.max(np.abs(results[0] - other_results[0])) / np.max(np.abs(results[0]))
           if differences else np.nan)
    return Row(theorem_time, differences_time, solves_time, accurate_time, gap,
               float(ratios.min()), float(ratios.max()), len(ratios))


def run(quick: bool = False) -> list[str]:
    r"""Time the exact gradient against finite differences and two bare solves; the tables.

    Parameters
    ----------
    quick : bool, default False
        Tiny sizes (S = 10, 30): a smoke run of a second or so. The full run goes up to
        S = 3000 and takes a few minutes on two cores.

    Returns
    -------
    lines : list of str
        A description of the set-up, then two Markdown tables. The first: S, the theorem's
        time, the time of one pass of finite differences (2·dim θ evaluations of 𝒥), their
        ratio, and max|∇J_theorem − ∇J_FD| / max|∇J_theorem|. The second: S, the theorem's
        time, the time of two ``np.linalg.solve`` calls of the same size, their ratio (the goal
        is ≤ 1.2 for S ≥ 1000), and the time of the accurate path (GTH elimination with three
        right-hand sides, S ≤ 1000). Then one line: the range of theorem / solves over the
        single rounds, a measure of the machine's noise.

        Each time is a best CPU time. The theorem and the two bare solves alternate, in rounds
        of their own (at least 5, at most 11, no more after 5 once they have spent 6 s; odd
        rounds run the solves first); finite differences and the accurate path follow, best of
        3 (fewer once they have spent 2 s). The pair has rounds of its own so that the
        seconds-long finite differences do not cut it to a single, noisy round above S = 500.

    Notes
    -----
    The policy gradient theorem (lecture: "Policy Gradient Theorem"; blog: "Policy gradient
    from the lens of Bellman") needs v_π and n — two O(S³) solves — whatever dim θ is; central
    differences need 2·dim θ evaluations of 𝒥, each one O(S³) solve. The ratio therefore tends
    to about dim θ as the solves dominate. dim θ is kept at 8 (a softmax-linear policy on 8
    random features) so that finite differences stay affordable at S in the thousands; with
    tabular features dim θ = S·A and the ratio would grow with S.

    Against two bare solves the theorem factorises once where they factorise twice (block
    elimination without pivoting, which the M-matrix I − γP_NN allows: its factors solve both
    M v = r and Mᵀ n = p₀), and adds O(S²A) work: two passes over p (S·A·S numbers, 32 MB at
    S = 1000: one builds I − γP_NN, the other q = r + γ p v), the residuals of the certificate
    (M times a two-column block, twice), the second right-hand side 1 of each solve (the
    certificate's ‖M⁻¹‖), and the score table. Its ratio therefore falls below 1 as S
    grows. The passes are limited by memory bandwidth, the solves by arithmetic, so the ratio is
    worse on a machine whose memory other processes share. The accurate path is S NumPy
    rank-1 updates, O(S³) without blocking, and O(S²) double-double work per round of
    refinement: many times a LAPACK solve, paid only where the fast path cannot be certified.

    Times on a busy machine are noisy, multi-threaded BLAS most of all; for steadier numbers run
    ``OPENBLAS_NUM_THREADS=1 python -m pgref bench exact``.
    """
    sizes = QUICK_SIZES if quick else SIZES
    accurate_sizes = QUICK_SIZES if quick else ACCURATE_PATH_SIZES
    rng = np.random.default_rng(0)
    _row(QUICK_SIZES[0], np.random.default_rng(1))  # warm-up: imports, BLAS threads
    rows = {n: _row(n, rng, accurate=n in accurate_sizes) for n in sizes}
    lines = [
        "Exact ∇𝒥: policy gradient theorem (2 certified solves, 1 factorisation) vs central finite "
        f"differences of 𝒥 (2·dim θ = {2 * N_FEATURES} solves) and vs 2 bare np.linalg.solve",
        f"random episodic MDPs (γ = 1, A = {N_ACTIONS}, one terminal state, exit probability "
        f"≥ 0.02 per step); softmax-linear policy on J = {N_FEATURES} random features "
        f"(dim θ = {N_FEATURES}); CPU times: theorem and bare solves best of "
        f"{PAIR_REPEATS[0]}–{PAIR_REPEATS[1]} alternating rounds, finite differences and GTH "
        f"best of {REPEATS} (fewer once they have spent {BUDGET_SECONDS:g} s)",
        "",
        "| S | theorem [s] | finite differences [s] | FD / theorem | relative gap |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n_states, row in rows.items():
        lines.append(
            f"| {n_states} | {row.theorem:.4f} | {row.differences:.4f} | "
            f"{row.differences / row.theorem:.1f} | {row.gap:.1e} |"
        )
    lines += [
        "",
        "| S | theorem [s] | 2 × np.linalg.solve [s] | theorem / solves | accurate path "
        "(GTH) [s] |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n_states, row in rows.items():
        accurate = "—" if np.isnan(row.accurate) else f"{row.accurate:.3g}"
        lines.append(
            f"| {n_states} | {row.theorem:.3g} | {row.solves:.3g} | "
            f"{row.theorem / row.solves:.2f} | {accurate} |"
        )
    lines += [
        "",
        "theorem / solves within single rounds (min–max over the rounds): " + ", ".join(
            f"S = {n_states}: {row.ratio_low:.2f}–{row.ratio_high:.2f} ({row.rounds} rounds)"
            for n_states, row in rows.items()),
    ]
    return lines
