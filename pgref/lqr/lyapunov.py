r"""Exact 𝒥(θ) and ∇𝒥(θ) of the linear-Gaussian policy on a linear-quadratic problem.

Two discrete Lyapunov equations, solved as linear systems, give the value matrix X and the
discounted state second moment Σ; :func:`objective` and :func:`policy_gradient` are built from
them, with no sampling. :func:`optimal_gain` iterates the discounted Riccati equation.
"""

from __future__ import annotations

import numpy as np

from pgref import checks
from pgref.lqr.policy import gain_and_variance
from pgref.lqr.problem import LinearQuadraticProblem, check_problem, checked_gain
from pgref.policies.gaussian import GaussianPolicy


class UnstableClosedLoopError(ValueError):
    r"""√γ·ρ(A + BL) ≥ 1: the discounted costs grow without bound and 𝒥 = −∞."""


def closed_loop_matrix(problem: LinearQuadraticProblem, gain) -> np.ndarray:
    r"""M = A + B L, shape (n, n): the mean dynamics E[sₜ₊₁ | sₜ] = M sₜ under a ∼ N(L s, σ² I)."""
    gain = checked_gain(problem, gain)
    return problem.A + problem.B @ gain


def discounted_spectral_radius(problem: LinearQuadraticProblem, gain) -> float:
    r"""√γ·ρ(A + BL); 𝒥 is finite when it is below 1 and −∞ otherwise."""
    radius = float(np.abs(np.linalg.eigvals(closed_loop_matrix(problem, gain))).max())
    return float(np.sqrt(problem.gamma)) * radius


def stable_closed_loop(problem: LinearQuadraticProblem, gain: np.ndarray) -> np.ndarray:
    closed_loop = closed_loop_matrix(problem, gain)
    radius = discounted_spectral_radius(problem, gain)
    if radius >= 1.0:
        raise UnstableClosedLoopError(
            f"the closed loop A + BL is unstable under discounting: √γ·ρ(A + BL) = {radius:.6g} "
            "≥ 1, so the discounted costs grow without bound and 𝒥 = −∞ for this gain (the "
            "objective and its gradient do not exist). Use a gain with √γ·ρ(A + BL) < 1, for "
            "instance optimal_gain(problem)"
        )
    return closed_loop


def _discounted_lyapunov(transition: np.ndarray, constant: np.ndarray, gamma: float) -> np.ndarray:
    r"""Y solving Y = C + γ F Y Fᵀ, by the linear system (I − γ F ⊗ F) vec Y = vec C.

    With row-major vec, vec(F Y Fᵀ) = (F ⊗ F) vec Y. The system has n² unknowns; it is
    non-singular when √γ·ρ(F) < 1, where Y = Σₜ γᵗ Fᵗ C (Fᵀ)ᵗ.
    """
    n = transition.shape[0]
    system = np.eye(n * n) - gamma * np.kron(transition, transition)
    solution = np.linalg.solve(system, constant.ravel()).reshape(n, n)
    return 0.5 * (solution + solution.T)


def value_matrix(problem: LinearQuadraticProblem, gain) -> np.ndarray:
    r"""X solving X = Q + LᵀRL + γ MᵀXM, shape (n, n), M = A + BL.

    Notes
    -----
    Σₜ γᵗ E[sₜᵀ(Q + LᵀRL)sₜ] = sᵀXs for the deterministic policy a = Ls started at s; the
    Gaussian policy's value adds a constant (see :func:`objective`). Raises
    :class:`UnstableClosedLoopError` when √γ·ρ(M) ≥ 1.
    """
    gain = checked_gain(problem, gain)
    closed_loop = stable_closed_loop(problem, gain)
    cost = problem.Q + gain.T @ problem.R @ gain
    return _discounted_lyapunov(closed_loop.T, cost, problem.gamma)


def state_second_moment(problem: LinearQuadraticProblem, gain, variance: float) -> np.ndarray:
    r"""Σ = Σₜ γᵗ E[sₜsₜᵀ] under a ∼ N(Ls, σ² I), shape (n, n).

    Parameters
    ----------
    problem : LinearQuadraticProblem
    gain : array_like, shape (d, n)
        L.
    variance : float
        σ² > 0.

    Notes
    -----
    Sₜ = E[sₜsₜᵀ] obeys Sₜ₊₁ = M Sₜ Mᵀ + σ² BBᵀ from S₀ = Cov[s₀] + E[s₀]E[s₀]ᵀ, so

        Σ = S₀ + γ M Σ Mᵀ + (γ / (1 − γ)) σ² BBᵀ

    the discounted visit counts n(s) of the tabular case, as a second-moment matrix. It is
    the uncentred moment: the mean of s₀ enters through S₀.
    """
    gain = checked_gain(problem, gain)
    variance = checks.positive_scalar("variance", variance)
    closed_loop = stable_closed_loop(problem, gain)
    gamma = problem.gamma
    noise = (gamma / (1.0 - gamma)) * variance * problem.B @ problem.B.T
    return _discounted_lyapunov(closed_loop, problem.initial_second_moment + noise, gamma)


