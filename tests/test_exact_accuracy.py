r"""Accuracy of pgref.exact near deterministic policies, against a high-precision reference.

The reference is written here with the standard library only: the softmax, P_π, Gaussian
elimination (partial pivoting) and the policy gradient theorem in ``decimal`` arithmetic with
enough digits that 1 − π keeps the smallest π of the case (digits = 60 + the logits' spread in
decimal orders of magnitude). The MDP's float64 arrays are taken as exact data, with the exit
convention of :mod:`pgref.exact.solver` (a row's non-terminal part is 1 minus its terminal part).

Contract checked (stated in :mod:`pgref.exact`): every exact value has relative error ≤ 1e−9
(‖x̂ − x‖_∞ ≤ 1e−9 ‖x‖_∞; for ∇J against max(‖∇J‖_∞, ‖G‖_∞), G = Σ n π |A| |∇ log π| the size of
the theorem's terms), or the call raises a ValueError, and it raises only where the reference
shows that float64 cannot represent the answer: a value beyond 1e300 in magnitude, or a policy
probability below 1e−300 that the answer depends on (the reference recomputed with those
probabilities set to 0 differs from it by more than 1e−9 relative, or cannot be computed).
"""

import math
import re
from decimal import Decimal, localcontext

import numpy as np
import pytest
from helpers import drifting_corridor
from hypothesis import given, settings
from hypothesis import strategies as st

from pgref import TabularMDP, envs, exact
from pgref.exact.chain import chain
from pgref.policies import SoftmaxLinearPolicy

TOLERANCE = 1e-9
HUGE = Decimal("1e300")


# -- the reference, in Decimal ------------------------------------------------------------------


def _solve(matrix, rhs):
    """Gaussian elimination with partial pivoting on lists of Decimal; None if singular."""
    n = len(rhs)
    a = [[*row, rhs[i]] for i, row in enumerate(matrix)]
    for k in range(n):
        pivot = max(range(k, n), key=lambda i: abs(a[i][k]))
        if a[pivot][k] == 0:
            return None
        a[k], a[pivot] = a[pivot], a[k]
        for i in range(k + 1, n):
            factor = a[i][k] / a[k][k]
            for j in range(k, n + 1):
                a[i][j] -= factor * a[k][j]
    x = [Decimal(0)] * n
    for k in reversed(range(n)):
        x[k] = (a[k][n] - sum(a[k][j] * x[j] for j in range(k + 1, n))) / a[k][k]
    return x


def reference(mdp, features, theta, drop_below=None):
    """v, q, n, J, ∇J (and G) as Decimal lists, or None when the system is singular.

    ``drop_below``: set π(a|s) < drop_below to 0 (what float64's underflow does), renormalised.
    """
    S, A, n_params = features.shape
    D = Decimal
    logits = [[sum(D(float(theta[j])) * D(float(features[s, a, j])) for j in range(n_params))
               for a in range(A)] for s in range(S)]
    spread = max(max(row) - min(row) for row in logits)
    with localcontext() as context:
        context.prec = 60 + int(spread / D(2.3))
        pi = []
        for row in logits:
            top = max(row)
            weights = [(z - top).exp() for z in row]
            if drop_below is not None:
                total = sum(weights)
                weights = [w if w / total >= drop_below else D(0) for w in weights]
            total = sum(weights)
            pi.append([w / total for w in weights])
        p = [[[D(float(mdp.transitions[s, a, t])) for t in range(S)] for a in range(A)]
             for s in range(S)]
        if mdp.rewards.ndim == 3:   # r(s, a) = Σ_s′ p(s′|s, a) r(s, a, s′), not its rounding
            r = [[sum(p[s][a][t] * D(float(mdp.rewards[s, a, t])) for t in range(S))
                  for a in range(A)] for s in range(S)]
        else:
            r = [[D(float(mdp.rewards[s, a])) for a in range(A)] for s in range(S)]
        gamma = D(float(mdp.gamma))
        live = [s for s in range(S) if not mdp.terminal[s]]
        dead = [s for s in range(S) if mdp.terminal[s]]
        P = [[sum(pi[s][a] * p[s][a][t] for a in range(A)) for t in range(S)] for s in range(S)]
        exits = [sum(pi[s][a] * ((1 - gamma) + gamma * sum(p[s][a][t] for t in dead))
                     for a in range(A)) for s in live]
        M = [[-gamma * P[s][t] if s != t else D(0) for t in live] for s in live]
        for i in range(len(live)):
            M[i][i] = -sum(M[i]) + exits[i]
        r_pi = [sum(pi[s][a] * r[s][a] for a in range(A)) for s in live]
        v_live = _solve(M, r_pi)
        n_live = _solve([list(col) for col in zip(*M, strict=True)],
                        [D(float(mdp.initial[s])) for s in live])
        if v_live is None or n_live is None:
            return None
        v, n = [D(0)] * S, [D(0)] * S
        for i, s in enumerate(live):
            v[s], n[s] = v_live[i], n_live[i]
        q = [[r[s][a] + gamma * sum(p[s][a][t] * v[t] for t in range(S)) for a in range(A)]
             for s in range(S)]
        x = [[[D(float(features[s, a, j])) for j in range(n_params)] for a in range(A)]
             for s in range(S)]
        mean_x = [[sum(pi[s][b] * x[s][b][j] for b in range(A)) for j in range(n_params)]
                  for s in range(S)]
        gradient, size = [D(0)] * n_params, [D(0)] * n_params
        for s in range(S):
            for a in range(A):
                advantage = q[s][a] - sum(pi[s][b] * q[s][b] for b in range(A))
                for j in range(n_params):
                    term = n[s] * pi[s][a] * advantage * (x[s][a][j] - mean_x[s][j])
                    gradient[j] += term
                    size[j] += abs(term)
        J = sum(D(float(mdp.initial[s])) * v[s] for s in range(S))
        return {"v": v, "q": [c for row in q for c in row], "n": n, "J": [J],
                "gradient": gradient, "size": size}


def relative_error(computed, exact_values, scale=None):
    """max |x̂ − x| / max |x| (or / scale), in Decimal."""
    computed = [Decimal(float(c)) for c in np.ravel(computed)]
    largest = max(abs(e) for e in exact_values) if scale is None else scale
    if largest == 0:
        return max(abs(c) for c in computed)
    return max(abs(c - e) for c, e in zip(computed, exact_values, strict=True)) / largest


def float64_cannot_represent(mdp, features, theta, ref) -> bool:
    """Whether the reference allows a raise: a value beyond 1e300, or one that a π < 1e−300
    changes (the answer depends on probabilities float64 cannot hold)."""
    if ref is None:
        return True
    if any(abs(x) > HUGE for key in ("v", "q", "n", "gradient") for x in ref[key]):
        return True
    dropped = reference(mdp, features, theta, drop_below=Decimal("1e-300"))
    if dropped is None:
        return True
    return any(relative_error([float(x) for x in dropped[key]], ref[key]) > TOLERANCE
               for key in ("v", "n", "gradient"))


def check_against_reference(mdp, features, theta):
    """Every exact value within 1e−9 of the reference, or a ValueError the reference allows."""
    policy = SoftmaxLinearPolicy(features)
    ref = reference(mdp, features, theta)
    try:
        pi = policy.action_probs(theta)
        computed = {"v": exact.state_values(mdp, pi), "q": exact.action_values(mdp, pi),
                    "n": exact.discounted_visits(mdp, pi),
                    "J": [exact.objective(mdp, policy, theta)],
                    "gradient": exact.policy_gradient(mdp, policy, theta)}
        mu = exact.on_policy_distribution(mdp, pi)
    except ValueError as error:
        assert float64_cannot_represent(mdp, features, theta, ref), error
        return "raised"
    assert ref is not None
    for key in ("v", "q", "n", "J"):
        assert relative_error(computed[key], ref[key]) <= TOLERANCE, key
    total = sum(ref["n"])
    assert relative_error(mu, [x / total for x in ref["n"]]) <= TOLERANCE
    scale = max(max(abs(g) for g in ref["gradient"]), max(ref["size"]))
    assert relative_error(computed["gradient"], ref["gradient"], scale) <= TOLERANCE
    return "accurate"


# -- random MDPs with logits up to 1e3 ----------------------------------------------------------


