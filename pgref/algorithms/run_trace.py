r"""The record the per-step loops keep of R runs: θ (and w) after every episode, returns, stops.

Arrays are allocated once for R runs × E episodes and filled as episodes end; a stopped run
keeps NaN from its stop on. :meth:`RunTrace.history` turns the record into a
:class:`~pgref.algorithms.History`, with the exact 𝒥 of every recorded θ evaluated at the end in
one call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pgref.algorithms.history import EPISODE_NOT_ENDED, THETA_NOT_FINITE, History, Stop

__all__ = ["RunTrace"]


class RunTrace:
    r"""θ₀, …, θ_K, G(τ), T and the stops of R runs of a per-step loop.

    Parameters
    ----------
    n_runs, n_episodes : int
        R and E (the episodes of each run).
    theta : ndarray, shape (n_params,)
        θ₀, shared by all runs.
    value_weights : ndarray, shape (J,), or None
        w₀ of a learned baseline.
    """

    def __init__(self, n_runs: int, n_episodes: int, theta: np.ndarray,
                 value_weights: np.ndarray | None = None):
        self.theta = np.full((n_runs, n_episodes + 1, theta.shape[0]), np.nan)
        self.theta[:, 0] = theta
        self.returns = np.full((n_runs, n_episodes), np.nan)
        self.lengths = np.zeros((n_runs, n_episodes), dtype=np.int64)
        self.value_weights = None
        if value_weights is not None:
            self.value_weights = np.full((n_runs, n_episodes + 1, value_weights.shape[0]), np.nan)
            self.value_weights[:, 0] = value_weights
        self.stops: list[Stop] = []

    def episode(self, run: int, k: int, G: float, length: int, theta: np.ndarray,
                value_weights: np.ndarray | None = None) -> bool:
        r"""Record episode k of ``run`` and θ after it; stop the run and return False if θ (or
        w) is not finite."""
        self.returns[run, k] = G
        self.lengths[run, k] = length
        finite = np.all(np.isfinite(theta))
        if value_weights is not None:
            finite = finite and np.all(np.isfinite(value_weights))
        if not finite:
            self.stops.append(Stop(run, k, THETA_NOT_FINITE))
            return False
        self.theta[run, k + 1] = theta
        if value_weights is not None:
            self.value_weights[run, k + 1] = value_weights
        return True

    def episodes(self, runs: np.ndarray, k: np.ndarray, G: np.ndarray, lengths: np.ndarray,
                 theta: np.ndarray, value_weights: np.ndarray | None = None) -> np.ndarray:
        r"""Record episode k[i] of each run runs[i] and θ after it (rows of ``theta``); stop the
        runs whose θ (or w) is not finite. Returns the mask of runs that go on."""
        self.returns[runs, k] = G
        self.lengths[runs, k] = lengths
        finite = np.all(np.isfinite(theta), axis=1)
        if value_weights is not None:
            finite &= np.all(np.isfinite(value_weights), axis=1)
        self.theta[runs[finite], k[finite] + 1] = theta[finite]
        if value_weights is not None:
            self.value_weights[runs[finite], k[finite] + 1] = value_weights[finite]
        self.stops.extend(Stop(int(r), int(e), THETA_NOT_FINITE)
                          for r, e in zip(runs[~finite], k[~finite], strict=False))
        return finite

    def cut(self, run: int, k: int, length: int) -> None:
        """Episode k of ``run`` reached no terminal state in ``length`` = max_steps: stop it."""
        self.lengths[run, k] = length
        self.stops.append(Stop(run, k, EPISODE_NOT_ENDED))

    def history(self, alpha: np.ndarray, objective: Callable[[np.ndarray], np.ndarray],
                single: bool, floor=None) -> History:
        r"""The :class:`History`; ``alpha`` (R,) holds each run's α; ``objective`` maps θ
        (N, n_params) to 𝒥 (N,) (NaN rows give NaN).

        ``single`` drops the run axis (R = 1); ``floor`` (a VarianceFloor) gives the σ² floor
        in force and its count of projections.
        """
        n_runs, n_recorded, n_params = self.theta.shape
        J = objective(self.theta.reshape(-1, n_params)).reshape(n_runs, n_recorded)
        with np.errstate(invalid="ignore"):
            norms = np.linalg.norm(np.diff(self.theta, axis=1), axis=2) / alpha[:, None]
        squeeze = (lambda a: a[0]) if single else (lambda a: a)
        return History(
            theta=squeeze(self.theta), objective=squeeze(J), gradient_norms=squeeze(norms),
            episode_returns=squeeze(self.returns), episode_lengths=squeeze(self.lengths),
            n_projections=0 if floor is None else floor.n_projections,
            variance_floor=None if floor is None else floor.floor,
            value_weights=None if self.value_weights is None else squeeze(self.value_weights),
            stops=tuple(sorted(self.stops)),
        )

