r"""Convergence rates read off a history: the slope of the sub-optimality gap on log-log axes."""

from __future__ import annotations

import numpy as np

from pgref import checks

__all__ = ["loglog_slope"]


def loglog_slope(steps, values) -> float:
    r"""The least-squares slope of log(values) against log(steps).

    Parameters
    ----------
    steps : array_like, shape (N,)
        t > 0, e.g. update numbers.
    values : array_like, shape (N,)
        y > 0, e.g. the sub-optimality gaps 𝒥* − 𝒥(θₜ).

    Returns
    -------
    slope : float
        p in y ≈ c·tᵖ. An O(1/t) rate gives p ≈ −1.

    Notes
    -----
    Mei et al. (2020), "On the global convergence rates of softmax policy gradient methods",
    prove that exact softmax policy gradient with a constant step converges as
    𝒥* − 𝒥(θₜ) = O(1/t), with problem-dependent constants, and that no faster rate holds in
    general; where the gap behaves as c/t, the log-log slope tends to −1. (The limit of
    t·(𝒥* − 𝒥(θₜ)) on a bandit, k/((k + 1)α), is pgref's own gradient-flow derivation, checked in
    ``tests/test_natural.py``.)
    """
    steps = checks.finite_array("steps", steps, ndim=1)
    values = checks.finite_array("values", values, ndim=1)
    if steps.shape != values.shape or steps.size < 2:
        raise ValueError(
            f"steps and values must have the same shape (N,) with N ≥ 2; got {steps.shape} "
            f"and {values.shape}"
        )
    if steps.min() <= 0.0 or values.min() <= 0.0:
        raise ValueError("steps and values must be > 0 to take logarithms; got minimum "
                         f"{steps.min()!r} and {values.min()!r}")
    return float(np.polyfit(np.log(steps), np.log(values), 1)[0])
