"""Tests of pgref.exact: every exact quantity against an independent route.

Routes: central finite differences of J (for ∇J), the tabular-softmax closed form, iterative
policy evaluation (for v and q), the blog's φ recursion and truncated series (for n), hand
solutions written as formulas, and exhaustive enumeration of the trajectories of a tiny episodic
MDP (the lecture's trajectory form of the gradient).
"""

import math

import numpy as np
import pytest
from helpers import layered_mdp
from hypothesis import given
from hypothesis import strategies as st

from pgref import envs, exact
from pgref.features import one_hot_state_features
from pgref.mdp import TabularMDP
from pgref.numerics import central_difference
from pgref.policies import MLPSoftmaxPolicy, SoftmaxLinearPolicy

# -- random problems drawn by hypothesis --------------------------------------------------------

seeds = st.integers(0, 2**32 - 1)


@st.composite
def random_problems(draw, n_features=True, episodic=None):
    """A random MDP, episodic with γ = 1 or discounted with γ < 1, and a random softmax θ.

    ``episodic`` None draws either kind; ``n_features`` False keeps the one-hot features.
    """
    seed = draw(seeds)
    n_states, n_actions = draw(st.integers(2, 6)), draw(st.integers(1, 4))
    episodic = draw(st.booleans()) if episodic is None else episodic
    n_terminal = draw(st.integers(1, n_states - 1)) if episodic else draw(st.integers(0, 1))
    gamma = 1.0 if episodic else draw(st.floats(0.0, 0.95))
    rng = np.random.default_rng(seed)
    problem = envs.random_mdp(
        rng, n_states, n_actions, gamma=gamma, n_terminal=n_terminal,
        termination_prob=draw(st.floats(0.1, 1.0)),
        n_features=draw(st.integers(1, 4)) if n_features and draw(st.booleans()) else None,
        next_state_rewards=draw(st.booleans()),
    )
    policy = SoftmaxLinearPolicy(problem.features)
    theta = draw(st.floats(0.0, 3.0)) * rng.standard_normal(policy.n_params)
    return problem.mdp, policy, theta


def fd_tolerance(values):
    """atol for a 4th-order central difference with h = 1e-4: O(h⁴) truncation, O(ε|J|/h) rounding.

    Returns 1e-8 · (1 + max |value|). Over 400 drawn problems the largest error seen was
    2e-11 · (1 + max |value|), so this is tight enough to catch any wrong term.
    """
    return 1e-8 * (1.0 + np.max(np.abs(values)))


def iterative_policy_evaluation(mdp, pi, tolerance=1e-13, max_sweeps=100_000):
    """v ← Σ_a π(a|s)[r(s, a) + γ Σ_s′ p(s′|s, a) v(s′)], from v = 0, until it stops moving.

    Written from the raw arrays (not P_π or r_π), with terminal values held at 0.
    """
    values = np.zeros(mdp.n_states)
    for _ in range(max_sweeps):
        backup = mdp.expected_rewards + mdp.gamma * np.einsum("saz,z->sa", mdp.transitions,
                                                               values)
        new = np.where(mdp.terminal, 0.0, (pi * backup).sum(axis=1))
        if np.max(np.abs(new - values)) < tolerance:
            return new
        values = new
    raise AssertionError("policy evaluation did not converge")


# -- ∇J by the theorem against finite differences of J ------------------------------------------


@given(random_problems())
def test_policy_gradient_matches_finite_differences_of_the_objective(problem):
    mdp, policy, theta = problem
    grad = exact.policy_gradient(mdp, policy, theta)
    numeric = central_difference(lambda t: exact.objective(mdp, policy, t), theta, step=1e-4)
    np.testing.assert_allclose(grad, numeric, rtol=0, atol=fd_tolerance(numeric))


@given(random_problems(), st.sampled_from([1.0, 10.0, 40.0]))
def test_objective_and_gradient_are_the_two_functions_at_once(problem, scale):
    """The same 𝒥 and ∇𝒥 as :func:`exact.objective` and :func:`exact.policy_gradient` (each
    checked by its own independent routes in this file), also for near-deterministic θ; where
    either of them raises, so does the pair."""
    mdp, policy, theta = problem
    theta = scale * theta
    separate, errors = [], []
    for function in (exact.objective, exact.policy_gradient):
        try:
            separate.append(function(mdp, policy, theta))
        except (exact.PrecisionError, exact.NonTerminatingPolicyError) as error:
            errors.append(type(error))
    if errors:
        with pytest.raises(tuple(errors)):
            exact.objective_and_gradient(mdp, policy, theta)
        return
    both = exact.objective_and_gradient(mdp, policy, theta)
    assert both.objective == pytest.approx(separate[0], rel=1e-13, abs=1e-300)
    np.testing.assert_allclose(both.gradient, separate[1], rtol=1e-13,
                               atol=1e-13 * np.abs(separate[1]).max())


