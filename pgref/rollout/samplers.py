r"""The three samplers that fill an :class:`~pgref.rollout.episodes.Episodes` batch under π_θ:
:func:`sample_episodes` steps all live episodes of a tabular MDP at once, drawing by inverting
cumulative distribution tables against uniforms; :func:`sample_episodes_loop` is the lecture's
per-step loop, one ``rng.choice`` per draw, kept as the readable reference with the same law;
:func:`sample_env_episodes` runs any Gymnasium-style environment. Each cuts an episode at
``max_steps`` (:data:`DEFAULT_MAX_STEPS` by default) and marks it truncated.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pgref import _checks
from pgref.mdp import TabularMDP
from pgref.rollout.episodes import INDEX_PAD, REWARD_PAD, Episodes

__all__ = [
    "DEFAULT_MAX_STEPS",
    "sample_env_episodes",
    "sample_episodes",
    "sample_episodes_loop",
]

DEFAULT_MAX_STEPS = 1_000
"""The default cut for an episode, in steps; a cut episode is marked truncated."""


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
