r"""Learning θ: the lecture's PG_v1 and REINFORCE loops, batch variants, exact and natural ascent.

=========================  ====================================================================
``PG_v1``, ``REINFORCE``   the lecture's pseudocode: one θ update per step of each episode
``PG_v1_batch``,           K episodes, one estimate from :mod:`pgref.estimators`, one update
``REINFORCE_batch``
``exact_gradient_ascent``  θ ← θ + α ∇𝒥(θ) with the exact ∇𝒥 (tabular MDP, LQR, Gaussian bandit)
``natural_gradient_ascent``  θ ← θ + α F⁺∇𝒥, the exact natural gradient of a tabular MDP
``History``, ``Stop``      θ, 𝒥(θ), returns, ‖d‖ per update, stopped runs: what every loop returns
=========================  ====================================================================

Every loop is a plain function of the lecture's arguments — the problem, the policy, θ₀, α, the
number of episodes (or updates) and an explicit ``rng`` — and works on any
:class:`pgref.problems.Problem`. ``estimators.reinforce`` is the estimate of ∇𝒥 from K episodes;
``algorithms.REINFORCE`` is the loop that learns with it.
"""

from pgref.algorithms.ascent import DEFAULT_VARIANCE_FLOOR, AscentStep
from pgref.algorithms.baselines import LinearValueBaseline
from pgref.algorithms.batch import PG_v1_batch, REINFORCE_batch
from pgref.algorithms.exact_ascent import StepSizeError, exact_gradient_ascent, gradient_ascent
from pgref.algorithms.history import History, Stop
from pgref.algorithms.natural import (
    fisher_information,
    natural_gradient_ascent,
    natural_policy_gradient,
    tabular_softmax_index,
)
from pgref.algorithms.per_step import REINFORCE, PG_v1
from pgref.algorithms.rates import loglog_slope

__all__ = [
    "DEFAULT_VARIANCE_FLOOR",
    "REINFORCE",
    "AscentStep",
    "History",
    "LinearValueBaseline",
    "PG_v1",
    "PG_v1_batch",
    "REINFORCE_batch",
    "StepSizeError",
    "Stop",
    "exact_gradient_ascent",
    "fisher_information",
    "gradient_ascent",
    "loglog_slope",
    "natural_gradient_ascent",
    "natural_policy_gradient",
    "tabular_softmax_index",
]
