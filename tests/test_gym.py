"""Tests of pgref.gym: real Gymnasium environments over TabularMDPs, their ids, and CartPole
through pgref's learning loop. Everything but the first test needs the optional [gym] extra and
is skipped, with the command to install it, without Gymnasium."""

import copy
import importlib
import inspect
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import POWER_Z, z_critical

from pgref import algorithms as alg
from pgref import envs, estimators, rollout
from pgref.mdp import TabularEnv
from pgref.policies import SoftmaxLinearPolicy
from pgref.problems import EnvProblem

NEEDS_GYM = ('needs the optional [gym] extra (Gymnasium): '
             '.venv/bin/python -m pip install -e ".[gym]"')

# Each registered id and the pgref.envs function (with the id's default arguments) it wraps.
PROBLEMS = {
    "pgref/ShortCorridor-v0": lambda: envs.short_corridor(),
    "pgref/Gridworld-v0": lambda: envs.gridworld(),
    "pgref/TwoStateChain-v0": lambda: envs.two_state_chain(),
    "pgref/Bandit-v0": lambda: envs.bandit([1.0, 0.5, 0.0]),
    "pgref/RandomMDP-v0": lambda: envs.random_mdp(np.random.default_rng(0), 6, 3, n_terminal=1),
    "pgref/LayeredMDP-v0": lambda: envs.layered_mdp(np.random.default_rng(0), 3, 2),
}


@pytest.fixture(scope="module")
def gymnasium():
    return pytest.importorskip("gymnasium", reason=NEEDS_GYM)


@pytest.fixture(scope="module")
def pgref_gym(gymnasium):
    return importlib.import_module("pgref.gym")


