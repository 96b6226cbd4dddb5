"""Exact second moments (pgref.exact.moments, pgref.exact.estimator_moments) by independent routes.

- Enumeration: every trajectory of small fast-ending MDPs listed with its probability until less
  than 1e-12 of the mass is left (tests/enumeration.py), the library's own estimators applied
  to them, and their probability-weighted covariance compared with the linear solves.
- Closed forms: a one-step bandit, where each estimator's covariance is a finite sum.
- Monte-Carlo: the sample covariance of many sampled episodes on problems too large to list.
"""

import dataclasses
import functools

import numpy as np
import pytest
from helpers import POWER_Z, z_critical
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from pgref import envs, exact
from pgref.estimators import pg_v1, reinforce, returns, visit_counts
from pgref.exact.moments import CONDITION_LIMIT
from pgref.mdp import TabularMDP
from pgref.policies import SoftmaxLinearPolicy
from pgref.rollout import sample_episodes
from tests.enumeration import enumerate_episodes, fast_ending_mdp


def assert_close(computed, enumerated, scale=1.0):
    """Agreement to 1e-7 of the larger of 1 and the quantity's size: the enumeration misses
    < 1e-12 of the mass, but on the longest episodes, whose per-episode terms reach ~10² (their
    squares ~10⁴); the solves themselves agree to ~1e-13 when the tolerance is 1e-15."""
    size = max(scale, np.max(np.abs(enumerated), initial=0.0))
    np.testing.assert_allclose(computed, enumerated, rtol=0, atol=1e-7 * size)


# -- enumeration over random small MDPs, features, θ and γ ---------------------------------------


@settings(max_examples=15, phases=[Phase.explicit, Phase.generate])  # no slow shrinking
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from([(1, 2), (2, 2), (3, 2)]),
       gamma=st.one_of(st.just(1.0), st.floats(0.3, 0.99)), tabular=st.booleans(),
       scale=st.floats(0.0, 2.0))
def test_every_moment_against_enumerated_trajectories(seed, shape, gamma, tabular, scale):
    rng = np.random.default_rng(seed)
    n_live, n_actions = shape
    mdp = fast_ending_mdp(rng, n_live, n_actions, gamma, end_probability=(0.93, 0.98))
    features = (np.eye(mdp.n_states * n_actions).reshape(mdp.n_states, n_actions, -1)
                if tabular else rng.standard_normal((mdp.n_states, n_actions, 3)))
    policy = SoftmaxLinearPolicy(features)
    theta = scale * rng.standard_normal(policy.n_params)
    pi = policy.action_probs(theta)
    listed = enumerate_episodes(mdp, pi)
    episodes = listed.episodes
    table = rng.standard_normal(mdp.n_states)
    cases = {
        ("pg_v1", None, True): pg_v1(policy, theta, episodes, gamma),
        ("reinforce", None, True): reinforce(policy, theta, episodes, gamma),
        ("reinforce", 0.7, True): reinforce(policy, theta, episodes, gamma, baseline=0.7),
        ("reinforce", "table", True): reinforce(policy, theta, episodes, gamma, baseline=table),
        ("reinforce", None, False): reinforce(policy, theta, episodes, gamma,
                                              discount_weighting=False),
        ("reinforce", "table", False): reinforce(policy, theta, episodes, gamma,
                                                 baseline=table, discount_weighting=False),
    }
    for (estimator, baseline, weighting), estimate in cases.items():
        kwargs = {} if estimator == "pg_v1" else {
            "baseline": table if baseline == "table" else baseline,
            "discount_weighting": weighting}
        covariance = exact.estimator_covariance(mdp, policy, theta, estimator, **kwargs)
        assert_close(covariance, listed.covariance(estimate.per_episode))
    G = returns(episodes, gamma)
    assert_close(exact.return_variance(mdp, pi).episode, listed.cross_variance(G, G))
    counts = visit_counts(episodes, mdp.n_states, gamma).per_episode
    assert_close(exact.visit_count_covariance(mdp, pi), listed.covariance(counts))
    # the optimal constant baseline: X_b = X₀ − b Y with Y = X₀ − X₁ (the b = 1 term)
    for weighting in (True, False):
        plain = reinforce(policy, theta, episodes, gamma, discount_weighting=weighting)
        shifted = reinforce(policy, theta, episodes, gamma, baseline=1.0,
                            discount_weighting=weighting).per_episode
        score_sum = plain.per_episode - shifted
        cross = listed.cross_variance(plain.per_episode, score_sum)
        spread = listed.cross_variance(score_sum, score_sum)
        scored = spread > 1e-12 * max(1.0, spread.max())
        optimum = exact.optimal_constant_baseline(mdp, policy, theta, weighting)
        assert_close(optimum[scored], cross[scored] / spread[scored])
        variances = exact.baseline_variances(mdp, policy, theta, weighting)
        optimal = plain.per_episode - optimum * score_sum
        assert_close(variances.optimal, listed.cross_variance(optimal, optimal))
        assert_close(variances.none, listed.cross_variance(plain.per_episode, plain.per_episode))


