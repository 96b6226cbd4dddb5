"""Tests of pgref.envs: each example problem's structure, and its values against closed forms."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgref import envs, exact
from pgref.mdp import TabularMDP
from pgref.policies import SoftmaxLinearPolicy

# -- short corridor -----------------------------------------------------------------------------


def corridor_objective(p):
    """Sutton & Barto, Example 13.1: J(p) = 2(p − 2) / (p(1 − p)), p = π(right)."""
    return 2.0 * (p - 2.0) / (p * (1.0 - p))


def test_short_corridor_has_switched_actions_in_state_1():
    problem = envs.short_corridor()
    mdp = problem.mdp
    right, left = problem.action_names.index("right"), problem.action_names.index("left")
    assert (right, left) == (0, 1)
    moves = mdp.transitions.argmax(axis=2)  # deterministic: the next state of (s, a)
    np.testing.assert_array_equal(moves[:, right], [1, 0, 3, 3])
    np.testing.assert_array_equal(moves[:, left], [0, 2, 1, 3])
    assert np.all(mdp.transitions.max(axis=2) == 1.0)
    np.testing.assert_array_equal(mdp.rewards[:3], -1.0)
    assert mdp.gamma == 1.0 and mdp.terminal.tolist() == [False, False, False, True]
    np.testing.assert_array_equal(problem.features[2], [[1, 0], [0, 1]])  # x(s, right), x(s, left)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 2 - np.sqrt(2), 0.8, 0.97])
def test_short_corridor_objective_matches_the_closed_form(p):
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([np.log(p / (1 - p)), 0.0])  # σ(θ_right − θ_left) = p
    np.testing.assert_allclose(policy.action_probs(theta)[:, 0], p, rtol=1e-13)
    np.testing.assert_allclose(exact.objective(problem.mdp, policy, theta),
                               corridor_objective(p), rtol=1e-12)


def test_short_corridor_optimum_is_p_2_minus_root_2_with_j_minus_6_minus_4_root_2():
    p_star = 2 - np.sqrt(2)
    j_star = -(6 + 4 * np.sqrt(2))
    assert p_star == pytest.approx(0.59, abs=0.005) and j_star == pytest.approx(-11.6, abs=0.1)
    assert corridor_objective(p_star) == pytest.approx(j_star, rel=1e-14, abs=0)
    grid = np.linspace(0.01, 0.99, 9801)  # the closed form's maximum, found by brute force
    assert grid[np.argmax(corridor_objective(grid))] == pytest.approx(p_star, abs=1e-4)


# -- gridworld -----------------------------------------------------------------------------------


def test_gridworld_moves_the_particle_and_walls_stop_it():
    problem = envs.gridworld(width=3, height=2)
    mdp = problem.mdp
    assert problem.action_names == ("right", "up", "left", "down")
    assert (mdp.n_states, mdp.n_actions) == (6, 4)
    assert problem.features.shape == (6, 4, 24)
    np.testing.assert_array_equal(problem.positions[4], [1, 1])  # s = y·width + x
    moves = mdp.transitions.argmax(axis=2)
    # From (0, 0) = state 0: right → (1, 0) = 1, up → (0, 1) = 3, left and down hit walls.
    np.testing.assert_array_equal(moves[0], [1, 3, 0, 0])
    # From (1, 1) = state 4: right → goal 5, up hits the wall, left → 3, down → 1.
    np.testing.assert_array_equal(moves[4], [5, 4, 3, 1])
    assert mdp.terminal.tolist() == [False] * 5 + [True]
    assert mdp.initial.tolist() == [1.0] + [0.0] * 5


def test_gridworld_shortest_path_policy_takes_manhattan_distance_steps():
    width, height = 5, 4
    mdp = envs.gridworld(width, height).mdp
    pi = np.zeros((width * height, 4))
    pi[:, 1] = 1.0  # up …
    pi[np.arange(width * height) // width == height - 1] = [1.0, 0, 0, 0]  # … then right
    values = exact.state_values(mdp, pi)
    xs, ys = np.arange(width * height) % width, np.arange(width * height) // width
    np.testing.assert_allclose(values, -((width - 1 - xs) + (height - 1 - ys)), rtol=0,
                               atol=1e-12)


def test_gridworld_slip_mixes_in_a_uniformly_random_move():
    slip = 0.2
    problem = envs.gridworld(3, 3, slip=slip, start=(1, 1), goal=(0, 2), step_reward=-2.0)
    mdp = problem.mdp
    centre = 4  # (1, 1): all four neighbours exist
    np.testing.assert_allclose(mdp.transitions[centre, 0, [5, 7, 3, 1]],
                               [1 - slip + slip / 4, slip / 4, slip / 4, slip / 4], rtol=1e-15)
    assert mdp.initial[centre] == 1.0 and mdp.terminal[6]
    np.testing.assert_array_equal(mdp.rewards[mdp.nonterminal], -2.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(width=0), r"width must be an integer ≥ 1"),
    (dict(width=1, height=1), r"width \* height must be ≥ 2"),
    (dict(goal=(0, 0)), r"start and goal must be different"),
    (dict(goal=(4, 0)), r"goal must lie on the 4×3 grid"),
    (dict(start=(0,)), r"start must be a cell \(x, y\)"),
    (dict(slip=1.0), r"slip must lie in \[0, 1\)"),
    (dict(gamma=2.0), r"gamma must lie in \[0, 1\]"),
])
def test_gridworld_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        envs.gridworld(**kwargs)


# -- two-state chain and bandit ------------------------------------------------------------------


def test_two_state_chain_structure():
    problem = envs.two_state_chain(gamma=0.5)
    mdp = problem.mdp
    assert problem.action_names == ("stay", "go") and mdp.gamma == 0.5
    np.testing.assert_array_equal(mdp.transitions.argmax(axis=2), [[0, 1], [1, 2], [2, 2]])
    np.testing.assert_array_equal(mdp.rewards, [[1, 0], [2, 0], [0, 0]])
    assert problem.features.shape == (3, 2, 6)


def test_bandit_objective_is_the_policy_average_of_the_means():
    means = np.array([1.0, -0.5, 3.0])
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3, -1.0, 0.2])
    pi = np.exp(theta) / np.exp(theta).sum()
    assert exact.objective(problem.mdp, policy, theta) == pytest.approx(pi @ means, rel=1e-14,
                                                                        abs=0)
    with pytest.raises(ValueError, match=r"means must have 1 dimension"):
        envs.bandit([[1.0]])


# -- random MDPs ---------------------------------------------------------------------------------


@given(seed=st.integers(0, 2**32 - 1), n_states=st.integers(2, 7), n_actions=st.integers(1, 4),
       n_terminal=st.integers(1, 3), termination_prob=st.floats(0.0, 1.0),
       next_state_rewards=st.booleans())
def test_random_episodic_mdp_is_valid_and_terminates_fast_enough(
        seed, n_states, n_actions, n_terminal, termination_prob, next_state_rewards):
    n_terminal = min(n_terminal, n_states - 1)
    problem = envs.random_mdp(np.random.default_rng(seed), n_states, n_actions, gamma=1.0,
                              n_terminal=n_terminal, termination_prob=termination_prob,
                              next_state_rewards=next_state_rewards)
    mdp = problem.mdp
    assert isinstance(mdp, TabularMDP)
    assert mdp.terminal.sum() == n_terminal and mdp.terminal[-n_terminal:].all()
    assert mdp.rewards.ndim == (3 if next_state_rewards else 2)
    exit_mass = mdp.transitions[mdp.nonterminal][:, :, mdp.terminal].sum(axis=2)
    assert np.all(exit_mass >= termination_prob - 1e-12)
    if termination_prob > 0:  # so every policy's episodes last ≤ 1/termination_prob steps
        pi = np.random.default_rng(seed).dirichlet(np.ones(n_actions), size=n_states)
        length = exact.discounted_visits(mdp, pi).sum()
        assert 1.0 - 1e-12 <= length <= 1.0 / termination_prob + 1e-9
    assert problem.features.shape == (n_states, n_actions, n_states * n_actions)


def test_random_mdp_is_reproducible_and_draws_gaussian_features():
    first = envs.random_mdp(np.random.default_rng(7), 4, 3, n_features=5)
    second = envs.random_mdp(np.random.default_rng(7), 4, 3, n_features=5)
    np.testing.assert_array_equal(first.mdp.transitions, second.mdp.transitions)
    np.testing.assert_array_equal(first.features, second.features)
    assert first.features.shape == (4, 3, 5) and first.mdp.gamma == 0.9
    assert not first.mdp.terminal.any()


@pytest.mark.parametrize("kwargs, message", [
    (dict(rng=7), r"rng must be a numpy.random.Generator"),
    (dict(gamma=1.0), r"gamma = 1 needs terminal states"),
    (dict(n_terminal=3), r"n_terminal must be < n_states"),
    (dict(n_terminal=1, termination_prob=1.5), r"termination_prob must lie in \[0, 1\]"),
    (dict(n_features=0), r"n_features must be an integer ≥ 1"),
    (dict(gamma=-0.5), r"gamma must lie in \[0, 1\]"),
])
def test_random_mdp_refuses_bad_arguments(kwargs, message):
    arguments = dict(rng=np.random.default_rng(0), n_states=3, n_actions=2)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        envs.random_mdp(**arguments)


def test_layered_mdp_only_moves_forward_and_checks_its_arguments():
    example = envs.layered_mdp(np.random.default_rng(0), 4, 3, gamma=0.9, n_features=2)
    transitions = example.mdp.transitions
    for s in range(4):  # from s, only the states after it
        np.testing.assert_allclose(transitions[s, :, : s + 1], 0.0)
        np.testing.assert_allclose(transitions[s].sum(axis=1), 1.0)
    assert example.mdp.terminal.tolist() == [False] * 4 + [True]
    assert example.features.shape == (5, 3, 2) and example.mdp.gamma == 0.9
    with pytest.raises(ValueError, match="n_live must be an integer ≥ 1"):
        envs.layered_mdp(np.random.default_rng(0), 0, 2)
    with pytest.raises(ValueError, match=r"rng must be a numpy\.random\.Generator"):
        envs.layered_mdp(0, 2, 2)