@given(seed=seeds, n_states=st.integers(2, 5), n_actions=st.integers(2, 3),
       hidden=st.sampled_from([(), (3,), (4, 2)]), episodic=st.booleans())
def test_policy_gradient_of_a_deep_policy_network_matches_finite_differences(
        seed, n_states, n_actions, hidden, episodic):
    rng = np.random.default_rng(seed)
    problem = envs.random_mdp(rng, n_states, n_actions, gamma=1.0 if episodic else 0.8,
                              n_terminal=1 if episodic else 0, termination_prob=0.2)
    policy = MLPSoftmaxPolicy(one_hot_state_features(n_states), n_actions, hidden_sizes=hidden)
    theta = policy.initial_theta(rng, scale=2.0) + 0.5 * rng.standard_normal(policy.n_params)
    grad = exact.policy_gradient(problem.mdp, policy, theta)
    numeric = central_difference(lambda t: exact.objective(problem.mdp, policy, t), theta,
                                 step=1e-4)
    np.testing.assert_allclose(grad, numeric, rtol=0, atol=fd_tolerance(numeric))


@given(random_problems(n_features=False))
def test_tabular_softmax_gradient_is_visits_times_probability_times_advantage(problem):
    """With one-hot features, ∂J/∂θ_{s,a} = n(s) π(a|s) A(s, a), θ_{s,a} at index s·A + a."""
    mdp, policy, theta = problem
    pi = policy.action_probs(theta)
    closed_form = (exact.discounted_visits(mdp, pi)[:, None] * pi
                   * exact.advantages(mdp, pi)).reshape(-1)
    grad = exact.policy_gradient(mdp, policy, theta)
    np.testing.assert_allclose(grad, closed_form, rtol=1e-10, atol=1e-12)


def test_bandit_gradient_is_probability_times_mean_minus_average():
    """∂J/∂θ_a = π_a (r_a − Σ_b π_b r_b) for a softmax over arms."""
    means = np.array([1.0, -0.5, 3.0, 0.25])
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3, -1.0, 0.2, 1.5])
    pi = np.exp(theta) / np.exp(theta).sum()
    np.testing.assert_allclose(exact.policy_gradient(problem.mdp, policy, theta),
                               pi * (means - pi @ means), rtol=1e-13, atol=1e-15)


# -- v, q, n, μ, φ against their defining equations ---------------------------------------------


@given(random_problems())
def test_values_match_iterative_policy_evaluation(problem):
    mdp, policy, theta = problem
    pi = policy.action_probs(theta)
    r_pi = [sum(pi[s, a] * mdp.expected_rewards[s, a] for a in range(mdp.n_actions))
            for s in range(mdp.n_states)]
    np.testing.assert_allclose(exact.policy_rewards(mdp, pi), r_pi, rtol=0, atol=1e-14)
    iterated = iterative_policy_evaluation(mdp, pi)
    # The sweeps stop at a change < 1e-13 with a contraction ≤ 0.95 per sweep, so they sit
    # within 2e-12 of the fixed point; the solve is accurate to ~1e-13 here.
    np.testing.assert_allclose(exact.state_values(mdp, pi), iterated, rtol=0, atol=1e-10)
    q = exact.action_values(mdp, pi)
    bellman = mdp.expected_rewards + mdp.gamma * mdp.transitions @ iterated
    np.testing.assert_allclose(q, np.where(mdp.terminal[:, None], 0.0, bellman), rtol=0,
                               atol=1e-10)
    np.testing.assert_allclose((pi * q).sum(axis=1), iterated, rtol=0, atol=1e-10)
    np.testing.assert_allclose((pi * exact.advantages(mdp, pi)).sum(axis=1), 0.0, atol=1e-10)


