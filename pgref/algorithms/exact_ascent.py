r"""Gradient ascent on the exact objective: θ ← θ + α ∇J(θ), with ∇J from linear solves.

The lecture's update (lecture: "Training Policy Network": "We can use gradient descent
(ascent)") with the true gradient in place of a Monte-Carlo estimate: the noise-free reference
every sampled loop is compared with. J and ∇J come from :mod:`pgref.exact` for a tabular MDP, from
:mod:`pgref.lqr` for the linear-quadratic problem and the Gaussian bandit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pgref import _checks
from pgref.algorithms.ascent import DEFAULT_VARIANCE_FLOOR, AscentStep
from pgref.algorithms.history import History, Recorder
from pgref.problems import ExactProblem

__all__ = ["exact_gradient_ascent", "gradient_ascent"]

Function = Callable[[np.ndarray], float]
Gradient = Callable[[np.ndarray], np.ndarray]


def gradient_ascent(objective: Function | None, direction: Gradient, theta, alpha: float,
                    n_updates: int, *, policy=None,
                    variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""θ ← θ + α d(θ), ``n_updates`` times, for any direction d (∇J, a natural gradient, …).

    Parameters
    ----------
    objective : callable or None
        θ ↦ J(θ), recorded at every iterate (NaN when None).
    direction : callable
        θ ↦ d(θ), shape (n_params,).
    theta : array_like, shape (n_params,)
        θ₀.
    alpha : float
        α > 0.
    n_updates : int
        U ≥ 1.
    policy : pgref policy, optional
        Needed only to know whether θ's last entry is σ² (then the floor applies); with
        ``policy`` given, θ must have its ``n_params`` entries.
    variance_floor : float
        σ²_min > 0 (see :data:`~pgref.algorithms.DEFAULT_VARIANCE_FLOOR`).

    Returns
    -------
    History
        U + 1 iterates, J at each, ‖d(θᵢ)‖ for i < U; no episodes.

    Raises
    ------
    FloatingPointError
        If an update makes θ non-finite (α too large).
    """
    theta = (_checks.finite_array("theta", theta, ndim=1) if policy is None
             else _checks.parameter_vector(theta, policy.n_params)).copy()
    alpha = _checks.positive_scalar("alpha", alpha)
    n_updates = _checks.positive_int("n_updates", n_updates)
    variance_floor = _checks.positive_scalar("variance_floor", variance_floor)
    step = AscentStep(alpha, policy, variance_floor)
    recorder = Recorder(objective, theta, step.floor)
    for _ in range(n_updates):
        d = np.asarray(direction(theta), dtype=float)
        theta = step(theta, d)
        recorder.update(theta, np.linalg.norm(d))
    return recorder.history(step.n_projections)


def exact_gradient_ascent(problem, policy, theta, alpha: float, n_updates: int, *,
                          variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""Gradient ascent on the exact J: θ ← θ + α ∇J(θ).

    Parameters
    ----------
    problem : pgref.problems.ExactProblem
        A TabularMDP, a linear-quadratic problem or a Gaussian bandit: a problem with
        ``objective(policy, theta)`` and ``policy_gradient(policy, theta)``.
    policy : pgref policy
        A discrete policy over tabular states for a TabularMDP; a GaussianPolicy otherwise (for
        the linear-quadratic problem, on the identity features x(s) = s).
    theta : array_like, shape (n_params,)
        θ₀.
    alpha : float
        α > 0. For an L-smooth J, α ≤ 1/L makes J increase at every step.
    n_updates : int
        U ≥ 1.
    variance_floor : float
        σ²_min > 0, applied where θ holds σ² (see :data:`~pgref.algorithms.DEFAULT_VARIANCE_FLOOR`).

    Returns
    -------
    History
        θ and the exact J(θ) at U + 1 iterates, ‖∇J(θᵢ)‖ for i < U, the number of σ²
        projections.

    Raises
    ------
    pgref.lqr.UnstableClosedLoopError
        On the linear-quadratic problem, if an update leaves a gain with √γ·ρ(A + BK) ≥ 1
        (J = −∞ there): lower alpha.

    Notes
    -----
    Lecture, "Training Policy Network":

        θ ← θ + α ∇J(π_θ)

    with ∇J(π_θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s) (the policy gradient theorem,
    :func:`pgref.exact.policy_gradient`) on a tabular MDP, and the Lyapunov-solve gradient of
    :func:`pgref.lqr.policy_gradient` on the linear-quadratic problem. On the linear-quadratic
    problem with learned σ², ∂J/∂σ² = −(tr R + γ tr(BᵀXB))/(1 − γ) < 0 does not shrink as σ²
    falls, so σ² reaches the floor after finitely many steps and stays there (counted in
    ``n_projections``); with log σ² the step in log σ² is α σ² ∂J/∂σ², so σ² falls
    geometrically and never needs the floor.
    """
    if not isinstance(problem, ExactProblem):
        raise ValueError(
            "problem must have an exact J and ∇J (a pgref.TabularMDP, a "
            "pgref.lqr.LinearQuadraticProblem or a pgref.lqr.GaussianBandit); got "
            f"{type(problem).__name__}: sample it with PG_v1_batch or REINFORCE_batch instead"
        )
    return gradient_ascent(lambda theta: problem.objective(policy, theta),
                           lambda theta: problem.policy_gradient(policy, theta), theta, alpha,
                           n_updates, policy=policy, variance_floor=variance_floor)


