r"""The exact policy gradient theorem against finite differences and against two bare solves.

``python -m pgref bench exact`` (or ``pgref.benchmarks.run("exact")``). For each number of states
S it times, in the same run, :func:`pgref.exact.policy_gradient` — two certified linear solves and
the score table — against

- :func:`pgref.numerics.central_difference` of :func:`pgref.exact.objective` over all θ
  components, which needs 2·dim θ solves (the first table), and
- two bare ``np.linalg.solve`` calls of the same size, (I − P_NN) v = r and its transpose: the
  floor any exact gradient pays, so the ratio is the price of the certificate, P_π, q and the
  scores (the second table). It also times the accurate path (GTH elimination,
  :func:`pgref.exact.solver.gth_factor`), which the solver takes only when the fast path's error
  bound is too large (near-deterministic policies with γ = 1).

All face the same random episodic MDP and the same softmax-linear policy.
"""

from __future__ import annotations

import time

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


def _best_times(*functions) -> tuple[list[float], list]:
    """The shortest CPU time (``time.process_time``) of each function over up to REPEATS rounds,
    and its last result.

    Each round calls every function once, in turn, so that a busy machine slows them alike;
    the rounds stop once BUDGET_SECONDS have been spent.
    """
    best, results, spent = [np.inf] * len(functions), [None] * len(functions), 0.0
    for _ in range(REPEATS):
        for index, function in enumerate(functions):
            start = time.process_time()
            results[index] = function()
            elapsed = time.process_time() - start
            best[index], spent = min(best[index], elapsed), spent + elapsed
        if spent > BUDGET_SECONDS:
            break
    return best, results


def _problem(n_states: int, rng: np.random.Generator):
    problem = envs.random_mdp(rng, n_states, N_ACTIONS, gamma=1.0, n_terminal=1,
                              termination_prob=0.02, n_features=N_FEATURES)
    policy = SoftmaxLinearPolicy(problem.features)
    return problem.mdp, policy, rng.standard_normal(policy.n_params)


def _row(n_states: int, rng: np.random.Generator, *, differences: bool = True,
         accurate: bool = False) -> tuple[float, float, float, float, float]:
    """Seconds of (theorem, finite differences, two bare solves, accurate path) and the
    relative gap between theorem and finite differences, for one random MDP of size S.

    Finite differences and the accurate path are NaN when not asked for.
    """
    mdp, policy, theta = _problem(n_states, rng)
    system = chain(mdp, policy.action_probs(theta), mdp.gamma, "the values").system
    matrix, ones = system.matrix, np.ones(system.index.size)

    def accurate_path():
        work, pivots = solver.gth_factor(system)
        return solver.gth_solve(work, pivots, np.column_stack([ones, ones, ones]), False)

    functions = [lambda: exact.policy_gradient(mdp, policy, theta),
                 lambda: (np.linalg.solve(matrix, ones), np.linalg.solve(matrix.T, ones))]
    if differences:
        functions.append(lambda: central_difference(
            lambda t: exact.objective(mdp, policy, t), theta, step=1e-5, order=2))
    if accurate:
        functions.append(accurate_path)
    times, results = _best_times(*functions)
    theorem_time, solves_time = times[:2]
    differences_time = times[2] if differences else np.nan
    accurate_time = times[-1] if accurate else np.nan
    gap = (np.max(np.abs(results[0] - results[2])) / np.max(np.abs(results[0]))
           if differences else np.nan)
    return theorem_time, differences_time, solves_time, accurate_time, gap


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
        right-hand sides, S ≤ 1000). Each time is the best CPU time of 3 runs that alternate between
        the methods, or of fewer once a row has spent 2 s.

    Notes
    -----
    The policy gradient theorem (lecture: "Policy Gradient Theorem"; blog: "Policy gradient
    from the lens of Bellman") needs v_π and n — two O(S³) solves — whatever dim θ is; central
    differences need 2·dim θ evaluations of 𝒥, each one O(S³) solve. The ratio therefore tends
    to about dim θ as the solves dominate. dim θ is kept at 8 (a softmax-linear policy on 8
    random features) so that finite differences stay affordable at S in the thousands; with
    tabular features dim θ = S·A and the ratio would grow with S.

    Against two bare solves the theorem adds O(S²A) work (P_π, q, the residuals of the
    certificate, two extra right-hand sides), so its ratio tends to 1 as S grows. The
    accurate path is S NumPy rank-1 updates, O(S³) without blocking: several times a LAPACK
    solve, paid only where LAPACK cannot be certified.

    Times on a busy machine are noisy, multi-threaded BLAS most of all; for steadier numbers run
    ``OPENBLAS_NUM_THREADS=1 python -m pgref bench exact``.
    """
    sizes = QUICK_SIZES if quick else SIZES
    accurate_sizes = QUICK_SIZES if quick else ACCURATE_PATH_SIZES
    rng = np.random.default_rng(0)
    _row(QUICK_SIZES[0], np.random.default_rng(1))  # warm-up: imports, BLAS threads
    rows = {n: _row(n, rng, accurate=n in accurate_sizes) for n in sizes}
    lines = [
        "Exact ∇𝒥: policy gradient theorem (2 certified linear solves) vs central finite "
        f"differences of 𝒥 (2·dim θ = {2 * N_FEATURES} solves) and vs 2 bare np.linalg.solve",
        f"random episodic MDPs (γ = 1, A = {N_ACTIONS}, one terminal state, exit probability "
        f"≥ 0.02 per step); softmax-linear policy on J = {N_FEATURES} random features "
        f"(dim θ = {N_FEATURES}); times: best of {REPEATS} alternating runs (fewer once a "
        f"row has spent {BUDGET_SECONDS:g} s)",
        "",
        "| S | theorem [s] | finite differences [s] | FD / theorem | relative gap |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n_states, (theorem_time, differences_time, _, _, gap) in rows.items():
        lines.append(
            f"| {n_states} | {theorem_time:.4f} | {differences_time:.4f} | "
            f"{differences_time / theorem_time:.1f} | {gap:.1e} |"
        )
    lines += [
        "",
        "| S | theorem [s] | 2 × np.linalg.solve [s] | theorem / solves | accurate path "
        "(GTH) [s] |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n_states, (theorem_time, _, solves_time, accurate_time, _) in rows.items():
        accurate = "—" if np.isnan(accurate_time) else f"{accurate_time:.3g}"
        lines.append(
            f"| {n_states} | {theorem_time:.3g} | {solves_time:.3g} | "
            f"{theorem_time / solves_time:.2f} | {accurate} |"
        )
    return lines
