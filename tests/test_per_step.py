r"""Tests of the per-step loops PG_v1 and REINFORCE (pgref.algorithms.per_step and its parts).

Oracles: a two-step episode worked by hand (θ and w updates written as formulas); the policy's
own ``action_probs`` / ``grad_log_prob`` for the hot-path softmax; :func:`pgref.exact.objective`
and the corridor's closed form J(p) = 2(p − 2)/(p(1 − p)) for the stacked exact solve; the exact
J against the mean sampled return (a z-test with stated error rates); and single-run calls with
``rng.spawn(R)[r]`` for the lockstep runs (to 1e−12).
"""

import math
from typing import NamedTuple

import numpy as np
import pytest
from helpers import NORMAL, z_critical

from pgref import algorithms as alg
from pgref import envs, exact, lqr
from pgref.algorithms import exact_trace
from pgref.algorithms.history import EPISODE_NOT_ENDED, THETA_NOT_FINITE
from pgref.algorithms.lockstep import run_in_lockstep
from pgref.algorithms.run_trace import RunTrace
from pgref.algorithms.tabular_softmax import TabularSoftmax
from pgref.algorithms.tabular_walk import (
    TabularWalker,
    UniformStream,
    Walks,
    rewards_to_go,
)
from pgref.features import one_hot_state_features, shared_action_features
from pgref.mdp import TabularEnv, TabularMDP
from pgref.policies import GaussianPolicy, SoftmaxLinearPolicy
from pgref.problems import EnvProblem

J_STAR = -(6.0 + 4.0 * math.sqrt(2.0))          # the short corridor's optimum
THETA_0 = np.array([-0.55, 0.55])               # π(right) = σ(−1.1) ≈ 0.25, J(θ₀) ≈ J* − 7


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def _corridor_J(p):
    return 2.0 * (p - 2.0) / (p * (1.0 - p))


def _corridor():
    problem = envs.short_corridor()
    return problem.mdp, SoftmaxLinearPolicy(problem.features)


# -- a two-step episode, worked by hand ---------------------------------------------------------
#
# States 0 → 1 → terminal 2 whatever the action; x(s, a) = e_a in every state, so θ = (θ₀, θ₁)
# is shared by both steps and π_θ(0|s) = σ(θ₀ − θ₁); the score of action a is e_a − π_θ(·).
# Rewards r(0, 0) = 1, r(1, 1) = 2, all others 0. The episode: S₀ = 0, A₀ = 0, R₁ = 1;
# S₁ = 1, A₁ = 1, R₂ = 2.


def _two_step_policy():
    return SoftmaxLinearPolicy(shared_action_features(np.eye(2), 3))


class _Episode(NamedTuple):
    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    truncated: bool


class _FixedEpisodeProblem:
    """A problem whose every episode is the hand example (the problem interface, by duck type)."""

    def __init__(self, gamma, truncated=False):
        self.gamma = gamma
        self.episode = _Episode(np.array([0, 1]), np.array([0, 1]), np.array([1.0, 2.0]),
                                truncated)

    def sample_episodes(self, policy, theta, n_episodes, rng, max_steps):
        return [self.episode] * n_episodes


