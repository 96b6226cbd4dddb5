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


NORMAL = statistics.NormalDist()


POWER_Z = NORMAL.inv_cdf(0.999)
"""3.09: a shift of the statistic this far past a two-sided threshold makes a check fail with
probability ≥ 0.999 (its power against the bug that causes the shift)."""


def z_critical(false_failure: float) -> float:
    """The two-sided normal threshold whose exceedance probability is ``false_failure``."""
    return NORMAL.inv_cdf(1.0 - false_failure / 2.0)


def chi_square_tail(x: float, dof: int) -> float:
    """Pr(χ²_dof > x), exactly: a Poisson sum for even dof, erfc plus a series for odd dof."""
    half = x / 2.0
    if dof % 2 == 0:
        term = total = 1.0
        for j in range(1, dof // 2):
            term *= half / j
            total += term
        return math.exp(-half) * total
    total, term = 2.0 * (1.0 - NORMAL.cdf(math.sqrt(x))), math.sqrt(half) / math.gamma(1.5)
    for j in range((dof - 1) // 2):
        total += math.exp(-half) * term
        term *= half / (j + 1.5)
    return total


def chi_square_quantile(probability: float, dof: int) -> float:
    """The χ²_dof quantile: x with Pr(χ²_dof > x) = 1 − probability, by bisection."""
    low, high = 0.0, 10.0 * dof + 200.0
    for _ in range(200):
        middle = (low + high) / 2.0
        low, high = (middle, high) if chi_square_tail(middle, dof) > 1 - probability else (
            low, middle)
    return high


def noncentral_chi_square_tail(x: float, dof: int, noncentrality: float) -> float:
    """Pr(χ²_dof(λ) > x) = Σⱼ e^{−λ/2} (λ/2)ʲ / j! · Pr(χ²_{dof + 2j} > x), the Poisson weights
    summed to 12 standard deviations past their mean (the rest is below 1e−15). For λ > 1000 a
    lower bound instead, by Cantelli: mean dof + λ, variance 2(dof + 2λ)."""
    half = noncentrality / 2.0
    if half == 0.0:
        return chi_square_tail(x, dof)
    if half > 500.0:
        mean, variance = dof + noncentrality, 2.0 * (dof + 2.0 * noncentrality)
        return 0.0 if x >= mean else 1.0 - variance / (variance + (mean - x) ** 2)
    last = int(half + 12.0 * math.sqrt(half) + 40.0)
    return sum(math.exp(j * math.log(half) - half - math.lgamma(j + 1.0))
               * chi_square_tail(x, dof + 2 * j) for j in range(last + 1))


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
