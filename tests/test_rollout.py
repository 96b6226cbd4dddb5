"""Tests of pgref.rollout: the Episodes batch, the vectorised sampler against the plain loop and
the exact expectations, the Gymnasium-style runner, truncation, and bad input.

Statistical checks use fixed seeds; each states its false-failure probability (for a fresh seed)
in a comment. With the seeds fixed, they are deterministic.
"""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from helpers import FixedUniforms, chi_square_quantile, z_critical

from pgref import envs, exact
from pgref.estimators import reinforce, returns
from pgref.features import one_hot_features
from pgref.mdp import TabularEnv, TabularMDP
from pgref.policies import GaussianPolicy, SoftmaxLinearPolicy
from pgref.rollout import (
    INDEX_PAD,
    REWARD_PAD,
    Episodes,
    InverseCdfTable,
    sample_env_episodes,
    sample_episodes,
    sample_episodes_loop,
)


def _state_action_counts(episodes: Episodes, n_states: int, n_actions: int) -> np.ndarray:
    """Per-episode visits of each (s, a): shape (K, S·A)."""
    counts = np.zeros((episodes.n_episodes, n_states * n_actions))
    cells = episodes.states * n_actions + episodes.actions
    np.add.at(counts, (episodes.episode_index, cells), 1.0)
    return counts


def _small_problem(seed: int = 3, next_state_rewards: bool = True):
    """A 4-state (one terminal), 2-action random MDP with short episodes, and a random θ."""
    problem = envs.random_mdp(np.random.default_rng(seed), 4, 2, gamma=1.0, n_terminal=1,
                              termination_prob=0.3, next_state_rewards=next_state_rewards)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(seed + 100).normal(size=policy.n_params)
    return problem.mdp, policy, theta


def _hand_batch() -> Episodes:
    return Episodes.from_lists(states=[[0, 1, 2], [1]], actions=[[1, 0, 1], [0]],
                               rewards=[[1.0, 2.0, 3.0], [4.0]], truncated=[False, True])


# -- the Episodes batch ---------------------------------------------------------------------------


def test_from_lists_stores_the_steps_end_to_end():
    episodes = _hand_batch()
    assert episodes.states.shape == episodes.actions.shape == episodes.rewards.shape == (4,)
    np.testing.assert_array_equal(episodes.states, [0, 1, 2, 1])
    np.testing.assert_array_equal(episodes.rewards, [1, 2, 3, 4])
    np.testing.assert_array_equal(episodes.lengths, [3, 1])
    np.testing.assert_array_equal(episodes.offsets, [0, 3, 4])
    np.testing.assert_array_equal(episodes.episode_index, [0, 0, 0, 1])
    np.testing.assert_array_equal(episodes.time_index, [0, 1, 2, 0])
    np.testing.assert_array_equal(episodes.truncated, [False, True])
    assert (len(episodes), episodes.n_episodes, episodes.horizon, episodes.n_transitions) == (
        2, 2, 3, 4)
    assert episodes.nbytes == 4 * 8 * 3 + 2 * 8 + 2
    assert repr(episodes) == "Episodes(K=2, transitions=4, truncated=1)"


def test_one_episode_reads_as_the_lecture_writes_it():
    episodes = _hand_batch()
    first, last = episodes[0], episodes[-1]
    np.testing.assert_array_equal(first.states, [0, 1, 2])  # S₀, S₁, S₂
    np.testing.assert_array_equal(first.actions, [1, 0, 1])  # A₀, A₁, A₂
    np.testing.assert_array_equal(first.rewards, [1.0, 2.0, 3.0])  # R₁, R₂, R₃
    assert first.truncated is False and last.truncated is True
    np.testing.assert_array_equal(last.states, [1])
    assert [len(episode.rewards) for episode in episodes] == [3, 1]
    with pytest.raises(IndexError, match="episode index 2 is out of range for K = 2"):
        episodes[2]
    with pytest.raises(ValueError, match="an episode index must be an int"):
        episodes[0.0]