def test_pg_v1_matches_the_two_step_example_worked_by_hand():
    alpha = 0.1
    history = alg.PG_v1(_FixedEpisodeProblem(1.0), _two_step_policy(), np.zeros(2), alpha, 1,
                        np.random.default_rng(0))
    G = 1.0 + 2.0                                # G(τ) = R₁ + R₂
    theta_1 = np.array([alpha * G / 2, -alpha * G / 2])     # t = 0: score (½, −½) at θ⁰ = 0
    p_1 = _sigmoid(alpha * G)                    # t = 1 at θ¹: score(A₁ = 1) = (−p₁, p₁)
    theta_2 = theta_1 + alpha * G * np.array([-p_1, p_1])
    np.testing.assert_allclose(history.theta, [np.zeros(2), theta_2], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(history.episode_returns, [G])
    np.testing.assert_array_equal(history.episode_lengths, [2])
    # ‖Σₜ G ∇log π at the θ of each step‖ = G √2 |½ − p₁|: not 0, as it would be at θ⁰ alone
    assert history.gradient_norms[0] == pytest.approx(G * math.sqrt(2) * abs(0.5 - p_1),
                                                      rel=1e-12, abs=0)
    assert np.all(np.isnan(history.objective))  # this problem has no exact J
    assert history.stops == () and history.n_stopped == 0 and history.n_runs == 1


def test_reinforce_with_discount_and_constant_baseline_matches_the_hand_example():
    alpha, gamma, b = 0.1, 0.5, 0.5
    history = alg.REINFORCE(_FixedEpisodeProblem(gamma), _two_step_policy(), np.zeros(2), alpha,
                            1, np.random.default_rng(0), baseline=b)
    G_0, G_1 = 1.0 + gamma * 2.0, 2.0            # Gₜ = Rₜ₊₁ + γ Gₜ₊₁
    c_0 = alpha * gamma**0 * (G_0 - b)           # step 0: α γ⁰ (G₀ − b) times (½, −½)
    theta_1 = np.array([c_0 / 2, -c_0 / 2])
    c_1 = alpha * gamma**1 * (G_1 - b)           # step 1: α γ¹ (G₁ − b) times (−σ(c₀), σ(c₀))
    p_1 = _sigmoid(c_0)
    theta_2 = theta_1 + c_1 * np.array([-p_1, p_1])
    np.testing.assert_allclose(history.final_theta, theta_2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(history.episode_returns, [G_0], rtol=0, atol=1e-15)


def test_reinforce_with_learned_baseline_matches_the_hand_example():
    alpha, gamma, alpha_w = 0.1, 0.5, 0.2
    w_0 = np.array([0.5, -1.0, 0.0])             # v̂(s) = w_s, one-hot x(s)
    baseline = alg.LinearValueBaseline(one_hot_state_features(3), alpha_w, w_0)
    history = alg.REINFORCE(_FixedEpisodeProblem(gamma), _two_step_policy(), np.zeros(2), alpha,
                            1, np.random.default_rng(0), baseline=baseline)
    G_0, G_1 = 1.0 + gamma * 2.0, 2.0
    delta_0 = G_0 - w_0[0]                       # δ₀ = G₀ − v̂(S₀)
    w_1 = w_0 + alpha_w * delta_0 * np.array([1.0, 0.0, 0.0])
    c_0 = alpha * delta_0
    theta_1 = np.array([c_0 / 2, -c_0 / 2])
    delta_1 = G_1 - w_1[1]                       # δ₁ = G₁ − v̂(S₁), with w already moved
    w_2 = w_1 + alpha_w * delta_1 * np.array([0.0, 1.0, 0.0])
    p_1 = _sigmoid(c_0)
    theta_2 = theta_1 + alpha * gamma * delta_1 * np.array([-p_1, p_1])
    np.testing.assert_allclose(history.final_theta, theta_2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(history.value_weights, [w_0, w_2], rtol=0, atol=1e-15)


def test_the_tabular_path_takes_the_hand_updates_on_the_episode_it_walks():
    # The same formulas on the TabularMDP path: replay the walk from the same generator.
    transitions = np.zeros((3, 2, 3))
    transitions[0, :, 1] = transitions[1, :, 2] = transitions[2, :, 2] = 1.0
    rewards = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    mdp = TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0]),
                     terminal=np.array([False, False, True]))
    policy, alpha = _two_step_policy(), 0.1
    for seed in range(4):
        walk = TabularWalker(mdp, 10).episode(np.full((3, 2), 0.5),
                                              UniformStream(np.random.default_rng(seed)))
        states, actions, R, ended = walk
        theta = np.zeros(2)
        G = sum(R)
        for a in actions:                        # score e_a − π at the current θ
            p = _sigmoid(theta[0] - theta[1])
            theta = theta + alpha * G * (np.eye(2)[a] - [p, 1 - p])
        history = alg.PG_v1(mdp, policy, np.zeros(2), alpha, 1, np.random.default_rng(seed))
        assert ended and states == [0, 1]
        np.testing.assert_allclose(history.final_theta, theta, rtol=0, atol=1e-15)
        # J is exact: π shared by both states, J = π(0)·1 + π(1)·2
        p = _sigmoid(theta[0] - theta[1])
        assert history.objective[-1] == pytest.approx(p + 2 * (1 - p), rel=1e-14, abs=0)


def test_the_tabular_path_discounts_as_reinforce_says_by_hand():
    # γ = 0.9: θ ← θ + α γᵗ Gₜ ∇log π with G₀ = R₁ + γR₂, G₁ = R₂, on the episode it walks
    transitions = np.zeros((3, 2, 3))
    transitions[0, :, 1] = transitions[1, :, 2] = transitions[2, :, 2] = 1.0
    rewards = np.array([[1.0, 3.0], [0.5, 2.0], [0.0, 0.0]])
    mdp = TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0]), gamma=0.9,
                     terminal=np.array([False, False, True]))
    policy, alpha = _two_step_policy(), 0.1
    for seed in range(4):
        states, actions, R, ended = TabularWalker(mdp, 10).episode(
            np.full((3, 2), 0.5), UniformStream(np.random.default_rng(seed)))
        G = [R[0] + 0.9 * R[1], R[1]]
        theta = np.zeros(2)
        for t, a in enumerate(actions):
            p = _sigmoid(theta[0] - theta[1])
            theta = theta + alpha * 0.9**t * G[t] * (np.eye(2)[a] - [p, 1 - p])
        history = alg.REINFORCE(mdp, policy, np.zeros(2), alpha, 1, np.random.default_rng(seed))
        assert ended and states == [0, 1]
        assert history.episode_returns[0] == G[0]
        np.testing.assert_allclose(history.final_theta, theta, rtol=0, atol=1e-15)


# -- the parts: hot-path softmax, the walk, the stacked exact J ---------------------------------