@given(random_problems())
def test_k_step_visits_follow_the_blogs_recursion(problem):
    """φ(s→x, 0) = 1{s = x}, φ(s→x, 1) = Σ_a π(a|s) p(x|s, a),
    φ(s→x, k+1) = Σ_s′ φ(s→s′, k) φ(s′→x, 1) (blog: the φ detour)."""
    mdp, policy, theta = problem
    pi = policy.action_probs(theta)
    np.testing.assert_array_equal(exact.k_step_visits(mdp, pi, 0), np.eye(mdp.n_states))
    one_step = np.array([[sum(pi[s, a] * mdp.transitions[s, a, x] for a in range(mdp.n_actions))
                          for x in range(mdp.n_states)] for s in range(mdp.n_states)])
    np.testing.assert_allclose(exact.k_step_visits(mdp, pi, 1), one_step, rtol=0, atol=1e-15)
    np.testing.assert_allclose(exact.policy_transitions(mdp, pi), one_step, rtol=0, atol=1e-15)
    previous = one_step
    for k in range(2, 6):
        phi = exact.k_step_visits(mdp, pi, k)
        np.testing.assert_allclose(phi, previous @ one_step, rtol=0, atol=1e-14)
        np.testing.assert_allclose(phi.sum(axis=1), 1.0, rtol=0, atol=1e-13)  # rows stay laws
        previous = phi


@given(random_problems())
def test_visits_are_the_truncated_series_of_discounted_k_step_visits(problem):
    """n(x) = Σ_s p₀(s) Σ_{k=0}^{K} γᵏ φ(s→x, k) on non-terminal x, K large enough.

    Each term is at most max(γ, 1 − termination_prob)ᵏ ≤ 0.95ᵏ, so K = 1500 leaves < 1e-30.
    """
    mdp, policy, theta = problem
    pi = policy.action_probs(theta)
    one_step = exact.k_step_visits(mdp, pi, 1)
    occupancy, series = mdp.initial.copy(), np.zeros(mdp.n_states)  # p₀ᵀ φ(·, k)
    for k in range(1500):
        series += mdp.gamma**k * occupancy
        occupancy = occupancy @ one_step
    series[mdp.terminal] = 0.0
    visits = exact.discounted_visits(mdp, pi)
    np.testing.assert_allclose(visits, series, rtol=1e-10, atol=1e-12)
    # and the blog's recursion n(s) = p₀(s) + γ Σ_s′ n(s′) φ(s′→s, 1) on non-terminal s
    recursion = mdp.initial + mdp.gamma * visits @ one_step
    np.testing.assert_allclose(visits[mdp.nonterminal], recursion[mdp.nonterminal], atol=1e-12)


@given(random_problems())
def test_on_policy_distribution_sums_to_one_and_normalises_the_theorem(problem):
    mdp, policy, theta = problem
    pi = policy.action_probs(theta)
    mu = exact.on_policy_distribution(mdp, pi)
    visits = exact.discounted_visits(mdp, pi)
    assert mu.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(mu >= 0) and np.all(mu[mdp.terminal] == 0)
    np.testing.assert_allclose(mu * visits.sum(), visits, rtol=1e-12, atol=1e-15)
    normalised = exact.normalised_policy_gradient(mdp, policy, theta)
    assert normalised.total_visits == pytest.approx(visits.sum(), rel=1e-12, abs=0)
    assert normalised.total_visits >= 1.0 - 1e-12  # every episode makes at least one step
    np.testing.assert_allclose(normalised.total_visits * normalised.expectation,
                               exact.policy_gradient(mdp, policy, theta), rtol=1e-10,
                               atol=1e-12)


def test_normalised_gradient_of_long_episodes_is_the_closed_form_over_the_visits():
    """Short corridor at θ = (−8, 8): p = π(right) = σ(θ₁ − θ₂) = σ(−16) (right is action 0,
    x(s, a) = e_a), episodes of about 4/p ≈ 3.6e7 steps.
    ∂𝒥/∂θ₁ = −∂𝒥/∂θ₂ = 𝒥′(p) p(1 − p) with 𝒥(p) = (2p − 4)/(p(1 − p)) (Sutton & Barto), so
    𝒥′(p) = (2p(1 − p) − (2p − 4)(1 − 2p))/(p(1 − p))²; Σn(s) is certified with the gradient
    (its error bound scaled by 1/Σn like the expectation, not by Σn)."""
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([-8.0, 8.0])
    p = 1.0 / (1.0 + math.exp(16.0))
    slope = (2 * p * (1 - p) - (2 * p - 4) * (1 - 2 * p)) / (p * (1 - p)) ** 2
    closed_form = slope * p * (1 - p) * np.array([1.0, -1.0])
    normalised = exact.normalised_policy_gradient(problem.mdp, policy, theta)
    assert normalised.total_visits > 3e7
    np.testing.assert_allclose(normalised.expectation * normalised.total_visits, closed_form,
                               rtol=1e-9)


