"""Tests of pgref.rollout: the Episodes batch, the vectorised sampler against the plain loop and
the exact expectations, the Gymnasium-style runner, truncation, and bad input.

Statistical checks use fixed seeds; each states its false-failure probability (for a fresh seed)
in a comment. With the seeds fixed, they are deterministic.
"""

import math
import statistics
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from pgref import envs, exact
from pgref.estimators import reinforce, returns
from pgref.features import one_hot_features
from pgref.mdp import TabularEnv, TabularMDP
from pgref.policies import GaussianPolicy, SoftmaxLinearPolicy
from pgref.rollout import (
    INDEX_PAD,
    REWARD_PAD,
    Episodes,
    sample_env_episodes,
    sample_episodes,
    sample_episodes_loop,
)


def _z_critical(false_failure: float) -> float:
    """The two-sided normal threshold whose exceedance probability is ``false_failure``."""
    return statistics.NormalDist().inv_cdf(1.0 - false_failure / 2.0)


def _chi_square_quantile(probability: float, dof: int) -> float:
    """Wilson–Hilferty: χ²_dof quantile ≈ dof (1 − 2/(9 dof) + z √(2/(9 dof)))³."""
    z = statistics.NormalDist().inv_cdf(probability)
    c = 2.0 / (9.0 * dof)
    return dof * (1.0 - c + z * math.sqrt(c)) ** 3


def _state_action_counts(episodes: Episodes, n_states: int, n_actions: int) -> np.ndarray:
    """Per-episode visits of each (s, a): shape (K, S·A)."""
    counts = np.zeros((episodes.n_episodes, n_states * n_actions))
    rows, cols = np.nonzero(episodes.mask)
    cells = episodes.states[rows, cols] * n_actions + episodes.actions[rows, cols]
    np.add.at(counts, (rows, cells), 1.0)
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


def test_from_lists_pads_with_the_documented_values():
    episodes = _hand_batch()
    assert episodes.states.shape == episodes.actions.shape == episodes.rewards.shape == (2, 3)
    np.testing.assert_array_equal(episodes.states, [[0, 1, 2], [1, INDEX_PAD, INDEX_PAD]])
    np.testing.assert_array_equal(episodes.rewards, [[1, 2, 3], [4, REWARD_PAD, REWARD_PAD]])
    np.testing.assert_array_equal(episodes.lengths, [3, 1])
    np.testing.assert_array_equal(episodes.truncated, [False, True])
    np.testing.assert_array_equal(episodes.mask, [[True, True, True], [True, False, False]])
    assert (episodes.n_episodes, episodes.horizon, episodes.n_transitions) == (2, 3, 4)
    assert repr(episodes) == "Episodes(K=2, T=3, transitions=4, truncated=1)"


def test_real_valued_observations_are_padded_with_nan():
    episodes = Episodes.from_lists(states=[[[0.5, 1.0]], [[0.0, 0.0], [1.0, 2.0]]],
                                   actions=[[0.1], [0.2, 0.3]], rewards=[[1.0], [0.0, 1.0]])
    assert episodes.states.shape == (2, 2, 2)
    assert np.all(np.isnan(episodes.states[0, 1])) and np.isnan(episodes.actions[0, 1])


def test_episodes_are_read_only():
    episodes = _hand_batch()
    with pytest.raises(FrozenInstanceError):
        episodes.states = np.zeros((2, 3), dtype=int)
    with pytest.raises(ValueError, match="read-only"):
        episodes.rewards[0, 0] = 10.0


def _arrays(**changes):
    episodes = _hand_batch()
    fields = dict(states=episodes.states, actions=episodes.actions, rewards=episodes.rewards,
                  lengths=episodes.lengths, truncated=episodes.truncated)
    fields.update(changes)
    return fields


@pytest.mark.parametrize(("changes", "message"), [
    (dict(states=np.zeros((2, 4), dtype=int)), r"states must start with shape \(K, T\) = \(2, 3\)"),
    (dict(actions=np.zeros((3, 3), dtype=int)), r"actions must start with shape \(K, T\)"),
    (dict(lengths=np.array([3, 1, 1])), r"lengths must have shape \(K,\) = \(2,\)"),
    (dict(truncated=np.array([0, 1])), "truncated must be a boolean array"),
    (dict(truncated=np.array([False])), "truncated must be a boolean array of shape"),
    (dict(lengths=np.array([3, 0])), r"lengths must lie in \[1, T\]"),
    (dict(lengths=np.array([4, 1])), r"lengths must lie in \[1, T\]"),
    (dict(lengths=np.array([3.0, 1.0])), "lengths must be integers"),
    (dict(rewards=np.array([[1.0, np.nan, 3.0], [4.0, 0, 0]])), "rewards must be finite"),
    (dict(rewards=np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 0]])), "rewards must be padded with 0.0"),
    (dict(states=np.array([[0, -2, 2], [1, -1, -1]])), "states must be indices ≥ 0"),
    (dict(actions=np.array([[1, 0, 1], [0, 0, -1]])), "actions must be padded with -1"),
    (dict(states=np.array([[0.0, np.inf, 2], [1, np.nan, np.nan]])), "states must be finite"),
    (dict(states=np.array([[0.0, 1, 2], [1, 0, np.nan]])), "padded with NaN"),
])
def test_episodes_arrays_that_disagree_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        Episodes(**_arrays(**changes))