def test_tabular_softmax_agrees_with_the_policy():
    problem = envs.random_mdp(np.random.default_rng(3), 5, 3, n_features=4)
    policy = SoftmaxLinearPolicy(problem.features)
    fast = TabularSoftmax.of(policy)
    thetas = np.random.default_rng(4).normal(scale=3.0, size=(6, 4))
    thetas[0] = [1e4, -1e4, 3e3, 0.0]            # logits of ±1e4 stay finite
    np.testing.assert_allclose(fast.action_probs(thetas),
                               [policy.action_probs(th) for th in thetas], rtol=0, atol=1e-15)
    states, actions = np.array([0, 4, 2, 1, 3, 0]), np.array([2, 0, 1, 1, 0, 2])
    batch = fast.scores(thetas.T, states * 3 + actions).T
    for theta, s, a, row in zip(thetas, states, actions, batch, strict=True):
        expected = policy.grad_log_prob(theta, s, a)
        np.testing.assert_allclose(fast.score(theta, s, a), expected, rtol=0, atol=1e-14)
        np.testing.assert_allclose(row, expected, rtol=0, atol=1e-14)
    assert TabularSoftmax.of(GaussianPolicy(np.ones((3, 1)))) is None


@pytest.mark.parametrize("shape", [(4, 2, 2), (5, 3, 7), (6, 4, 12)])
def test_one_runs_score_is_its_column_of_the_lockstep_scores_bit_for_bit(shape):
    # the single-run loop and the lockstep runs must take the same steps (then walk the same
    # episodes): the Python-float score and the NumPy columns, equal to the last bit
    rng = np.random.default_rng(sum(shape))
    n_states, n_actions, n_features = shape
    fast = TabularSoftmax(rng.normal(size=shape))
    thetas = rng.normal(size=(n_features, 300)) * rng.choice([0.1, 10.0, 300.0], size=300)
    states, actions = rng.integers(n_states, size=300), rng.integers(n_actions, size=300)
    columns = fast.scores(thetas, states * n_actions + actions)
    for r in range(300):
        single = fast.score(np.ascontiguousarray(thetas[:, r]), states[r], actions[r])
        np.testing.assert_array_equal(single, columns[:, r])


def test_rewards_to_go_follows_the_backward_recursion():
    rewards, lengths, gamma = [1.0, 2.0, 3.0, -1.0, 4.0], [3, 2], 0.5
    # episode 1: G = (1 + 0.5·2 + 0.25·3, 2 + 0.5·3, 3); episode 2: (−1 + 0.5·4, 4)
    assert rewards_to_go(rewards, lengths, gamma) == [2.75, 3.5, 3.0, 1.0, 4.0]


def test_the_stream_is_the_generators_uniforms_in_order_across_refills():
    stream = UniformStream(np.random.default_rng(5))
    expected = np.random.default_rng(5).random(3 * UniformStream.CHUNK)
    stream.refill()
    stream.position = UniformStream.CHUNK - 3              # three unused uniforms are kept
    stream.refill()
    assert len(stream.values) == UniformStream.CHUNK + 3
    read = [stream.values[i] for i in range(len(stream.values))]
    assert all(type(u) is float for u in read)
    np.testing.assert_array_equal(read, expected[UniformStream.CHUNK - 3 : 2 * UniformStream.CHUNK])


def test_a_walk_across_refills_reads_each_uniform_once_in_order_and_stops_at_max_steps():
    # one state that never ends: 3000 steps span two chunks of uniforms; Aₜ reads u_{1+2t}
    transitions = np.zeros((2, 2, 2))
    transitions[0, :, 0] = transitions[1, :, 1] = 1.0
    mdp = TabularMDP(transitions, np.zeros((2, 2)), np.array([1.0, 0.0]),
                     terminal=np.array([False, True]))
    stream = UniformStream(np.random.default_rng(7))
    states, actions, _, ended = TabularWalker(mdp, 3000).episode(
        np.array([[0.4, 0.6], [0.5, 0.5]]), stream)
    uniforms = np.random.default_rng(7).random(2 * UniformStream.CHUNK)
    assert not ended and len(actions) == 3000 and set(states) == {0}
    np.testing.assert_array_equal(actions, uniforms[1 : 1 + 2 * 3000 : 2] >= 0.4)
    assert stream.values[stream.position] == uniforms[1 + 2 * 3000]   # the next one unread


def test_a_walk_uses_one_plus_two_uniforms_per_step_and_picks_the_last_possible_index():
    mdp, _ = _corridor()
    stream = UniformStream(np.random.default_rng(0))
    # π(right) = 1 in every state (rounded sum below 1 is caught by the last-possible rule)
    states, actions, _, ended = TabularWalker(mdp, 50).episode(
        np.array([[1.0, 0.0]] * 4), stream)
    # right, right from 0 → 1 → 0 → … never ends; the walk is cut after 50 steps
    assert not ended and len(states) == 50 and set(actions) == {0}
    assert stream.position == 1 + 2 * 50
    uniforms = np.random.default_rng(0).random(101)
    stream = UniformStream(np.random.default_rng(0))
    states, actions, _, ended = TabularWalker(mdp, 10_000).episode(
        np.array([[0.4, 0.6]] * 4), stream)
    assert ended and stream.position == 1 + 2 * len(actions)
    np.testing.assert_array_equal(actions, (uniforms[1 : 1 + 2 * len(actions) : 2] >= 0.4))