# -- closed form: one step ----------------------------------------------------------------------


def test_one_step_bandit_covariances_in_closed_form():
    """One live state, every action ends the episode with reward r_a: X = (r_A − b) z_A for
    REINFORCE and pg_v1 alike, so Cov = Σ_a π_a (r_a − b)² z_a z_aᵀ − g gᵀ, g = Σ_a π_a r_a z_a."""
    problem = envs.bandit([1.0, -0.5, 2.0])
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3, -0.2, 0.1] + [0.0] * (policy.n_params - 3))
    pi = policy.action_probs(theta)[0]
    scores = policy.grad_log_prob_table(theta)[0]
    rewards = problem.mdp.expected_rewards[0]
    for b in (0.0, 0.4):
        gradient = (pi * rewards) @ scores
        closed_form = np.einsum("a,ai,aj->ij", pi * (rewards - b) ** 2, scores, scores)
        closed_form -= np.outer(gradient, gradient)
        computed = exact.estimator_covariance(problem.mdp, policy, theta, "reinforce", b)
        np.testing.assert_allclose(computed, closed_form, atol=1e-14)
        if b == 0.0:
            np.testing.assert_allclose(
                exact.estimator_covariance(problem.mdp, policy, theta, "pg_v1"), closed_form,
                atol=1e-14)


# -- limiting cases -----------------------------------------------------------------------------


def test_with_gamma_one_dropping_gamma_t_changes_no_moment():
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3, 0.0])
    kept = exact.estimator_covariance(problem.mdp, policy, theta, "reinforce")
    dropped = exact.estimator_covariance(problem.mdp, policy, theta, "reinforce",
                                         discount_weighting=False)
    np.testing.assert_allclose(dropped, kept, rtol=1e-12)


def test_the_optimal_constant_is_the_vertex_of_the_variance_parabola():
    """Var[Xᵢ] with a constant b is a parabola in b (three estimator_covariance calls fix it);
    its vertex is b*ᵢ, and the optimum is no worse than J(θ) or no baseline, component by
    component, while J(θ) itself raises the variance of some components here."""
    problem = envs.gridworld(4, 3)
    mdp = dataclasses.replace(problem.mdp, gamma=0.9)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = 0.5 * np.random.default_rng(0).standard_normal(policy.n_params)
    variance = {b: np.diag(exact.estimator_covariance(mdp, policy, theta, "reinforce", b))
                for b in (-10.0, 0.0, 10.0)}
    curvature = (variance[10.0] + variance[-10.0] - 2 * variance[0.0]) / 200.0
    slope = (variance[10.0] - variance[-10.0]) / 20.0
    scored = curvature > 1e-12
    result = exact.baseline_variances(mdp, policy, theta)
    np.testing.assert_allclose(result.optimal_baseline[scored],
                               -slope[scored] / (2 * curvature[scored]), rtol=1e-8)
    assert np.all(result.optimal_baseline[~scored] == 0.0)
    assert np.all(result.optimal <= result.objective * (1 + 1e-12))
    assert np.any(result.objective > result.none)  # J(θ) can hurt a component; b* never does
    assert np.all(result.optimal <= result.none * (1 + 1e-12))
    assert np.all(result.values[scored] > result.optimal[scored])  # here v_π loses everywhere
    J = exact.objective(mdp, policy, theta)
    np.testing.assert_allclose(result.objective, np.diag(
        exact.estimator_covariance(mdp, policy, theta, "reinforce", J)), rtol=1e-12)


