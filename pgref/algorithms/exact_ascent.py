r"""Gradient ascent on the exact objective: θ ← θ + α ∇𝒥(θ), with ∇𝒥 from linear solves.

The lecture's update (lecture: "Training Policy Network": "We can use gradient descent
(ascent)") with the true gradient in place of a Monte-Carlo estimate: the noise-free reference
every sampled loop is compared with. 𝒥 and ∇𝒥 come from :mod:`pgref.exact` for a tabular MDP, from
:mod:`pgref.lqr` for the linear-quadratic problem and the Gaussian bandit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from pgref import checks, exact
from pgref.algorithms.ascent import DEFAULT_VARIANCE_FLOOR, AscentStep
from pgref.algorithms.history import History, Recorder
from pgref.mdp import TabularMDP
from pgref.problems import ExactProblem

__all__ = ["StepSizeError", "exact_gradient_ascent", "gradient_ascent"]

Function = Callable[[np.ndarray], float]
Gradient = Callable[[np.ndarray], np.ndarray]

OUT_OF_REACH = (exact.PrecisionError, exact.NonTerminatingPolicyError)
"""What the exact solvers raise where 𝒥 is infinite or float64 cannot deliver it accurately."""


class StepSizeError(ValueError):
    """An ascent step left the region where 𝒥 is finite and accurate in float64.

    Attributes
    ----------
    alpha : float
        The step size α that took θ there.
    update : int
        The number of the update (1-based) whose result could not be evaluated.
    """

    def __init__(self, message: str, alpha: float, update: int):
        super().__init__(message)
        self.alpha = alpha
        self.update = update


def _step_size_error(error: ValueError, alpha: float, update: int) -> StepSizeError:
    return StepSizeError(
        f"update {update} with step size alpha = {alpha!r} moved θ to where 𝒥 or its "
        f"direction cannot be computed (infinite, or not accurate in float64): {error} — "
        f"lower alpha, or stop after {update - 1} updates",
        alpha, update,
    )


def gradient_ascent(objective: Function | None, direction: Gradient, theta, alpha: float,
                    n_updates: int, *, policy=None,
                    variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""θ ← θ + α d(θ), ``n_updates`` times, for any direction d (∇𝒥, a natural gradient, …).

    Parameters
    ----------
    objective : callable or None
        θ ↦ 𝒥(θ), recorded at every iterate (NaN when None).
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
        U + 1 iterates, 𝒥 at each, ‖d(θᵢ)‖ for i < U; no episodes.

    Raises
    ------
    FloatingPointError
        If an update makes θ non-finite (α too large).
    StepSizeError
        If 𝒥 or d at an updated θ raises :class:`pgref.exact.PrecisionError` or
        :class:`pgref.exact.NonTerminatingPolicyError`: the step left the region where 𝒥 is
        finite and accurate in float64. The message names α and the update; nothing is
        recorded for that θ, so no recorded 𝒥 is infinite, inaccurate or above 𝒥*.
    """
    theta = (checks.finite_array("theta", theta, ndim=1) if policy is None
             else checks.parameter_vector(theta, policy.n_params)).copy()
    alpha = checks.positive_scalar("alpha", alpha)
    n_updates = checks.positive_int("n_updates", n_updates)
    variance_floor = checks.positive_scalar("variance_floor", variance_floor)
    step = AscentStep(alpha, policy, variance_floor)
    recorder = Recorder(objective, theta, step.floor)  # 𝒥(θ₀): its errors are the caller's
    for update in range(1, n_updates + 1):
        try:
            d = np.asarray(direction(theta), dtype=float)
            theta = step(theta, d)
            recorder.update(theta, np.linalg.norm(d))
        except OUT_OF_REACH as error:
            if update == 1 and step.n_steps == 0:  # d(θ₀) itself: not the step's doing
                raise
            raise _step_size_error(error, alpha, update) from error
    return recorder.history(step.n_projections)


