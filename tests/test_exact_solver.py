"""Tests of pgref.exact.solver: the two paths, their error bounds, the policy table's error.

Routes: exact rational arithmetic (``fractions``) for the solutions of small systems, Decimal for
the softmax, and LAPACK against GTH elimination where both are accurate.
"""

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from helpers import drifting_corridor

from pgref import TabularMDP, envs, exact
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


@pytest.mark.parametrize("blocks", [(), (1,), (3,), (3, 2), (5, 2, 1), (192, 48)])
@pytest.mark.parametrize("transpose", [False, True])
def test_block_elimination_solves_both_systems_with_one_factorisation(blocks, transpose):
    """M = L D U by blocks of 1 and 3 (several blocks, a short last one), with the diagonal
    blocks factorised by blocks of their own (3 then 2; 5 then 2 then 1), and as one block:
    the same factors solve M x = b and Mᵀ y = c, against exact rational solves."""
    system = _system(1, n_states=9)
    n = system.index.size
    work = solver.block_factor(system.matrix, blocks)
    columns = np.random.default_rng(len(blocks)).standard_normal((n, 2))
    solution = solver.block_solve(work, columns, transpose, blocks)
    for column, x in zip(columns.T, solution.T, strict=True):
        np.testing.assert_allclose(x, _exact_solution(system, column, transpose), rtol=1e-12)


def test_a_singular_block_is_refused_and_the_solve_falls_back_to_gth(monkeypatch):
    """π(right|s = 0) = 1e−17 in the corridor: eliminating state 0 alone leaves the Schur
    complement 1 − (1 − 1e−17) = 0 in float64, which block_factor refuses (LinAlgError); the
    solver then takes GTH elimination and is still exact."""
    corridor = envs.short_corridor()
    system = chain(corridor.mdp, np.tile([1e-17, 1.0 - 1e-17], (4, 1)), 1.0, "v").system
    factor = solver.block_factor
    with pytest.raises(np.linalg.LinAlgError):
        factor(system.matrix, (1,))
    monkeypatch.setattr(solver, "block_factor", lambda matrix: factor(matrix, (1,)))
    assert system.factors() is None
    solution = solver.solve(system, -np.ones(3))
    assert solution.accurate_path
    np.testing.assert_allclose(solution.x, _exact_solution(system, -np.ones(3), False),
                               rtol=1e-13)


def test_values_and_visits_share_one_factorisation(monkeypatch):
    """policy_gradient solves M v = r and Mᵀ n = p₀ with a single block_factor call; two
    solves on the accurate path share a single GTH elimination."""
    problem = envs.random_mdp(np.random.default_rng(2), 6, 3, gamma=0.9, n_terminal=1)
    policy = SoftmaxLinearPolicy(problem.features)
    calls = []
    factor = solver.block_factor
    monkeypatch.setattr(solver, "block_factor", lambda matrix: calls.append(1) or factor(matrix))
    exact.policy_gradient(problem.mdp, policy, np.zeros(policy.n_params))
    assert len(calls) == 1
    corridor = envs.short_corridor()   # and on the accurate path: one GTH elimination
    system = chain(corridor.mdp, np.tile([1e-17, 1.0 - 1e-17], (4, 1)), 1.0, "v").system
    gth_calls = []
    gth = solver.gth_factor
    monkeypatch.setattr(solver, "gth_factor", lambda system: gth_calls.append(1) or gth(system))
    assert solver.solve(system, -np.ones(3)).accurate_path
    assert solver.solve(system, np.array([1.0, 0.0, 0.0]), transpose=True).accurate_path
    assert len(gth_calls) == 1


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


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_terminal_states_anywhere_give_the_same_system_as_terminal_states_last(gamma):
    """M is read from p in place when the non-terminal states form one block, gathered when they
    do not: with the states permuted so that the two terminal states sit inside the order, every
    part of the system is the original's, permuted alike, and so are v_π and ∇𝒥."""
    problem = envs.random_mdp(np.random.default_rng(3), 7, 3, gamma=gamma, n_terminal=2)
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(4).standard_normal(policy.n_params)
    order = np.array([0, 5, 1, 2, 6, 3, 4])  # new state i is old state order[i]
    moved = TabularMDP(mdp.transitions[order][:, :, order], mdp.rewards[order],
                       mdp.initial[order], gamma=gamma, terminal=mdp.terminal[order])
    moved_policy = SoftmaxLinearPolicy(problem.features[order])
    assert not np.all(np.diff(np.flatnonzero(~moved.terminal)) == 1)  # not one block
    system = chain(mdp, policy.action_probs(theta), gamma, "the values").system
    moved_system = chain(moved, moved_policy.action_probs(theta), gamma, "the values").system
    np.testing.assert_array_equal(system.index, np.arange(5))  # terminal states last: one block
    rank = np.argsort(order)[system.index]  # old non-terminal state → its new index
    position = np.searchsorted(moved_system.index, rank)
    np.testing.assert_allclose(moved_system.matrix[np.ix_(position, position)], system.matrix,
                               rtol=1e-14, atol=0)
    for name in ("exits", "diagonal", "column_sums", "row_error", "column_error"):
        np.testing.assert_allclose(getattr(moved_system, name)[position],
                                   getattr(system, name), rtol=1e-14, atol=0, err_msg=name)
    np.testing.assert_allclose(exact.state_values(moved, moved_policy.action_probs(theta)),
                               exact.state_values(mdp, policy.action_probs(theta))[order],
                               rtol=1e-12)
    np.testing.assert_allclose(exact.policy_gradient(moved, moved_policy, theta),
                               exact.policy_gradient(mdp, policy, theta), rtol=1e-10)


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
    assert solver.sum_rounding(3) == pytest.approx(4 * eps, abs=0)
    assert solver.sum_rounding(10_000) == pytest.approx((8 * 100 + 2) * eps, abs=0)
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