@st.composite
def extreme_problems(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n_states, n_actions = draw(st.integers(2, 4)), draw(st.integers(2, 3))
    gamma = draw(st.sampled_from([1.0, 0.9, 0.99, 0.999]))
    rng = np.random.default_rng(seed)
    problem = envs.random_mdp(rng, n_states, n_actions, gamma=gamma,
                              n_terminal=1 if gamma == 1.0 else draw(st.integers(0, 1)),
                              termination_prob=draw(st.sampled_from([0.0, 0.01, 0.3]))
                              if gamma < 1.0 else draw(st.sampled_from([0.01, 0.3])),
                              n_features=draw(st.sampled_from([None, 2])))
    scale = 10.0 ** draw(st.floats(-1.0, 3.0))
    theta = scale * rng.standard_normal(problem.features.shape[2])
    return problem.mdp, problem.features, theta


@settings(max_examples=40)
@given(extreme_problems())
def test_exact_values_of_random_mdps_are_accurate_or_refused(problem):
    check_against_reference(*problem)


# -- the short corridor up to θ = ±700 ----------------------------------------------------------


corridor = envs.short_corridor()


@settings(max_examples=30)
@given(st.floats(-700.0, 700.0), st.floats(-700.0, 700.0))
def test_short_corridor_values_are_accurate_or_refused(right, left):
    check_against_reference(corridor.mdp, corridor.features, np.array([right, left]))


@settings(max_examples=20)
@given(st.floats(-700.0, 700.0))
def test_short_corridor_with_opposite_preferences_is_accurate_or_refused(t):
    check_against_reference(corridor.mdp, corridor.features, np.array([t, -t]))


@pytest.mark.parametrize(("t", "outcome"), [(300.0, "accurate"), (-300.0, "accurate"),
                                            (354.0, "accurate"), (354.41079053957856, "accurate"),
                                            (372.0, "raised"), (-372.0, "raised"),
                                            (700.0, "raised")])
def test_short_corridor_at_the_edge_of_float64(t, outcome):
    """J ≈ −2/(1 − p) or −4/p: representable up to |J| ≈ 1.8e308, i.e. |t| ≈ 354. At
    t = 354.41 (𝒥 ≈ −1.4e308) the float64 path's error bound for ∇𝒥 overflows: refused there
    without an overflow warning (warnings are errors in the suite), ∇𝒥 is then enclosed."""
    assert check_against_reference(corridor.mdp, corridor.features,
                                   np.array([t, -t])) == outcome


@pytest.mark.parametrize("t", [-50.0, -20.0, -18.5, -17.0, -15.0, -1.0, 0.0, 0.3, 5.0, 15.0,
                               17.0, 18.5, 20.0, 37.0, 50.0])
def test_short_corridor_objective_matches_its_closed_form(t):
    r"""J(p) = (2p − 4)/(p(1 − p)) with p = σ(2t), θ = (t, −t), written with exp(−|2t|)."""
    policy = SoftmaxLinearPolicy(corridor.features)
    small = np.exp(-abs(2 * t)) / (1 + np.exp(-abs(2 * t)))  # the smaller of p and 1 − p
    p, one_minus_p = (1 - small, small) if t > 0 else (small, 1 - small)
    closed_form = (2 * p - 4) / (p * one_minus_p)
    value = exact.objective(corridor.mdp, policy, np.array([t, -t]))
    assert value == pytest.approx(closed_form, rel=1e-9)
    # dJ/dt = J′(p)·2p(1 − p) with J′(p) = (2p² − 8p + 4)/(p(1 − p))², zero at p* = 2 − √2
    slope = (2 * p**2 - 8 * p + 4) / (p * one_minus_p) * 2
    gradient = exact.policy_gradient(corridor.mdp, policy, np.array([t, -t]))
    assert gradient[0] - gradient[1] == pytest.approx(slope, rel=1e-9)
    np.testing.assert_allclose(gradient[0], -gradient[1], rtol=1e-12)


def test_the_issues_cases_are_now_right_or_refused():
    policy = SoftmaxLinearPolicy(corridor.features)
    # θ = (−20, 20): J ≈ −9.4e17 (was 0.0), ∇J antisymmetric (was (4.7e17, −2.0))
    value = exact.objective(corridor.mdp, policy, np.array([-20.0, 20.0]))
    assert value == pytest.approx(-9.4154106734808e17, rel=1e-9)
    gradient = exact.policy_gradient(corridor.mdp, policy, np.array([-20.0, 20.0]))
    assert gradient[0] == pytest.approx(-gradient[1], rel=1e-12)
    # π(right|s) = 1e−17 everywhere: every value is negative (was positive)
    pi = np.tile([1e-17, 1.0 - 1e-17], (4, 1))
    assert np.all(exact.state_values(corridor.mdp, pi)[:3] < -1e17)
    # θ = ±372: J ≈ −4e323 lies beyond float64: a PrecisionError naming the states, not NaN
    with pytest.raises(exact.PrecisionError, match=r"float64's range.*s = \d.*π\(a = 0 \| s"):
        exact.objective(corridor.mdp, policy, np.array([-372.0, 372.0]))
    # θ = ±700: π(right) rounds to 0; the message says why
    with pytest.raises(exact.NonTerminatingPolicyError, match="rounds to 0"):
        exact.objective(corridor.mdp, policy, np.array([-700.0, 700.0]))


def test_a_large_chain_with_astronomically_long_episodes_is_answered():
    """A 200-state corridor drifting left (π(right) = 0.3): episodes last about (7/3)^200 ≈
    1e73 steps. The fast path cannot be certified, GTH's float64 a-priori bound 2n³ε exceeds
    1e−9 at n = 200 and its refinement cannot converge (each round multiplies the error by about
    ε‖M⁻¹|M|‖ ≫ 1); GTH in double-double can: v_π, n and 𝒥 match a 300-digit reference to
    1e−12 (the rounding of the products γπp, at most 2nε relative, is all that is left)."""
    n = 200
    mdp, pi = drifting_corridor(n, gamma=1.0)
    with localcontext() as context:
        context.prec = 300
        reference_values = _tridiagonal_solve(n, 1.0, False)
        reference_visits = _tridiagonal_solve(n, 1.0, True)
    assert reference_values[0] < -1e73
    np.testing.assert_allclose(exact.state_values(mdp, pi)[:n], reference_values, rtol=1e-12)
    np.testing.assert_allclose(exact.discounted_visits(mdp, pi)[:n], reference_visits,
                               rtol=1e-12)
    shared = np.tile(np.eye(2), (n + 1, 1, 1))               # x(s, a) = e_a: π(right) = 0.3
    policy = SoftmaxLinearPolicy(shared)
    theta = np.array([np.log(0.3), np.log(0.7)])
    np.testing.assert_allclose(policy.action_probs(theta), pi, rtol=1e-15)
    assert exact.objective(mdp, policy, theta) == pytest.approx(reference_values[0], rel=1e-12,
                                                                abs=0)
    # the errors are entrywise, each entry within its own bound
    from pgref.exact import solver

    solution = solver.solve(chain(mdp, pi, 1.0, "v").system, -np.ones(n))
    assert solution.accurate_path and solution.bound == solution.errors.max()
    assert np.all(np.abs(solution.x - reference_values) <= solution.errors)
    # drifting towards the exit instead (π(right) = 0.7): v(s) ≈ −(n − s)/0.4, and the error
    # bound of the value next to the exit is a hundred times smaller than the largest one
    solution = solver.solve(chain(mdp, pi[:, ::-1], 1.0, "v").system, -np.ones(n))
    assert solution.x[-1] == pytest.approx(-1 + 0.3 * solution.x[-2], rel=1e-9, abs=0)   # Bellman
    assert solution.errors[-1] < 0.01 * solution.bound


def _corridor_gradient_reference(n, gamma, theta):
    """∇𝒥 of :func:`drifting_corridor` under the shared softmax π(a) ∝ exp(θ_a) (features
    x(s, a) = e_a), in 300-digit Decimal from the float θ: ∇𝒥₀ = −∇𝒥₁ =
    Σ_s n(s) π_r π_l (q(s, right) − q(s, left)) with q(s, right) − q(s, left) =
    γ(v(s + 1) − v(max(s − 1, 0))) (both actions cost 1), v and n by tridiagonal elimination."""
    with localcontext() as context:
        context.prec = 300
        right, left = (Decimal(float(t)).exp() for t in theta)
        right, left = right / (right + left), left / (right + left)
        values = [*_tridiagonal_decimals(n, gamma, False, (right, left)), Decimal(0)]
        visits = _tridiagonal_decimals(n, gamma, True, (right, left))
        return float(sum(visits[s] * right * left * Decimal(gamma)
                         * (values[s + 1] - values[max(s - 1, 0)]) for s in range(n)))


def _without_enclosure(patch):
    """The decimal enclosure of pgref.exact.enclosure refuses everything, so that the certified
    float64 and double-double paths are tested alone."""
    from pgref.exact import enclosure

    patch.setattr(enclosure, "gradient", lambda *args, **kwargs: None)


def _drifting_case(n, gamma, p_right):
    """The drifting corridor of n states, the tabular softmax over its two actions, θ with
    π(right) = p_right everywhere, and ∇𝒥₀(θ) from the 300-digit reference."""
    mdp, _ = drifting_corridor(n, gamma)
    policy = SoftmaxLinearPolicy(np.tile(np.eye(2), (n + 1, 1, 1)))
    theta = np.array([np.log(p_right), np.log(1.0 - p_right)])
    return mdp, policy, theta, _corridor_gradient_reference(n, gamma, theta)


def _assert_antisymmetric_match(gradient, reference):
    """∇𝒥 = (g, −g) with g the reference, to 1e−12 relative."""
    assert gradient[0] == pytest.approx(reference, rel=1e-12, abs=0)
    assert gradient[1] == pytest.approx(-reference, rel=1e-12, abs=0)


@pytest.mark.parametrize("n, gamma, p_right", [(20, 0.9, 0.5), (20, 0.99, 0.3), (20, 1.0, 0.3),
                                               (30, 1.0, 0.3)])
def test_a_gradient_made_of_tiny_differences_of_values_is_answered(n, gamma, p_right, monkeypatch):
    """Corridors drifting away from their exit, or too long for the discount to let the exit
    matter: the values agree to many digits (γ = 1, π(right) = 0.3, 20 states: v ≈ −1e8 and
    q(0, right) − q(0, left) = 3.3; γ = 0.9 under the uniform policy: v ≈ −10, A(0, right) ≈
    1.4e−4). Bounds relative to v refuse ∇𝒥; with the values in double-double and the data's
    effect bounded through the adjoint (pgref.exact.value_differences) it matches the 300-digit
    reference to 1e−12 (without the decimal enclosure, which would answer too)."""
    _without_enclosure(monkeypatch)
    mdp, policy, theta, reference = _drifting_case(n, gamma, p_right)
    _assert_antisymmetric_match(exact.policy_gradient(mdp, policy, theta), reference)
    from pgref.exact import value_differences

    def refuse(*args):
        raise exact.PrecisionError("out of range")

    monkeypatch.setattr(value_differences, "theorem_weights", refuse)
    with pytest.raises(exact.PrecisionError, match="differences q"):   # the former bounds
        exact.policy_gradient(mdp, policy, theta)


@pytest.mark.parametrize("seed", range(4))
def test_the_weights_from_double_double_values_agree_with_the_usual_ones(seed):
    """On random MDPs (γ = 0.9, moderate θ) the weights n π A from double-double values agree
    with n, π and A of the usual solves to 1e−12 (within their own bound), the adjoint bound of
    the data's effect is below 1e−12 of the terms, and their sum is ∇𝒥 to 1e−12."""
    from pgref.exact import certified, value_differences

    problem = envs.random_mdp(np.random.default_rng(seed), 6, 3, gamma=0.9, n_terminal=1)
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    theta = 3.0 * np.random.default_rng(seed + 10).standard_normal(problem.features.shape[2])
    pi = policy.action_probs(theta)
    solved = chain(mdp, pi, mdp.gamma, "the values")
    visits = certified.solve_visits(mdp, solved)
    weights, bounds, adjoint = value_differences.theorem_weights(
        mdp, solved, policy.grad_log_prob_table(theta), visits)
    usual = exact.discounted_visits(mdp, pi)[:, None] * pi * exact.advantages(mdp, pi)
    size = np.abs(usual).max()
    assert np.all(np.abs(weights - usual) <= 1e-12 * size)
    assert np.all(bounds <= 1e-12 * size)
    assert 0.0 <= adjoint <= 1e-12 * np.abs(usual).sum()
    summed = np.einsum("sa,sak->k", weights, policy.grad_log_prob_table(theta))
    np.testing.assert_allclose(summed, exact.policy_gradient(mdp, policy, theta), rtol=1e-12,
                               atol=1e-12 * np.abs(summed).max())


def test_double_double_values_of_mixed_sign_rewards_carry_their_documented_errors():
    """doubled_values with rewards of both signs (b = b⁺ − b⁻): v within the float64 solve's
    1e−12 and errors (128n³ε² + 8ε²) M⁻¹|b|, with M⁻¹|b| from a separate solve."""
    from pgref.exact import value_differences

    problem = envs.random_mdp(np.random.default_rng(3), 6, 3, gamma=0.9, n_terminal=1)
    mdp = problem.mdp
    pi = SoftmaxLinearPolicy(problem.features).action_probs(
        np.random.default_rng(4).standard_normal(problem.features.shape[2]))
    solved = chain(mdp, pi, mdp.gamma, "the values")
    index = solved.system.index
    r_pi = np.einsum("sa,sa->s", pi, mdp.expected_rewards)[index]
    assert r_pi.min() < 0 < r_pi.max()
    values, errors, _ = value_differences.doubled_values(mdp, solved)
    np.testing.assert_allclose(values[0], exact.state_values(mdp, pi), rtol=1e-12, atol=1e-12)
    split = np.linalg.solve(solved.system.matrix, np.abs(r_pi))
    eps = np.finfo(float).eps
    np.testing.assert_allclose(errors[index], (128 * len(index)**3 + 8) * eps**2 * split,
                               rtol=1e-9)


def test_the_values_of_the_stated_corridors():
    """The numbers the docstrings quote, from the 300-digit reference: v(0) ≈ −1e8 and
    q(0, right) − q(0, left) = v(1) − v(0) = 10/3 at γ = 1, π(right) = 0.3; v(0) ≈ −10 and
    A(0, right) ≈ 1.4e−4 at γ = 0.9 under the uniform policy (20 states)."""
    with localcontext() as context:
        context.prec = 300
        values = _tridiagonal_decimals(20, 1.0, False)
    assert -2e8 < values[0] < -1e8
    assert float(values[1] - values[0]) == pytest.approx(10 / 3, rel=1e-6, abs=0)
    mdp, _ = drifting_corridor(20, gamma=0.9)
    uniform = np.full((21, 2), 0.5)
    assert exact.state_values(mdp, uniform)[0] == pytest.approx(-10.0, rel=1e-3, abs=0)
    assert exact.advantages(mdp, uniform)[0, 0] == pytest.approx(1.4e-4, rel=0.05, abs=0)


def _sensitivity(n, gamma, p_right):
    """(∇𝒥 at π(right)(1 + 1e−12) / ∇𝒥 at π(right) − 1) · 1e12, π(right) alike in every state,
    from the 300-digit reference."""
    with localcontext() as context:
        context.prec = 300

        def gradient(right):
            values = [*_tridiagonal_decimals(n, gamma, False, (right, 1 - right)), Decimal(0)]
            visits = _tridiagonal_decimals(n, gamma, True, (right, 1 - right))
            return sum(visits[s] * right * (1 - right) * Decimal(gamma)
                       * (values[s + 1] - values[max(s - 1, 0)]) for s in range(n))

        right = Decimal(p_right)
        return float((gradient(right * (1 + Decimal("1e-12"))) / gradient(right) - 1)
                     * Decimal("1e12"))


@pytest.mark.parametrize("n, gamma, p_right", [(40, 0.9, 0.5), (60, 0.9, 0.5)])
def test_the_data_from_theta_in_double_double_answer_what_float64_data_refused(
        n, gamma, p_right, monkeypatch):
    """40 and 60 states at γ = 0.9 under the uniform policy: ∇𝒥 ≈ 2.4e−6 and 3.2e−10. With B, e
    and r_π read from the float64 policy table, the bound of the data's first-order effect
    through v is 4.5e−8 (40 states) of ∇𝒥: refused, although moving π(right) alike in every
    state by a relative 1e−12 moves ∇𝒥 by only 36e−12 (the 300-digit reference). From θ in
    double-double (pgref.exact.doubled_chain) the bound is below 1e−15 of ∇𝒥, and ∇𝒥 matches
    the reference to 1e−12; with the float64 data (the positive control) it is refused. The
    decimal enclosure is left out (it would answer both)."""
    from pgref.exact import certified, doubled_chain, value_differences

    _without_enclosure(monkeypatch)

    mdp, policy, theta, reference = _drifting_case(n, gamma, p_right)
    _assert_antisymmetric_match(exact.policy_gradient(mdp, policy, theta), reference)
    pi = np.tile([p_right, 1.0 - p_right], (n + 1, 1))
    solved = chain(mdp, pi, gamma, "the values")
    visits, scores = certified.solve_visits(mdp, solved), policy.grad_log_prob_table(theta)
    _, _, rounded = value_differences.theorem_weights(mdp, solved, scores, visits)
    _, _, doubled = value_differences.theorem_weights(
        mdp, solved, scores, visits, doubled_chain.from_policy(mdp, solved, policy, theta))
    assert rounded / reference > 1e-9 > 1e-15 > doubled / reference
    if n == 40:
        assert rounded / reference == pytest.approx(4.5e-8, rel=0.05, abs=0)
        assert abs(_sensitivity(n, gamma, p_right)) == pytest.approx(36.0, rel=0.01, abs=0)
    monkeypatch.setattr(doubled_chain, "from_policy",
                        lambda mdp, chain, policy, theta: doubled_chain.from_system(mdp, chain))
    with pytest.raises(exact.PrecisionError, match="reaches the end of its episodes sooner"):
        exact.policy_gradient(mdp, policy, theta)


@pytest.mark.parametrize("n, gamma, p_right", [(60, 1.0, 0.3), (100, 0.9, 0.5), (200, 1.0, 0.3)])
def test_the_decimal_enclosure_answers_what_double_double_refuses(n, gamma, p_right, monkeypatch):
    """Beyond double-double: 60 states at γ = 1, π(right) = 0.3 (episodes of 1e22 steps,
    v ≈ −5e22, while q(0, right) − q(0, left) = 10/3), 100 states at γ = 0.9 under the uniform
    policy (∇𝒥 ≈ 4e−18 against v ≈ −10), 200 states at γ = 1 (v ≈ −1e73). GTH's a-priori bound
    in double-double, 128n³ε²|v|, exceeds 1e−9 of the differences ∇𝒥 is made of; enclosed in
    decimal interval arithmetic (pgref.exact.enclosure) ∇𝒥 matches the 300-digit reference to
    1e−12. Without the enclosure (the positive control) it is refused, with advice that works:
    a θ whose policy reaches the exit sooner (π(right) = 0.7) is answered."""
    mdp, policy, theta, reference = _drifting_case(n, gamma, p_right)
    assert reference > 0
    _assert_antisymmetric_match(exact.policy_gradient(mdp, policy, theta), reference)
    if n == 60:   # E_μ[…] and Σn; the γᵗ-dropped direction is ∇𝒥 itself at γ = 1
        normalised = exact.normalised_policy_gradient(mdp, policy, theta)
        with localcontext() as context:
            context.prec = 300
            right, left = (Decimal(float(t)).exp() for t in theta)
            total = float(sum(_tridiagonal_decimals(n, gamma, True, (right / (right + left),
                                                                     left / (right + left)))))
        assert normalised.total_visits == pytest.approx(total, rel=1e-12, abs=0)
        _assert_antisymmetric_match(normalised.expectation * total, reference)
        _assert_antisymmetric_match(exact.gamma_dropped_direction(mdp, policy, theta),
                                    reference)
    _without_enclosure(monkeypatch)
    with pytest.raises(exact.PrecisionError, match="reaches the end of its episodes sooner"):
        exact.policy_gradient(mdp, policy, theta)
    if n == 60:   # moving π(right) alike everywhere by a relative 1e−12 moves ∇𝒥 by 83e−12
        assert abs(_sensitivity(n, gamma, p_right)) == pytest.approx(83.2, rel=0.01, abs=0)
    sooner = np.array([np.log(0.7), np.log(0.3)])
    assert exact.policy_gradient(mdp, policy, sooner)[0] == pytest.approx(
        _corridor_gradient_reference(n, gamma, sooner), rel=1e-12, abs=0)


def test_an_mlp_policy_beyond_double_double_is_enclosed(monkeypatch):
    """The 60-state drifting corridor at γ = 1 under an MLP policy with one tanh layer whose
    output weights are 0 and output biases log 0.3, log 0.7 (π(right) = 0.3 in every state):
    ∇𝒥 with respect to the output biases is the softmax-linear corridor's (the 300-digit
    reference, to 1e−12), and with respect to an output weight W(j, a) it is h_j times that of
    bias a (the logits are h W + b with h the same in every state). Without the decimal
    enclosure (the positive control) it is refused."""
    from pgref.policies import MLPSoftmaxPolicy

    n = 60
    mdp, _, _, reference = _drifting_case(n, 1.0, 0.3)
    mlp = MLPSoftmaxPolicy(np.eye(n + 1), n_actions=2, hidden_sizes=(3,))
    layers = mlp.unpack(mlp.initial_theta(np.random.default_rng(0)))
    hidden_bias = np.array([0.5, -1.0, 2.0])
    theta = mlp.pack([(layers[0].weights * 0.0, hidden_bias),
                      (np.zeros((3, 2)), np.log([0.3, 0.7]))])
    np.testing.assert_allclose(mlp.action_probs(theta)[:n, 0], 0.3, rtol=1e-12)
    gradient = mlp.unpack(exact.policy_gradient(mdp, mlp, theta))
    _assert_antisymmetric_match(gradient[1].bias, reference)
    np.testing.assert_allclose(gradient[1].weights,
                               np.tanh(hidden_bias)[:, None] * gradient[1].bias[None, :],
                               rtol=1e-12)
    _without_enclosure(monkeypatch)
    with pytest.raises(exact.PrecisionError, match="beyond double-double too"):
        exact.policy_gradient(mdp, mlp, theta)


def test_what_is_still_refused_is_refused_and_says_why(monkeypatch):
    """Past both certified paths, a policy the enclosure does not take (a subclass of the
    softmax-linear policy: its probabilities might not be a softmax of x θ) and a softmax-linear
    one on a chain whose elimination needs more than MOST_OPERATIONS multiply-adds are refused;
    the message names the enclosure's limits and keeps the advice that works."""
    from pgref.exact import enclosure

    class Subclass(SoftmaxLinearPolicy):
        pass

    n = 60
    mdp, policy, theta, _ = _drifting_case(n, 1.0, 0.3)
    with pytest.raises(exact.PrecisionError, match="tanh-MLP policies") as caught:
        exact.policy_gradient(mdp, Subclass(policy.features.source), theta)
    assert "reaches the end of its episodes sooner" in str(caught.value)
    monkeypatch.setattr(enclosure, "MOST_OPERATIONS", n - 2)   # the corridor needs n − 1
    with pytest.raises(exact.PrecisionError, match="elimination needs at most"):
        exact.policy_gradient(mdp, policy, theta)
    monkeypatch.setattr(enclosure, "MOST_OPERATIONS", n - 1)   # the limit itself is allowed
    assert np.all(np.isfinite(exact.policy_gradient(mdp, policy, theta)))


def test_precision_error_names_the_long_episodes_and_the_tiny_probability():
    """The 60-state drifting corridor with rewards of −1e290: episodes of about 1e22 steps, and
    values beyond float64's range. The error says so, naming the states where episodes last
    longest and the three smallest probabilities there."""
    mdp, pi = drifting_corridor(60, gamma=1.0, reward=-1e290)
    with pytest.raises(exact.PrecisionError, match=r"episodes last about .* steps") as caught:
        exact.state_values(mdp, pi)
    assert isinstance(caught.value, ValueError) and caught.value.states
    assert "float64's range" in str(caught.value)
    assert "γ-discounted" not in str(caught.value)
    # the longest episodes start farthest from the exit: states 0, 1, 2 named, 0 first
    assert tuple(caught.value.states) == (0, 1, 2)
    assert "from state s = 0 episodes last about" in str(caught.value)
    assert str(caught.value).count("π(a = ") == 3       # the three smallest probabilities
    # discounted (γ = 1 − 1e−10): the lengths named are the γ-discounted ones
    mdp, pi = drifting_corridor(60, gamma=1.0 - 1e-10, reward=-1e300)
    with pytest.raises(exact.PrecisionError, match=r"last about .* steps \(γ-discounted\)"):
        exact.state_values(mdp, pi)


def test_precision_error_states_the_longest_expected_length():
    """Two live states, episodes of 1e6 steps from s = 0 and of 1 step from s = 1, rewards of
    −1e305 (values beyond float64's range): the error names s = 0 and its 1e6 steps, the
    longest expected length M⁻¹1, not the next one."""
    transitions = np.zeros((3, 2, 3))
    transitions[0, :, 0], transitions[0, :, 2] = 1.0 - 1e-6, 1e-6
    transitions[1, :, 2] = 1.0
    transitions[2, :, 2] = 1.0
    rewards = np.full((3, 2), -1e305)
    rewards[2] = 0.0
    mdp = TabularMDP(transitions, rewards, [1.0, 0.0, 0.0], gamma=1.0,
                     terminal=np.arange(3) == 2)
    with pytest.raises(exact.PrecisionError, match="float64's range") as caught:
        exact.state_values(mdp, np.full((3, 2), 0.5))
    assert "from state s = 0 episodes last about 1e+06 steps" in str(caught.value)
    assert tuple(caught.value.states) == (0, 1)


def test_precision_error_lists_only_possible_actions():
    """The same corridor with a third action of probability exactly 0: the message lists the
    smallest positive probabilities (0.3, …), never an impossible action."""
    mdp, pi = drifting_corridor(60, gamma=1.0, reward=-1e290)
    with_third = TabularMDP(np.concatenate([mdp.transitions, mdp.transitions[:, 1:]], axis=1),
                            np.concatenate([mdp.rewards, mdp.rewards[:, 1:]], axis=1),
                            mdp.initial, terminal=mdp.terminal, gamma=1.0)
    with pytest.raises(exact.PrecisionError) as caught:
        exact.state_values(with_third, np.column_stack([pi, np.zeros(len(pi))]))
    listed = re.findall(r"π\(a = (\d) \| s = \d+\) = (\d[\d.e+-]*\d|\d)", str(caught.value))
    assert listed and all(a != "2" and float(p) > 0 for a, p in listed), listed


def _drifting_reference(n, gamma, transpose):
    """v (transpose False) or n (True) of :func:`drifting_corridor` in 60-digit Decimal, with
    the float data (π = (0.3, 0.7), γ) taken as exact and pgref's exit convention:
    M = diag(D) − B, B = γ P_NN off the diagonal, D(s) = Σ B(s, ·) + e(s),
    e(s) = Σ_a π(a|s)((1 − γ) + γ p(terminal|s, a)). M is a tridiagonal M-matrix: elimination
    without pivoting is O(n) and loses at most about log₁₀ of its 1e6 condition of 60 digits."""
    with localcontext() as context:
        context.prec = 60
        return _tridiagonal_solve(n, gamma, transpose)


def _tridiagonal_solve(n, gamma, transpose):
    """:func:`_tridiagonal_decimals` as floats, for the float table π = (0.3, 0.7)."""
    return np.array([float(v) for v in _tridiagonal_decimals(n, gamma, transpose)])


def _tridiagonal_decimals(n, gamma, transpose, probabilities=None, reward=Decimal(-1)):
    """v or n of :func:`drifting_corridor` in the current Decimal context, π(right), π(left)
    given as Decimals (default the float table (0.3, 0.7), as exact data), r_π = ``reward`` in
    every state."""
    if probabilities is None:
        _, pi = drifting_corridor(1, gamma)
        probabilities = Decimal(float(pi[0, 0])), Decimal(float(pi[0, 1]))
    (right, left), gamma = probabilities, Decimal(gamma)
    upper = [gamma * right if s + 1 < n else Decimal(0) for s in range(n)]   # B(s, s + 1)
    lower = [gamma * left if s > 0 else Decimal(0) for s in range(n)]        # B(s, s − 1)
    exits = [(right + left) * (1 - gamma) + (gamma * right if s == n - 1 else 0)
             for s in range(n)]
    diagonal = [upper[s] + lower[s] + exits[s] for s in range(n)]
    upper, lower = [-b for b in upper], [-b for b in lower]
    if transpose:  # row s of Mᵀ: M(s − 1, s) left of the diagonal, M(s + 1, s) right of it
        lower, upper = [Decimal(0), *upper[:-1]], [*lower[1:], Decimal(0)]
    rhs = [Decimal(1)] + [Decimal(0)] * (n - 1) if transpose else [reward] * n
    for k in range(1, n):
        factor = lower[k] / diagonal[k - 1]
        diagonal[k] -= factor * upper[k - 1]
        rhs[k] -= factor * rhs[k - 1]
    x = [Decimal(0)] * n
    for k in reversed(range(n)):
        x[k] = (rhs[k] - (upper[k] * x[k + 1] if k + 1 < n else 0)) / diagonal[k]
    return x


def test_an_objective_of_rewards_that_nearly_cancel_is_enclosed(monkeypatch):
    """The 60-state drifting corridor at γ = 1 (π(right) = 0.3 from θ = (log 0.3, log 0.7),
    episodes of 1e22 steps) paying +1 to the right and −3/7 to the left: r_π ≈ −7.8e−19, which
    float64 rounds to 0. 𝒥(θ) ≈ −4.1e4 from objective and objective_and_gradient within 1e−12
    of the 300-digit reference (π the softmax of θ in Decimal): the decimal enclosure; refused
    without it. From the policy table alone v is refused even by the enclosure: the table's
    own rounding, ρπ ≈ 1e−16, moves r_π by more than r_π."""
    from pgref.exact import enclosure

    n = 60
    mdp, policy, theta, _ = _drifting_case(n, 1.0, 0.3)
    rewards = np.array(mdp.rewards)
    rewards[:n] = [1.0, -3 / 7]
    mdp = TabularMDP(mdp.transitions, rewards, mdp.initial, terminal=mdp.terminal, gamma=1.0)
    with localcontext() as context:
        context.prec = 300
        right, left = (Decimal(float(t)).exp() for t in theta)
        right, left = right / (right + left), left / (right + left)
        r_pi = right + left * Decimal(-3 / 7)
        assert -1e-18 < r_pi < -1e-19
        expected = float(_tridiagonal_decimals(n, 1.0, False, (right, left), r_pi)[0])
    assert -5e4 < expected < -4e4
    assert exact.objective(mdp, policy, theta) == pytest.approx(expected, rel=1e-12, abs=0)
    assert exact.objective_and_gradient(mdp, policy, theta).objective == pytest.approx(
        expected, rel=1e-12, abs=0)
    with pytest.raises(exact.PrecisionError, match="beyond double-double too"):
        exact.state_values(mdp, policy.action_probs(theta))
    monkeypatch.setattr(enclosure, "objective", lambda *args: None)
    with pytest.raises(exact.PrecisionError, match="beyond double-double too"):
        exact.objective(mdp, policy, theta)


def test_a_large_chain_near_singular_is_answered_where_the_a_priori_bound_refused():
    """γ = 1 − 10⁻⁶ on the 200-state drifting corridor: discounted episodes of about 10⁶
    steps. The fast path's normwise bound cannot certify that, and GTH's a-priori bound
    2n³ε = 3.6e−9 exceeds 1e−9 (this raised before); refined in double-double, with an
    a-posteriori bound, v_π and n match the exact reference to 1e−12 (the rounding of the
    products γπ p, at most 2nε relative, is all that is left)."""
    n, gamma = 200, 1.0 - 1e-6
    assert 2 * n**3 * np.finfo(float).eps > TOLERANCE
    mdp, pi = drifting_corridor(n, gamma)
    values = exact.state_values(mdp, pi)[:n]
    np.testing.assert_allclose(values, _drifting_reference(n, gamma, False), rtol=1e-12)
    visits = exact.discounted_visits(mdp, pi)[:n]
    reference_visits = _drifting_reference(n, gamma, True)
    assert np.max(np.abs(visits - reference_visits)) <= 1e-12 * np.max(reference_visits)


def test_a_large_chain_whose_values_exceed_float64_still_raises():
    """π(right) = 0.3 is replaced by 0.01: episodes of about 99^199 ≈ 1e397 steps, values
    beyond float64's range: PrecisionError, never a number."""
    mdp, _ = drifting_corridor(200, gamma=1.0)
    with pytest.raises(exact.PrecisionError, match="float64's range"):
        exact.state_values(mdp, np.tile([0.01, 0.99], (201, 1)))


def test_a_tiny_gradient_of_a_nearly_deterministic_policy_keeps_its_sign():
    """The issue's kind of case: 5 states, π_min ≈ 1e−240, ∇J tiny; it was returned 4× too
    large with the wrong sign, it must now match the reference to 1e−9."""
    problem = envs.random_mdp(np.random.default_rng(5), 5, 3, gamma=0.9, n_terminal=1)
    theta = 130.0 * np.random.default_rng(6).standard_normal(problem.features.shape[2])
    pi = SoftmaxLinearPolicy(problem.features).action_probs(theta)
    assert 0 < pi.min() < 1e-200
    assert check_against_reference(problem.mdp, problem.features, theta) == "accurate"
    gradient = exact.policy_gradient(problem.mdp, SoftmaxLinearPolicy(problem.features), theta)
    assert np.abs(gradient).max() < 1e-10


def test_where_lapacks_bound_is_too_loose_gth_certifies_the_gradient(monkeypatch):
    """γ = 0.999: LAPACK's normwise bound (‖M⁻¹‖ ≈ 1000 times ε‖v‖) cannot certify the
    differences q(s, a) − q(s, b) the gradient needs; GTH's entrywise bound can, and the
    answer matches the reference."""

    problem = envs.random_mdp(np.random.default_rng(0), 2, 3, gamma=0.999)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3267, -5.1103, -24.4228, -32.2144, 37.6492, 6.2091])
    assert check_against_reference(problem.mdp, problem.features, theta) == "accurate"
    _fast_path_alone(monkeypatch)
    with pytest.raises(exact.PrecisionError, match="cannot be certified"):
        exact.policy_gradient(problem.mdp, policy, theta)


