r"""The settings of the sampled learning loops, as one frozen dataclass.

Lecture: "First Policy Gradient Algorithm" and "REINFORCE: First Official Algorithm", line 1:
"Initiate with θ and learning rate α"; line 2: "for episode = 1 : K".
"""

from __future__ import annotations

from dataclasses import dataclass

from pgref import _checks
from pgref.algorithms.ascent import DEFAULT_VARIANCE_FLOOR

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    r"""Step size, episode budget, batch size and σ² floor of a sampled learning loop.

    Raises
    ------
    ValueError
        When a field is out of range or not finite; the message names the field.

    Notes
    -----
    ``n_episodes`` is the budget in sampled episodes for every loop, so the per-step and the
    batch variants can be compared at equal sampling cost: the per-step loops of
    :mod:`pgref.algorithms.per_step` update θ after every step of each of the ``n_episodes``
    episodes; the batch loops of :mod:`pgref.algorithms.batch` make
    ``n_episodes // batch_size`` updates of K = ``batch_size`` episodes each.
    """

    alpha: float
    """α > 0, the learning rate of θ ← θ + α · (direction)."""

    n_episodes: int
    """The number of episodes sampled in all, ≥ 1 (the lecture's K of ``for episode = 1 : K``)."""

    batch_size: int = 1
    """K episodes per update in the batch variants; must divide ``n_episodes``. The per-step
    loops update after every step of one episode and accept only 1."""

    variance_floor: float = DEFAULT_VARIANCE_FLOOR
    """σ²_min > 0: where θ holds σ² itself, an update that leaves σ² < σ²_min is followed by
    σ² ← σ²_min, and the history counts how often (``History.n_projections``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _checks.positive_scalar("alpha", self.alpha))
        object.__setattr__(self, "n_episodes",
                           _checks.positive_int("n_episodes", self.n_episodes))
        object.__setattr__(self, "batch_size",
                           _checks.positive_int("batch_size", self.batch_size))
        object.__setattr__(self, "variance_floor",
                           _checks.positive_scalar("variance_floor", self.variance_floor))
        if self.n_episodes % self.batch_size:
            raise ValueError(
                f"n_episodes must be a multiple of batch_size (each update uses batch_size "
                f"episodes); got n_episodes={self.n_episodes}, batch_size={self.batch_size}"
            )

    @property
    def n_updates(self) -> int:
        """The number of θ updates of a batch loop, ``n_episodes // batch_size``."""
        return self.n_episodes // self.batch_size
