r"""Episodes of a tabular MDP, each walked with one learner's own stream of uniforms.

Line 3 of the lecture's PG_v1 and REINFORCE ("Sample a trajectory with policy π_θ") for a
:class:`pgref.TabularMDP`: S₀ ∼ p(s₀), then Aₜ ∼ π_θ(·|Sₜ), Sₜ₊₁ ∼ p(·|Sₜ, Aₜ),
Rₜ₊₁ = r(Sₜ, Aₜ[, Sₜ₊₁]) until a terminal state, each draw the first index whose cumulative
probability exceeds a uniform u ∼ U[0, 1) (a u past a sum that rounds below 1 picks the last
index of non-zero probability).

Each learner owns a :class:`UniformStream`, the uniforms of its generator in order: an episode
of T steps uses 1 + 2T of them (u for S₀, then u for Aₜ and u for Sₜ₊₁ at each step), whatever
else is walked alongside. So a run's episodes depend on its generator and θ alone, and the
single-run loops and the lockstep runs of :mod:`pgref.algorithms.lockstep` walk the very same
episodes. The law is that of :func:`pgref.rollout.sample_episodes`; the draws are used
differently. The walk itself is plain Python over lists, one ``bisect`` per draw.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

import numpy as np

from pgref.estimators import reward_to_go
from pgref.mdp import TabularMDP
from pgref.policies.discrete import last_possible

__all__ = ["TabularWalker", "UniformStream", "Walks", "batch_rewards_to_go", "cumulative_rows",
           "last_possible", "rewards_to_go"]


class UniformStream:
    r"""The uniforms u ∼ U[0, 1) of one generator, in order, drawn :attr:`CHUNK` at a time.

    Parameters
    ----------
    rng : numpy.random.Generator
    """

    CHUNK = 4096

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.values: list[float] = []
        self.position = 0

    def refill(self) -> None:
        """Keep the unused uniforms and append the next :attr:`CHUNK` of the generator."""
        self.values = self.values[self.position :] + self.rng.random(self.CHUNK).tolist()
        self.position = 0


class Walks(NamedTuple):
    r"""m episodes stored flat, episode after episode; ``rewards[j]`` is Rₜ₊₁ of the step in
    row j; ``ended[i]`` is False when episode i was cut at ``max_steps``."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    ended: np.ndarray


def rewards_to_go(rewards: list[float], lengths: list[int], gamma: float) -> list[float]:
    r"""Gₜ = Rₜ₊₁ + γ Gₜ₊₁ with G_T = 0 in each of the episodes stored flat (lecture:
    "REINFORCE"); the first entry of an episode is G₀ = G(τ)."""
    G = [0.0] * len(rewards)
    end = len(rewards)
    for length in reversed(lengths):
        following = 0.0
        for t in range(end - 1, end - length - 1, -1):
            following = rewards[t] + gamma * following
            G[t] = following
        end -= length
    return G


def batch_rewards_to_go(rewards: np.ndarray, lengths: np.ndarray, times: np.ndarray,
                        gamma: float) -> np.ndarray:
    r""":func:`rewards_to_go` of many episodes stored flat (``times[j]``: t of row j), the same
    numbers to the last bit: the episodes padded with zeros into a (K, T) table for
    :func:`pgref.estimators.reward_to_go`, which runs the same recursion (at γ = 1 as a
    running sum in the same order)."""
    if rewards.size == 0:
        return np.zeros(0)
    episode = np.repeat(np.arange(lengths.size), lengths)
    padded = np.zeros((lengths.size, int(lengths.max())))
    padded[episode, times] = rewards
    return reward_to_go(padded, gamma)[episode, times]


