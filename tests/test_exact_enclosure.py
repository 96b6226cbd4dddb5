"""The decimal enclosure of ∇𝒥 (pgref.exact.enclosure), against exact rationals and 300-digit
references.

Routes: ``fractions.Fraction`` for every interval operation (the exact result must lie inside);
``Decimal`` exp at 120 digits for the exponential; the 80-digit softmax and the Decimal
Gaussian-elimination reference of ``test_exact_accuracy`` for π and ∇𝒥 of random MDPs; closed
forms for the elimination's work on a dense chain, a corridor and a star.
"""

import dataclasses
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from test_exact_accuracy import reference
from test_exact_doubled import _decimal_softmax

from pgref import envs, exact
from pgref.exact import enclosure
from pgref.policies import SoftmaxLinearPolicy


def _inside(interval, exact):
    return Fraction(interval[0]) <= exact <= Fraction(interval[1])


def _relative_width(interval):
    lo, hi = (Fraction(x) for x in interval)
    return (hi - lo) / max(abs(lo), abs(hi))


def test_every_interval_operation_encloses_the_exact_result_and_stays_narrow():
    """add, subtract, multiply (all sign patterns), divide, total, exp and tanh at P = 30 digits:
    the exact result (Fractions; exp and tanh from Decimal at 120 digits) inside, the width at
    most a few units of the 30th digit (for tanh, absolutely)."""
    arithmetic = enclosure.Intervals(30)
    rng = np.random.default_rng(0)
    numbers = rng.standard_normal(400) * 10.0 ** rng.uniform(-30, 30, 400)
    unit = Fraction(1, 10**29)
    for a, b in zip(numbers[::2], numbers[1::2], strict=True):
        x, y = (Decimal(float(a)), Decimal(float(a))), (Decimal(float(b)), Decimal(float(b)))
        exact_a, exact_b = Fraction(float(a)), Fraction(float(b))
        for result, expected in ((arithmetic.add(x, y), exact_a + exact_b),
                                 (arithmetic.subtract(x, y), exact_a - exact_b),
                                 (arithmetic.multiply(x, y), exact_a * exact_b)):
            assert _inside(result, expected)
            assert expected == 0 or _relative_width(result) <= 2 * unit
        positive = ((x[0].copy_abs(), x[1].copy_abs()),   # copy_abs: no rounding
                    (y[0].copy_abs(), y[1].copy_abs()))
        third = arithmetic.divide(positive[1], (Decimal(3), Decimal(3)))
        wide = arithmetic.subtract(x, (third[0].copy_negate(), third[1]))     # a true interval
        for other in (y, (y[0].copy_negate(), y[1].copy_negate())):
            product = arithmetic.multiply(wide, other)
            corners = [Fraction(c) * Fraction(other[0]) for c in wide]
            assert Fraction(product[0]) <= min(corners) and max(corners) <= Fraction(product[1])
        quotient = arithmetic.divide(*positive)
        assert _inside(quotient, abs(exact_a) / abs(exact_b))
        assert _relative_width(quotient) <= 2 * unit
    terms = [(Decimal(float(t)), Decimal(float(t))) for t in numbers[:50]]
    assert _inside(arithmetic.total(terms), sum(Fraction(float(t)) for t in numbers[:50]))
    with localcontext() as context:
        context.prec = 120
        for t in rng.uniform(-700, 700, 100):
            value = arithmetic.exp((Decimal(float(t)), Decimal(float(t))))
            exact = Fraction(Decimal(float(t)).exp())
            assert _inside(value, exact) and _relative_width(value) <= 4 * unit
        for t in rng.standard_normal(100) * 10.0 ** rng.uniform(-3, 1.5, 100):
            value = arithmetic.tanh((Decimal(float(t)), Decimal(float(t))))
            size = Decimal(float(t)).exp() ** 2
            exact = Fraction((size - 1) / (size + 1))
            assert _inside(value, exact)
            assert Fraction(value[1]) - Fraction(value[0]) <= 4 * unit   # absolute: |tanh| < 1


