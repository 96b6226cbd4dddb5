r"""Tests of pgref.algorithms: the lecture's PG_v1 and REINFORCE loops, batch and exact ascent.

Oracles: a two-step episode worked by hand (θ updates written as formulas); the short corridor's
closed form J(p) = 2(p − 2)/(p(1 − p)), maximised at p* = 2 − √2 with J* = −(6 + 4√2); the
exact J from linear solves recorded in every history. The sampled loops are judged on a fixed
list of seeds: each must reach the stated distance from J* within its stated budget for a
majority of them.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest

from pgref import algorithms as alg
from pgref import envs, estimators, exact
from pgref.features import one_hot_state_features, shared_action_features
from pgref.mdp import TabularEnv, TabularMDP
from pgref.policies import SoftmaxLinearPolicy
from pgref.problems import EnvProblem, ExactProblem
from pgref.rollout import Episodes

SEEDS = (0, 1, 2, 3, 4)
J_STAR = -(6.0 + 4.0 * math.sqrt(2.0))  # the short corridor's optimum, at p* = 2 − √2
P_STAR = 2.0 - math.sqrt(2.0)
THETA_0 = np.array([-0.55, 0.55])  # π(right) = σ(−1.1) ≈ 0.25, J(θ₀) ≈ −18.68, gap ≈ 7.03
DISTANCE = 1.0  # "reached": J(θ_final) ≥ J* − 1, i.e. π(right) ∈ [0.44, 0.71]


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def _corridor():
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    return problem, policy, problem.mdp


def _corridor_J(p):
    return 2.0 * (p - 2.0) / (p * (1.0 - p))


# -- a two-step episode, worked by hand ---------------------------------------------------------
#
# States 0 → 1 → terminal 2 whatever the action; x(s, a) = e_a in every state, so θ = (θ₀, θ₁)
# is shared by both steps and π_θ(0|s) = σ(θ₀ − θ₁). The score of action a is e_a − π_θ(·).
# Rewards r(0, 0) = 1, r(1, 1) = 2, all others 0. The episode used throughout:
# S₀ = 0, A₀ = 0, R₁ = 1; S₁ = 1, A₁ = 1, R₂ = 2.


def _two_step_mdp():
    transitions = np.zeros((3, 2, 3))
    transitions[0, :, 1] = transitions[1, :, 2] = transitions[2, :, 2] = 1.0
    rewards = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    return TabularMDP(transitions, rewards, np.array([1.0, 0.0, 0.0]), gamma=1.0,
                      terminal=np.array([False, False, True]))


def _two_step_policy():
    return SoftmaxLinearPolicy(shared_action_features(np.eye(2), 3))


@dataclass(frozen=True)
class _FixedEpisode:
    """A problem of one's own (pgref.problems.Problem): every episode is the one worked by hand."""

    gamma: float

    def sample_episodes(self, policy, theta, n_episodes, rng, max_steps=None):
        return Episodes.from_lists([[0, 1]] * n_episodes, [[0, 1]] * n_episodes,
                                   [[1.0, 2.0]] * n_episodes)


def test_batch_pg_v1_takes_every_score_at_the_sampling_theta():
    # One episode, one update at θ⁰: the two scores (½, −½) and (−½, ½) cancel exactly,
    # while the per-step PG_v1 moves (the second score is taken at θ¹ ≠ θ⁰).
    problem, policy = _FixedEpisode(1.0), _two_step_policy()
    batch = alg.PG_v1_batch(problem, policy, np.zeros(2), 0.1, 1, 1, np.random.default_rng(0))
    per_step = alg.PG_v1(problem, policy, np.zeros(2), 0.1, 1, np.random.default_rng(0))
    np.testing.assert_array_equal(batch.final_theta, np.zeros(2))
    assert np.linalg.norm(per_step.final_theta) > 0.01


# -- the short corridor: every method reaches J* − 1 from J(θ₀) ≈ J* − 7 ------------------------

_BASELINE = alg.LinearValueBaseline(one_hot_state_features(4), alpha=0.1)

# method → (run(sampler, rng), budget in episodes or exact updates); step sizes tuned once
CORRIDOR_RUNS = {
    "PG_v1_batch": lambda mdp, pi, rng: alg.PG_v1_batch(mdp, pi, THETA_0, 8e-3, 30, 10, rng),
    "REINFORCE_batch": lambda mdp, pi, rng: alg.REINFORCE_batch(
        mdp, pi, THETA_0, 8e-3, 20, 10, rng),
    "REINFORCE_batch, learned v̂": lambda mdp, pi, rng: alg.REINFORCE_batch(
        mdp, pi, THETA_0, 8e-3, 20, 10, rng, baseline=_BASELINE),
}