# -- the error bounds, written out term by term from the docstrings ------------------------------

EPS = float(np.finfo(float).eps)


def _sum_rounding(n):
    return min(n + 1.0, 8.0 * math.sqrt(n) + 2.0) * EPS


def _bound_terms(mdp, pi, gamma):
    """B, e, D, ρ and the error bounds of ChainSystem, by loops over states and actions."""
    index = [s for s in range(mdp.n_states) if not mdp.terminal[s]]
    n, n_actions = len(index), mdp.n_actions
    p = mdp.transitions
    exits_of = [sum(pi[s, a] * ((1 - gamma) + gamma * p[s, a, mdp.terminal].sum())
                    for a in range(n_actions)) for s in index]
    B = np.array([[0.0 if s == z else gamma * sum(pi[s, a] * p[s, a, z] for a in range(n_actions))
                   for z in index] for s in index])
    e = np.array(exits_of)
    D = B.sum(axis=1) + e
    rho = np.array([[4 * EPS * (1 - math.log(pi[s, a])) if pi[s, a] > 0 else 4 * EPS
                     for a in range(n_actions)] for s in index])
    entry_error = (n_actions + 2) * EPS
    diagonal_error = np.array([(1 + gamma) * sum(rho[i, a] * pi[s, a] for a in range(n_actions))
                               + (_sum_rounding(n) + entry_error) * D[i]
                               for i, s in enumerate(index)])
    column_sums = B.sum(axis=0)
    column_error = (rho.max() + entry_error) * column_sums + diagonal_error
    if rho.max() <= 64 * EPS:
        data_error = rho.max() + _sum_rounding(n) + entry_error
    else:
        ratios = [gamma * sum(rho[i, a] * pi[s, a] * p[s, a, z] for a in range(n_actions))
                  / B[i, j] for i, s in enumerate(index) for j, z in enumerate(index)
                  if B[i, j] > 0]
        ratios += [sum(rho[i, a] * pi[s, a] * ((1 - gamma) + gamma * p[s, a, mdp.terminal].sum())
                       for a in range(n_actions)) / e[i] for i, s in enumerate(index) if e[i] > 0]
        data_error = max(ratios) + _sum_rounding(n) + entry_error
    return dict(largest_rho=rho.max(), off_diagonal=B, exits=e, diagonal=D,
                row_error=2 * diagonal_error, column_sums=column_sums,
                column_error=column_error, data_error=data_error,
                norms=(max(2 * D - e), max(D + column_sums)))


