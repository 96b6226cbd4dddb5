r"""The :class:`Episodes` batch: K episodes S₀, A₀ → R₁, S₁, … stored flat, one row per step.

The Σₖ T_k steps of all episodes sit end to end in ``states``, ``actions`` and ``rewards``;
episode k is the rows ``offsets[k] : offsets[k + 1]``, so memory is linear in the number of
transitions whatever the spread of the episode lengths. ``episodes[k]`` reads one episode as the
lecture writes it (``.states[t]`` = Sₜ, ``.actions[t]`` = Aₜ, ``.rewards[t]`` = Rₜ₊₁), and
:meth:`Episodes.padded` gives the (K, T) arrays for code that wants a rectangle.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from pgref import checks

__all__ = [
    "INDEX_PAD",
    "REWARD_PAD",
    "Episode",
    "Episodes",
    "PaddedEpisodes",
]

INDEX_PAD = -1
"""The padding of integer states and actions after an episode ends, in :meth:`Episodes.padded`."""

REWARD_PAD = 0.0
"""The padding of rewards after an episode ends: the absorbing terminal state pays nothing."""


class Episode(NamedTuple):
    r"""One episode S₀, A₀ → R₁, …, S_{T−1}, A_{T−1} → R_T (the terminal S_T is not stored).

    ``states[t]`` = Sₜ, ``actions[t]`` = Aₜ, ``rewards[t]`` = Rₜ₊₁, each of length T;
    ``truncated`` is True when the episode was cut before reaching a terminal state.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    truncated: bool


