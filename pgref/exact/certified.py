r"""Certified pieces of the exact solves: v, n, q and A with bounds on their errors, and the
rules that turn a bound into a returned value or a :class:`PrecisionError`.

Each piece returns its value with a bound on ‖x̂ − x‖_∞ (or entrywise); :func:`certify` and
:func:`certify_array` accept it when the bound is at most 1e−9 of the value's size, and
otherwise raise a PrecisionError that names the states where episodes last longest and the
smallest action probabilities there. :func:`accurately_if_needed` retries a computation on the
accurate path (GTH elimination) when the fast path's bound is too loose for it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref.exact import enclosure
from pgref.exact.solver import (
    EPS,
    RELATIVE_TOLERANCE,
    PrecisionError,
    Solution,
    policy_relative_error,
    solve,
    sum_rounding,
)
from pgref.mdp import TabularMDP

__all__ = [
    "ActionValues",
    "Advantages",
    "accurately_if_needed",
    "action_values_of",
    "advantages_of",
    "certify",
    "certify_array",
    "expected_reward_errors",
    "on_all_states",
    "or_enclosure",
    "policy_rewards_of",
    "solve_values",
    "solve_visits",
]


def _smallest_probabilities(pi: np.ndarray, states: np.ndarray, count: int = 3) -> str:
    """'π(a = 1 | s = 2) = 4.1e-18, …' for the smallest positive entries of the given rows."""
    rows = pi[states]
    masked = np.where(rows > 0, rows, np.inf)
    order = np.argsort(masked, axis=None)[:count]
    parts = []
    for flat in order:
        row, action = np.unravel_index(flat, rows.shape)
        if np.isfinite(masked[row, action]):
            parts.append(f"π(a = {action} | s = {int(states[row])}) = {rows[row, action]:.2g}")
    return ", ".join(parts)


def certify(solved, solution: Solution, what: str, bound: float | None = None,
            size: float | None = None) -> None:
    r"""Raise :class:`PrecisionError` unless ``bound`` ≤ RELATIVE_TOLERANCE · ``size``.

    ``solved`` is a :class:`pgref.exact.chain.Chain` (its π, γ and system). ``bound`` and
    ``size`` default to the solution's error bound and ‖x̂‖_∞. The message names
    the states where episodes last longest, how long, and the smallest action probabilities
    there (the usual cause).
    """
    bound = solution.bound if bound is None else bound
    size = float(np.abs(solution.x).max(initial=0.0)) if size is None else size
    if np.isfinite(size) and bound <= RELATIVE_TOLERANCE * size:
        return
    index = solved.system.index
    lengths = solution.lengths
    order = np.argsort(-np.where(np.isnan(lengths), np.inf, lengths))[:3]
    worst = index[order]
    longest = float(lengths[order[0]]) if lengths.size else 0.0
    discounted = " (γ-discounted)" if solved.gamma < 1.0 else ""
    if not np.isfinite(size) or not np.isfinite(bound) or not np.isfinite(longest):
        why = (f"{what} exceed float64's range (about 1.8e308), or the elimination underflowed "
               f"to a zero pivot")
    else:
        why = (f"{what} cannot be certified to relative error {RELATIVE_TOLERANCE:g} in "
               f"float64 (error bound {bound:.2g} against a size of {size:.2g})")
    length = (f"about {longest:.2g} steps{discounted}" if np.isfinite(longest)
              else "more steps than float64 can count (over 1.8e308)")
    raise PrecisionError(
        f"{why}: from state s = {int(worst[0])} episodes last {length}, and the smallest "
        f"action probabilities there are "
        f"{_smallest_probabilities(solved.pi, worst)}. Use a less extreme θ (a policy further "
        f"from deterministic) or a discount gamma < 1",
        worst,
    )


def accurately_if_needed(compute):
    r"""``compute(False)``; if its certificate fails, ``compute(True)`` (GTH elimination).

    The fast path's error bound is normwise, ‖M⁻¹‖·O(ε)·‖x‖; quantities built from
    differences of values (q, A, ∇𝒥) near γ = 1 need the accurate path's smaller bound.
    """
    try:
        return compute(False)
    except PrecisionError:
        return compute(True)


def or_enclosure(compute, enclose):
    r"""``compute()``; where float64 and double-double cannot certify it (:class:`PrecisionError`),
    ``enclose()``, the same quantity enclosed in decimal interval arithmetic
    (:mod:`pgref.exact.enclosure`), unless that returns None: then the refusal, with the
    enclosure's limits added."""
    try:
        return compute()
    except PrecisionError as refused:
        enclosed = enclose()
        if enclosed is None:
            raise PrecisionError(f"{refused} (beyond double-double too; {enclosure.LIMITS})",
                                 refused.states) from None
        return enclosed


