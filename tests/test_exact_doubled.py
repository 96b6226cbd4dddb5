"""Double-double arithmetic and the accurate path's refinement, against exact rationals.

Routes: ``fractions.Fraction`` for every error-free transformation and for the residual
b − M x; a manufactured solution (chosen first, its right-hand side computed exactly) for a
200-state chain whose episodes last 2⁴⁰ ≈ 1.1e12 steps.
"""

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from helpers import drifting_corridor

from pgref import TabularMDP, envs, exact
from pgref.exact import doubled, doubled_chain, doubled_gth, solver
from pgref.exact.chain import chain
from pgref.policies import SoftmaxLinearPolicy

EPS = float(np.finfo(float).eps)


def _numbers(seed, size=2000):
    """Floats of mixed signs over 40 decimal orders of magnitude."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(size) * 10.0 ** rng.uniform(-20, 20, size)


def _exact(pair):
    return [Fraction(float(h)) + Fraction(float(lo)) for h, lo in zip(*pair, strict=True)]


def test_two_sum_and_two_product_are_error_free():
    a, b = _numbers(0), _numbers(1)
    s, t = doubled.two_sum(a, b)
    p, e = doubled.two_product(a, b)
    hi, lo = doubled.split(a)
    for i in range(a.size):
        x, y = Fraction(float(a[i])), Fraction(float(b[i]))
        assert Fraction(float(s[i])) + Fraction(float(t[i])) == x + y
        assert s[i] == a[i] + b[i]
        assert Fraction(float(p[i])) + Fraction(float(e[i])) == x * y
        assert Fraction(float(hi[i])) + Fraction(float(lo[i])) == x
        assert math.frexp(float(hi[i]))[0] * 2**26 == int(math.frexp(float(hi[i]))[0] * 2**26)


def test_add_multiply_and_total_are_within_their_documented_bounds():
    """add: 4ε²(|x| + |y|); multiply: 6ε²|x y|; total: 4ε²⌈log₂ m⌉ Σ|terms| (odd counts
    included), on pairs (hi, lo) with lo a rounding error of hi."""
    x = doubled.two_product(_numbers(2), _numbers(3))
    y = doubled.two_product(_numbers(4), _numbers(5))
    cancel = np.arange(y[0].size) % 3 == 0   # there y = −x + (a part of x's lo): cancellation
    y = (np.where(cancel, -x[0], y[0]), np.where(cancel, -0.5 * x[1], y[1]))
    exact_x, exact_y = _exact(x), _exact(y)
    total, product = _exact(doubled.add(x, y)), _exact(doubled.multiply(x, y))
    for i in range(len(exact_x)):
        a, b = exact_x[i], exact_y[i]
        assert abs(total[i] - (a + b)) <= 4 * Fraction(EPS) ** 2 * (abs(a) + abs(b))
        assert abs(product[i] - a * b) <= 6 * Fraction(EPS) ** 2 * abs(a * b)
    for result in (doubled.add(x, y), doubled.multiply(x, y)):   # renormalised: |lo| ≤ ulp/2
        assert np.all(np.abs(result[1]) <= EPS / 2 * np.abs(result[0]))
    assert doubled.negate(x)[0][0] == -x[0][0] and doubled.negate(x)[1][0] == -x[1][0]
    for m in (1, 2, 7, 1000):
        terms = doubled.two_product(_numbers(6, 3 * m).reshape(3, m),
                                    _numbers(7, 3 * m).reshape(3, m))
        for axis, rows in ((1, range(3)), (0, range(m))):
            hi, lo = doubled.total(terms, axis)
            pairs = np.moveaxis(terms[0], axis, 0), np.moveaxis(terms[1], axis, 0)
            for row in rows:
                exact_terms = [Fraction(float(h)) + Fraction(float(e))
                               for h, e in zip(pairs[0][:, row], pairs[1][:, row], strict=True)]
                error = Fraction(float(hi[row])) + Fraction(float(lo[row])) - sum(exact_terms)
                size = sum(abs(t) for t in exact_terms)
                rounds = max(1, math.ceil(math.log2(pairs[0].shape[0])))
                assert abs(error) <= 4 * Fraction(EPS) ** 2 * rounds * size
    empty = doubled.total((np.zeros((0, 2)), np.zeros((0, 2))), axis=0)
    np.testing.assert_array_equal(empty[0], [0.0, 0.0])


# -- the residual and the refinement -----------------------------------------------------------


def _permutation_chain(n, exit_probability, seed=0):
    """n live states and a terminal one; action 0 moves by one of 8 random permutations (each
    with probability 1/8: a doubly stochastic Q), action 1 ends the episode;
    π = (1 − q, q) everywhere, so that B = (1 − q) Q off the diagonal and e = q, exactly."""
    rng = np.random.default_rng(seed)
    transitions = np.zeros((n + 1, 2, n + 1))
    for _ in range(8):
        transitions[np.arange(n), 0, rng.permutation(n)] += 0.125
    transitions[:n, 1, n] = 1.0
    transitions[n, :, n] = 1.0
    terminal = np.arange(n + 1) == n
    pi = np.tile([1.0 - exit_probability, exit_probability], (n + 1, 1))
    mdp = TabularMDP(transitions, np.full((n + 1, 2), -1.0) * ~terminal[:, None],
                     np.full(n + 1, 1.0 / n) * ~terminal, terminal=terminal)
    return mdp, pi


def _exact_product(system, x, transpose):
    """M x (or Mᵀ x) in Fractions, M = diag(Σ B + e) − B from the float parts (exact data)."""
    off_diagonal, exits = system.off_diagonal(), system.exits
    n = exits.size
    x = [Fraction(v) if isinstance(v, Fraction) else Fraction(float(v)) for v in x]
    result = []
    for s in range(n):
        row = [(j, Fraction(float(off_diagonal[s, j]))) for j in np.flatnonzero(off_diagonal[s])]
        column = [(i, Fraction(float(off_diagonal[i, s]))) for i in np.flatnonzero(
            off_diagonal[:, s])]
        diagonal = sum(b for _, b in row) + Fraction(float(exits[s]))
        coupled = column if transpose else row
        result.append(diagonal * x[s] - sum(b * x[j] for j, b in coupled))
    return result


@pytest.mark.parametrize("transpose", [False, True])
def test_the_structured_residual_is_within_its_bound(transpose):
    """b − M x for a double-double x on a chain with exit 2⁻⁴⁰: float64 would lose every digit
    (M x ≈ b to 1e−12 of |D x|); the double-double residual is within its documented bound of
    the exact one, and the bound is far below |R|."""
    mdp, pi = _permutation_chain(30, 2.0**-40)
    system = chain(mdp, pi, 1.0, "v").system
    rng = np.random.default_rng(1)
    x = doubled.two_product(rng.uniform(1e11, 2e11, 30), np.full(30, 1.0 + 2.0**-30))
    rhs = rng.uniform(0.5, 1.0, 30)
    residual, bound = solver.structured_residual(system, x, rhs, transpose)
    exact_x = [Fraction(float(h)) + Fraction(float(lo)) for h, lo in zip(*x, strict=True)]
    truth = [Fraction(float(b)) - m for b, m in zip(rhs, _exact_product(system, exact_x,
                                                                        transpose), strict=True)]
    for s in range(30):
        assert abs(Fraction(float(residual[s])) - truth[s]) <= Fraction(float(bound[s]))
    assert np.all(bound <= 1e-12 * np.abs(residual))
    # the bound, written out: ε|R| + (8⌈log₂(n + 1)⌉ + 40)ε² (|b| + D|x| + B|x|) + 8n·tiny
    off_diagonal = system.off_diagonal()
    absolute = np.abs(x[0])
    coupled = absolute @ off_diagonal if transpose else off_diagonal @ absolute
    size = np.abs(rhs) + (off_diagonal.sum(axis=1) + system.exits) * absolute + coupled
    expected = (EPS * np.abs(residual) + (8 * math.ceil(math.log2(31)) + 40) * EPS**2 * size
                + 8 * 30 * np.finfo(float).tiny)
    np.testing.assert_allclose(bound, expected, rtol=1e-12)
    # at the exact solution R = 0: the bound is its ε² term alone, and holds
    solution, rhs = _manufactured(system, transpose, seed=5)
    residual, bound = solver.structured_residual(system, (solution, np.zeros(30)), rhs, transpose)
    coupled = solution @ off_diagonal if transpose else off_diagonal @ solution
    size = np.abs(rhs) + (off_diagonal.sum(axis=1) + system.exits) * solution + coupled
    expected = ((8 * math.ceil(math.log2(31)) + 40) * EPS**2 * size + EPS * np.abs(residual)
                + 8 * 30 * np.finfo(float).tiny)
    np.testing.assert_allclose(bound, expected, rtol=1e-12)
    assert np.all(np.abs(residual) <= bound) and np.all(EPS * np.abs(residual) < 1e-3 * bound)
    # with x = 0 and b = 0 only the underflow allowance 8n·tiny is left, exactly
    residual, bound = solver.structured_residual(system, (np.zeros(30), np.zeros(30)),
                                                 np.zeros(30), transpose)
    assert np.all(residual == 0.0) and np.all(bound == 8 * 30 * np.finfo(float).tiny)


def _manufactured(system, transpose, seed):
    """x* = 2³⁸ + j/64 (j random in 0…63) and b = M x* (or Mᵀ x*), exactly representable."""
    n = system.index.size
    jumps = np.random.default_rng(seed).integers(0, 64, n)
    solution = 2.0**38 + jumps / 64.0
    rhs = _exact_product(system, solution, transpose)
    assert all(Fraction(float(b)) == b for b in rhs)   # float64 holds b exactly
    return solution, np.array([float(b) for b in rhs])


@pytest.mark.parametrize("scale", [1.0, 2.0**-80])
@pytest.mark.parametrize("transpose", [False, True])
def test_a_large_nearly_singular_chain_is_certified_a_posteriori(transpose, scale):
    """200 states, exit probability 2⁻⁴⁰ per step (episodes of 1.1e12 steps), random moves:
    the fast path's normwise bound fails, GTH's a-priori bound 2n³ε = 3.6e−9 exceeds 1e−9 (so
    this raised before), and the refinement's a-posteriori bound certifies the manufactured
    solution: the error is within the bound, and the bound within 1e−9 (GTH in double-double,
    the next resort, is kept out: the refinement alone certifies). Its stopping rule is
    relative to ‖x‖ at every scale: the same with b and x scaled by 2⁻⁸⁰ (exactly), ‖x‖ ≈ 2⁻⁴²."""
    mdp, pi = _permutation_chain(200, 2.0**-40)
    system = chain(mdp, pi, 1.0, "v").system
    solution, rhs = _manufactured(system, transpose, seed=2)
    solution, rhs = scale * solution, scale * rhs
    assert 2 * 200**3 * EPS > 1e-9
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver.doubled_gth, "within_range", lambda *pairs: False)
        result = solver.solve(system, rhs, transpose)
    assert result.accurate_path
    assert np.max(np.abs(result.x - solution)) <= result.bound <= 1e-9 * np.max(solution)
    # refined until its own part of the bound (beside the data's 2nδ M⁻¹|b|) is 1e−11 of x
    split = solver.gth_solve(*system.gth_factors(), np.abs(rhs)[:, None], transpose)[:, 0]
    data = 2 * 200 * system.data_error() * split / (1 - 2 * 200**3 * EPS)
    assert np.max(result.errors - data) <= 1e-11 * np.max(solution) < np.max(data)
    np.testing.assert_allclose(result.x, solution, rtol=1e-15)


def test_the_refinement_stops_when_it_cannot_certify_and_double_double_gth_takes_over(
        monkeypatch):
    """With at most 0 corrections the a-posteriori bound is that of GTH's own x̂, about
    ε‖M⁻¹|M|‖ ≈ 1e−4 relative here: the refinement cannot certify. GTH in double-double then
    does (its entrywise error 128n³ε² = 5e−23, plus the data error 2nδ); with that path out of
    range too, the a-priori bound is kept and the solve is refused, its bound still above the
    true error."""
    mdp, pi = _permutation_chain(200, 2.0**-40)
    system = chain(mdp, pi, 1.0, "v").system
    solution, rhs = _manufactured(system, False, seed=3)
    monkeypatch.setattr(solver, "MAX_REFINEMENTS", 0)
    result = solver.solve(system, rhs)
    assert np.max(np.abs(result.x - solution)) <= result.bound <= 1e-10 * np.max(solution)
    monkeypatch.setattr(solver.doubled_gth, "within_range", lambda *pairs: False)
    system = chain(mdp, pi, 1.0, "v").system               # no factors kept from above
    result = solver.solve(system, rhs)
    assert result.bound > 1e-9 * np.max(solution)
    assert np.max(np.abs(result.x - solution)) <= result.bound


def test_a_refined_bound_above_a_tenth_of_the_tolerance_sends_gth_to_double_double(
        monkeypatch):
    """solve's Notes: where the refinement's bound exceeds RELATIVE_TOLERANCE/10 of ‖x̂‖ (and the
    data error alone does not), GTH is redone in double-double. With at most 0 corrections and
    exits of 2⁻²² per step, the refinement's bound is about 6e−10 of ‖x‖: within the tolerance
    but above a tenth of it. Double-double brings the bound down to a tenth, the data error's
    share; the error stays within it. Where the data error alone exceeds a tenth, double-double
    cannot help and is not tried: the refined answer and bound are returned unchanged."""
    mdp, pi = _permutation_chain(200, 2.0**-22)
    solution, rhs = _manufactured(chain(mdp, pi, 1.0, "v").system, False, seed=3)
    monkeypatch.setattr(solver, "MAX_REFINEMENTS", 0)
    with monkeypatch.context() as patch:
        patch.setattr(solver.doubled_gth, "within_range", lambda *pairs: False)
        refined = solver.solve(chain(mdp, pi, 1.0, "v").system, rhs)
    tenth = 0.1 * solver.RELATIVE_TOLERANCE * np.max(solution)
    assert tenth < refined.bound < 10 * tenth
    result = solver.solve(chain(mdp, pi, 1.0, "v").system, rhs)
    assert np.max(np.abs(result.x - solution)) <= result.bound <= tenth
    # π's entries off by 7.5e−13 (relatively): the data error alone, 2nδ M⁻¹|b| ≈ 3e−10 of ‖x‖,
    # exceeds a tenth, which double-double cannot help: GTH's refined answer is kept as it is
    policy_error = np.full(pi.shape, 7.5e-13)
    system = chain(mdp, pi, 1.0, "v", policy_error=policy_error).system
    assert tenth < 2 * 200 * system.data_error() * np.max(solution) < 10 * tenth
    result = solver.solve(system, rhs)
    with monkeypatch.context() as patch:
        patch.setattr(solver.doubled_gth, "within_range", lambda *pairs: False)
        refined = solver.solve(chain(mdp, pi, 1.0, "v", policy_error=policy_error).system, rhs)
    assert result.bound == refined.bound and np.array_equal(result.x, refined.x)
    assert np.max(np.abs(result.x - solution)) <= result.bound


def test_divide_is_within_its_documented_bound():
    """divide: 32ε²|x / y| (about 2ε² seen), on pairs of mixed signs and magnitudes."""
    x = doubled.two_product(_numbers(8), _numbers(9))
    y = doubled.two_product(_numbers(10), _numbers(11))
    quotient = _exact(doubled.divide(x, y))
    for a, b, c in zip(_exact(x), _exact(y), quotient, strict=True):
        assert abs(c - a / b) <= 32 * Fraction(EPS) ** 2 * abs(a / b)


def _random_parts(n, seed, sparse):
    """B ≥ 0 (zero diagonal; with ``sparse`` most entries 0, a few exactly 1) and e ≥ 0 with
    tiny exits."""
    rng = np.random.default_rng(seed)
    off_diagonal = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < (
        0.3 if sparse else 1.0))
    if sparse:                        # certain moves: entries of exactly 1 (and of 1 later on)
        off_diagonal[np.arange(n), (np.arange(n) + 1) % n] = 1.0
    np.fill_diagonal(off_diagonal, 0.0)
    exits = rng.uniform(0.0, 1.0, n) * 10.0 ** rng.uniform(-12, 0, n)
    exits[rng.uniform(size=n) < 0.5] = 0.0
    exits[0] = 1e-3
    return off_diagonal, exits


def _exact_solve(off_diagonal, exits, rhs, transpose):
    """M X = B (or Mᵀ) in Fractions by Gauss–Jordan, M = diag(Σ B + e) − B from the floats."""
    n = exits.size
    matrix = [[-Fraction(float(off_diagonal[i, j])) for j in range(n)] for i in range(n)]
    for i in range(n):
        matrix[i][i] = sum(Fraction(float(b)) for b in off_diagonal[i]) + Fraction(
            float(exits[i]))
    if transpose:
        matrix = [list(column) for column in zip(*matrix, strict=True)]
    rows = [matrix[i] + [Fraction(float(b)) for b in rhs[i]] for i in range(n)]
    for k in range(n):
        pivot = next(i for i in range(k, n) if rows[i][k] != 0)
        rows[k], rows[pivot] = rows[pivot], rows[k]
        rows[k] = [v / rows[k][k] for v in rows[k]]
        for i in range(n):
            if i != k and rows[i][k] != 0:
                factor = rows[i][k]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[k], strict=True)]
    return [row[n:] for row in rows]


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_gth_in_double_double_is_within_its_entrywise_bound(transpose, sparse):
    """M⁻¹B for non-negative B, against Gauss–Jordan in Fractions on the same float data: every
    entry within 128n³ε² relative (:func:`relative_error`), chains reaching the exit only
    through states with exit masses down to 1e−12 (and through none at all from half of them).
    Dense and sparse B (where only the rows and columns of non-zero multipliers are updated)."""
    n = 12
    off_diagonal, exits = _random_parts(n, seed=20 + sparse, sparse=sparse)
    rhs = np.abs(np.random.default_rng(3).standard_normal((n, 2)))
    rhs[::3, 1] = 0.0
    work, pivots = doubled_gth.factor(off_diagonal, exits)
    hi, lo = doubled_gth.solve(work, pivots, rhs, transpose)
    exact_solution = _exact_solve(off_diagonal, exits, rhs, transpose)
    eta = Fraction(doubled_gth.relative_error(n))
    for s in range(n):
        for column in range(2):
            truth = exact_solution[s][column]
            error = Fraction(float(hi[s, column])) + Fraction(float(lo[s, column])) - truth
            assert abs(error) <= eta * abs(truth)
    assert doubled_gth.relative_error(200) == pytest.approx(128 * 200**3 * EPS**2, rel=1e-15, abs=0)
    assert doubled_gth.within_range(work, pivots, (hi, lo))


def test_double_double_gth_refuses_what_it_cannot_hold():
    """within_range: entries below 1e−290 (a low part would underflow), above 1e290 (split
    overflows) or not finite are refused; zeros and both ends of [1e−290, 1e290] are fine."""
    zeros = np.zeros(3)
    for hi in ([0.0, 1.0, 2e-290], [0.0, 1.0, 5e289], [0.0, 1e-290, -1e290]):
        assert doubled_gth.within_range((np.array(hi), zeros))
    for hi in ([0.0, 1.0, 5e-291], [0.0, 1.0, 2e290], [0.0, 1.0, np.inf], [np.nan, 1.0, 1.0]):
        assert not doubled_gth.within_range((np.array(hi), zeros)), hi
        assert not doubled_gth.within_range((np.ones(3), zeros), (np.array(hi), zeros)), hi


def test_refinement_needs_gths_entrywise_error_below_one_half():
    assert solver.refinement_certifies(100_000)
    assert not solver.refinement_certifies(110_000)


def test_values_and_visits_of_the_large_nearly_singular_chain_match_their_closed_forms():
    """Every step costs 1 and ends the episode with probability q = 2⁻⁴⁰, so v = −1/q in every
    state; Q is doubly stochastic, so 1ᵀM = q 1ᵀ and n = p₀/q. Both are exact in float64."""
    mdp, pi = _permutation_chain(200, 2.0**-40)
    np.testing.assert_allclose(exact.state_values(mdp, pi)[:200], -(2.0**40), rtol=1e-14)
    np.testing.assert_allclose(exact.discounted_visits(mdp, pi)[:200],
                               mdp.initial[:200] * 2.0**40, rtol=1e-14)


@pytest.mark.parametrize("n", [100, 200])
def test_the_a_posteriori_bound_is_its_documented_formula(n):
    """Exit probability 2⁻¹⁰, b > 0: GTH's a-priori bound 2n³ε (4.4e−10 at n = 100, 3.6e−9 at
    200) is above a tenth of 1e−9 of ‖x‖ — at n = 100 it would certify, but the refinement is
    still tried and kept for its smaller bound — its answer x̂ needs no correction (episodes of 1000
    steps), and the errors are (M⁻¹(|R| + δR) + 2nδ M⁻¹|b|)/(1 − η) entry by entry, η = 2n³ε,
    written out here; the bound is their largest."""
    mdp, pi = _permutation_chain(n, 2.0**-10)
    system = chain(mdp, pi, 1.0, "v").system
    rhs = 0.1 + np.abs(np.random.default_rng(4).standard_normal(n))   # M⁻¹|b| = x
    work, pivots = solver.gth_factor(system)
    parts = solver.gth_solve(work, pivots, np.column_stack([np.maximum(rhs, 0),
                                                            np.maximum(-rhs, 0)]), False)
    estimate = parts[:, 0] - parts[:, 1]
    residual, error = solver.structured_residual(system, (estimate, np.zeros(n)), rhs, False)
    eta = 2 * n**3 * EPS
    spread = solver.gth_solve(work, pivots, (np.abs(residual) + error)[:, None], False)[:, 0]
    expected = (spread + 2 * n * system.data_error() * parts.sum(axis=1)) / (1 - eta)
    result = solver.solve(system, rhs, accurate=True)
    np.testing.assert_array_equal(result.x, estimate)
    np.testing.assert_allclose(result.errors, expected, rtol=1e-12)
    assert result.bound == pytest.approx(np.max(expected), rel=1e-12, abs=0)
    assert result.bound < eta * np.max(parts.sum(axis=1))   # below the a-priori bound


def test_the_double_double_path_carries_its_documented_errors():
    """The 200-state corridor drifting away from its exit (episodes of 1e73 steps) is solved by
    GTH in double-double; its errors are (η + 8ε²) M⁻¹|b| + ε/2 |x| + 2nδ M⁻¹|b| + ‖δb‖ M⁻¹1
    entry by entry (to first order), η = 128n³ε², written out here from the same factors."""
    n = 200
    mdp, pi = drifting_corridor(n, gamma=1.0)
    system = chain(mdp, pi, 1.0, "v").system
    rhs = -np.ones(n)
    rhs[::7] = 2.0                                     # both signs: b⁺ and b⁻ are used
    result = solver.solve(system, rhs, rhs_error=1e-12)
    work, pivots = system.doubled_gth_factors()
    columns = np.column_stack([np.maximum(rhs, 0), np.maximum(-rhs, 0), np.ones(n)])
    hi, lo = doubled_gth.solve(work, pivots, columns, False)
    split, lengths = hi[:, 0] + hi[:, 1], hi[:, 2] + lo[:, 2]
    eta = 128 * n**3 * EPS**2
    expected = ((eta + 8 * EPS**2) * split + EPS / 2 * np.abs(result.x)
                + 2 * n * system.data_error() * split + 1e-12 * lengths)
    assert result.accurate_path
    np.testing.assert_allclose(result.errors, expected, rtol=1e-12)
    # x⁺ − x⁻ and M⁻¹1 in double-double, each rounded once to float64
    np.testing.assert_array_equal(result.lengths, lengths)
    difference = doubled.add((hi[:, 0], lo[:, 0]), doubled.negate((hi[:, 1], lo[:, 1])))
    np.testing.assert_array_equal(result.x, difference[0] + difference[1])


# -- the chain's data from θ in double-double (pgref.exact.doubled_chain) ------------------------


def _decimal(pair, i):
    return Decimal(float(pair[0].flat[i])) + Decimal(float(pair[1].flat[i]))


def test_exp_is_within_its_documented_bound():
    """doubled.exp against Decimal's exp (60 digits) on pairs x = hi + lo over −667 … 709:
    relative error ≤ (64 + 12|x|)ε², and the bound not vacuous (the worst case seen is more than
    a hundredth of it)."""
    rng = np.random.default_rng(20)
    hi = np.concatenate([rng.uniform(-667, 709, 1500), rng.uniform(-1, 1, 500),
                         rng.uniform(-1e-3, 1e-3, 200), [0.0, -667.0, 709.0, 0.5 * math.log(2)]])
    lo = hi * EPS * rng.uniform(-0.5, 0.5, hi.size)
    result = doubled.exp((hi, lo))
    worst = 0.0
    with localcontext() as context:
        context.prec = 60
        for i in range(hi.size):
            x = Decimal(float(hi[i])) + Decimal(float(lo[i]))
            error = abs(_decimal(result, i) / x.exp() - 1)
            bound = (doubled.EXP_ERROR + doubled.EXP_ERROR_PER_UNIT * abs(hi[i])) * EPS**2
            assert error <= Decimal(bound)
            worst = max(worst, float(error) / bound)
    assert worst > 0.01
    assert abs(Decimal(doubled.LN2[0]) + Decimal(doubled.LN2[1]) - Decimal(2).ln()) < Decimal(
        "1e-33")


def _decimal_softmax(features, theta, digits=80):
    with localcontext() as context:
        context.prec = digits
        table = []
        for s in range(features.shape[0]):
            h = [sum(Decimal(float(x)) * Decimal(float(t)) for x, t in zip(features[s, a], theta,
                                                                          strict=True))
                 for a in range(features.shape[1])]
            top = max(h)
            weights = [(z - top).exp() for z in h]
            table.append([w / sum(weights) for w in weights])
        return table


@pytest.mark.parametrize("scale", [0.1, 3.0, 40.0])
def test_the_softmax_in_double_double_is_within_its_bound(scale):
    """π_θ of a softmax-linear policy from θ in double-double, against the softmax in Decimal
    (80 digits): every entry within ρ₂(s) relative, with ρ₂ far below float64's ε; preference
    gaps beyond 667 (probabilities below 1e−290) give None."""
    rng = np.random.default_rng(int(scale * 10))
    features = rng.standard_normal((6, 3, 4))
    theta = scale * rng.standard_normal(4)
    (hi, lo), rho = doubled_chain.softmax_table(features, theta)
    reference = _decimal_softmax(features, theta)
    with localcontext() as context:
        context.prec = 80
        for s in range(6):
            for a in range(3):
                got = Decimal(float(hi[s, a])) + Decimal(float(lo[s, a]))
                assert abs(got / reference[s][a] - 1) <= Decimal(float(rho[s]))
    assert np.all(rho < 1e-25)
    gap = np.zeros((1, 2, 1))
    gap[0, 1, 0] = 1.0
    assert doubled_chain.softmax_table(gap, np.array([-667.5])) is None
    assert doubled_chain.softmax_table(gap, np.array([-666.5])) is not None
    assert doubled_chain.softmax_table(gap, np.array([-667.0])) is not None  # 667 does not exceed


@pytest.mark.parametrize("next_state_rewards", [False, True])
def test_the_chains_data_from_theta_are_within_their_bounds(next_state_rewards):
    """B = γ P_NN, e and r_π from θ in double-double against Decimal (80 digits) on a random MDP
    with two terminal states (rewards r(s, a) or r(s, a, s′)): B and e within δ₂ relative, r_π
    within ‖δr_π‖_∞; δ₂ about 1e−28, where the float64 data's δ is about 1e−15."""
    problem = envs.random_mdp(np.random.default_rng(8), 7, 3, gamma=0.95, n_terminal=2,
                              termination_prob=0.2, next_state_rewards=next_state_rewards)
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    theta = 4.0 * np.random.default_rng(9).standard_normal(problem.features.shape[2])
    solved = chain(mdp, policy.action_probs(theta), mdp.gamma, "the values")
    data = doubled_chain.from_policy(mdp, solved, policy, theta)
    assert data.data_error < 1e-26 < 1e-16 < doubled_chain.from_system(mdp, solved).data_error
    pi = _decimal_softmax(problem.features, theta)
    index = solved.system.index
    with localcontext() as context:
        context.prec = 80
        gamma = Decimal(float(mdp.gamma))
        p = mdp.transitions

        def expected_reward(s, a):
            if mdp.rewards.ndim == 2:
                return Decimal(float(mdp.rewards[s, a]))
            return sum(Decimal(float(p[s, a, z])) * Decimal(float(mdp.rewards[s, a, z]))
                       for z in range(mdp.n_states))

        for i, s in enumerate(index):
            for j, z in enumerate(index):
                exact_b = 0 if i == j else gamma * sum(
                    pi[s][a] * Decimal(float(p[s, a, z])) for a in range(mdp.n_actions))
                got = _decimal(data.off_diagonal, i * index.size + j)
                assert abs(got - exact_b) <= Decimal(data.data_error) * exact_b
            exact_e = sum(pi[s][a] * ((1 - gamma) + gamma * sum(
                Decimal(float(p[s, a, z])) for z in np.flatnonzero(mdp.terminal)))
                for a in range(mdp.n_actions))
            assert abs(_decimal(data.exits, i) - exact_e) <= Decimal(data.data_error) * exact_e
            exact_r = sum(pi[s][a] * expected_reward(s, a) for a in range(mdp.n_actions))
            assert abs(_decimal(data.rewards, i) - exact_r) <= Decimal(data.reward_error)
    assert data.reward_error < 1e-25


