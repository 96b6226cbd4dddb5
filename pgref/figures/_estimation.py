r"""Data of figures 3, 4 and 7: Monte-Carlo estimates of ∇J on the short corridor.

All three sample episodes at the same θ₀ (π(right) = σ(−1.1) ≈ 0.25, J(θ₀) ≈ −18.7) and compare
the estimators of :mod:`pgref.estimators` with the exact ∇J of :mod:`pgref.exact`.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from pgref import algorithms, envs, estimators, exact, rollout
from pgref.figures._running import log_counts, running_mean, running_standard_error
from pgref.policies import SoftmaxLinearPolicy

__all__ = [
    "DiscountingData",
    "MonteCarloData",
    "VarianceData",
    "discounting_data",
    "monte_carlo_data",
    "variance_data",
]

CORRIDOR_THETA = np.array([-0.55, 0.55])
"""θ₀ = [θ_right, θ_left] of figures 3–5, 7: π(right) = σ(−1.1) ≈ 0.25, well left of p* ≈ 0.59."""

ESTIMATOR_NAMES = (
    "PG_v1: G(τ)",
    "REINFORCE: Gₜ",
    "REINFORCE: Gₜ − v_π(Sₜ)",
)
"""The three estimators of figures 3 and 4, by the weight on ∇ log π_θ(Aₜ|Sₜ) (γ = 1)."""


def _corridor():
    problem = envs.short_corridor()
    return problem.mdp, SoftmaxLinearPolicy(problem.features)


def _three_estimates(mdp, policy, theta, episodes) -> list[estimators.GradientEstimate]:
    """pg_v1, reinforce, and reinforce with the exact v_π as baseline, on the same episodes."""
    values = exact.state_values(mdp, policy.action_probs(theta))
    return [
        estimators.pg_v1(policy, theta, episodes, mdp.gamma),
        estimators.reinforce(policy, theta, episodes, mdp.gamma),
        estimators.reinforce(policy, theta, episodes, mdp.gamma, baseline=values),
    ]


# -- 3. Monte-Carlo convergence (lecture: "Training Policy Network: SGD") ------------------------


class MonteCarloData(NamedTuple):
    r"""Data behind ``monte_carlo.png``.

    Attributes
    ----------
    names : tuple of str
        The M estimators (:data:`ESTIMATOR_NAMES`).
    counts : ndarray of int, shape (C,)
        The numbers of episodes K (log-spaced, from 2).
    exact_gradient : ndarray, shape (2,)
        ∇J(θ₀) from :func:`pgref.exact.policy_gradient`.
    running_estimate : ndarray, shape (M, C)
        The ∂/∂θ_right component of each estimate from the first K episodes of repetition 0.
    running_standard_error : ndarray, shape (M, C)
        Its standard error s_K/√K.
    rms_error : ndarray, shape (M, C)
        √(1/R Σᵣ ‖∇̂J_K⁽ʳ⁾ − ∇J‖²) over R independent repetitions.
    per_episode_variance : ndarray, shape (M,)
        tr Cov of one episode's term, pooled over all repetitions: the RMS error is
        √(tr Cov / K) for an unbiased estimator.
    final_estimates : ndarray, shape (M, R, 2)
        Each repetition's estimate from all K_max of its episodes.
    slopes : ndarray, shape (M,)
        The least-squares log-log slope of ``rms_error`` over K ≥ ``slope_from``
        (:func:`pgref.algorithms.loglog_slope`): −1/2 in theory.
    slope_from : int
        The smallest K in the fit (below it, rare long episodes are mostly missing from R runs,
        so the RMS error sits under √(tr Cov / K)).
    """

    names: tuple[str, ...]
    counts: np.ndarray
    exact_gradient: np.ndarray
    running_estimate: np.ndarray
    running_standard_error: np.ndarray
    rms_error: np.ndarray
    per_episode_variance: np.ndarray
    final_estimates: np.ndarray
    slopes: np.ndarray
    slope_from: int


def monte_carlo_data(quick: bool = False) -> MonteCarloData:
    r"""Error of the three estimators of ∇J against the number of episodes K.

    Parameters
    ----------
    quick : bool
        R = 24 repetitions of up to K = 256 episodes instead of R = 40 of up to 2 048.

    Returns
    -------
    MonteCarloData

    Notes
    -----
    Lecture, "Training Policy Network: SGD": ∇̂J = 1/K Σₖ G(τₖ) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k]);
    lecture, "REINFORCE", and blog, "causality trick": Gₜ in place of G(τ); a baseline b(Sₜ)
    subtracted from Gₜ. Each is a mean of K i.i.d. episode terms with mean ∇J, so its error is
    √(tr Cov/K): a line of slope −1/2 on log-log axes, lower for a smaller per-episode variance.
    """
    mdp, policy = _corridor()
    theta = CORRIDOR_THETA
    n_repetitions, k_max = (24, 256) if quick else (40, 2_048)
    counts = log_counts(k_max, 25 if quick else 40, start=2)
    gradient = exact.policy_gradient(mdp, policy, theta)
    rng = np.random.default_rng(30)
    squared_errors = np.zeros((len(ESTIMATOR_NAMES), counts.size))
    estimates = np.zeros_like(squared_errors)  # repetition 0's running ∂/∂θ_right
    standard_errors = np.zeros_like(squared_errors)
    terms: list[list[np.ndarray]] = [[] for _ in ESTIMATOR_NAMES]
    for repetition in range(n_repetitions):
        episodes = rollout.sample_episodes(mdp, policy, theta, k_max, rng)
        for m, estimate in enumerate(_three_estimates(mdp, policy, theta, episodes)):
            running = running_mean(estimate.per_episode, counts)  # (C, 2)
            squared_errors[m] += ((running - gradient) ** 2).sum(axis=1)
            terms[m].append(estimate.per_episode)
            if repetition == 0:
                estimates[m] = running[:, 0]
                standard_errors[m] = running_standard_error(estimate.per_episode[:, 0],
                                                             counts)
    variances = np.array([np.concatenate(t).var(axis=0, ddof=1).sum() for t in terms])
    rms_error = np.sqrt(squared_errors / n_repetitions)
    slope_from = 16
    fitted = counts >= slope_from
    slopes = np.array([algorithms.loglog_slope(counts[fitted], e[fitted]) for e in rms_error])
    final = np.array([[t.mean(axis=0) for t in per_method] for per_method in terms])
    return MonteCarloData(ESTIMATOR_NAMES, counts, gradient, estimates, standard_errors,
                          rms_error, variances, final, slopes, slope_from)


# -- 4. Variance (lecture: "REINFORCE"; blog: "causality trick") ---------------------------------


class VarianceData(NamedTuple):
    r"""Data behind ``variance.png``: one episode's ∂/∂θ_right term under each estimator.

    Attributes
    ----------
    names : tuple of str
        The M estimators: those of :data:`ESTIMATOR_NAMES` and REINFORCE with the constant
        baseline b = J(θ₀), inserted before the state-dependent one.
    per_episode : ndarray, shape (M, K)
        The ∂/∂θ_right component of each episode's term (``GradientEstimate.per_episode``).
    mean, standard_error : ndarray, shape (M,)
        The estimate of ∂J/∂θ_right and its standard error.
    variance : ndarray, shape (M,)
        The per-episode variance s² = 1/(K − 1) Σₖ (xₖ − x̄)².
    variance_lower, variance_upper : ndarray, shape (M,)
        Its 95% confidence interval (normal approximation for the mean of (xₖ − x̄)²).
    exact_component : float
        ∂J/∂θ_right from :func:`pgref.exact.policy_gradient`.
    """

    names: tuple[str, ...]
    per_episode: np.ndarray
    mean: np.ndarray
    standard_error: np.ndarray
    variance: np.ndarray
    variance_lower: np.ndarray
    variance_upper: np.ndarray
    exact_component: float


def variance_data(quick: bool = False) -> VarianceData:
    r"""The per-episode variance of each estimator of ∂J/∂θ_right, with confidence intervals.

    Parameters
    ----------
    quick : bool
        K = 2 000 episodes instead of 40 000.

    Returns
    -------
    VarianceData

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm" and blog, "causality trick": every estimator
    has mean ∇J. The rewards before t, which Gₜ leaves out, and the b(Sₜ) a baseline subtracts
    (a term of mean b(Sₜ) Σ_a ∇π_θ(a|Sₜ) = 0) only add noise. Var(∇̂J) = s²/K, so a 3× smaller
    s² needs 3× fewer episodes for the same error. The interval for s² treats (xₖ − x̄)² as K i.i.d.
    terms (:meth:`pgref.estimators.MonteCarloEstimate.confidence_interval`).
    """
    mdp, policy = _corridor()
    theta = CORRIDOR_THETA
    n_episodes = 2_000 if quick else 40_000
    episodes = rollout.sample_episodes(mdp, policy, theta, n_episodes,
                                       np.random.default_rng(40))
    pg, plain, with_values = _three_estimates(mdp, policy, theta, episodes)
    constant = estimators.reinforce(policy, theta, episodes, mdp.gamma,
                                    baseline=exact.objective(mdp, policy, theta))
    chosen = [pg, plain, constant, with_values]
    names = (*ESTIMATOR_NAMES[:2], "REINFORCE: Gₜ − J(θ)", ESTIMATOR_NAMES[2])
    per_episode = np.stack([estimate.per_episode[:, 0] for estimate in chosen])
    deviations = (per_episode - per_episode.mean(axis=1, keepdims=True)) ** 2
    deviations *= n_episodes / (n_episodes - 1)  # so that their mean is s², unbiased
    bounds = [estimators.MonteCarloEstimate(d.mean(keepdims=True), d[:, None])
              .confidence_interval(0.95) for d in deviations]
    return VarianceData(
        names, per_episode,
        np.array([estimate.mean[0] for estimate in chosen]),
        np.array([estimate.standard_error()[0] for estimate in chosen]),
        deviations.mean(axis=1),
        np.array([b.lower[0] for b in bounds]), np.array([b.upper[0] for b in bounds]),
        float(exact.policy_gradient(mdp, policy, theta)[0]),
    )


# -- 7. Discounting: keep γᵗ (lecture: "REINFORCE"; design note on the γᵗ-dropped direction) -----


class DiscountingData(NamedTuple):
    r"""Data behind ``discounting.png``.

    Attributes
    ----------
    gamma : float
        γ < 1 of the corridor in the left panel.
    counts : ndarray of int, shape (C,)
        Numbers of episodes K.
    running_estimate : ndarray, shape (2, C)
        ∂/∂θ_right of REINFORCE from the first K episodes: row 0 with γᵗ, row 1 without.
    running_standard_error : ndarray, shape (2, C)
    exact_gradient : ndarray, shape (2,)
        ∇J(θ₀) (:func:`pgref.exact.policy_gradient`).
    dropped_direction : ndarray, shape (2,)
        Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s) (:func:`pgref.exact.gamma_dropped_direction`).
    gammas : ndarray, shape (G,)
        Discounts for the right panel.
    gradient_by_gamma, dropped_by_gamma : ndarray, shape (G,)
        ∂/∂θ_right of ∇J and of the γᵗ-dropped direction at θ₀ for each γ.
    """

    gamma: float
    counts: np.ndarray
    running_estimate: np.ndarray
    running_standard_error: np.ndarray
    exact_gradient: np.ndarray
    dropped_direction: np.ndarray
    gammas: np.ndarray
    gradient_by_gamma: np.ndarray
    dropped_by_gamma: np.ndarray


def discounting_data(quick: bool = False) -> DiscountingData:
    r"""REINFORCE with and without γᵗ on the short corridor with γ = 0.9.

    Parameters
    ----------
    quick : bool
        Up to K = 5 000 episodes instead of 40 000, and 8 discounts instead of 36.

    Returns
    -------
    DiscountingData

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm" writes θ ← θ + α Gₜ ∇ log π_θ(Aₜ|Sₜ) with
    γ = 1. With γ < 1 the gradient of J = E[Σₜ γᵗ Rₜ₊₁] needs the factor γᵗ:

        ∇J = E[Σₜ γᵗ Gₜ ∇ log π_θ(Aₜ|Sₜ)] = Σ_s n(s) Σ_a q_γ(s, a) ∇π_θ(a|s),

    with n(s) = Σₜ γᵗ Pr(Sₜ = s). Without γᵗ the estimate converges to Σ_s n₁(s) Σ_a q_γ(s, a)
    ∇π_θ(a|s), n₁ the undiscounted visits: another vector, in general the gradient of no
    objective. The two agree only at γ = 1.
    """
    undiscounted, policy = _corridor()
    gamma = 0.9
    mdp = dataclasses.replace(undiscounted, gamma=gamma)
    theta = CORRIDOR_THETA
    k_max = 5_000 if quick else 40_000
    counts = log_counts(k_max, 30 if quick else 45, start=10)
    episodes = rollout.sample_episodes(mdp, policy, theta, k_max, np.random.default_rng(70))
    running = np.zeros((2, counts.size))
    standard_errors = np.zeros_like(running)
    for row, keep in enumerate((True, False)):
        terms = estimators.reinforce(policy, theta, episodes, gamma,
                                     discount_weighting=keep).per_episode[:, 0]
        running[row] = running_mean(terms, counts)
        standard_errors[row] = running_standard_error(terms, counts)

    gammas = np.linspace(0.3, 1.0, 8 if quick else 36)
    by_gamma = np.array([
        [exact.policy_gradient(m, policy, theta)[0],
         exact.gamma_dropped_direction(m, policy, theta)[0]]
        for m in (dataclasses.replace(undiscounted, gamma=g) for g in gammas)
    ])
    return DiscountingData(
        gamma, counts, running, standard_errors,
        exact.policy_gradient(mdp, policy, theta),
        exact.gamma_dropped_direction(mdp, policy, theta),
        gammas, by_gamma[:, 0], by_gamma[:, 1],
    )