def noise_cost_per_step(problem, value, variance) -> float:
    """σ²(tr R + γ tr(BᵀXB)): the expected extra cost of one step's action noise."""
    gamma = problem.gamma
    return variance * (np.trace(problem.R) + gamma * np.trace(problem.B.T @ value @ problem.B))


def objective(problem: LinearQuadraticProblem, policy: GaussianPolicy, theta) -> float:
    r"""The exact 𝒥(θ) = E[Σₜ γᵗ rₜ₊₁] of the linear-Gaussian policy a ∼ N(Ls, σ² I), L = Θᵀ.

    Parameters
    ----------
    problem : LinearQuadraticProblem
    policy : GaussianPolicy
        On the identity features x(s) = s (see :func:`linear_gaussian_policy`).
    theta : array_like, shape (n_params,)
        [Θ row-major (n × d), (σ² or log σ²)].

    Returns
    -------
    float
        𝒥(θ) ≤ 0.

    Raises
    ------
    UnstableClosedLoopError
        When √γ·ρ(A + BL) ≥ 1: then 𝒥 = −∞ (unless the unstable direction is neither excited by
        s₀ or the noise nor penalised by Q and R, a degenerate case pgref does not single out).

    Notes
    -----
    Lecture: "Example: Gaussian" on "Example: Moving Particle". Derivation: with aₜ = Ksₜ + σξₜ,
    ξₜ ∼ N(0, I_d) independent of sₜ, and M = A + BL, P = Q + LᵀRL,

        E[rₜ₊₁ | sₜ] = −(sₜᵀ P sₜ + σ² tr R)          (E[ξᵀRξ] = tr R)
        sₜ₊₁ = M sₜ + σ B ξₜ

    Guess v(s) = −(sᵀXs + c). The Bellman equation v(s) = E[r₁ + γ v(s₁) | s₀ = s] gives

        sᵀXs + c = sᵀPs + σ² tr R + γ (sᵀMᵀXMs + σ² tr(BᵀXB) + c)

    so, matching the quadratic and the constant parts,

        X = P + γ MᵀXM                                (discrete Lyapunov equation)
        c = σ² (tr R + γ tr(BᵀXB)) / (1 − γ)
        𝒥 = E[v(s₀)] = −tr(X S₀) − c,    S₀ = Cov[s₀] + E[s₀]E[s₀]ᵀ

    X = Σₜ γᵗ (Mᵀ)ᵗ P Mᵗ converges exactly when √γ·ρ(M) < 1. X is solved as the n² × n²
    system (I − γ Mᵀ ⊗ Mᵀ) vec X = vec P with ``np.linalg.solve``. 𝒥 is linear and
    non-increasing in σ² (X does not depend on σ²): the best variance is σ² → 0.
    """
    gain, variance = gain_and_variance(problem, policy, theta)
    value = value_matrix(problem, gain)
    noise = noise_cost_per_step(problem, value, variance) / (1.0 - problem.gamma)
    return float(-np.sum(value * problem.initial_second_moment) - noise)


def policy_gradient(problem: LinearQuadraticProblem, policy: GaussianPolicy, theta) -> np.ndarray:
    r"""The exact ∇𝒥(θ) of the linear-Gaussian policy, shape (n_params,).

    Parameters
    ----------
    problem, policy, theta
        As for :func:`objective`.

    Returns
    -------
    gradient : ndarray, shape (n_params,)
        [∇_Θ 𝒥 row-major (n × d), (∂𝒥/∂σ² or ∂𝒥/∂(log σ²))], matching θ.

    Notes
    -----
    Lecture: "Example: Gaussian". Write 𝒥 = −tr(X(L) S̃) − σ² tr(R)/(1 − γ) with
    S̃ = S₀ + (γ/(1 − γ)) σ² BBᵀ, which does not depend on L (the objective's constant c,
    rearranged). Differentiating X = P + γ MᵀXM in the direction dL:

        dX = γ Mᵀ dX M + (Eᵀ dL + dLᵀ E),    E = RL + γ BᵀXM = (R + γBᵀXB) L + γ BᵀXA

    so dX = Σₜ γᵗ (Mᵀ)ᵗ (EᵀdL + dLᵀE) Mᵗ and tr(dX S̃) = 2 tr(dLᵀ E Σ), where

        Σ = S̃ + γ M Σ Mᵀ = S₀ + γ M Σ Mᵀ + (γ/(1 − γ)) σ² BBᵀ

    is the discounted second moment of the state (:func:`state_second_moment`). Hence

        ∇_L 𝒥 = −2 [(R + γBᵀXB) L + γ BᵀXA] Σ          (d × n),    ∇_Θ 𝒥 = (∇_L 𝒥)ᵀ
        ∂𝒥/∂σ² = −(tr R + γ tr(BᵀXB)) / (1 − γ) ≤ 0,    ∂𝒥/∂(log σ²) = σ² ∂𝒥/∂σ²

    The L-gradient is the tabular theorem's Σₛ n(s) Σₐ q(s,a)∇π(a|s) with n(s) replaced by Σ;
    it vanishes at the Riccati gain (:func:`optimal_gain`) for every σ².
    """
    gain, variance = gain_and_variance(problem, policy, theta)
    value = value_matrix(problem, gain)
    second_moment = state_second_moment(problem, gain, variance)
    a, b, gamma = problem.A, problem.B, problem.gamma
    slope = (problem.R + gamma * b.T @ value @ b) @ gain + gamma * b.T @ value @ a  # (d, n)
    grad_gain = -2.0 * slope @ second_moment
    parts = [grad_gain.T.ravel()]
    if policy.learn_variance:
        grad_variance = -noise_cost_per_step(problem, value, 1.0) / (1.0 - gamma)
        if policy.variance_parameter == "log_variance":
            grad_variance *= variance
        parts.append([grad_variance])
    return np.concatenate(parts)


