r"""The exact covariance of each Monte-Carlo gradient estimator's per-episode term, and the
variance-minimising constant baseline, by linear solves on the chain of π_θ.

A gradient estimate from K i.i.d. episodes is the mean of K per-episode terms X (lecture:
"Training Policy Network: SGD", "REINFORCE"), so its covariance is Cov[X] / K. Each X is a sum
over the episode's steps and obeys a one-step recursion, with S₀, A₀ → R₁, S₁ the first step,
z₀ = ∇ log π_θ(A₀|S₀) its score and primes for the same quantity of the rest of the episode:

    REINFORCE         X = z₀ (G − b(S₀)) + c X′,   G = R₁ + γ G′,  c = γ (γᵗ kept) or 1 (dropped)
    pg_v1             X = G Z,   Z = z₀ + Z′   (the score of the whole trajectory)

Conditioning on (S₀, A₀, S₁) turns the expectations of products of these into linear systems
over states with the matrices I − γ P_π, I − γ² P_π (and I − P_π for undiscounted sums): the
joint moments E[Gʲ Xᵀ], E[X Xᵀ] for REINFORCE, and E[Gʲ Z], E[Gʲ Z Zᵀ] for j ≤ 2 for pg_v1.
"""

from __future__ import annotations

from math import comb
from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.exact.chain import state_values
from pgref.exact.gradient import objective
from pgref.exact.moments import LiveChain, live_chain
from pgref.mdp import TabularMDP

__all__ = [
    "BaselineVariances",
    "baseline_variances",
    "estimator_covariance",
    "optimal_constant_baseline",
]

ESTIMATORS = ("pg_v1", "reinforce")


# -- inputs -------------------------------------------------------------------------------------


def _chain_and_scores(mdp, policy, theta, needs_termination: bool):
    """π_θ's live chain and its score table ∇ log π_θ(a|s), shape (S, A, n_params)."""
    if not (hasattr(policy, "action_probs") and hasattr(policy, "grad_log_prob_table")):
        raise ValueError(
            "policy must be a discrete policy over tabular states, with action_probs and "
            f"grad_log_prob_table (e.g. pgref.SoftmaxLinearPolicy); got {type(policy).__name__}"
        )
    theta = checks.parameter_vector(theta, policy.n_params)
    chain = live_chain(mdp, policy.action_probs(theta), needs_termination=needs_termination)
    scores = checks.finite_array("policy.grad_log_prob_table(theta)",
                                  policy.grad_log_prob_table(theta), ndim=3)
    if scores.shape != (*chain.pi.shape, policy.n_params):
        raise ValueError(
            f"policy.grad_log_prob_table(theta) must have shape (S, A, n_params) = "
            f"{(*chain.pi.shape, policy.n_params)}; got {scores.shape}"
        )
    return chain, scores


def _baseline_table(baseline, n_states: int) -> np.ndarray:
    """b(s) for every state: 0 for None, a constant repeated, or the (S,) table checked."""
    if baseline is None:
        return np.zeros(n_states)
    if np.ndim(baseline) == 0:
        return np.full(n_states, checks.finite_scalar("baseline", baseline))
    table = checks.finite_array("baseline", baseline)
    if table.shape != (n_states,):
        raise ValueError(
            f"baseline must be None, a number (a constant b) or an array of shape (S,) = "
            f"({n_states},) holding b(s) for every state, e.g. exact.state_values(mdp, pi); got "
            f"shape {table.shape}"
        )
    return table


# -- REINFORCE: X = z₀ (α G − b(S₀)) + c X′ ---------------------------------------------------


class _ReturnMoments(NamedTuple):
    """E[G | s, a] and E[G² | s, a] (S, A), and v = E[G | s], E[G² | s] (S,)."""

    first: np.ndarray
    second: np.ndarray
    values: np.ndarray
    second_by_state: np.ndarray