def _first_exceeding(probabilities, u):
    """The oracle: the first index j with Σ_{j′≤j} p_{j′} > u, else the last possible index."""
    cumulative = np.cumsum(probabilities)
    last = len(probabilities) - 1 - int(np.argmax(np.asarray(probabilities)[::-1] > 0))
    return min(int(np.sum(cumulative <= u)), last)


def test_a_walk_on_a_stochastic_mdp_draws_each_index_from_its_own_uniform():
    """S₀, every Aₜ and every Sₜ₊₁ against the first-exceeding oracle, uniform by uniform, on a
    random MDP with a random start, ties at a boundary and a u past a sum rounded below 1."""
    example = envs.random_mdp(np.random.default_rng(3), 5, 3, gamma=1.0, n_terminal=1,
                              termination_prob=0.3, next_state_rewards=True)
    mdp = example.mdp
    pi = np.tile(np.random.default_rng(4).dirichlet(np.ones(3)), (5, 1))  # one row, every s
    pi[:, 2] = 0.0
    pi[:, 1] = 1.0 - pi[:, 0] - 1e-15  # rows sum to 1 − 1e−15; action 2 impossible
    walker = TabularWalker(mdp, 1_000)
    for seed in range(20):
        uniforms = np.random.default_rng(seed).random(4000)
        uniforms[1:60:7] = 1.0 - 2.0**-53                                  # past every sum
        uniforms[1:60:6] = np.cumsum(pi[0])[0]                            # exactly on a boundary
        if seed % 2:
            uniforms[0] = 1.0 - 2.0**-53  # S₀ past the start distribution's rounded sum
        uniforms[3] = 1.0 - 2.0**-53  # A₁ past π's rounded sum: the last possible action
        stream = UniformStream(np.random.default_rng(0))
        stream.values, stream.position = uniforms.tolist(), 0
        states, actions, rewards, ended = walker.episode(pi, stream)
        assert ended and stream.position == 1 + 2 * len(states)
        assert states[0] == _first_exceeding(mdp.initial, uniforms[0])
        for t, (state, action) in enumerate(zip(states, actions, strict=True)):
            assert action == _first_exceeding(pi[state], uniforms[1 + 2 * t])
            following = _first_exceeding(mdp.transitions[state, action], uniforms[2 + 2 * t])
            assert rewards[t] == mdp.rewards[state, action, following]
            if t + 1 < len(states):
                assert states[t + 1] == following
            else:
                assert mdp.terminal[following]


def test_the_general_path_samples_one_episode_per_update_from_the_problem():
    """On a problem of one's own the per-step loop asks for one episode at a time and learns
    from exactly that episode (θ replayed by hand from the same generator)."""
    problem = envs.random_mdp(np.random.default_rng(5), 4, 2, gamma=0.9, n_terminal=1,
                              termination_prob=0.4)
    policy = SoftmaxLinearPolicy(problem.features)

    class Counting:
        gamma, requests = problem.mdp.gamma, []

        def sample_episodes(self, policy, theta, n_episodes, rng, max_steps=None):
            self.requests.append(n_episodes)
            return problem.mdp.sample_episodes(policy, theta, n_episodes, rng, max_steps)

    theta_0 = np.random.default_rng(6).normal(size=policy.n_params)
    history = alg.REINFORCE(Counting(), policy, theta_0, 0.1, 3, np.random.default_rng(7))
    assert Counting.requests == [1, 1, 1]
    rng, theta = np.random.default_rng(7), theta_0.copy()
    for _ in range(3):
        episode = problem.mdp.sample_episodes(policy, theta, 1, rng, 100_000)[0]
        G = [sum(0.9**i * r for i, r in enumerate(episode.rewards[t:]))
             for t in range(len(episode.rewards))]
        for t, (s, a) in enumerate(zip(episode.states, episode.actions, strict=True)):
            theta = theta + 0.1 * 0.9**t * G[t] * policy.grad_log_prob(theta, s, a)
    np.testing.assert_allclose(history.final_theta, theta, rtol=0, atol=1e-12)


def test_last_possible_is_the_last_index_of_non_zero_probability_along_the_last_axis():
    from pgref.algorithms.tabular_walk import last_possible

    table = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0],
                      [0.2, 0.3, 0.4, 0.1]])
    np.testing.assert_array_equal(last_possible(table), [1, 1, 0, 3])
    assert int(last_possible(np.array([0.3, 0.0, 0.7, 0.0, 0.0]))) == 2
    np.testing.assert_array_equal(last_possible(table.reshape(2, 2, 4)), [[1, 1], [0, 3]])