def test_a_state_baseline_v_pi_can_beat_the_best_constant():
    """On this small MDP v_π gives a lower variance than b* in every component (on the
    gridworld above it gives a higher one in every component): neither kind dominates."""
    rng = np.random.default_rng(0)
    mdp = fast_ending_mdp(rng, 2, 2, 1.0)
    policy = SoftmaxLinearPolicy(rng.standard_normal((4, 2, 3)))
    result = exact.baseline_variances(mdp, policy, np.zeros(3))
    assert np.all(result.values < result.optimal)
    values = exact.state_values(mdp, policy.action_probs(np.zeros(3)))
    np.testing.assert_allclose(result.values, np.diag(
        exact.estimator_covariance(mdp, policy, np.zeros(3), "reinforce", values)), rtol=1e-12)


# -- Monte-Carlo on problems too large to enumerate ----------------------------------------------


COVARIANCE_Z = z_critical(5e-10)
"""6.23: the per-entry bound of the test below (two-sided 5e−10 in the normal approximation)."""


@functools.cache
def _covariance_episodes(name: str, gamma: float, n_episodes: int):
    problem = envs.short_corridor() if name == "short corridor" else envs.gridworld(3, 3)
    mdp = dataclasses.replace(problem.mdp, gamma=gamma)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = (np.array([0.3, 0.0]) if name == "short corridor"
             else 0.5 * np.random.default_rng(0).standard_normal(policy.n_params))
    episodes = sample_episodes(mdp, policy, theta, n_episodes, np.random.default_rng(7))
    return mdp, policy, theta, episodes


@pytest.mark.parametrize(("name", "gamma", "estimator", "baseline", "n_episodes"), [
    ("short corridor", 1.0, "pg_v1", None, 1_000_000),
    ("short corridor", 1.0, "reinforce", "values", 1_000_000),
    ("gridworld", 0.9, "reinforce", None, 50_000),
    ("gridworld", 0.9, "pg_v1", None, 50_000),
])
def test_sample_covariance_matches_the_exact_covariance(name, gamma, estimator, baseline,
                                                        n_episodes):
    """Each entry of the sample covariance of K episode terms against the exact one, by its own
    standard error from the per-episode products (xᵢ − x̄ᵢ)(xⱼ − x̄ⱼ): |z| < COVARIANCE_Z = 6.23.

    False failure: 5e−10 per entry in the normal approximation (the products are heavy-tailed;
    K is large), ≤ 5.3e−7 over the ≤ 1059 distinct entries of the four cases. Power against an
    exact covariance off by 10 % (the formula scaled by 1.1): the entry it moves most shifts by
    at least COVARIANCE_Z + 3.09 standard errors in each case (10.3–16.0 here; asserted, power
    ≥ 0.999), and the scaled covariance fails (positive control). The corridor's terms have
    kurtosis 20–40, so it takes K = 10⁶ there (the two corridor cases share their episodes).
    """
    mdp, policy, theta, episodes = _covariance_episodes(name, gamma, n_episodes)
    pi = policy.action_probs(theta)
    table = exact.state_values(mdp, pi) if baseline == "values" else None
    if estimator == "pg_v1":
        x = pg_v1(policy, theta, episodes, gamma).per_episode
        covariance = exact.estimator_covariance(mdp, policy, theta, "pg_v1")
    else:
        x = reinforce(policy, theta, episodes, gamma, baseline=table).per_episode
        covariance = exact.estimator_covariance(mdp, policy, theta, "reinforce", table)
    centred = x - x.mean(axis=0)
    products = np.einsum("ki,kj->kij", centred, centred)
    error = products.std(axis=0, ddof=1) / np.sqrt(x.shape[0])
    sample = products.mean(axis=0) * x.shape[0] / (x.shape[0] - 1)
    varies = error > 0
    assert np.all(covariance[~varies] == pytest.approx(0.0, abs=1e-10))
    z = (sample[varies] - covariance[varies]) / error[varies]
    assert np.all(np.abs(z) < COVARIANCE_Z), np.abs(z).max()
    assert (0.1 * np.abs(covariance[varies]) / error[varies]).max() >= COVARIANCE_Z + POWER_Z
    wrong = (sample[varies] - 1.1 * covariance[varies]) / error[varies]
    assert np.abs(wrong).max() >= COVARIANCE_Z


