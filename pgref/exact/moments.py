r"""Second moments of an episode, exactly, by linear solves: the variance of the return
(Sobel 1982) and the covariance of the per-episode visit counts Σₜ γᵗ 1[Sₜ = s] behind n̂(s).

Every quantity here is a sum over the steps of one episode, so it obeys a one-step recursion:
what happens from S₀ is the first step plus a discounted copy of the same quantity from S₁.
Taking expectations gives a linear system per moment, with the matrix I − c P_π for a discount
c ∈ {γ, γ²} (blog: the n(s) recursion; lecture: the Bellman expansion of v_π). Terminal states
contribute nothing: their rows and columns of P_π are zero, so every moment is 0 there.

:mod:`pgref.exact.estimator_moments` uses the same chain for the gradient estimators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from pgref.exact.chain import (
    discounted_visits,
    policy_transitions,
    state_values,
    undiscounted_visits,
)
from pgref.mdp import TabularMDP

__all__ = [
    "CONDITION_LIMIT",
    "LiveChain",
    "ReturnVariance",
    "live_chain",
    "return_variance",
    "visit_count_covariance",
]

CONDITION_LIMIT = 1e10
r"""The largest 1-norm condition number of I − c P_π accepted by the solves here.

A solve's relative error is about cond · ε ≈ cond · 1.1e-16, so every moment returned is accurate
to a relative error of about 1e-6 or better (of the largest entry); beyond that limit a ValueError
says the policy barely ends its episodes.
"""


@dataclass(frozen=True)
class LiveChain:
    r"""The chain of π on the live (non-terminal) states, as the moment recursions use it.

    Attributes
    ----------
    pi : ndarray, shape (S, A)
        π(a|s), with the rows of terminal states set to 0 (no step is taken there).
    transitions : ndarray, shape (S, A, S)
        p(s′|s, a).
    rewards : ndarray, shape (S, A, S)
        r(s, a, s′), the reward of each transition (r(s, a) repeated for (S, A) rewards).
    P_pi : ndarray, shape (S, S)
        Σ_a π(a|s) p(s′|s, a), with zero rows at terminal states: every moment solved with it is
        0 there.
    gamma : float
    """

    pi: np.ndarray
    transitions: np.ndarray
    rewards: np.ndarray
    P_pi: np.ndarray
    gamma: float
    _conditions: dict = field(default_factory=dict, repr=False, compare=False)

    def next_expectation(self, values: np.ndarray, power: int = 0) -> np.ndarray:
        r"""E[R^power f(S′) | s, a] = Σ_s′ p(s′|s, a) r(s, a, s′)^power f(s′), shape (S, A, …).

        ``values`` is f on the states, shape (S,) or (S, …).
        """
        n_states, n_actions = self.pi.shape
        flat = self._reward_weights[power] @ values.reshape(n_states, -1)
        return flat.reshape((n_states, n_actions, *values.shape[1:]))

    @cached_property
    def _reward_weights(self) -> tuple[np.ndarray, ...]:
        """p(s′|s, a) r(s, a, s′)^power for power 0, 1, 2, each as an (S·A, S) matrix."""
        n_states, n_actions = self.pi.shape
        flat = (n_states * n_actions, n_states)
        return tuple((self.transitions * self.rewards ** power).reshape(flat)
                     for power in range(3))

    def average_over_actions(self, per_action: np.ndarray) -> np.ndarray:
        r"""Σ_a π(a|s) f(s, a), shape (S, …); 0 at terminal states."""
        return np.einsum("sa,sa...->s...", self.pi, per_action)

    def solve(self, discount: float, right_hand_side: np.ndarray, *,
              transpose: bool = False) -> np.ndarray:
        r"""f from (I − c P_π) f = right-hand side, for c = ``discount`` ∈ [0, 1].

        With ``transpose``, f from (I − c P_π)ᵀ f = right-hand side (the form of the visit
        counts).

        Raises ValueError when I − c P_π has a 1-norm condition number beyond
        :data:`CONDITION_LIMIT` (float64 could not deliver the moments).
        """
        n_states = self.P_pi.shape[0]
        system = np.eye(n_states) - discount * (self.P_pi.T if transpose else self.P_pi)
        key = (discount, transpose)
        if key not in self._conditions:  # once per matrix
            self._conditions[key] = np.linalg.cond(system, 1)
        condition = self._conditions[key]
        if not condition <= CONDITION_LIMIT:
            raise ValueError(
                f"the policy pi barely ends its episodes: I − {discount:g}·P_π has condition "
                f"number {condition:.3g} > {CONDITION_LIMIT:g}, so second moments would lose "
                "every significant digit. Use a policy that ends episodes sooner (less "
                "deterministic), or a discount gamma further below 1"
            )
        flat = np.linalg.solve(system, right_hand_side.reshape(n_states, -1))
        return flat.reshape(right_hand_side.shape)


def live_chain(mdp: TabularMDP, pi, *, needs_termination: bool = False) -> LiveChain:
    r"""π's chain on the live states of ``mdp``, checked: a :class:`LiveChain`.

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)
    needs_termination : bool, default False
        Whether an undiscounted sum over the episode is involved (such as Σₜ ∇ log π in pg_v1,
        or the γᵗ-dropped REINFORCE): then, as always with γ = 1, every live state must reach a
        terminal state, or :class:`~pgref.exact.NonTerminatingPolicyError` names those that
        cannot.
    """
    P_pi = policy_transitions(mdp, pi)  # checks mdp and pi
    if needs_termination or mdp.gamma == 1.0:
        undiscounted_visits(mdp, pi)  # raises NonTerminatingPolicyError naming the states
    live = mdp.nonterminal
    n_states = mdp.n_states
    rewards = mdp.rewards if mdp.rewards.ndim == 3 else np.repeat(
        mdp.rewards[:, :, None], n_states, axis=2)
    return LiveChain(np.asarray(pi, dtype=float) * live[:, None], mdp.transitions, rewards,
                     P_pi * live[:, None], mdp.gamma)


# -- the return: Sobel's variance ---------------------------------------------------------------


class ReturnVariance(NamedTuple):
    r"""The variance of the discounted return G, from each state and for a whole episode.

    Attributes
    ----------
    per_state : ndarray, shape (S,)
        σ²(s) = Var[G | S₀ = s]; 0 at terminal states.
    episode : float
        Var[G(τ)] with S₀ ∼ p₀: Σ_s p₀(s) σ²(s) + Σ_s p₀(s) (v_π(s) − 𝒥)².
    """

    per_state: np.ndarray
    episode: float


def return_variance(mdp: TabularMDP, pi) -> ReturnVariance:
    r"""The variance of the return G = Σₜ γᵗ Rₜ₊₁ under π, exactly (Sobel 1982).

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)

    Returns
    -------
    ReturnVariance
        ``per_state`` (S,) and ``episode`` (float).

    Raises
    ------
    NonTerminatingPolicyError
        With γ = 1, if some live state cannot reach a terminal state under π.

    Notes
    -----
    Sobel (1982), "The variance of discounted Markov decision processes", Theorem 1: with
    δ = R₁ + γ v_π(S₁) − v_π(S₀) the one-step error of the Bellman equation (lecture: "Policy
    Gradient Theorem", the expansion of q_π), G − v_π(S₀) = δ + γ (G′ − v_π(S₁)), the two terms
    are uncorrelated given S₀, and

        σ²(s) = E[δ² | S₀ = s] + γ² Σ_s′ P_π(s, s′) σ²(s′),   i.e.  (I − γ² P_π) σ² = E[δ² | ·].

    Written with δ, no large second moment E[G²] is formed and subtracted. The episode's
    variance adds the spread of v_π over the start distribution (the law of total variance).
    """
    chain = live_chain(mdp, pi)
    values = state_values(mdp, pi)
    gamma = mdp.gamma
    error = chain.rewards + gamma * values[None, None, :] - values[:, None, None]  # δ(s, a, s′)
    squared_error = np.einsum("saz,saz->sa", chain.transitions, error ** 2)
    per_state = chain.solve(gamma ** 2, chain.average_over_actions(squared_error))
    objective = float(mdp.initial @ values)
    episode = float(mdp.initial @ per_state + mdp.initial @ (values - objective) ** 2)
    return ReturnVariance(per_state, episode)


# -- the visit counts behind n̂(s) ----------------------------------------------------------------


def visit_count_covariance(mdp: TabularMDP, pi) -> np.ndarray:
    r"""The covariance of the per-episode visit counts cₛ = Σₜ γᵗ 1[Sₜ = s], exactly.

    Parameters
    ----------
    mdp, pi
        As in :func:`return_variance`.

    Returns
    -------
    covariance : ndarray, shape (S, S)
        Cov[c_x, c_y]; 0 in the rows and columns of terminal states. The variance of the
        estimate n̂(s) of :func:`pgref.estimators.visit_counts` from K episodes is
        ``covariance[s, s] / K``.

    Raises
    ------
    NonTerminatingPolicyError
        With γ = 1, if some live state cannot reach a terminal state under π.

    Notes
    -----
    Blog, "n(s) recursion": n(s) = E[cₛ] = Σₜ γᵗ Pr(Sₜ = s). Splitting the double sum
    E[c_x c_y] = Σₜ Σᵤ γ^{t+u} Pr(Sₜ = x, Sᵤ = y) at t ≤ u and u < t, and writing u = t + k,

        E[c_x c_y] = n₂(x) N(x, y) + n₂(y) N(y, x) − n₂(x) 1[x = y],

    with n₂(x) = Σₜ γ^{2t} Pr(Sₜ = x) (the visits discounted by γ², (I − γ² P_π)ᵀ n₂ = p₀) and
    N(x, y) = Σ_k γᵏ φ(x→y, k), the matrix (I − γ P_π)⁻¹ (blog: the φ detour), obtained by a
    solve with S right-hand sides. Then Cov = E[c cᵀ] − n nᵀ.
    """
    chain = live_chain(mdp, pi)
    gamma = mdp.gamma
    live = mdp.nonterminal
    visits = discounted_visits(mdp, pi)
    n_squared = chain.solve(gamma ** 2, mdp.initial, transpose=True)
    visits_from = chain.solve(gamma, np.diag(live.astype(float)))  # N(x, y), live columns
    first_then_second = n_squared[:, None] * visits_from
    second_moment = first_then_second + first_then_second.T - np.diag(n_squared)
    return (second_moment - np.outer(visits, visits)) * np.outer(live, live)