def test_padded_gives_the_rectangle_with_the_documented_pad_values():
    padded = _hand_batch().padded()
    np.testing.assert_array_equal(padded.states, [[0, 1, 2], [1, INDEX_PAD, INDEX_PAD]])
    np.testing.assert_array_equal(padded.actions, [[1, 0, 1], [0, INDEX_PAD, INDEX_PAD]])
    np.testing.assert_array_equal(padded.rewards, [[1, 2, 3], [4, REWARD_PAD, REWARD_PAD]])
    np.testing.assert_array_equal(padded.mask, [[True, True, True], [True, False, False]])
    np.testing.assert_array_equal(returns(padded.rewards, 0.5), returns(_hand_batch(), 0.5))


def test_real_valued_observations_are_stored_per_step_and_padded_with_nan():
    episodes = Episodes.from_lists(states=[[[0.5, 1.0]], [[0.0, 0.0], [1.0, 2.0]]],
                                   actions=[[0.1], [0.2, 0.3]], rewards=[[1.0], [0.0, 1.0]])
    assert episodes.states.shape == (3, 2) and episodes.actions.shape == (3,)
    np.testing.assert_array_equal(episodes[1].states, [[0.0, 0.0], [1.0, 2.0]])
    padded = episodes.padded()
    assert padded.states.shape == (2, 2, 2)
    assert np.all(np.isnan(padded.states[0, 1])) and np.isnan(padded.actions[0, 1])


def test_episodes_are_read_only_and_copy_writeable_input():
    states = np.array([0, 1, 2, 1])
    episodes = Episodes(states, np.array([1, 0, 1, 0]), np.array([1.0, 2.0, 3.0, 4.0]),
                        np.array([3, 1]), np.array([False, True]))
    states[0] = 3  # the caller's array changes, the batch does not
    assert episodes.states[0] == 0
    with pytest.raises(FrozenInstanceError):
        episodes.states = np.zeros(4, dtype=int)
    for array in (episodes.states, episodes.rewards, episodes.offsets, episodes[0].rewards):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 10


def _arrays(**changes):
    episodes = _hand_batch()
    fields = dict(states=episodes.states, actions=episodes.actions, rewards=episodes.rewards,
                  lengths=episodes.lengths, truncated=episodes.truncated)
    fields.update(changes)
    return fields


@pytest.mark.parametrize(("changes", "message"), [
    (dict(states=np.zeros(5, dtype=int)), r"states must have one row per step, 4 like rewards"),
    (dict(actions=np.zeros((3, 2), dtype=int)), r"actions must have one row per step"),
    (dict(states=np.int64(0)), r"states must have one row per step"),
    (dict(lengths=np.array([3, 1, 1])), "lengths must add up to the number of steps stored, 4"),
    (dict(truncated=np.array([0, 1])), "truncated must be a boolean array"),
    (dict(truncated=np.array([False])), "truncated must be a boolean array of shape"),
    (dict(lengths=np.array([4, 0])), r"lengths must be ≥ 1"),
    (dict(lengths=np.array([[3, 1]])), r"lengths must be a non-empty 1-D array"),
    (dict(lengths=np.array([3.0, 1.0])), "lengths must be integers"),
    (dict(rewards=np.array([1.0, np.nan, 3.0, 4.0])), "rewards must be finite"),
    (dict(rewards=np.array([[1.0, 2.0, 3.0, 4.0]])),
     r"rewards must have 1 dimension\(s\); got an array of shape \(1, 4\)"),
    (dict(states=np.array([0, -2, 2, 1])), "states must be indices ≥ 0"),
    (dict(actions=np.array([1, 0, 1, -1])), "actions must be indices ≥ 0"),
    (dict(states=np.array([0.0, np.inf, 2, 1])), "states must be finite"),
    (dict(actions=np.array([True, False, True, True])), "actions must hold integer indices"),
])
def test_episodes_arrays_that_disagree_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        Episodes(**_arrays(**changes))