def _fast_path_alone(patch):
    """No retry on GTH elimination (nor on double-double values, nor in decimal arithmetic) when
    a certificate built on the fast path's solve fails."""
    from pgref.exact import certified, value_differences

    solve = certified.solve
    patch.setattr(certified, "solve",
                  lambda *args, accurate=False, **kwargs: solve(*args, accurate=False, **kwargs))

    def refuse(*args):
        raise exact.PrecisionError("not on the fast path")

    patch.setattr(value_differences, "theorem_weights", refuse)
    _without_enclosure(patch)


@pytest.mark.parametrize("next_state_rewards", [False, True])
def test_the_bounds_of_q_and_of_the_advantages_are_their_documented_formulas(next_state_rewards):
    """action_values_of and advantages_of against their docstrings' bounds, by loops:
    δ(s, a) = γ Σ_s′ p(s′|s, a)(δv(s′) + sum_rounding(S)|v(s′)|), the rounding of r(s, a),
    δr = (S + 1)ε Σ_s′ p|r(s, a, s′)| (0 for rewards r(s, a)), q's bound max δ + ε max|q| +
    max δr, and A's bound Σ_{b≠a} π_b (δ_a + δr_a + δ_b + δr_b + ((A + 3)ε + ρ_b)|q_a − q_b| +
    2ε|r_a − r_b|)."""
    from pgref.exact import certified, solver

    problem = envs.random_mdp(np.random.default_rng(8), 4, 3, gamma=0.9, n_terminal=1,
                              next_state_rewards=next_state_rewards)
    mdp = problem.mdp
    pi = SoftmaxLinearPolicy(problem.features).action_probs(
        9.0 * np.random.default_rng(9).standard_normal(problem.features.shape[2]))
    errors = np.array([1e-12, 3e-13, 2e-14, 0.0])
    values = solver.Solution(np.array([-3.0, 1.5, 0.25, 0.0]), 1e-12, np.ones(4), False, errors)
    q = certified.action_values_of(mdp, values)
    eps = np.finfo(float).eps
    delta = np.array([[0.9 * sum(mdp.transitions[s, a, z] * (errors[z] + solver.sum_rounding(4)
                                                              * abs(values.x[z]))
                                 for z in range(4)) for a in range(3)] for s in range(4)])
    r = mdp.expected_rewards
    future = np.array([[0.9 * mdp.transitions[s, a] @ values.x for a in range(3)]
                       for s in range(4)])
    reward_rounding = np.zeros((4, 3))
    if next_state_rewards:
        reward_rounding = np.array([[5 * eps * sum(mdp.transitions[s, a, z] * abs(
            mdp.rewards[s, a, z]) for z in range(4)) for a in range(3)] for s in range(4)])
        assert reward_rounding.max() > 0
    np.testing.assert_allclose(q.q, r + future, rtol=1e-14)
    np.testing.assert_allclose(q.next_errors, delta, rtol=1e-14)
    np.testing.assert_allclose(q.reward_errors, reward_rounding, rtol=1e-14)
    assert q.bound == pytest.approx(delta.max() + eps * np.abs(r + future).max()
                                    + reward_rounding.max(), rel=1e-14, abs=0)
    delta = delta + reward_rounding

    rho = solver.policy_relative_error(pi)
    expected = np.zeros((4, 3))
    for s in range(4):
        for a in range(3):
            for b in range(3):
                gap = (r[s, a] - r[s, b]) + (future[s, a] - future[s, b])
                expected[s, a] += pi[s, b] * ((delta[s, a] + delta[s, b] if b != a else 0.0)
                                              + (6 * eps + rho[s, b]) * abs(gap)
                                              + 2 * eps * abs(r[s, a] - r[s, b]))
    advantages = certified.advantages_of(pi, q)
    np.testing.assert_allclose(advantages.bound, expected, rtol=1e-12)
    np.testing.assert_allclose(advantages.advantage, q.q - (pi * q.q).sum(axis=1, keepdims=True),
                               rtol=1e-9, atol=1e-12)


