"""Deterministic tests of pgref.estimators: returns and reward-to-go worked by hand, the
estimators against a plain per-step loop of their formulas, the identities that link them, the
error bars, and bad input. The statistical tests live in test_estimators_statistics.py.
"""

import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgref import checks, envs, exact
from pgref.estimators import (
    ConfidenceInterval,
    GradientEstimate,
    MonteCarloEstimate,
    pg_v1,
    reinforce,
    returns,
    reward_to_go,
    visit_counts,
    visit_frequencies,
)
from pgref.features import one_hot_state_features
from pgref.policies import GaussianPolicy, MLPSoftmaxPolicy, SoftmaxLinearPolicy
from pgref.rollout import Episodes, sample_episodes


def _hand_batch(truncated=(False, False)) -> Episodes:
    """Two episodes of a 3-state, 2-action problem: lengths 3 and 1."""
    return Episodes.from_lists(states=[[0, 1, 2], [1]], actions=[[1, 0, 1], [0]],
                               rewards=[[1.0, 2.0, 3.0], [4.0]], truncated=truncated)


def _tabular_policy():
    features = np.random.default_rng(0).normal(size=(3, 2, 4))
    return SoftmaxLinearPolicy(features), np.array([0.5, -1.0, 0.25, 2.0])


# -- returns and reward-to-go -------------------------------------------------------------------


def test_returns_and_reward_to_go_worked_by_hand():
    gamma = 0.5
    G = returns(_hand_batch(), gamma)
    np.testing.assert_allclose(G, [1 + gamma * 2 + gamma**2 * 3, 4])
    G_t = reward_to_go(_hand_batch(), gamma)  # flat, row for row with the steps
    np.testing.assert_allclose(G_t, [1 + gamma * 2 + gamma**2 * 3, 2 + gamma * 3, 3, 4])
    np.testing.assert_allclose(reward_to_go(_hand_batch().padded().rewards, gamma),
                               [[1 + gamma * 2 + gamma**2 * 3, 2 + gamma * 3, 3], [4, 0, 0]])


def test_returns_accept_a_zero_padded_array():
    rewards = np.array([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    np.testing.assert_allclose(returns(rewards, 1.0), [6.0, 4.0])
    np.testing.assert_allclose(reward_to_go(rewards, 1.0), [[6, 5, 3], [4, 0, 0]])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=12), min_size=1,
                max_size=8),
       st.sampled_from([1.0, 0.9, 0.0]), st.sampled_from(["as drawn", "one long", "many"]))
def test_reward_to_go_is_the_backward_recursion_to_the_last_bit(episodes, gamma, layout):
    """Gₜ = Rₜ₊₁ + γ Gₜ₊₁ written as a Python loop, against the batch form: equal bit for bit,
    on the running-sum path of γ = 1 (few episodes: grouped by length) and the time-step path
    (γ < 1, or many episodes), with one episode of 600 times the first's steps among 16
    one-step ones, or the episodes repeated 200 times."""
    if layout == "one long":
        episodes = [*episodes, *[[1.0]] * 16, episodes[0] * 600]
    elif layout == "many":
        episodes = episodes * 200
    expected = []
    for rewards in episodes:
        following, G = 0.0, []
        for reward in reversed(rewards):
            following = reward + gamma * following
            G.append(following)
        expected += G[::-1]
    batch = Episodes.from_lists([[0] * len(e) for e in episodes], [[0] * len(e) for e in episodes],
                                episodes, [False] * len(episodes))
    np.testing.assert_array_equal(reward_to_go(batch, gamma), expected)


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.9, 1.0])
def test_reward_to_go_limiting_cases(gamma):
    rewards = np.random.default_rng(1).normal(size=(5, 7))
    G_t = reward_to_go(rewards, gamma)
    np.testing.assert_allclose(G_t[:, 0], returns(rewards, gamma))  # G₀ = G(τ)
    np.testing.assert_allclose(G_t[:, -1], rewards[:, -1])  # the last step: G = R_T
    np.testing.assert_allclose(G_t[:, :-1], rewards[:, :-1] + gamma * G_t[:, 1:])  # recursion
    if gamma == 0.0:
        np.testing.assert_allclose(G_t, rewards)  # γ = 0: Gₜ = Rₜ₊₁ (0⁰ = 1)
    if gamma == 1.0:
        np.testing.assert_allclose(G_t, np.cumsum(rewards[:, ::-1], axis=1)[:, ::-1])