class PaddedEpisodes(NamedTuple):
    r"""The batch as (K, T) arrays: ``states[k, t]`` = Sₜ of episode k for t < T_k (``mask``).

    Integer states and actions are padded with −1 (:data:`INDEX_PAD`), real-valued ones with
    NaN, rewards with 0.0 (:data:`REWARD_PAD`), so a sum over a row of ``rewards`` is a return.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True, eq=False)
class Episodes:
    r"""K episodes S₀, A₀ → R₁, S₁, A₁ → R₂, …, their Σₖ T_k steps stored end to end.

    Parameters
    ----------
    states : array_like, shape (N,) or (N, *observation_shape), N = Σₖ T_k
        Sₜ of every step, episode after episode: integer indices (tabular states) ≥ 0, or
        finite real observations.
    actions : array_like, shape (N,) or (N, *action_shape)
        Aₜ of every step, integer indices ≥ 0 or finite reals.
    rewards : array_like, shape (N,)
        Rₜ₊₁, the reward of the step taken in Sₜ; finite.
    lengths : array_like of int, shape (K,)
        T_k ≥ 1, the number of steps of episode k; they add up to N.
    truncated : array_like of bool, shape (K,)
        True where the episode was cut (at ``max_steps`` or by the environment) before reaching
        a terminal state; its return misses everything after the cut.

    Raises
    ------
    ValueError
        When K = 0, a length is below 1 or the lengths do not add up to the number of rows, the
        arrays disagree in their first dimension, or a step holds NaN/±inf or a negative index.

    Notes
    -----
    Episode k occupies rows ``offsets[k] : offsets[k + 1]`` with offsets = (0, T₁, T₁ + T₂, …),
    and row ``offsets[k] + t`` holds step t of episode k (lecture: "Training Policy Network:
    SGD", the K trajectories τ₁ … τ_K). The arrays are stored read-only; a writeable array passed
    in is copied first, so a batch stays what it was when it was checked.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray

    def __post_init__(self) -> None:
        rewards = checks.finite_array("rewards", self.rewards, ndim=1)
        lengths = np.asarray(self.lengths)
        if lengths.dtype == bool or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(f"lengths must be integers (steps per episode); got dtype "
                             f"{lengths.dtype}")
        if lengths.ndim != 1 or lengths.shape[0] == 0:
            raise ValueError(
                "lengths must be a non-empty 1-D array, one length T_k per episode (K ≥ 1); got "
                f"shape {lengths.shape}"
            )
        if lengths.min() < 1:
            raise ValueError(f"lengths must be ≥ 1 (every episode takes at least one step); got "
                             f"{int(lengths.min())}")
        if int(lengths.sum()) != rewards.shape[0]:
            raise ValueError(
                f"lengths must add up to the number of steps stored, {rewards.shape[0]} rewards; "
                f"they add up to {int(lengths.sum())}"
            )
        truncated = np.asarray(self.truncated)
        if truncated.dtype != bool or truncated.shape != lengths.shape:
            raise ValueError(
                f"truncated must be a boolean array of shape (K,) = {lengths.shape}; got dtype "
                f"{truncated.dtype} and shape {truncated.shape}"
            )
        states = _step_values("states", self.states, rewards.shape[0])
        actions = _step_values("actions", self.actions, rewards.shape[0])
        for name, value in (("states", states), ("actions", actions), ("rewards", rewards),
                            ("lengths", lengths.astype(np.int64, copy=False)),
                            ("truncated", truncated)):
            object.__setattr__(self, name, _read_only(value))

    @classmethod
    def from_lists(cls, states: Sequence, actions: Sequence, rewards: Sequence,
                   truncated: Sequence[bool] | None = None) -> Episodes:
        r"""Put K episodes of different lengths end to end.

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
        rows = [checks.finite_array(f"rewards[{k}]", r, ndim=1) for k, r in enumerate(rewards)]
        lengths = np.array([row.shape[0] for row in rows], dtype=np.int64)
        columns = {}
        for name, value in (("states", states), ("actions", actions)):
            arrays = [np.asarray(row) for row in value]
            for k, array in enumerate(arrays):
                if array.shape[:1] != (lengths[k],) or array.shape[1:] != arrays[0].shape[1:]:
                    raise ValueError(
                        f"{name}[{k}] must have one entry per step, {lengths[k]} like "
                        f"rewards[{k}], each of the shape of {name}[0]'s steps "
                        f"{arrays[0].shape[1:]}; got shape {array.shape}"
                    )
            columns[name] = np.concatenate(arrays)
        if truncated is None:
            truncated = np.zeros(n_episodes, dtype=bool)
        return cls(columns["states"], columns["actions"], np.concatenate(rows), lengths,
                   np.asarray(truncated))

    # -- size and layout ---------------------------------------------------------------------

    def __repr__(self) -> str:
        return (f"Episodes(K={self.n_episodes}, transitions={self.n_transitions}, "
                f"truncated={int(self.truncated.sum())})")

    def __len__(self) -> int:
        return self.n_episodes

    @property
    def n_episodes(self) -> int:
        """K, the number of episodes."""
        return self.lengths.shape[0]

    @property
    def n_transitions(self) -> int:
        """N = Σₖ T_k, the number of steps taken in all episodes."""
        return self.rewards.shape[0]

    @property
    def horizon(self) -> int:
        """T = maxₖ T_k, the longest episode's length (the width of :meth:`padded`)."""
        return int(self.lengths.max())

    @cached_property
    def offsets(self) -> np.ndarray:
        """(K + 1,): episode k is rows ``offsets[k] : offsets[k + 1]``; ``offsets[K]`` = N."""
        offsets = np.zeros(self.n_episodes + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        return _read_only(offsets)

    @cached_property
    def episode_index(self) -> np.ndarray:
        """(N,): the episode k that each row belongs to."""
        return _read_only(np.repeat(np.arange(self.n_episodes), self.lengths))

    @cached_property
    def time_index(self) -> np.ndarray:
        """(N,): the time t of each row within its episode (0 at each episode's S₀)."""
        return _read_only(np.arange(self.n_transitions) - self.offsets[self.episode_index])

    @property
    def nbytes(self) -> int:
        """Bytes held by the five stored arrays."""
        return sum(getattr(self, name).nbytes
                   for name in ("states", "actions", "rewards", "lengths", "truncated"))

    # -- reading episodes --------------------------------------------------------------------

    def __getitem__(self, k: int) -> Episode:
        r"""Episode k (negative k counts from the end), as read-only views."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise ValueError(f"an episode index must be an int in [−K, K) with K = "
                             f"{self.n_episodes}; got {k!r}")
        if not -self.n_episodes <= k < self.n_episodes:
            raise IndexError(f"episode index {k} is out of range for K = {self.n_episodes} "
                             "episodes")
        k = int(k) % self.n_episodes
        rows = slice(self.offsets[k], self.offsets[k + 1])
        return Episode(self.states[rows], self.actions[rows], self.rewards[rows],
                       bool(self.truncated[k]))

    def __iter__(self) -> Iterator[Episode]:
        for k in range(self.n_episodes):
            yield self[k]

    def padded(self) -> PaddedEpisodes:
        r"""The (K, T) arrays, T = maxₖ T_k, padded after each episode's end.

        Returns
        -------
        PaddedEpisodes
            ``states``, ``actions`` of shape (K, T) or (K, T, *shape), padded with −1 (integer)
            or NaN (real); ``rewards`` (K, T) padded with 0.0; ``mask`` (K, T), True where
            step t of episode k was taken.
        """
        cells = (self.episode_index, self.time_index)
        shape = (self.n_episodes, self.horizon)
        mask = np.zeros(shape, dtype=bool)
        mask[cells] = True
        rewards = np.full(shape, REWARD_PAD)
        rewards[cells] = self.rewards
        return PaddedEpisodes(_padded(self.states, cells, shape),
                              _padded(self.actions, cells, shape), rewards, mask)


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array`` itself when it is read-only and owns its data, else a read-only copy."""
    if array.flags.writeable or not array.flags.owndata:
        array = array.copy()
    array.setflags(write=False)
    return array


def _step_values(name: str, value, n_steps: int) -> np.ndarray:
    """Check states or actions: one row per step, integer indices ≥ 0 or finite reals."""
    array = np.asarray(value)
    if array.ndim == 0 or array.shape[0] != n_steps:
        raise ValueError(
            f"{name} must have one row per step, {n_steps} like rewards (the Episodes arrays "
            f"disagree in their first dimension); got shape {array.shape}"
        )
    if np.issubdtype(array.dtype, np.integer) and array.dtype != bool:
        if array.size and array.min() < 0:
            raise ValueError(f"{name} must be indices ≥ 0 at every step; found "
                             f"{int(array.min())}")
    elif np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite (no NaN or inf) at every step")
    else:
        raise ValueError(f"{name} must hold integer indices or real numbers; got dtype "
                         f"{array.dtype}")
    return array


def _padded(values: np.ndarray, cells: tuple[np.ndarray, np.ndarray],
            shape: tuple[int, int]) -> np.ndarray:
    """Scatter flat rows into (K, T, …) filled with the pad value of their dtype."""
    integer = np.issubdtype(values.dtype, np.integer)
    out = np.full(shape + values.shape[1:], INDEX_PAD if integer else np.nan,
                  dtype=values.dtype if integer else float)
    out[cells] = values
    return out