def test_the_walk_has_the_law_of_the_mdp():
    """Mean return of N = 12 000 walked episodes at p = π(right) = 0.4 against the exact
    J(0.4) = −16.67, in units of the exact standard error σ_G/√N (σ_G = 10.7 from
    :func:`pgref.exact.return_variance`): |z| < z_critical(1e−7) = 5.33, false failure 1e−7 for a
    fresh seed (normal approximation of a mean of 12 000 returns). Power against an off-by-one
    return (one step more or fewer: the mean moves by 1): a shift of √N/σ_G ≈ 10.2 standard
    errors, Φ(10.2 − 5.33) ≥ 0.999 (asserted); the positive control shifts the returns by 1."""
    mdp, _ = _corridor()
    pi = np.array([[0.4, 0.6]] * 4)
    walker, stream = TabularWalker(mdp, 100_000), UniformStream(np.random.default_rng(11))
    n_episodes = 12_000
    returns = np.array([sum(walker.episode(pi, stream)[2]) for _ in range(n_episodes)])
    standard_error = math.sqrt(exact.return_variance(mdp, pi).episode / n_episodes)
    limit = z_critical(1e-7)
    assert NORMAL.cdf(1.0 / standard_error - limit) >= 0.999
    z = (returns.mean() - _corridor_J(0.4)) / standard_error
    assert abs(z) < limit, z
    assert abs((returns.mean() - 1.0 - _corridor_J(0.4)) / standard_error) >= limit


def test_stacked_exact_J_agrees_with_exact_objective_and_refuses_what_float_cannot_give():
    problem = envs.random_mdp(np.random.default_rng(5), 6, 3, gamma=0.9, n_terminal=1,
                              n_features=4, next_state_rewards=True)
    policy = SoftmaxLinearPolicy(problem.features)
    thetas = np.random.default_rng(6).normal(size=(5, 4))
    pi = np.array([policy.action_probs(th) for th in thetas])
    np.testing.assert_allclose(exact_trace.objectives(problem.mdp, pi),
                               [exact.objective(problem.mdp, policy, th) for th in thetas],
                               rtol=1e-12)
    mdp, corridor = _corridor()
    p = np.array([0.05, 0.3, 2 - math.sqrt(2), 0.9, 1e-12])
    pi = np.array([corridor.action_probs(np.log([q, 1 - q])) for q in p])
    pi[1, 0, 0] = np.nan                          # a stopped run's θ
    J = exact_trace.objectives(mdp, pi)
    np.testing.assert_allclose(J[[0, 2, 3]], _corridor_J(p[[0, 2, 3]]), rtol=1e-13)
    assert np.isnan(J[1])
    assert np.isnan(J[4])                         # κ ≈ 1e12 > CONDITION_LIMIT: not guessed
    # π(right) = 1: 0 → 1 → 0 → … forever, I − P_NN exactly singular, in a stack with others
    pi = np.array([corridor.action_probs(np.log([q, 1 - q])) for q in (0.3, 0.3)])
    pi[1] = [0.0, 1.0]
    J = exact_trace.objectives(mdp, pi)
    assert J[0] == pytest.approx(_corridor_J(0.3), rel=1e-13) and np.isnan(J[1])


def test_stacked_exact_J_is_refused_exactly_where_the_condition_number_passes_the_limit():
    """κ∞ = ‖M‖∞‖M⁻¹‖∞ of M = I − P_NN, by an explicit inverse (the independent route), across
    the limit: 𝒥 is recorded where κ∞ ≤ CONDITION_LIMIT and NaN beyond."""
    mdp, corridor = _corridor()
    p = np.geomspace(1e-3, 1e-9, 25)
    pi = np.array([corridor.action_probs(np.log([q, 1 - q])) for q in p])
    J = exact_trace.objectives(mdp, pi)
    acting = ~mdp.terminal
    kappa = []
    for table in pi:
        P = np.einsum("sa,saz->sz", table[acting], mdp.transitions[acting][:, :, acting])
        M = np.eye(3) - P
        kappa.append(np.abs(M).sum(axis=1).max() * np.abs(np.linalg.inv(M)).sum(axis=1).max())
    kappa = np.array(kappa)
    limit = exact_trace.CONDITION_LIMIT
    assert np.any(kappa > limit) and np.any(kappa < limit)
    np.testing.assert_array_equal(np.isnan(J), kappa > limit)
    np.testing.assert_allclose(J[~np.isnan(J)], _corridor_J(p[~np.isnan(J)]), rtol=1e-9)


@pytest.mark.parametrize("garbled_y", [[-0.0, -1e17, -1e17], [0.5, 0.9, 1.0 - 2e-9]])
def test_stacked_exact_J_refuses_a_solve_whose_y_is_below_one(monkeypatch, garbled_y):
    """y = M⁻¹1 = 1 + P_NN y ≥ 1: a solve that returns y below 1 (LAPACK's answer for a matrix
    singular to float64: the first case; or any y < 1 − 1e−9: the second) gives NaN, even where
    ‖M‖∞·max y would pass the condition limit."""
    mdp, _ = _corridor()
    pi = np.array([[[0.3, 0.7]] * 4, [[0.3, 0.7]] * 4])
    solve = np.linalg.solve

    def garbled(systems, right):                   # the second system's y replaced
        solution = solve(systems, right)
        solution[1, :, 1] = garbled_y
        return solution
    monkeypatch.setattr(np.linalg, "solve", garbled)
    J = exact_trace.objectives(mdp, pi)
    assert J[0] == pytest.approx(_corridor_J(0.3), rel=1e-13) and np.isnan(J[1])
    monkeypatch.undo()
    # the first case itself (π(left) = 1e−17): NaN whichever of the two checks catches it
    pi = np.array([[[1e-17, 1.0 - 1e-17]] * 4])
    assert np.isnan(exact_trace.objectives(mdp, pi)[0])