def _return_moments(chain: LiveChain) -> _ReturnMoments:
    r"""E[G | s] = v from (I − γP) v = r_π; E[G² | s] from (I − γ²P) m₂ = E[R² + 2γ R v(S′)]."""
    gamma = chain.gamma
    mean_reward = chain.next_expectation(np.ones(chain.pi.shape[0]), power=1)
    values = chain.solve(gamma, chain.average_over_actions(mean_reward))
    reward_squared = chain.next_expectation(np.ones(chain.pi.shape[0]), power=2)
    reward_then_value = chain.next_expectation(values, power=1)
    second = chain.solve(gamma ** 2, chain.average_over_actions(
        reward_squared + 2 * gamma * reward_then_value))
    first_sa = mean_reward + gamma * chain.next_expectation(values)  # q_π(s, a)
    second_sa = (reward_squared + 2 * gamma * reward_then_value
                 + gamma ** 2 * chain.next_expectation(second))
    return _ReturnMoments(first_sa, second_sa, values, second)


class _WeightedScoreSum(NamedTuple):
    r"""X = Σₜ cᵗ (α Gₜ − b(Sₜ)) zₜ: its weight's parameters and E[X | s], E[G X | s], (S, n)."""

    alpha: float
    baseline: np.ndarray
    mean: np.ndarray
    with_return: np.ndarray


def _weighted_score_sum(chain, scores, returns: _ReturnMoments, alpha: float,
                        baseline: np.ndarray, c: float) -> _WeightedScoreSum:
    r"""E[X | s] and E[G X | s] for the weight ω = α G − b(S₀) of the first step.

    E[X | s]   = Σ_a π z (α q − b) + c P E[X′],
    E[G X | s] = Σ_a π [z (α E[G²|s,a] − b q) + c E[R X′|s,a]] + c γ P E[G′ X′].
    """
    gamma, b = chain.gamma, baseline[:, None]
    weight_mean = alpha * returns.first - b  # E[ω | s, a]
    mean = chain.solve(c, chain.average_over_actions(scores * weight_mean[..., None]))
    weight_return = alpha * returns.second - b * returns.first  # E[G ω | s, a]
    with_return = chain.solve(c * gamma, chain.average_over_actions(
        scores * weight_return[..., None] + c * chain.next_expectation(mean, power=1)))
    return _WeightedScoreSum(alpha, baseline, mean, with_return)


def _cross_moment(chain, scores, returns: _ReturnMoments, c: float,
                  first: _WeightedScoreSum, second: _WeightedScoreSum) -> np.ndarray:
    r"""E[X⁽¹⁾ X⁽²⁾ᵀ | s], (S, n, n), from

    E[X⁽¹⁾X⁽²⁾ᵀ | s] = Σ_a π [z zᵀ E[ω₁ω₂|s,a] + c z E[ω₁ X⁽²⁾′|s,a]ᵀ + c E[X⁽¹⁾′ ω₂|s,a] zᵀ]
                     + c² P E[X⁽¹⁾′ X⁽²⁾′ᵀ],

    with E[ω X′ | s, a] = α E[R X′] + α γ E[G′ X′] − b(s) E[X′] over S′ ∼ p(·|s, a).
    """
    gamma = chain.gamma

    def weight_times_rest(weighted: _WeightedScoreSum, rest: _WeightedScoreSum):
        alpha, b = weighted.alpha, weighted.baseline[:, None, None]
        return (alpha * chain.next_expectation(rest.mean, power=1)
                + alpha * gamma * chain.next_expectation(rest.with_return)
                - b * chain.next_expectation(rest.mean))

    weights_product = (first.alpha * second.alpha * returns.second
                       - (first.alpha * second.baseline[:, None]
                          + second.alpha * first.baseline[:, None]) * returns.first
                       + first.baseline[:, None] * second.baseline[:, None])
    one_then_two = weight_times_rest(first, second)  # E[ω₁ X⁽²⁾′ | s, a], (S, A, n)
    two_then_one = weight_times_rest(second, first)
    per_action = (np.einsum("sa,sai,saj->saij", weights_product, scores, scores)
                  + c * np.einsum("sai,saj->saij", scores, one_then_two)
                  + c * np.einsum("sai,saj->saij", two_then_one, scores))
    return chain.solve(c ** 2, chain.average_over_actions(per_action))


