r"""The theorem's weights n(s) π(a|s) A(s, a) where the differences of values they need are far
below the values: v in double-double, and the data's effect on v bounded through the adjoint.

The policy gradient theorem needs A(s, a) = Σ_b π(b|s)(q(s, a) − q(s, b)), and
q(s, a) − q(s, b) = (r(s, a) − r(s, b)) + γ(P_a − P_b)v, a difference of values. Where the exit
is far away and rarely reached, neighbouring values agree to many digits (a 20-state corridor
drifting away from its exit: v ≈ −1e8 and v(1) − v(0) ≈ 3.3 at γ = 1; v ≈ −10 and differences
of 1e−4 at γ = 0.9 under the uniform policy), and two bounds that are relative to v itself hide
the difference: the solve's rounding and the effect of the chain's data (π rounded, products
γπp) on v, about 2nδ|v| with δ ≈ 1e−15. Here

- v is solved by GTH elimination in double-double (:mod:`pgref.exact.doubled_gth`), 128n³ε²
  relative, and the differences (P_a − P_b)v are taken in double-double before rounding;
- the data's effect is bounded where it acts. To first order a perturbation δM of M = D − B and
  δb of b moves v by δv = M⁻¹(δb − δM v), and (δM v)(i) = δe(i) v(i) + Σ_j δB(i, j)(v(i) − v(j)):
  with relative errors at most δ in B and e, |δM v| ≤ δ w, w(i) = e(i)|v(i)| +
  Σ_j B(i, j)|v(i) − v(j)| — differences again, not values. The theorem's sum uses v only
  through γ L_kᵀ v, with L_k(s′) = Σ_{s,a} n(s) π(a|s) ψ_k(s, a) p(s′|s, a) (ψ = ∇ log π;
  the P̄ v part of A = Σ_b π_b (q_a − q_b) drops out since Σ_a π(a|s) ψ(s, a) = 0, the
  log-derivative trick's expectation), so the data move component k by at most
  |z_k|ᵀ(δ w + ‖δb‖_∞ 1) with z_k = M⁻ᵀ L_k: one transposed solve per component of θ, in
  double-double too (z is itself a small difference of two large visit counts).

The data's rounding: read from a float64 policy table, δ is a few ε, and that bound can exceed
1e−9 of ∇𝒥 where the exit is far away (40 states in a row at γ = 0.9 under the uniform policy:
4.5e−8 of it). For a softmax-linear policy over a feature table, B, e and r_π are computed from
θ in double-double instead (:mod:`pgref.exact.doubled_chain`, δ of order 1e−28), which answers
that corridor and the same at 60 states.

What this path still refuses — a ∇𝒥 whose differences of values are below 1e9 × 128n³ε²|v|,
GTH's a-priori bound in double-double (beyond about 31 digits: 60 states at γ = 1 with
π(right) = 0.3, v ≈ −5e22 and q-gaps of 10/3; 100 states at γ = 0.9 uniform, ∇𝒥 ≈ 4e−18
against v ≈ −10), and, for other policies (an MLP), a ∇𝒥 below 1e9 times the float64 data's
bound — goes to the decimal enclosure of :mod:`pgref.exact.enclosure` where the policy is
softmax-linear or a tanh MLP.
"""

from __future__ import annotations

import numpy as np

from pgref.exact import doubled, doubled_chain, doubled_gth
from pgref.exact.doubled_chain import DoubledChain
from pgref.exact.solver import (
    EPS,
    TINY,
    PrecisionError,
    Solution,
    sum_rounding,
)
from pgref.mdp import TabularMDP

__all__ = ["action_value_differences", "adjoint_bound_of", "doubled_values", "future_values",
           "theorem_weights"]


def doubled_values(mdp: TabularMDP, chain, data: DoubledChain | None = None) -> tuple:
    """v_π (Bellman equation, M v = r_π; lecture: "Policy Gradient Theorem") on all S states as a
    pair of arrays (S,) each (0 on terminal states), the entrywise bound (S,) of its solve's error
    (the data taken as exact), and ‖δr_π‖_∞ (float). ``data``: the factors and r_π
    (default: :func:`pgref.exact.doubled_chain.from_system`)."""
    data = doubled_chain.from_system(mdp, chain) if data is None else data
    index = chain.system.index
    r_hi, r_lo = data.rewards
    positive, negative = r_hi > 0, r_hi < 0
    columns = (np.column_stack([np.where(positive, r_hi, 0.0), np.where(negative, -r_hi, 0.0)]),
               np.column_stack([np.where(positive, r_lo, 0.0), np.where(negative, -r_lo, 0.0)]))
    parts = doubled_gth.solve(data.work, data.pivots, columns, False)
    if not doubled_gth.within_range(data.work, data.pivots, parts):
        raise PrecisionError("the values v_π leave double-double's range (1e−290 … 1e290)")
    live = doubled.add((parts[0][:, 0], parts[1][:, 0]),
                       doubled.negate((parts[0][:, 1], parts[1][:, 1])))
    split = parts[0][:, 0] + parts[0][:, 1]                                  # M⁻¹|b|
    values = (np.zeros(mdp.n_states), np.zeros(mdp.n_states))
    errors = np.zeros(mdp.n_states)
    values[0][index], values[1][index] = live
    errors[index] = (doubled_gth.relative_error(index.size) + 8.0 * EPS**2) * split
    return values, errors, data.reward_error