@pytest.mark.parametrize(("gamma", "message"), [
    (1.5, r"gamma must lie in \[0, 1\]"), (-0.1, r"gamma must lie in \[0, 1\]"),
    (np.nan, "gamma must be finite"), ("0.9", "gamma must be a real number")])
def test_returns_bad_gamma(gamma, message):
    with pytest.raises(ValueError, match=message):
        returns(_hand_batch(), gamma)
    with pytest.raises(ValueError, match=message):
        reward_to_go(_hand_batch(), gamma)


def test_returns_bad_rewards():
    with pytest.raises(ValueError, match="rewards must have 2 dimension"):
        returns(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="rewards must be finite"):
        reward_to_go(np.array([[1.0, np.inf]]), 1.0)
    with pytest.raises(ValueError, match=r"rewards must hold at least one episode of at least "
                                         r"one step \(K, T ≥ 1\); got shape \(0, 3\)"):
        returns(np.zeros((0, 3)), 1.0)
    with pytest.raises(ValueError, match=r"got shape \(2, 0\)"):
        reward_to_go(np.zeros((2, 0)), 1.0)


# -- the estimators against a per-step loop of their formulas ------------------------------------


def _loop_estimate(policy, theta, episodes, gamma, weight):
    """The oracle: 1/K Σₖ Σₜ w(k, t) ∇ log π(Aₜ|Sₜ), one step at a time (no padding tricks)."""
    per_episode = np.zeros((episodes.n_episodes, policy.n_params))
    for k, episode in enumerate(episodes):
        rewards = episode.rewards
        for t in range(len(rewards)):
            state, action = episode.states[t], episode.actions[t]
            score = policy.grad_log_prob(theta, state, action)
            G = sum(gamma**i * r for i, r in enumerate(rewards))
            G_t = sum(gamma ** (i - t) * rewards[i] for i in range(t, len(rewards)))
            per_episode[k] += weight(G, G_t, t, state) * score
    return per_episode


@pytest.mark.parametrize("gamma", [0.7, 1.0])
def test_estimators_equal_the_loop_of_their_formulas(gamma):
    policy, theta = _tabular_policy()
    episodes = _hand_batch()
    b = np.array([0.5, -2.0, 1.0])
    cases = [
        (pg_v1(policy, theta, episodes, gamma), lambda G, G_t, t, s: G),
        (reinforce(policy, theta, episodes, gamma), lambda G, G_t, t, s: gamma**t * G_t),
        (reinforce(policy, theta, episodes, gamma, discount_weighting=False),
         lambda G, G_t, t, s: G_t),
        (reinforce(policy, theta, episodes, gamma, baseline=3.0),
         lambda G, G_t, t, s: gamma**t * (G_t - 3.0)),
        (reinforce(policy, theta, episodes, gamma, baseline=b),
         lambda G, G_t, t, s: gamma**t * (G_t - b[s])),
        (reinforce(policy, theta, episodes, gamma, baseline=b, discount_weighting=False),
         lambda G, G_t, t, s: G_t - b[s]),
    ]
    for estimate, weight in cases:
        expected = _loop_estimate(policy, theta, episodes, gamma, weight)
        np.testing.assert_allclose(estimate.per_episode, expected, atol=1e-12)
        np.testing.assert_allclose(estimate.mean, expected.mean(axis=0), atol=1e-12)


