r"""J(θ) and ∇J(θ) of a discrete policy π_θ over tabular states, exactly: the objective
J(π_θ) = Σ_s p₀(s) v_π(s), the policy gradient theorem in its unnormalised form
∇J(θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s), the lecture's E_{S∼d_π} form with the constant Σ_s n(s)
it drops, and the direction Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s) that REINFORCE estimates when it
drops the γᵗ. Each is the linear solves of :mod:`pgref.exact.chain` combined with the policy's
score table ∇ log π_θ(a|s); no finite differences and no sampling.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import _checks
from pgref.exact.chain import (
    _N1_NEEDS_TERMINATION,
    _action_values,
    _check_mdp,
    _policy_table,
    _system,
    _transitions,
    _values,
    _visits,
)
from pgref.mdp import TabularMDP

__all__ = [
    "NormalisedPolicyGradient",
    "gamma_dropped_direction",
    "normalised_policy_gradient",
    "objective",
    "policy_gradient",
]


class NormalisedPolicyGradient(NamedTuple):
    r"""The lecture's form of the policy gradient theorem and the constant it drops.

    Attributes
    ----------
    expectation : ndarray, shape (n_params,)
        E_{S∼d_π, A∼π}[q_π(S, A) ∇ log π_θ(A|S)], with d_π = μ the on-policy distribution.
    total_visits : float
        Σ_s n(s), the expected discounted number of steps per episode (1/(1 − γ) for a
        continuing task). ∇J(θ) = ``total_visits * expectation``.
    """

    expectation: np.ndarray
    total_visits: float


# -- inputs -------------------------------------------------------------------------------------


def _policy_and_scores(mdp: TabularMDP, policy, theta) -> tuple[np.ndarray, np.ndarray]:
    """π_θ as a table (S, A) and its scores ∇ log π_θ(a|s) as a table (S, A, n_params)."""
    _check_mdp(mdp)
    if not (hasattr(policy, "action_probs") and hasattr(policy, "grad_log_prob_table")):
        raise ValueError(
            "policy must be a discrete policy over tabular states, with action_probs and "
            f"grad_log_prob_table (e.g. pgref.SoftmaxLinearPolicy); got {type(policy).__name__}"
        )
    pi = _policy_table(mdp, policy.action_probs(theta), "policy.action_probs(theta)")
    scores = _checks.finite_array("policy.grad_log_prob_table(theta)",
                                  policy.grad_log_prob_table(theta), ndim=3)
    if scores.shape != (*pi.shape, policy.n_params):
        raise ValueError(
            f"policy.grad_log_prob_table(theta) must have shape (S, A, n_params) = "
            f"{(*pi.shape, policy.n_params)}; got {scores.shape}"
        )
    return pi, scores


# -- J(θ) and ∇J(θ) ----------------------------------------------------------------------------


def objective(mdp: TabularMDP, policy, theta) -> float:
    r"""J(π_θ) = Σ_s p₀(s) v_π(s), the expected return of an episode.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states (e.g. ``SoftmaxLinearPolicy``)
    theta : array_like, shape (n_params,)

    Returns
    -------
    J : float

    Notes
    -----
    Lecture, "Training Policy Network": J(π_θ) = E_{S₀∼p}[v_π(S₀)] = E_{τ∼p_π}[G(τ)], with
    G(τ) = Σₜ γᵗ Rₜ₊₁ (γ = 1 in the lecture).
    """
    _check_mdp(mdp)
    if not hasattr(policy, "action_probs"):
        raise ValueError(
            "policy must be a discrete policy over tabular states with action_probs "
            f"(e.g. pgref.SoftmaxLinearPolicy); got {type(policy).__name__}"
        )
    pi = _policy_table(mdp, policy.action_probs(theta), "policy.action_probs(theta)")
    system = _system(mdp, _transitions(mdp, pi), mdp.gamma, "the values v_π")
    return float(mdp.initial @ _values(mdp, pi, *system))


def _theorem_sum(visits: np.ndarray, q: np.ndarray, pi: np.ndarray, scores) -> np.ndarray:
    """Σ_s n(s) Σ_a q(s, a) π(a|s) ∇ log π(a|s): one (S·A) × (S·A, n_params) product."""
    weights = visits[:, None] * q * pi
    return weights.reshape(-1) @ scores.reshape(weights.size, -1)


def _theorem_terms(mdp: TabularMDP, policy, theta, visits_gamma: float | None = None):
    """π (S, A), the scores (S, A, n_params), q_π (S, A) and the visits n (S,) of π_θ.

    The visits are discounted by the MDP's γ, or by ``visits_gamma`` when given (1.0 for n₁).
    """
    pi, scores = _policy_and_scores(mdp, policy, theta)
    P_pi = _transitions(mdp, pi)
    system = _system(mdp, P_pi, mdp.gamma, "the values v_π and visit counts n")
    q = _action_values(mdp, _values(mdp, pi, *system))
    if visits_gamma is not None and visits_gamma != mdp.gamma:
        system = _system(mdp, P_pi, visits_gamma, "the undiscounted visit counts n₁",
                         _N1_NEEDS_TERMINATION)
    return pi, scores, q, _visits(mdp, *system)


def policy_gradient(mdp: TabularMDP, policy, theta) -> np.ndarray:
    r"""∇J(θ), exactly, by the policy gradient theorem in its unnormalised form.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states (``SoftmaxLinearPolicy``, ``MLPSoftmaxPolicy``)
    theta : array_like, shape (n_params,)

    Returns
    -------
    grad : ndarray, shape (n_params,)

    Raises
    ------
    NonTerminatingPolicyError
        With γ = 1, if some non-terminal state cannot reach a terminal state under π_θ.

    Notes
    -----
    Blog, "Policy gradient from the lens of Bellman":

        ∇J(θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s),   ∇π_θ(a|s) = π_θ(a|s) ∇ log π_θ(a|s)

    (the log-derivative trick, lecture: "Log-Derivative Trick"), with n the discounted visit
    counts of :func:`discounted_visits`. Two linear solves (for v_π and for n) and the policy's
    score table; no finite differences. The lecture's E_{S∼d_π} form is this divided by
    Σ_s n(s): see :func:`normalised_policy_gradient`.
    """
    pi, scores, q, visits = _theorem_terms(mdp, policy, theta)
    return _theorem_sum(visits, q, pi, scores)


def normalised_policy_gradient(mdp: TabularMDP, policy, theta) -> NormalisedPolicyGradient:
    r"""The lecture's E_{S∼d_π, A∼π}[q_π(S, A) ∇ log π_θ(A|S)] and the constant Σ_s n(s).

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states
    theta : array_like, shape (n_params,)

    Returns
    -------
    NormalisedPolicyGradient
        ``expectation`` (n_params,) and ``total_visits`` (float), whose product is ∇J(θ).

    Notes
    -----
    Lecture, "Policy Gradient Theorem": ∇J ∝ E_{S∼d_π, A|S∼π}[q_π(S, A) ∇ log π_θ(A|S)].
    Blog, the step to μ: ∇J = (Σₓ n(x)) Σ_s μ(s) Σ_a q_π(s, a) ∇π_θ(a|s). The lecture writes
    "=" and the blog "∝"; the factor is Σₓ n(x), the expected discounted episode length, so the
    two agree in direction and differ in length unless episodes last one step.
    """
    pi, scores, q, visits = _theorem_terms(mdp, policy, theta)
    total = float(visits.sum())
    return NormalisedPolicyGradient(_theorem_sum(visits / total, q, pi, scores), total)


def gamma_dropped_direction(mdp: TabularMDP, policy, theta) -> np.ndarray:
    r"""Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s): what REINFORCE estimates when it drops the γᵗ.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states
    theta : array_like, shape (n_params,)

    Returns
    -------
    direction : ndarray, shape (n_params,)

    Raises
    ------
    NonTerminatingPolicyError
        If some non-terminal state cannot reach a terminal state under π_θ (n₁ is infinite).

    Notes
    -----
    REINFORCE with discounted reward-to-go Gₜ = Σ_k γᵏ Rₜ₊ₖ₊₁ but without the factor γᵗ in
    front (lecture: "REINFORCE: First Official Algorithm" writes Gₜ ∇ log π(Aₜ|Sₜ)) has mean

        E[Σₜ Gₜ ∇ log π_θ(Aₜ|Sₜ)] = Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s),

    with n₁ the undiscounted visits of :func:`undiscounted_visits` and q_γ the discounted
    action values. It equals ∇J(θ) when γ = 1 and is in general not the gradient of any
    objective when γ < 1.
    """
    pi, scores, q, visits = _theorem_terms(mdp, policy, theta, visits_gamma=1.0)
    return _theorem_sum(visits, q, pi, scores)
