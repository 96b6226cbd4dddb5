r"""Tests of the natural policy gradient and of the O(1/t) rate of exact softmax ascent.

Oracles: the Fisher information written out per state for one-hot features,
n(s)(diag π_s − π_s π_sᵀ); the natural gradient of the tabular softmax equals the centred
advantage table; and, for a K-armed bandit under exact softmax gradient ascent with step α, the
gradient-flow limit t·(J* − J(θₜ)) → k / ((k + 1) α), with k the number of sub-optimal arms
(derived in the test below). None of these is what the code computes.
"""

import numpy as np
import pytest

from pgref import TabularMDP, envs, exact
from pgref import algorithms as alg
from pgref.algorithms import natural
from pgref.features import one_hot_features
from pgref.policies import SoftmaxLinearPolicy


def _random_problem(seed=3):
    problem = envs.random_mdp(np.random.default_rng(seed), 6, 3, gamma=0.9, n_terminal=1)
    policy = SoftmaxLinearPolicy(problem.features)  # one-hot x(s, a): θ_{s,a} at 3s + a
    theta = np.random.default_rng(seed + 1).normal(size=policy.n_params)
    return problem, policy, theta


def test_fisher_of_one_hot_softmax_is_block_diagonal_with_the_per_state_formula():
    problem, policy, theta = _random_problem()
    pi = policy.action_probs(theta)
    visits = exact.discounted_visits(problem.mdp, pi)
    fisher = alg.fisher_information(problem.mdp, policy, theta)
    n_actions = problem.mdp.n_actions
    expected = np.zeros_like(fisher)
    for s in range(problem.mdp.n_states):
        block = slice(s * n_actions, (s + 1) * n_actions)
        expected[block, block] = visits[s] * (np.diag(pi[s]) - np.outer(pi[s], pi[s]))
    np.testing.assert_allclose(fisher, expected, rtol=1e-12, atol=1e-14)
    # singular: shifting every preference of one state by the same amount changes nothing
    for s in range(problem.mdp.n_states):
        shift = np.zeros(policy.n_params)
        shift[s * n_actions : (s + 1) * n_actions] = 1.0
        np.testing.assert_allclose(fisher @ shift, 0.0, atol=1e-12)