def future_values(mdp: TabularMDP, values, errors: np.ndarray, gamma: float):
    r"""q(s, a) − r(s, a) = γ Σ_s′ p(s′|s, a) v(s′) (lecture: "Policy Gradient Theorem") as a pair
    of arrays (S, A), and its entrywise error bound (S, A): γ p δv plus the
    double-double products, sum and factor γ, (12 + 4⌈log₂(S + 1)⌉)ε² γ p|v|."""
    n_states, n_actions = mdp.n_states, mdp.n_actions
    flat = mdp.transitions.reshape(n_states * n_actions, n_states)
    product = doubled.two_product(flat, values[0][None, :])
    total = doubled.total((product[0], product[1] + flat * values[1][None, :]), axis=1)
    future = doubled.multiply(total, (np.full(total[0].shape, gamma), np.zeros(total[0].shape)))
    rounds = 12.0 + 4.0 * np.ceil(np.log2(n_states + 1))
    error = gamma * (flat @ (errors + rounds * EPS**2 * np.abs(values[0])))
    shape = (n_states, n_actions)
    return (future[0].reshape(shape), future[1].reshape(shape)), error.reshape(shape)


def action_value_differences(mdp: TabularMDP, future, future_error: np.ndarray):
    r"""q(s, a) − q(s, b) = (r_a − r_b) + (F_a − F_b) (S, A, A), F = γ p v from
    :func:`future_values`, taken in double-double and rounded once, and its entrywise error
    bound (S, A, A). These differences make A(s, a) = Σ_b π(b|s)(q(s, a) − q(s, b)). Rewards
    r(s, a, s′) enter through r(s, a) in double-double
    (:func:`pgref.exact.doubled_chain.expected_rewards`), their errors and the rounding
    4ε²(|r_a| + |r_b|) of r_a − r_b added (exact for rewards r(s, a))."""
    (r, r_lo), r_error = doubled_chain.expected_rewards(mdp)
    gaps = doubled.add((r[:, :, None], r_lo[:, :, None]),
                       doubled.negate((r[:, None, :], r_lo[:, None, :])))
    f_hi, f_lo = future
    spread = doubled.add((f_hi[:, :, None], f_lo[:, :, None]),
                         doubled.negate((f_hi[:, None, :], f_lo[:, None, :])))
    difference = doubled.add(gaps, spread)
    value = difference[0]                # a renormalised pair rounds to its high part
    size = np.abs(r[:, :, None] - r[:, None, :]) + np.abs(f_hi[:, :, None]) + np.abs(
        f_hi[:, None, :])
    error = (future_error[:, :, None] + future_error[:, None, :] + 12.0 * EPS**2 * size
             + EPS * np.abs(value) + r_error[:, :, None] + r_error[:, None, :]
             + 4.0 * EPS**2 * (np.abs(r[:, :, None]) + np.abs(r[:, None, :])))
    return value, error


