r"""The input checks every sampled loop starts with."""

from __future__ import annotations

import numpy as np

from pgref import _checks
from pgref.algorithms.samplers import Sampler
from pgref.algorithms.settings import Settings


def checked_inputs(sampler, theta, settings, rng, *, per_step: bool
                   ) -> tuple[Sampler, np.ndarray, Settings, np.random.Generator]:
    """Check a loop's arguments; return them with θ as a fresh float copy."""
    if not isinstance(sampler, Sampler):
        raise ValueError(
            "sampler must be a pgref.algorithms.Sampler (tabular_sampler, env_sampler, "
            f"lqr_sampler, gaussian_bandit_sampler, or Sampler(...)); got {type(sampler).__name__}"
        )
    if not isinstance(settings, Settings):
        raise ValueError(
            "settings must be a pgref.algorithms.Settings(alpha=..., n_episodes=...); got "
            f"{type(settings).__name__}"
        )
    if per_step and settings.batch_size != 1:
        raise ValueError(
            f"settings.batch_size must be 1 for the per-step loops, which update θ after every "
            f"step of each episode; got {settings.batch_size} (use PG_v1_batch or "
            "REINFORCE_batch for K episodes per update)"
        )
    theta = _checks.parameter_vector(theta, sampler.policy.n_params).copy()
    rng = _checks.rng_generator(rng)
    return sampler, theta, settings, rng


def step_score(policy, theta: np.ndarray, episodes, k: int, t: int) -> np.ndarray:
    r"""∇ log π_θ(Aₜ|Sₜ) of step t of episode k, at the given θ, shape (n_params,)."""
    row = episodes.offsets[k] + t
    return policy.grad_log_prob(theta, episodes.states[row : row + 1],
                                episodes.actions[row : row + 1])[0]
