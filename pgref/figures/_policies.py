r"""Data of figures 1 and 2: the policies, and the log-derivative trick E[∇ log π] = 0."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref.features import moving_particle_features, shared_action_features
from pgref.figures._running import log_counts, running_mean
from pgref.policies import GaussianPolicy, SoftmaxLinearPolicy

__all__ = ["LogDerivativeData", "PoliciesData", "log_derivative_data", "policies_data"]


# -- 1. Policies (lecture: "Example: Softmax", "Example: Gaussian") ------------------------------


class PoliciesData(NamedTuple):
    """Data behind ``policies.png``.

    Attributes
    ----------
    theta_action : ndarray, shape (G,)
        θ₃, the weight of the action code a in x(s, a) = [x, y, a].
    action_codes : ndarray, shape (A,)
    softmax_probs : ndarray, shape (G, A)
        π_θ(a|s) at each θ₃ (the same in every state s: the position does not matter).
    actions : ndarray, shape (M,)
        The grid of scalar actions for the Gaussian densities.
    gaussian_params : ndarray, shape (P, 2)
        (θ, σ²) of each Gaussian, with x(s) = 1 so the mean is θ.
    densities : ndarray, shape (P, M)
        π_θ(a|s) = N(a; θ, σ²) on the grid.
    """

    theta_action: np.ndarray
    action_codes: np.ndarray
    softmax_probs: np.ndarray
    actions: np.ndarray
    gaussian_params: np.ndarray
    densities: np.ndarray


def policies_data(quick: bool = False) -> PoliciesData:
    r"""Softmax probabilities of the moving particle as θ₃ varies; Gaussian densities for (θ, σ²).

    Notes
    -----
    Softmax (lecture: "Example: Softmax") on the moving particle's x(s, a) = [x, y, a] with four
    directions coded a = 0, 1, 2, 3: π_θ(a|s) = exp(θ₃ a) / Σ_b exp(θ₃ b), whatever θ₁, θ₂ and
    the position. Gaussian (lecture: "Example: Gaussian"): π_θ(a|s) = N(θᵀx(s), σ²), x(s) = 1.
    """
    n_grid = 61 if quick else 241
    codes = np.arange(4.0)
    position = np.array([[1.0, -0.5]])
    softmax = SoftmaxLinearPolicy(moving_particle_features(position, codes))
    theta_action = np.linspace(-3.0, 3.0, n_grid)
    probs = np.stack([softmax.action_probs(np.array([0.4, -0.2, t]))[0] for t in theta_action])

    gaussian = GaussianPolicy(np.ones((1, 1)), learn_variance=True)
    params = np.array([[0.0, 1.0], [1.5, 0.25], [-1.0, 2.25]])
    actions = np.linspace(-5.0, 5.0, 4 * n_grid + 1)
    states = np.zeros(actions.shape, dtype=int)
    densities = np.stack([gaussian.density(p, states, actions) for p in params])
    return PoliciesData(theta_action, codes, probs, actions, params, densities)


# -- 2. The log-derivative trick (lecture: "Log-Derivative Trick") -------------------------------


class LogDerivativeData(NamedTuple):
    r"""Data behind ``log_derivative.png``: scores of sampled actions and their running means.

    Attributes
    ----------
    counts : ndarray of int, shape (C,)
        The sample sizes N at which the running means are recorded (log-spaced, ending at N_max).
    softmax_theta : ndarray, shape (A,)
        θ of the softmax over A actions with x(s, a) = e_a, in one state.
    softmax_action_probs : ndarray, shape (A,)
        π_θ(a|s).
    softmax_actions : ndarray of int, shape (N_max,)
        Aᵢ ∼ π_θ(·|s).
    softmax_scores : ndarray, shape (N_max, A)
        ∇ log π_θ(Aᵢ|s), from ``policy.grad_log_prob``.
    softmax_running_mean : ndarray, shape (C, A)
        1/N Σ_{i≤N} ∇ log π_θ(Aᵢ|s) at each N of ``counts``.
    softmax_exact_mean : ndarray, shape (A,)
        Σ_a π_θ(a|s) ∇ log π_θ(a|s) = Σ_a ∇π_θ(a|s), summed exactly over the actions: 0.
    gaussian_theta : ndarray, shape (2,)
        (θ, σ²) of the Gaussian N(θ·1, σ²).
    gaussian_actions : ndarray, shape (N_max,)
        Aᵢ ∼ N(θ, σ²).
    gaussian_scores : ndarray, shape (N_max, 2)
        (∂/∂θ, ∂/∂σ²) log π_θ(Aᵢ|s).
    gaussian_running_mean : ndarray, shape (C, 2)
    """

    counts: np.ndarray
    softmax_theta: np.ndarray
    softmax_action_probs: np.ndarray
    softmax_actions: np.ndarray
    softmax_scores: np.ndarray
    softmax_running_mean: np.ndarray
    softmax_exact_mean: np.ndarray
    gaussian_theta: np.ndarray
    gaussian_actions: np.ndarray
    gaussian_scores: np.ndarray
    gaussian_running_mean: np.ndarray


def log_derivative_data(quick: bool = False) -> LogDerivativeData:
    r"""Scores ∇ log π_θ(A|s) of sampled actions: their sample mean tends to E[∇ log π] = 0.

    Parameters
    ----------
    quick : bool
        2 000 samples instead of 50 000.

    Returns
    -------
    LogDerivativeData

    Notes
    -----
    Lecture, "Log-Derivative Trick": ∇f = f ∇log f for f > 0. Applied to f = π_θ(·|s),

        E_{A∼π_θ}[∇ log π_θ(A|s)] = ∫_a π_θ(a|s) ∇ log π_θ(a|s) = ∫_a ∇π_θ(a|s) = ∇ 1 = 0,

    the fact behind every baseline (lecture: "REINFORCE"; blog: "causality trick"). Shown for a
    softmax over four actions and for the Gaussian N(θ, σ²) with learned σ², whose scores are
    (A − θ)/σ² and ((A − θ)² − σ²)/(2σ⁴).
    """
    rng = np.random.default_rng(20)
    n_max = 2_000 if quick else 50_000
    counts = log_counts(n_max, 60 if quick else 160)

    softmax = SoftmaxLinearPolicy(shared_action_features(np.eye(4), 1))
    softmax_theta = np.array([0.5, -0.5, 1.0, 0.0])
    states = np.zeros(n_max, dtype=int)
    softmax_actions = softmax.sample(softmax_theta, states, rng)
    softmax_scores = softmax.grad_log_prob(softmax_theta, states, softmax_actions)
    pi = softmax.action_probs(softmax_theta)[0]  # (A,)
    exact_mean = pi @ softmax.grad_log_prob_table(softmax_theta)[0]  # Σ_a π(a) ∇log π(a)

    gaussian = GaussianPolicy(np.ones((1, 1)), learn_variance=True)
    gaussian_theta = np.array([1.5, 0.25])
    gaussian_actions = gaussian.sample(gaussian_theta, states, rng)
    gaussian_scores = gaussian.grad_log_prob(gaussian_theta, states, gaussian_actions)
    return LogDerivativeData(
        counts, softmax_theta, pi, softmax_actions, softmax_scores,
        running_mean(softmax_scores, counts), exact_mean,
        gaussian_theta, gaussian_actions, gaussian_scores,
        running_mean(gaussian_scores, counts),
    )
