r"""Sampling K episodes τ₁ … τ_K under π_θ into one padded batch (lecture: "Training Policy
Network: SGD": "we sample K trajectories from the environment using policy π_θ").

Three samplers fill the same :class:`Episodes` batch:

- :func:`sample_episodes` steps all live episodes of a :class:`~pgref.mdp.TabularMDP` at once,
  one NumPy step per time step, drawing actions and next states by inverting cumulative
  distribution tables against uniforms;
- :func:`sample_episodes_loop` is the plain per-step loop of the lecture's pseudocode (one
  ``rng.choice`` per action and per next state), kept as the readable reference that the tests
  compare the vectorised sampler with;
- :func:`sample_env_episodes` runs any Gymnasium-style environment (``reset(seed=)`` →
  (observation, info), ``step(a)`` → (observation, reward, terminated, truncated, info)).

Time indexing follows the lecture, S₀, A₀ → R₁, S₁, …: ``rewards[k, t]`` is R_{t+1}, the reward
of the step taken in ``states[k, t]``. An episode cut at ``max_steps`` before reaching a terminal
state is marked ``truncated``, never passed off as finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pgref import _checks
from pgref.mdp import TabularMDP

__all__ = [
    "DEFAULT_MAX_STEPS",
    "INDEX_PAD",
    "REWARD_PAD",
    "Episodes",
    "sample_env_episodes",
    "sample_episodes",
    "sample_episodes_loop",
]

DEFAULT_MAX_STEPS = 1_000
"""The default cut for an episode, in steps; a cut episode is marked truncated."""

INDEX_PAD = -1
"""The padding of integer states and actions after an episode ends (not a valid index)."""

REWARD_PAD = 0.0
"""The padding of rewards after an episode ends: the absorbing terminal state pays nothing."""


@dataclass(frozen=True, eq=False)
class Episodes:
    r"""K episodes S₀, A₀ → R₁, S₁, A₁ → R₂, …, padded to a common length T.

    Parameters
    ----------
    states : array_like, shape (K, T) or (K, T, *observation_shape)
        Sₜ of episode k at ``states[k, t]`` for t < ``lengths[k]``. Integer states (tabular
        indices) are padded with −1 (:data:`INDEX_PAD`), real-valued observations with NaN.
    actions : array_like, shape (K, T) or (K, T, *action_shape)
        Aₜ, padded like ``states``.
    rewards : array_like, shape (K, T)
        ``rewards[k, t]`` is R_{t+1}, the reward of the step taken in Sₜ; padded with 0.0
        (:data:`REWARD_PAD`), so a sum over a whole row is the episode's (discounted) return.
    lengths : array_like of int, shape (K,)
        T_k, the number of steps of episode k, 1 ≤ T_k ≤ T. The terminal state S_{T_k} is not
        stored: nothing is done in it.
    truncated : array_like of bool, shape (K,)
        True where the episode was cut (at ``max_steps`` or by the environment) before reaching
        a terminal state; its return misses everything after the cut.

    Raises
    ------
    ValueError
        When the arrays disagree in shape, K = 0, a length lies outside [1, T], a valid entry is
        NaN/±inf or a negative index, or the padding is not the documented pad value.

    Notes
    -----
    The arrays are read-only copies, so a batch stays what it was when it was checked. Use
    :attr:`mask` (``mask[k, t]`` is t < T_k) to select the valid steps; indexing with padded
    −1 entries would silently pick the last state, which is why the mask exists.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray

    def __post_init__(self) -> None:
        rewards = _checks.finite_array("rewards", self.rewards, ndim=2)
        n_episodes, horizon = rewards.shape
        if n_episodes == 0:
            raise ValueError(
                "episodes must hold at least one episode (K ≥ 1); rewards has shape "
                f"{rewards.shape}"
            )
        lengths = np.asarray(self.lengths)
        if lengths.dtype == bool or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(f"lengths must be integers (steps per episode); got dtype "
                             f"{lengths.dtype}")
        if lengths.shape != (n_episodes,):
            raise ValueError(
                f"lengths must have shape (K,) = ({n_episodes},) to match rewards of shape "
                f"{rewards.shape}; got shape {lengths.shape}"
            )
        if lengths.min() < 1 or lengths.max() > horizon:
            raise ValueError(
                f"lengths must lie in [1, T] = [1, {horizon}] (every episode takes at least one "
                f"step and fits the padded width); got values from {lengths.min()} to "
                f"{lengths.max()}"
            )
        truncated = np.asarray(self.truncated)
        if truncated.dtype != bool or truncated.shape != (n_episodes,):
            raise ValueError(
                f"truncated must be a boolean array of shape (K,) = ({n_episodes},); got dtype "
                f"{truncated.dtype} and shape {truncated.shape}"
            )
        mask = np.arange(horizon)[None, :] < lengths[:, None]
        if np.any(rewards[~mask] != REWARD_PAD):
            raise ValueError(
                "rewards must be padded with 0.0 after each episode's end (t ≥ lengths[k]); "
                "found a non-zero padding entry"
            )
        states = _padded_steps("states", self.states, mask, rewards.shape)
        actions = _padded_steps("actions", self.actions, mask, rewards.shape)
        for name, value in (("states", states), ("actions", actions), ("rewards", rewards),
                            ("lengths", lengths.astype(np.int64)), ("truncated", truncated)):
            value = np.array(value, copy=True)
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @classmethod
    def _trusted(cls, states, actions, rewards, lengths, truncated) -> Episodes:
        """Wrap arrays a sampler has just built, valid by construction: no copy, no re-check.

        Used by :func:`sample_episodes`; the tests pass its output through the public
        constructor to confirm it.
        """
        episodes = object.__new__(cls)
        for name, value in (("states", states), ("actions", actions), ("rewards", rewards),
                            ("lengths", lengths), ("truncated", truncated)):
            value.setflags(write=False)
            object.__setattr__(episodes, name, value)
        return episodes

    @classmethod
    def from_lists(cls, states: Sequence, actions: Sequence, rewards: Sequence,
                   truncated: Sequence[bool] | None = None) -> Episodes:
        r"""Pad K episodes of different lengths into one batch.

        Parameters
        ----------
        states, actions : sequence of K array_likes, each of shape (T_k,) or (T_k, *shape)
            S₀ … S_{T_k − 1} and A₀ … A_{T_k − 1} of each episode.
        rewards : sequence of K array_likes, each of shape (T_k,)
            R₁ … R_{T_k}.
        truncated : sequence of K bools, optional
            Default: no episode was truncated.

        Returns
        -------
        Episodes
        """
        n_episodes = len(rewards)
        if n_episodes == 0:
            raise ValueError("episodes must hold at least one episode (K ≥ 1); got 0 rewards")
        for name, value in (("states", states), ("actions", actions)):
            if len(value) != n_episodes:
                raise ValueError(
                    f"{name} must hold one sequence per episode, K = {n_episodes} like rewards; "
                    f"got {len(value)}"
                )
        rows = [_checks.finite_array(f"rewards[{k}]", r, ndim=1) for k, r in enumerate(rewards)]
        lengths = np.array([row.shape[0] for row in rows], dtype=np.int64)
        for name, value in (("states", states), ("actions", actions)):
            for k, row in enumerate(value):
                if np.shape(row)[:1] != (lengths[k],):
                    raise ValueError(
                        f"{name}[{k}] must have one entry per step, {lengths[k]} like "
                        f"rewards[{k}]; got shape {np.shape(row)}"
                    )
        horizon = int(lengths.max())
        padded_rewards = np.full((n_episodes, horizon), REWARD_PAD)
        for k, row in enumerate(rows):
            padded_rewards[k, : lengths[k]] = row
        if truncated is None:
            truncated = np.zeros(n_episodes, dtype=bool)
        return cls(
            _pad_rows(states, lengths, horizon),
            _pad_rows(actions, lengths, horizon),
            padded_rewards,
            lengths,
            np.asarray(truncated),
        )

    def __repr__(self) -> str:
        return (f"Episodes(K={self.n_episodes}, T={self.horizon}, "
                f"transitions={self.n_transitions}, truncated={int(self.truncated.sum())})")

    @property
    def n_episodes(self) -> int:
        """K, the number of episodes."""
        return self.rewards.shape[0]

    @property
    def horizon(self) -> int:
        """T, the padded width (the longest episode's length or more)."""
        return self.rewards.shape[1]

    @property
    def mask(self) -> np.ndarray:
        """Boolean (K, T): ``mask[k, t]`` is True when step t of episode k was taken."""
        return np.arange(self.horizon)[None, :] < self.lengths[:, None]

    @property
    def n_transitions(self) -> int:
        """Σₖ T_k, the number of steps taken in all episodes."""
        return int(self.lengths.sum())

    @property
    def nbytes(self) -> int:
        """Bytes held by the five arrays (padding included)."""
        return sum(getattr(self, name).nbytes
                   for name in ("states", "actions", "rewards", "lengths", "truncated"))