def test_total_visits_of_a_continuing_task_is_one_over_one_minus_gamma():
    problem = envs.random_mdp(np.random.default_rng(3), 4, 2, gamma=0.75)
    policy = SoftmaxLinearPolicy(problem.features)
    normalised = exact.normalised_policy_gradient(problem.mdp, policy, np.zeros(8))
    assert normalised.total_visits == pytest.approx(1 / (1 - 0.75), rel=1e-13, abs=0)


# -- a small MDP solved by hand -----------------------------------------------------------------


def chain_solution(p0, p1, gamma):
    """envs.two_state_chain solved by hand, p_s = π(stay|s) (see its docstring)."""
    v1 = 2 * p1 / (1 - gamma * p1)
    v0 = (p0 + gamma * (1 - p0) * v1) / (1 - gamma * p0)
    n0 = 1 / (1 - gamma * p0)
    n1 = gamma * (1 - p0) * n0 / (1 - gamma * p1)
    q = np.array([[1 + gamma * v0, gamma * v1], [2 + gamma * v1, 0.0], [0.0, 0.0]])
    # dJ/dp₀ and dJ/dp₁ of J = v0(p₀, p₁), then dp/dθ_{s,stay} = p(1 − p) = −dp/dθ_{s,go}
    d_v0_d_p0 = ((1 - gamma * v1) * (1 - gamma * p0) + gamma * (p0 + gamma * (1 - p0) * v1)) \
        / (1 - gamma * p0) ** 2
    d_v0_d_p1 = gamma * (1 - p0) / (1 - gamma * p0) * 2 / (1 - gamma * p1) ** 2
    grad = np.array([d_v0_d_p0 * p0 * (1 - p0), -d_v0_d_p0 * p0 * (1 - p0),
                     d_v0_d_p1 * p1 * (1 - p1), -d_v0_d_p1 * p1 * (1 - p1), 0.0, 0.0])
    return np.array([v0, v1, 0.0]), q, np.array([n0, n1, 0.0]), grad


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.9, 1.0])
@pytest.mark.parametrize("p0, p1", [(0.5, 0.5), (0.2, 0.9), (0.95, 0.1)])
def test_two_state_chain_matches_its_hand_solution(gamma, p0, p1):
    problem = envs.two_state_chain(gamma)
    policy = SoftmaxLinearPolicy(problem.features)
    logit = np.log([p0 / (1 - p0), p1 / (1 - p1)])
    theta = np.array([logit[0], 0.0, logit[1], 0.0, 0.0, 0.0])
    pi = policy.action_probs(theta)
    v, q, n, grad = chain_solution(p0, p1, gamma)
    mdp = problem.mdp
    np.testing.assert_allclose(exact.state_values(mdp, pi), v, rtol=1e-12)
    np.testing.assert_allclose(exact.action_values(mdp, pi), q, rtol=1e-12)
    np.testing.assert_allclose(exact.discounted_visits(mdp, pi), n, rtol=1e-12)
    assert exact.objective(mdp, policy, theta) == pytest.approx(v[0], rel=1e-12, abs=0)
    np.testing.assert_allclose(exact.policy_gradient(mdp, policy, theta), grad, rtol=1e-11,
                               atol=1e-14)


# -- the trajectory form, by enumerating every trajectory ---------------------------------------


def trajectories(mdp, pi, state, probability=1.0, prefix=()):
    """Yield (p(τ), τ) for every trajectory from ``state``; τ is a tuple of (s, a, r, s′)."""
    if mdp.terminal[state]:
        yield probability, prefix
        return
    for action in range(mdp.n_actions):
        for next_state in np.flatnonzero(mdp.transitions[state, action]):
            step_probability = pi[state, action] * mdp.transitions[state, action, next_state]
            reward = mdp.rewards[state, action, next_state]
            yield from trajectories(mdp, pi, next_state, probability * step_probability,
                                    (*prefix, (state, action, reward, next_state)))


@given(seed=seeds, n_live=st.integers(1, 3), n_actions=st.integers(1, 3),
       gamma=st.sampled_from([1.0, 0.9, 0.5]), n_features=st.integers(1, 3))