def test_the_softmax_enclosure_holds_the_80_digit_softmax():
    """π_θ(a|s) enclosed at P = 60 for preferences up to about 400 apart: the 80-digit softmax
    inside every interval, each of relative width below 1e−50."""
    rng = np.random.default_rng(3)
    features = rng.standard_normal((5, 3, 4))
    theta = 60.0 * rng.standard_normal(4)
    table = enclosure.softmax_table(enclosure.Intervals(60), features, theta)
    exact = _decimal_softmax(features, theta)
    for s in range(5):
        for a in range(3):
            assert _inside(table[s][a], Fraction(exact[s][a]))
            assert _relative_width(table[s][a]) < Fraction(1, 10**50)


def test_the_elimination_work_is_its_closed_form():
    """Multiply-adds of GTH with fill-in: a dense chain of n states Σ_{m<n} m² (208 states
    within MOST_OPERATIONS, 209 beyond); a corridor n − 1; a star (state 0 linked both ways with
    every other) fills in completely: (n − 1)² and then the dense chain of n − 1."""
    def dense(n):
        return [set(range(n)) - {i} for i in range(n)]

    for n in (1, 2, 5, 30):
        assert enclosure.elimination_work(dense(n)) == sum(m * m for m in range(n))
        # a state reaching itself changes nothing: a self-loop cancels in M's row
        assert enclosure.elimination_work([set(range(n))] * n) == sum(m * m for m in range(n))
        assert enclosure.elimination_work([{i - 1, i + 1} & set(range(n)) for i in range(n)]) \
            == max(n - 1, 0)
    n = 12
    star = [set(range(1, n))] + [{0} for _ in range(1, n)]
    assert enclosure.elimination_work(star) == (n - 1) ** 2 + sum(m * m for m in range(n - 1))
    assert enclosure.elimination_work(dense(208)) <= enclosure.MOST_OPERATIONS
    assert enclosure.elimination_work(dense(209)) > enclosure.MOST_OPERATIONS


@pytest.mark.parametrize("seed, scale, gamma, next_state_rewards",
                         [(0, 3.0, 0.9, False), (1, 10.0, 1.0, True), (2, 30.0, 0.99, False),
                          (3, 100.0, 1.0, True)])
def test_the_enclosed_gradient_is_the_references(seed, scale, gamma, next_state_rewards):
    """Random MDPs, rewards r(s, a) or r(s, a, s′), logits up to a few hundred apart: ∇𝒥 and the
    γᵗ-dropped direction within 1e−10 of the largest component of the Decimal references."""
    problem = envs.random_mdp(np.random.default_rng(seed), 5, 3, gamma=gamma, n_terminal=1,
                              next_state_rewards=next_state_rewards)
    theta = scale * np.random.default_rng(seed + 10).standard_normal(problem.features.shape[2])
    exact = [float(g) for g in reference(problem.mdp, problem.features, theta)["gradient"]]
    policy = SoftmaxLinearPolicy(problem.features)
    enclosed = enclosure.gradient(problem.mdp, policy, theta)
    largest = max(abs(g) for g in exact)
    assert largest > 0
    np.testing.assert_allclose(enclosed, exact, rtol=0, atol=1e-10 * largest)
    if gamma == 1.0:   # the γᵗ-dropped direction is ∇𝒥 itself at γ = 1
        np.testing.assert_array_equal(
            enclosure.gradient(problem.mdp, policy, theta, visits_gamma=1.0), enclosed)