@pytest.mark.parametrize("method", list(CORRIDOR_RUNS))
def test_sampled_method_reaches_near_the_optimum_on_the_short_corridor(method):
    _, policy, mdp = _corridor()
    gaps = []
    for seed in SEEDS:
        try:
            history = CORRIDOR_RUNS[method](mdp, policy, np.random.default_rng(seed))
        except ValueError as error:  # a run whose policy stopped ending its episodes
            assert "truncated episode" in str(error)
            gaps.append(math.inf)
            continue
        assert np.all(np.isfinite(history.objective))
        assert history.objective[0] == pytest.approx(_corridor_J(_sigmoid(-1.1)), rel=1e-12)
        gaps.append(J_STAR - history.objective[-1])
    reached = sum(gap <= DISTANCE for gap in gaps)
    assert reached >= 3, f"{method}: gaps J* − J(θ_final) over seeds {SEEDS}: {gaps}"


def test_exact_ascent_increases_J_monotonically_and_finds_p_star():
    problem, policy, _ = _corridor()
    history = alg.exact_gradient_ascent(problem.mdp, policy, THETA_0, alpha=0.01, n_updates=60)
    assert np.all(np.diff(history.objective) > 0)
    assert J_STAR - history.objective[-1] < 1e-4
    p_final = policy.action_probs(history.final_theta)[0, 0]
    assert p_final == pytest.approx(P_STAR, abs=1e-3)
    # the recorded gradient norms are those of the exact ∇J at each iterate
    np.testing.assert_allclose(
        history.gradient_norms[:3],
        [np.linalg.norm(exact.policy_gradient(problem.mdp, policy, th))
         for th in history.theta[:3]], rtol=1e-12)


@pytest.mark.parametrize("which", ["two_state_chain", "random_mdp"])
def test_exact_ascent_is_monotone_for_a_small_step(which):
    if which == "two_state_chain":
        problem = envs.two_state_chain(gamma=0.9)
    else:
        problem = envs.random_mdp(np.random.default_rng(7), 5, 3, gamma=0.8, n_features=4)
    policy = SoftmaxLinearPolicy(problem.features)
    theta_0 = np.random.default_rng(1).normal(size=policy.n_params)
    history = alg.exact_gradient_ascent(problem.mdp, policy, theta_0, alpha=0.05,
                                        n_updates=40)
    assert np.all(np.diff(history.objective) > 0)
    assert history.gradient_norms[-1] < history.gradient_norms[0]


# -- the same loops on other samplers -----------------------------------------------------------


def test_batch_history_records_each_update_and_each_episode():
    """θ, J and ‖∇̂J‖ per update against a replay of the same draws; every episode's return."""
    _, policy, mdp = _corridor()
    history = alg.REINFORCE_batch(mdp, policy, THETA_0, 8e-3, 3, 10, np.random.default_rng(0))
    assert history.n_updates == 3 and history.value_weights is None
    rng, theta = np.random.default_rng(0), THETA_0.copy()
    returns_seen = []
    for update in range(3):  # the loop's body, replayed from the same generator
        episodes = mdp.sample_episodes(policy, theta, 10, rng)
        gradient = estimators.reinforce(policy, theta, episodes, mdp.gamma).mean
        theta = theta + 8e-3 * gradient
        returns_seen.extend(estimators.returns(episodes, mdp.gamma))
        np.testing.assert_allclose(history.theta[update + 1], theta, rtol=0, atol=1e-14)
        assert history.gradient_norms[update] == pytest.approx(np.linalg.norm(gradient),
                                                               rel=1e-12)
        assert history.objective[update + 1] == pytest.approx(
            exact.objective(mdp, policy, theta), rel=1e-12)
    np.testing.assert_allclose(history.episode_returns, returns_seen, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(history.episode_lengths, -history.episode_returns)


def test_batch_reinforce_with_a_learned_baseline_at_gamma_below_one_replays_by_hand():
    """γ = 0.8: returns recorded discounted, v̂ fitted to the discounted Gₜ, θ moved by γᵗ δ."""
    problem = envs.random_mdp(np.random.default_rng(4), 5, 2, gamma=0.8, n_terminal=1,
                              termination_prob=0.3)
    policy = SoftmaxLinearPolicy(problem.features)
    theta_0 = np.random.default_rng(5).normal(size=policy.n_params)
    baseline = alg.LinearValueBaseline(one_hot_state_features(5), alpha=0.3)
    history = alg.REINFORCE_batch(problem.mdp, policy, theta_0, 0.05, 3, 4,
                                  np.random.default_rng(6), baseline=baseline)
    rng, theta, w = np.random.default_rng(6), theta_0.copy(), np.zeros(5)
    for update in range(3):
        episodes = problem.mdp.sample_episodes(policy, theta, 4, rng)
        direction = np.zeros_like(theta)
        for k, episode in enumerate(episodes):
            for t, (s, a) in enumerate(zip(episode.states, episode.actions, strict=True)):
                G_t = sum(0.8**i * r for i, r in enumerate(episode.rewards[t:]))
                score = policy.grad_log_prob(theta, s, a)
                direction += 0.8**t * (G_t - w[s]) * score / 4
            assert history.episode_returns[4 * update + k] == pytest.approx(
                sum(0.8**t * r for t, r in enumerate(episode.rewards)), abs=1e-12)
        w_next = w.copy()
        for s, G_t in zip(episodes.states, estimators.reward_to_go(episodes, 0.8), strict=True):
            w_next[s] += 0.3 * (G_t - w[s]) / 4  # w ← w + α_w (1/K) Σ (Gₜ − v̂(Sₜ)) x(Sₜ)
        theta, w = theta + 0.05 * direction, w_next
        np.testing.assert_allclose(history.theta[update + 1], theta, rtol=0, atol=1e-12)
        np.testing.assert_allclose(history.value_weights[update + 1], w, rtol=0, atol=1e-12)


def test_learned_baseline_step_averages_over_one_episode_by_default():
    """w + α_w (1/K) Σ δ x(S) with the documented default K = 1, summed by hand over three
    steps on features (1, s)."""
    baseline = alg.LinearValueBaseline(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]), 0.25)
    weights, states, deltas = np.array([0.5, -1.0]), [0, 2, 2], np.array([1.0, -2.0, 4.0])
    by_hand = weights + 0.25 * (1.0 * np.array([1.0, 0.0]) - 2.0 * np.array([1.0, 2.0])
                                + 4.0 * np.array([1.0, 2.0]))
    np.testing.assert_allclose(baseline.step(weights, states, deltas), by_hand, rtol=1e-15)
    np.testing.assert_allclose(baseline.step(weights, states, deltas, 2),
                               weights + (by_hand - weights) / 2, rtol=1e-15)