def test_trajectory_form_by_enumeration_equals_the_theorem(seed, n_live, n_actions, gamma,
                                                          n_features):
    """Σ_τ p(τ) G(τ) Σₜ ∇ log π(Aₜ|Sₜ) = ∇J (lecture: "Log-Derivative Trick" → theorem).

    Also Σ_τ p(τ) G(τ) = J, Σ_τ p(τ) = 1, and with reward-to-go Gₜ: Σₜ γᵗ Gₜ ∇ log π gives ∇J
    while Σₜ Gₜ ∇ log π (γᵗ dropped) gives :func:`exact.gamma_dropped_direction`.
    """
    rng = np.random.default_rng(seed)
    mdp = layered_mdp(rng, n_live, n_actions, gamma)
    policy = SoftmaxLinearPolicy(rng.standard_normal((n_live + 1, n_actions, n_features)))
    theta = rng.standard_normal(n_features)
    pi = policy.action_probs(theta)
    total_probability, expected_return = 0.0, 0.0
    whole_return, discounted_to_go, undiscounted_to_go = (np.zeros(n_features) for _ in range(3))
    for start in np.flatnonzero(mdp.initial):
        for probability, tau in trajectories(mdp, pi, start, mdp.initial[start]):
            states = np.array([step[0] for step in tau])
            actions = np.array([step[1] for step in tau])
            rewards = np.array([step[2] for step in tau])
            discounts = gamma ** np.arange(len(tau))
            scores = policy.grad_log_prob(theta, states, actions)  # (T, n_params)
            to_go = np.array([discounts[: len(tau) - t] @ rewards[t:] for t in range(len(tau))])
            total_probability += probability
            expected_return += probability * (discounts @ rewards)
            whole_return += probability * (discounts @ rewards) * scores.sum(axis=0)
            discounted_to_go += probability * (discounts * to_go) @ scores
            undiscounted_to_go += probability * to_go @ scores
    grad = exact.policy_gradient(mdp, policy, theta)
    assert total_probability == pytest.approx(1.0, abs=1e-12)
    assert expected_return == pytest.approx(exact.objective(mdp, policy, theta), abs=1e-12)
    np.testing.assert_allclose(whole_return, grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(discounted_to_go, grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(undiscounted_to_go,
                               exact.gamma_dropped_direction(mdp, policy, theta),
                               rtol=1e-10, atol=1e-12)


# -- the γᵗ-dropped direction -------------------------------------------------------------------


@given(random_problems(episodic=True))
def test_gamma_dropped_direction_is_the_gradient_when_gamma_is_one(problem):
    mdp, policy, theta = problem
    assert mdp.gamma == 1.0
    np.testing.assert_allclose(exact.gamma_dropped_direction(mdp, policy, theta),
                               exact.policy_gradient(mdp, policy, theta), rtol=1e-12, atol=1e-12)
    pi = policy.action_probs(theta)
    np.testing.assert_allclose(exact.undiscounted_visits(mdp, pi),
                               exact.discounted_visits(mdp, pi), rtol=1e-12, atol=1e-14)


def test_gamma_dropped_direction_differs_from_the_gradient_when_gamma_is_below_one():
    problem = envs.two_state_chain(gamma=0.5)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    grad = exact.policy_gradient(problem.mdp, policy, theta)
    dropped = exact.gamma_dropped_direction(problem.mdp, policy, theta)
    # In state 1 the dropped direction weighs by n₁(1) = (1 − p₀)/((1 − p₀)(1 − p₁)) = 1/(1 − p₁)
    # visits instead of n(1) = γ(1 − p₀)/((1 − γp₀)(1 − γp₁)): the θ₁ entries scale by n₁/n.
    p0, p1 = 0.5, 1 / (1 + np.exp(-1.0))
    ratio = (1 / (1 - p1)) / (0.5 * (1 - p0) / ((1 - 0.5 * p0) * (1 - 0.5 * p1)))
    np.testing.assert_allclose(dropped[2:4], ratio * grad[2:4], rtol=1e-12)
    assert ratio > 3 and np.linalg.norm(dropped - grad) > 0.5 * np.linalg.norm(grad)


def test_gamma_dropped_direction_is_not_a_gradient_field_when_gamma_is_below_one():
    """A gradient field has a symmetric Jacobian (a Hessian); the dropped direction's is not.

    Finite-difference Jacobians, 4th order with h = 1e-4: their error is below 1e-8 here, far
    under the asymmetry of ≈ 0.1 that the dropped direction shows.
    """
    problem = envs.two_state_chain(gamma=0.5)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3, -0.2, 1.0, 0.4, 0.0, 0.0])
    hessian = central_difference(lambda t: exact.policy_gradient(problem.mdp, policy, t), theta,
                                 step=1e-4)
    jacobian = central_difference(
        lambda t: exact.gamma_dropped_direction(problem.mdp, policy, t), theta, step=1e-4)
    np.testing.assert_allclose(hessian, hessian.T, rtol=0, atol=1e-8)
    assert np.max(np.abs(jacobian - jacobian.T)) > 0.05