# -- refusals -----------------------------------------------------------------------------------


def _corridor():
    problem = envs.short_corridor()
    return problem.mdp, SoftmaxLinearPolicy(problem.features), np.array([0.3, 0.0])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"estimator": "gpomdp"}, r"estimator must be one of \('pg_v1', 'reinforce'\)"),
    ({"estimator": "pg_v1", "baseline": 1.0}, "apply to estimator='reinforce' only"),
    ({"estimator": "pg_v1", "discount_weighting": False}, "apply to estimator='reinforce'"),
    ({"estimator": "reinforce", "baseline": [1.0, 2.0]}, r"baseline must be None, a number"),
    ({"estimator": "reinforce", "baseline": np.nan}, "baseline must be finite"),
    ({"estimator": "reinforce", "discount_weighting": 1}, "discount_weighting must be True"),
    ({"estimator": "reinforce", "theta": [0.3]}, "theta"),
])
def test_estimator_covariance_refuses_bad_input(kwargs, message):
    mdp, policy, theta = _corridor()
    arguments = {"mdp": mdp, "policy": policy, "theta": theta, **kwargs}
    with pytest.raises(ValueError, match=message):
        exact.estimator_covariance(**arguments)


def test_refuses_a_policy_without_a_score_table_and_a_never_ending_policy():
    mdp, policy, theta = _corridor()
    with pytest.raises(ValueError, match="policy must be a discrete policy over tabular"):
        exact.estimator_covariance(mdp, object(), theta, "reinforce")
    with pytest.raises(ValueError, match="discount_weighting must be True or False"):
        exact.baseline_variances(mdp, policy, theta, discount_weighting="yes")
    # two live states that swap forever, one terminal state never reached: γ = 0.9 is fine for
    # REINFORCE with γᵗ, but pg_v1 and the γᵗ-dropped sums are undiscounted and infinite
    transitions = np.zeros((3, 1, 3))
    transitions[0, 0, 1] = transitions[1, 0, 0] = transitions[2, 0, 2] = 1.0
    loop = TabularMDP(transitions, [[1.0], [1.0], [0.0]], [1.0, 0.0, 0.0], gamma=0.9,
                      terminal=[False, False, True])
    one_action = SoftmaxLinearPolicy(np.ones((3, 1, 1)))
    assert exact.estimator_covariance(loop, one_action, [0.0], "reinforce").shape == (1, 1)
    for kwargs in ({"estimator": "pg_v1"},
                   {"estimator": "reinforce", "discount_weighting": False}):
        with pytest.raises(exact.NonTerminatingPolicyError) as error:
            exact.estimator_covariance(loop, one_action, [0.0], **kwargs)
        assert error.value.states == (0, 1)