def test_import_pgref_needs_no_gymnasium_and_pgref_gym_names_the_extra():
    code = (
        "import sys\n"
        "sys.modules['gymnasium'] = None  # as if Gymnasium were not installed\n"
        "import pgref, pgref.algorithms, pgref.rollout\n"
        "try:\n"
        "    import pgref.gym\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert 'pip install -e ".[gym]"' in result.stdout
    assert "pgref.gym needs Gymnasium, pgref's optional [gym] extra" in result.stdout


def _check_env_warnings(env) -> list[str]:
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    return [str(warning.message) for warning in caught]


# -- the ids and the environment -----------------------------------------------------------------


def test_one_id_per_bundled_problem(pgref_gym):
    """Every function of pgref.envs that returns an Example has an id."""
    builders = [name for name, value in vars(envs).items()
                if inspect.isfunction(value) and not name.startswith("_")
                and inspect.signature(value).return_annotation in (envs.Example, "Example")]
    assert len(builders) == len(pgref_gym.PROBLEM_IDS) == len(PROBLEMS)
    assert set(pgref_gym.PROBLEM_IDS) == set(PROBLEMS)


@pytest.mark.parametrize("env_id", sorted(PROBLEMS))
@pytest.mark.parametrize("render_mode", [None, "ansi"])
def test_check_env_passes_with_zero_warnings_on_each_bundled_problem(gymnasium, pgref_gym,
                                                                      env_id, render_mode):
    env = gymnasium.make(env_id, render_mode=render_mode)
    assert _check_env_warnings(env.unwrapped) == []


@pytest.mark.parametrize("seed", range(4))
def test_check_env_passes_with_zero_warnings_on_random_mdps(gymnasium, pgref_gym, seed):
    rng = np.random.default_rng(seed)
    problem = envs.random_mdp(rng, int(rng.integers(1, 8)), int(rng.integers(1, 5)),
                              n_terminal=seed % 2, next_state_rewards=seed >= 2)
    assert _check_env_warnings(pgref_gym.make_env(problem.mdp)) == []
    env = gymnasium.make(pgref_gym.TABULAR_ID, mdp=problem.mdp, render_mode="ansi")
    assert _check_env_warnings(env.unwrapped) == []


@pytest.mark.parametrize("env_id", sorted(PROBLEMS))
def test_gymnasium_make_builds_the_problem_of_each_id(gymnasium, pgref_gym, env_id):
    env = gymnasium.make(env_id)
    mdp = PROBLEMS[env_id]().mdp
    assert env.observation_space == gymnasium.spaces.Discrete(mdp.n_states)
    assert env.action_space == gymnasium.spaces.Discrete(mdp.n_actions)
    for name in ("transitions", "rewards", "initial", "terminal"):
        np.testing.assert_array_equal(getattr(env.unwrapped.mdp, name), getattr(mdp, name))
    assert env.unwrapped.mdp.gamma == mdp.gamma
    observation, info = env.reset(seed=0)
    assert env.observation_space.contains(observation) and info == {"t": 0}
    env.action_space.seed(0)
    for _ in range(10_000):  # every problem here ends with probability 1 under random actions
        observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated:
            break
    assert terminated and not truncated and mdp.terminal[observation]


def test_make_passes_keyword_arguments_to_the_problem(gymnasium, pgref_gym):
    env = gymnasium.make("pgref/Gridworld-v0", width=5, height=2, slip=0.1)
    assert env.observation_space.n == 10 and env.unwrapped.mdp.transitions[0, 0, 1] < 1
    env = gymnasium.make("pgref/RandomMDP-v0", seed=3, n_states=4, n_actions=2)
    expected = envs.random_mdp(np.random.default_rng(3), 4, 2, n_terminal=1).mdp
    np.testing.assert_array_equal(env.unwrapped.mdp.transitions, expected.transitions)


def test_episodes_equal_those_of_the_dependency_free_tabular_env(pgref_gym):
    """The same seeds give the same episodes: the Gymnasium env samples as TabularEnv does."""
    problem = envs.gridworld(width=3, height=3, slip=0.2)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(1).normal(size=policy.n_params)
    from_gym = rollout.sample_env_episodes(pgref_gym.make_env(problem.mdp), policy, theta, 30,
                                           np.random.default_rng(2))
    from_tabular = rollout.sample_env_episodes(TabularEnv(problem.mdp), policy, theta, 30,
                                               np.random.default_rng(2))
    for name in ("states", "actions", "rewards", "lengths", "truncated"):
        np.testing.assert_array_equal(getattr(from_gym, name), getattr(from_tabular, name))


def test_reset_without_a_seed_continues_the_generator(pgref_gym):
    env = pgref_gym.make_env(envs.random_mdp(np.random.default_rng(0), 50, 2).mdp)
    first = [env.reset(seed=5)[0]] + [env.reset()[0] for _ in range(20)]
    again = [env.reset(seed=5)[0]] + [env.reset()[0] for _ in range(20)]
    assert first == again and len(set(first)) > 1
    assert env.tabular.rng is env.np_random


def test_time_limit_and_episode_statistics_wrap_it(gymnasium, pgref_gym):
    from gymnasium.wrappers import RecordEpisodeStatistics, TimeLimit

    never_ends = envs.random_mdp(np.random.default_rng(0), 4, 2).mdp  # no terminal state
    env = RecordEpisodeStatistics(TimeLimit(pgref_gym.make_env(never_ends), 7))
    env.reset(seed=0)
    total, steps, done = 0.0, 0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(0)
        total, steps, done = total + reward, steps + 1, terminated or truncated
    assert steps == 7 and truncated and not terminated
    assert info["episode"]["l"] == 7 and np.isclose(info["episode"]["r"], total)

    env = RecordEpisodeStatistics(gymnasium.make("pgref/ShortCorridor-v0",
                                                 max_episode_steps=1000))
    env.reset(seed=0)
    for action in (0, 1, 0):  # right, then left (switched in state 1: right), then right
        _, _, terminated, truncated, info = env.step(action)
    assert terminated and not truncated
    assert info["episode"]["l"] == 3 and info["episode"]["r"] == -3.0


def test_ansi_render_draws_the_grid(gymnasium, pgref_gym):
    env = gymnasium.make("pgref/ShortCorridor-v0", render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "A . . G\nt = 0  state 0\n"
    env.step(0)
    assert env.render() == ". A . G\nt = 1  state 1  after right, reward -1\n"
    grid = gymnasium.make("pgref/Gridworld-v0", width=3, height=2, render_mode="ansi")
    grid.reset(seed=0)
    assert grid.render() == ". . G\nA . .\nt = 0  state 0\n"
    chain = gymnasium.make("pgref/Bandit-v0", render_mode="ansi")
    chain.reset(seed=0)
    chain.step(2)
    assert chain.render() == "t = 1  state 1 (terminal)  after arm 2, reward 0\n"
    assert gymnasium.make("pgref/ShortCorridor-v0").unwrapped.render() is None


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "message"), [
    ({"mdp": np.eye(2)}, r"mdp must be a TabularMDP; got ndarray"),
    ({"render_mode": "human"}, r"render_mode must be None or one of \['ansi'\]"),
    ({"action_names": ("right",)}, r"action_names must be 2 strings"),
    ({"positions": np.zeros((3, 2))}, r"positions must be the grid cells.*shape \(4, 2\)"),
    ({"positions": np.full((4, 2), 0.5)}, r"positions must be .*non-negative integers"),
])
def test_make_env_refuses_bad_arguments(pgref_gym, arguments, message):
    problem = envs.short_corridor()
    with pytest.raises(ValueError, match=message):
        pgref_gym.make_env(**({"mdp": problem.mdp} | arguments))