def optimal_gain(
    problem: LinearQuadraticProblem, tolerance: float = 1e-12, max_iterations: int = 100_000
) -> np.ndarray:
    r"""L*, the optimal gain, from the discounted Riccati equation iterated to its fixed point.

    Parameters
    ----------
    problem : LinearQuadraticProblem
    tolerance : float
        Stop when max |Xₖ₊₁ − Xₖ| ≤ tolerance · max(1, max |Xₖ₊₁|).
    max_iterations : int

    Returns
    -------
    gain : ndarray, shape (d, n)

    Raises
    ------
    ValueError
        If R + γBᵀXB is singular (needs R positive definite, or B of full column rank with
        X positive definite), the iteration does not converge, or L* does not stabilise the
        system (√γ·ρ(A + BL*) ≥ 1: (A, B) cannot be stabilised, or (A, Q) hides an unstable mode).

    Notes
    -----
    Value iteration on the quadratic value matrix, from X₀ = Q:

        Kₖ = −γ (R + γ BᵀXₖB)⁻¹ BᵀXₖA             (a linear solve, no inverse)
        Xₖ₊₁ = Q + γ AᵀXₖA + γ AᵀXₖB Kₖ

    At the fixed point E = (R + γBᵀXB)L + γBᵀXA = 0, so ∇_L 𝒥 = −2EΣ = 0 (see
    :func:`policy_gradient`). L* is the same for every σ² and every initial distribution: the
    noise adds the constant c, and L* minimises X(L) itself. The optimal variance is σ² → 0,
    since ∂𝒥/∂σ² = −(tr R + γ tr(BᵀXB))/(1 − γ) ≤ 0: the best policy is deterministic, a = L*s,
    a limit no Gaussian policy attains.
    """
    check_problem(problem)
    tolerance = checks.positive_scalar("tolerance", tolerance)
    max_iterations = checks.positive_int("max_iterations", max_iterations)
    a, b, q, r, gamma = problem.A, problem.B, problem.Q, problem.R, problem.gamma
    value = q.copy()
    for _ in range(max_iterations):
        try:
            gain = -gamma * np.linalg.solve(r + gamma * b.T @ value @ b, b.T @ value @ a)
        except np.linalg.LinAlgError as error:
            raise ValueError(
                "R + γBᵀXB is singular in the Riccati iteration: optimal_gain needs R positive "
                "definite (or actions that always reach a penalised state)"
            ) from error
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
            new_value = q + gamma * a.T @ value @ a + gamma * a.T @ value @ b @ gain
            new_value = 0.5 * (new_value + new_value.T)
        change = float(np.abs(new_value - value).max())
        value = new_value
        if not np.all(np.isfinite(value)):
            raise ValueError(
                "the discounted Riccati iteration diverged (X became infinite): a penalised "
                "mode with √γ·|λ| ≥ 1 cannot be controlled through B, so every gain has 𝒥 = −∞"
            )
        if change <= tolerance * max(1.0, float(np.abs(value).max())):
            gain = -gamma * np.linalg.solve(r + gamma * b.T @ value @ b, b.T @ value @ a)
            radius = discounted_spectral_radius(problem, gain)
            if radius >= 1.0:
                raise ValueError(
                    f"the Riccati fixed point does not stabilise the problem: √γ·ρ(A + BL*) = "
                    f"{radius:.6g} ≥ 1 (an unstable mode cannot be controlled through B, or Q "
                    "does not see it); no gain has a finite objective with a penalised mode"
                )
            return gain
    raise ValueError(
        f"the discounted Riccati iteration did not converge within max_iterations="
        f"{max_iterations} to tolerance={tolerance}: the problem may not be stabilisable "
        "under discounting; raise max_iterations or check A and B"
    )