def test_certification_does_not_depend_on_the_unit_of_reward():
    """The γ = 0.999 case above with every reward times 1e−6 (∇J of size below 1): LAPACK alone
    is still refused, GTH still certifies, and ∇J is 1e−6 times the original."""

    problem = envs.random_mdp(np.random.default_rng(0), 2, 3, gamma=0.999)
    mdp = problem.mdp
    small = TabularMDP(mdp.transitions, 1e-6 * mdp.rewards, mdp.initial, gamma=mdp.gamma,
                       terminal=mdp.terminal)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3267, -5.1103, -24.4228, -32.2144, 37.6492, 6.2091])
    gradient = exact.policy_gradient(small, policy, theta)
    assert np.abs(gradient).max() < 1.0
    np.testing.assert_allclose(gradient, 1e-6 * exact.policy_gradient(mdp, policy, theta),
                               rtol=1e-9)
    with pytest.MonkeyPatch.context() as patch:
        _fast_path_alone(patch)
        with pytest.raises(exact.PrecisionError, match="cannot be certified"):
            exact.policy_gradient(small, policy, theta)


@pytest.mark.parametrize("next_state_rewards", [False, True])
def test_the_values_carry_the_documented_error_of_the_reward_vector(next_state_rewards):
    """solve_values passes δr = max_s Σ_a π(a|s) [(ρ(s, a) + (A + 1)ε) |r(s, a)| + δr(s, a)] to
    the solver (δr(s, a) = (S + 1)ε Σ_s′ p|r(s, a, s′)| for rewards r(s, a, s′), the rounding of
    their expected value; 0 for rewards r(s, a)): the same bound as solving M v = r_π with that
    δr by hand."""
    from pgref.exact import certified, solver

    problem = envs.random_mdp(np.random.default_rng(1), 5, 3, gamma=0.9, n_terminal=1,
                              next_state_rewards=next_state_rewards)
    pi = SoftmaxLinearPolicy(problem.features).action_probs(
        8.0 * np.random.default_rng(2).standard_normal(problem.features.shape[2]))
    solved = chain(problem.mdp, pi, 0.9, "the values")
    index = solved.system.index
    rewards = problem.mdp.expected_rewards[index]
    rho = solver.policy_relative_error(pi[index]) + 4 * np.finfo(float).eps
    rounding = np.zeros((5, 3))
    if next_state_rewards:
        rounding = 6 * np.finfo(float).eps * np.einsum(
            "saz,saz->sa", problem.mdp.transitions, np.abs(problem.mdp.rewards))
    r_error = max(sum(pi[s, a] * (rho[i, a] * abs(rewards[i, a]) + rounding[s, a])
                      for a in range(3)) for i, s in enumerate(index))
    r_pi = np.einsum("sa,sa->s", pi[index], rewards)
    by_hand = solver.solve(solved.system, r_pi, rhs_error=r_error)
    values = certified.solve_values(problem.mdp, solved, "the values")
    assert values.bound == pytest.approx(by_hand.bound, rel=1e-12, abs=0)
    np.testing.assert_allclose(values.x[index], by_hand.x, rtol=1e-14)