class TabularWalker:
    r"""Samples episodes of one tabular MDP under policy tables π (S, A), cut at ``max_steps``.

    Parameters
    ----------
    mdp : TabularMDP
    max_steps : int
        An episode that has not reached a terminal state after this many steps is returned
        with ``ended=False``.

    Notes
    -----
    A draw from probabilities p₀ … p_{n−1} with uniform u is the first index j with
    p₀ + … + p_j > u, or the last index ℓ of non-zero probability if there is none (the sums can
    round below 1). That is the number of the partial sums p₀, p₀ + p₁, … before ℓ that are
    ≤ u: ``bisect_right`` of u among the first ℓ sums. The walker keeps, for each pair s·A + a,
    the transition's sums before its last possible next state (and the next state itself where
    it is certain); the policy's are given with each episode.
    """

    def __init__(self, mdp: TabularMDP, max_steps: int):
        self.mdp, self.max_steps = mdp, max_steps
        self.n_actions = mdp.n_actions
        self.initial = cumulative_rows(mdp.initial)
        pairs = mdp.n_states * mdp.n_actions
        self.next_state = cumulative_rows(mdp.transitions.reshape(pairs, mdp.n_states))
        # s′ where p(·|s, a) is one state (the draw then needs no search), −1 elsewhere
        self.certain = np.where(mdp.transitions.max(axis=2) == 1.0,
                                mdp.transitions.argmax(axis=2), -1).ravel().tolist()
        self.first_pair = (np.arange(mdp.n_states) * mdp.n_actions).tolist()   # s·A
        self.terminal = mdp.terminal.tolist()

    def walks(self, pi: np.ndarray, streams: list[UniformStream]) -> Walks:
        r"""One episode per stream, episode i under the policy table ``pi[i]`` (S, A)."""
        pairs, last_states, lengths, ended = [], [], [], []
        action_cdf, action_last = np.cumsum(pi, axis=2).tolist(), last_possible(pi).tolist()
        for cdf, last, stream in zip(action_cdf, action_last, streams, strict=False):
            walk_pairs, last_state, walk_ended = self.walk(cdf, last, stream)
            pairs += walk_pairs
            last_states.append(last_state)
            lengths.append(len(walk_pairs))
            ended.append(walk_ended)
        states, actions = np.divmod(np.array(pairs, dtype=np.intp), self.n_actions)
        lengths = np.array(lengths, dtype=np.intp)
        return Walks(states, actions, self.rewards(states, actions, lengths, last_states),
                     lengths, np.array(ended))

    def rewards(self, states: np.ndarray, actions: np.ndarray, lengths: np.ndarray,
                last_states: list[int]) -> np.ndarray:
        r"""Rₜ₊₁ = r(Sₜ, Aₜ[, Sₜ₊₁]) of episodes stored flat (S_T of each in ``last_states``)."""
        rewards = self.mdp.rewards
        if rewards.ndim == 2:
            return rewards[states, actions]
        following = np.empty_like(states)                 # Sₜ₊₁: the next row's Sₜ, or S_T
        following[:-1] = states[1:]
        following[np.cumsum(lengths) - 1] = last_states   # every walk has T ≥ 1 steps
        return rewards[states, actions, following]

    def episode(self, action_cdf: list[list[float]], action_last: list[int],
                stream: UniformStream) -> tuple[list[int], list[int], list[float], bool]:
        r"""(S₀ … S_{T−1}, A₀ … A_{T−1}, R₁ … R_T, ended) under the policy whose cumulative
        table is ``action_cdf`` [s][a] (``action_last[s]``: its last action of non-zero
        probability), with the uniforms of ``stream``."""
        pairs, last_state, ended = self.walk(action_cdf, action_last, stream)
        states, actions = np.divmod(np.array(pairs, dtype=np.intp), self.n_actions)
        rewards = self.rewards(states, actions, np.array([len(pairs)]), [last_state])
        return states.tolist(), actions.tolist(), rewards.tolist(), ended

    def walk(self, action_cdf: list[list[float]], action_last: list[int],
             stream: UniformStream) -> tuple[list[int], int, bool]:
        r"""(Sₜ·A + Aₜ for t = 0 … T − 1, S_T, ended) of one episode under the policy whose
        cumulative table is ``action_cdf`` [s][a] (``action_last[s]``: its last action of
        non-zero probability), with the uniforms of ``stream``."""
        next_state, certain, first_pair = self.next_state, self.certain, self.first_pair
        terminal = self.terminal
        pairs = []
        add_pair = pairs.append
        if stream.position + 1 > len(stream.values):
            stream.refill()
        u, i = stream.values, stream.position
        state = bisect_right(self.initial, u[i])                            # S₀ ∼ p(s₀)
        i += 1
        while len(pairs) < self.max_steps:
            # the next n steps: both uniforms of each are in the stream, and n ≤ the steps left
            n = min((len(u) - i) // 2, self.max_steps - len(pairs))
            for j in range(i, i + 2 * n, 2):
                pair = first_pair[state] + bisect_right(action_cdf[state], u[j], 0,
                                                        action_last[state])  # Aₜ ∼ π(·|Sₜ)
                state = certain[pair]
                if state < 0:
                    state = bisect_right(next_state[pair], u[j + 1])       # Sₜ₊₁ ∼ p(·|Sₜ, Aₜ)
                add_pair(pair)
                if terminal[state]:
                    stream.position = j + 2
                    return pairs, state, True
            stream.position = i + 2 * n
            if len(pairs) < self.max_steps:
                stream.refill()
                u, i = stream.values, 0
        return pairs, state, False


def cumulative_rows(probabilities: np.ndarray) -> list:
    r"""For each row p of ``probabilities`` (n,) or (N, n): the partial sums p₀, p₀ + p₁, …
    before the row's last index of non-zero probability ℓ (ℓ sums), as (nested) lists."""
    sums = np.cumsum(probabilities, axis=-1).tolist()
    lasts = last_possible(probabilities).tolist()
    if probabilities.ndim == 1:
        return sums[:lasts]
    return [row[:last] for row, last in zip(sums, lasts, strict=True)]
