r"""The natural policy gradient of a tabular MDP, beside the vanilla exact gradient.

The natural gradient F(θ)⁺ ∇𝒥(θ) (Kakade, 2001) measures a step by how much it changes the
policy rather than θ: F is the Fisher information of π_θ, weighted by the states' visit counts.
For the tabular softmax it turns the gradient into the advantage table; on a bandit natural
ascent converges geometrically where vanilla exact ascent converges at rate Θ(1/t) (Mei et al.,
2020; see :func:`pgref.algorithms.loglog_slope`).
"""

from __future__ import annotations

import numpy as np

from pgref import checks, exact
from pgref.algorithms.exact_ascent import gradient_ascent
from pgref.algorithms.history import History
from pgref.mdp import TabularMDP
from pgref.policies import SoftmaxLinearPolicy

__all__ = [
    "EIGENVALUE_TOLERANCE_FACTOR",
    "fisher_information",
    "natural_gradient_ascent",
    "natural_policy_gradient",
    "tabular_softmax_index",
]


def _check_inputs(mdp, policy, theta) -> np.ndarray:
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a pgref.TabularMDP; got {type(mdp).__name__}")
    if not (hasattr(policy, "action_probs") and hasattr(policy, "grad_log_prob_table")):
        raise ValueError(
            "policy must be a discrete policy over tabular states (action_probs and "
            f"grad_log_prob_table), e.g. pgref.SoftmaxLinearPolicy; got {type(policy).__name__}"
        )
    return checks.parameter_vector(theta, policy.n_params)


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
    same weights as the policy gradient theorem's ∇𝒥 = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s), so
    that F⁺∇𝒥 is free of the factor Σ_s n(s). The Fisher weighted by the on-policy
    distribution μ(s) = n(s)/Σn is F / Σ_s n(s); its natural gradient is Σ_s n(s) times this
    one's. For a softmax on one-hot (or shared-action) features F is singular: adding the same
    number to the preferences of every action of a state changes nothing, so F has the
    direction (1, …, 1) per state in its null space. With general features that direction need
    not be a direction of θ at all, and F can have full rank (random 4-dimensional features
    give a full-rank F; ``tests/test_claims.py``).
    """
    theta = _check_inputs(mdp, policy, theta)
    pi = policy.action_probs(theta)                      # (S, A)
    scores = policy.grad_log_prob_table(theta)           # (S, A, P)
    visits = exact.discounted_visits(mdp, pi)            # n(s), (S,)
    weights = visits[:, None] * pi                       # n(s) π(a|s)
    return np.einsum("sa,sai,saj->ij", weights, scores, scores)


EIGENVALUE_TOLERANCE_FACTOR = 1e3
"""F's eigenvalues below (this × n_params × ε) × λ_max are treated as 0 (rounding noise)."""


def tabular_softmax_index(policy) -> np.ndarray | None:
    r"""j(s, a) with θ_j the preference of (s, a), when π_θ is the tabular softmax; else None.

    The tabular softmax is a :class:`~pgref.policies.SoftmaxLinearPolicy` whose feature table is
    a one-hot indicator of (s, a): each x(s, a) is a unit vector e_j and each j belongs to
    exactly one (s, a) (``pgref.features.one_hot_features`` up to a permutation of θ).
    """
    if not (isinstance(policy, SoftmaxLinearPolicy) and policy.features.is_tabular):
        return None
    table = np.asarray(policy.features.source)
    n_states, n_actions, n_params = table.shape
    flat = table.reshape(n_states * n_actions, n_params)
    if (n_params != flat.shape[0] or not np.all((flat == 0.0) | (flat == 1.0))
            or not np.all(flat.sum(axis=0) == 1.0) or not np.all(flat.sum(axis=1) == 1.0)):
        return None
    return flat.argmax(axis=1).reshape(n_states, n_actions)