def _bound_case(case):
    """(mdp, π, γ): random with max ρ below 64ε; random with some π < 1e−7 (ρ above 64ε); a
    hand chain whose exit is the rare action, so the exit ratio is the largest data error (with
    ρ = 96ε, and with ρ = 64.5ε just above the threshold of the exact contraction; and at
    γ = 1 − 1e−9 with ρ = 68ε, where the discounted part (1 − γ) of the exit, carried by the
    common action, moves that ratio by 6e−4 of itself); one with a state that never exits
    itself; one whose ‖M‖_∞ is below 1; and ρ = 64.5ε on moves both actions share, so that
    every entry's data error is a π-weighted mean of the ρ's (about 4ε), far below max ρ."""
    if case == "ρ just above 64ε, shared moves":
        transitions = np.zeros((3, 2, 3))
        transitions[0, :, 1] = transitions[1, :, 0] = 0.5    # either action: cross or end
        transitions[0, :, 2] = transitions[1, :, 2] = 0.5
        transitions[2, :, 2] = 1.0
        rewards = np.array([[-1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
        mdp = TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0]),
                         terminal=np.array([False, False, True]))
        return mdp, np.array([[1.0 - 2.7e-7, 2.7e-7], [0.5, 0.5], [0.5, 0.5]]), 1.0
    if case in ("tiny exit", "ρ just above 64ε", "tiny exit, γ < 1"):
        transitions = np.zeros((3, 2, 3))
        transitions[0, 0, 1] = transitions[1, 0, 0] = 1.0    # between the two live states
        transitions[0, 1, 2] = transitions[1, 1, 2] = transitions[2, :, 2] = 1.0  # to the end
        rewards = np.array([[-1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
        mdp = TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0]),
                         terminal=np.array([False, False, True]))
        rare = {"tiny exit": 1e-10, "ρ just above 64ε": 2.7e-7}.get(case, 1e-7)  # ρ = 96ε, 64.5ε
        gamma = 1.0 - 1e-9 if case == "tiny exit, γ < 1" else 1.0   # (and 68ε: see the docstring)
        return mdp, np.array([[1.0 - rare, rare], [0.5, 0.5], [0.5, 0.5]]), gamma
    if case == "zero exit":  # state 0 never ends an episode itself; state 1 rarely does
        transitions = np.zeros((4, 2, 4))
        transitions[0, 0, 1] = transitions[0, 1, 2] = 1.0
        transitions[1, 0, 0] = transitions[2, 0, 0] = 1.0
        transitions[1, 1, 3] = transitions[2, 1, 3] = transitions[3, :, 3] = 1.0
        rewards = np.array([[-1.0, -1.0], [-1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
        mdp = TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0, 0.0]),
                         terminal=np.array([False, False, False, True]))
        return mdp, np.array([[0.5, 0.5], [1.0 - 1e-8, 1e-8], [0.5, 0.5], [0.5, 0.5]]), 1.0
    if case == "self loops":  # stay 0.8, cross 0.1, end 0.1: ‖M‖_∞ = 2D − e = 0.3 < 1
        transitions = np.zeros((3, 2, 3))
        transitions[0, :] = [0.8, 0.1, 0.1]
        transitions[1, :] = [0.1, 0.8, 0.1]
        transitions[2, :, 2] = 1.0
        rewards = np.array([[-1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
        mdp = TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0]),
                         terminal=np.array([False, False, True]))
        return mdp, np.full((3, 2), 0.5), 1.0
    problem = envs.random_mdp(np.random.default_rng(4), 5, 3, gamma=0.95, n_terminal=1)
    scale = 1.0 if case == "random" else 12.0
    theta = scale * np.random.default_rng(5).standard_normal(problem.features.shape[2])
    return problem.mdp, SoftmaxLinearPolicy(problem.features).action_probs(theta), 0.95


def _fast_bound(system, terms, rhs, transpose, rhs_error):
    """The fast path's x̂ (block elimination) and its entrywise errors by the documented formula:
    t̂(s)/(1 − ρ_t) · (‖R‖ + sum_rounding(n + 1)(‖M‖‖x̂‖ + ‖b‖) + ‖δM‖‖x̂‖ + ‖δb‖), with
    t̂ = M⁻¹1 and ρ_t the same slack for t̂."""
    solution, slack = _fast_slack(system, terms, rhs, transpose, rhs_error)
    return solution[:, 0], solution[:, 1] / (1 - slack[1]) * slack[0]


