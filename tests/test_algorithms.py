r"""Tests of pgref.algorithms: the lecture's PG_v1 and REINFORCE loops, batch and exact ascent.

Oracles: a two-step episode worked by hand (θ updates written as formulas); the short corridor's
closed form J(p) = 2(p − 2)/(p(1 − p)), maximised at p* = 2 − √2 with J* = −(6 + 4√2); the
exact J from linear solves recorded in every history. The sampled loops are judged on a fixed
list of seeds: each must reach the stated distance from J* within its stated budget for a
majority of them.
"""

import math

import numpy as np
import pytest

from pgref import algorithms as alg
from pgref import envs, exact
from pgref.features import one_hot_state_features, shared_action_features
from pgref.mdp import TabularEnv, TabularMDP
from pgref.policies import SoftmaxLinearPolicy
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
    return problem, policy, alg.tabular_sampler(problem.mdp, policy)


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


def _fixed_episode_sampler(gamma):
    episode = Episodes.from_lists([[0, 1]], [[0, 1]], [[1.0, 2.0]])
    return alg.Sampler(_two_step_policy(), gamma, lambda theta, n_episodes, rng: episode)


# -- the short corridor: every method reaches J* − 1 from J(θ₀) ≈ J* − 7 ------------------------

_BASELINE = alg.LinearValueBaseline(one_hot_state_features(4), alpha=0.1)

# method → (run(sampler, rng), budget in episodes or exact updates); step sizes tuned once
CORRIDOR_RUNS = {
    "PG_v1_batch": lambda s, rng: alg.PG_v1_batch(
        s, THETA_0, alg.Settings(8e-3, 300, batch_size=10), rng),
    "REINFORCE_batch": lambda s, rng: alg.REINFORCE_batch(
        s, THETA_0, alg.Settings(8e-3, 200, batch_size=10), rng),
    "REINFORCE_batch, learned v̂": lambda s, rng: alg.REINFORCE_batch(
        s, THETA_0, alg.Settings(8e-3, 200, batch_size=10), rng, baseline=_BASELINE),
}


@pytest.mark.parametrize("method", list(CORRIDOR_RUNS))
def test_sampled_method_reaches_near_the_optimum_on_the_short_corridor(method):
    _, _, sampler = _corridor()
    gaps = []
    for seed in SEEDS:
        history = CORRIDOR_RUNS[method](sampler, np.random.default_rng(seed))
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


def test_batch_history_has_one_row_per_update_and_one_return_per_episode():
    _, _, sampler = _corridor()
    history = alg.REINFORCE_batch(sampler, THETA_0, alg.Settings(8e-3, 30, batch_size=10),
                                  np.random.default_rng(0))
    assert history.n_updates == 3
    assert history.theta.shape == (4, 2) and history.objective.shape == (4,)
    assert history.episode_returns.shape == (30,) and history.episode_lengths.shape == (30,)
    assert history.value_weights is None


# -- Gymnasium ----------------------------------------------------------------------------------


def _cartpole_features(states):
    r"""x(s, a) = e_a ⊗ [s, 1]: one weight vector (four state weights and a bias) per action."""
    s = np.asarray(states, dtype=float)
    z = np.concatenate([s, np.ones((s.shape[0], 1))], axis=1)
    x = np.zeros((s.shape[0], 2, 10))
    x[:, 0, :5] = z
    x[:, 1, 5:] = z
    return x


def test_reinforce_lengthens_cartpole_episodes():
    gymnasium = pytest.importorskip("gymnasium")
    env = gymnasium.make("CartPole-v1")
    policy = SoftmaxLinearPolicy(_cartpole_features, n_actions=2, n_features=10)
    # CartPole-v1 cuts episodes at 500 steps; learning from a cut episode is accepted here.
    sampler = alg.env_sampler(env, policy, gamma=0.99, max_steps=500, allow_truncated=True)
    history = alg.REINFORCE_batch(sampler, np.zeros(10),
                                  alg.Settings(alpha=0.01, n_episodes=200, batch_size=10),
                                  np.random.default_rng(0))
    lengths = history.episode_lengths
    assert lengths.shape == (200,)
    first, last = lengths[:50].mean(), lengths[-50:].mean()
    assert last > 1.5 * first, f"mean episode length: first 50 {first}, last 50 {last}"


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"alpha": -0.1}, "alpha must be > 0"),
        ({"alpha": float("nan")}, "alpha must be finite"),
        ({"alpha": float("inf")}, "alpha must be finite"),
        ({"n_episodes": 0}, "n_episodes must be an integer ≥ 1"),
        ({"n_episodes": 2.5}, "n_episodes must be an integer ≥ 1"),
        ({"batch_size": 0}, "batch_size must be an integer ≥ 1"),
        ({"batch_size": 3}, "n_episodes must be a multiple of batch_size"),
        ({"variance_floor": 0.0}, "variance_floor must be > 0"),
        ({"variance_floor": float("nan")}, "variance_floor must be finite"),
    ],
)
def test_settings_refuse_bad_values_by_name(changes, message):
    arguments = {"alpha": 0.1, "n_episodes": 10} | changes
    with pytest.raises(ValueError, match=message):
        alg.Settings(**arguments)