def test_an_empty_batch_is_refused():
    with pytest.raises(ValueError, match=r"episodes must hold at least one episode \(K ≥ 1\)"):
        Episodes(**_arrays(states=np.zeros((0, 3), dtype=int), actions=np.zeros((0, 3), dtype=int),
                           rewards=np.zeros((0, 3)), lengths=np.zeros(0, dtype=int),
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


def test_sampled_batches_pass_the_public_checks_and_follow_the_dynamics():
    mdp, policy, theta = _small_problem()
    episodes = sample_episodes(mdp, policy, theta, 500, np.random.default_rng(0))
    rechecked = Episodes(episodes.states, episodes.actions, episodes.rewards, episodes.lengths,
                         episodes.truncated)  # the public constructor's checks, on sampler output
    np.testing.assert_array_equal(rechecked.states, episodes.states)
    pi = policy.action_probs(theta)
    rows, cols = np.nonzero(episodes.mask)
    s, a = episodes.states[rows, cols], episodes.actions[rows, cols]
    assert np.all(pi[s, a] > 0) and not np.any(mdp.terminal[s])
    # Every recorded move Sₜ → Sₜ₊₁ is possible and its reward is r(Sₜ, Aₜ, Sₜ₊₁).
    inner = cols + 1 < episodes.lengths[rows]
    s_next = episodes.states[rows[inner], cols[inner] + 1]
    assert np.all(mdp.transitions[s[inner], a[inner], s_next] > 0)
    np.testing.assert_array_equal(episodes.rewards[rows[inner], cols[inner]],
                                  mdp.rewards[s[inner], a[inner], s_next])
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
    valid = episodes.actions[episodes.mask]
    assert np.all(valid == 0)
    # Always right: 0 → 1 → 0 → … (state 1 is switched), so every episode is cut at 30 steps.
    assert np.all(episodes.truncated) and np.all(episodes.lengths == 30)
    np.testing.assert_array_equal(episodes.states[0, :4], [0, 1, 0, 1])


def test_episodes_cut_at_max_steps_are_marked_truncated_never_silently():
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3, 0.0])
    for sampler in (sample_episodes, sample_episodes_loop):
        episodes = sampler(problem.mdp, policy, theta, 300, np.random.default_rng(1), max_steps=5)
        assert episodes.horizon <= 5
        # Truncated ⇔ the episode ran for 5 steps without reaching the goal. The goal (state 3)
        # is entered only from state 2 by "right", so a finished episode ends with (2, right).
        last = episodes.lengths - 1
        k = np.arange(episodes.n_episodes)
        finished = (episodes.states[k, last] == 2) & (episodes.actions[k, last] == 0)
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
    assert statistic < _chi_square_quantile(1.0 - 1e-6, tables.shape[1] - 1)

    pi = policy.action_probs(theta)
    live = np.repeat(~mdp.terminal, mdp.n_actions)
    exact_visits = (exact.discounted_visits(mdp, pi)[:, None] * pi).reshape(-1)[live]
    exact_return = exact.objective(mdp, policy, theta)
    z_max = _z_critical(1e-7)
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
    np.testing.assert_array_equal(episodes.states[:20, :again.horizon], again.states)
    assert not episodes.truncated.any()
    pi = policy.action_probs(theta)
    live = np.repeat(~mdp.terminal, mdp.n_actions)
    counts = _state_action_counts(episodes, mdp.n_states, mdp.n_actions)[:, live]
    expected = (exact.discounted_visits(mdp, pi)[:, None] * pi).reshape(-1)[live]
    z = (counts.mean(axis=0) - expected) / (counts.std(axis=0, ddof=1) / np.sqrt(600))
    assert np.all(np.abs(z) < _z_critical(1e-7)), z
    np.testing.assert_array_equal(episodes.rewards[episodes.mask],
                                  mdp.rewards[episodes.states[episodes.mask],
                                              episodes.actions[episodes.mask]])


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


def test_env_with_real_observations_and_a_gaussian_policy():
    policy = GaussianPolicy(lambda states: np.asarray(states).reshape(-1, 1), n_features=1,
                            variance=0.5)
    episodes = sample_env_episodes(_Walk(), policy, np.array([0.5]), 30,
                                   np.random.default_rng(0), max_steps=50)
    assert episodes.states.shape[::2] == (30, 1) and episodes.states.dtype == float
    assert episodes.actions.shape == episodes.rewards.shape
    assert np.all(np.isnan(episodes.states[~episodes.mask]))
    estimate = reinforce(policy, np.array([0.5]), episodes, 0.9, baseline=-0.5,
                         allow_truncated=True)
    assert estimate.per_episode.shape == (30, 1) and np.all(np.isfinite(estimate.mean))


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
    assert any(line.startswith("goal: vectorised ≥ 100× the loop") for line in lines)