def _documented_difference_error(future, future_error, difference, r, r_bound):
    """The bound value_differences.action_value_differences documents for q_a − q_b:
    δF_a + δF_b + 12ε²(|r_a − r_b| + |F_a| + |F_b|) + ε|q_a − q_b| + δr_a + δr_b +
    4ε²(|r_a| + |r_b|), with F = γ p v (``future``) and r, δr the expected rewards and their
    errors (S, A) (δr = 0 for rewards r(s, a))."""
    eps, f = np.finfo(float).eps, future[0]
    r_bound = np.broadcast_to(r_bound, r.shape)
    return (future_error[:, :, None] + future_error[:, None, :]
            + 12 * eps**2 * (np.abs(r[:, :, None] - r[:, None, :]) + np.abs(f[:, :, None])
                             + np.abs(f[:, None, :])) + eps * np.abs(difference)
            + r_bound[:, :, None] + r_bound[:, None, :]
            + 4 * eps**2 * (np.abs(r[:, :, None]) + np.abs(r[:, None, :])))


def _documented_weight_bounds(pi, difference, difference_error, visits, lost=0.0):
    """A = Σ_b π_b (q_a − q_b) and the bound value_differences.theorem_weights documents for
    n π A: n(π δA + (ρ + 4ε)|πA| + lost) + δn|πA|, δA = Σ_b π_b δ(q_a − q_b) +
    Σ_b ((A + 3)ε + ρ_b) π_b |q_a − q_b| (``lost``: the allowance for π below TINY)."""
    from pgref.exact import solver

    eps, n_actions = np.finfo(float).eps, pi.shape[1]
    rho = solver.policy_relative_error(pi)
    advantage = np.einsum("sb,sab->sa", pi, difference)
    advantage_error = (np.einsum("sb,sab->sa", pi, difference_error)
                       + np.einsum("sb,sab->sa", ((n_actions + 3) * eps + rho) * pi,
                                   np.abs(difference)))
    pi_a = np.abs(pi * advantage)
    return advantage, (visits.x[:, None] * (pi * advantage_error + (rho + 4 * eps) * pi_a + lost)
                       + visits.errors[:, None] * pi_a)