def test_the_dropped_direction_is_enclosed_with_undiscounted_visits():
    """At γ = 0.9 the γᵗ-dropped direction Σ n₁ Σ q_γ ∇π (visits at γ = 1) against
    pgref.exact.gamma_dropped_direction, which its float64 path certifies to 1e−9."""
    from pgref import exact

    problem = envs.random_mdp(np.random.default_rng(7), 5, 2, gamma=0.9, n_terminal=1)
    theta = np.random.default_rng(8).standard_normal(problem.features.shape[2])
    policy = SoftmaxLinearPolicy(problem.features)
    expected = exact.gamma_dropped_direction(problem.mdp, policy, theta)
    enclosed = enclosure.gradient(problem.mdp, policy, theta, visits_gamma=1.0)
    np.testing.assert_allclose(enclosed, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    assert not np.allclose(enclosed, enclosure.gradient(problem.mdp, policy, theta), rtol=1e-3)


def test_an_exact_zero_is_answered_and_what_float64_cannot_hold_is_not(monkeypatch):
    """Every feature 0: ∇𝒥 = 0 exactly, enclosed as [0, 0] and answered. A ∇𝒥 below 1e−300 (a
    200-state corridor at γ = 0.05: the exit's effect fades as 0.05²⁰⁰), or a chain whose
    elimination exceeds MOST_OPERATIONS: None."""
    from helpers import drifting_corridor

    problem = envs.random_mdp(np.random.default_rng(4), 4, 2, gamma=0.9, n_terminal=1)
    features = np.zeros_like(problem.features)
    zero = enclosure.gradient(problem.mdp, SoftmaxLinearPolicy(features),
                              np.zeros(features.shape[2]))
    np.testing.assert_array_equal(zero, 0.0)
    # in float64 too: every score 0, so the bound is 0 and the 0 is certified (not refused as a
    # tie, which has a positive bound)
    np.testing.assert_array_equal(exact.policy_gradient(problem.mdp, SoftmaxLinearPolicy(
        features), np.zeros(features.shape[2])), 0.0)
    mdp, _ = drifting_corridor(200, 0.05)
    assert enclosure.gradient(mdp, SoftmaxLinearPolicy(np.tile(np.eye(2), (201, 1, 1))),
                              np.zeros(2)) is None
    theta = np.ones(problem.features.shape[2])
    assert enclosure.gradient(problem.mdp, SoftmaxLinearPolicy(problem.features), theta) is not None
    monkeypatch.setattr(enclosure, "MOST_OPERATIONS", 0)
    assert enclosure.gradient(problem.mdp, SoftmaxLinearPolicy(problem.features), theta) is None


def test_a_gradient_with_no_scale_to_be_certified_against_is_refused():
    """Two actions with the same moves and rewards: every advantage is 0, so each term
    n π A ψ of the theorem is enclosed by an interval around 0, the lower bound G on their size
    is 0, and so is every midpoint. The half-width cannot be brought within HALF_WIDTH of
    max(|midpoint|, G) = 0 at any P: refused (None) once P passes MOST_DIGITS, not answered and
    not an error (contrast the exact zero of the test above, enclosed as [0, 0])."""
    problem = envs.random_mdp(np.random.default_rng(4), 4, 2, gamma=0.9, n_terminal=1)
    transitions, rewards = problem.mdp.transitions.copy(), problem.mdp.rewards.copy()
    transitions[:, 1], rewards[:, 1] = transitions[:, 0], rewards[:, 0]
    mdp = dataclasses.replace(problem.mdp, transitions=transitions, rewards=rewards)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.ones(problem.features.shape[2])
    assert enclosure.gradient(mdp, policy, theta) is None
    # the public function says so, and its advice shows the ties
    with pytest.raises(exact.PrecisionError, match="tie in every state") as refused:
        exact.policy_gradient(mdp, policy, theta)
    assert "exact.action_values(mdp, policy.action_probs(theta))" in str(refused.value)
    q = exact.action_values(mdp, policy.action_probs(theta))
    np.testing.assert_array_equal(q[:, 0], q[:, 1])
    with pytest.raises(exact.PrecisionError, match="tie in every state") as refused:
        exact.advantages(mdp, policy.action_probs(theta))
    assert "exact.action_values(mdp, pi)" in str(refused.value)


@pytest.mark.parametrize("seed, gamma, next_state_rewards", [(0, 0.9, False), (1, 1.0, True)])
def test_values_action_values_advantages_and_the_objective_are_the_references(
        seed, gamma, next_state_rewards):
    """v, q, A = q − v of a policy table and 𝒥(θ) of a softmax-linear policy, enclosed, within
    1e−10 of the largest entry of the Decimal references (the table read exactly: the
    reference's π is the 80-digit softmax of θ, the table that softmax rounded, so the table
    functions are compared with the float64 certified ones instead, to 1e−9)."""
    from pgref import exact
    from pgref.policies import SoftmaxLinearPolicy

    problem = envs.random_mdp(np.random.default_rng(seed), 5, 3, gamma=gamma, n_terminal=1,
                              next_state_rewards=next_state_rewards)
    mdp = problem.mdp
    theta = 5.0 * np.random.default_rng(seed + 20).standard_normal(problem.features.shape[2])
    ref = reference(mdp, problem.features, theta)
    assert enclosure.objective(mdp, SoftmaxLinearPolicy(problem.features), theta) == pytest.approx(
        float(ref["J"][0]), rel=1e-10, abs=0)
    pi = SoftmaxLinearPolicy(problem.features).action_probs(theta)
    for enclosed, certified in ((enclosure.state_values(mdp, pi), exact.state_values(mdp, pi)),
                                (enclosure.action_values(mdp, pi), exact.action_values(mdp, pi)),
                                (enclosure.advantages(mdp, pi), exact.advantages(mdp, pi))):
        assert enclosed.shape == certified.shape
        np.testing.assert_allclose(enclosed, certified, rtol=0,
                                   atol=1e-9 * np.abs(certified).max())


def test_an_mlps_tables_are_enclosed_around_its_float64_tables():
    """A tanh MLP (two hidden layers, weights of scale 10): the enclosed π and scores at
    P = 60, each interval narrower than 1e−40 of the largest entry, with midpoints within the
    policy's own bounds on its float64 tables' rounding (table_errors) — the network's forward
    and backward passes on intervals agree with the float64 ones."""
    from pgref.policies import MLPSoftmaxPolicy

    rng = np.random.default_rng(11)
    policy = MLPSoftmaxPolicy(rng.standard_normal((4, 3)), 3, hidden_sizes=(5, 4))
    theta = policy.initial_theta(rng, scale=10.0)
    pi_intervals, score_intervals = enclosure.policy_tables(enclosure.Intervals(60), policy,
                                                             theta)
    errors = policy.table_errors(theta)
    pi, scores = policy.action_probs(theta), policy.grad_log_prob_table(theta)
    middle_pi = np.array([[float((lo + hi) / 2) for lo, hi in row] for row in pi_intervals])
    middle_scores = np.array([[[float((lo + hi) / 2) for lo, hi in entry] for entry in row]
                              for row in score_intervals])
    assert np.all(np.abs(middle_pi - pi) <= errors.probabilities * pi)
    assert np.all(np.abs(middle_scores - scores) <= errors.scores)
    widths = [float(hi - lo) for row in score_intervals for entry in row for lo, hi in entry]
    assert max(widths) < 1e-40 * np.abs(scores).max()


@pytest.mark.parametrize("hidden_sizes", [(), (4,)])
def test_an_mlps_enclosed_gradient_and_objective_are_the_certified_ones(hidden_sizes):
    """On a random MDP at γ = 0.95, an MLP policy's ∇𝒥 and 𝒥 enclosed match the certified
    float64 path of pgref.exact to 1e−9."""
    from pgref import exact
    from pgref.policies import MLPSoftmaxPolicy

    problem = envs.random_mdp(np.random.default_rng(12), 5, 2, gamma=0.95, n_terminal=1)
    rng = np.random.default_rng(13)
    policy = MLPSoftmaxPolicy(rng.standard_normal((5, 3)), 2, hidden_sizes=hidden_sizes)
    theta = policy.initial_theta(rng, scale=2.0)
    expected = exact.policy_gradient(problem.mdp, policy, theta)
    np.testing.assert_allclose(enclosure.gradient(problem.mdp, policy, theta), expected, rtol=0,
                               atol=1e-9 * np.abs(expected).max())
    assert enclosure.objective(problem.mdp, policy, theta) == pytest.approx(
        exact.objective(problem.mdp, policy, theta), rel=1e-9, abs=0)


def test_the_precision_grows_until_the_widest_interval_is_narrow_against_the_larger_scale(
        monkeypatch):
    """at_needed_precision: a computation whose intervals have half-width 10^(−P/2) (P the
    digits) around a value of 1e−25 is answered once that is below 1e−10 of the scale —
    max(|value|, G) — at P = 60 with G = 1 (a sum that cancels to nearly 0 against terms of 1),
    at a larger P with G = 0; never where the work times P would exceed MOST_WORK_DIGITS."""
    problem = envs.random_mdp(np.random.default_rng(4), 3, 2, gamma=0.9, n_terminal=1)
    seen = []

    def compute(size):
        def at(arithmetic):
            seen.append(arithmetic.digits)
            half = Decimal(10) ** (-arithmetic.digits // 2)
            value = Decimal("1e-25")
            return [(value - half, value + half)], size
        return at

    assert enclosure.at_needed_precision(problem.mdp, compute(Decimal(1))) == [1e-25]
    assert seen == [enclosure.FIRST_DIGITS]
    seen.clear()
    assert enclosure.at_needed_precision(problem.mdp, compute(Decimal(0))) == [1e-25]
    assert seen[0] == enclosure.FIRST_DIGITS and seen[-1] >= 70 and len(seen) > 1
    monkeypatch.setattr(enclosure, "MOST_WORK_DIGITS", 0)
    assert enclosure.at_needed_precision(problem.mdp, compute(Decimal(1))) is None


def _as_interval(pair):
    return Decimal(pair[0]), Decimal(pair[1])


def _points(pair):
    """The ends of an interval and a point inside."""
    return [pair[0], pair[1], 0.3 * pair[0] + 0.7 * pair[1]]


def test_operations_on_wide_intervals_enclose_every_point_of_their_inputs():
    """Intervals of every sign pattern and width: for corners and inner points of the inputs,
    the exact result (Fractions; exp and tanh by Decimal at 120 digits) lies inside the result
    of multiply, divide (non-negative by positive), divide_by_positive (any sign by positive),
    square, exp and tanh — an operation that takes the wrong end of an input fails."""
    arithmetic = enclosure.Intervals(30)
    rng = np.random.default_rng(21)
    for _ in range(200):
        a = np.sort(rng.uniform(-3, 3, 2)).tolist()
        b = np.sort(rng.uniform(-3, 3, 2)).tolist()
        positive = np.sort(rng.uniform(0.1, 4, 2)).tolist()
        non_negative = np.sort(rng.uniform(0, 4, 2)).tolist()
        product = arithmetic.multiply(_as_interval(a), _as_interval(b))
        quotient = arithmetic.divide(_as_interval(non_negative), _as_interval(positive))
        signed = arithmetic.divide_by_positive(_as_interval(a), _as_interval(positive))
        for x in _points(a):
            for y in _points(b):
                assert _inside(product, Fraction(x) * Fraction(y))
            for y in _points(positive):
                assert _inside(signed, Fraction(x) / Fraction(y))
            assert _inside(arithmetic.square(_as_interval(a)), Fraction(x) ** 2)
            with localcontext() as context:
                context.prec = 120
                assert _inside(arithmetic.exp(_as_interval(a)), Fraction(Decimal(x).exp()))
                e2 = (2 * Decimal(x)).exp()
                assert _inside(arithmetic.tanh(_as_interval(a)), Fraction((e2 - 1) / (e2 + 1)))
        for x in _points(non_negative):
            for y in _points(positive):
                assert _inside(quotient, Fraction(x) / Fraction(y))


def test_the_precision_may_reach_most_digits_itself(monkeypatch):
    """MOST_DIGITS is the largest P tried, not the first refused: with MOST_DIGITS set to
    FIRST_DIGITS, a computation narrow enough at that P is still answered."""
    problem = envs.random_mdp(np.random.default_rng(4), 3, 2, gamma=0.9, n_terminal=1)
    monkeypatch.setattr(enclosure, "MOST_DIGITS", enclosure.FIRST_DIGITS)

    def compute(arithmetic):
        return [(Decimal("0.5"), Decimal("0.5"))], Decimal(0)

    assert enclosure.at_needed_precision(problem.mdp, compute) == [0.5]


def test_the_work_is_counted_on_the_chains_graph():
    """at_needed_precision counts the elimination's work on the states each one reaches: a
    corridor of 300 states (a dense chain that size would need about 9 million multiply-adds,
    beyond MOST_OPERATIONS) is answered."""
    from helpers import drifting_corridor

    mdp, _ = drifting_corridor(300, 1.0)
    assert 300**3 // 3 > enclosure.MOST_OPERATIONS

    def compute(arithmetic):
        return [(Decimal("0.5"), Decimal("0.5"))], Decimal(0)

    assert enclosure.at_needed_precision(mdp, compute) == [0.5]


def test_the_work_times_the_digits_is_bounded_by_most_work_digits(monkeypatch):
    """at_needed_precision tries P while work·P ≤ MOST_WORK_DIGITS: with the limit exactly
    work·FIRST_DIGITS the first P is tried and answers; one below, nothing is tried."""
    problem = envs.random_mdp(np.random.default_rng(4), 3, 2, gamma=0.9, n_terminal=1)
    mdp = problem.mdp
    live = np.flatnonzero(~mdp.terminal)
    reach = mdp.transitions[live][:, :, live].max(axis=1) > 0
    work = enclosure.elimination_work([set(np.flatnonzero(row).tolist()) for row in reach])
    assert work >= 1

    def compute(arithmetic):
        return [(Decimal("0.5"), Decimal("0.5"))], Decimal(0)

    monkeypatch.setattr(enclosure, "MOST_WORK_DIGITS", work * enclosure.FIRST_DIGITS)
    assert enclosure.at_needed_precision(mdp, compute) == [0.5]
    monkeypatch.setattr(enclosure, "MOST_WORK_DIGITS", work * enclosure.FIRST_DIGITS - 1)
    assert enclosure.at_needed_precision(mdp, compute) is None


def test_an_mlp_whose_scores_lose_digits_that_its_policy_keeps_is_enclosed(monkeypatch):
    """A hidden unit fixed at 0 whose outgoing weights 1e8 and 1e8 + 1 leave the logits alone
    but cancel in the backward pass: π is accurate to a few ε, the scores of the unit's inputs
    only to about 4e−7 (DiscretePolicy.table_errors), and the float64 sum of the theorem would be
    off by about 4e−9 of ∇𝒥. pgref.exact refuses that sum for its score errors and answers with
    the enclosure; without the enclosure it raises."""
    from pgref import exact
    from pgref.policies import MLPSoftmaxPolicy

    problem = envs.random_mdp(np.random.default_rng(12), 3, 2, gamma=0.9, n_terminal=1)
    policy = MLPSoftmaxPolicy(np.array([[0.37, -0.2], [0.61, 0.3], [0.5, 0.5]]), 2,
                              hidden_sizes=(2,))
    theta = policy.pack([(np.array([[0.0, 0.7], [0.0, -0.4]]), np.array([0.0, 0.1])),
                         (np.array([[1e8, 1e8 + 1.0], [0.3, 0.8]]), np.array([0.0, 0.1]))])
    errors = policy.table_errors(theta)
    assert errors.probabilities.max() < 1e-14 and errors.scores.max() > 1e-7
    enclosed = enclosure.gradient(problem.mdp, policy, theta)
    np.testing.assert_allclose(exact.policy_gradient(problem.mdp, policy, theta), enclosed,
                               rtol=0, atol=1e-9 * np.abs(enclosed).max())
    monkeypatch.setattr(enclosure, "gradient", lambda *args, **kwargs: None)
    with pytest.raises(exact.PrecisionError, match="cannot be certified"):
        exact.policy_gradient(problem.mdp, policy, theta)


def test_an_answer_is_accepted_only_once_its_half_width_is_within_half_width_of_the_scale():
    """A computation whose interval around 1 has half-width 1.2e−10 at P = FIRST_DIGITS (full
    width 2.4e−10) and 1e−20 beyond: the first is refused (HALF_WIDTH = 1e−10 of the scale 1
    bounds the half-width, not a third of the width), the second accepted."""
    problem = envs.random_mdp(np.random.default_rng(4), 3, 2, gamma=0.9, n_terminal=1)
    seen = []

    def compute(arithmetic):
        seen.append(arithmetic.digits)
        half = Decimal("1.2e-10") if arithmetic.digits == enclosure.FIRST_DIGITS else Decimal(
            "1e-20")
        return [(1 - half, 1 + half)], Decimal(0)

    assert enclosure.at_needed_precision(problem.mdp, compute) == [1.0]
    assert len(seen) == 2 and seen[0] == enclosure.FIRST_DIGITS


def test_the_total_visits_are_discounted_by_the_mdps_gamma():
    """total_visits at γ = 0.9: Σ_s n(s) with n the discounted visits, as pgref.exact's float64
    solve gives them (to 1e−10), not the undiscounted ones."""
    from pgref import exact

    problem = envs.random_mdp(np.random.default_rng(5), 4, 2, gamma=0.9, n_terminal=1,
                              termination_prob=0.1)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(6).standard_normal(problem.features.shape[2])
    pi = policy.action_probs(theta)
    discounted = exact.discounted_visits(problem.mdp, pi).sum()
    assert enclosure.total_visits(problem.mdp, policy, theta) == pytest.approx(
        discounted, rel=1e-10, abs=0)
    undiscounted = exact.discounted_visits(
        dataclasses.replace(problem.mdp, gamma=1.0), pi).sum()
    assert abs(undiscounted / discounted - 1) > 0.1