def test_an_empty_batch_is_refused():
    with pytest.raises(ValueError, match=r"one length T_k per episode \(K ≥ 1\)"):
        Episodes(**_arrays(states=np.zeros(0, dtype=int), actions=np.zeros(0, dtype=int),
                           rewards=np.zeros(0), lengths=np.zeros(0, dtype=int),
                           truncated=np.zeros(0, dtype=bool)))
    with pytest.raises(ValueError, match="at least one episode"):
        Episodes.from_lists([], [], [])


def test_from_lists_refuses_ragged_steps():
    with pytest.raises(ValueError, match=r"states\[1\] must have one entry per step, 1 like "
                                         r"rewards\[1\]"):
        Episodes.from_lists([[0, 1, 2], [1, 2]], [[1, 0, 1], [0]], [[1.0, 2.0, 3.0], [4.0]])
    with pytest.raises(ValueError, match="actions must hold one sequence per episode"):
        Episodes.from_lists([[0], [1]], [[1]], [[1.0], [4.0]])


# -- the vectorised sampler on tabular MDPs -----------------------------------------------------


@pytest.mark.parametrize(("probabilities", "uniform", "outcome"), [
    ([0.3, 0.7 - 1e-15, 0.0], 1.0 - 2.0**-53, 1),  # past the rounded total: the last possible
    ([0.3, 0.7 - 1e-15, 0.0, 0.0], 1.0 - 2.0**-53, 1),
    ([0.0, 1.0], 0.0, 1),  # u = 0 never lands on a probability-0 outcome
    ([0.5, 0.0, 0.5], 0.5, 2),  # F(0) = 0.5 is not > 0.5, and outcome 1 has probability 0
    ([0.5, 0.0, 0.5], 0.5 - 2.0**-54, 0),  # just below the boundary
    ([0.25, 0.25, 0.25, 0.25], 0.75, 3),
    ([1.0], 0.999, 0),
    ([0.3, 0.7], 0.3, 1),  # u = F(0) inside slice 4 of 16 (not on its edge): the guide's start
    ([0.2, 0.3, 0.5], 0.2, 1),  # j = g(m) has F(j) = u: the first comparison meets the tie
    ([3 / 128, 2 / 128, 123 / 128], 5 / 128, 2),  # F(1) = u: a step forward meets the tie
])
def test_inverse_cdf_draws_the_first_outcome_whose_cumulative_exceeds_u(probabilities, uniform,
                                                                          outcome):
    """Deterministic draws, including the rounding guard and the ties at a boundary."""
    table = InverseCdfTable(np.array([[1.0] + [0.0] * (len(probabilities) - 1), probabilities]))
    position = table.draw(table.slice_base(np.array([1])), np.array([uniform]))
    assert position[0] - table.n_outcomes == outcome


def test_inverse_cdf_agrees_with_a_search_from_the_first_outcome():
    """Against min { j : F(j) > u } computed by brute force, on random rows and uniforms."""
    rng = np.random.default_rng(0)
    for n_outcomes in (1, 3, 80, 1000):
        probabilities = rng.dirichlet(np.full(n_outcomes, 0.3), size=6)
        table = InverseCdfTable(probabilities)
        rows = rng.integers(6, size=20_000)
        uniforms = rng.random(20_000)
        drawn = table.draw(table.slice_base(rows), uniforms.copy()) - rows * n_outcomes
        cumulative = np.cumsum(probabilities, axis=1)[rows]
        last_possible = n_outcomes - 1 - np.argmax(probabilities[rows, ::-1] > 0, axis=1)
        expected = np.minimum((cumulative <= uniforms[:, None]).sum(axis=1), last_possible)
        np.testing.assert_array_equal(drawn, expected)