def test_the_table_lookup_and_the_chunked_general_path_agree(monkeypatch):
    import pgref.estimators

    problem = envs.gridworld(3, 3)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(0).normal(size=policy.n_params)
    episodes = sample_episodes(problem.mdp, policy, theta, 300, np.random.default_rng(0))
    v = exact.state_values(problem.mdp, policy.action_probs(theta))
    cases = ((pg_v1, {}), (reinforce, dict(baseline=v)))
    tables = [estimator(policy, theta, episodes, 0.9, **kwargs) for estimator, kwargs in cases]
    monkeypatch.setattr(pgref.estimators, "_is_tabular", lambda policy, episodes: False)
    # chunks that split episodes; the second size starts a chunk inside episode 1 (index 1)
    assert episodes.lengths[1] >= 2
    for chunk in (97, int(episodes.offsets[1]) + 1):
        monkeypatch.setattr(pgref.estimators, "_STEPS_PER_CHUNK", chunk)
        for (estimator, kwargs), table in zip(cases, tables, strict=True):
            general = estimator(policy, theta, episodes, 0.9, **kwargs)
            np.testing.assert_allclose(general.per_episode, table.per_episode, atol=1e-10)


def test_mlp_and_gaussian_policies_work_through_the_same_estimators():
    policy = MLPSoftmaxPolicy(one_hot_state_features(3), n_actions=2, hidden_sizes=(4,))
    theta = policy.initial_theta(np.random.default_rng(0))
    episodes = _hand_batch()
    expected = _loop_estimate(policy, theta, episodes, 0.9, lambda G, G_t, t, s: 0.9**t * G_t)
    np.testing.assert_allclose(reinforce(policy, theta, episodes, 0.9).per_episode, expected,
                               atol=1e-12)
    gaussian = GaussianPolicy(one_hot_state_features(3), variance=0.5, learn_variance=True)
    theta = gaussian.pack(np.array([[0.1], [0.2], [-0.3]]), 0.5)
    real_actions = Episodes.from_lists([[0, 1, 2], [1]], [[0.5, -1.0, 2.0], [0.3]],
                                       [[1.0, 2.0, 3.0], [4.0]])
    expected = _loop_estimate(gaussian, theta, real_actions, 1.0, lambda G, G_t, t, s: G)
    np.testing.assert_allclose(pg_v1(gaussian, theta, real_actions, 1.0).per_episode, expected,
                               atol=1e-12)


def test_a_constant_baseline_subtracts_b_times_the_discounted_score_sum():
    """reinforce(b) = reinforce − b Σₜ γᵗ ∇ log π(Aₜ|Sₜ), episode by episode."""
    policy, theta = _tabular_policy()
    episodes, gamma, b = _hand_batch(), 0.8, 2.5
    score_sums = _loop_estimate(policy, theta, episodes, gamma, lambda G, G_t, t, s: gamma**t)
    np.testing.assert_allclose(
        reinforce(policy, theta, episodes, gamma, baseline=b).per_episode,
        reinforce(policy, theta, episodes, gamma).per_episode - b * score_sums, atol=1e-12)


def test_with_gamma_one_dropping_the_discount_changes_nothing():
    policy, theta = _tabular_policy()
    episodes = _hand_batch()
    kept = reinforce(policy, theta, episodes, 1.0)
    dropped = reinforce(policy, theta, episodes, 1.0, discount_weighting=False)
    np.testing.assert_array_equal(kept.per_episode, dropped.per_episode)


def test_a_one_step_episode_makes_pg_v1_and_reinforce_equal():
    """With T = 1 there are no earlier rewards to drop: G(τ) = G₀."""
    policy, theta = _tabular_policy()
    episodes = Episodes.from_lists([[0], [2], [1]], [[1], [0], [1]], [[1.0], [-2.0], [0.5]])
    np.testing.assert_allclose(pg_v1(policy, theta, episodes, 0.5).per_episode,
                               reinforce(policy, theta, episodes, 0.5).per_episode)


