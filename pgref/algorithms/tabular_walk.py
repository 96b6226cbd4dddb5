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
differently. The walk itself is plain Python, one ``bisect`` per draw.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

import numpy as np

from pgref.mdp import TabularMDP
from pgref.policies.discrete import last_possible

__all__ = ["TabularWalker", "UniformStream", "Walks", "cumulative_rows",
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
        self.values = memoryview(np.zeros(0))
        self.position = 0                   # nothing read: the first walk refills

    def refill(self) -> None:
        """Keep the unused uniforms and append the next :attr:`CHUNK` of the generator.

        ``values`` is a memoryview of float64: indexing it gives Python floats, each made only
        when the walk reads it (a certain transition leaves its uniform unread)."""
        unused = np.asarray(self.values[self.position :], dtype=float)
        self.values = memoryview(np.concatenate((unused, self.rng.random(self.CHUNK))))
        self.position = 0


class Walks(NamedTuple):
    r"""m episodes stored flat, episode after episode: ``pairs[j]`` = Sₜ·A + Aₜ and
    ``rewards[j]`` = Rₜ₊₁ of the step in row j (N,) (Sₜ, Aₜ = divmod(pair, A)); ``lengths[i]``
    the steps of episode i and ``ended[i]`` False when it was cut at ``max_steps`` (m,)."""

    pairs: np.ndarray
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
        self.first_pairs = np.arange(mdp.n_states) * mdp.n_actions              # s·A
        self.first_pair = self.first_pairs.tolist()
        self.terminal = mdp.terminal.tolist()

    def walks(self, pi: np.ndarray, streams: list[UniformStream]) -> Walks:
        r"""Line 3 of PG_v1 and REINFORCE for m learners at once: one episode per stream, episode i
        under the policy table ``pi[i]``; ``pi`` (m, S, A), ``streams`` m of them."""
        pairs, last_states, lengths, ended = [], [], [], []
        for action_cdf, action_end, stream in zip(*self.policy_rows(pi), streams,
                                                  strict=False):
            walk_pairs, last_state, walk_ended = self.walk(action_cdf, action_end, stream)
            pairs += walk_pairs
            last_states.append(last_state)
            lengths.append(len(walk_pairs))
            ended.append(walk_ended)
        pairs = np.array(pairs, dtype=np.intp)
        lengths = np.array(lengths, dtype=np.intp)
        return Walks(pairs, self.rewards(pairs, lengths, last_states), lengths, np.array(ended))

    def episode(self, pi: np.ndarray, stream: UniformStream
                ) -> tuple[list[int], list[int], list[float], bool]:
        r"""(S₀ … S_{T−1}, A₀ … A_{T−1}, R₁ … R_T, ended) of one episode under the policy table
        ``pi`` (S, A), with the uniforms of ``stream``: the walk :meth:`walks` takes."""
        action_cdf, action_end = self.policy_rows(pi)
        pairs, last_state, ended = self.walk(action_cdf, action_end, stream)
        pairs = np.array(pairs, dtype=np.intp)
        states, actions = np.divmod(pairs, self.n_actions)
        rewards = self.rewards(pairs, np.array([pairs.size]), [last_state])
        return states.tolist(), actions.tolist(), rewards.tolist(), ended

    def policy_rows(self, pi: np.ndarray) -> tuple[list, list]:
        r"""What :meth:`walk` needs of policy tables π (…, S, A): for each table, the partial
        sums π(0|s), π(0|s) + π(1|s), … of every state, in pair order s·A + a (one flat list),
        and for each state the pair s·A + ℓ(s) of its last action of non-zero probability."""
        cdf = np.cumsum(pi, axis=-1).reshape(*pi.shape[:-2], -1)
        return cdf.tolist(), (self.first_pairs + last_possible(pi)).tolist()

    def rewards(self, pairs: np.ndarray, lengths: np.ndarray, last_states: list[int]
                ) -> np.ndarray:
        r"""Rₜ₊₁ = r(Sₜ, Aₜ[, Sₜ₊₁]) (N,) of episodes stored flat as pairs Sₜ·A + Aₜ (N,), with
        their ``lengths`` (m,) and S_T of each in ``last_states`` (m)."""
        rewards = self.mdp.rewards
        if rewards.ndim == 2:
            return rewards.ravel()[pairs]
        following = np.empty_like(pairs)                  # Sₜ₊₁: the next row's Sₜ, or S_T
        following[:-1] = pairs[1:] // self.n_actions
        following[np.cumsum(lengths) - 1] = last_states   # every walk has T ≥ 1 steps
        return rewards.reshape(-1, rewards.shape[2])[pairs, following]

    def walk(self, action_cdf: list[float], action_end: list[int], stream: UniformStream
             ) -> tuple[list[int], int, bool]:
        r"""(Sₜ·A + Aₜ for t = 0 … T − 1, S_T, ended) of one episode under the policy given by
        :meth:`policy_rows` (``action_cdf``: its partial sums in pair order; ``action_end[s]``:
        the pair of the last action of non-zero probability in s), with the uniforms of
        ``stream``: Aₜ is the pair s·A + a that ``bisect_right`` finds among the first ℓ(s) of
        s's sums; Sₜ₊₁ the state it finds among the transition's, unless the transition is
        certain (its uniform is then skipped)."""
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
            if len(u) - i < 2:                          # both uniforms of the step, or refill
                stream.position = i
                stream.refill()
                u, i = stream.values, 0
            # the next n steps: both uniforms of each are in the stream, and n ≤ the steps left
            n = min((len(u) - i) // 2, self.max_steps - len(pairs))
            for j in range(i, i + 2 * n, 2):
                pair = bisect_right(action_cdf, u[j], first_pair[state],
                                    action_end[state])                      # Aₜ ∼ π(·|Sₜ)
                state = certain[pair]
                if state < 0:
                    state = bisect_right(next_state[pair], u[j + 1])       # Sₜ₊₁ ∼ p(·|Sₜ, Aₜ)
                add_pair(pair)
                if terminal[state]:
                    stream.position = j + 2
                    return pairs, state, True
            i += 2 * n
        stream.position = i
        return pairs, state, False


def cumulative_rows(probabilities: np.ndarray) -> list:
    r"""For each row p of ``probabilities`` (n,) or (N, n): the partial sums p₀, p₀ + p₁, …
    before the row's last index of non-zero probability ℓ (ℓ sums), as (nested) lists."""
    sums = np.cumsum(probabilities, axis=-1).tolist()
    lasts = last_possible(probabilities).tolist()
    if probabilities.ndim == 1:
        return sums[:lasts]
    return [row[:last] for row, last in zip(sums, lasts, strict=True)]