@pytest.mark.parametrize("sampler", [sample_episodes, sample_episodes_loop])
def test_sampled_batches_pass_the_public_checks_and_follow_the_dynamics(sampler):
    mdp, policy, theta = _small_problem()
    episodes = sampler(mdp, policy, theta, 500, np.random.default_rng(0))
    assert episodes.n_episodes == 500
    rechecked = Episodes(episodes.states, episodes.actions, episodes.rewards, episodes.lengths,
                         episodes.truncated)  # the public constructor's checks, on sampler output
    np.testing.assert_array_equal(rechecked.states, episodes.states)
    pi = policy.action_probs(theta)
    s, a = episodes.states, episodes.actions
    assert np.all(pi[s, a] > 0) and not np.any(mdp.terminal[s])
    # Every recorded move Sₜ → Sₜ₊₁ is possible and its reward is r(Sₜ, Aₜ, Sₜ₊₁).
    inner = episodes.time_index + 1 < episodes.lengths[episodes.episode_index]
    rows = np.flatnonzero(inner)
    s_next = episodes.states[rows + 1]
    assert np.all(mdp.transitions[s[rows], a[rows], s_next] > 0)
    np.testing.assert_array_equal(episodes.rewards[rows], mdp.rewards[s[rows], a[rows], s_next])
    # The last step of a finished episode can enter a terminal state.
    last = ~inner
    assert np.all(mdp.transitions[s[last], a[last]][:, mdp.terminal].sum(axis=1) > 0)


def test_sampling_is_reproducible_from_the_generator_alone():
    mdp, policy, theta = _small_problem()
    first = sample_episodes(mdp, policy, theta, 50, np.random.default_rng(7))
    again = sample_episodes(mdp, policy, theta, 50, np.random.default_rng(7))
    other = sample_episodes(mdp, policy, theta, 50, np.random.default_rng(8))
    np.testing.assert_array_equal(first.states, again.states)
    np.testing.assert_array_equal(first.rewards, again.rewards)
    assert first.states.shape != other.states.shape or np.any(first.states != other.states)


def test_zero_probability_actions_and_next_states_are_never_drawn():
    problem = envs.short_corridor()  # deterministic moves: most next states have probability 0
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([1e4, -1e4])  # π(left) = exp(−2e4) = 0.0 exactly in float64
    assert policy.action_probs(theta)[0, 1] == 0.0
    episodes = sample_episodes(problem.mdp, policy, theta, 200, np.random.default_rng(0),
                               max_steps=30)
    assert np.all(episodes.actions == 0)
    # Always right: 0 → 1 → 0 → … (state 1 is switched), so every episode is cut at 30 steps.
    assert np.all(episodes.truncated) and np.all(episodes.lengths == 30)
    np.testing.assert_array_equal(episodes[0].states[:4], [0, 1, 0, 1])


def test_episodes_cut_at_max_steps_are_marked_truncated_never_silently():
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3, 0.0])
    for sampler in (sample_episodes, sample_episodes_loop):
        episodes = sampler(problem.mdp, policy, theta, 300, np.random.default_rng(1), max_steps=5)
        assert episodes.horizon <= 5
        # Truncated ⇔ the episode ran for 5 steps without reaching the goal. The goal (state 3)
        # is entered only from state 2 by "right", so a finished episode ends with (2, right).
        last = episodes.offsets[1:] - 1  # the row of each episode's last step
        finished = (episodes.states[last] == 2) & (episodes.actions[last] == 0)
        np.testing.assert_array_equal(episodes.truncated, ~finished)
        assert np.all(episodes.lengths[episodes.truncated] == 5)
        assert 0 < episodes.truncated.sum() < episodes.n_episodes
    one_step = sample_episodes(problem.mdp, policy, theta, 10, np.random.default_rng(0),
                               max_steps=1)
    assert np.all(one_step.lengths == 1) and np.all(one_step.truncated)