def exact_gradient_ascent(problem, policy, theta, alpha: float, n_updates: int, *,
                          variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""Gradient ascent on the exact 𝒥: θ ← θ + α ∇𝒥(θ).

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
        α > 0. For an L-smooth 𝒥, α ≤ 1/L makes 𝒥 increase at every step.
    n_updates : int
        U ≥ 1.
    variance_floor : float
        σ²_min > 0, applied where θ holds σ² (see :data:`~pgref.algorithms.DEFAULT_VARIANCE_FLOOR`).

    Returns
    -------
    History
        θ and the exact 𝒥(θ) at U + 1 iterates, ‖∇𝒥(θᵢ)‖ for i < U, the number of σ²
        projections.

    Raises
    ------
    pgref.lqr.UnstableClosedLoopError
        On the linear-quadratic problem, if an update leaves a gain with √γ·ρ(A + BL) ≥ 1
        (𝒥 = −∞ there): lower alpha.
    StepSizeError
        On a tabular MDP, if an update moves θ where 𝒥 is infinite or float64 cannot deliver it
        to 1e−9 (a policy too close to deterministic): lower alpha.

    Notes
    -----
    Lecture, "Training Policy Network":

        θ ← θ + α ∇𝒥(π_θ)

    with ∇𝒥(π_θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s) (the policy gradient theorem,
    :func:`pgref.exact.policy_gradient`) on a tabular MDP, and the Lyapunov-solve gradient of
    :func:`pgref.lqr.policy_gradient` on the linear-quadratic problem. On the linear-quadratic
    problem with learned σ², ∂𝒥/∂σ² = −(tr R + γ tr(BᵀXB))/(1 − γ) < 0 does not shrink as σ²
    falls, so σ² reaches the floor after finitely many steps and stays there (counted in
    ``n_projections``); with log σ² the step in log σ² is α σ² ∂𝒥/∂σ² = −α c σ² (c > 0 the
    cost above), so each step multiplies σ² by exp(−α c σ²): σ² never reaches 0 and never
    needs the floor, but it falls only like σ²ₜ ≈ 1/(α c t), not geometrically (the per-step
    factor tends to 1).
    """
    if not isinstance(problem, ExactProblem):
        raise ValueError(
            "problem must have an exact 𝒥 and ∇𝒥 (a pgref.TabularMDP, a "
            "pgref.lqr.LinearQuadraticProblem or a pgref.lqr.GaussianBandit); got "
            f"{type(problem).__name__}: sample it with PG_v1_batch or REINFORCE_batch instead"
        )
    objective, direction = (
        _sharing_solves(problem, policy) if isinstance(problem, TabularMDP)
        else (partial(problem.objective, policy), partial(problem.policy_gradient, policy)))
    return gradient_ascent(objective, direction, theta, alpha, n_updates, policy=policy,
                           variance_floor=variance_floor)


def _sharing_solves(mdp: TabularMDP, policy) -> tuple[Function, Gradient]:
    r"""θ ↦ 𝒥(θ) and θ ↦ ∇𝒥(θ) with one pair of solves per iterate: 𝒥(θ) is taken from
    :func:`pgref.exact.objective_and_gradient`, whose ∇𝒥(θ) is kept for the direction's call at
    the same θ. Where ∇𝒥(θ) cannot be certified, 𝒥(θ) comes alone from
    :func:`pgref.exact.objective` and the error is left to the direction's own call, as if
    nothing were shared."""
    kept: dict[bytes, np.ndarray] = {}

    def objective(theta: np.ndarray) -> float:
        kept.clear()
        try:
            both = exact.objective_and_gradient(mdp, policy, theta)
        except OUT_OF_REACH:
            return exact.objective(mdp, policy, theta)
        kept[theta.tobytes()] = both.gradient
        return both.objective

    def direction(theta: np.ndarray) -> np.ndarray:
        gradient = kept.pop(theta.tobytes(), None)
        return exact.policy_gradient(mdp, policy, theta) if gradient is None else gradient

    return objective, direction