def test_batch_pg_v1_at_gamma_below_one_replays_by_hand():
    """γ = 0.8: θ ← θ + (α/K) Σₖ G(τₖ) Σₜ ∇ log π, with G(τ) = Σₜ γᵗ Rₜ₊₁ summed by hand."""
    problem = envs.random_mdp(np.random.default_rng(4), 5, 2, gamma=0.8, n_terminal=1,
                              termination_prob=0.3)
    policy = SoftmaxLinearPolicy(problem.features)
    theta_0 = np.random.default_rng(5).normal(size=policy.n_params)
    history = alg.PG_v1_batch(problem.mdp, policy, theta_0, 0.05, 2, 4, np.random.default_rng(6))
    rng, theta = np.random.default_rng(6), theta_0.copy()
    for update in range(2):
        episodes = problem.mdp.sample_episodes(policy, theta, 4, rng)
        direction = np.zeros_like(theta)
        for episode in episodes:
            G = sum(0.8**t * r for t, r in enumerate(episode.rewards))
            for s, a in zip(episode.states, episode.actions, strict=True):
                direction += G * policy.grad_log_prob(theta, s, a) / 4
        theta = theta + 0.05 * direction
        np.testing.assert_allclose(history.theta[update + 1], theta, rtol=0, atol=1e-12)


# -- bad input ----------------------------------------------------------------------------------


def _run(loop, mdp, policy, theta=THETA_0, alpha=0.01, rng=None, **keywords):
    """Call a per-step loop with 2 episodes or a batch loop with 2 updates of 2 episodes."""
    rng = np.random.default_rng(0) if rng is None else rng
    if loop in (alg.PG_v1, alg.REINFORCE):
        return loop(mdp, policy, theta, alpha, 2, rng, **keywords)
    return loop(mdp, policy, theta, alpha, 2, 2, rng, **keywords)


LOOPS = [alg.PG_v1, alg.REINFORCE, alg.PG_v1_batch, alg.REINFORCE_batch]


@pytest.mark.parametrize("loop", LOOPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("changes", "message"), [
    (dict(theta=np.zeros(3)), r"theta must be a flat vector of shape \(2,\)"),
    (dict(theta=np.array([0.0, np.nan])), "theta must be finite"),
    (dict(rng=0), r"rng must be a numpy\.random\.Generator"),
    (dict(alpha=0.0), "alpha must be > 0"),
    (dict(alpha=-0.1), "alpha must be > 0"),
    (dict(alpha=float("nan")), "alpha must be finite"),
    (dict(alpha=float("inf")), "alpha must be finite"),
    (dict(mdp="corridor"), r"problem must be a pgref problem \(with gamma and sample_episodes\)"),
    (dict(policy="softmax"), r"policy must be a pgref policy"),
    (dict(variance_floor=0.0), "variance_floor must be > 0"),
    (dict(variance_floor=float("nan")), "variance_floor must be finite"),
])
def test_loops_refuse_bad_arguments_by_name(loop, changes, message):
    _, policy, mdp = _corridor()
    arguments = dict(mdp=mdp, policy=policy) | changes
    with pytest.raises(ValueError, match=message):
        _run(loop, **arguments)