def adjoint_bound_of(mdp: TabularMDP, chain, values, weights_pi: np.ndarray,
                     scores: np.ndarray, data: DoubledChain) -> float:
    r"""max over k of |z_k|ᵀ(δ w + ‖δb‖_∞ 1) — the data's first-order effect on component k of
    ∇𝒥 = Σ n π A ψ through v (``values``: a pair (S,); ``weights_pi`` = n π (S, A); ``scores`` ψ
    (S, A, K)) — with z_k = M⁻ᵀ L_k = M⁻ᵀL⁺ − M⁻ᵀL⁻ from GTH in double-double (|z|
    bounded by |ẑ| plus (128n³ε² + 8ε²) M⁻ᵀ|L̂| plus M⁻ᵀ of the rounding of L̂) and w from the
    double-double values; δ and ‖δb‖_∞ are ``data``'s bounds. Relative errors of ε or 128n³ε²
    in |ẑ| or w move the bound by as much, relatively: second order, left out."""
    system = chain.system
    index = system.index
    n_live = index.size
    n_states, n_actions, n_params = scores.shape
    coefficients = weights_pi[:, :, None] * scores                         # n π ψ, (S, A, K)
    flat = mdp.transitions.reshape(n_states * n_actions, n_states)[:, index]
    adjoint = chain.gamma * (coefficients.reshape(-1, n_params).T @ flat)   # L_k on N, (K, n)
    rounding = chain.gamma * (sum_rounding(n_states * n_actions) + (n_actions + 6) * EPS) * (
        np.abs(coefficients).reshape(-1, n_params).T @ flat)
    work, pivots = data.work, data.pivots
    columns = np.concatenate([np.maximum(adjoint, 0.0), np.maximum(-adjoint, 0.0), rounding]).T
    hi, lo = doubled_gth.solve(work, pivots, columns, True)
    positive, negative, spread = np.split(hi, 3, axis=1)
    positive_lo, negative_lo, _ = np.split(lo, 3, axis=1)
    difference = doubled.add((positive, positive_lo), doubled.negate((negative, negative_lo)))
    eta = doubled_gth.relative_error(n_live) + 8.0 * EPS**2
    z_size = np.abs(difference[0]) + eta * (positive + negative) + spread
    v_live = values[0][index]
    gaps = np.abs((v_live[:, None] - v_live[None, :])
                  + (values[1][index][:, None] - values[1][index][None, :]))     # |v(i) − v(j)|
    w = system.exits * np.abs(v_live) + np.sum(system.off_diagonal() * gaps, axis=1)
    bound = z_size.T @ (data.data_error * w + data.reward_error)
    if not np.all(np.isfinite(bound)):
        raise PrecisionError("the data's effect on ∇𝒥 through v cannot be bounded (overflow)")
    return float(np.max(bound, initial=0.0))


def theorem_weights(mdp: TabularMDP, chain, scores: np.ndarray, visits: Solution,
                    data: DoubledChain | None = None) -> tuple:
    r"""n(s) π(a|s) A(s, a) (S, A), the weights of ∇𝒥 = Σ_s n(s) Σ_a π A ∇ log π (blog: "Policy
    gradient from the lens of Bellman"), with A from differences of double-double values; an
    entrywise bound (S, A) on their error without the data's effect on v; and that effect's
    bound on the sum Σ_{s,a} n π A ∇ log π (largest over the components of θ).

    Parameters
    ----------
    mdp : TabularMDP
    chain : pgref.exact.chain.Chain
        π and M for the values' γ.
    scores : ndarray, shape (S, A, n_params)
        ∇ log π_θ(a|s).
    visits : Solution
        The visit counts n on all states, certified, with entrywise errors.
    data : DoubledChain, optional
        M's double-double factors and r_π, with the bounds of their data: from θ in
        double-double (:func:`pgref.exact.doubled_chain.from_policy`) or, by default, from the
        float64 system.

    Returns
    -------
    weights, weight_bounds, adjoint_bound : ndarray (S, A), ndarray (S, A), float

    Raises
    ------
    PrecisionError
        Where double-double's range is left or the bound overflows.
    """
    pi = chain.pi
    data = doubled_chain.from_system(mdp, chain) if data is None else data
    values, errors, _ = doubled_values(mdp, chain, data)
    future, future_error = future_values(mdp, values, errors, chain.gamma)
    difference, difference_error = action_value_differences(mdp, future, future_error)
    advantage = np.einsum("sb,sab->sa", pi, difference)
    n_actions = pi.shape[1]
    rho = chain.system.policy_error
    advantage_error = (np.einsum("sb,sab->sa", pi, difference_error)
                       + np.einsum("sb,sab->sa", ((n_actions + 3) * EPS + rho) * pi,
                                   np.abs(difference)))
    n = visits.x[:, None]
    weights_pi = n * pi
    pi_a = pi * advantage
    spread = difference.max(axis=(1, 2))[:, None]                   # q_max − q_min
    lost = np.any(pi < TINY, axis=1, keepdims=True) * TINY * spread
    weight_bounds = (n * (pi * advantage_error + (rho + 4 * EPS) * np.abs(pi_a) + lost)
                     + visits.errors[:, None] * np.abs(pi_a))
    adjoint_bound = adjoint_bound_of(mdp, chain, values, weights_pi, scores, data)
    return n * pi_a, weight_bounds, adjoint_bound