def test_natural_gradient_of_tabular_softmax_is_the_centred_advantage():
    problem, policy, theta = _random_problem()
    pi = policy.action_probs(theta)
    advantages = exact.advantages(problem.mdp, pi)                  # q_π − v_π, (S, A)
    visits = exact.discounted_visits(problem.mdp, pi)
    natural = alg.natural_policy_gradient(problem.mdp, policy, theta).reshape(advantages.shape)
    centred = advantages - advantages.mean(axis=1, keepdims=True)
    visited = visits > 0
    np.testing.assert_allclose(natural[visited], centred[visited], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(natural[~visited], 0.0, atol=1e-12)  # min-norm: F's null space


def test_damped_natural_gradient_tends_to_the_min_norm_one():
    problem, policy, theta = _random_problem()
    undamped = alg.natural_policy_gradient(problem.mdp, policy, theta)
    errors = [np.abs(alg.natural_policy_gradient(problem.mdp, policy, theta, damping=lam)
                     - undamped).max() for lam in (1e-2, 1e-4, 1e-6)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-4
    # the damped direction still ascends: ∇Jᵀ (F + λI)⁻¹ ∇J > 0
    gradient = exact.policy_gradient(problem.mdp, policy, theta)
    assert gradient @ alg.natural_policy_gradient(problem.mdp, policy, theta, 1e-2) > 0


def test_natural_ascent_beats_vanilla_ascent_on_the_short_corridor():
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta_0 = np.array([-0.55, 0.55])
    j_star = -(6 + 4 * np.sqrt(2))
    natural = alg.natural_gradient_ascent(problem.mdp, policy, theta_0, alpha=0.2, n_updates=20)
    vanilla = alg.exact_gradient_ascent(problem.mdp, policy, theta_0, alpha=0.02, n_updates=20)
    assert np.all(np.diff(natural.objective) > 0)
    assert j_star - natural.objective[-1] < 1e-7
    # vanilla with α = 0.02, monotone here (α = 0.05 already overshoots p*), same budget
    assert j_star - vanilla.objective[-1] > 1e-5


# -- the rate of exact softmax policy gradient on a bandit --------------------------------------


def test_exact_softmax_ascent_on_a_bandit_converges_at_rate_one_over_t():
    r"""Mei et al. (2020): J* − J(θₜ) = Θ(1/t) for exact softmax policy gradient.

    The limit of t·(J* − J(θₜ)), by the gradient flow dθ/dt = α∇J: near the optimum,
    with πₐ ≈ exp(θₐ − θ*) ≪ 1 for the k sub-optimal arms a and Δₐ = r* − rₐ,

        d(θₐ − θ*)/dt ≈ −α (πₐΔₐ + Σ_b π_bΔ_b).

    Trying πₐ = cₐ/(αt) gives cₐΔₐ + Σ_b c_bΔ_b = 1 for every a, so Σ_b c_bΔ_b = k/(k + 1)
    and t·(J* − J) = Σₐ πₐΔₐ · t → k / ((k + 1) α), whatever the gaps Δₐ.
    """
    means = np.array([1.0, 0.6, 0.2])  # k = 2 sub-optimal arms
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    alpha, n_updates = 1.0, 1000
    history = alg.exact_gradient_ascent(problem.mdp, policy, np.zeros(3), alpha, n_updates)
    t = np.arange(n_updates + 1)
    gap = means.max() - history.objective
    late = t >= 100
    slope = alg.loglog_slope(t[late], gap[late])
    assert slope == pytest.approx(-1.0, abs=0.05)
    limit = 2 / (3 * alpha)
    assert gap[-1] * t[-1] == pytest.approx(limit, rel=0.03)
    assert abs(gap[-1] * t[-1] - limit) < abs(gap[100] * t[100] - limit)  # levelling off


def test_natural_ascent_on_the_bandit_converges_linearly():
    # θₐ ← θₐ + α A(a): π_{t+1}(a) ∝ πₜ(a) exp(α A(a)), so the gap falls geometrically.
    means = np.array([1.0, 0.6, 0.2])
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    history = alg.natural_gradient_ascent(problem.mdp, policy, np.zeros(3), 1.0, 60)
    gap = means.max() - history.objective
    assert gap[-1] < 1e-8
    ratios = gap[21:41] / gap[20:40]
    assert np.all(ratios < 0.8)  # at least a constant factor per step, not 1/t


def test_loglog_slope_of_a_power_law_and_bad_input():
    t = np.arange(1.0, 50.0)
    assert alg.loglog_slope(t, 3.0 * t**-1.5) == pytest.approx(-1.5, abs=1e-12)
    with pytest.raises(ValueError, match="must be > 0"):
        alg.loglog_slope(t, -t)
    with pytest.raises(ValueError, match="same shape"):
        alg.loglog_slope(t, t[:-1])
    with pytest.raises(ValueError, match="values must be finite"):
        alg.loglog_slope(t, np.full_like(t, np.nan))


def test_natural_gradient_refuses_bad_arguments():
    problem, policy, theta = _random_problem()
    with pytest.raises(ValueError, match="damping must be ≥ 0"):
        alg.natural_policy_gradient(problem.mdp, policy, theta, damping=-1.0)
    with pytest.raises(ValueError, match="damping must be finite"):
        alg.natural_policy_gradient(problem.mdp, policy, theta, damping=np.nan)
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(18,\)"):
        alg.fisher_information(problem.mdp, policy, theta[:-1])
    with pytest.raises(ValueError, match=r"mdp must be a pgref\.TabularMDP"):
        alg.natural_gradient_ascent("mdp", policy, theta, 0.1, 1)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        alg.natural_gradient_ascent(problem.mdp, policy, theta, 0.0, 1)


# -- natural ascent near determinism: monotone, soft policy iteration, down to the optimum -------


def _optimal_objective(mdp):
    """J* by policy iteration over deterministic policies (an independent route)."""
    n_states = mdp.n_states
    greedy = np.zeros(n_states, dtype=int)
    for _ in range(100):
        pi = np.eye(mdp.n_actions)[greedy]
        P = np.einsum("sa,saz->sz", pi, mdp.transitions)
        values = np.linalg.solve(np.eye(n_states) - mdp.gamma * P,
                                 (pi * mdp.expected_rewards).sum(axis=1))
        q = mdp.expected_rewards + mdp.gamma * mdp.transitions @ values
        improved = q.argmax(axis=1)
        if np.all(q[np.arange(n_states), improved] <= q[np.arange(n_states), greedy] + 1e-12):
            return float(mdp.initial @ values)
        greedy = improved
    raise AssertionError("policy iteration did not converge")


@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_natural_ascent_is_soft_policy_iteration_monotone_to_the_optimum(gamma):
    r"""500 steps of θ ← θ + α w on a random MDP (α = 5).

    Soft policy iteration, written from the policy table alone: log π ← log π + α A_π, then
    renormalised (A by a plain solve of (I − γP_π) v = r_π), must give π_θ at every step to
    1e−9 relative on every entry ≥ 1e−300. J never falls by more than its rounding (J is
    certified to ‖M⁻¹‖‖M‖·O(Sε) ≤ 1e−13 relative for these γ), and the final gap is ≤ 1e−10
    relative. Positive control: with the former lstsq solve of F w = ∇J (default cut-off)
    and the former LU solve of I − γP_π, the γ = 0.99 run's J fell by 45 in one step, from
    near J* ≈ 105 to 3.4, once π_min passed about 1e−17.
    """
    problem = envs.random_mdp(np.random.default_rng(0), 5, 3, gamma=gamma)
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    alpha, n_updates = 5.0, 500
    history = alg.natural_gradient_ascent(mdp, policy, np.zeros(policy.n_params), alpha,
                                          n_updates)
    j_star = _optimal_objective(mdp)
    objective = history.objective
    assert np.all(np.diff(objective) >= -1e-13 * abs(j_star))
    assert abs(j_star - objective[-1]) <= 1e-10 * abs(j_star)
    assert np.all(objective <= j_star + 1e-13 * abs(j_star))
    log_pi = np.log(policy.action_probs(history.theta[0]))
    checked = 0
    for theta in history.theta[1:]:
        pi = np.exp(log_pi)
        P = np.einsum("sa,saz->sz", pi, mdp.transitions)
        values = np.linalg.solve(np.eye(mdp.n_states) - gamma * P,
                                 (pi * mdp.expected_rewards).sum(axis=1))
        advantage = mdp.expected_rewards + gamma * mdp.transitions @ values - values[:, None]
        log_pi = log_pi + alpha * advantage
        log_pi -= np.log(np.exp(log_pi - log_pi.max(axis=1, keepdims=True)).sum(
            axis=1, keepdims=True)) + log_pi.max(axis=1, keepdims=True)
        expected, actual = np.exp(log_pi), policy.action_probs(theta)
        if expected.min() < 1e-300:
            break
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=0)
        checked += 1
    assert checked >= 5   # π_min reaches 1e−300 after a few dozen steps at α = 5


def test_natural_gradient_survives_the_issues_near_deterministic_policy():
    """A 4-state MDP as in the issue (γ = 0.9, α = 1), 150 steps, to π_min ≈ 1e−150: J
    never falls by more than its rounding and ends at J* (policy iteration) to 1e−12."""
    problem = envs.random_mdp(np.random.default_rng(4), 4, 2, gamma=0.9)
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    history = alg.natural_gradient_ascent(mdp, policy, np.zeros(policy.n_params), 1.0, 150)
    assert np.all(np.diff(history.objective) >= -1e-13 * abs(history.objective[-1]))
    assert policy.action_probs(history.theta[-1]).min() < 1e-100
    assert abs(_optimal_objective(mdp) - history.objective[-1]) <= 1e-12 * abs(
        history.objective[-1])


def test_general_natural_gradient_uses_an_eigenvalue_cutoff_relative_to_the_spectrum():
    """Shared features (not tabular): F is solved by eigendecomposition; on one-hot features
    written with a permuted θ the closed form and the eigen-solve agree."""
    problem, policy, theta = _random_problem()
    permutation = np.random.default_rng(0).permutation(policy.n_params)
    permuted = SoftmaxLinearPolicy(problem.features[:, :, permutation])
    assert alg.tabular_softmax_index(permuted) is not None
    closed = alg.natural_policy_gradient(problem.mdp, permuted, theta[permutation])
    # the same policy seen as a general one: features scaled by 1 (an extra zero feature)
    padded = SoftmaxLinearPolicy(np.concatenate(
        [problem.features, np.zeros((*problem.features.shape[:2], 1))], axis=2))
    assert alg.tabular_softmax_index(padded) is None
    general = alg.natural_policy_gradient(problem.mdp, padded, np.append(theta, 0.0))
    np.testing.assert_allclose(general[:-1], closed[np.argsort(permutation)], rtol=1e-8,
                               atol=1e-10)
    assert general[-1] == pytest.approx(0.0, abs=1e-12)


def test_one_hot_features_sharing_a_parameter_are_not_the_tabular_softmax():
    """Every x(s, a) a unit vector, as many (s, a) as θ has entries, but (0, 0) and (1, 0) share
    θ₀ and θ₅ is unused: not every j belongs to exactly one (s, a), so the general solve is
    used, and its w solves F w = ∇𝒥 with no weight on the unused θ₅."""
    transitions = np.zeros((3, 2, 3))
    transitions[0, :, 1] = transitions[0, :, 2] = 0.5   # state 0 goes on to 1 or ends
    transitions[1, :, 2] = transitions[2, :, 2] = 1.0
    mdp = TabularMDP(transitions, [[1.0, 0.0], [2.0, -1.0], [0.0, 0.0]], [1.0, 0.0, 0.0],
                     gamma=0.9, terminal=[False, False, True])
    features = np.zeros((3, 2, 6))
    for (s, a), j in {(0, 0): 0, (0, 1): 1, (1, 0): 0, (1, 1): 2, (2, 0): 3, (2, 1): 4}.items():
        features[s, a, j] = 1.0
    shared = SoftmaxLinearPolicy(features)
    assert alg.tabular_softmax_index(shared) is None
    theta = np.array([0.3, -0.2, 0.5, 0.0, 0.0, 0.0])
    w = alg.natural_policy_gradient(mdp, shared, theta)
    np.testing.assert_allclose(alg.fisher_information(mdp, shared, theta) @ w,
                               exact.policy_gradient(mdp, shared, theta), rtol=1e-10)
    assert w[5] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("alpha, n_updates", [(0.5, 40), (2.0, 50)])
def test_exact_ascent_sharing_solves_equals_separate_calls(alpha, n_updates):
    """𝒥 taken from the solve of ∇𝒥 (exact.objective_and_gradient): the same history as
    separate calls of exact.objective and exact.policy_gradient, and the same error where a
    step leaves float64 (α = 2 on the corridor, update 2)."""
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([-0.55, 0.55])

    def run(ascent):
        try:
            return ascent()
        except alg.StepSizeError as error:
            return (str(error), error.update)
    shared = run(lambda: alg.exact_gradient_ascent(problem.mdp, policy, theta, alpha, n_updates))
    separate = run(lambda: alg.gradient_ascent(
        lambda t: exact.objective(problem.mdp, policy, t),
        lambda t: exact.policy_gradient(problem.mdp, policy, t), theta, alpha, n_updates,
        policy=policy))
    if isinstance(separate, tuple):
        assert shared == separate
        return
    for field in ("theta", "objective", "gradient_norms"):
        np.testing.assert_allclose(getattr(shared, field), getattr(separate, field),
                                   rtol=1e-13)


def test_ascent_stops_with_an_error_naming_alpha_where_J_leaves_float64():
    """The issue's corridor case: α = 2 recorded J = +6e38 > J*; now a StepSizeError."""
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    with pytest.raises(alg.StepSizeError, match=r"update 2 with step size alpha = 2\.0.*lower "
                                                r"alpha") as caught:
        alg.exact_gradient_ascent(problem.mdp, policy, np.array([-0.55, 0.55]), 2.0, 50)
    assert caught.value.alpha == 2.0 and caught.value.update == 2
    assert isinstance(caught.value, ValueError)
    # a step to |θ| ≈ 360 (J ≈ −1e313): beyond float64, a PrecisionError is the cause
    with pytest.raises(alg.StepSizeError, match="alpha = 1e-14") as caught:
        alg.gradient_ascent(lambda t: exact.objective(problem.mdp, policy, t),
                            lambda t: np.array([-3.6e16, 3.6e16]), np.zeros(2), 1e-14, 3,
                            policy=policy)
    assert isinstance(caught.value.__cause__, exact.PrecisionError)
    # at θ₀ itself the solver's own error is raised, not blamed on α
    with pytest.raises(exact.NonTerminatingPolicyError):
        alg.exact_gradient_ascent(problem.mdp, policy, np.array([-800.0, 800.0]), 0.1, 3)


@pytest.mark.parametrize("damping", [1e-2, 0.7])
def test_damped_natural_gradient_solves_the_damped_fisher_system(damping):
    """(F + λI) w = ∇J for the returned w, with F and ∇J from their own functions."""
    problem, policy, theta = _random_problem()
    natural = alg.natural_policy_gradient(problem.mdp, policy, theta, damping=damping)
    fisher = alg.fisher_information(problem.mdp, policy, theta)
    gradient = exact.policy_gradient(problem.mdp, policy, theta)
    np.testing.assert_allclose((fisher + damping * np.eye(policy.n_params)) @ natural, gradient,
                               rtol=1e-10, atol=1e-12 * np.abs(gradient).max())


def _natural_from_state_0(transitions):
    """Three states (2 terminal), p₀ on state 0, one-hot features, γ = 0.9; state 0's moves as
    given, state 1 ends whatever it does (r = 5 or −5): (mdp, policy, θ, natural gradient
    (3, 2))."""
    transitions[1, :, 2] = transitions[2, :, 2] = 1.0
    rewards = np.array([[1.0, 2.0], [5.0, -5.0], [0.0, 0.0]])
    mdp = TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0]), gamma=0.9,
                     terminal=np.array([False, False, True]))
    policy = SoftmaxLinearPolicy(one_hot_features(3, 2))
    theta = np.array([0.2, -0.4, 1.0, -1.0, 0.0, 0.0])
    return mdp, policy, theta, alg.natural_policy_gradient(mdp, policy, theta).reshape(3, 2)