def test_a_continuing_task_is_all_truncated():
    problem = envs.random_mdp(np.random.default_rng(0), 3, 2, gamma=0.9)  # no terminal state
    policy = SoftmaxLinearPolicy(problem.features)
    episodes = sample_episodes(problem.mdp, policy, np.zeros(policy.n_params),
                               20, np.random.default_rng(0), max_steps=7)
    assert np.all(episodes.truncated) and np.all(episodes.lengths == 7)


def test_vectorised_and_loop_samplers_have_the_same_distribution():
    """Both samplers against each other and against the exact expectations.

    Quantities per episode (i.i.d. across episodes): its length; its visits to each (s, a); its
    return. The length histograms are compared by a χ² test of homogeneity; the means by Welch
    z-tests between the samplers and by z-tests against the exact n(s)π(a|s) and J.
    False failure (fresh seeds): the χ² test at 1e-6, each of the 3·(6 + 1) = 21 z-tests at 1e-7
    (|z| < 5.33), ≈ 3e-6 in all.
    """
    mdp, policy, theta = _small_problem()
    fast = sample_episodes(mdp, policy, theta, 20_000, np.random.default_rng(11))
    slow = sample_episodes_loop(mdp, policy, theta, 2_000, np.random.default_rng(12))

    # Lengths: categories 1, …, 5 and "6 or more".
    tables = np.array([np.bincount(np.minimum(e.lengths, 6), minlength=7)[1:]
                       for e in (fast, slow)], dtype=float)
    expected = tables.sum(axis=1, keepdims=True) * tables.sum(axis=0) / tables.sum()
    assert expected.min() > 5  # the χ² approximation holds
    statistic = ((tables - expected) ** 2 / expected).sum()
    assert statistic < chi_square_quantile(1.0 - 1e-6, tables.shape[1] - 1)

    pi = policy.action_probs(theta)
    live = np.repeat(~mdp.terminal, mdp.n_actions)
    exact_visits = (exact.discounted_visits(mdp, pi)[:, None] * pi).reshape(-1)[live]
    exact_return = exact.objective(mdp, policy, theta)
    z_max = z_critical(1e-7)
    summaries = []
    for episodes in (fast, slow):
        per_episode = np.column_stack([
            _state_action_counts(episodes, mdp.n_states, mdp.n_actions)[:, live],
            returns(episodes, mdp.gamma)])
        mean = per_episode.mean(axis=0)
        variance = per_episode.var(axis=0, ddof=1) / episodes.n_episodes
        z_exact = (mean - np.append(exact_visits, exact_return)) / np.sqrt(variance)
        assert np.all(np.abs(z_exact) < z_max), z_exact
        summaries.append((mean, variance))
    (mean_fast, var_fast), (mean_slow, var_slow) = summaries
    z_between = (mean_fast - mean_slow) / np.sqrt(var_fast + var_slow)
    assert np.all(np.abs(z_between) < z_max), z_between


# -- Gymnasium-style environments ---------------------------------------------------------------


def test_the_env_runner_samples_the_mdp_through_reset_and_step():
    """Against the exact expected visits n(s)π(a|s): 6 z-tests at 1e-7 each (< 1e-6 in all)."""
    mdp, policy, theta = _small_problem(next_state_rewards=False)
    env = TabularEnv(mdp)
    episodes = sample_env_episodes(env, policy, theta, 600, np.random.default_rng(5))
    again = sample_env_episodes(env, policy, theta, 20, np.random.default_rng(5))
    np.testing.assert_array_equal(episodes.states[:again.n_transitions], again.states)
    assert not episodes.truncated.any()
    pi = policy.action_probs(theta)
    live = np.repeat(~mdp.terminal, mdp.n_actions)
    counts = _state_action_counts(episodes, mdp.n_states, mdp.n_actions)[:, live]
    expected = (exact.discounted_visits(mdp, pi)[:, None] * pi).reshape(-1)[live]
    z = (counts.mean(axis=0) - expected) / (counts.std(axis=0, ddof=1) / np.sqrt(600))
    assert np.all(np.abs(z) < z_critical(1e-7)), z
    np.testing.assert_array_equal(episodes.rewards,
                                  mdp.rewards[episodes.states, episodes.actions])