def _episode_covariance(chain, initial, second_moment, mean_first, mean_second) -> np.ndarray:
    """Cov over S₀ ∼ p₀ of two sums, from their per-state E[X⁽¹⁾X⁽²⁾ᵀ], E[X⁽¹⁾], E[X⁽²⁾]."""
    return (np.einsum("s,sij->ij", initial, second_moment)
            - np.outer(initial @ mean_first, initial @ mean_second))


def _reinforce_covariance(chain, scores, initial, baseline, c):
    returns = _return_moments(chain)
    weighted = _weighted_score_sum(chain, scores, returns, 1.0, baseline, c)
    second = _cross_moment(chain, scores, returns, c, weighted, weighted)
    return _episode_covariance(chain, initial, second, weighted.mean, weighted.mean)


# -- pg_v1: X = G Z, Z = Σₜ zₜ -----------------------------------------------------------------


def _pg_v1_covariance(chain: LiveChain, scores, initial) -> np.ndarray:
    r"""Cov[G Z] from the joint moments E[Gᵏ Z | s], E[Gᵏ Z Zᵀ | s], k = 0, 1, 2.

    With Gᵏ = Σⱼ C(k, j) R^{k−j} γʲ G′ʲ and Z = z + Z′, the j = k term is γᵏ P times the same
    moment, so (I − γᵏ P) Bₖ = Σ_a π Σ_{j<k} … and likewise for Cₖ; A_j = E[G′ʲ | s′].
    """
    gamma, n_states = chain.gamma, chain.pi.shape[0]
    return_moment = [np.ones(n_states)]  # A₀ = 1 (also at terminal states: G⁰ = 1)
    returns = _return_moments(chain)
    return_moment += [returns.values, returns.second_by_state]
    score_moment, outer_moment = [], []  # B_k (S, n), C_k (S, n, n)
    for k in range(3):
        b_rhs = 0.0
        c_rhs = 0.0
        for j in range(k + 1):
            factor = comb(k, j) * gamma ** j
            A = chain.next_expectation(return_moment[j], power=k - j)  # E[R^{k−j} A_j(S′)]
            b_rhs = b_rhs + factor * scores * A[..., None]
            c_rhs = c_rhs + factor * np.einsum("sai,saj,sa->saij", scores, scores, A)
            if j < k:
                B = chain.next_expectation(score_moment[j], power=k - j)
                b_rhs = b_rhs + factor * B
                c_rhs = c_rhs + factor * (np.einsum("sai,saj->saij", scores, B)
                                          + np.einsum("sai,saj->saij", B, scores)
                                          + chain.next_expectation(outer_moment[j],
                                                                   power=k - j))
        score_moment.append(chain.solve(gamma ** k, chain.average_over_actions(b_rhs)))
        B = chain.next_expectation(score_moment[k])
        c_rhs = c_rhs + gamma ** k * (np.einsum("sai,saj->saij", scores, B)
                                      + np.einsum("sai,saj->saij", B, scores))
        outer_moment.append(chain.solve(gamma ** k, chain.average_over_actions(c_rhs)))
    return _episode_covariance(chain, initial, outer_moment[2], score_moment[1],
                               score_moment[1])


# -- public -------------------------------------------------------------------------------------