def _padded_steps(name: str, value, mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Check states or actions: leading shape (K, T), valid entries well-formed, padding exact."""
    array = np.asarray(value)
    if array.shape[:2] != shape:
        raise ValueError(
            f"{name} must start with shape (K, T) = {shape} like rewards (the Episodes arrays "
            f"disagree in shape); got shape {array.shape}"
        )
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must hold integer indices or real numbers; got dtype "
                         f"{array.dtype}")
    valid, padding = array[mask], array[~mask]
    if np.issubdtype(array.dtype, np.integer):
        if valid.size and valid.min() < 0:
            raise ValueError(f"{name} must be indices ≥ 0 at every step taken; found "
                             f"{int(valid.min())}")
        if np.any(padding != INDEX_PAD):
            raise ValueError(f"{name} must be padded with {INDEX_PAD} after each episode's end")
    else:
        if not np.all(np.isfinite(valid)):
            raise ValueError(f"{name} must be finite (no NaN or inf) at every step taken")
        if not np.all(np.isnan(padding)):
            raise ValueError(f"{name} of real numbers must be padded with NaN after each "
                             "episode's end")
    return array


def _pad_rows(rows: Sequence, lengths: np.ndarray, horizon: int) -> np.ndarray:
    """Stack rows of lengths T_k into (K, T, …) with the pad value of their dtype."""
    arrays = [np.asarray(row) for row in rows]
    integer = all(np.issubdtype(a.dtype, np.integer) and a.dtype != bool for a in arrays)
    dtype, pad = (np.int64, INDEX_PAD) if integer else (float, np.nan)
    inner = arrays[0].shape[1:]
    for k, array in enumerate(arrays):
        if array.shape[1:] != inner:
            raise ValueError(
                f"every step must have the same shape; episode 0 has {inner}, episode {k} has "
                f"{array.shape[1:]}"
            )
    out = np.full((len(arrays), horizon, *inner), pad, dtype=dtype)
    for k, array in enumerate(arrays):
        out[k, : lengths[k]] = array
    return out


# -- tabular MDPs ------------------------------------------------------------------------------


def _policy_table(mdp, policy, theta) -> np.ndarray:
    """Check that ``policy`` acts on ``mdp`` and return π_θ(a|s), shape (S, A)."""
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a pgref.TabularMDP; got {type(mdp).__name__}")
    if not hasattr(policy, "action_probs") or getattr(policy, "n_states", None) is None:
        raise ValueError(
            "policy must be a discrete policy over tabular states (with action_probs(theta) of "
            f"shape (S, A)), e.g. SoftmaxLinearPolicy(features); got {type(policy).__name__}"
        )
    if (policy.n_states, policy.n_actions) != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"policy must act on the mdp's (S, A) = {(mdp.n_states, mdp.n_actions)}; its "
            f"features give (S, A) = {(policy.n_states, policy.n_actions)}"
        )
    theta = _checks.parameter_vector(theta, policy.n_params)
    return policy.action_probs(theta)


def _cumulative_table(probabilities: np.ndarray) -> np.ndarray:
    r"""Cumulative sums along the last axis, +inf from each row's last possible outcome on.

    A cumulative sum may end a rounding error below 1; with the +inf, a uniform u in that gap
    still lands on the last outcome of positive probability, never on one of probability 0.
    """
    cumulative = np.cumsum(probabilities, axis=-1)
    n = probabilities.shape[-1]
    last_possible = n - 1 - np.argmax(probabilities[..., ::-1] > 0, axis=-1)
    cumulative[np.arange(n) >= last_possible[..., None]] = np.inf
    return cumulative


def _inverse_cdf(cumulative_rows: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    r"""For each row i, the first index j with Σ_{j′≤j} p_{j′} > uᵢ: a draw from row i."""
    return np.argmax(cumulative_rows > uniforms[:, None], axis=1)


def sample_episodes(mdp: TabularMDP, policy, theta, n_episodes: int, rng: np.random.Generator,
                    max_steps: int = DEFAULT_MAX_STEPS) -> Episodes:
    r"""Sample K episodes of a tabular MDP under π_θ, all live episodes stepped at once.

    Parameters
    ----------
    mdp : TabularMDP
        S states, A actions, with ``transitions`` (S, A, S), ``rewards`` (S, A) or (S, A, S),
        ``initial`` (S,) and a ``terminal`` mask (S,).
    policy : discrete policy over tabular states
        Anything with ``action_probs(theta)`` → (S, A), e.g. ``SoftmaxLinearPolicy``.
    theta : array_like, shape (n_params,)
    n_episodes : int
        K ≥ 1.
    rng : numpy.random.Generator
    max_steps : int
        Cut an episode after this many steps (≥ 1) and mark it truncated.

    Returns
    -------
    Episodes
        States and actions as int32 indices padded with −1, rewards padded with 0.0.

    Notes
    -----
    One NumPy step advances every live episode k (lecture: "Training Policy Network: SGD"):

        Aₜ[k] ∼ π_θ(·|Sₜ[k]),  Sₜ₊₁[k] ∼ p(·|Sₜ[k], Aₜ[k]),  Rₜ₊₁[k] = r(Sₜ[k], Aₜ[k] [, Sₜ₊₁[k]]),

    each draw the first index where the cumulative distribution exceeds a uniform u ∼ U[0, 1).
    Episodes that enter a terminal state leave the live set. The per-step records are scattered
    into the padded (K, T) arrays once at the end, so memory is O(Σₖ T_k) while sampling and
    K·T for the padded result. The distribution is that of :func:`sample_episodes_loop`; the
    random numbers are used differently, so the two agree in law, not draw by draw.
    """
    n_episodes = _checks.positive_int("n_episodes", n_episodes)
    max_steps = _checks.positive_int("max_steps", max_steps)
    rng = _checks.rng_generator(rng)
    pi = _policy_table(mdp, policy, theta)
    n_states, n_actions = mdp.n_states, mdp.n_actions
    action_cdf = _cumulative_table(pi)  # (S, A)
    next_state_cdf = _cumulative_table(mdp.transitions.reshape(n_states * n_actions, n_states))
    reward_table = mdp.rewards.reshape(n_states * n_actions, -1)  # (S·A, 1) or (S·A, S)
    per_transition = mdp.rewards.ndim == 3

    live = np.arange(n_episodes)  # indices k of the episodes still running
    state = _inverse_cdf(_cumulative_table(mdp.initial)[None, :].repeat(n_episodes, axis=0),
                         rng.random(n_episodes))
    steps: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for _t in range(max_steps):
        action = _inverse_cdf(action_cdf[state], rng.random(live.size))  # Aₜ ∼ π(·|Sₜ)
        pair = state * n_actions + action  # the row (Sₜ, Aₜ)
        next_state = _inverse_cdf(next_state_cdf[pair], rng.random(live.size))  # Sₜ₊₁ ∼ p
        reward = reward_table[pair, next_state if per_transition else 0]  # Rₜ₊₁
        steps.append((live, state, action, reward))
        running = ~mdp.terminal[next_state]
        live, state = live[running], next_state[running]
        if live.size == 0:
            break
    truncated = np.zeros(n_episodes, dtype=bool)
    truncated[live] = True
    return Episodes._trusted(*_scatter_steps(steps, n_episodes), truncated)


def _scatter_steps(steps, n_episodes: int) -> tuple[np.ndarray, ...]:
    """Place the records (episode indices, Sₜ, Aₜ, Rₜ₊₁) of each step t into (K, T) arrays."""
    horizon = len(steps)
    rows = np.concatenate([live for live, *_ in steps])  # episode k of each record
    cols = np.repeat(np.arange(horizon), [len(live) for live, *_ in steps])  # its time t
    cells = rows * horizon + cols  # position in the row-major (K, T) arrays
    states = np.full((n_episodes, horizon), INDEX_PAD, dtype=np.int32)
    actions = np.full((n_episodes, horizon), INDEX_PAD, dtype=np.int32)
    rewards = np.full((n_episodes, horizon), REWARD_PAD)
    states.reshape(-1)[cells] = np.concatenate([s for _, s, _, _ in steps])
    actions.reshape(-1)[cells] = np.concatenate([a for _, _, a, _ in steps])
    rewards.reshape(-1)[cells] = np.concatenate([r for *_, r in steps])
    lengths = np.bincount(rows, minlength=n_episodes).astype(np.int64)
    return states, actions, rewards, lengths


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
    n_episodes = _checks.positive_int("n_episodes", n_episodes)
    max_steps = _checks.positive_int("max_steps", max_steps)
    rng = _checks.rng_generator(rng)
    pi = _policy_table(mdp, policy, theta)
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
    reward = _checks.finite_scalar("the reward returned by env.step", reward)
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
    n_episodes = _checks.positive_int("n_episodes", n_episodes)
    max_steps = _checks.positive_int("max_steps", max_steps)
    rng = _checks.rng_generator(rng)
    theta = _checks.parameter_vector(theta, policy.n_params)
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
