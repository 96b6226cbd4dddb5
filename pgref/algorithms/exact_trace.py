r"""The exact 𝒥(θ) of many policy tables at once: one batched linear solve per history.

The per-step loops record 𝒥(θ) after every episode of every run (up to 10⁵ values for a figure);
one stacked solve of the Bellman equation on the non-terminal block N,

    (I − γ P_NN) v_N = r_N,   𝒥 = Σ_{s∈N} p(s₀ = s) v(s)     (lecture: "Finding Loss")

with P_π(s, s′) = Σ_a π(a|s) p(s′|s, a) and r_π(s) = Σ_a π(a|s) r(s, a), gives them all. It is
the solve of :func:`pgref.exact.state_values`, stacked; the tests compare the two.
"""

from __future__ import annotations

import numpy as np

from pgref.mdp import TabularMDP

__all__ = ["CONDITION_LIMIT", "objectives"]

CONDITION_LIMIT = 1e6
r"""Largest condition number κ∞(I − γ P_NN) accepted: 𝒥 is then good to about κ·2⁻⁵² ≈ 2e−10
(relative); beyond it (a nearly non-terminating policy) 𝒥 is recorded as NaN, not guessed."""


def _solve_each(systems: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Stacked ``np.linalg.solve``; NaN for a system that LAPACK finds exactly singular."""
    try:
        return np.linalg.solve(systems, right)
    except np.linalg.LinAlgError:
        solution = np.full(right.shape, np.nan)
        for k, (system, rhs) in enumerate(zip(systems, right, strict=True)):
            try:
                solution[k] = np.linalg.solve(system, rhs)
            except np.linalg.LinAlgError:
                pass
        return solution


def objectives(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    r"""J = v_π(S₀) averaged over p(s₀) for a stack of policy tables.

    Parameters
    ----------
    mdp : TabularMDP
    pi : ndarray, shape (N, S, A)
        π(a|s) tables; a table with a non-finite entry (a stopped run) gives NaN.

    Returns
    -------
    J : ndarray, shape (N,)
        NaN where the table is not finite or κ∞(I − γ P_NN) > :data:`CONDITION_LIMIT`.

    Notes
    -----
    One stacked solve with two right-hand sides, r_π and 1: besides v_N it gives
    y = (I − γ P_NN)⁻¹ 1, the expected (discounted) number of steps from each state. The inverse
    of this M-matrix has no negative entry, so its ∞-norm is max_s y(s) and
    κ∞ = ‖I − γ P_NN‖∞ · max_s y(s) is exact, not an estimate; a computed y that is not finite
    or has an entry below 1 by more than rounding (1e−9; y = 1 + γ P_NN y ≥ 1) marks a solve
    float64 could not do.
    """
    acting = ~mdp.terminal
    P = mdp.transitions[acting][:, :, acting]                        # p(s′|s, a) on N
    pi_N = pi[:, acting]                                             # (N, |N|, A)
    P_pi = np.einsum("nsa,saz->nsz", pi_N, P)
    r_pi = np.einsum("nsa,sa->ns", pi_N, mdp.expected_rewards[acting])
    system = np.eye(P.shape[0]) - mdp.gamma * P_pi                   # I − γ P_NN
    J = np.full(pi.shape[0], np.nan)
    finite = np.all(np.isfinite(system), axis=(1, 2))
    right = np.stack([r_pi[finite], np.ones((int(finite.sum()), P.shape[0]))], axis=2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        solution = _solve_each(system[finite], right)                      # [v_N, y]
        v, y = solution[..., 0], solution[..., 1]
        # M = I − γP_NN is an M-matrix, M⁻¹ ≥ 0: ‖M⁻¹‖∞ = max_s y(s) with y = M⁻¹1 ≥ 1
        condition = np.abs(system[finite]).sum(axis=2).max(axis=1) * y.max(axis=1)
        certified = np.all(np.isfinite(solution), axis=(1, 2)) & np.all(y >= 1.0 - 1e-9, axis=1)
    J[np.flatnonzero(finite)[certified & (condition <= CONDITION_LIMIT)]] = (
        v[certified & (condition <= CONDITION_LIMIT)] @ mdp.initial[acting])
    return J