# -- gradient ascent on the short corridor ------------------------------------------------------


def test_gradient_ascent_on_the_short_corridor_finds_the_optimum():
    """θ ← θ + α ∇J(θ) from θ = 0 reaches p* = 2 − √2, J* = −(6 + 4√2); ∇J vanishes there."""
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta, alpha = np.zeros(2), 0.05  # α = 0.2 already overshoots into a saturated softmax
    for _ in range(200):
        theta = theta + alpha * exact.policy_gradient(problem.mdp, policy, theta)
    p = policy.action_probs(theta)[0, 0]
    assert p == pytest.approx(2 - np.sqrt(2), abs=1e-9)
    assert exact.objective(problem.mdp, policy, theta) == pytest.approx(-(6 + 4 * np.sqrt(2)),
                                                                          rel=1e-12)
    assert np.max(np.abs(exact.policy_gradient(problem.mdp, policy, theta))) < 1e-9
    optimum = np.array([np.log((2 - np.sqrt(2)) / (np.sqrt(2) - 1)), 0.0])  # logit of p*
    np.testing.assert_allclose(exact.policy_gradient(problem.mdp, policy, optimum), 0.0,
                               atol=1e-12)


# -- termination, γ = 1 -------------------------------------------------------------------------


def test_non_terminating_policy_with_gamma_one_names_its_states_and_suggests_gamma_below_one():
    problem = envs.gridworld(width=3, height=2)  # goal (2, 1) = state 5
    pi = np.zeros((6, 4))
    pi[:, 1] = 1.0  # always up: only the column x = 2 reaches the goal
    for function in (exact.state_values, exact.action_values, exact.advantages,
                     exact.discounted_visits, exact.on_policy_distribution):
        with pytest.raises(exact.NonTerminatingPolicyError,
                           match=r"gamma = 1.*pi never reaches a terminal state from state\(s\) "
                                 r"\[0, 1, 3, 4\].*gamma < 1") as caught:
            function(problem.mdp, pi)
        assert caught.value.states == (0, 1, 3, 4)
        assert isinstance(caught.value, ValueError)
    discounted = envs.gridworld(width=3, height=2, gamma=0.9).mdp
    values = exact.state_values(discounted, pi)  # fine with γ < 1 …
    np.testing.assert_allclose(values[[0, 1, 3, 4]], -1 / (1 - 0.9), rtol=1e-12)
    with pytest.raises(exact.NonTerminatingPolicyError,
                       match=r"\[0, 1, 3, 4\].*undiscounted.*exists only for a policy"):
        exact.undiscounted_visits(discounted, pi)  # … but n₁ stays infinite


def test_saturated_softmax_with_gamma_one_raises_rather_than_solving_a_singular_system():
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    # p = π(right) = exp(−1e4) = 0.0 in floating point: left forever, 2 → 1 → 2 and 0 → 0;
    # p = 1.0: right forever, 0 → 1 → 0 (only state 2 reaches the goal).
    for theta, stuck in (([0.0, 1e4], r"\[0, 1, 2\]"), ([1e4, 0.0], r"\[0, 1\]")):
        with pytest.raises(exact.NonTerminatingPolicyError, match=stuck):
            exact.objective(problem.mdp, policy, np.array(theta))
        with pytest.raises(exact.NonTerminatingPolicyError, match=stuck):
            exact.policy_gradient(problem.mdp, policy, np.array(theta))


def test_a_long_list_of_non_terminating_states_is_shortened_in_the_message_only():
    n_states = 30
    stay = np.eye(n_states)[:, None, :]  # one action: stay put, forever
    mdp = TabularMDP(stay, np.zeros((n_states, 1)), np.eye(n_states)[0])
    with pytest.raises(exact.NonTerminatingPolicyError,
                       match=r"\[0, 1, .*, 19\] and 10 more") as caught:
        exact.state_values(mdp, np.ones((n_states, 1)))
    assert caught.value.states == tuple(range(n_states))


