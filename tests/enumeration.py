r"""Every trajectory of a small MDP, with its probability: exact expectations by brute force.

The lecture's J(θ) = Σ_τ p_π(τ) G(τ) and ∇J(θ) = Σ_τ p_π(τ) G(τ) ∇ log p_π(τ) are sums over
trajectories. For an MDP whose episodes end fast, the trajectories can be listed one by one up
to a length where the probability of not having ended yet is below a tolerance; then the mean
and covariance of ANY per-episode quantity (a library estimator's per-episode term, or a bugged
one) is a probability-weighted sum over the list. No recursion and no linear solve is shared
with :mod:`pgref.exact`, which makes it an independent route.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref.mdp import TabularMDP
from pgref.rollout import Episodes


class EnumeratedEpisodes(NamedTuple):
    """All episodes of probability ≥ ``smallest`` and their probabilities p_π(τ)."""

    episodes: Episodes
    probabilities: np.ndarray  # (K,), sums to 1 − missing_mass
    missing_mass: float  # episodes still running at the last length, or dropped as too unlikely

    def mean(self, per_episode: np.ndarray) -> np.ndarray:
        """Σ_τ p(τ) x(τ)."""
        return self.probabilities @ per_episode

    def cross_variance(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Σ_τ p(τ) (xᵢ(τ) − x̄ᵢ)(yᵢ(τ) − ȳᵢ) for each column i: the diagonal only."""
        return self.probabilities @ ((first - self.mean(first)) * (second - self.mean(second)))

    def covariance(self, per_episode: np.ndarray) -> np.ndarray:
        """Σ_τ p(τ) (x(τ) − x̄)(x(τ) − x̄)ᵀ."""
        centred = per_episode - self.mean(per_episode)
        return centred.T @ (self.probabilities[:, None] * centred)


def enumerate_episodes(mdp: TabularMDP, pi: np.ndarray, tolerance: float = 1e-12,
                       smallest: float = 1e-18, max_episodes: int = 400_000):
    r"""List every episode S₀, A₀, R₁, S₁, … of π on ``mdp`` until < ``tolerance`` mass is left.

    Prefixes are extended one step at a time by every (a, s′) with π(a|s) p(s′|s, a) > 0;
    those reaching a terminal state are finished episodes. Prefixes less likely than
    ``smallest`` are dropped and their mass counted as missing. Raises AssertionError when the
    MDP is too large to list (more than ``max_episodes``) or the missing mass exceeds the
    tolerance.
    """
    n_states = mdp.n_states
    rewards = mdp.rewards if mdp.rewards.ndim == 3 else np.repeat(
        mdp.rewards[:, :, None], n_states, axis=2)
    start = np.flatnonzero(mdp.initial > 0)
    paths_s, paths_a, paths_r = start[:, None], np.zeros((start.size, 0), int), np.zeros(
        (start.size, 0))
    probability = mdp.initial[start]
    finished, dropped = [], 0.0
    while probability.size:
        current = paths_s[:, -1]
        step = pi[current][:, :, None] * mdp.transitions[current]  # (N, A, S)
        path, action, next_state = np.nonzero(step > 0)
        new_probability = probability[path] * step[path, action, next_state]
        keep = new_probability >= smallest
        dropped += new_probability[~keep].sum()
        path, action, next_state = path[keep], action[keep], next_state[keep]
        new_probability = new_probability[keep]
        states = paths_s[path]
        actions = np.column_stack([paths_a[path], action])
        reward = np.column_stack([paths_r[path], rewards[states[:, -1], action, next_state]])
        ends = mdp.terminal[next_state]
        finished.append((states[ends], actions[ends], reward[ends], new_probability[ends]))
        paths_s = np.column_stack([states[~ends], next_state[~ends]])
        paths_a, paths_r, probability = actions[~ends], reward[~ends], new_probability[~ends]
        assert sum(f[3].size for f in finished) + probability.size <= max_episodes, \
            "too many trajectories to enumerate"
        if probability.sum() + dropped < tolerance:
            dropped += probability.sum()
            break
    assert dropped < tolerance, f"{dropped} of the probability is not enumerated"
    lengths = np.concatenate([np.full(block[3].size, block[0].shape[1]) for block in finished])
    episodes = Episodes(*(np.concatenate([block[i].reshape(-1) for block in finished])
                          for i in range(3)), lengths, np.zeros(lengths.size, bool))
    probabilities = np.concatenate([block[3] for block in finished])
    return EnumeratedEpisodes(episodes, probabilities, float(dropped))


def fast_ending_mdp(rng: np.random.Generator, n_live: int, n_actions: int, gamma: float,
                    end_probability: tuple[float, float] = (0.9, 0.97)) -> TabularMDP:
    r"""A random MDP with few trajectories worth listing.

    Each live (s, a) ends the episode with a probability drawn from ``end_probability`` (into
    one of two terminal states, chosen at random) or moves to one live state drawn at random;
    rewards r(s, a, s′) are N(0, 1) per transition, so the reward depends on the next state.
    """
    n_states = n_live + 2
    transitions = np.zeros((n_states, n_actions, n_states))
    for s in range(n_live):
        for a in range(n_actions):
            end = rng.uniform(*end_probability)
            split = rng.uniform()
            transitions[s, a, n_live] = end * split
            transitions[s, a, n_live + 1] = end * (1 - split)
            transitions[s, a, rng.integers(n_live)] += 1 - end
    for terminal in (n_live, n_live + 1):
        transitions[terminal, :, terminal] = 1.0
    rewards = rng.standard_normal((n_states, n_actions, n_states))
    rewards[n_live:] = 0.0
    initial = np.zeros(n_states)
    initial[:n_live] = rng.dirichlet(np.ones(n_live))
    terminal = np.arange(n_states) >= n_live
    return TabularMDP(transitions, rewards, initial, gamma=gamma, terminal=terminal)