# -- lockstep runs equal single runs --------------------------------------------------------------


def _random_problem():
    problem = envs.random_mdp(np.random.default_rng(8), 5, 2, gamma=0.9, n_terminal=1,
                              termination_prob=0.2, n_features=3, next_state_rewards=True)
    return problem.mdp, SoftmaxLinearPolicy(problem.features)


LOCKSTEP_CASES = {
    # name → (problem, loop(problem, policy, θ, α, K, rng, **kw), θ₀, α, K, max_steps)
    "PG_v1, random MDP γ = 0.9": (_random_problem, alg.PG_v1, None, 0.05, 30, 1000),
    "REINFORCE, b = 1, random MDP": (
        _random_problem, lambda *a, **k: alg.REINFORCE(*a, baseline=1.0, **k), None, 0.1, 30,
        1000),
    "REINFORCE, learned v̂, corridor": (
        _corridor, lambda *a, **k: alg.REINFORCE(
            *a, baseline=alg.LinearValueBaseline(np.ones((4, 1)), 2**-6), **k),
        THETA_0, 2**-9, 40, 1000),
    # episodes cut after 3 steps, learned from (biased, knowingly): no run stops
    "REINFORCE, cut episodes allowed": (
        _corridor, lambda *a, **k: alg.REINFORCE(*a, allow_truncated=True, **k), THETA_0, 0.01,
        20, 3),
    # θ = 0, α = 0.01 (the failing setting) and a short max_steps: runs stop
    "REINFORCE diverging, corridor": (_corridor, alg.REINFORCE, np.zeros(2), 0.01, 60, 300),
}


@pytest.mark.parametrize("case", list(LOCKSTEP_CASES))
def test_lockstep_runs_equal_single_runs_with_spawned_generators(case):
    make, loop, theta, alpha, n_episodes, max_steps = LOCKSTEP_CASES[case]
    mdp, policy = make()
    theta = np.random.default_rng(9).normal(size=policy.n_params) if theta is None else theta
    n_runs = 6
    together = loop(mdp, policy, theta, alpha, n_episodes, np.random.default_rng(1),
                    n_runs=n_runs, max_steps=max_steps)
    children = np.random.default_rng(1).spawn(n_runs)
    stops = []
    for run, child in enumerate(children):
        alone = loop(mdp, policy, theta, alpha, n_episodes, child, max_steps=max_steps)
        for field in ("theta", "objective", "gradient_norms", "episode_returns",
                      "episode_lengths", "value_weights"):
            mine, theirs = getattr(together, field), getattr(alone, field)
            if theirs is not None:
                np.testing.assert_allclose(mine[run], theirs, rtol=1e-12, atol=1e-12,
                                           err_msg=f"run {run}, {field}")
        stops += [stop._replace(run=run) for stop in alone.stops]
    assert together.stops == tuple(stops)
    if case.startswith("REINFORCE diverging"):
        assert together.n_stopped >= 2           # the case must exercise the stops
    if case.startswith("REINFORCE, cut"):
        assert together.n_stopped == 0 and np.all(together.episode_lengths <= 3)
        assert np.any(together.episode_lengths == 3) and np.all(np.isfinite(together.theta))


class _ScriptedWalker:
    """Walks whose lengths are given per run (state 0, action k mod 2 at step k, reward −1):
    lockstep's episode buffer must grow whatever the order of the lengths."""

    n_actions, max_steps = 2, 100

    def __init__(self, lengths_by_generator):
        self.lengths = lengths_by_generator          # id(rng) → list of episode lengths

    def walks(self, pi, streams):
        lengths = np.array([self.lengths[id(stream.rng)].pop(0) for stream in streams])
        actions = np.concatenate([np.arange(n) % 2 for n in lengths])
        return Walks(actions, -np.ones(actions.size), lengths, np.ones(lengths.size, dtype=bool))


def test_lockstep_takes_episodes_as_long_as_its_buffer_and_longer():
    # episode lengths 1, 2, then exactly the buffer's width (3), its double, and beyond
    script = [[1, 3, 3, 6, 7, 14, 15, 30], [2, 3, 6, 12, 13, 26, 1, 1],
              [1, 1, 3, 3, 6, 6, 12, 12]]
    rngs = [np.random.default_rng(r) for r in range(3)]
    walker = _ScriptedWalker({id(rng): list(lengths) for rng, lengths in zip(rngs, script,
                                                                             strict=True)})
    policy = TabularSoftmax(np.array([[[1.0, 0.0], [0.0, 1.0]]]))
    theta_0 = np.array([0.2, -0.1])

    def weights(runs, rewards, lengths, times):          # c = 0.01 (t + 1): order matters
        G_tau = np.add.reduceat(rewards, np.cumsum(lengths) - lengths)
        return 0.01 * (times + 1.0), None, G_tau

    trace = RunTrace(3, 8, theta_0)
    run_in_lockstep(trace, policy, walker, theta_0, 8, rngs, weights)
    for run, lengths in enumerate(script):
        theta = theta_0.copy()
        for k, length in enumerate(lengths):
            for t in range(length):
                theta = theta + 0.01 * (t + 1.0) * policy.score(theta, 0, t % 2)
            np.testing.assert_array_equal(trace.theta[run, k + 1], theta)
            assert trace.lengths[run, k] == length and trace.returns[run, k] == -length