def test_the_data_from_theta_fall_back_to_the_float64_tables_where_they_cannot_be_held():
    """An MLP policy, or a softmax-linear one with a preference gap beyond 667: the float64
    system's data (δ of a few ε), as before."""
    from pgref.policies import MLPSoftmaxPolicy

    problem = envs.random_mdp(np.random.default_rng(2), 5, 2, gamma=0.9, n_terminal=1)
    mdp = problem.mdp
    mlp = MLPSoftmaxPolicy(np.eye(5), n_actions=2, hidden_sizes=(3,))
    theta_mlp = mlp.initial_theta(np.random.default_rng(0))
    linear = SoftmaxLinearPolicy(problem.features)
    far = 600.0 * np.random.default_rng(1).standard_normal(problem.features.shape[2])
    gaps = np.ptp(problem.features @ far, axis=1)
    assert gaps.max() > 667
    for policy, theta in ((mlp, theta_mlp), (linear, far)):
        solved = chain(mdp, policy.action_probs(theta), mdp.gamma, "the values")
        data = doubled_chain.from_policy(mdp, solved, policy, theta)
        assert data.data_error == solved.system.data_error()


def test_expected_rewards_in_double_double_and_the_float64_ones_within_their_bounds():
    """r(s, a) = Σ_s′ p r(s, a, s′): the pair within 4⌈log₂ S⌉ε² Σ p|r| and
    ``mdp.expected_rewards`` (float64) within (S + 1)ε Σ p|r| of the exact sum (Fractions),
    with rewards of mixed signs over ten orders of magnitude."""
    from pgref.exact.certified import expected_reward_errors

    problem = envs.random_mdp(np.random.default_rng(5), 9, 3, gamma=1.0, n_terminal=1,
                              next_state_rewards=True)
    rewards = problem.mdp.rewards * 10.0 ** np.random.default_rng(6).uniform(-5, 5, (9, 3, 9))
    mdp = TabularMDP(problem.mdp.transitions, rewards, problem.mdp.initial,
                     terminal=problem.mdp.terminal, gamma=1.0)
    pair, error = doubled_chain.expected_rewards(mdp)
    rounded, rounded_error = mdp.expected_rewards, expected_reward_errors(mdp)
    for s in range(9):
        for a in range(3):
            exact_r = sum(Fraction(float(mdp.transitions[s, a, z]))
                          * Fraction(float(rewards[s, a, z])) for z in range(9))
            got = Fraction(float(pair[0][s, a])) + Fraction(float(pair[1][s, a]))
            assert abs(got - exact_r) <= Fraction(float(error[s, a]))
            assert abs(Fraction(float(rounded[s, a])) - exact_r) <= Fraction(
                float(rounded_error[s, a]))
    assert np.all(error < 1e-28 * np.abs(rewards).max())
    assert np.all(expected_reward_errors(problem.mdp.__class__(
        mdp.transitions, mdp.expected_rewards, mdp.initial, terminal=mdp.terminal)) == 0)