def _reachable(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """States with n(s) > 0: reachable from the support of p₀ in the graph of P_π (edges > 0)."""
    edge = exact.policy_transitions(mdp, pi) > 0
    reached = mdp.initial > 0
    frontier = reached.copy()
    while frontier.any():
        frontier = edge[frontier].any(axis=0) & ~reached
        reached |= frontier
    return reached & mdp.nonterminal


def natural_policy_gradient(mdp: TabularMDP, policy, theta, damping: float = 0.0) -> np.ndarray:
    r"""The natural gradient w solving F(θ) w = ∇𝒥(θ), shape (n_params,).

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy over tabular states
    theta : array_like, shape (n_params,)
    damping : float, default 0
        λ ≥ 0. With λ = 0, w = F⁺∇𝒥, the minimum-norm solution: in closed form for the tabular
        softmax (below); otherwise from the eigendecomposition F = V diag(λᵢ) Vᵀ, keeping the
        λᵢ > τ λ_max with τ = 1e3 · n_params · ε (the computed λᵢ are accurate to about
        n_params·ε·λ_max, so smaller ones are rounding noise and dividing by them returns
        garbage). With λ > 0, w solves (F + λI) w = ∇𝒥 by ``np.linalg.solve``.

    Returns
    -------
    w : ndarray, shape (n_params,)

    Raises
    ------
    pgref.exact.PrecisionError
        If the advantages (tabular softmax) or ∇𝒥 and F cannot be computed to 1e−9 in float64.

    Notes
    -----
    Kakade (2001): the steepest-ascent direction when distance is measured by the Fisher
    metric, w = F⁺ ∇𝒥. For the tabular softmax (one-hot x(s, a)) and a state with n(s) > 0,
    block s of F is n(s)(diag π_s − π_s π_sᵀ) and block s of ∇𝒥 is n(s) π_s ⊙ A_s, with A the
    advantages q_π − v_π (:func:`pgref.exact.advantages`); since π_sᵀA_s = 0,

        w_{s,a} = A(s, a) − (1/|A|) Σ_b A(s, b)

    the advantage table, centred in each state (the per-state shift the min-norm solution
    removes), and 0 where n(s) = 0. Agarwal et al. (2021), "On the theory of policy gradient
    methods", weight their Fisher by μ = n/Σn, so their natural gradient is Σ_s n(s) times this
    one: (Σn)·A up to the shift, not the advantage table itself.
    This closed form is what the code returns for the tabular softmax: it needs no Fisher
    matrix, and stays accurate where F's smallest eigenvalues n(s) π(a|s) fall below rounding.
    """
    theta = _check_inputs(mdp, policy, theta)
    damping = checks.finite_scalar("damping", damping)
    if damping < 0.0:
        raise ValueError(f"damping must be ≥ 0 (λ in (F + λI) w = ∇𝒥); got {damping!r}")
    index = tabular_softmax_index(policy)
    if damping == 0.0 and index is not None:
        pi = policy.action_probs(theta)
        advantage = exact.advantages(mdp, pi)
        centred = advantage - advantage.mean(axis=1, keepdims=True)
        centred[~_reachable(mdp, pi)] = 0.0
        natural = np.empty(policy.n_params)
        natural[index.reshape(-1)] = centred.reshape(-1)
        return natural
    fisher = fisher_information(mdp, policy, theta)
    gradient = exact.policy_gradient(mdp, policy, theta)
    if damping > 0.0:
        return np.linalg.solve(fisher + damping * np.eye(fisher.shape[0]), gradient)
    eigenvalues, eigenvectors = np.linalg.eigh(fisher)
    cutoff = (EIGENVALUE_TOLERANCE_FACTOR * fisher.shape[0] * np.finfo(float).eps
              * max(float(eigenvalues.max()), 0.0))
    kept = eigenvalues > cutoff
    coordinates = eigenvectors[:, kept].T @ gradient
    return eigenvectors[:, kept] @ (coordinates / eigenvalues[kept])


def natural_gradient_ascent(mdp: TabularMDP, policy, theta, alpha: float, n_updates: int,
                            damping: float = 0.0) -> History:
    r"""θ ← θ + α F(θ)⁺ ∇𝒥(θ), with the exact F and ∇𝒥.

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
        θ and the exact 𝒥(θ) at U + 1 iterates; ``gradient_norms`` holds ‖F⁺∇𝒥‖.

    Raises
    ------
    pgref.algorithms.StepSizeError
        If an update moves θ where 𝒥 or w cannot be computed to 1e−9 in float64 (named α).

    Notes
    -----
    For the tabular softmax the update is θ_{s,a} ← θ_{s,a} + α A(s, a) (up to a per-state
    shift), a soft policy iteration: π_{new}(a|s) ∝ π(a|s) exp(α A(s, a)), which never lowers
    any v_π(s), hence never 𝒥, whatever α > 0 (Agarwal et al., 2021, Lemma 5.2); the recorded
    𝒥 never falls by more than its rounding (tests/test_natural.py, 500 steps past
    π_min = 1e−300). On a bandit its sub-optimality gap falls geometrically, against Θ(1/t)
    for vanilla exact ascent (Mei et al., 2020).
    """
    theta = _check_inputs(mdp, policy, theta)
    damping = checks.finite_scalar("damping", damping)
    if damping < 0.0:
        raise ValueError(f"damping must be ≥ 0 (λ in (F + λI) w = ∇𝒥); got {damping!r}")
    return gradient_ascent(
        lambda th: exact.objective(mdp, policy, th),
        lambda th: natural_policy_gradient(mdp, policy, th, damping),
        theta, alpha, n_updates, policy=policy,
    )