def test_one_step_size_per_run_equals_calls_with_that_step_size():
    mdp, policy = _corridor()
    alphas = np.array([2e-3, 1e-3, 5e-4])
    together = alg.REINFORCE(mdp, policy, THETA_0, alphas, 20, np.random.default_rng(2),
                             n_runs=3)
    for run, child in enumerate(np.random.default_rng(2).spawn(3)):
        alone = alg.REINFORCE(mdp, policy, THETA_0, alphas[run], 20, child)
        np.testing.assert_allclose(together.theta[run], alone.theta, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(together.gradient_norms[run], alone.gradient_norms,
                                   rtol=1e-9)


# -- divergence is recorded, not raised -----------------------------------------------------------


def test_a_run_whose_episode_does_not_end_is_stopped_and_marked():
    mdp, policy = _corridor()
    history = alg.REINFORCE(mdp, policy, np.zeros(2), 0.01, 60, np.random.default_rng(0),
                            n_runs=5, max_steps=300)
    assert history.n_stopped == len(history.stops) >= 1
    stopped = set()
    for run, k, reason in history.stops:
        stopped.add(run)
        assert reason == EPISODE_NOT_ENDED
        assert history.episode_lengths[run, k] == 300 and np.isnan(history.episode_returns[run, k])
        assert np.all(np.isfinite(history.theta[run, : k + 1]))
        assert np.all(np.isnan(history.theta[run, k + 1 :]))
        assert np.all(history.episode_lengths[run, k + 1 :] == 0)
    for run in set(range(5)) - stopped:            # the other runs went on to the end
        assert np.all(np.isfinite(history.theta[run])) and np.all(np.isfinite(
            history.episode_returns[run]))


def test_a_run_whose_theta_overflows_is_stopped_and_marked_and_single_runs_keep_history():
    mdp, policy = _corridor()
    history = alg.PG_v1(mdp, policy, THETA_0, 1e307, 5, np.random.default_rng(0))
    assert history.stops == (alg.Stop(0, 0, THETA_NOT_FINITE),)
    assert history.theta.shape == (6, 2) and np.all(history.theta[0] == THETA_0)
    assert np.all(np.isnan(history.theta[1:])) and np.isnan(history.objective[1])
    assert history.episode_lengths[0] >= 3 and np.isfinite(history.episode_returns[0])


def test_the_variance_floor_projects_sigma_squared_and_counts_it():
    bandit = lqr.GaussianBandit(states=np.array([0]), probabilities=[1.0], targets=[1.0])
    policy = GaussianPolicy(np.ones((1, 1)), learn_variance=True)    # θ = [mean, σ²]
    history = alg.REINFORCE(bandit, policy, [1.0, 0.05], 0.5, 20, np.random.default_rng(0),
                            variance_floor=0.01)
    assert history.variance_floor == 0.01 and history.n_projections >= 1
    assert np.all(history.theta[:, 1] >= 0.01)
    assert np.any(history.theta[:, 1] == 0.01)


def test_the_variance_floor_sets_exactly_the_last_entry_to_the_floor_and_counts_each_time():
    from pgref.algorithms.learner import VarianceFloor

    policy = GaussianPolicy(np.ones((1, 2)), learn_variance=True)    # θ = [θ₁, θ₂, σ²]
    floor = VarianceFloor(policy, 0.01)
    below = np.array([0.5, -0.3, 0.004])
    np.testing.assert_array_equal(floor(below), [0.5, -0.3, 0.01])
    assert floor.n_projections == 1 and below[-1] == 0.004          # θ given is not changed
    above = np.array([0.5, -0.3, 0.02])
    assert floor(above) is above and floor.n_projections == 1
    np.testing.assert_array_equal(floor(np.array([-0.004, 0.0, -1.0])), [-0.004, 0.0, 0.01])
    assert floor.n_projections == 2
    untouched = VarianceFloor(GaussianPolicy(np.ones((1, 2))), 0.01)  # σ² is not in θ
    assert untouched(below) is below and untouched.n_projections == 0


# -- learning ------------------------------------------------------------------------------------

CORRIDOR_RUNS = {  # name → (loop, α); 120 episodes from J(θ₀) ≈ J* − 7
    "PG_v1": (alg.PG_v1, 6e-4),
    "REINFORCE": (alg.REINFORCE, 1.5e-3),
    "REINFORCE, b = −12": (lambda *a, **k: alg.REINFORCE(*a, baseline=-12.0, **k), 2e-3),
    "REINFORCE, learned v̂": (lambda *a, **k: alg.REINFORCE(
        *a, baseline=alg.LinearValueBaseline(one_hot_state_features(4), 0.1), **k), 1.5e-3),
}


@pytest.mark.parametrize("method", list(CORRIDOR_RUNS))
def test_each_loop_reaches_near_the_optimum_on_the_short_corridor(method):
    loop, alpha = CORRIDOR_RUNS[method]
    mdp, policy = _corridor()
    history = loop(mdp, policy, THETA_0, alpha, 120, np.random.default_rng(0), n_runs=5)
    assert history.objective[:, 0] == pytest.approx(_corridor_J(_sigmoid(-1.1)), rel=1e-12)
    gaps = J_STAR - history.objective[:, -1]
    assert np.sum(gaps <= 1.0) >= 3, f"{method}: gaps J* − J(θ_final) over 5 runs: {gaps}"


def test_the_same_loop_runs_on_the_tabular_env_as_an_env_problem():
    mdp, policy = _corridor()
    env = EnvProblem(TabularEnv(mdp), gamma=1.0)
    history = alg.REINFORCE(env, policy, THETA_0, 1.5e-3, 5, np.random.default_rng(0))
    assert history.theta.shape == (6, 2)
    assert np.all(np.isnan(history.objective))  # an environment has no exact J
    assert np.all(history.episode_returns == -history.episode_lengths)  # every step pays −1
    assert history.n_projections == 0 and history.variance_floor is None


def test_runs_are_reproducible_from_the_seed_alone():
    mdp, policy = _corridor()
    first, second, other = (alg.REINFORCE(mdp, policy, THETA_0, 1.5e-3, 10,
                                          np.random.default_rng(seed)) for seed in (3, 3, 4))
    np.testing.assert_array_equal(first.theta, second.theta)
    np.testing.assert_array_equal(first.episode_returns, second.episode_returns)
    assert not np.array_equal(first.theta, other.theta)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"problem": "corridor"}, r"problem must be a pgref problem \(with gamma and sample_"),
        ({"policy": _two_step_policy()}, "policy must be a policy over this MDP's 4 states"),
        ({"policy": "softmax"}, "policy must be a pgref policy"),
        ({"variance_floor": 0.0}, "variance_floor must be > 0"),
        ({"allow_truncated": "yes"}, "allow_truncated must be True or False"),
        ({"theta": np.zeros(3)}, r"theta must be a flat vector of shape \(2,\)"),
        ({"theta": [0.0, np.nan]}, "theta must be finite"),
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"alpha": [0.1, 0.2]}, r"alpha must be a number > 0 or an array of shape \(n_runs,\)"),
        ({"n_episodes": 0}, "n_episodes must be an integer ≥ 1"),
        ({"rng": 0}, r"rng must be a numpy\.random\.Generator"),
        ({"n_runs": 0}, "n_runs must be an integer ≥ 1"),
        ({"max_steps": 0}, "max_steps must be an integer ≥ 1"),
    ],
)
@pytest.mark.parametrize("loop", [alg.PG_v1, alg.REINFORCE], ids=lambda f: f.__name__)
def test_loops_refuse_bad_arguments_by_name(loop, changes, message):
    mdp, policy = _corridor()
    arguments = {"problem": mdp, "policy": policy, "theta": THETA_0, "alpha": 0.01,
                 "n_episodes": 2, "rng": np.random.default_rng(0)} | changes
    keywords = {k: arguments.pop(k) for k in ("n_runs", "max_steps", "variance_floor",
                                              "allow_truncated") if k in arguments}
    with pytest.raises(ValueError, match=message):
        loop(*arguments.values(), **keywords)