def test_a_total_over_an_empty_axis_is_zero_of_the_other_axes_shape():
    """doubled.total along an axis of length 0 (a chain with no terminal state sums no terminal
    mass) is the zero pair of the remaining shape."""
    empty = (np.zeros((4, 0, 3)), np.zeros((4, 0, 3)))
    for part in doubled.total(empty, axis=1):
        assert part.shape == (4, 3) and not part.any()
    for part in doubled.total((np.zeros((0, 2, 5)), np.zeros((0, 2, 5))), axis=0):
        assert part.shape == (2, 5) and not part.any()


@pytest.mark.parametrize("n_terminal", [1, 2])   # ⌈log₂(T + 1)⌉ = 1 and 2
def test_the_double_double_datas_bounds_are_their_documented_formulas(n_terminal):
    """softmax_table's ρ₂ and from_policy's δ₂ and ‖δr_π‖ against the module docstring's
    formulas written out by loops: ρ₂(s) = 2 max_a [δh + 4ε²(|h| + |m|) + (64 + 12|h − m|)ε²] +
    (4⌈log₂ A⌉ + 32)ε² with δh = 4⌈log₂ J⌉ε² Σ_j |x θ|; δ₂ = max ρ₂ + (22 + 4⌈log₂ A⌉ +
    4⌈log₂(T + 1)⌉)ε²; ‖δr_π‖ = max_s Σ_a π [(ρ₂ + (12 + 4⌈log₂ A⌉)ε²)|r(s, a)| +
    4⌈log₂ S⌉ε² Σ_s′ p|r(s, a, s′)|]."""
    problem = envs.random_mdp(np.random.default_rng(12), 6, 3, gamma=0.9,
                              n_terminal=n_terminal, termination_prob=0.2,
                              next_state_rewards=True)
    mdp, x = problem.mdp, problem.features
    theta = 6.0 * np.random.default_rng(13).standard_normal(x.shape[2])
    policy = SoftmaxLinearPolicy(x)
    n_states, n_actions = x.shape[:2]
    eps2 = EPS**2

    def softmax_rho(x, theta):
        n_features = x.shape[2]
        rho = []
        for s in range(n_states):
            h = [math.fsum(x[s, a, j] * theta[j] for j in range(n_features))
                 for a in range(n_actions)]
            top = max(h)
            terms = [4 * math.ceil(math.log2(n_features)) * eps2
                     * sum(abs(x[s, a, j] * theta[j]) for j in range(n_features))
                     + 4 * eps2 * (abs(h[a]) + abs(top)) + (64 + 12 * abs(h[a] - top)) * eps2
                     for a in range(n_actions)]
            rho.append(2 * max(terms) + (4 * math.ceil(math.log2(n_actions)) + 32) * eps2)
        return rho

    rho = softmax_rho(x, theta)
    _, computed = doubled_chain.softmax_table(x, theta)
    np.testing.assert_allclose(computed, rho, rtol=1e-9)
    # one feature: each preference is one exact product, ⌈log₂ 1⌉ = 0 terms of its sum's rounding
    single, weight = np.random.default_rng(14).standard_normal((n_states, n_actions, 1)), [40.0]
    _, computed = doubled_chain.softmax_table(single, np.array(weight))
    np.testing.assert_allclose(computed, softmax_rho(single, weight), rtol=1e-9)
    solved = chain(mdp, policy.action_probs(theta), mdp.gamma, "the values")
    data = doubled_chain.from_policy(mdp, solved, policy, theta)
    index = solved.system.index
    assert int(mdp.terminal.sum()) == n_terminal
    expected = max(rho[s] for s in index) + (22 + 4 * math.ceil(math.log2(n_actions))
                                             + 4 * math.ceil(math.log2(n_terminal + 1))) * eps2
    assert data.data_error == pytest.approx(expected, rel=1e-12, abs=0)
    pi, p, r = policy.action_probs(theta), mdp.transitions, mdp.rewards
    reward_error = max(sum(pi[s, a] * ((rho[s] + (12 + 4 * math.ceil(math.log2(n_actions)))
                                        * eps2) * abs(float(np.dot(p[s, a], r[s, a])))
                                       + 4 * math.ceil(math.log2(n_states)) * eps2
                                       * sum(p[s, a, z] * abs(r[s, a, z])
                                             for z in range(n_states)))
                           for a in range(n_actions)) for s in index)
    assert data.reward_error == pytest.approx(reward_error, rel=1e-9, abs=0)