def test_nearly_non_terminating_policy_is_solved_not_refused():
    """p = π(right) = 1e-6 > 0: the goal is reachable, J(p) = 2(p − 2)/(p(1 − p)) ≈ −4e6.

    The system's condition number is ~1e12, so LAPACK would keep ~4 digits; the accurate path
    keeps them all (tests/test_exact_accuracy.py goes to p = 1e−300).
    """
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    p = 1e-6
    theta = np.array([np.log(p / (1 - p)), 0.0])
    value = exact.objective(problem.mdp, policy, theta)
    assert value == pytest.approx(2 * (p - 2) / (p * (1 - p)), rel=1e-9)


def test_gamma_dropped_direction_of_a_continuing_task_is_refused():
    problem = envs.random_mdp(np.random.default_rng(0), 3, 2, gamma=0.9)
    policy = SoftmaxLinearPolicy(problem.features)
    with pytest.raises(exact.NonTerminatingPolicyError,
                       match=r"\[0, 1, 2\].*n₁ counts visits without discount"):
        exact.gamma_dropped_direction(problem.mdp, policy, np.zeros(6))


# -- bad input ----------------------------------------------------------------------------------


def _pi(changes):
    pi = np.full((4, 2), 0.5)
    for index, value in changes.items():
        pi[index] = value
    return pi


BAD_TABLES = {
    "row off 1": (_pi({(1, 0): 0.7}),
                  r"each row pi\[s, :\] must sum to 1; at s = 1 it sums to 1\.2 \(off by \+0\.2"),
    "negative": (_pi({(2, 0): -0.5, (2, 1): 1.5}), r"pi must hold probabilities ≥ 0; pi\[2, 0\]"),
    "shape": (np.full((3, 2), 0.5), r"pi must be a policy table of shape \(S, A\) = \(4, 2\)"),
    "rank": (np.full(4, 0.5), r"pi must have 2 dimension"),
    "nan": (_pi({(0, 1): np.nan}), r"pi must be finite"),
    "inf": (_pi({(3, 1): np.inf}), r"pi must be finite"),
}


@pytest.mark.parametrize("function", [
    exact.policy_transitions, exact.policy_rewards, exact.state_values, exact.action_values,
    exact.advantages, exact.discounted_visits, exact.undiscounted_visits,
    exact.on_policy_distribution, lambda mdp, pi: exact.k_step_visits(mdp, pi, 2),
])
@pytest.mark.parametrize("pi, message", BAD_TABLES.values(), ids=BAD_TABLES.keys())
def test_bad_policy_tables_are_refused_with_a_message_naming_pi(function, pi, message):
    with pytest.raises(ValueError, match=message):
        function(envs.short_corridor().mdp, pi)


@pytest.mark.parametrize("k, message", [(-1, r"k must be an integer ≥ 0"),
                                        (1.5, r"k must be an integer")])
def test_k_step_visits_refuses_a_bad_k(k, message):
    with pytest.raises(ValueError, match=message):
        exact.k_step_visits(envs.short_corridor().mdp, np.full((4, 2), 0.5), k)


def test_policy_functions_refuse_a_policy_that_does_not_fit_the_mdp():
    corridor = envs.short_corridor()
    wrong_size = SoftmaxLinearPolicy(envs.gridworld().features)
    with pytest.raises(ValueError, match=r"policy.action_probs\(theta\) must be a policy table "
                                         r"of shape \(S, A\) = \(4, 2\)"):
        exact.objective(corridor.mdp, wrong_size, np.zeros(wrong_size.n_params))
    for function in (exact.objective, exact.policy_gradient, exact.normalised_policy_gradient,
                     exact.gamma_dropped_direction):
        with pytest.raises(ValueError, match=r"policy must be a discrete policy"):
            function(corridor.mdp, object(), np.zeros(2))
        with pytest.raises(ValueError, match=r"mdp must be a pgref.TabularMDP"):
            function(corridor.mdp.transitions, SoftmaxLinearPolicy(corridor.features),
                     np.zeros(2))
        with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(2,\)"):
            function(corridor.mdp, SoftmaxLinearPolicy(corridor.features), np.zeros(3))


# -- the benchmark ------------------------------------------------------------------------------


