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
differently. The walk itself is plain Python over lists: for the few states and actions of a
tabular problem that is several times faster per step than any NumPy call.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref.mdp import TabularMDP
from pgref.policies.discrete import last_possible

__all__ = ["TabularWalker", "UniformStream", "Walks", "last_possible", "rewards_to_go"]


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


class TabularWalker:
    r"""Samples episodes of one tabular MDP under policy tables π (S, A), cut at ``max_steps``.

    Parameters
    ----------
    mdp : TabularMDP
    max_steps : int
        An episode that has not reached a terminal state after this many steps is returned
        with ``ended=False``.
    """

    def __init__(self, mdp: TabularMDP, max_steps: int):
        self.max_steps = max_steps
        self.n_actions = mdp.n_actions
        self.initial = np.cumsum(mdp.initial).tolist()
        self.initial_last = int(last_possible(mdp.initial))
        self.next_state = np.cumsum(mdp.transitions, axis=2).tolist()   # [s][a] → CDF over s′
        self.next_state_last = last_possible(mdp.transitions).tolist()
        # s′ where p(·|s, a) is one state (the draw then needs no search), −1 elsewhere
        self.certain = np.where(mdp.transitions.max(axis=2) == 1.0,
                                mdp.transitions.argmax(axis=2), -1).tolist()
        self.rewards = mdp.rewards.tolist()                             # [s][a] or [s][a][s′]
        self.per_transition = mdp.rewards.ndim == 3
        self.terminal = mdp.terminal.tolist()

    def walks(self, pi: np.ndarray, streams: list[UniformStream]) -> Walks:
        r"""One episode per stream, episode i under the policy table ``pi[i]`` (S, A)."""
        action_cdf, action_last = np.cumsum(pi, axis=2).tolist(), last_possible(pi).tolist()
        states, actions, rewards, lengths, ended = [], [], [], [], []
        for cdf, last, stream in zip(action_cdf, action_last, streams, strict=False):
            walk = self.episode(cdf, last, stream)
            states += walk[0]
            actions += walk[1]
            rewards += walk[2]
            lengths.append(len(walk[0]))
            ended.append(walk[3])
        return Walks(np.array(states, dtype=np.intp), np.array(actions, dtype=np.intp),
                     np.array(rewards), np.array(lengths, dtype=np.intp), np.array(ended))

    def episode(self, action_cdf: list[list[float]], action_last: list[int],
                stream: UniformStream) -> tuple[list[int], list[int], list[float], bool]:
        r"""(S₀ … S_{T−1}, A₀ … A_{T−1}, R₁ … R_T, ended) under the policy whose cumulative
        table is ``action_cdf`` [s][a] (``action_last[s]``: its last action of non-zero
        probability), with the uniforms of ``stream``."""
        next_state, next_last, certain = self.next_state, self.next_state_last, self.certain
        reward_table, per_transition, terminal = self.rewards, self.per_transition, self.terminal
        states, actions, rewards = [], [], []
        add_state, add_action, add_reward = states.append, actions.append, rewards.append
        if stream.position + 1 > len(stream.values):
            stream.refill()
        u, i = stream.values, stream.position
        state, row, last = 0, self.initial, self.initial_last
        while state < last and row[state] <= u[i]:                      # S₀ ∼ p(s₀)
            state += 1
        i += 1
        end = len(u) - 2                                                # last i with 2 left
        for _t in range(self.max_steps):
            if i > end:
                stream.position = i
                stream.refill()
                u, i, end = stream.values, 0, len(stream.values) - 2
            action, row, last = 0, action_cdf[state], action_last[state]
            while action < last and row[action] <= u[i]:                # Aₜ ∼ π(·|Sₜ)
                action += 1
            following = certain[state][action]
            if following < 0:                                           # Sₜ₊₁ ∼ p(·|Sₜ, Aₜ)
                following, row = 0, next_state[state][action]
                last = next_last[state][action]
                while following < last and row[following] <= u[i + 1]:
                    following += 1
            i += 2
            reward = reward_table[state][action]                        # Rₜ₊₁
            add_state(state)
            add_action(action)
            add_reward(reward[following] if per_transition else reward)
            if terminal[following]:
                stream.position = i
                return states, actions, rewards, True
            state = following
        stream.position = i
        return states, actions, rewards, False