def test_steps_and_resets_refuse_bad_input(pgref_gym):
    env = pgref_gym.make_env(envs.short_corridor().mdp)
    with pytest.raises(ValueError, match=r"call reset\(\) first"):
        env.step(0)
    with pytest.raises(ValueError, match=r"options must be None or an empty dict"):
        env.reset(options={"state": 2})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must lie in \[0, 2\)"):
        env.step(2)
    with pytest.raises(ValueError, match=r"env_id must be one of"):
        pgref_gym.problem_env("pgref/NoSuchProblem-v0")


# -- CartPole through pgref's learning loop -----------------------------------------------------


def _cartpole_features(states):
    r"""x(s, a) = e_a ⊗ [s, 1]: one weight vector (four state weights and a bias) per action."""
    s = np.asarray(states, dtype=float)
    z = np.concatenate([s, np.ones((s.shape[0], 1))], axis=1)
    x = np.zeros((s.shape[0], 2, 10))
    x[:, 0, :5] = z
    x[:, 1, 5:] = z
    return x


def _cartpole_policy():
    return SoftmaxLinearPolicy(_cartpole_features, n_actions=2, n_features=10)


CARTPOLE_GAMMA = 0.99
"""γ of the learning loop on CartPole (the environment itself has none)."""

def _score(theta, observation, action):
    """(π_θ(·|s), ∇ log π_θ(a|s) = (e_a − π_θ(·|s)) ⊗ [s, 1]) for CartPole's features."""
    z = np.append(observation, 1.0)
    logits = np.array([theta[:5] @ z, theta[5:] @ z])
    pi = np.exp(logits - logits.max())
    pi /= pi.sum()
    return pi, np.concatenate([((action == 0) - pi[0]) * z, ((action == 1) - pi[1]) * z])


def _reference_terms(gymnasium, theta, n_episodes, rng):
    r"""REINFORCE's per-episode term Σₜ γᵗ Gₜ ∇ log π_θ(Aₜ|Sₜ) on CartPole-v1 by a plain loop of
    this file's own (γ = CARTPOLE_GAMMA): the environment stepped directly, π_θ and its score
    written out (:func:`_score`), Gₜ = Rₜ₊₁ + γ Gₜ₊₁ backwards; (K, 10) for the right term and,
    from the same episodes, for two positive controls: "late" scores Aₜ at the next observation
    Sₜ₊₁ (an off-by-one between observations and actions), "sign" negates the score."""
    env = gymnasium.make("CartPole-v1")
    terms = {name: np.zeros((n_episodes, 10)) for name in ("right", "late")}
    for k in range(n_episodes):
        observation, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
        observations, actions, rewards = [observation], [], []
        for _ in range(500):
            pi, _ = _score(theta, observations[-1], 0)
            actions.append(int(rng.random() >= pi[0]))
            observation, reward, terminated, truncated, _ = env.step(actions[-1])
            observations.append(observation)
            rewards.append(reward)
            if terminated or truncated:
                break
        following = 0.0
        for t in range(len(actions) - 1, -1, -1):
            following = rewards[t] + CARTPOLE_GAMMA * following                   # Gₜ
            score = _score(theta, observations[t], actions[t])[1]
            terms["right"][k] += CARTPOLE_GAMMA**t * following * score
            terms["late"][k] += (CARTPOLE_GAMMA**t * following
                                 * _score(theta, observations[t + 1], actions[t])[1])
    terms["sign"] = -terms["right"]
    return terms