def test_the_average_is_over_episodes_not_over_time_steps():
    """Lengths 3 and 1: 1/K Σₖ differs from 1/(Σₖ T_k) Σₖ, and pgref computes the first."""
    policy, theta = _tabular_policy()
    episodes = _hand_batch()
    estimate = reinforce(policy, theta, episodes, 1.0)
    per_episode_sum = estimate.per_episode.sum(axis=0)
    np.testing.assert_allclose(estimate.mean, per_episode_sum / episodes.n_episodes)
    over_time_steps = per_episode_sum / episodes.n_transitions
    assert episodes.n_transitions == 4 != episodes.n_episodes
    assert not np.allclose(estimate.mean, over_time_steps)


# -- error bars ---------------------------------------------------------------------------------


def test_standard_error_and_confidence_interval_formulas():
    per_episode = np.array([[1.0, 0.0], [2.0, 0.0], [4.0, 0.0], [5.0, 0.0]])
    estimate = GradientEstimate(per_episode.mean(axis=0), per_episode)
    assert isinstance(estimate, MonteCarloEstimate) and estimate.n_episodes == 4
    s = np.sqrt(((per_episode[:, 0] - 3.0) ** 2).sum() / 3)  # the sample standard deviation
    np.testing.assert_allclose(estimate.standard_error(), [s / 2, 0.0])
    interval = estimate.confidence_interval(0.95)
    assert isinstance(interval, ConfidenceInterval)
    z = 1.959963984540054  # Φ⁻¹(0.975)
    np.testing.assert_allclose(interval.lower, [3.0 - z * s / 2, 0.0])
    np.testing.assert_allclose(interval.upper, [3.0 + z * s / 2, 0.0])
    wider = estimate.confidence_interval(0.99)
    z99 = statistics.NormalDist().inv_cdf(0.995)
    np.testing.assert_allclose(wider.upper - wider.lower, [2 * z99 * s / 2, 0.0])


def test_error_bars_bad_input():
    one = GradientEstimate(np.zeros(2), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"a standard error needs at least 2 episodes \(K ≥ 2\)"):
        one.standard_error()
    two = GradientEstimate(np.zeros(2), np.zeros((2, 2)))
    for level in (0.0, 1.0, 95):
        with pytest.raises(ValueError, match=r"level must lie in \(0, 1\)"):
            two.confidence_interval(level)


# -- visit counts -------------------------------------------------------------------------------


def test_visit_counts_worked_by_hand():
    episodes = _hand_batch()
    gamma = 0.5
    counts = visit_counts(episodes, 3, gamma)
    np.testing.assert_allclose(counts.per_episode, [[1, gamma, gamma**2], [0, 1, 0]])
    np.testing.assert_allclose(counts.mean, [1 / 2, (gamma + 1) / 2, gamma**2 / 2])
    frequencies = visit_frequencies(episodes, 3, gamma)
    np.testing.assert_allclose(frequencies, counts.mean / counts.mean.sum())
    with pytest.raises(ValueError, match=r"episodes.states must lie in \[0, 2\)"):
        visit_counts(episodes, 2, gamma)


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", [pg_v1, reinforce])
def test_truncated_episodes_are_refused_unless_allowed(estimator):
    policy, theta = _tabular_policy()
    episodes = _hand_batch(truncated=(False, True))
    with pytest.raises(ValueError, match=r"episodes holds 1 truncated episode\(s\) of 2 .*"
                                         r"allow_truncated=True"):
        estimator(policy, theta, episodes, 1.0)
    allowed = estimator(policy, theta, episodes, 1.0, allow_truncated=True)
    untruncated = estimator(policy, theta, _hand_batch(), 1.0)
    np.testing.assert_array_equal(allowed.per_episode, untruncated.per_episode)


