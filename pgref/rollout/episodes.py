r"""The :class:`Episodes` batch: K episodes S₀, A₀ → R₁, S₁, … padded to a common length T, with
``rewards[k, t]`` = R_{t+1}; the pad values :data:`INDEX_PAD` (integer states and actions) and
:data:`REWARD_PAD` (rewards), NaN for real-valued observations; and the checks that make a batch
trustworthy: the arrays agree in shape, every step taken is finite and well-formed, the padding
is exact. Every sampler of :mod:`pgref.rollout.samplers` returns one; the estimators read one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pgref import _checks

__all__ = [
    "INDEX_PAD",
    "REWARD_PAD",
    "Episodes",
]

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
