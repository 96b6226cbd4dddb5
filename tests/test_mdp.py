"""Tests of pgref.mdp: TabularMDP's validation and derived arrays, and the episodic TabularEnv."""

import dataclasses

import numpy as np
import pytest
from helpers import POWER_Z

from pgref import envs, exact
from pgref.mdp import PROBABILITY_TOLERANCE, TabularEnv, TabularMDP


def small_arrays():
    """Three states (2 terminal), two actions, per-(s, a) rewards: valid as given."""
    transitions = np.zeros((3, 2, 3))
    transitions[0, 0] = [0.5, 0.5, 0.0]
    transitions[0, 1] = [0.0, 0.25, 0.75]
    transitions[1, :, 1] = 1.0
    transitions[2, :, 2] = 1.0
    rewards = np.array([[1.0, -2.0], [0.0, 0.0], [0.0, 0.0]])
    return dict(transitions=transitions, rewards=rewards, initial=np.array([1.0, 0.0, 0.0]),
                gamma=1.0, terminal=np.array([False, True, True]))


def with_changes(**changes):
    arrays = small_arrays()
    arrays.update(changes)
    return arrays


# -- a valid MDP --------------------------------------------------------------------------------


def test_valid_mdp_has_its_shapes_and_masks():
    mdp = TabularMDP(**small_arrays())
    assert (mdp.n_states, mdp.n_actions) == (3, 2)
    np.testing.assert_array_equal(mdp.nonterminal, [True, False, False])
    np.testing.assert_array_equal(mdp.expected_rewards, small_arrays()["rewards"])
    assert isinstance(mdp.gamma, float)


def test_terminal_defaults_to_no_terminal_states():
    transitions = np.full((2, 1, 2), 0.5)
    mdp = TabularMDP(transitions, np.zeros((2, 1)), [0.5, 0.5], gamma=0.5)
    assert mdp.terminal.dtype == bool
    np.testing.assert_array_equal(mdp.terminal, [False, False])


def test_expected_rewards_average_per_transition_rewards_over_next_states():
    arrays = small_arrays()
    per_transition = np.zeros((3, 2, 3))
    per_transition[0, 0] = [2.0, 4.0, 100.0]  # 100 has probability 0
    per_transition[0, 1] = [7.0, -4.0, 8.0]
    mdp = TabularMDP(**with_changes(rewards=per_transition))
    expected = np.zeros((3, 2))
    for s in range(3):
        for a in range(2):
            expected[s, a] = sum(arrays["transitions"][s, a, z] * per_transition[s, a, z]
                                 for z in range(3))
    assert expected[0, 0] == 3.0 and expected[0, 1] == 5.0  # 0.5·2 + 0.5·4; −1 + 6
    np.testing.assert_allclose(mdp.expected_rewards, expected, rtol=0, atol=1e-15)