@pytest.mark.parametrize("n, gamma", [(60, 1.0), (20, 0.9), (30, 0.9), (31, 0.9)])
def test_the_pieces_from_double_double_values_carry_their_documented_errors(n, gamma):
    """pgref.exact.value_differences, piece by piece, on two drifting corridors (π(right) = 0.3:
    v ≈ −5e22 at γ = 1, where the double-double terms dominate the bounds; v ≈ −10 at γ = 0.9,
    where the float64 ones do; S = 31 and 32 states, where ⌈log₂(S + 1)⌉ steps up), against
    300-digit values and each docstring's formula:
    v within (128n³ε² + 8ε²) M⁻¹|b|; γ p v within γ p(δv + (12 + 4⌈log₂(S + 1)⌉)ε²|v|);
    q_a − q_b within δF_a + δF_b + 12ε²(|r_a − r_b| + |F_a| + |F_b|) + ε|q_a − q_b| +
    4ε²(|r_a| + |r_b|) (rewards r(s, a): their expected rewards' error 0); the weights'
    bounds n(π δA + (ρ + 4ε)|πA|) + δn|πA| with δA = Σ_b π_b δ(q_a − q_b) +
    Σ_b ((A + 3)ε + ρ_b) π_b |q_a − q_b|; the adjoint bound Σ_i |z|_i (δ w_i + ‖δb‖) with
    |z| ≤ |M⁻ᵀL| + (128n³ε² + 8ε²) M⁻ᵀ|L| + M⁻ᵀλ from a separate 300-digit solve."""
    from pgref.exact import certified, solver, value_differences

    mdp, pi = drifting_corridor(n, gamma)
    solved = chain(mdp, pi, gamma, "the values")
    eps = np.finfo(float).eps
    with localcontext() as context:   # M = diag(ΣB + e) − B from the float parts, as exact data
        context.prec = 300
        parts = solved.system.off_diagonal(), solved.system.exits
        matrix = [[-Decimal(float(parts[0][i, j])) for j in range(n)] for i in range(n)]
        for i in range(n):
            matrix[i][i] = sum(Decimal(float(b)) for b in parts[0][i]) + Decimal(float(parts[1][i]))
        rhs = [Decimal(-1)] * n
        for k in range(n):                          # an M-matrix: no pivoting needed
            for i in range(k + 1, n):
                if matrix[i][k]:
                    factor = matrix[i][k] / matrix[k][k]
                    matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[k], strict=True)]
                    rhs[i] -= factor * rhs[k]
        reference = [Decimal(0)] * (n + 1)
        for k in reversed(range(n)):
            reference[k] = (rhs[k] - sum(matrix[k][j] * reference[j] for j in range(k + 1, n))
                            ) / matrix[k][k]
    values, errors, r_error = value_differences.doubled_values(mdp, solved)
    magnitude = np.array([float(abs(v)) for v in reference])
    np.testing.assert_allclose(errors, (128 * n**3 * eps**2 + 8 * eps**2) * magnitude,
                               rtol=1e-12)
    with localcontext() as context:
        context.prec = 300
        for s in range(n + 1):
            assert abs(Decimal(float(values[0][s])) + Decimal(float(values[1][s]))
                       - reference[s]) <= Decimal(float(errors[s]))
    future, future_error = value_differences.future_values(mdp, values, errors, gamma)
    rounds = 12 + 4 * math.ceil(math.log2(n + 2))
    expected = gamma * np.einsum("saz,z->sa", mdp.transitions,
                                 errors + rounds * eps**2 * np.abs(values[0]))
    np.testing.assert_allclose(future_error, expected, rtol=1e-12)
    difference, difference_error = value_differences.action_value_differences(
        mdp, future, future_error)
    expected = _documented_difference_error(future, future_error, difference,
                                            mdp.expected_rewards, 0.0)
    np.testing.assert_allclose(difference_error, expected, rtol=1e-12)
    with localcontext() as context:   # q(s, right) − q(s, left) = γ(v(s + 1) − v(max(s − 1, 0)))
        context.prec = 300
        for s in range(n):
            truth = Decimal(gamma) * (reference[s + 1] - reference[max(s - 1, 0)])
            assert abs(Decimal(float(difference[s, 0, 1])) - truth) <= Decimal(
                float(difference_error[s, 0, 1]))

    visits = certified.solve_visits(mdp, solved)
    policy = SoftmaxLinearPolicy(np.tile(np.eye(2), (n + 1, 1, 1)))
    scores = policy.grad_log_prob_table(np.log(pi[0]))
    weights, bounds, adjoint = value_differences.theorem_weights(mdp, solved, scores, visits)
    advantage, expected = _documented_weight_bounds(pi, difference, difference_error, visits)
    np.testing.assert_allclose(weights, visits.x[:, None] * pi * advantage, rtol=1e-15)
    np.testing.assert_allclose(bounds, expected, rtol=1e-12)
    # the adjoint bound: z⁺, z⁻ and the margin's M⁻ᵀλ from a 300-digit solve of Mᵀ
    system = solved.system
    coefficients = (visits.x[:, None] * pi)[:, :, None] * scores
    flat = mdp.transitions.reshape(-1, n + 1)[:, :n]
    adjoint_vector = gamma * coefficients.reshape(-1, 2).T @ flat                    # L (K, n)
    margin = gamma * (solver.sum_rounding(2 * (n + 1)) + 8 * eps) * (
        np.abs(coefficients).reshape(-1, 2).T @ flat)
    right_sides = np.concatenate([np.maximum(adjoint_vector, 0), np.maximum(-adjoint_vector, 0),
                                  margin]).T                                         # (n, 3K)
    with localcontext() as context:
        context.prec = 300
        transposed = [[-Decimal(float(parts[0][j, i])) for j in range(n)] for i in range(n)]
        for i in range(n):
            transposed[i][i] = sum(Decimal(float(b)) for b in parts[0][i]) + Decimal(
                float(parts[1][i]))
        rows = [transposed[i] + [Decimal(float(b)) for b in right_sides[i]] for i in range(n)]
        for k in range(n):
            for i in range(k + 1, n):
                if rows[i][k]:
                    factor = rows[i][k] / rows[k][k]
                    rows[i] = [a - factor * b for a, b in zip(rows[i], rows[k], strict=True)]
        solved_columns = [[Decimal(0)] * 6 for _ in range(n)]
        for k in reversed(range(n)):
            for c in range(6):
                solved_columns[k][c] = (rows[k][n + c] - sum(
                    rows[k][j] * solved_columns[j][c] for j in range(k + 1, n))) / rows[k][k]
        z = np.array([[float(row[c] - row[c + 2]) for c in range(2)] for row in solved_columns])
        parts_sum = np.array([[float(row[c] + row[c + 2]) for c in range(2)]
                              for row in solved_columns])
        spread = np.array([[float(row[c + 4]) for c in range(2)] for row in solved_columns])
        live = [reference[i] for i in range(n)]
        w = np.array([float(Decimal(float(parts[1][i])) * abs(live[i]) + sum(
            Decimal(float(parts[0][i, j])) * abs(live[i] - live[j]) for j in range(n)))
            for i in range(n)])
    eta = 128 * n**3 * eps**2 + 8 * eps**2
    z_size = np.abs(z) + eta * parts_sum + spread
    expected = np.max(z_size.T @ (system.data_error() * w + r_error))
    assert adjoint == pytest.approx(expected, rel=1e-6, abs=0)


