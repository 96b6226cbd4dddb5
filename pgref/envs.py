r"""Example problems: each function returns an :class:`Example`, an MDP with its natural features.

- :func:`short_corridor` — Sutton & Barto's Example 13.1, where a stochastic policy beats every
  deterministic one.
- :func:`gridworld` — the lecture's moving particle ("Example: Moving Particle") on a grid, with
  four discrete directions.
- :func:`two_state_chain` — small enough to solve by hand.
- :func:`bandit` — a one-step episode: the policy gradient with no dynamics at all.
- :func:`random_mdp` — random dynamics, rewards and features, for property tests.

Nothing here solves an MDP; :mod:`pgref.exact` does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.features import one_hot_features, shared_action_features
from pgref.mdp import TabularMDP

__all__ = [
    "GRID_ACTIONS",
    "Example",
    "bandit",
    "gridworld",
    "layered_mdp",
    "random_mdp",
    "short_corridor",
    "two_state_chain",
]


class Example(NamedTuple):
    r"""An example MDP (the problem, :attr:`mdp`) and the features x(s, a) a softmax-linear policy
    would use on it.

    Attributes
    ----------
    mdp : TabularMDP
    features : ndarray, shape (S, A, J)
        For ``SoftmaxLinearPolicy(problem.features)``.
    action_names : tuple of str
        ``action_names[a]`` names action a; this fixes the action order.
    positions : ndarray, shape (S, 2), or None
        The (x, y) of each state where the problem has a geometry (for plots, and for the
        lecture's features [x, y, a], :func:`pgref.features.moving_particle_features`).
    """

    mdp: TabularMDP
    features: np.ndarray
    action_names: tuple[str, ...]
    positions: np.ndarray | None = None


def _deterministic(next_states: np.ndarray) -> np.ndarray:
    """transitions[s, a, s′] = 1 when s′ = next_states[s, a]."""
    n_states = next_states.shape[0]
    return np.eye(n_states)[next_states]


def short_corridor() -> Example:
    r"""The short corridor with switched actions (Sutton & Barto, Example 13.1).

    Returns
    -------
    Example
        Four states 0, 1, 2 and the goal 3 (terminal); S₀ = 0; actions (right, left) in that
        order; features x(s, right) = [1, 0], x(s, left) = [0, 1] in every state, so
        θ = [θ_right, θ_left] and the policy cannot tell the states apart; γ = 1.

    Notes
    -----
    Every step pays −1. Right moves right and left moves left, except in state 1 where they are
    switched; moving left from state 0 stays there. With p = π(right) in every state,

        𝒥(p) = v_π(0) = 2(p − 2) / (p(1 − p)),

    maximised at p* = 2 − √2 ≈ 0.586 with 𝒥* = −(6 + 4√2) ≈ −11.66, while p → 0 or 1 never
    reaches the goal. The softmax-linear policy gives p = σ(θ_right − θ_left).
    """
    #                       right left
    next_states = np.array([[1, 0],   # state 0: left bumps into the wall
                            [0, 2],   # state 1: switched, right goes back, left goes on
                            [3, 1],   # state 2: right reaches the goal
                            [3, 3]])  # goal: absorbing
    rewards = np.full((4, 2), -1.0)
    rewards[3] = 0.0
    terminal = np.array([False, False, False, True])
    mdp = TabularMDP(_deterministic(next_states), rewards, np.array([1.0, 0, 0, 0]),
                     gamma=1.0, terminal=terminal)
    features = shared_action_features(np.eye(2), 4)
    positions = np.column_stack([np.arange(4.0), np.zeros(4)])
    return Example(mdp, features, ("right", "left"), positions)


GRID_ACTIONS = ("right", "up", "left", "down")
"""The gridworld's actions, in counter-clockwise order: action a moves at angle a·π/2."""


def gridworld(width: int = 4, height: int = 3, *, start=(0, 0), goal=None, slip: float = 0.0,
              step_reward: float = -1.0, gamma: float = 1.0) -> Example:
    r"""The lecture's moving particle on a grid, moving in one of four directions per step.

    Parameters
    ----------
    width, height : int
        The grid has ``width * height`` cells; the cell (x, y) is state s = y·width + x.
    start : (int, int), default (0, 0)
        The cell of S₀.
    goal : (int, int), optional
        The terminal cell; default the opposite corner (width − 1, height − 1).
    slip : float in [0, 1), default 0
        With probability ``slip`` the move is drawn uniformly from all four directions, the
        chosen one included, instead of being the chosen one: the chosen move happens with
        probability 1 − slip + slip/4, each other direction with slip/4 (where two moves lead to
        the same cell, against a wall, their probabilities add).
    step_reward : float, default −1
        The reward of every step, so 𝒥 counts (minus) the expected number of steps to the goal.
    gamma : float in [0, 1], default 1

    Returns
    -------
    Example
        Actions (right, up, left, down) (:data:`GRID_ACTIONS`); tabular one-hot features
        x(s, a) = e_{s·4+a}; ``positions[s]`` = (x, y).

    Notes
    -----
    Lecture, "Example: Moving Particle". A move into a wall leaves the particle where it is. The
    lecture's features x(s, a) = [x, y, a] are
    ``moving_particle_features(problem.positions, np.arange(4))``; with a softmax they give a
    policy that ignores the position (see :func:`pgref.features.moving_particle_features`), so
    the returned features are the tabular ones.
    """
    width = checks.positive_int("width", width)
    height = checks.positive_int("height", height)
    if width * height < 2:
        raise ValueError(f"width * height must be ≥ 2 (a start and a goal); got {width}×{height}")
    start = _cell("start", start, width, height)
    goal = _cell("goal", (width - 1, height - 1) if goal is None else goal, width, height)
    if start == goal:
        raise ValueError(f"start and goal must be different cells; both are {start}")
    slip = checks.finite_scalar("slip", slip)
    if not 0.0 <= slip < 1.0:
        raise ValueError(f"slip must lie in [0, 1) (a probability of a random move); got {slip}")
    step_reward = checks.finite_scalar("step_reward", step_reward)

    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    xs, ys = xs.ravel(), ys.ravel()  # state s = y·width + x
    n_states = width * height
    moves = np.array([(1, 0), (0, 1), (-1, 0), (0, -1)])
    to_x = np.clip(xs[:, None] + moves[:, 0], 0, width - 1)  # (S, 4): walls stop the particle
    to_y = np.clip(ys[:, None] + moves[:, 1], 0, height - 1)
    intended = _deterministic(to_y * width + to_x)  # (S, 4, S)
    transitions = (1.0 - slip) * intended + slip * intended.mean(axis=1, keepdims=True)
    goal_state = goal[1] * width + goal[0]
    transitions[goal_state] = np.eye(n_states)[goal_state]
    rewards = np.full((n_states, 4), step_reward)
    rewards[goal_state] = 0.0
    terminal = np.arange(n_states) == goal_state
    initial = (np.arange(n_states) == start[1] * width + start[0]).astype(float)
    mdp = TabularMDP(transitions, rewards, initial, gamma=gamma, terminal=terminal)
    positions = np.column_stack([xs, ys]).astype(float)
    return Example(mdp, one_hot_features(n_states, 4), GRID_ACTIONS, positions)


def _cell(name: str, cell, width: int, height: int) -> tuple[int, int]:
    try:
        x, y = (int(c) for c in cell)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a cell (x, y) of two ints; got {cell!r}") from error
    if not (0 <= x < width and 0 <= y < height):
        raise ValueError(f"{name} must lie on the {width}×{height} grid; got {(x, y)}")
    return x, y


def two_state_chain(gamma: float = 1.0) -> Example:
    r"""Two states and an exit, small enough to solve by hand.

    Parameters
    ----------
    gamma : float in [0, 1], default 1

    Returns
    -------
    Example
        States 0, 1 and the terminal state 2; S₀ = 0; actions (stay, go); tabular one-hot
        features (θ has 6 entries, θ_{s,a} at index 2s + a).

    Notes
    -----
    In state 0, stay pays 1 and stays in 0, go pays 0 and moves to 1. In state 1, stay pays 2
    and stays in 1, go pays 0 and ends the episode. With p_s = π(stay|s) and γ p_s < 1:

        v(1) = 2 p₁ / (1 − γ p₁),     v(0) = (p₀ + γ (1 − p₀) v(1)) / (1 − γ p₀),
        n(0) = 1 / (1 − γ p₀),         n(1) = γ (1 − p₀) n(0) / (1 − γ p₁).
    """
    #                       stay go
    next_states = np.array([[0, 1],
                            [1, 2],
                            [2, 2]])  # terminal: absorbing
    rewards = np.array([[1.0, 0.0],
                        [2.0, 0.0],
                        [0.0, 0.0]])
    mdp = TabularMDP(_deterministic(next_states), rewards, np.array([1.0, 0.0, 0.0]),
                     gamma=gamma, terminal=np.array([False, False, True]))
    return Example(mdp, one_hot_features(3, 2), ("stay", "go"))


def bandit(means) -> Example:
    r"""A multi-armed bandit as a one-step episodic MDP.

    Parameters
    ----------
    means : array_like, shape (A,)
        The expected reward of each arm.

    Returns
    -------
    Example
        State 0 (the start) and the terminal state 1; A actions ("arm 0", …); features
        x(s, a) = e_a, so θ has one preference per arm; γ = 1.

    Notes
    -----
    𝒥(θ) = Σ_a π_θ(a) r(a) and ∇𝒥(θ) = Σ_a r(a) ∇π_θ(a): the policy gradient theorem with
    n(0) = 1 and no dynamics.
    """
    means = checks.finite_array("means", means, ndim=1)
    if means.size == 0:
        raise ValueError("means must hold at least one arm's expected reward; got none")
    n_arms = means.size
    transitions = np.zeros((2, n_arms, 2))
    transitions[:, :, 1] = 1.0
    rewards = np.vstack([means, np.zeros(n_arms)])
    mdp = TabularMDP(transitions, rewards, np.array([1.0, 0.0]), gamma=1.0,
                     terminal=np.array([False, True]))
    names = tuple(f"arm {a}" for a in range(n_arms))
    return Example(mdp, shared_action_features(np.eye(n_arms), 2), names)


def _with_random_features(mdp: TabularMDP, rng: np.random.Generator,
                          n_features: int | None) -> Example:
    """The MDP with one-hot features (n_features None) or i.i.d. N(0, 1) ones of length J."""
    if n_features is None:
        features = one_hot_features(mdp.n_states, mdp.n_actions)
    else:
        n_features = checks.positive_int("n_features", n_features)
        features = rng.standard_normal((mdp.n_states, mdp.n_actions, n_features))
    return Example(mdp, features, tuple(f"a{a}" for a in range(mdp.n_actions)))


def random_mdp(rng: np.random.Generator, n_states: int, n_actions: int, *, gamma: float = 0.9,
               n_terminal: int = 0, termination_prob: float = 0.1, n_features: int | None = None,
               next_state_rewards: bool = False) -> Example:
    r"""A random MDP with random features, for property tests and benchmarks.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_states, n_actions : int
        S (terminal states included) and A.
    gamma : float in [0, 1], default 0.9
    n_terminal : int, default 0
        The last ``n_terminal`` states are terminal. γ = 1 needs at least one.
    termination_prob : float in [0, 1], default 0.1
        With terminal states, every non-terminal (s, a) moves to a terminal state with at least
        this probability, so under every policy an episode lasts 1/termination_prob steps or
        fewer on average.
    n_features : int, optional
        J for features x(s, a) with i.i.d. N(0, 1) entries; default: tabular one-hot features.
    next_state_rewards : bool, default False
        Draw rewards r(s, a, s′) of shape (S, A, S) instead of r(s, a).

    Returns
    -------
    Example
        Actions named "a0", "a1", ….

    Notes
    -----
    Each row p(·|s, a) of a non-terminal state is (1 − ε)·Dirichlet(1, …, 1) over all S states
    plus ε spread evenly over the terminal states, ε = ``termination_prob``. Rewards are N(0, 1)
    (0 in terminal states); p₀ is Dirichlet(1, …, 1) over the non-terminal states.
    """
    rng = checks.rng_generator(rng)
    n_states = checks.positive_int("n_states", n_states)
    n_actions = checks.positive_int("n_actions", n_actions)
    n_terminal = checks.positive_int("n_terminal", n_terminal, minimum=0)
    if n_terminal >= n_states:
        raise ValueError(
            f"n_terminal must be < n_states (episodes start in a non-terminal state); got "
            f"n_terminal={n_terminal}, n_states={n_states}"
        )
    gamma = checks.finite_scalar("gamma", gamma)
    if n_terminal == 0 and gamma == 1.0:
        raise ValueError(
            "gamma = 1 needs terminal states (n_terminal ≥ 1): otherwise every episode runs "
            "forever and returns are infinite; pass n_terminal ≥ 1 or gamma < 1"
        )
    termination_prob = checks.finite_scalar("termination_prob", termination_prob)
    if not 0.0 <= termination_prob <= 1.0:
        raise ValueError(f"termination_prob must lie in [0, 1]; got {termination_prob}")

    n_live = n_states - n_terminal
    terminal = np.arange(n_states) >= n_live
    transitions = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    if n_terminal:
        exit_row = terminal / n_terminal
        transitions = (1.0 - termination_prob) * transitions + termination_prob * exit_row
        transitions[terminal] = np.eye(n_states)[terminal][:, None, :]
    shape = (n_states, n_actions, n_states) if next_state_rewards else (n_states, n_actions)
    rewards = rng.standard_normal(shape)
    rewards[terminal] = 0.0
    initial = np.zeros(n_states)
    initial[:n_live] = rng.dirichlet(np.ones(n_live))
    mdp = TabularMDP(transitions, rewards, initial, gamma=gamma, terminal=terminal)
    return _with_random_features(mdp, rng, n_features)


def layered_mdp(rng: np.random.Generator, n_live: int, n_actions: int, *, gamma: float = 1.0,
                n_features: int | None = None) -> Example:
    r"""A random MDP whose states only move forward: every trajectory can be listed.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_live : int
        The non-terminal states 0 … n_live − 1; state n_live is terminal.
    n_actions : int
        A.
    gamma : float in [0, 1], default 1
    n_features : int, optional
        J for features x(s, a) with i.i.d. N(0, 1) entries; default: tabular one-hot features.

    Returns
    -------
    Example
        Every episode ends within n_live steps, so the lecture's sums over trajectories
        (:func:`pgref.exact.trajectory_form`) run over finitely many τ.

    Notes
    -----
    From state s < n_live each action moves to one of the states s + 1, …, n_live with
    Dirichlet(1, …, 1) probabilities; rewards r(s, a, s′) are N(0, 1) (0 in the terminal
    state); p₀ is Dirichlet(1, …, 1) over the non-terminal states.
    """
    rng = checks.rng_generator(rng)
    n_live = checks.positive_int("n_live", n_live)
    n_actions = checks.positive_int("n_actions", n_actions)
    n_states = n_live + 1
    transitions = np.zeros((n_states, n_actions, n_states))
    for s in range(n_live):
        transitions[s, :, s + 1:] = rng.dirichlet(np.ones(n_states - s - 1), size=n_actions)
    transitions[n_live, :, n_live] = 1.0
    rewards = rng.standard_normal((n_states, n_actions, n_states))
    rewards[n_live] = 0.0
    initial = np.append(rng.dirichlet(np.ones(n_live)), 0.0)
    mdp = TabularMDP(transitions, rewards, initial, gamma=gamma,
                     terminal=np.arange(n_states) == n_live)
    return _with_random_features(mdp, rng, n_features)