def test_mdp_is_frozen_and_holds_read_only_copies():
    arrays = small_arrays()
    mdp = TabularMDP(**arrays)
    arrays["transitions"][0, 0] = [1.0, 0.0, 0.0]  # the caller's array changes…
    assert mdp.transitions[0, 0, 1] == 0.5  # …the MDP's does not
    with pytest.raises(dataclasses.FrozenInstanceError):
        mdp.gamma = 0.5
    assert mdp == mdp and mdp != TabularMDP(**small_arrays())  # equality is identity
    assert hash(mdp) == hash(mdp)
    for name in ("transitions", "rewards", "initial", "terminal"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(mdp, name)[0] = 0


def test_rows_within_the_tolerance_are_accepted_unchanged():
    arrays = small_arrays()
    arrays["transitions"][0, 0] = [0.5, 0.5 + PROBABILITY_TOLERANCE / 2, 0.0]
    mdp = TabularMDP(**arrays)
    assert mdp.transitions[0, 0, 1] == 0.5 + PROBABILITY_TOLERANCE / 2  # not renormalised


# -- bad input: every message names the argument ------------------------------------------------


def _off_row():
    transitions = small_arrays()["transitions"].copy()
    transitions[0, 1] = [0.0, 0.25, 0.5]
    return transitions


def _negative():
    transitions = small_arrays()["transitions"].copy()
    transitions[0, 0] = [1.5, -0.5, 0.0]
    return transitions


def _with(name, index, value):
    array = small_arrays()[name].astype(float)
    array[index] = value
    return array


def _leaking_terminal():
    transitions = small_arrays()["transitions"].copy()
    transitions[2, 1] = [0.0, 1.0, 0.0]
    return transitions


BAD_INPUTS = {
    "row off 1": (dict(transitions=_off_row()),
                  r"transitions\[s, a, :\] must sum to 1; at \(s, a\) = \(0, 1\) it sums to "
                  r"0\.75 \(off by -0\.25"),
    "negative probability": (dict(transitions=_negative()),
                             r"transitions must hold probabilities ≥ 0; transitions\[0, 0, 1\]"),
    "transitions rank": (dict(transitions=np.eye(3)), r"transitions must have 3 dimension"),
    "transitions not square": (dict(transitions=np.full((3, 2, 4), 0.25)),
                               r"transitions must have shape \(S, A, S\)"),
    "rewards shape": (dict(rewards=np.zeros((3, 3))), r"rewards must have shape \(S, A\)"),
    "rewards rank": (dict(rewards=np.zeros(3)), r"rewards must have 2 or 3 dimension"),
    "initial shape": (dict(initial=np.array([1.0, 0.0])), r"initial must have shape \(S,\)"),
    "initial sum": (dict(initial=np.array([0.9, 0.0, 0.0])),
                    r"initial must sum to 1; it sums to 0\.9 \(off by -0\.1"),
    "initial negative": (dict(initial=np.array([1.5, -0.5, 0.0])), r"initial must hold"),
    "gamma below 0": (dict(gamma=-0.1), r"gamma must lie in \[0, 1\]"),
    "gamma above 1": (dict(gamma=1.5), r"gamma must lie in \[0, 1\]"),
    "gamma nan": (dict(gamma=float("nan")), r"gamma must be finite"),
    "gamma inf": (dict(gamma=float("inf")), r"gamma must be finite"),
    "gamma string": (dict(gamma="0.9"), r"gamma must be a real number"),
    "transitions nan": (dict(transitions=_with("transitions", (0, 0, 0), np.nan)),
                        r"transitions must be finite"),
    "rewards inf": (dict(rewards=_with("rewards", (0, 1), np.inf)), r"rewards must be finite"),
    "rewards nan": (dict(rewards=_with("rewards", (0, 0), np.nan)), r"rewards must be finite"),
    "initial nan": (dict(initial=_with("initial", 1, np.nan)), r"initial must be finite"),
    "terminal shape": (dict(terminal=np.array([False, True])),
                       r"terminal must be a boolean mask of shape \(S,\) = \(3,\)"),
    "terminal as indices": (dict(terminal=np.array([1, 2])), r"terminal must be a boolean mask"),
    "terminal not absorbing": (dict(transitions=_leaking_terminal()),
                               r"terminal states must be absorbing.*\[2\]"),
    "terminal reward": (dict(rewards=_with("rewards", (1, 0), 3.0)),
                        r"rewards must be 0 in terminal states.*\[1\]"),
    "start in terminal": (dict(initial=np.array([0.5, 0.5, 0.0])),
                          r"initial must put no probability on terminal states.*\[1\]"),
}


@pytest.mark.parametrize("changes, message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_raises_a_value_error_naming_the_argument(changes, message):
    with pytest.raises(ValueError, match=message):
        TabularMDP(**with_changes(**changes))


def test_per_transition_terminal_rewards_must_be_zero_too():
    rewards = np.zeros((3, 2, 3))
    rewards[2, 0, 2] = 1.0
    with pytest.raises(ValueError, match=r"rewards must be 0 in terminal states.*\[2\]"):
        TabularMDP(**with_changes(rewards=rewards))


# -- the environment ----------------------------------------------------------------------------


def run_episode(env, pi, rng, seed=None):
    """States, actions, rewards and the end flags of one episode under the table pi."""
    state, info = env.reset(seed=seed)
    assert info == {"t": 0}
    states, actions, rewards = [state], [], []
    while True:
        action = int(rng.choice(pi.shape[1], p=pi[state]))
        state, reward, terminated, truncated, info = env.step(action)
        states.append(state)
        actions.append(action)
        rewards.append(reward)
        assert info == {"t": len(actions)}
        if terminated or truncated:
            return states, actions, rewards, terminated, truncated


def test_step_returns_the_gymnasium_five_tuple_and_terminates_in_a_terminal_state():
    mdp = TabularMDP(**small_arrays())
    env = TabularEnv(mdp)
    assert env.reset(seed=0) == (0, {"t": 0})
    observation, reward, terminated, truncated, info = env.step(1)
    assert type(observation) is int and type(reward) is float
    assert observation in (1, 2) and reward == -2.0
    assert terminated is True and truncated is False and info == {"t": 1}
    with pytest.raises(ValueError, match=r"call reset\(\) first"):
        env.step(0)


def test_the_same_seed_gives_the_same_episode_and_reset_without_seed_continues():
    problem_rng = np.random.default_rng(5)
    transitions = problem_rng.dirichlet(np.ones(4), size=(4, 2))
    mdp = TabularMDP(transitions, problem_rng.standard_normal((4, 2)), np.full(4, 0.25),
                     gamma=0.9)
    pi = np.full((4, 2), 0.5)
    env = TabularEnv(mdp, max_steps=20)
    first = run_episode(env, pi, np.random.default_rng(1), seed=123)
    second = run_episode(env, pi, np.random.default_rng(1), seed=123)
    assert first == second
    continued = run_episode(env, pi, np.random.default_rng(1))  # same generator, further on
    assert continued[0] != first[0]
    assert len(first[0]) == 21 and first[3:] == (False, True)  # cut at max_steps, truncated


def test_reset_without_a_seed_uses_the_given_generator_or_a_fresh_one():
    env = TabularEnv(TabularMDP(**small_arrays()), rng=np.random.default_rng(0))
    assert env.reset() == (0, {"t": 0})
    env = TabularEnv(TabularMDP(**small_arrays()))
    assert env.rng is None
    assert env.reset() == (0, {"t": 0}) and isinstance(env.rng, np.random.Generator)
    assert env.reset(options={}) == (0, {"t": 0})  # Gymnasium's signature, no options used
    assert env.close() is None


def test_seeding_matches_numpy_default_rng_and_accepts_numpy_integers():
    """reset(seed=s) draws from default_rng(s): S₀ is the first initial-state draw."""
    mdp = TabularMDP(np.full((5, 2, 5), 0.2), np.zeros((5, 2)), np.full(5, 0.2))
    for seed in range(5):
        expected = int(np.random.default_rng(seed).choice(5, p=mdp.initial))
        assert TabularEnv(mdp).reset(seed=np.int64(seed))[0] == expected
    env = TabularEnv(mdp)
    env.reset(seed=0)
    observation, *_ = env.step(np.int64(1))
    assert type(observation) is int


@pytest.mark.parametrize(("arguments", "message"), [
    ({"options": {"state": 1}}, r"options must be None or an empty dict.*\['state'\]"),
    ({"seed": -1}, r"seed must be an integer ≥ 0"),
    ({"seed": 1.5}, r"seed must be an integer ≥ 0"),
])
def test_reset_refuses_unknown_options_and_bad_seeds(arguments, message):
    with pytest.raises(ValueError, match=message):
        TabularEnv(TabularMDP(**small_arrays())).reset(**arguments)


@pytest.mark.parametrize("kwargs, message", [
    (dict(rng=0), r"rng must be a numpy.random.Generator"),
    (dict(max_steps=0), r"max_steps must be an integer ≥ 1"),
    (dict(max_steps=2.5), r"max_steps must be an integer"),
])
def test_bad_env_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TabularEnv(TabularMDP(**small_arrays()), **kwargs)


@pytest.mark.parametrize("action", [2, -1, 1.0, "0", [0, 1]])
def test_step_refuses_an_action_outside_the_action_set(action):
    env = TabularEnv(TabularMDP(**small_arrays()))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must"):
        env.step(action)


def test_step_pays_the_reward_of_the_transition_taken():
    rewards = np.zeros((3, 2, 3))
    rewards[0, 1] = [9.0, 10.0, 20.0]
    env = TabularEnv(TabularMDP(**with_changes(rewards=rewards)), rng=np.random.default_rng(2))
    seen = set()
    for _ in range(50):
        env.reset()
        state, reward, *_ = env.step(1)
        assert reward == rewards[0, 1, state]
        seen.add(state)
    assert seen == {1, 2}  # both outcomes occurred (each has probability ≥ 1/4 per draw)


def test_mean_episode_return_matches_the_exact_objective():
    """Monte-Carlo mean of G(τ) = Σₜ γᵗ Rₜ₊₁ over env episodes vs J = p₀ᵀ v_π (z-test).

    |z| < 5.3: false failure 2Φ(−5.3) = 1.2e−7 for a fresh seed (normal approximation of a mean
    of 3000 returns, each bounded in law by a geometric number of Gaussian rewards). Power
    against a return summed without its discount, or with γᵗ⁺¹, computed below from the exact
    values: they move z by about 20 and 19 (asserted > 5.3 + 3.09, power ≥ 0.999).
    """
    problem_rng = np.random.default_rng(11)
    transitions = problem_rng.dirichlet(np.ones(4), size=(4, 2))
    transitions = 0.7 * transitions + 0.3 * np.eye(4)[3]  # ends with prob ≥ 0.3 per step
    transitions[3] = np.eye(4)[3]
    rewards = problem_rng.standard_normal((4, 2, 4)) + 1.0  # a mean the discount moves
    rewards[3] = 0.0
    gamma = 0.8
    mdp = TabularMDP(transitions, rewards, [0.2, 0.3, 0.5, 0.0], gamma=gamma,
                     terminal=np.arange(4) == 3)
    pi = np.array([[0.3, 0.7], [0.6, 0.4], [0.5, 0.5], [0.5, 0.5]])
    env = TabularEnv(mdp, rng=np.random.default_rng(3))
    sample_rng = np.random.default_rng(4)
    n_episodes = 3000
    returns = np.empty(n_episodes)
    for k in range(n_episodes):
        _, _, rewards_k, terminated, _ = run_episode(env, pi, sample_rng)
        assert terminated
        returns[k] = sum(gamma**t * r for t, r in enumerate(rewards_k))
    exact_value = mdp.initial @ exact.state_values(mdp, pi)
    standard_error = returns.std(ddof=1) / np.sqrt(n_episodes)
    assert abs(returns.mean() - exact_value) / standard_error < 5.3
    for wrong_gamma, shift in ((1.0, 1.0), (gamma, gamma)):   # no discount; γᵗ⁺¹
        wrong = dataclasses.replace(mdp, gamma=wrong_gamma)
        wrong_value = shift * (wrong.initial @ exact.state_values(wrong, pi))
        assert abs(wrong_value - exact_value) / standard_error > 5.3 + POWER_Z


def test_a_deep_copy_is_the_same_read_only_mdp():
    import copy

    mdp = envs.short_corridor().mdp
    assert copy.deepcopy(mdp) is mdp
    assert not copy.deepcopy(mdp).transitions.flags.writeable