def test_quick_benchmark_prints_a_table_whose_two_gradients_agree():
    """A smoke run of ``python -m pgref bench exact --quick``: its times are not checked."""
    from pgref.benchmarks import run

    lines = run("exact", quick=True)
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("| ") and "S |" not in line]
    differences, solves = rows[:2], rows[2:]
    assert [int(row[0]) for row in differences] == [10, 30]
    assert [int(row[0]) for row in solves] == [10, 30]
    for row in differences:
        theorem_time, differences_time, ratio, gap = (float(cell) for cell in row[1:])
        assert theorem_time > 0 and differences_time > 0 and ratio > 0
        assert gap < 1e-6  # FD of order 2 with h = 1e-5: error ≲ 1e-9 relative
    for row in solves:
        theorem_time, solves_time, ratio, accurate_time = (float(cell) for cell in row[1:])
        assert theorem_time > 0 and solves_time > 0 and ratio > 0 and accurate_time > 0


def test_zero_rewards_give_exact_zeros_not_a_precision_error():
    """All rewards 0: v, q, A, J and ∇J are exactly 0, certified with a bound of 0 against a size
    of 0 (the certificate's ≤ must accept equality)."""
    problem = envs.random_mdp(np.random.default_rng(2), 4, 2, gamma=0.9, n_terminal=1)
    mdp = TabularMDP(problem.mdp.transitions, np.zeros((4, 2)), problem.mdp.initial,
                     gamma=0.9, terminal=problem.mdp.terminal)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(3).standard_normal(policy.n_params)
    pi = policy.action_probs(theta)
    np.testing.assert_array_equal(exact.state_values(mdp, pi), 0.0)
    np.testing.assert_array_equal(exact.action_values(mdp, pi), 0.0)
    np.testing.assert_array_equal(exact.advantages(mdp, pi), 0.0)
    assert exact.objective(mdp, policy, theta) == 0.0
    np.testing.assert_array_equal(exact.policy_gradient(mdp, policy, theta), 0.0)


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_relabelling_the_states_permutes_every_exact_value(gamma):
    """A terminal state moved into the middle (the non-terminal states no longer a contiguous
    block): v, q, n and μ are permuted, J and ∇J unchanged."""
    problem = envs.random_mdp(np.random.default_rng(2), 5, 2, gamma=gamma, n_terminal=1)
    mdp, features = problem.mdp, problem.features
    order = np.array([0, 4, 1, 2, 3])  # new state i is old state order[i]: the terminal at 1
    assert mdp.terminal[4] and not mdp.terminal[:4].any()
    relabelled = TabularMDP(mdp.transitions[order][:, :, order], mdp.rewards[order],
                            mdp.initial[order], gamma=gamma, terminal=mdp.terminal[order])
    policy, moved = SoftmaxLinearPolicy(features), SoftmaxLinearPolicy(features[order])
    theta = np.random.default_rng(3).standard_normal(policy.n_params)
    pi, moved_pi = policy.action_probs(theta), moved.action_probs(theta)
    for name in ("state_values", "action_values", "discounted_visits", "on_policy_distribution"):
        np.testing.assert_allclose(getattr(exact, name)(relabelled, moved_pi),
                                   getattr(exact, name)(mdp, pi)[order], rtol=1e-12,
                                   atol=1e-14, err_msg=name)
    assert exact.objective(relabelled, moved, theta) == pytest.approx(
        exact.objective(mdp, policy, theta), rel=1e-12)
    np.testing.assert_allclose(exact.policy_gradient(relabelled, moved, theta),
                               exact.policy_gradient(mdp, policy, theta), rtol=1e-10, atol=1e-14)


def test_the_underflow_note_appears_only_when_some_probability_is_exactly_zero():
    stay = np.eye(3)[:, None, :]  # one action: stay put, forever
    mdp = TabularMDP(stay, np.zeros((3, 1)), np.eye(3)[0])
    with pytest.raises(exact.NonTerminatingPolicyError) as caught:
        exact.state_values(mdp, np.ones((3, 1)))  # π > 0 everywhere: no note
    assert "exactly 0" not in str(caught.value)
    gridworld = envs.gridworld(width=3, height=2).mdp
    always_up = np.zeros((6, 4))
    always_up[:, 1] = 1.0
    with pytest.raises(exact.NonTerminatingPolicyError, match=r"π\(a\|s\) there are exactly 0"):
        exact.state_values(gridworld, always_up)
