r"""Central finite differences: the independent route that checks every hand-derived gradient.

Used by the tests (scores against ``log_prob``, the theorem's ∇𝒥 against 𝒥) and by the exact
benchmark (the cost the theorem avoids).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pgref import checks

__all__ = ["central_difference"]

_STENCILS = {
    2: ((1.0, 1.0), (-1.0, -1.0)),  # [f(θ+h) − f(θ−h)] / 2h
    4: ((8.0, 1.0), (-8.0, -1.0), (-1.0, 2.0), (1.0, -2.0)),
}


def central_difference(
    function: Callable[[np.ndarray], np.ndarray], theta, step: float = 1e-5, order: int = 4
) -> np.ndarray:
    r"""The Jacobian of ``function`` at θ by central finite differences, one θ component at a time.

    Parameters
    ----------
    function : callable
        θ ↦ f(θ), returning a float or an array of shape (M,).
    theta : array_like, shape (P,)
    step : float
        h > 0.
    order : {2, 4}
        The error order in h.

    Returns
    -------
    jacobian : ndarray, shape (P,) for a scalar f, else (M, P)

    Notes
    -----
    Order 2: ∂f/∂θᵢ ≈ [f(θ + h eᵢ) − f(θ − h eᵢ)] / (2h), error O(h²).
    Order 4: ∂f/∂θᵢ ≈ [8 f(θ + h eᵢ) − 8 f(θ − h eᵢ) − f(θ + 2h eᵢ) + f(θ − 2h eᵢ)] / (12h),
    error O(h⁴). Each costs 2 or 4 evaluations of f per component of θ.
    """
    theta = checks.finite_array("theta", theta, ndim=1)
    step = checks.positive_scalar("step", step)
    if order not in _STENCILS:
        raise ValueError(f"order must be 2 or 4; got {order!r}")
    denominator = 2.0 * step if order == 2 else 12.0 * step
    columns = []
    for i in range(theta.shape[0]):
        unit = np.zeros_like(theta)
        unit[i] = step
        columns.append(
            sum(weight * np.asarray(function(theta + shift * unit), dtype=float)
                for weight, shift in _STENCILS[order]) / denominator
        )
    return np.stack(columns, axis=-1)