@pytest.mark.parametrize("estimator", [pg_v1, reinforce])
def test_estimator_bad_input(estimator):
    policy, theta = _tabular_policy()
    episodes = _hand_batch()
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(4,\) for this "
                                         r"policy; got shape \(3,\)"):
        estimator(policy, theta[:3], episodes, 1.0)
    with pytest.raises(ValueError, match="theta must be finite"):
        estimator(policy, np.full(4, np.inf), episodes, 1.0)
    with pytest.raises(ValueError, match=r"episodes must be a pgref\.rollout\.Episodes batch"):
        estimator(policy, theta, {"states": []}, 1.0)
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        estimator(policy, theta, episodes, 2.0)
    with pytest.raises(ValueError, match="allow_truncated must be True or False"):
        estimator(policy, theta, episodes, 1.0, allow_truncated="yes")
    with pytest.raises(ValueError, match=r"episodes.states must lie in \[0, 2\)"):
        estimator(SoftmaxLinearPolicy(np.ones((2, 2, 4))), theta, episodes, 1.0)
    if estimator is reinforce:
        with pytest.raises(ValueError, match=r"episodes.states must lie in \[0, 2\)"):
            estimator(SoftmaxLinearPolicy(np.ones((2, 2, 4))), theta, episodes, 1.0,
                      baseline=np.zeros(2))


@pytest.mark.parametrize(("baseline", "message"), [
    (np.zeros(2), r"baseline must be a number \(a constant b\) or an array of shape \(S,\) = "
                  r"\(3,\) holding b\(s\) for every state.*got shape \(2,\)"),
    (np.zeros((3, 1)), r"baseline must be .* shape \(S,\) = \(3,\).*got shape \(3, 1\)"),
    (np.array([0.0, np.nan, 1.0]), "baseline must be finite"),
    (np.inf, "baseline must be finite"),
    ("zero", "baseline must be a real number"),
])
def test_baseline_of_the_wrong_shape_is_refused(baseline, message):
    policy, theta = _tabular_policy()
    with pytest.raises(ValueError, match=message):
        reinforce(policy, theta, _hand_batch(), 1.0, baseline=baseline)


def test_states_stored_in_a_narrow_integer_type_are_read_without_a_copy():
    """``checks.integer_indices`` hands back the stored array itself; estimates from int8 states
    and actions are those from np.intp ones, to the last bit."""
    policy, theta = _tabular_policy()
    wide = _hand_batch()
    narrow = Episodes(wide.states.astype(np.int8), wide.actions.astype(np.int8), wide.rewards,
                      wide.lengths, wide.truncated)
    assert checks.integer_indices("episodes.states", narrow.states, 3) is narrow.states
    assert checks.index_array("episodes.states", narrow.states, 3).dtype == np.intp
    for estimate in (pg_v1, reinforce):
        np.testing.assert_array_equal(estimate(policy, theta, narrow, 0.9).per_episode,
                                      estimate(policy, theta, wide, 0.9).per_episode)
    np.testing.assert_array_equal(
        reinforce(policy, theta, narrow, 1.0, baseline=np.array([0.5, -2.0, 1.0])).per_episode,
        reinforce(policy, theta, wide, 1.0, baseline=np.array([0.5, -2.0, 1.0])).per_episode)


def test_a_state_baseline_needs_tabular_states():
    policy = GaussianPolicy(lambda s: np.asarray(s).reshape(-1, 1), n_features=1)
    episodes = Episodes.from_lists([[0.5]], [[0.1]], [[1.0]])
    with pytest.raises(ValueError, match=r"baseline must be a number .* for a policy over "
                                         r"non-tabular states"):
        reinforce(policy, np.zeros(1), episodes, 1.0, baseline=np.zeros(3))


def test_discount_weighting_must_be_a_bool():
    policy, theta = _tabular_policy()
    with pytest.raises(ValueError, match="discount_weighting must be True or False"):
        reinforce(policy, theta, _hand_batch(), 0.9, discount_weighting=0)


def test_the_default_confidence_interval_is_the_95_percent_one():
    per_episode = np.array([[1.0, -2.0], [2.0, 0.5], [4.0, 1.0], [5.0, 3.0]])
    estimate = GradientEstimate(per_episode.mean(axis=0), per_episode)
    default, explicit = estimate.confidence_interval(), estimate.confidence_interval(0.95)
    np.testing.assert_array_equal(default.lower, explicit.lower)
    np.testing.assert_array_equal(default.upper, explicit.upper)
