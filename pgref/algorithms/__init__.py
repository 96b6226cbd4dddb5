r"""Learning θ: the lecture's PG_v1 and REINFORCE loops, batch variants, exact and natural ascent.

=========================  ====================================================================
``PG_v1``, ``REINFORCE``   the lecture's pseudocode: one θ update per step of each episode
``PG_v1_batch``,           K episodes, one estimate from :mod:`pgref.estimators`, one update
``REINFORCE_batch``
``exact_gradient_ascent``  θ ← θ + α ∇J(θ) with the exact ∇J (tabular MDP, LQR, Gaussian bandit)
``natural_gradient_ascent``  θ ← θ + α F⁺∇J, the exact natural gradient of a tabular MDP
``Sampler`` and makers     where the episodes come from: tabular MDP, Gymnasium-style env, LQR
``Settings``, ``History``  α, episode budget, K, σ² floor in; θ, J(θ), returns, ‖d‖ out
=========================  ====================================================================

Every sampled loop takes an explicit ``rng``; every loop returns a :class:`History`.
"""

from pgref.algorithms.baselines import LinearValueBaseline
from pgref.algorithms.batch import PG_v1_batch, REINFORCE_batch
from pgref.algorithms.exact_ascent import exact_functions, exact_gradient_ascent, gradient_ascent
from pgref.algorithms.history import History, Stop
from pgref.algorithms.natural import (
    fisher_information,
    natural_gradient_ascent,
    natural_policy_gradient,
)
from pgref.algorithms.per_step import REINFORCE, PG_v1
from pgref.algorithms.rates import loglog_slope
from pgref.algorithms.samplers import (
    Sampler,
    env_sampler,
    episodes_from_bandit_samples,
    episodes_from_trajectories,
    gaussian_bandit_sampler,
    lqr_sampler,
    tabular_sampler,
)
from pgref.algorithms.settings import DEFAULT_VARIANCE_FLOOR, Settings

__all__ = [
    "DEFAULT_VARIANCE_FLOOR",
    "REINFORCE",
    "History",
    "LinearValueBaseline",
    "PG_v1",
    "PG_v1_batch",
    "REINFORCE_batch",
    "Sampler",
    "Settings",
    "Stop",
    "env_sampler",
    "episodes_from_bandit_samples",
    "episodes_from_trajectories",
    "exact_functions",
    "exact_gradient_ascent",
    "fisher_information",
    "gaussian_bandit_sampler",
    "gradient_ascent",
    "loglog_slope",
    "lqr_sampler",
    "natural_gradient_ascent",
    "natural_policy_gradient",
    "tabular_sampler",
]