def test_env_time_limits_and_max_steps_mark_truncation():
    mdp, policy, theta = _small_problem(next_state_rewards=False)
    limited = sample_env_episodes(TabularEnv(mdp, max_steps=2), policy, theta, 200,
                                  np.random.default_rng(0))
    # Truncated ⇒ cut at 2 steps (an episode may also end in a terminal state at step 2).
    assert np.all(limited.lengths[limited.truncated] == 2) and limited.truncated.any()
    cut = sample_env_episodes(TabularEnv(mdp), policy, theta, 200, np.random.default_rng(0),
                              max_steps=2)
    np.testing.assert_array_equal(cut.truncated, limited.truncated)


class _Walk:
    """A continuous 1-D random walk x ← x + a + noise, ending when |x| ≥ 1; obs = [x]."""

    def __init__(self, step_result=None):
        self.step_result = step_result
        self.x = 0.0

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)
        self.x = 0.0
        return np.array([self.x]), {}

    def step(self, action):
        if self.step_result is not None:
            return self.step_result
        self.x += 0.3 * float(action) + 0.2 * self.rng.standard_normal()
        done = abs(self.x) >= 1.0
        return np.array([self.x]), -abs(self.x), done, False, {}


def test_each_env_episode_resets_with_a_seed_of_its_own():
    """Independent episodes need each reset's randomness to be its own: 300 resets get 300
    different seeds. Seeds drawn uniformly from 2³¹ − 1 values collide with probability
    ≤ C(300, 2)/(2³¹ − 1) ≈ 2e−5 (fixed generator: deterministic here); a narrow range such as
    61 values must collide (pigeonhole)."""
    seeds = []

    class SeedRecorder(_Walk):
        def reset(self, seed=None):
            seeds.append(seed)
            return super().reset(seed)

        def step(self, action):
            return np.array([0.0]), 0.0, True, False, {}

    policy = GaussianPolicy(lambda states: np.asarray(states).reshape(-1, 1), n_features=1)
    sample_env_episodes(SeedRecorder(), policy, np.array([0.0]), 300, np.random.default_rng(0))
    assert len(seeds) == 300 and len(set(seeds)) == 300


def test_env_with_real_observations_and_a_gaussian_policy():
    policy = GaussianPolicy(lambda states: np.asarray(states).reshape(-1, 1), n_features=1,
                            variance=0.5)
    episodes = sample_env_episodes(_Walk(), policy, np.array([0.5]), 30,
                                   np.random.default_rng(0), max_steps=50)
    assert episodes.states.shape == (episodes.n_transitions, 1) and episodes.states.dtype == float
    for episode in episodes:  # the walk: x₀ = 0, Rₜ₊₁ = −|xₜ₊₁|, ends once |x| ≥ 1 (or is cut)
        x = episode.states[:, 0]
        assert x[0] == 0.0 and np.all(np.abs(x) < 1.0)
        np.testing.assert_allclose(episode.rewards[:-1], -np.abs(x[1:]))
        assert episode.truncated or abs(episode.rewards[-1]) >= 1.0
    theta, gamma, b = np.array([0.5]), 0.9, -0.5
    estimate = reinforce(policy, theta, episodes, gamma, baseline=b, allow_truncated=True)
    for k, episode in enumerate(episodes):  # Σₜ γᵗ (Gₜ − b) ∇log π(Aₜ|Sₜ), one step at a time
        total = 0.0
        for t in range(len(episode.rewards)):
            G_t = sum(gamma**i * r for i, r in enumerate(episode.rewards[t:]))
            score = policy.grad_log_prob(theta, episode.states[t:t + 1], episode.actions[t:t + 1])
            total = total + gamma**t * (G_t - b) * score[0]
        np.testing.assert_allclose(estimate.per_episode[k], total, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("step_result", "message"), [
    ((np.array([0.0]), 1.0, False, {}), r"must return a 5-tuple .*length 4.*old Gym API"),
    ([np.array([0.0]), 1.0, False, False, {}], r"must return a 5-tuple .*got list"),
    ((np.array([0.0]), np.nan, False, False, {}), "reward returned by env.step must be finite"),
    ((np.array([0.0]), 1.0, 0, False, {}), "must return terminated as a bool"),
    ((np.array([0.0]), 1.0, False, None, {}), "must return truncated as a bool"),
    ((np.array([0.0]), 1.0, False, False, None), "must return info as a dict"),
])
def test_a_malformed_step_tuple_is_a_clear_error(step_result, message):
    policy = GaussianPolicy(lambda states: np.asarray(states).reshape(-1, 1), n_features=1)
    with pytest.raises(ValueError, match=message):
        sample_env_episodes(_Walk(step_result), policy, np.array([0.0]), 1,
                            np.random.default_rng(0))


