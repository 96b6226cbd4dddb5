r"""The natural policy gradient of a tabular MDP, beside the vanilla exact gradient.

The natural gradient F(θ)⁺ ∇J(θ) (Kakade, 2001) measures a step by how much it changes the
policy rather than θ: F is the Fisher information of π_θ, weighted by the states' visit counts.
For the tabular softmax it turns the gradient into the advantage table; on a bandit natural
ascent converges geometrically where vanilla exact ascent converges at rate Θ(1/t) (Mei et al.,
2020; see :func:`pgref.algorithms.loglog_slope`).
"""

from __future__ import annotations

import numpy as np

from pgref import _checks, exact
from pgref.algorithms.exact_ascent import gradient_ascent
from pgref.algorithms.history import History
from pgref.mdp import TabularMDP

__all__ = ["fisher_information", "natural_gradient_ascent", "natural_policy_gradient"]


def _check_inputs(mdp, policy, theta) -> np.ndarray:
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a pgref.TabularMDP; got {type(mdp).__name__}")
    if not (hasattr(policy, "action_probs") and hasattr(policy, "grad_log_prob_table")):
        raise ValueError(
            "policy must be a discrete policy over tabular states (action_probs and "
            f"grad_log_prob_table), e.g. pgref.SoftmaxLinearPolicy; got {type(policy).__name__}"
        )
    return _checks.parameter_vector(theta, policy.n_params)


def fisher_information(mdp: TabularMDP, policy, theta) -> np.ndarray:
    r"""F(θ) = Σ_s n(s) Σ_a π_θ(a|s) ∇ log π_θ(a|s) ∇ log π_θ(a|s)ᵀ, shape (n_params, n_params).

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy over tabular states (e.g. ``SoftmaxLinearPolicy``)
    theta : array_like, shape (n_params,)

    Returns
    -------
    F : ndarray, shape (n_params, n_params)
        Symmetric positive semi-definite.

    Notes
    -----
    Weighted by the discounted visit counts n(s) (:func:`pgref.exact.discounted_visits`), the
    same weights as the policy gradient theorem's ∇J = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s), so
    that F⁺∇J is free of the factor Σ_s n(s). The Fisher of the on-policy distribution μ(s)
    (the lecture's d_π) is F / Σ_s n(s); its natural gradient is Σ_s n(s) times this one's.
    For a softmax policy F is singular: adding the same number to the preferences of every
    action of a state changes nothing, so F has the direction (1, …, 1) per state in its null
    space.
    """
    theta = _check_inputs(mdp, policy, theta)
    pi = policy.action_probs(theta)                      # (S, A)
    scores = policy.grad_log_prob_table(theta)           # (S, A, P)
    visits = exact.discounted_visits(mdp, pi)            # n(s), (S,)
    weights = visits[:, None] * pi                       # n(s) π(a|s)
    return np.einsum("sa,sai,saj->ij", weights, scores, scores)


def natural_policy_gradient(mdp: TabularMDP, policy, theta, damping: float = 0.0) -> np.ndarray:
    r"""The natural gradient w solving F(θ) w = ∇J(θ), shape (n_params,).

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy over tabular states
    theta : array_like, shape (n_params,)
    damping : float, default 0
        λ ≥ 0. With λ = 0, w is the minimum-norm least-squares solution of F w = ∇J
        (``np.linalg.lstsq`` with its default cut-off rcond = ε·max(P, P) on the singular
        values), i.e. w = F⁺∇J with F⁺ the pseudo-inverse; since ∇J lies in the range of F this
        solves F w = ∇J exactly. With λ > 0, w solves (F + λI) w = ∇J by ``np.linalg.solve``.

    Returns
    -------
    w : ndarray, shape (n_params,)

    Notes
    -----
    Kakade (2001): the steepest-ascent direction when distance is measured by the Fisher
    metric, w = F⁺ ∇J. For the tabular softmax (one-hot x(s, a)) and a state with n(s) > 0,
    block s of F is n(s)(diag π_s − π_s π_sᵀ) and block s of ∇J is n(s) π_s ⊙ A_s, with A the
    advantages q_π − v_π (:func:`pgref.exact.advantages`); so

        w_{s,a} = A(s, a) − (1/|A|) Σ_b A(s, b)

    the advantage table itself, up to the per-state shift the min-norm solution removes
    (Agarwal et al., 2021, "On the theory of policy gradient methods", the softmax NPG).
    """
    theta = _check_inputs(mdp, policy, theta)
    damping = _checks.finite_scalar("damping", damping)
    if damping < 0.0:
        raise ValueError(f"damping must be ≥ 0 (λ in (F + λI) w = ∇J); got {damping!r}")
    fisher = fisher_information(mdp, policy, theta)
    gradient = exact.policy_gradient(mdp, policy, theta)
    if damping > 0.0:
        return np.linalg.solve(fisher + damping * np.eye(fisher.shape[0]), gradient)
    return np.linalg.lstsq(fisher, gradient, rcond=None)[0]


def natural_gradient_ascent(mdp: TabularMDP, policy, theta, alpha: float, n_updates: int,
                            damping: float = 0.0) -> History:
    r"""θ ← θ + α F(θ)⁺ ∇J(θ), with the exact F and ∇J.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy over tabular states
    theta : array_like, shape (n_params,)
        θ₀.
    alpha : float
        α > 0.
    n_updates : int
        U ≥ 1.
    damping : float, default 0
        λ ≥ 0, as in :func:`natural_policy_gradient`.

    Returns
    -------
    History
        θ and the exact J(θ) at U + 1 iterates; ``gradient_norms`` holds ‖F⁺∇J‖.

    Notes
    -----
    For the tabular softmax the update is θ_{s,a} ← θ_{s,a} + α A(s, a) (up to a per-state
    shift), a soft policy iteration: π_{new}(a|s) ∝ π(a|s) exp(α A(s, a)). On a bandit its
    sub-optimality gap falls geometrically (tests/test_natural.py), against Θ(1/t) for vanilla
    exact ascent (Mei et al., 2020).
    """
    theta = _check_inputs(mdp, policy, theta)
    damping = _checks.finite_scalar("damping", damping)
    if damping < 0.0:
        raise ValueError(f"damping must be ≥ 0 (λ in (F + λI) w = ∇J); got {damping!r}")
    return gradient_ascent(
        lambda th: exact.objective(mdp, policy, th),
        lambda th: natural_policy_gradient(mdp, policy, th, damping),
        theta, alpha, n_updates, policy=policy,
    )
