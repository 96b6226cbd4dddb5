r"""The exact policy gradient theorem against central finite differences of J, as S grows.

``python -m pgref bench exact`` (or ``pgref.benchmarks.run("exact")``). For each number of states
S it times, in the same run, :func:`pgref.exact.policy_gradient` — two linear solves and the score
table — and :func:`pgref.numerics.central_difference` of :func:`pgref.exact.objective` over all
θ components, which needs 2·dim θ solves. Both face the same random episodic MDP and the same
softmax-linear policy; the table prints the two times, their ratio, and how far the two gradients
are apart.
"""

from __future__ import annotations

import time

import numpy as np

from pgref import envs, exact
from pgref.numerics import central_difference
from pgref.policies import SoftmaxLinearPolicy

__all__ = ["run"]

N_ACTIONS = 4
N_FEATURES = 8
SIZES = (100, 250, 500, 1000, 2000, 3000)
QUICK_SIZES = (10, 30)
REPEATS = 3
BUDGET_SECONDS = 2.0


def _best_times(*functions) -> tuple[list[float], list]:
    """The shortest wall time of each function over up to REPEATS rounds, and its last result.

    Each round calls every function once, in turn, so that a busy machine slows them alike;
    the rounds stop once BUDGET_SECONDS have been spent.
    """
    best, results, spent = [np.inf] * len(functions), [None] * len(functions), 0.0
    for _ in range(REPEATS):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            results[index] = function()
            elapsed = time.perf_counter() - start
            best[index], spent = min(best[index], elapsed), spent + elapsed
        if spent > BUDGET_SECONDS:
            break
    return best, results


def _row(n_states: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """(theorem seconds, finite-difference seconds, relative gap) for one random MDP of size S."""
    problem = envs.random_mdp(rng, n_states, N_ACTIONS, gamma=1.0, n_terminal=1,
                              termination_prob=0.02, n_features=N_FEATURES)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = rng.standard_normal(policy.n_params)
    (theorem_time, differences_time), (theorem, differences) = _best_times(
        lambda: exact.policy_gradient(problem.mdp, policy, theta),
        lambda: central_difference(lambda t: exact.objective(problem.mdp, policy, t), theta,
                                   step=1e-5, order=2),
    )
    gap = np.max(np.abs(theorem - differences)) / np.max(np.abs(theorem))
    return theorem_time, differences_time, gap


def run(quick: bool = False) -> list[str]:
    r"""Time the exact gradient and finite differences for growing S; return the table's lines.

    Parameters
    ----------
    quick : bool, default False
        Tiny sizes (S = 10, 30): a smoke run of a second or so. The full run goes up to
        S = 3000 and takes about a minute on two cores.

    Returns
    -------
    lines : list of str
        A description of the set-up, then a Markdown table: S, the theorem's time, the time of
        one pass of finite differences (2·dim θ evaluations of J), their ratio, and
        max|∇J_theorem − ∇J_FD| / max|∇J_theorem|. Each time is the best of 3 runs that
        alternate between the two methods, or of fewer once a row has spent 2 s.

    Notes
    -----
    The policy gradient theorem (lecture: "Policy Gradient Theorem"; blog: "Policy gradient
    from the lens of Bellman") needs v_π and n — two O(S³) solves — whatever dim θ is; central
    differences need 2·dim θ evaluations of J, each one O(S³) solve. The ratio therefore tends
    to about dim θ as the solves dominate. dim θ is kept at 8 (a softmax-linear policy on 8
    random features) so that finite differences stay affordable at S in the thousands; with
    tabular features dim θ = S·A and the ratio would grow with S.

    Times on a busy machine are noisy, multi-threaded BLAS most of all; for steadier numbers run
    ``OPENBLAS_NUM_THREADS=1 python -m pgref bench exact``.
    """
    sizes = QUICK_SIZES if quick else SIZES
    rng = np.random.default_rng(0)
    _row(QUICK_SIZES[0], np.random.default_rng(1))  # warm-up: imports, BLAS threads
    lines = [
        "Exact ∇J: policy gradient theorem (2 linear solves) vs central finite differences of "
        f"J (2·dim θ = {2 * N_FEATURES} solves)",
        f"random episodic MDPs (γ = 1, A = {N_ACTIONS}, one terminal state, exit probability "
        f"≥ 0.02 per step); softmax-linear policy on J = {N_FEATURES} random features "
        f"(dim θ = {N_FEATURES}); times: best of {REPEATS} alternating runs (fewer once a "
        f"row has spent {BUDGET_SECONDS:g} s)",
        "",
        "| S | theorem [s] | finite differences [s] | FD / theorem | relative gap |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n_states in sizes:
        theorem_time, differences_time, gap = _row(n_states, rng)
        lines.append(
            f"| {n_states} | {theorem_time:.4f} | {differences_time:.4f} | "
            f"{differences_time / theorem_time:.1f} | {gap:.1e} |"
        )
    return lines