@pytest.mark.parametrize(("loop", "arguments", "message"), [
    (alg.PG_v1, (0.01, 0), "n_episodes must be an integer ≥ 1; got 0"),
    (alg.REINFORCE, (0.01, 2.5), "n_episodes must be an integer ≥ 1"),
    (alg.PG_v1_batch, (0.01, 0, 2), "n_updates must be an integer ≥ 1; got 0"),
    (alg.REINFORCE_batch, (0.01, 2, 0), "batch_size must be an integer ≥ 1; got 0"),
])
def test_loops_refuse_bad_counts_by_name(loop, arguments, message):
    _, policy, mdp = _corridor()
    with pytest.raises(ValueError, match=message):
        loop(mdp, policy, THETA_0, *arguments, rng=np.random.default_rng(0))


@pytest.mark.parametrize("loop", [alg.REINFORCE, alg.REINFORCE_batch], ids=lambda f: f.__name__)
@pytest.mark.parametrize("baseline", ["zero", float("nan"), [1.0, 2.0]])
def test_reinforce_refuses_a_baseline_that_is_not_one(loop, baseline):
    _, policy, mdp = _corridor()
    with pytest.raises(ValueError, match="baseline must be None, a finite number"):
        _run(loop, mdp, policy, baseline=baseline)


def test_batch_reinforce_refuses_a_learned_baseline_on_continuous_states():
    _, policy, mdp = _corridor()
    baseline = alg.LinearValueBaseline(lambda s: np.ones((len(s), 1)), 0.1, n_features=1)
    with pytest.raises(ValueError, match="baseline must have tabular features"):
        _run(alg.REINFORCE_batch, mdp, policy, baseline=baseline)


@pytest.mark.parametrize("loop", [alg.PG_v1_batch, alg.REINFORCE_batch],
                         ids=lambda f: f.__name__)
def test_truncated_episodes_are_refused_with_advice_that_works(loop):
    _, policy, mdp = _corridor()  # the goal is ≥ 3 steps away: max_steps = 1 cuts every episode
    with pytest.raises(ValueError, match="truncated") as refusal:
        _run(loop, mdp, policy, max_steps=1)
    assert "max_steps" in str(refusal.value)
    history = _run(loop, mdp, policy, max_steps=1000)  # the advice, followed
    assert np.all(np.isfinite(history.objective))
    if loop in (alg.PG_v1_batch, alg.REINFORCE_batch):  # or accept the bias knowingly
        cut = _run(loop, mdp, policy, max_steps=1, allow_truncated=True)
        assert np.all(cut.episode_lengths == 1)


def test_problems_refuse_what_they_cannot_be():
    with pytest.raises(ValueError, match=r"env must be a Gymnasium-style environment"):
        EnvProblem("CartPole-v1")
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        EnvProblem(TabularEnv(envs.short_corridor().mdp), gamma=1.5)
    with pytest.raises(ValueError, match="gamma must be finite"):
        EnvProblem(TabularEnv(envs.short_corridor().mdp), gamma=float("nan"))
    assert isinstance(envs.short_corridor().mdp, ExactProblem)
    assert not isinstance(EnvProblem(TabularEnv(envs.short_corridor().mdp)), ExactProblem)


def test_exact_ascent_refuses_bad_arguments_and_reports_divergence():
    problem, policy, _ = _corridor()
    with pytest.raises(ValueError, match="alpha must be > 0"):
        alg.exact_gradient_ascent(problem.mdp, policy, THETA_0, alpha=0.0, n_updates=5)
    with pytest.raises(ValueError, match="n_updates must be an integer ≥ 1"):
        alg.exact_gradient_ascent(problem.mdp, policy, THETA_0, alpha=0.1, n_updates=0)
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(2,\)"):
        alg.exact_gradient_ascent(problem.mdp, policy, [0.0], alpha=0.1, n_updates=1)
    with pytest.raises(ValueError, match=r"problem must have an exact 𝒥 and ∇𝒥.*sample it"):
        alg.exact_gradient_ascent(EnvProblem(TabularEnv(problem.mdp)), policy, THETA_0, 0.1, 1)
    with pytest.raises(FloatingPointError, match=r"made θ non-finite.*lower alpha"):
        alg.gradient_ascent(None, lambda theta: np.full(2, 1e308), THETA_0, alpha=10.0,
                            n_updates=1)
