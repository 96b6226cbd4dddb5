r"""The chain's data B, e and r_π in double-double, straight from θ, for the values' last resort.

:mod:`pgref.exact.value_differences` solves for v_π in double-double and bounds the effect of
the data's rounding on ∇𝒥 through the adjoint: |z_k|ᵀ(δ w + ‖δr_π‖_∞ 1), with δ the relative
error of the entries of B = γ P_NN (off the diagonal) and e (the exit mass), and z_k = M⁻ᵀL_k.
Read from a float64 policy table, δ is a few ε (the table's own rounding), and where the exit is
far away that bound can exceed 1e−9 of ∇𝒥 (40 states in a row at γ = 0.9 under the uniform
policy: 4.5e−8 of it). For a softmax-linear policy over a feature table the data can be
computed in double-double from θ itself, without a float64 table in between:

- the preferences h(s, a) = Σ_j x(s, a, j) θ_j, each product exact (Dekker's two-product), summed
  in double-double: error at most 4⌈log₂ J⌉ε² Σ_j |x(s, a, j) θ_j|;
- π(a|s) = e^{h(s, a) − m(s)} / Σ_b e^{h(s, b) − m(s)} with m(s) = max_b h(s, b) rounded
  (any shift gives the same softmax), the exponentials by :func:`pgref.exact.doubled.exp`:
  relative error ρ₂(s) = 2 max_a [δh(s, a) + (64 + 12|h(s, a) − m(s)|)ε²] + (4⌈log₂ A⌉ + 32)ε²,
  δh the preference's error plus the shift's rounding 4ε²(|h| + |m|);
- B(s, s′) = γ Σ_a π(a|s) p(s′|s, a), e(s) = Σ_a π(a|s)[(1 − γ) + γ Σ_{s′ terminal} p(s′|s, a)]
  and r_π(s) = Σ_a π(a|s) r(s, a), with p, r and γ the MDP's float64 numbers taken as exact (a
  row of p is taken to sum to 1, as in :func:`pgref.exact.solver.chain_system`), each a few
  products and sums of non-negative pairs: δ₂ = max ρ₂ + (22 + 4⌈log₂ A⌉ + 4⌈log₂(T + 1)⌉)ε²
  with T terminal states.

So δ₂ is of order 1e−28 instead of 1e−15: the adjoint bound shrinks by as much. Where some
preference gap exceeds 667 (a probability below 1e−290, whose low part would underflow) or a
datum leaves double-double's range, the float64 data are used as before.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref.exact import doubled, doubled_gth
from pgref.exact.certified import policy_rewards_of
from pgref.exact.enclosure import linear_features
from pgref.exact.solver import EPS
from pgref.mdp import TabularMDP

__all__ = ["DoubledChain", "expected_rewards", "from_policy", "from_system", "softmax_table"]

LARGEST_GAP = 667.0
"""Preference gaps h(s, a) − max_b h(s, b) below −667 give probabilities below 1e−290."""


class DoubledChain(NamedTuple):
    r"""M = D − B on the non-terminal states in GTH factors of double-double, r_π on them as a
    pair, and the bounds of the data they came from.

    Attributes
    ----------
    off_diagonal : pair of ndarray, shape (n, n)
        B = γ P_NN off the diagonal (0 on it).
    exits : pair of ndarray, shape (n,)
        e.
    work, pivots : pairs
        :func:`pgref.exact.doubled_gth.factor` of B and e.
    rewards : pair of ndarray, shape (n,)
        r_π on the non-terminal states.
    data_error : float
        δ, a bound on the relative error of every entry of B and e.
    reward_error : float
        ‖δr_π‖_∞.
    """

    off_diagonal: tuple
    exits: tuple
    work: tuple
    pivots: tuple
    rewards: tuple
    data_error: float
    reward_error: float


def _log2_ceiling(n: int) -> float:
    return float(np.ceil(np.log2(max(n, 1))))


def _pair(x: np.ndarray) -> tuple:
    return x, np.zeros_like(x)


def from_system(mdp: TabularMDP, chain) -> DoubledChain:
    """The double-double factors of the float64 system ``chain.system`` (its data rounded to a
    few ε: :meth:`pgref.exact.solver.ChainSystem.data_error`) and r_π in float64."""
    system = chain.system
    work, pivots = system.doubled_gth_factors()
    r_pi, r_error = policy_rewards_of(mdp, chain.pi, system.index, system.policy_error)
    return DoubledChain(_pair(system.off_diagonal()), _pair(system.exits), work, pivots,
                        _pair(r_pi), system.data_error(), r_error)


def expected_rewards(mdp: TabularMDP) -> tuple:
    r"""r(s, a) = Σ_s′ p(s′|s, a) r(s, a, s′) (lecture: the ℛ(s, a) of "Policy Gradient
    Theorem") as a pair of arrays (S, A) (the rewards themselves
    when they are r(s, a)), and an entrywise bound (S, A) on its error: 4⌈log₂ S⌉ε²
    Σ_s′ p|r| (exact products, summed in double-double), 0 for rewards r(s, a)."""
    rewards = np.asarray(mdp.rewards, dtype=float)
    if rewards.ndim == 2:
        return _pair(rewards.copy()), np.zeros(rewards.shape)
    expected = doubled.total(doubled.two_product(mdp.transitions, rewards), axis=2)
    sizes = np.einsum("saz,saz->sa", mdp.transitions, np.abs(rewards))
    return expected, 4.0 * _log2_ceiling(mdp.n_states) * EPS**2 * sizes


def softmax_table(features: np.ndarray, theta: np.ndarray):
    r"""π_θ(a|s) of a softmax-linear policy (lecture: "Example: Softmax") in double-double, for
    features (S, A, J) and θ (J,): a pair of arrays (S, A), and ρ₂
    (S,), the bound on the relative error of each entry of row s (module docstring); None where
    a preference gap exceeds 667.

    Parameters
    ----------
    features : ndarray, shape (S, A, J)
        x(s, a).
    theta : ndarray, shape (J,)
    """
    products = doubled.two_product(features, theta)                      # exact, (S, A, J)
    preferences = doubled.total(products, axis=2)                        # h, (S, A)
    preference_error = (4.0 * _log2_ceiling(features.shape[2]) * EPS**2
                        * np.abs(features * theta).sum(axis=2))
    top = preferences[0].max(axis=1, keepdims=True)                      # m(s), rounded
    gaps = doubled.add(preferences, _pair(-np.broadcast_to(top, preferences[0].shape)))
    if not np.all(gaps[0] >= -LARGEST_GAP):
        return None
    exponentials = doubled.exp(gaps)
    shift_error = 4.0 * EPS**2 * (np.abs(preferences[0]) + np.abs(top))
    exp_error = (doubled.EXP_ERROR + doubled.EXP_ERROR_PER_UNIT * np.abs(gaps[0])) * EPS**2
    normaliser = doubled.total(exponentials, axis=1)
    n_actions = features.shape[1]
    pi = doubled.divide(exponentials, (normaliser[0][:, None], normaliser[1][:, None]))
    rho = (2.0 * np.max(preference_error + shift_error + exp_error, axis=1)
           + (4.0 * _log2_ceiling(n_actions) + 32.0) * EPS**2)
    return pi, rho


def from_policy(mdp: TabularMDP, chain, policy, theta: np.ndarray) -> DoubledChain:
    r"""The chain's data from θ in double-double (module docstring) where ``policy`` is a
    :class:`pgref.SoftmaxLinearPolicy` over a feature table and every datum stays in
    double-double's range; :func:`from_system` otherwise."""
    features = linear_features(policy)
    if features is None:
        return from_system(mdp, chain)
    table = softmax_table(features, theta)
    if table is None:
        return from_system(mdp, chain)
    (pi_hi, pi_lo), rho = table
    index = chain.system.index
    gamma = float(chain.gamma)
    terminal = np.flatnonzero(mdp.terminal)
    pi = (pi_hi[index][:, :, None], pi_lo[index][:, :, None])           # (n, A, 1)
    live = mdp.transitions[np.ix_(index, np.arange(mdp.n_actions), index)]  # (n, A, n)
    moved = doubled.total(doubled.multiply(pi, _pair(live)), axis=1)      # Σ_a π p, (n, n)
    off_diagonal = doubled.multiply(moved, _pair(np.full(moved[0].shape, gamma)))
    for part in off_diagonal:
        np.fill_diagonal(part, 0.0)                       # a self-loop cancels in M's row
    to_terminal = doubled.total(_pair(mdp.transitions[index][:, :, terminal]), axis=2)
    exit_per_action = doubled.add(doubled.two_sum(np.ones(to_terminal[0].shape), -gamma),
                                  doubled.multiply(_pair(np.full(to_terminal[0].shape, gamma)),
                                                   to_terminal))            # (1 − γ) + γτ
    exits = doubled.total(doubled.multiply((pi[0][:, :, 0], pi[1][:, :, 0]), exit_per_action),
                          axis=1)
    expected, expected_error = expected_rewards(mdp)
    expected = (expected[0][index], expected[1][index])
    r_pi = doubled.total(doubled.multiply((pi[0][:, :, 0], pi[1][:, :, 0]), expected), axis=1)
    if not doubled_gth.within_range(off_diagonal, exits, r_pi, (pi_hi, pi_lo)):
        return from_system(mdp, chain)
    n_actions = mdp.n_actions
    largest_rho = float(rho[index].max(initial=0.0))
    data_error = largest_rho + (22.0 + 4.0 * _log2_ceiling(n_actions)
                                + 4.0 * _log2_ceiling(terminal.size + 1)) * EPS**2
    reward_rounding = (12.0 + 4.0 * _log2_ceiling(n_actions)) * EPS**2
    reward_error = float((pi_hi[index] * ((rho[index][:, None] + reward_rounding)
                                          * np.abs(expected[0]) + expected_error[index])
                          ).sum(axis=1).max(initial=0.0))
    work, pivots = doubled_gth.factor(off_diagonal, exits)
    return DoubledChain(off_diagonal, exits, work, pivots, r_pi, data_error, reward_error)