def certify_array(what: str, value: np.ndarray, bound: float) -> None:
    """Raise :class:`PrecisionError` unless ‖value − exact‖_∞ ≤ ``bound`` ≤ tolerance·‖value‖_∞;
    a value that is 0 in every entry with a positive bound (advantages of tied actions) is
    refused with a message that says so."""
    size = float(np.max(np.abs(value), initial=0.0))
    if np.isfinite(size) and bound <= RELATIVE_TOLERANCE * size:
        return
    if size == 0.0 and np.isfinite(bound):
        raise PrecisionError(
            f"{what} compute to 0 in every entry, and a 0 cannot be certified to a relative "
            f"error, only to the absolute error bound {bound:.2g}: for the advantages, the "
            "actions tie in every state (as when all actions share their moves and rewards). "
            "exact.action_values(mdp, pi) shows the ties"
        )
    raise PrecisionError(
        f"{what} cannot be certified to relative error {RELATIVE_TOLERANCE:g} in float64 "
        f"(error bound {bound:.2g} against a size of {size:.2g}): the differences between "
        "actions are below the rounding error of the values. Use a less extreme θ or a "
        "discount gamma < 1"
    )


def solve_values(mdp: TabularMDP, solved, what: str = "the values v_π",
                 accurate: bool = False) -> Solution:
    r"""v_π on all states (0 on terminal ones) from M v_N = r_N, certified.

    The returned Solution's ``x`` has shape (S,). ``accurate`` forces GTH elimination.
    """
    index = solved.system.index
    r_pi, r_error = policy_rewards_of(mdp, solved.pi, index, solved.system.policy_error)
    solution = solve(solved.system, r_pi, rhs_error=r_error, accurate=accurate)
    certify(solved, solution, what)
    return on_all_states(mdp, index, solution)


def expected_reward_errors(mdp: TabularMDP) -> np.ndarray:
    r"""A bound (S, A) on the rounding error of ``mdp.expected_rewards``: 0 for rewards r(s, a);
    for rewards r(s, a, s′), (S + 1)ε Σ_s′ p(s′|s, a)|r(s, a, s′)|, the worst case of a sum of S
    rounded products (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1)."""
    if mdp.rewards.ndim == 2:
        return np.zeros(mdp.rewards.shape)
    return (mdp.n_states + 1) * EPS * np.einsum("saz,saz->sa", mdp.transitions,
                                                np.abs(mdp.rewards))


def policy_rewards_of(mdp: TabularMDP, pi: np.ndarray, index: np.ndarray,
                      policy_error: np.ndarray | None = None) -> tuple:
    r"""r_π(s) = Σ_a π(a|s) r(s, a) on the states ``index``, and a bound on its error,
    max_s Σ_a π(a|s) [(ρ(s, a) + (A + 1)ε) |r(s, a)| + δr(s, a)] (ρ: the policy table's own
    error ``policy_error``, default :func:`~pgref.exact.solver.policy_relative_error`; δr:
    :func:`expected_reward_errors`)."""
    rho = policy_relative_error(pi) if policy_error is None else policy_error
    pi, rewards, rho = pi[index], mdp.expected_rewards[index], rho[index]
    rho = rho + (mdp.n_actions + 1) * EPS
    errors = rho * np.abs(rewards) + expected_reward_errors(mdp)[index]
    r_error = float(np.einsum("sa,sa->s", pi, errors).max(initial=0.0))
    return np.einsum("sa,sa->s", pi, rewards), r_error


def solve_visits(mdp: TabularMDP, solved, what: str = "the visit counts n",
                 accurate: bool = False) -> Solution:
    r"""n on all states (0 on terminal ones) from Mᵀ n_N = p₀,N, certified (GTH if accurate)."""
    index = solved.system.index
    solution = solve(solved.system, mdp.initial[index], transpose=True, accurate=accurate)
    certify(solved, solution, what)
    return on_all_states(mdp, index, solution)


def on_all_states(mdp: TabularMDP, index: np.ndarray, solution: Solution) -> Solution:
    """The solution on the non-terminal states ``index`` as one on all S states: x and its
    errors 0 on the terminal ones (exactly)."""
    x, errors = np.zeros(mdp.n_states), np.zeros(mdp.n_states)
    x[index], errors[index] = solution.x, solution.errors
    return solution._replace(x=x, errors=errors)