def estimator_covariance(mdp: TabularMDP, policy, theta, estimator: str, baseline=None,
                         discount_weighting: bool = True) -> np.ndarray:
    r"""The exact covariance of one episode's term of a Monte-Carlo gradient estimator.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states (``SoftmaxLinearPolicy``, ``MLPSoftmaxPolicy``)
    theta : array_like, shape (n_params,)
    estimator : {"pg_v1", "reinforce"}
        :func:`pgref.estimators.pg_v1` or :func:`pgref.estimators.reinforce`.
    baseline : None, float, or array_like of shape (S,)
        For "reinforce" only, as in :func:`pgref.estimators.reinforce`: none, a constant b, or
        b(s) for every state.
    discount_weighting : bool, default True
        For "reinforce" only: keep γᵗ (False: drop it, as in ``reinforce``).

    Returns
    -------
    covariance : ndarray, shape (n_params, n_params)
        Cov[X] of the per-episode term X (the rows of ``GradientEstimate.per_episode``); the
        estimate from K episodes has covariance ``covariance / K``.

    Raises
    ------
    ValueError
        For an unknown ``estimator``, a baseline or ``discount_weighting=False`` with "pg_v1", a
        baseline of the wrong shape or with NaN/inf, a policy without a score table, a θ of the
        wrong length, or a chain too close to never ending (see
        :data:`pgref.exact.moments.CONDITION_LIMIT`).
    NonTerminatingPolicyError
        If an undiscounted sum is involved (γ = 1, "pg_v1", or γᵗ dropped) and some live state
        cannot reach a terminal state under π_θ.

    Notes
    -----
    REINFORCE (lecture: "REINFORCE: First Official Algorithm"; blog: "causality trick"), per
    episode X = Σₜ cᵗ (Gₜ − b(Sₜ)) ∇ log π_θ(Aₜ|Sₜ), c = γ or 1, satisfies
    X = z₀ (R₁ + γ G′ − b(S₀)) + c X′. Conditioning on (S₀, A₀, S₁):

        (I − γ P_π) v = r_π,                     (I − γ² P_π) E[G²] = E[R² + 2γ R v(S′)]
        (I − c P_π) E[X] = Σ_a π z (q_π − b),
        (I − cγ P_π) E[G X] = Σ_a π [z (E[G²|s,a] − b q_π) + c E[R X′|s,a]],
        (I − c² P_π) E[X Xᵀ] = Σ_a π [z zᵀ E[(G − b)²|s,a] + c (z E[(G − b) X′|s,a]ᵀ + transpose)]

    pg_v1 (lecture: "Training Policy Network: SGD"), X = G(τ) Σₜ ∇ log π_θ(Aₜ|Sₜ), needs the
    joint moments E[Gᵏ Z], E[Gᵏ Z Zᵀ] of G and Z = Σₜ zₜ for k ≤ 2, each a system with
    I − γᵏ P_π. Finally Cov[X] = Σ_s p₀(s) E[X Xᵀ | s] − E[X] E[X]ᵀ.

    Cost: a few solves of (S, S) systems with up to S·n² right-hand sides and products over
    (S, A, S): O(S³ + S²·A·n + S²·n² + S·A·n²) time and O(S²·A + S·A·n²) memory.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}")
    checks.true_or_false("discount_weighting", discount_weighting)
    if estimator == "pg_v1":
        if baseline is not None or not discount_weighting:
            raise ValueError(
                "baseline and discount_weighting apply to estimator='reinforce' only; pg_v1 "
                "weights every score by the whole return G(τ). Leave them at their defaults "
                "(None, True) or use estimator='reinforce'"
            )
        chain, scores = _chain_and_scores(mdp, policy, theta, needs_termination=True)
        return _pg_v1_covariance(chain, scores, mdp.initial)
    chain, scores = _chain_and_scores(mdp, policy, theta,
                                      needs_termination=not discount_weighting)
    table = _baseline_table(baseline, mdp.n_states)
    c = mdp.gamma if discount_weighting else 1.0
    return _reinforce_covariance(chain, scores, mdp.initial, table, c)


class BaselineVariances(NamedTuple):
    r"""The variance of each component of REINFORCE's per-episode term under four baselines.

    Attributes
    ----------
    optimal_baseline : ndarray, shape (n_params,)
        b*ᵢ, the constant that minimises the variance of component i (0 where the component's
        score sum is identically 0 and every b is optimal).
    none, objective, values, optimal : ndarray, shape (n_params,)
        Var[Xᵢ] with no baseline, with the constant 𝒥(θ), with the state baseline v_π(s), and
        with b*ᵢ. The variance reduction of a baseline is ``none − <that field>``.
    """

    optimal_baseline: np.ndarray
    none: np.ndarray
    objective: np.ndarray
    values: np.ndarray
    optimal: np.ndarray


def _optimal_baseline(chain, scores, initial, c):
    """b* and the per-component variances with no baseline and with b*."""
    returns = _return_moments(chain)
    zeros, ones = np.zeros(chain.pi.shape[0]), np.ones(chain.pi.shape[0])
    plain = _weighted_score_sum(chain, scores, returns, 1.0, zeros, c)  # X₀: b = 0
    score_sum = _weighted_score_sum(chain, scores, returns, 0.0, ones, c)  # U = −Σ cᵗ zₜ

    def covariance(first, second):
        moment = _cross_moment(chain, scores, returns, c, first, second)
        return np.diag(_episode_covariance(chain, initial, moment, first.mean, second.mean))

    variance_none = covariance(plain, plain)
    cross, variance_u = covariance(plain, score_sum), covariance(score_sum, score_sum)
    scored = variance_u > 0
    optimum = np.where(scored, -cross / np.where(scored, variance_u, 1.0), 0.0)
    # Var[X₀ + b U] = Var X₀ + 2b Cov(X₀, U) + b² Var U, minimal at b* = −Cov(X₀, U) / Var U
    return optimum, variance_none, variance_none + optimum * cross


def optimal_constant_baseline(mdp: TabularMDP, policy, theta,
                              discount_weighting: bool = True) -> np.ndarray:
    r"""The constant baseline that minimises the variance of each component of REINFORCE.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states
    theta : array_like, shape (n_params,)
    discount_weighting : bool, default True
        As in :func:`pgref.estimators.reinforce`.

    Returns
    -------
    baseline : ndarray, shape (n_params,)
        b*ᵢ for each component i of θ; 0 where the component's score sum Σₜ cᵗ ∂ᵢ log π is
        identically 0 (every b then gives the same variance).

    Notes
    -----
    Lecture, "REINFORCE" (baselines); Greensmith, Bartlett & Baxter (2004). With a constant b
    the per-episode term is X₀ − b Y, Y = Σₜ cᵗ ∇ log π_θ(Aₜ|Sₜ), E[Y] = 0, so

        Var[X₀ᵢ − b Yᵢ] = Var[X₀ᵢ] − 2b E[X₀ᵢ Yᵢ] + b² E[Yᵢ²],   b*ᵢ = E[X₀ᵢ Yᵢ] / E[Yᵢ²],

    a return average weighted by the squared score sum: neither 𝒥(θ) nor v_π in general. Both
    moments come from the recursions of :func:`estimator_covariance`.
    """
    return baseline_variances(mdp, policy, theta, discount_weighting).optimal_baseline


def baseline_variances(mdp: TabularMDP, policy, theta,
                       discount_weighting: bool = True) -> BaselineVariances:
    r"""Var of each component of REINFORCE's per-episode term: no baseline, 𝒥(θ), v_π, b*.

    Parameters
    ----------
    mdp, policy, theta, discount_weighting
        As in :func:`optimal_constant_baseline`.

    Returns
    -------
    BaselineVariances

    Notes
    -----
    The diagonals of :func:`estimator_covariance` with baseline None, 𝒥(θ) and v_π, and
    Var[X₀ᵢ] − (b*ᵢ)² E[Yᵢ²] for the optimum of :func:`optimal_constant_baseline`. The
    optimum is at least as good as any constant, 𝒥(θ) included, component by component, and
    𝒥(θ) itself can be worse than no baseline for some components; a state baseline such as v_π
    can beat the optimum in every component on one problem and lose in every component on
    another.
    """
    checks.true_or_false("discount_weighting", discount_weighting)
    chain, scores = _chain_and_scores(mdp, policy, theta,
                                      needs_termination=not discount_weighting)
    c = mdp.gamma if discount_weighting else 1.0
    optimum, variance_none, variance_optimal = _optimal_baseline(chain, scores, mdp.initial, c)
    J = objective(mdp, policy, theta)
    values = state_values(mdp, policy.action_probs(theta))

    def variance(table):
        return np.diag(_reinforce_covariance(chain, scores, mdp.initial, table, c))

    return BaselineVariances(optimum, variance_none, variance(np.full(mdp.n_states, J)),
                             variance(values), variance_optimal)
