r"""One ascent step θ ← θ + α d, with the stated σ² floor and a refusal of non-finite θ.

Every learning loop of :mod:`pgref.algorithms` moves θ through an :class:`AscentStep`.
"""

from __future__ import annotations

import numpy as np

from pgref.policies.gaussian import GaussianPolicy

__all__ = ["DEFAULT_VARIANCE_FLOOR", "AscentStep", "holds_variance"]

DEFAULT_VARIANCE_FLOOR = 1e-4
"""The σ² floor: after an update that leaves σ² below it, σ² is set to it and the event counted.

Used only when θ holds σ² itself (``GaussianPolicy(..., learn_variance=True,
variance_parameter="variance")``); log σ² needs no floor.
"""


def holds_variance(policy) -> bool:
    """Whether θ's last entry is σ² itself, so that a step can make it non-positive."""
    return (isinstance(policy, GaussianPolicy) and policy.learn_variance
            and policy.variance_parameter == "variance")


class AscentStep:
    r"""θ ← θ + α d, then σ² ← max(σ², σ²_min) where θ holds σ², counting each projection.

    Parameters
    ----------
    alpha : float
        α > 0 (checked by the caller).
    policy : pgref policy
    variance_floor : float
        σ²_min > 0 (checked by the caller); used only when θ holds σ².
    """

    def __init__(self, alpha: float, policy, variance_floor: float):
        self.alpha = alpha
        self.floor = variance_floor if holds_variance(policy) else None
        self.n_projections = 0
        self.n_steps = 0

    def __call__(self, theta: np.ndarray, direction: np.ndarray) -> np.ndarray:
        self.n_steps += 1
        with np.errstate(over="ignore", invalid="ignore"):  # refused just below, by name
            new_theta = theta + self.alpha * direction
        if not np.all(np.isfinite(new_theta)):
            raise FloatingPointError(
                f"update {self.n_steps} made θ non-finite (θ + α·d with α = {self.alpha!r} and "
                f"max |dᵢ| = {np.abs(direction).max():.3g}): the step size is too large for this "
                "problem; lower alpha"
            )
        if self.floor is not None and new_theta[-1] < self.floor:
            new_theta[-1] = self.floor
            self.n_projections += 1
        return new_theta
