"""Tests of pgref.exact.solver: the two paths, their error bounds, the policy table's error.

Routes: exact rational arithmetic (``fractions``) for the solutions of small systems, Decimal for
the softmax, and LAPACK against GTH elimination where both are accurate.
"""

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest

from pgref import envs, exact
from pgref.exact import solver
from pgref.exact.chain import chain
from pgref.policies import SoftmaxLinearPolicy
from pgref.policies.discrete import log_softmax


def _system(seed, n_states=6, gamma=0.9, n_terminal=1):
    problem = envs.random_mdp(np.random.default_rng(seed), n_states, 3, gamma=gamma,
                              n_terminal=n_terminal)
    pi = SoftmaxLinearPolicy(problem.features).action_probs(
        np.random.default_rng(seed + 1).standard_normal(problem.features.shape[2]))
    return chain(problem.mdp, pi, gamma, "the values").system


def _exact_solution(system, rhs, transpose):
    """M x = b in Fractions, M = D − B rebuilt from the float parts B and e (exact data).

    D(s) = Σ B(s, ·) + e(s) exactly: the float diagonal of ``system.matrix`` rounds a tiny e away.
    """
    off_diagonal = [[Fraction(float(v)) for v in row] for row in system.off_diagonal()]
    matrix = [[-v for v in row] for row in off_diagonal]
    for i, row in enumerate(off_diagonal):
        matrix[i][i] = sum(row) + Fraction(float(system.exits[i]))
    if transpose:
        matrix = [list(col) for col in zip(*matrix, strict=True)]
    n = len(matrix)
    a = [[*row, Fraction(float(rhs[i]))] for i, row in enumerate(matrix)]
    for k in range(n):
        pivot = next(i for i in range(k, n) if a[i][k] != 0)
        a[k], a[pivot] = a[pivot], a[k]
        for i in range(k + 1, n):
            factor = a[i][k] / a[k][k]
            a[i] = [x - factor * y for x, y in zip(a[i], a[k], strict=True)]
    x = [Fraction(0)] * n
    for k in reversed(range(n)):
        x[k] = (a[k][n] - sum(a[k][j] * x[j] for j in range(k + 1, n))) / a[k][k]
    return np.array([float(v) for v in x])


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_both_paths_solve_the_system_within_their_bounds(seed, transpose):
    system = _system(seed)
    rhs = np.random.default_rng(seed).standard_normal(system.index.size)
    reference = _exact_solution(system, rhs, transpose)
    fast = solver.solve(system, rhs, transpose)
    assert not fast.accurate_path
    assert np.max(np.abs(fast.x - reference)) <= fast.bound
    assert fast.bound <= 1e-12 * np.max(np.abs(reference))
    work, pivots = solver.gth_factor(system)
    for column in (np.maximum(rhs, 0), np.maximum(-rhs, 0), np.ones_like(rhs)):
        accurate = solver.gth_solve(work, pivots, column[:, None], transpose)[:, 0]
        np.testing.assert_allclose(accurate, _exact_solution(system, column, transpose),
                                   rtol=1e-13, atol=0)
    np.testing.assert_allclose(fast.lengths, _exact_solution(system, np.ones_like(rhs),
                                                             transpose), rtol=1e-12)


def test_the_accurate_path_is_taken_only_where_lapack_cannot_be_certified():
    corridor = envs.short_corridor()
    policy = SoftmaxLinearPolicy(corridor.features)
    for t, accurate in ((0.3, False), (20.0, True)):
        pi = policy.action_probs(np.array([t, -t]))
        system = chain(corridor.mdp, pi, 1.0, "the values").system
        rhs = -np.ones(3)
        solution = solver.solve(system, rhs)
        assert solution.accurate_path is accurate
        reference = _exact_solution(system, rhs, False)
        np.testing.assert_allclose(solution.x, reference, rtol=1e-13)
        assert solution.bound <= 1e-9 * np.max(np.abs(solution.x))


def test_the_exit_mass_is_read_from_pi_and_p_not_as_one_minus_a_sum():
    """π(right|s) = 1e−17: 1 − Σ would give 0; e(2) = 1e−17 exactly (right from state 2 ends)."""
    corridor = envs.short_corridor()
    pi = np.tile([1e-17, 1.0 - 1e-17], (4, 1))
    system = chain(corridor.mdp, pi, 1.0, "the values").system
    np.testing.assert_array_equal(system.exits, [0.0, 0.0, 1e-17])
    np.testing.assert_allclose(system.diagonal, [1e-17, 1.0, 1.0], rtol=1e-15)


def test_policy_table_error_bound_holds_for_logits_up_to_1e3():
    rng = np.random.default_rng(0)
    logits = rng.uniform(-1e3, 1e3, size=(20, 4))
    pi = np.exp(log_softmax(logits))
    rho = solver.policy_relative_error(pi)
    with localcontext() as context:
        context.prec = 60  # significant digits: Decimal's exponent range holds e^{−2000}
        for row, probabilities, bounds in zip(logits, pi, rho, strict=True):
            weights = [Decimal(float(z)).exp() for z in row]
            total = sum(weights)
            for w, p, bound in zip(weights, probabilities, bounds, strict=True):
                exact_p = w / total
                if exact_p < Decimal("1e-300"):
                    continue
                assert abs(Decimal(float(p)) - exact_p) <= Decimal(float(bound)) * exact_p


def test_sum_rounding_is_the_worst_case_for_small_n_and_probabilistic_for_large_n():
    eps = np.finfo(float).eps
    assert solver.sum_rounding(3) == pytest.approx(4 * eps)
    assert solver.sum_rounding(10_000) == pytest.approx((8 * 100 + 2) * eps)
    # the probabilistic bound holds on random sums and products: 200 of 10⁴ terms of mixed
    # sign, against math.fsum (correctly rounded: its own error is half an ulp of the sum)
    rng = np.random.default_rng(0)
    for x, y in zip(rng.standard_normal((200, 10_000)), rng.standard_normal((200, 10_000)),
                    strict=True):
        bound = solver.sum_rounding(x.size) * np.abs(x * y).sum()
        assert abs(x.sum() - math.fsum(x)) <= solver.sum_rounding(x.size) * np.abs(x).sum()
        assert abs(x @ y - math.fsum(x * y)) <= bound + abs(math.fsum(x * y)) * eps


def test_precision_error_is_a_value_error_and_names_states():
    corridor = envs.short_corridor()
    policy = SoftmaxLinearPolicy(corridor.features)
    with pytest.raises(ValueError, match=r"from state s = \d") as caught:
        exact.policy_gradient(corridor.mdp, policy, np.array([372.0, -372.0]))
    assert isinstance(caught.value, exact.PrecisionError)
    assert set(caught.value.states) <= {0, 1, 2} and caught.value.states