def test_the_value_difference_bounds_with_transition_rewards_and_a_probability_below_tiny():
    """The terms the corridors above leave at zero, on a 5-state random MDP (γ = 0.9) with
    rewards r(s, a, s′) of both signs. With the data from θ in double-double, r_π has low parts
    under rewards of both signs, and v lies within its bound of a 300-digit solve of those data
    (a negative low part taken with the wrong sign moves v by about ε|v|, far beyond the bound).
    Then, with π(0|0) = 1e−310 (below TINY = 2.2e−308) and the float64 data: q_a − q_b within
    its bound, whose formula carries the expected rewards' errors δr_a + δr_b and is symmetric
    in a and b; the weights' bounds in state 0 carry the term n TINY (q_max − q_min)."""
    from pgref.exact import certified, doubled_chain, solver, value_differences

    problem = envs.random_mdp(np.random.default_rng(8), 5, 2, gamma=0.9, n_terminal=1,
                              next_state_rewards=True)
    terminal = problem.mdp.terminal
    rewards = np.where(terminal[:, None, None], 0.0, problem.mdp.rewards - 0.5)
    mdp = TabularMDP(problem.mdp.transitions, rewards, problem.mdp.initial, gamma=0.9,
                     terminal=terminal)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(9).standard_normal(problem.features.shape[2])
    solved = chain(mdp, policy.action_probs(theta), mdp.gamma, "the values")
    data = doubled_chain.from_policy(mdp, solved, policy, theta)
    r_hi, r_lo = data.rewards
    assert np.any(r_hi < 0) and np.any(r_hi > 0) and np.all(r_lo != 0)
    values, errors, _ = value_differences.doubled_values(mdp, solved, data)
    index = solved.system.index
    n = index.size
    with localcontext() as context:          # M v = r_π, the double-double data taken as exact
        context.prec = 300

        def exact_pair(pair, *where):
            return Decimal(float(pair[0][where])) + Decimal(float(pair[1][where]))

        matrix = [[-exact_pair(data.off_diagonal, i, j) for j in range(n)] for i in range(n)]
        for i in range(n):
            matrix[i][i] = sum(exact_pair(data.off_diagonal, i, j) for j in range(n)
                               if j != i) + exact_pair(data.exits, i)
        truth = _solve(matrix, [exact_pair(data.rewards, i) for i in range(n)])
        for k, s in enumerate(index):
            gap = abs(Decimal(float(values[0][s])) + Decimal(float(values[1][s])) - truth[k])
            assert gap <= Decimal(float(errors[s]))
    pi = policy.action_probs(theta)
    pi[0] = (1e-310, 1.0)
    solved = chain(mdp, pi, mdp.gamma, "the values")
    values, errors, _ = value_differences.doubled_values(mdp, solved)
    future, future_error = value_differences.future_values(mdp, values, errors, mdp.gamma)
    difference, difference_error = value_differences.action_value_differences(
        mdp, future, future_error)
    (r, _), r_bound = doubled_chain.expected_rewards(mdp)
    assert np.all(r_bound[~terminal] > 0)
    expected = _documented_difference_error(future, future_error, difference, r, r_bound)
    np.testing.assert_allclose(difference_error, expected, rtol=1e-12)
    np.testing.assert_array_equal(difference_error, difference_error.transpose(0, 2, 1))
    np.testing.assert_array_equal(difference, -difference.transpose(0, 2, 1))
    visits = certified.solve_visits(mdp, solved)
    scores = policy.grad_log_prob_table(theta)
    weights, bounds, _ = value_differences.theorem_weights(mdp, solved, scores, visits)
    spread = difference.max(axis=(1, 2))
    assert spread[0] > 0 and spread[0] != 1.0
    lost = np.where(pi.min(axis=1) < solver.TINY, solver.TINY * spread, 0.0)[:, None]
    assert lost[0, 0] > 0 and np.all(lost[1:] == 0)
    advantage, expected = _documented_weight_bounds(pi, difference, difference_error, visits,
                                                    lost)
    np.testing.assert_allclose(weights, visits.x[:, None] * pi * advantage, rtol=1e-15)
    np.testing.assert_allclose(bounds, expected, rtol=1e-12)
    assert bounds[0, 0] >= visits.x[0] * solver.TINY * spread[0] * (1 - 1e-12)