LOOPS = [alg.PG_v1_batch, alg.REINFORCE_batch]


@pytest.mark.parametrize("loop", LOOPS, ids=lambda f: f.__name__)
def test_loops_refuse_bad_theta_rng_sampler_and_settings(loop):
    _, _, sampler = _corridor()
    settings = alg.Settings(0.01, 2)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(2,\)"):
        loop(sampler, np.zeros(3), settings, rng)
    with pytest.raises(ValueError, match="theta must be finite"):
        loop(sampler, np.array([0.0, np.nan]), settings, rng)
    with pytest.raises(ValueError, match=r"rng must be a numpy\.random\.Generator"):
        loop(sampler, THETA_0, settings, 0)
    with pytest.raises(ValueError, match=r"sampler must be a pgref\.algorithms\.Sampler"):
        loop(envs.short_corridor().mdp, THETA_0, settings, rng)
    with pytest.raises(ValueError, match=r"settings must be a pgref\.algorithms\.Settings"):
        loop(sampler, THETA_0, {"alpha": 0.01, "n_episodes": 2}, rng)


@pytest.mark.parametrize("loop", [alg.REINFORCE_batch], ids=lambda f: f.__name__)
@pytest.mark.parametrize("baseline", ["zero", float("nan"), [1.0, 2.0]])
def test_reinforce_refuses_a_baseline_that_is_not_one(loop, baseline):
    _, _, sampler = _corridor()
    with pytest.raises(ValueError, match="baseline must be None, a finite number"):
        loop(sampler, THETA_0, alg.Settings(0.01, 2), np.random.default_rng(0),
             baseline=baseline)


def test_batch_reinforce_refuses_a_learned_baseline_on_continuous_states():
    _, _, sampler = _corridor()
    baseline = alg.LinearValueBaseline(lambda s: np.ones((len(s), 1)), 0.1, n_features=1)
    with pytest.raises(ValueError, match="baseline must have tabular features"):
        alg.REINFORCE_batch(sampler, THETA_0, alg.Settings(0.01, 2), np.random.default_rng(0),
                            baseline=baseline)


def test_sampler_refuses_bad_arguments():
    policy = _two_step_policy()
    episode = Episodes.from_lists([[0]], [[0]], [[1.0]])
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        alg.Sampler(policy, 1.5, lambda theta, n, rng: episode)
    with pytest.raises(ValueError, match="gamma must be finite"):
        alg.Sampler(policy, float("nan"), lambda theta, n, rng: episode)
    with pytest.raises(ValueError, match="draw must be callable"):
        alg.Sampler(policy, 1.0, episode)
    with pytest.raises(ValueError, match="policy must be a pgref policy"):
        alg.Sampler("softmax", 1.0, lambda theta, n, rng: episode)
    sampler = alg.Sampler(policy, 1.0, lambda theta, n, rng: episode)
    with pytest.raises(ValueError, match=r"draw must return a pgref\.rollout\.Episodes batch of 2"):
        alg.PG_v1_batch(sampler, np.zeros(2), alg.Settings(0.1, 2, batch_size=2),
                        np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"mdp must be a pgref\.TabularMDP"):
        alg.tabular_sampler("corridor", policy)
    with pytest.raises(ValueError, match="max_steps must be an integer ≥ 1"):
        alg.tabular_sampler(envs.short_corridor().mdp, policy, max_steps=0)


def test_exact_ascent_refuses_bad_arguments_and_reports_divergence():
    problem, policy, _ = _corridor()
    with pytest.raises(ValueError, match="alpha must be > 0"):
        alg.exact_gradient_ascent(problem.mdp, policy, THETA_0, alpha=0.0, n_updates=5)
    with pytest.raises(ValueError, match="n_updates must be an integer ≥ 1"):
        alg.exact_gradient_ascent(problem.mdp, policy, THETA_0, alpha=0.1, n_updates=0)
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(2,\)"):
        alg.exact_gradient_ascent(problem.mdp, policy, [0.0], alpha=0.1, n_updates=1)
    with pytest.raises(ValueError, match=r"problem must be a pgref\.TabularMDP"):
        alg.exact_gradient_ascent(TabularEnv(problem.mdp), policy, THETA_0, 0.1, 1)
    with pytest.raises(FloatingPointError, match=r"made θ non-finite.*lower alpha"):
        alg.gradient_ascent(None, lambda theta: np.full(2, 1e308), THETA_0, alpha=10.0,
                            n_updates=1)
