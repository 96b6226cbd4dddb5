"""Helpers shared by several test modules: small problems with known structure and the
statistics of the tests' thresholds. Import as ``from helpers import …`` (pytest puts this
folder on the path)."""

import math
import statistics

import numpy as np

from pgref import TabularMDP, envs


def drifting_corridor(n, gamma, reward=-1.0, p_right=0.3):
    """n states in a row and an exit on the right, ``reward`` per step (action 0: right, 1: left,
    left at state 0 stays); the MDP and the policy table π(right) = ``p_right`` everywhere."""
    transitions = np.zeros((n + 1, 2, n + 1))
    for s in range(n):
        transitions[s, 0, s + 1] = 1.0   # right
        transitions[s, 1, max(s - 1, 0)] = 1.0   # left
    transitions[n, :, n] = 1.0
    rewards = np.full((n + 1, 2), reward)
    rewards[n] = 0.0
    mdp = TabularMDP(transitions, rewards, np.eye(n + 1)[0], terminal=np.arange(n + 1) == n,
                     gamma=gamma)
    return mdp, np.tile([p_right, 1.0 - p_right], (n + 1, 1))


def layered_mdp(rng, n_live, n_actions, gamma):
    """:func:`pgref.envs.layered_mdp`'s MDP: every trajectory ends within n_live steps."""
    return envs.layered_mdp(rng, n_live, n_actions, gamma=gamma).mdp


def count_trajectories(mdp, pi, state):
    """The number of trajectories of positive probability from ``state`` (by recursion)."""
    if mdp.terminal[state]:
        return 1
    return sum(count_trajectories(mdp, pi, next_state)
               for action in range(mdp.n_actions) if pi[state, action] > 0
               for next_state in np.flatnonzero(mdp.transitions[state, action]))


def z_critical(false_failure: float) -> float:
    """The two-sided normal threshold whose exceedance probability is ``false_failure``."""
    return statistics.NormalDist().inv_cdf(1.0 - false_failure / 2.0)


def chi_square_quantile(probability: float, dof: int) -> float:
    """Wilson–Hilferty: χ²_dof quantile ≈ dof (1 − 2/(9 dof) + z √(2/(9 dof)))³."""
    z = statistics.NormalDist().inv_cdf(probability)
    c = 2.0 / (9.0 * dof)
    return dof * (1.0 - c + z * math.sqrt(c)) ** 3


class FixedUniforms(np.random.Generator):
    """A generator whose ``random(n)`` returns the given uniforms (then fails): draws by hand.

    A real ``np.random.Generator`` (the samplers refuse anything else) with ``random`` replaced,
    so a test can put u exactly on a cumulative probability or past a rounded total.
    """

    def __init__(self, *batches):
        super().__init__(np.random.PCG64(0))
        self.batches = [np.array(batch, dtype=float) for batch in batches]

    def random(self, size=None, dtype=np.float64, out=None):
        uniforms = self.batches.pop(0)
        assert uniforms.shape == (size,), f"asked for {size} uniforms, have {uniforms.shape}"
        return uniforms