def _fast_slack(system, terms, rhs, transpose, rhs_error):
    """The fast path's [x̂, t̂] (n, 2) and the slack of each column by the documented formula:
    ‖R‖ + sum_rounding(n + 1)(‖M‖‖x̂‖ + ‖b‖) + ‖δM‖‖x̂‖ (+ ‖δb‖ for x̂)."""
    n = system.index.size
    matrix = system.matrix.T if transpose else system.matrix
    columns = np.column_stack([rhs, np.ones(n)])
    solution = solver.block_solve(solver.block_factor(system.matrix), columns, transpose)
    residual = np.abs(columns - matrix @ solution).max(axis=0)
    sizes = np.abs(solution).max(axis=0)
    norm = terms["norms"][1] if transpose else terms["norms"][0]
    errors = terms["column_error"] if transpose else terms["row_error"]
    slack = (residual + _sum_rounding(n + 1) * (norm * sizes + np.abs(columns).max(axis=0))
             + errors.max() * sizes)
    slack[0] += rhs_error
    return solution, slack


@pytest.mark.parametrize("scale", [1.0, 1e-12])
def test_a_fast_bound_above_a_tenth_of_the_tolerance_goes_to_gth(scale):
    """The 18-state corridor drifting from its exit (π(right) = 0.4, γ = 1): the fast path's
    bound, by its formula, is 0.55 of 1e−9 ‖x‖ — it would pass the certificate, but the fast
    answer is kept only below a tenth of it — so GTH elimination answers, within a tenth. The
    tenth is of ‖x‖ itself, also where every value is far below 1 (rewards of −1e−12)."""
    n = 18
    mdp, pi = drifting_corridor(n, gamma=1.0, p_right=0.4)
    system = chain(mdp, pi, 1.0, "the values").system
    rhs = -scale * np.ones(n)
    x, errors = _fast_bound(system, _bound_terms(mdp, pi, 1.0), rhs, False, 0.0)
    assert 0.5e-9 * np.abs(x).max() < errors.max() < 0.6e-9 * np.abs(x).max()
    assert np.abs(x).max() < 1.0 or scale == 1.0
    result = solver.solve(system, rhs)
    assert result.accurate_path and result.bound <= 1e-10 * np.abs(result.x).max()


def test_a_fast_path_whose_t_slack_exceeds_one_goes_to_gth():
    """The fast bound divides by 1 − ρ_t, ρ_t the relative slack of t̂ = M⁻¹1, and is given up
    where ρ_t ≥ 1/2. The 68-state corridor drifting from its exit at π(right) = 0.399 (γ = 1)
    has ρ_t ≈ 1.26 by the formula: 1/(1 − ρ_t) < 0 would make every error bound negative and
    pass any certificate. GTH answers, and agrees with the exact solution in fractions."""
    n = 68
    mdp, pi = drifting_corridor(n, gamma=1.0, p_right=0.399)
    system = chain(mdp, pi, 1.0, "the values").system
    _, slack = _fast_slack(system, _bound_terms(mdp, pi, 1.0), -np.ones(n), False, 0.0)
    assert 1.1 < slack[1] < 1.4
    result = solver.solve(system, -np.ones(n))
    assert result.accurate_path and 0 < result.bound <= 1e-10 * np.abs(result.x).max()
    exact_values = _exact_solution(system, -np.ones(n), False)
    assert np.max(np.abs(result.x - exact_values)) <= result.bound


@pytest.mark.parametrize("case", ["random", "random, π < 1e-7", "tiny exit", "ρ just above 64ε",
                                  "ρ just above 64ε, shared moves", "tiny exit, γ < 1",
                                  "zero exit", "self loops"])