def test_a_malformed_reset_is_a_clear_error():
    class OldReset(_Walk):
        def reset(self, seed=None):
            return np.array([0.0])

    policy = GaussianPolicy(lambda states: np.asarray(states).reshape(-1, 1), n_features=1)
    with pytest.raises(ValueError, match=r"env.reset\(seed=...\) must return a 2-tuple"):
        sample_env_episodes(OldReset(), policy, np.array([0.0]), 1, np.random.default_rng(0))


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", [sample_episodes, sample_episodes_loop])
@pytest.mark.parametrize(("changes", "message"), [
    (dict(n_episodes=0), "n_episodes must be an integer ≥ 1; got 0"),
    (dict(n_episodes=2.0), "n_episodes must be an integer ≥ 1"),
    (dict(max_steps=0), "max_steps must be an integer ≥ 1; got 0"),
    (dict(rng=0), "rng must be a numpy.random.Generator"),
    (dict(theta=np.zeros(3)), r"theta must be a flat vector of shape \(8,\)"),
    (dict(theta=np.full(8, np.nan)), "theta must be finite"),
    (dict(mdp="corridor"), "mdp must be a pgref.TabularMDP"),
    (dict(policy=SoftmaxLinearPolicy(one_hot_features(3, 2))),
     r"policy must act on the mdp's \(S, A\) = \(4, 2\)"),
])
def test_sampler_bad_input(sampler, changes, message):
    mdp, policy, theta = _small_problem()
    arguments = dict(mdp=mdp, policy=policy, theta=theta, n_episodes=3,
                     rng=np.random.default_rng(0), max_steps=10)
    arguments.update(changes)
    with pytest.raises(ValueError, match=message):
        sampler(**arguments)


def test_env_runner_bad_input():
    mdp, policy, theta = _small_problem()
    env = TabularEnv(mdp)
    with pytest.raises(ValueError, match="n_episodes must be an integer ≥ 1; got 0"):
        sample_env_episodes(env, policy, theta, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="max_steps must be an integer ≥ 1; got 0"):
        sample_env_episodes(env, policy, theta, 1, np.random.default_rng(0), max_steps=0)
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(8,\)"):
        sample_env_episodes(env, policy, np.zeros(2), 1, np.random.default_rng(0))


def test_terminal_mdp_without_terminal_reachability_is_just_truncated():
    """A state that never ends is not an error for sampling: the cut is recorded."""
    transitions = np.zeros((2, 1, 2))
    transitions[0, 0, 0] = 1.0  # state 0 loops forever
    transitions[1, 0, 1] = 1.0  # terminal
    mdp = TabularMDP(transitions, np.zeros((2, 1)), np.array([1.0, 0.0]),
                     terminal=np.array([False, True]))
    policy = SoftmaxLinearPolicy(one_hot_features(2, 1))
    episodes = sample_episodes(mdp, policy, np.zeros(2), 4, np.random.default_rng(0),
                               max_steps=3)
    assert np.all(episodes.truncated) and np.all(episodes.lengths == 3)