class ActionValues(NamedTuple):
    """q_π (S, A) with a bound on ‖q̂ − q‖_∞, and its parts r (S, A) and γ E[v(S′)|s, a] (S, A),
    the latter with an entrywise bound on its error (S, A)."""

    q: np.ndarray
    bound: float
    rewards: np.ndarray
    discounted_next: np.ndarray
    next_errors: np.ndarray
    reward_errors: np.ndarray


def action_values_of(mdp: TabularMDP, values: Solution) -> ActionValues:
    r"""q = r + γ Σ_s′ p(s′|s, a) v(s′), as one (S·A, S) product, with its error bound.

    The error of γ Σ_s′ p v at (s, a) is at most γ Σ_s′ p(s′|s, a) δv(s′) (δv the values'
    entrywise errors) plus the rounding of the product,
    :func:`pgref.exact.solver.sum_rounding` (S) times γ Σ_s′ p(s′|s, a)|v(s′)|; q's bound is the
    largest of these plus the rounding of the sum r + γ p v, ε max|q|, plus the largest
    rounding of r itself (:func:`expected_reward_errors`).
    """
    n_states, n_actions = mdp.n_states, mdp.n_actions
    flat = mdp.transitions.reshape(n_states * n_actions, n_states)
    discounted_next = mdp.gamma * (flat @ values.x).reshape(n_states, n_actions)
    rewards = mdp.expected_rewards
    q = rewards + discounted_next
    next_errors = mdp.gamma * (flat @ (values.errors + sum_rounding(n_states)
                                       * np.abs(values.x))).reshape(n_states, n_actions)
    reward_errors = expected_reward_errors(mdp)
    bound = (float(next_errors.max(initial=0.0)) + EPS * float(np.abs(q).max(initial=0.0))
             + float(reward_errors.max(initial=0.0)))
    return ActionValues(q, bound, rewards, discounted_next, next_errors, reward_errors)


class Advantages(NamedTuple):
    """A_π (S, A), an entrywise bound on |Â − A| (S, A), and the q_π (S, A) they came from."""

    advantage: np.ndarray
    bound: np.ndarray
    q: np.ndarray


def advantages_of(pi: np.ndarray, action_values: ActionValues,
                  policy_error: np.ndarray | None = None) -> Advantages:
    r"""A(s, a) = q(s, a) − v(s) = Σ_b π(b|s) (q(s, a) − q(s, b)), without cancellation.

    Notes
    -----
    Written as q − Σ_b π_b q_b, the difference of two nearly equal numbers loses every digit when
    π(·|s) is nearly deterministic; as Σ_{b≠a} π_b (q_a − q_b) it keeps them. Each difference is
    taken part by part, q_a − q_b = (r_a − r_b) + γ(E_a[v] − E_b[v]), so that equal rewards
    cancel exactly however large they are. Error bound:
    Σ_{b≠a} π_b (δ_a + δ_b + ((A + 3)ε + ρ_b)|q_a − q_b| + 2ε|r_a − r_b|), δ_a the error bound of
    γ E[v|s, a] plus that of r(s, a) (:func:`expected_reward_errors`) and ρ the policy table's
    relative error ``policy_error`` (default :func:`pgref.exact.solver.policy_relative_error`).
    """
    r, future = action_values.rewards, action_values.discounted_next
    reward_gaps = r[:, :, None] - r[:, None, :]                     # r_a − r_b, (S, A, A)
    differences = reward_gaps + (future[:, :, None] - future[:, None, :])
    advantage = np.einsum("sb,sab->sa", pi, differences)
    n_actions = pi.shape[1]
    not_a = 1.0 - np.eye(n_actions)
    others = np.einsum("sb,ab->sa", pi, not_a)                     # Σ_{b≠a} π_b
    rho = policy_relative_error(pi) if policy_error is None else policy_error
    weights = ((n_actions + 3) * EPS + rho) * pi
    delta = action_values.next_errors + action_values.reward_errors
    bound = (delta * others + np.einsum("sb,ab->sa", pi * delta, not_a)   # Σ_{b≠a} π_b δ_b
             + np.einsum("sb,sab->sa", weights, np.abs(differences))
             + 2.0 * EPS * np.einsum("sb,sab->sa", pi, np.abs(reward_gaps)))
    return Advantages(advantage, bound, action_values.q)
