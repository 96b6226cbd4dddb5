r"""The three samplers that fill an :class:`~pgref.rollout.episodes.Episodes` batch under π_θ:
:func:`sample_episodes` steps all live episodes of a tabular MDP at once, one uniform per
transition; :func:`sample_episodes_loop` is the lecture's per-step loop, one ``rng.choice`` per
draw, kept as the readable reference with the same law; :func:`sample_env_episodes` runs any
Gymnasium-style environment. Each cuts an episode at ``max_steps`` (:data:`DEFAULT_MAX_STEPS`
by default) and marks it truncated.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pgref import checks
from pgref.mdp import TabularMDP
from pgref.rollout.episodes import Episodes
from pgref.rollout.inverse_cdf import InverseCdfTable

__all__ = [
    "DEFAULT_MAX_STEPS",
    "JOINT_TABLE_LIMIT",
    "sample_env_episodes",
    "sample_episodes",
    "sample_episodes_loop",
]

DEFAULT_MAX_STEPS = 1_000
"""The default cut for an episode, in steps; a cut episode is marked truncated."""

JOINT_TABLE_LIMIT = 1 << 22
"""Above this many entries S·A·S, actions and next states are drawn one after the other."""


# -- tabular MDPs ------------------------------------------------------------------------------


def checked_policy_table(mdp, policy, theta) -> np.ndarray:
    """Check that ``mdp`` is a TabularMDP and return its :meth:`~TabularMDP.policy_table`."""
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a pgref.TabularMDP; got {type(mdp).__name__}")
    return mdp.policy_table(policy, theta)


def sample_episodes(mdp: TabularMDP, policy, theta, n_episodes: int, rng: np.random.Generator,
                    max_steps: int = DEFAULT_MAX_STEPS) -> Episodes:
    r"""Sample K episodes of a tabular MDP under π_θ, all live episodes stepped at once.

    Parameters
    ----------
    mdp : TabularMDP
        S states, A actions, with ``transitions`` (S, A, S), ``rewards`` (S, A) or (S, A, S),
        ``initial`` (S,) and a ``terminal`` mask (S,).
    policy : TabularPolicy
        A discrete policy over tabular states, e.g. ``SoftmaxLinearPolicy``.
    theta : array_like, shape (n_params,)
    n_episodes : int
        K ≥ 1.
    rng : numpy.random.Generator
    max_steps : int
        Cut an episode after this many steps (≥ 1) and mark it truncated.

    Returns
    -------
    Episodes
        States and actions as int32 indices, stored flat.

    Notes
    -----
    One NumPy step advances every live episode k (lecture: "Training Policy Network: SGD"):

        (Aₜ[k], Sₜ₊₁[k]) ∼ π_θ(a|Sₜ[k]) p(s′|Sₜ[k], a),  Rₜ₊₁[k] = r(Sₜ[k], Aₜ[k] [, Sₜ₊₁[k]]),

    the pair drawn at once from the joint distribution over the A·S outcomes of state Sₜ[k],
    by inverting its cumulative distribution against one uniform u ∼ U[0, 1) per transition
    (:class:`~pgref.rollout.inverse_cdf.InverseCdfTable`). When S·A·S exceeds
    :data:`JOINT_TABLE_LIMIT` the action and then the next state are drawn, two uniforms per
    transition. Episodes that enter a terminal state leave the live set; the records of each
    step are written into the flat arrays once the lengths are known. The law is that of
    :func:`sample_episodes_loop`; the random numbers are used differently, so the two agree in
    law, not draw by draw.
    """
    n_episodes = checks.positive_int("n_episodes", n_episodes)
    max_steps = checks.positive_int("max_steps", max_steps)
    rng = checks.rng_generator(rng)
    pi = checked_policy_table(mdp, policy, theta)
    return _sample_tabular(mdp, pi, n_episodes, rng, max_steps)


def _sample_tabular(mdp: TabularMDP, pi: np.ndarray, n_episodes: int, rng: np.random.Generator,
                    max_steps: int) -> Episodes:
    """The stepping loop of :func:`sample_episodes`, on a checked policy table, block by block."""
    n_states, n_actions = mdp.n_states, mdp.n_actions
    if n_states * n_actions * n_states <= JOINT_TABLE_LIMIT:
        step = _JointStep(mdp, pi)
    else:
        step = _TwoDrawStep(mdp, pi)
    sizes = [min(EPISODES_PER_BLOCK, n_episodes - first)
             for first in range(0, n_episodes, EPISODES_PER_BLOCK)]
    blocks = [_sample_block(step, size, rng, max_steps) for size in sizes]
    columns = [np.concatenate(parts) if len(blocks) > 1 else parts[0]
               for parts in zip(*blocks, strict=True)]
    for array in columns[:3]:
        array.setflags(write=False)  # owned and read-only: Episodes keeps them without a copy
    return Episodes(*columns)


EPISODES_PER_BLOCK = 1 << 15
"""Episodes stepped together: a block's steps fit in the processor's cache while written out."""


def _sample_block(step, n_episodes: int, rng: np.random.Generator, max_steps: int):
    """States, actions, rewards (flat), lengths and truncation flags of one block of episodes."""
    initial = np.zeros(n_episodes, dtype=np.intp)
    base = step.base_of_state[step.start.draw(initial, rng.random(n_episodes))]  # S₀
    live = np.arange(n_episodes, dtype=np.int32)  # the episodes k still running
    lengths = np.full(n_episodes, max_steps, dtype=np.int64)
    records = []  # per step t: the live episodes and the outcome (Sₜ, Aₜ, Sₜ₊₁) of each
    for t in range(max_steps):
        outcome = step.draw(base, rng)
        records.append((live, outcome))
        ended = step.ends[outcome]
        lengths[live[ended]] = t + 1
        running = np.flatnonzero(~ended)
        live, base = live[running], step.next_base[outcome[running]]
        if live.size == 0:
            break
    truncated = np.zeros(n_episodes, dtype=bool)
    truncated[live] = True
    offsets = np.zeros(n_episodes, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    outcomes = np.empty(int(lengths.sum()), dtype=records[0][1].dtype)
    for t, (live, outcome) in enumerate(records):  # step t of episode k goes to row offsets[k] + t
        rows = offsets[live]
        rows += t
        outcomes[rows] = outcome
    states, actions, rewards = step.state[outcomes], step.action[outcomes], step.reward[outcomes]
    return states, actions, rewards, lengths, truncated


class _JointStep:
    """One uniform per transition: the outcome (a, s′) of state s drawn from π(a|s) p(s′|s, a).

    Outcome tables are indexed by the flat position s·(A·S) + a·S + s′ that stands for
    (s, a, s′): its state, action, reward, whether s′ is terminal, and where the next draw from
    s′ begins.
    """

    def __init__(self, mdp: TabularMDP, pi: np.ndarray):
        joint = pi[:, :, None] * mdp.transitions  # π(a|s) p(s′|s, a)
        self.table = InverseCdfTable(joint.reshape(mdp.n_states, -1))
        self.first = self.table
        self._outcome_tables(mdp)

    def _outcome_tables(self, mdp: TabularMDP) -> None:
        n_states, n_actions = mdp.n_states, mdp.n_actions
        s, a, next_s = np.indices((n_states, n_actions, n_states)).reshape(3, -1)
        self.state = s.astype(np.int32)
        self.action = a.astype(np.int32)
        self.reward = np.broadcast_to(mdp.rewards.reshape(n_states, n_actions, -1),
                                      (n_states, n_actions, n_states)).reshape(-1)
        self.ends = mdp.terminal[next_s]
        self.start = InverseCdfTable(mdp.initial[None, :])
        self.base_of_state = self.first.slice_base(np.arange(n_states))
        self.next_base = self.base_of_state[next_s]

    def draw(self, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.table.draw(base, rng.random(base.size))


class _TwoDrawStep(_JointStep):
    """Two uniforms per transition, for large S·A·S: Aₜ ∼ π(·|Sₜ), then Sₜ₊₁ ∼ p(·|Sₜ, Aₜ)."""

    def __init__(self, mdp: TabularMDP, pi: np.ndarray):
        n_states, n_actions = mdp.n_states, mdp.n_actions
        self.first = InverseCdfTable(pi)  # row s, outcome a: position s·A + a
        self.table = InverseCdfTable(mdp.transitions.reshape(n_states * n_actions, n_states))
        self._outcome_tables(mdp)

    def draw(self, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pair = self.first.draw(base, rng.random(base.size))  # s·A + a
        return self.table.draw(self.table.slice_base(pair), rng.random(base.size))


def sample_episodes_loop(mdp: TabularMDP, policy, theta, n_episodes: int,
                         rng: np.random.Generator,
                         max_steps: int = DEFAULT_MAX_STEPS) -> Episodes:
    r"""The readable reference: one episode at a time, one ``rng.choice`` per draw.

    Parameters
    ----------
    mdp, policy, theta, n_episodes, rng, max_steps
        As in :func:`sample_episodes`.

    Returns
    -------
    Episodes

    Notes
    -----
    Line 3 of the lecture's ``PG_v1`` and ``REINFORCE`` pseudocode ("Sample a trajectory with
    policy π_θ"), written out (lecture: "First Policy Gradient Algorithm"):

        S₀ ∼ p(s₀); while Sₜ is not terminal: Aₜ ∼ π_θ(·|Sₜ), Sₜ₊₁ ∼ p(·|Sₜ, Aₜ), Rₜ₊₁ = r(…).

    Slow by design (Python-level work per step); :func:`sample_episodes` is the same law.
    """
    n_episodes = checks.positive_int("n_episodes", n_episodes)
    max_steps = checks.positive_int("max_steps", max_steps)
    rng = checks.rng_generator(rng)
    pi = checked_policy_table(mdp, policy, theta)
    n_states, n_actions = mdp.n_states, mdp.n_actions
    all_states, all_actions, all_rewards, truncated = [], [], [], []
    for _k in range(n_episodes):
        states, actions, rewards = [], [], []
        state = rng.choice(n_states, p=mdp.initial)
        while True:
            action = rng.choice(n_actions, p=pi[state])
            next_state = rng.choice(n_states, p=mdp.transitions[state, action])
            if mdp.rewards.ndim == 2:
                reward = mdp.rewards[state, action]
            else:
                reward = mdp.rewards[state, action, next_state]
            states.append(state)
            actions.append(action)
            rewards.append(reward)
            state = next_state
            if mdp.terminal[state]:
                truncated.append(False)
                break
            if len(states) == max_steps:
                truncated.append(True)
                break
        all_states.append(states)
        all_actions.append(actions)
        all_rewards.append(rewards)
    return Episodes.from_lists(all_states, all_actions, all_rewards, truncated)


# -- Gymnasium-style environments --------------------------------------------------------------


def _checked_reset(result) -> object:
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping)):
        raise ValueError(
            "env.reset(seed=...) must return a 2-tuple (observation, info) with info a dict, as "
            f"in Gymnasium; got {_describe(result)}"
        )
    return result[0]


def _checked_step(result) -> tuple[object, float, bool, bool]:
    if not (isinstance(result, tuple) and len(result) == 5):
        hint = (" (the old Gym API returned (observation, reward, done, info); Gymnasium splits "
                "done into terminated and truncated)") if isinstance(result, tuple) and len(
                    result) == 4 else ""
        raise ValueError(
            "env.step(action) must return a 5-tuple (observation, reward, terminated, "
            f"truncated, info), as in Gymnasium; got {_describe(result)}{hint}"
        )
    observation, reward, terminated, truncated, info = result
    reward = checks.finite_scalar("the reward returned by env.step", reward)
    for name, flag in (("terminated", terminated), ("truncated", truncated)):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(
                f"env.step(action) must return {name} as a bool (item {2 + (name == 'truncated')}"
                f" of the 5-tuple); got {flag!r}"
            )
    if not isinstance(info, Mapping):
        raise ValueError(
            f"env.step(action) must return info as a dict (item 4 of the 5-tuple); got {info!r}"
        )
    return observation, reward, bool(terminated), bool(truncated)


def _describe(result) -> str:
    if isinstance(result, tuple):
        return f"a tuple of length {len(result)}: {result!r}"
    return f"{type(result).__name__} {result!r}"


def sample_env_episodes(env, policy, theta, n_episodes: int, rng: np.random.Generator,
                        max_steps: int = DEFAULT_MAX_STEPS) -> Episodes:
    r"""Run K episodes of a Gymnasium-style environment under π_θ, one step at a time.

    Parameters
    ----------
    env : object
        With ``reset(seed=int)`` → (observation, info) and ``step(action)`` → (observation,
        reward, terminated, truncated, info), e.g. :class:`pgref.mdp.TabularEnv` or a
        ``gymnasium.Env``.
    policy : pgref policy
        Its ``sample(theta, observations, rng)`` must accept a batch of one observation; its
        states are the environment's observations (indices for tabular features).
    theta : array_like, shape (n_params,)
    n_episodes : int
        K ≥ 1.
    rng : numpy.random.Generator
        Draws the actions and a seed for each episode's ``reset``, so a run is reproducible
        from ``rng`` alone.
    max_steps : int
        Cut an episode after this many steps (≥ 1) and mark it truncated.

    Returns
    -------
    Episodes
        Observations stacked along (K, T, …): integer observations padded with −1, real ones
        with NaN; the same for actions. An episode the environment itself truncates (e.g. a
        time limit) is marked truncated too.

    Raises
    ------
    ValueError
        When ``reset`` or ``step`` do not return Gymnasium's tuples, a reward is not a finite
        number, or ``terminated``/``truncated`` are not bools.

    Notes
    -----
    The lecture's trajectory τ: S₀, A₀ → R₁, S₁, … (lecture: "Training Policy Network: SGD"),
    with Sₜ the observation the environment returns and Aₜ ∼ π_θ(·|Sₜ). Integer actions are
    passed to ``step`` as Python ints, others as the policy returns them.
    """
    n_episodes = checks.positive_int("n_episodes", n_episodes)
    max_steps = checks.positive_int("max_steps", max_steps)
    rng = checks.rng_generator(rng)
    theta = checks.parameter_vector(theta, policy.n_params)
    all_states, all_actions, all_rewards, all_truncated = [], [], [], []
    for _k in range(n_episodes):
        observation = _checked_reset(env.reset(seed=int(rng.integers(2**31 - 1))))
        states, actions, rewards = [], [], []
        truncated = False
        while True:
            action = policy.sample(theta, np.asarray(observation)[None, ...], rng)[0]
            if np.issubdtype(np.asarray(action).dtype, np.integer):
                action = int(action)
            next_observation, reward, terminated, env_truncated = _checked_step(env.step(action))
            states.append(observation)
            actions.append(action)
            rewards.append(reward)
            observation = next_observation
            if terminated:
                break
            if env_truncated or len(states) == max_steps:
                truncated = True
                break
        all_states.append(np.asarray(states))
        all_actions.append(np.asarray(actions))
        all_rewards.append(rewards)
        all_truncated.append(truncated)
    return Episodes.from_lists(all_states, all_actions, all_rewards, all_truncated)