# -- the benchmark ------------------------------------------------------------------------------


def test_quick_sampling_benchmark_prints_its_table():
    """A smoke run of ``python -m pgref bench sampling --quick``: its times are not checked."""
    from pgref.benchmarks import run

    lines = run("sampling", quick=True)
    rows = [line for line in lines if line.startswith("| ")]
    assert len(rows) == 4  # header, the loop, two vectorised sizes
    assert rows[1].startswith("| per-step loop") and rows[2].startswith("| vectorised")
    assert any(line.startswith("goal: vectorised ≥ 500× the loop") for line in lines)
    assert any(line.startswith("goal: peak ≤ 48 bytes per transition") for line in lines)


def _three_state_mdp() -> TabularMDP:
    """State 0: action 0 goes to 1 or ends (½ each), action 1 stays; state 1: every action ends."""
    transitions = np.zeros((3, 2, 3))
    transitions[0, 0] = [0.0, 0.5, 0.5]
    transitions[0, 1] = [1.0, 0.0, 0.0]
    transitions[1, :, 2] = transitions[2, :, 2] = 1.0
    rewards = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]])
    return TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0]),
                      terminal=np.array([False, False, True]))


@pytest.mark.parametrize("two_draws", [False, True])
def test_sample_episodes_inverts_the_cdf_draw_by_draw(two_draws, monkeypatch):
    """Chosen uniforms through a stub generator, π(·|0) = (¼, ¾), π(·|1) = (½, ½).

    Joint draws (one u per step) over (a, s′) = (0,0), (0,1), (0,2), (1,0), …: CDF from state 0
    (0, ⅛, ¼, 1, 1, 1). Two draws (when S·A·S exceeds JOINT_TABLE_LIMIT): u for the action,
    then u for the next state."""
    from pgref.rollout import samplers

    mdp = _three_state_mdp()
    policy = SoftmaxLinearPolicy(one_hot_features(3, 2))
    theta = np.array([0.0, np.log(3.0), 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(policy.action_probs(theta)[0], [0.25, 0.75])
    # S·A·S = 18 entries: joint draws up to a limit of 18, two draws above it
    monkeypatch.setattr(samplers, "JOINT_TABLE_LIMIT", 17 if two_draws else 18)
    if two_draws:
        # S₀ = 0; a = 1 (u ≥ ¼), stay; a = 0, s′ = 1 (½ > 0.2); a = 1, s′ = 2 (ends)
        uniforms = [[0.3], [0.5], [0.99], [0.1], [0.2], [0.7], [0.0]]
    else:
        # S₀ = 0; (1, 0) for u ∈ [¼, 1); (0, 1) for u ∈ [0, ⅛); from 1: (1, 2) for u ≥ ½
        uniforms = [[0.3], [0.5], [0.1], [0.7]]
    episodes = sample_episodes(mdp, policy, theta, 1, FixedUniforms(*uniforms))
    np.testing.assert_array_equal(episodes.states, [0, 0, 1])
    np.testing.assert_array_equal(episodes.actions, [1, 0, 1])
    np.testing.assert_array_equal(episodes.rewards, [2.0, 1.0, 4.0])
    assert not episodes.truncated[0]


def test_more_episodes_than_one_block_are_all_sampled_exactly_once():
    """K = 2¹⁵ + 3 crosses EPISODES_PER_BLOCK: exactly K episodes, every one finished."""
    from pgref.rollout import samplers

    mdp = _three_state_mdp()
    policy = SoftmaxLinearPolicy(one_hot_features(3, 2))
    n_episodes = samplers.EPISODES_PER_BLOCK + 3
    episodes = sample_episodes(mdp, policy, np.zeros(6), n_episodes, np.random.default_rng(0))
    assert episodes.n_episodes == n_episodes and not episodes.truncated.any()
    assert episodes.lengths.sum() == episodes.n_transitions
