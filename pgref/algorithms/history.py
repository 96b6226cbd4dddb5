r"""What a learning loop returns: θ, the exact 𝒥(θ), returns and gradient sizes, per update.

Every loop of :mod:`pgref.algorithms` returns a :class:`History`; the figures plot its fields.
The per-step loops can run many independent learners at once (``n_runs``); their histories then
carry a leading run axis, and say which runs stopped, at which episode and why (:class:`Stop`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = ["History", "Stop"]

EPISODE_NOT_ENDED = "episode did not end within max_steps"
"""The :attr:`Stop.reason` of a run whose episode reached no terminal state in ``max_steps``."""

THETA_NOT_FINITE = "θ became non-finite"
"""The :attr:`Stop.reason` of a run whose update made θ (or the baseline's w) NaN or ±inf."""


class Stop(NamedTuple):
    r"""A run that a per-step loop stopped, and why.

    Attributes
    ----------
    run : int
        The run r (0 for a single-run call).
    episode : int
        k, the 0-based index of the episode during which the run stopped; θ before it,
        ``theta[..., k, :]``, is the run's last recorded θ.
    reason : str
        :data:`EPISODE_NOT_ENDED` (π_θ no longer reaches a terminal state in ``max_steps``
        steps; the episode's return is unknown and nothing was learnt from it) or
        :data:`THETA_NOT_FINITE` (an update overflowed).
    """

    run: int
    episode: int
    reason: str


class History(NamedTuple):
    r"""The trace of one learning run, or of ``n_runs`` independent runs (leading axis R).

    Attributes
    ----------
    theta : ndarray, shape (U + 1, n_params), or (R, U + 1, n_params)
        θ₀, then θ after each recorded update. The exact and batch loops record every update;
        the per-step loops (:func:`~pgref.algorithms.PG_v1`, :func:`~pgref.algorithms.REINFORCE`)
        update θ after every step of an episode and record θ at the end of each episode.
        After a run stops (see ``stops``) its rows are NaN.
    objective : ndarray, shape (U + 1,) or (R, U + 1)
        The exact 𝒥(θ) at each recorded θ where the problem has one (tabular MDP, linear-
        quadratic problem, Gaussian bandit); NaN where it has none (a Gymnasium environment),
        after a stop, and where float64 cannot deliver it
        (:data:`pgref.algorithms.exact_trace.CONDITION_LIMIT`).
    gradient_norms : ndarray, shape (U,) or (R, U)
        ‖d‖ of the ascent direction d of each recorded update, θ ← θ + α d: the exact ∇𝒥 (or the
        natural direction), the batch estimate ∇̂𝒥, or for a per-step loop the sum over the
        episode's steps of the step directions, Σₜ dₜ = (θₖ₊₁ − θₖ)/α.
    episode_returns : ndarray, shape (E,) or (R, E)
        G(τ) = Σₜ γᵗ Rₜ₊₁ of every sampled episode, in order (empty for the exact loops); NaN
        for an episode cut at ``max_steps`` that stopped its run, and after a stop.
    episode_lengths : ndarray of int, shape (E,) or (R, E)
        T of every sampled episode (empty for the exact loops); ``max_steps`` for a cut episode,
        0 after a stop.
    n_projections : int
        How many updates left σ² below ``variance_floor`` and were followed by σ² ← floor.
    variance_floor : float or None
        The stated floor σ²_min, or None when θ holds no σ² (fixed variance, log σ², or not a
        Gaussian policy); then ``n_projections`` is 0.
    value_weights : ndarray, shape (U + 1, J) or (R, U + 1, J), or None
        The weights w of a learned baseline v̂(s) = wᵀx(s), recorded with θ; None without one.
    stops : tuple of Stop
        The runs a per-step loop stopped, in order of run; empty when every run finished.
    """

    theta: np.ndarray
    objective: np.ndarray
    gradient_norms: np.ndarray
    episode_returns: np.ndarray
    episode_lengths: np.ndarray
    n_projections: int
    variance_floor: float | None
    value_weights: np.ndarray | None = None
    stops: tuple[Stop, ...] = ()

    @property
    def n_runs(self) -> int:
        """R, the number of independent runs (1 for a history without a run axis)."""
        return 1 if self.theta.ndim == 2 else self.theta.shape[0]

    @property
    def n_stopped(self) -> int:
        """How many runs were stopped (see ``stops``)."""
        return len(self.stops)

    @property
    def n_updates(self) -> int:
        """U, the number of recorded updates."""
        return self.gradient_norms.shape[-1]

    @property
    def final_theta(self) -> np.ndarray:
        """θ after the last update, shape (n_params,) or (R, n_params); NaN for a stopped run."""
        return self.theta[..., -1, :]


class Recorder:
    """Collects a :class:`History` while a loop runs (private to pgref.algorithms).

    Parameters
    ----------
    objective : callable or None
        θ ↦ exact 𝒥(θ), or None (then 𝒥 is recorded as NaN).
    theta : ndarray, shape (n_params,)
        θ₀.
    variance_floor : float or None
        The floor in force, or None when θ holds no σ².
    value_weights : ndarray or None
        The learned baseline's initial weights, or None without one.
    """

    def __init__(self, objective: Callable[[np.ndarray], float] | None, theta: np.ndarray,
                 variance_floor: float | None, value_weights: np.ndarray | None = None):
        self._objective = objective
        self._variance_floor = variance_floor
        self._thetas = [theta.copy()]
        self._objectives = [self._evaluate(theta)]
        self._norms: list[float] = []
        self._returns: list[float] = []
        self._lengths: list[int] = []
        self._weights = None if value_weights is None else [value_weights.copy()]

    def _evaluate(self, theta: np.ndarray) -> float:
        return np.nan if self._objective is None else float(self._objective(theta))

    def update(self, theta: np.ndarray, direction_norm: float,
               value_weights: np.ndarray | None = None) -> None:
        """Record θ after an update whose direction had norm ``direction_norm``."""
        self._thetas.append(theta.copy())
        self._objectives.append(self._evaluate(theta))
        self._norms.append(float(direction_norm))
        if self._weights is not None:
            self._weights.append(value_weights.copy())

    def episodes(self, returns: np.ndarray, lengths: np.ndarray) -> None:
        """Record G(τ) and T of each episode of a sampled batch."""
        self._returns.extend(np.asarray(returns, dtype=float).tolist())
        self._lengths.extend(np.asarray(lengths, dtype=int).tolist())

    def history(self, n_projections: int) -> History:
        """The :class:`History`, with the number of σ² projections the loop made."""
        return History(
            theta=np.array(self._thetas),
            objective=np.array(self._objectives),
            gradient_norms=np.array(self._norms),
            episode_returns=np.array(self._returns, dtype=float),
            episode_lengths=np.array(self._lengths, dtype=int),
            n_projections=int(n_projections),
            variance_floor=self._variance_floor,
            value_weights=None if self._weights is None else np.array(self._weights),
        )