CARTPOLE_Z = z_critical(1e-7)
"""5.33: the two-sided per-component bound of the CartPole comparison."""


def test_reinforce_on_cartpole_agrees_with_a_plain_loop_of_its_own(gymnasium):
    r"""pgref's REINFORCE estimate on CartPole-v1 (``EnvProblem`` → ``sample_env_episodes`` →
    ``estimators.reinforce``, γ = 0.99) at θ = 0, where the loop starts, from 600 episodes,
    against :func:`_reference_terms` on 600 independent episodes: for each
    of the 10 components, z = (m − m_ref) / √(s²/K + s²_ref/K_ref), |z| < 5.33.

    False failure: 1e−7 per component, 1e−6 for the ten (normal approximation of means of 600
    episode terms). Power against the slips of an environment's pipeline, an observation one
    step late and a flipped score: estimated from the reference episodes themselves (each bug
    applied to the same episodes), the component each moves most shifts by ≥ 5.33 + 3.09
    standard errors (asserted: power ≥ 0.999), and pgref's estimate fails the check against
    each bugged reference (positive controls). The estimator's own formula (a dropped γᵗ, a
    factor 1.1, …) is checked with power on tabular problems (tests/test_estimators_statistics.py):
    here a dropped γᵗ (γ = 0.99, episodes of about 22 steps) would barely move the estimate.
    """
    theta = np.zeros(10)
    policy = _cartpole_policy()
    n_episodes = 600
    problem = EnvProblem(gymnasium.make("CartPole-v1"), gamma=CARTPOLE_GAMMA)
    episodes = problem.sample_episodes(policy, theta, n_episodes, np.random.default_rng(1),
                                       max_steps=500)
    estimate = estimators.reinforce(policy, theta, episodes, CARTPOLE_GAMMA,
                                    allow_truncated=True)
    mean, variance = estimate.mean, estimate.per_episode.var(axis=0, ddof=1) / n_episodes

    def z_scores(terms):
        return (mean - terms.mean(axis=0)) / np.sqrt(
            variance + terms.var(axis=0, ddof=1) / terms.shape[0])

    reference = _reference_terms(gymnasium, theta, n_episodes, np.random.default_rng(2))
    assert np.all(np.abs(z_scores(reference["right"])) < CARTPOLE_Z), z_scores(reference["right"])
    for bug in ("late", "sign"):
        wrong = reference[bug]
        spread = np.sqrt(variance + wrong.var(axis=0, ddof=1) / n_episodes)
        shift = np.abs(wrong.mean(axis=0) - reference["right"].mean(axis=0)) / spread
        assert shift.max() >= CARTPOLE_Z + POWER_Z, (bug, shift.max())
        assert np.abs(z_scores(wrong)).max() >= CARTPOLE_Z, bug


def test_reinforce_batch_on_cartpole_takes_the_lectures_update(gymnasium):
    r"""Two updates of REINFORCE_batch on CartPole-v1 (K = 10, γ = 0.99, α = 0.005, from θ = 0):
    each θₖ₊₁ is θₖ + α ∇̂J of the batch the loop sampled at θₖ — drawn again here from a copy
    of the generator and estimated by ``estimators.reinforce`` — to 1e−12, and the history's
    episode lengths are those batches'. (The loop learns: over 30 seeds, 30 updates of K = 20
    took the mean length from about 22 under θ = 0 to 62–156 over the last 40 episodes; that
    is a demonstration, not a check with a rate that can be computed.)"""
    problem = EnvProblem(gymnasium.make("CartPole-v1"), gamma=CARTPOLE_GAMMA)
    policy = _cartpole_policy()
    rng = np.random.default_rng(0)
    replay = copy.deepcopy(rng)
    history = alg.REINFORCE_batch(problem, policy, np.zeros(10), 0.005, 2, 10, rng,
                                  max_steps=500, allow_truncated=True)
    theta = np.zeros(10)
    for k in range(2):
        episodes = problem.sample_episodes(policy, theta, 10, replay, max_steps=500)
        theta = theta + 0.005 * estimators.reinforce(policy, theta, episodes, CARTPOLE_GAMMA,
                                                     allow_truncated=True).mean
        np.testing.assert_allclose(history.theta[k + 1], theta, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(history.episode_lengths[10 * k:10 * (k + 1)],
                                      episodes.lengths)