def test_the_natural_gradient_is_zero_at_a_state_no_episode_reaches():
    """State 1 has no way in (p₀ on state 0, no transition into 1): n(1) = 0, F has no rows
    there, and the min-norm natural gradient leaves its preferences alone."""
    transitions = np.zeros((3, 2, 3))
    transitions[0, 0, 2] = 1.0           # action 0 ends the episode
    transitions[0, 1, [0, 2]] = 0.5      # action 1 stays or ends
    mdp, policy, theta, natural = _natural_from_state_0(transitions)
    np.testing.assert_array_equal(natural[1], 0.0)
    advantages = exact.advantages(mdp, policy.action_probs(theta))
    np.testing.assert_allclose(natural[0], advantages[0] - advantages[0].mean(), rtol=1e-10)


def test_the_natural_gradient_is_the_centred_advantage_at_a_state_reached_on_the_way():
    """p₀ on state 0 only; state 1 is reached from it with probability ½ (n(1) > 0, though
    p₀(1) = 0): its preferences move by its centred advantage, as at the start state."""
    transitions = np.zeros((3, 2, 3))
    transitions[0, 0, [1, 2]] = 0.5      # action 0 goes on to state 1 or ends
    transitions[0, 1, 2] = 1.0           # action 1 ends
    mdp, policy, theta, natural = _natural_from_state_0(transitions)
    advantages = exact.advantages(mdp, policy.action_probs(theta))
    np.testing.assert_allclose(natural[:2], advantages[:2] - advantages[:2].mean(axis=1,
                                                                               keepdims=True),
                               rtol=1e-10)
    np.testing.assert_allclose(natural[1], [5.0, -5.0], rtol=1e-12)  # A(1, a) = r − mean r