def test_a_gradient_with_components_far_below_its_largest_is_enclosed(monkeypatch):
    """A random MDP at γ = 1 with logits about 500 apart (a draw on which both certified paths
    refuse): ∇𝒥 has components from 4e−97 down to 2e−276. Enclosed in decimal arithmetic, the
    largest matches the reference to 1e−12 and the others lie within 1e−10 of it (the
    norm-wise rule: entries below float64's normal range may round to 0); refused without the
    enclosure."""
    rng = np.random.default_rng(1341201418)
    problem = envs.random_mdp(rng, 4, 3, gamma=1.0, n_terminal=1, termination_prob=0.01,
                              next_state_rewards=True)
    theta = 503.8891285184897 * rng.standard_normal(problem.features.shape[2])
    check_against_reference(problem.mdp, problem.features, theta)
    ref = [float(g) for g in reference(problem.mdp, problem.features, theta)["gradient"]]
    gradient = exact.policy_gradient(problem.mdp, SoftmaxLinearPolicy(problem.features), theta)
    largest = int(np.argmax(np.abs(ref)))
    assert 1e-97 < abs(ref[largest]) < 1e-96
    assert gradient[largest] == pytest.approx(ref[largest], rel=1e-12, abs=0)
    assert min(abs(g) for g in ref if g != 0) < 1e-270
    _without_enclosure(monkeypatch)
    with pytest.raises(exact.PrecisionError, match="beyond double-double too"):
        exact.policy_gradient(problem.mdp, SoftmaxLinearPolicy(problem.features), theta)


@pytest.mark.parametrize("unit", [1e-12, 1.0])
def test_action_values_are_certified_on_the_float64_paths_at_any_unit_of_reward(unit,
                                                                                 monkeypatch):
    """exact.action_values on a well-conditioned random MDP, every reward times 1e−12 (or 1):
    answered with the decimal enclosure switched off — q's certificate is relative, in every
    part — and equal to r + γ p v with v from a plain solve on the non-terminal states, to
    1e−12."""
    from pgref.exact import enclosure

    monkeypatch.setattr(enclosure, "action_values", lambda *args, **kwargs: None)
    problem = envs.random_mdp(np.random.default_rng(3), 4, 3, gamma=0.9, n_terminal=1)
    mdp = problem.mdp
    scaled = TabularMDP(mdp.transitions, unit * mdp.rewards, mdp.initial, gamma=mdp.gamma,
                        terminal=mdp.terminal)
    pi = SoftmaxLinearPolicy(problem.features).action_probs(
        np.random.default_rng(4).standard_normal(problem.features.shape[2]))
    live = ~mdp.terminal
    moves = np.einsum("sa,saz->sz", pi, mdp.transitions)[np.ix_(live, live)]
    rewards = np.einsum("sa,sa->s", pi, scaled.expected_rewards)[live]
    values = np.zeros(mdp.n_states)
    values[live] = np.linalg.solve(np.eye(live.sum()) - mdp.gamma * moves, rewards)
    expected = scaled.expected_rewards + mdp.gamma * mdp.transitions @ values
    expected[mdp.terminal] = 0.0
    np.testing.assert_allclose(exact.action_values(scaled, pi), expected, rtol=0,
                               atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("unit", [1e-12, 1e12])
def test_the_certified_gradient_scales_with_the_unit_of_reward(unit, monkeypatch):
    """Every reward times 1e−12 or 1e12 on a well-conditioned random MDP: ∇𝒥 is certified on
    the float64 paths (the decimal enclosure switched off), and is the unit times ∇𝒥 of the
    original rewards to rounding — its certificate is relative, in every part."""
    problem = envs.random_mdp(np.random.default_rng(3), 4, 3, gamma=0.9, n_terminal=1)
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(4).standard_normal(problem.features.shape[2])
    scaled = TabularMDP(mdp.transitions, unit * mdp.rewards, mdp.initial, gamma=mdp.gamma,
                        terminal=mdp.terminal)
    _without_enclosure(monkeypatch)
    expected = unit * exact.policy_gradient(mdp, policy, theta)
    np.testing.assert_allclose(exact.policy_gradient(scaled, policy, theta), expected,
                               rtol=1e-12)
    normalised = exact.normalised_policy_gradient(scaled, policy, theta)
    np.testing.assert_allclose(normalised.expectation * normalised.total_visits, expected,
                               rtol=1e-12)


def test_a_policy_that_states_no_table_errors_is_certified_on_the_assumed_rounding(monkeypatch):
    """A DiscretePolicy without the table-error hooks: the exact layer assumes a log-sum-exp
    table and scores accurate to (A + 4)ε of each state's largest (the gradient module's
    docstring); on a well-conditioned random MDP ∇𝒥 is certified on the float64 paths alone and
    equals the softmax-linear policy's, which states its errors."""

    class NoStatedErrors(SoftmaxLinearPolicy):
        def table_logit_errors(self, theta):
            return None

    problem = envs.random_mdp(np.random.default_rng(3), 4, 3, gamma=0.9, n_terminal=1)
    theta = np.random.default_rng(4).standard_normal(problem.features.shape[2])
    _without_enclosure(monkeypatch)
    assert NoStatedErrors(problem.features).table_errors(theta) is None
    np.testing.assert_allclose(
        exact.policy_gradient(problem.mdp, NoStatedErrors(problem.features), theta),
        exact.policy_gradient(problem.mdp, SoftmaxLinearPolicy(problem.features), theta),
        rtol=1e-12)