@pytest.mark.parametrize("baseline", ["zero", float("nan"), [1.0, 2.0]])
def test_reinforce_refuses_a_baseline_that_is_not_one(baseline):
    mdp, policy = _corridor()
    with pytest.raises(ValueError, match="baseline must be None, a finite number"):
        alg.REINFORCE(mdp, policy, THETA_0, 0.01, 2, np.random.default_rng(0), baseline)


def test_reinforce_refuses_a_baseline_table_for_other_states():
    mdp, policy = _corridor()
    baseline = alg.LinearValueBaseline(np.ones((3, 1)), 0.1)
    with pytest.raises(ValueError, match=r"baseline must have one feature row x\(s\) per state"):
        alg.REINFORCE(mdp, policy, THETA_0, 0.01, 2, np.random.default_rng(0), baseline)


def test_linear_value_baseline_refuses_bad_arguments():
    with pytest.raises(ValueError, match="alpha must be > 0"):
        alg.LinearValueBaseline(one_hot_state_features(4), 0.0)
    with pytest.raises(ValueError, match=r"initial_weights must have shape \(4,\)"):
        alg.LinearValueBaseline(one_hot_state_features(4), 0.1, np.zeros(3))
    with pytest.raises(ValueError, match="initial_weights must be finite"):
        alg.LinearValueBaseline(one_hot_state_features(4), 0.1, [0.0, np.inf, 0.0, 0.0])