def test_at_gamma_one_even_discounted_reinforce_names_the_states_that_never_end():
    """The docstring's γ = 1 case: REINFORCE with γᵗ on the two swapping states raises
    NonTerminatingPolicyError naming them, not the condition-number refusal of the solve."""
    transitions = np.zeros((3, 1, 3))
    transitions[0, 0, 1] = transitions[1, 0, 0] = transitions[2, 0, 2] = 1.0
    loop = TabularMDP(transitions, [[1.0], [1.0], [0.0]], [1.0, 0.0, 0.0], gamma=1.0,
                      terminal=[False, False, True])
    with pytest.raises(exact.NonTerminatingPolicyError) as error:
        exact.estimator_covariance(loop, SoftmaxLinearPolicy(np.ones((3, 1, 1))), [0.0],
                                   "reinforce")
    assert error.value.states == (0, 1)


def test_refuses_a_chain_too_close_to_never_ending():
    """p(end) = 1e-12 per step at γ = 1: I − P_π has condition number ~1e12 > CONDITION_LIMIT."""
    transitions = np.zeros((2, 1, 2))
    transitions[0, 0] = [1 - 1e-12, 1e-12]
    transitions[1, 0, 1] = 1.0
    mdp = TabularMDP(transitions, [[1.0], [0.0]], [1.0, 0.0], gamma=1.0,
                     terminal=[False, True])
    assert CONDITION_LIMIT < 1e12
    with pytest.raises(ValueError, match="barely ends its episodes"):
        exact.return_variance(mdp, np.ones((2, 1)))


def test_second_moments_at_gamma_one_name_the_states_that_never_end():
    """γ = 1 and a policy that never leaves states 0, 1, 3, 4 of the gridworld: the return's
    variance raises NonTerminatingPolicyError, as v_π does."""
    problem = envs.gridworld(width=3, height=2)
    always_up = np.zeros((6, 4))
    always_up[:, 1] = 1.0
    with pytest.raises(exact.NonTerminatingPolicyError, match=r"\[0, 1, 3, 4\]"):
        exact.return_variance(problem.mdp, always_up)


def test_the_condition_refusal_uses_the_one_norm_condition_number():
    """The docstring's κ₁ = ‖M‖₁ ‖M⁻¹‖₁ of M = I − P_π, not κ₂: a hub state 0 that ends with
    probability ε = 6e−10 per step, fed by states 1, 2, 3. Here κ₁ ≈ 12/ε = 2e10 is beyond
    CONDITION_LIMIT = 1e10 while κ₂ ≈ 4/ε ≈ 7e9 is not (both computed below from M, by
    column sums of the inverse and by singular values), so only the 1-norm refuses."""
    eps, n = 6e-10, 5                       # hub 0, feeders 1–3, terminal 4
    transitions = np.zeros((n, 1, n))
    transitions[0, 0, [0, 4]] = [1 - eps, eps]
    transitions[1:4, 0, 0] = 1.0
    transitions[4, 0, 4] = 1.0
    mdp = TabularMDP(transitions, [[1.0]] * 4 + [[0.0]], [0.0, 1 / 3, 1 / 3, 1 / 3, 0.0],
                     gamma=1.0, terminal=[False] * 4 + [True])
    system = np.eye(n) - transitions[:, 0, :] * mdp.nonterminal[:, None]
    kappa_1 = np.abs(system).sum(axis=0).max() * np.abs(np.linalg.inv(system)).sum(axis=0).max()
    singular = np.linalg.svd(system, compute_uv=False)
    assert kappa_1 > 1.5 * CONDITION_LIMIT and singular[0] / singular[-1] < 0.7 * CONDITION_LIMIT
    with pytest.raises(ValueError, match="barely ends its episodes"):
        exact.return_variance(mdp, np.ones((n, 1)))