def test_the_natural_gradient_of_a_policy_without_scores_is_zero():
    """Features all 0: every ∇ log π = 0, so F = 0 and ∇𝒥 = 0, and the min-norm solution of
    F w = ∇𝒥 is w = F⁺ ∇𝒥 = 0 (no eigenvalue of F = 0 lies above the cutoff 0: none is kept)."""
    problem, _, _ = _random_problem()
    blind = SoftmaxLinearPolicy(np.zeros((*problem.features.shape[:2], 2)))
    assert alg.tabular_softmax_index(blind) is None       # the eigen-solve, not the closed form
    np.testing.assert_array_equal(
        alg.natural_policy_gradient(problem.mdp, blind, np.array([0.5, -1.0])), 0.0)


def test_the_natural_gradient_is_covariant_under_a_rescaling_of_the_features():
    """Features c·x and θ/c give the same policy: F → c²F, ∇J → c∇J, so the natural gradient
    is w/c. With c = 1e−7 the Fisher matrix's eigenvalues are all below 1e−13: the cut-off for
    'zero' must be relative to the largest one, not absolute."""
    problem, policy, theta = _random_problem()
    scale = 1e-7
    scaled = SoftmaxLinearPolicy(scale * problem.features)
    natural = alg.natural_policy_gradient(problem.mdp, policy, theta)
    rescaled = alg.natural_policy_gradient(problem.mdp, scaled, theta / scale)
    assert np.linalg.eigvalsh(alg.fisher_information(problem.mdp, scaled, theta / scale)).max() \
        < 1e-13
    np.testing.assert_allclose(rescaled * scale, natural, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_general_natural_gradient_keeps_exactly_the_eigenvalues_above_the_cutoff(
        monkeypatch, ratio):
    """The docstring's rule: λᵢ > τ λ_max is kept with τ = 1e3 · n_params · ε, the rest is
    dropped. F = Q diag(λ) Qᵀ is written with a known Q and one small eigenvalue ratio · τ λ_max,
    just below the cutoff or just above it; w is then Σ over the kept i of qᵢ qᵢᵀ g / λᵢ,
    computed from Q itself, not from an eigendecomposition."""
    problem, _, theta = _random_problem()
    padded = SoftmaxLinearPolicy(np.concatenate(      # not the tabular softmax: the eigen-solve
        [problem.features, np.zeros((*problem.features.shape[:2], 1))], axis=2))
    n = padded.n_params
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    tau = natural.EIGENVALUE_TOLERANCE_FACTOR * n * np.finfo(float).eps
    eigenvalues = np.linspace(1.0, 0.1, n) * 1e-3          # λ_max = 1e−3: the cutoff is relative
    eigenvalues[-1] = ratio * tau * eigenvalues[0]
    fisher = (q * eigenvalues) @ q.T
    gradient = rng.normal(size=n)
    monkeypatch.setattr(natural, "fisher_information", lambda *args: fisher)
    monkeypatch.setattr(exact, "policy_gradient", lambda *args: gradient)
    kept = eigenvalues > tau * eigenvalues[0]
    expected = (q[:, kept] / eigenvalues[kept]) @ (q[:, kept].T @ gradient)
    w = alg.natural_policy_gradient(problem.mdp, padded, np.append(theta, 0.0))
    # 1/λ_small ≈ 1e11 amplifies the eigen-solve's rounding of λ_small (≈ n ε / λ_small ≈ 1e−3)
    np.testing.assert_allclose(w, expected, rtol=1e-9 if ratio < 1 else 1e-2)