@pytest.mark.parametrize("transpose", [False, True])
def test_each_error_bound_is_its_documented_formula(case, transpose):
    """ChainSystem's parts, its row and column errors, the data error, ‖M‖, and the bounds of
    both paths of solve, against the formulas of their docstrings written out by loops."""
    mdp, pi, gamma = _bound_case(case)
    system = chain(mdp, pi, gamma, "the values").system
    terms = _bound_terms(mdp, pi, gamma)
    assert bool(terms["largest_rho"] > 64 * EPS) is (case != "random" and case != "self loops")
    if case.startswith("ρ just above 64ε"):
        assert terms["largest_rho"] <= 65 * EPS
    np.testing.assert_allclose(system.off_diagonal(), terms["off_diagonal"], rtol=1e-14)
    for name in ("exits", "diagonal", "row_error", "column_sums", "column_error"):
        np.testing.assert_allclose(getattr(system, name), terms[name], rtol=1e-12, err_msg=name)
    assert system.data_error() == pytest.approx(terms["data_error"], rel=1e-12, abs=0)
    assert system.norm(False) == pytest.approx(terms["norms"][0], rel=1e-14, abs=0)
    assert system.norm(True) == pytest.approx(terms["norms"][1], rel=1e-14, abs=0)

    n = system.index.size
    rhs = np.random.default_rng(6).standard_normal(n)
    rhs_error = 1e-15
    fast = solver.solve(system, rhs, transpose, rhs_error)
    assert not fast.accurate_path
    x, errors = _fast_bound(system, terms, rhs, transpose, rhs_error)
    np.testing.assert_array_equal(fast.x, x)
    assert fast.bound == pytest.approx(errors.max(), rel=1e-9, abs=0)
    np.testing.assert_allclose(fast.errors, errors, rtol=1e-9)

    accurate = solver.solve(system, rhs, transpose, rhs_error, accurate=True)
    assert accurate.accurate_path
    split = [_exact_solution(system, part, transpose)
             for part in (np.maximum(rhs, 0), np.maximum(-rhs, 0), np.ones(n))]
    expected = ((2 * n**3 * EPS + 2 * n * terms["data_error"]) * (split[0] + split[1])
                + rhs_error * split[2])                      # entry by entry
    np.testing.assert_allclose(accurate.errors, expected, rtol=1e-9)
    assert accurate.bound == pytest.approx(np.max(expected), rel=1e-9, abs=0)
    np.testing.assert_allclose(accurate.x, split[0] - split[1], rtol=1e-12)


def test_sum_rounding_is_exactly_its_formula():
    """min(n + 1, 8√n + 2) ε, compared exactly (its values are far below pytest.approx's
    default absolute tolerance, so relative equality is asked for)."""
    assert solver.sum_rounding(3) == 4 * EPS
    assert solver.sum_rounding(100) == 82 * EPS  # 8·10 + 2 < 101
    assert solver.sum_rounding(10_000) == 802 * EPS


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_a_certificate_is_relative_to_the_answer_at_every_scale(scale):
    """certify and certify_array accept a bound up to RELATIVE_TOLERANCE·‖x̂‖_∞ and refuse one
    just above it, whatever the unit of x̂: an answer of size 1e−6 is not held to an absolute
    1e−10 (its docstrings' rule; a certificate measured against max(1, ‖x̂‖) would pass a 1e−6
    answer with every digit wrong)."""
    from pgref.exact import certified

    mdp, pi = drifting_corridor(3, 0.9)
    solved = chain(mdp, pi, mdp.gamma, "the values")
    x = scale * np.array([-0.5, 2.0, -1.0])
    limit = certified.RELATIVE_TOLERANCE * 2.0 * scale
    for bound in (limit, 0.99 * limit):
        certified.certify(solved, solver.Solution(x, bound, np.ones(3), False, np.full(3, bound)),
                          "the values")
        certified.certify_array("q", x, bound)
    with pytest.raises(exact.PrecisionError, match="cannot be certified"):
        certified.certify(solved, solver.Solution(x, 1.01 * limit, np.ones(3), False,
                                                  np.full(3, limit)), "the values")
    with pytest.raises(exact.PrecisionError, match="cannot be certified"):
        certified.certify_array("q", x, 1.01 * limit)


def test_a_pivot_that_underflows_to_zero_gives_an_infinite_bound():
    """GTH on two live states where the only way out of state 1 passes a product of 1e−200
    and 1e−200 (state 1 → 0 → exit): its pivot underflows to 0, and solve answers with the
    bound ∞ its docstring promises (then refused by the certificate), not NaN from a division
    by that pivot."""
    transitions = np.zeros((3, 1, 3))
    transitions[0, 0, 1], transitions[0, 0, 2] = 1.0, 1e-200
    transitions[1, 0, 0], transitions[1, 0, 1] = 1e-200, 1.0
    transitions[2, 0, 2] = 1.0
    mdp = TabularMDP(transitions, np.array([[-1.0], [-1.0], [0.0]]), [1.0, 0.0, 0.0],
                     gamma=1.0, terminal=np.arange(3) == 2)
    system = chain(mdp, np.ones((3, 1)), 1.0, "the values").system
    assert system.gth_factors()[1][1] == 0.0
    result = solver.solve(system, -np.ones(2), accurate=True)
    assert result.bound == np.inf and np.all(result.x == np.inf)
