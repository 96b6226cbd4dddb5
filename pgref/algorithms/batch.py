r"""Batch policy-gradient ascent: K episodes, one estimate ∇̂J, one update θ ← θ + α ∇̂J.

Lecture: "Training Policy Network: SGD" — sample K trajectories with π_θ, estimate
∇̂J = 1/K Σₖ G(τₖ) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k]), update θ once. The estimates come from
:func:`pgref.estimators.pg_v1` and :func:`pgref.estimators.reinforce`; this module only loops.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pgref import estimators
from pgref.algorithms._start import checked_inputs
from pgref.algorithms.ascent import AscentStep
from pgref.algorithms.baselines import LinearValueBaseline, check_baseline
from pgref.algorithms.history import History, Recorder
from pgref.algorithms.samplers import Sampler
from pgref.algorithms.settings import Settings
from pgref.rollout import Episodes

__all__ = ["PG_v1_batch", "REINFORCE_batch"]


def _batch_ascent(sampler: Sampler, theta, settings: Settings, rng,
                  estimate: Callable[[np.ndarray, Episodes], np.ndarray],
                  recorder_weights=None, after_update=None) -> History:
    """The shared loop: sample K, estimate, update, record; ``estimate`` is the only choice."""
    step = AscentStep(settings.alpha, sampler.policy, settings.variance_floor)
    recorder = Recorder(sampler.objective, theta, step.floor, recorder_weights)
    for _update in range(settings.n_updates):
        episodes = sampler.sample(theta, settings.batch_size, rng)
        gradient = estimate(theta, episodes)
        theta = step(theta, gradient)
        weights = after_update(episodes) if after_update is not None else None
        recorder.episodes(estimators.returns(episodes, sampler.gamma), episodes.lengths)
        recorder.update(theta, np.linalg.norm(gradient), weights)
    return recorder.history(step.n_projections)


def PG_v1_batch(sampler: Sampler, theta, settings: Settings,
                rng: np.random.Generator) -> History:
    r"""θ ← θ + α/K Σₖ G(τₖ) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k]), K = ``settings.batch_size``.

    Parameters
    ----------
    sampler : Sampler
    theta : array_like, shape (n_params,)
        θ₀.
    settings : Settings
        α, the episode budget, K = ``batch_size`` (n_episodes/K updates), the σ² floor.
    rng : numpy.random.Generator

    Returns
    -------
    History
        θ and J(θ) after each update, ‖∇̂J‖ of each update, every episode's return.

    Notes
    -----
    Lecture, "Training Policy Network: SGD":

        θ ← θ + α ∇̂J(π_θ) = θ + (α/K) Σₖ G(τₖ) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k])

    with ∇̂J from :func:`pgref.estimators.pg_v1`. Every score is taken at the θ the episodes
    were sampled with, which makes ∇̂J unbiased for ∇J(θ); with K = 1 this is the lecture's
    "single sample gradient" SGD step, not the per-step :func:`~pgref.algorithms.PG_v1`.
    """
    sampler, theta, settings, rng = checked_inputs(sampler, theta, settings, rng,
                                                   per_step=False)
    policy, gamma, allow = sampler.policy, sampler.gamma, sampler.allow_truncated

    def estimate(theta, episodes):
        return estimators.pg_v1(policy, theta, episodes, gamma, allow_truncated=allow).mean

    return _batch_ascent(sampler, theta, settings, rng, estimate)


def REINFORCE_batch(sampler: Sampler, theta, settings: Settings, rng: np.random.Generator,
                    baseline=None) -> History:
    r"""θ ← θ + α/K Σₖ Σₜ γᵗ (Gₜ[k] − b(Sₜ[k])) ∇ log π_θ(Aₜ[k]|Sₜ[k]).

    Parameters
    ----------
    sampler : Sampler
    theta : array_like, shape (n_params,)
        θ₀.
    settings : Settings
        α, the episode budget, K = ``batch_size``, the σ² floor.
    rng : numpy.random.Generator
    baseline : None, float or LinearValueBaseline
        None: b = 0. A number: a constant b. A :class:`~pgref.algorithms.LinearValueBaseline`
        on tabular state features: a learned v̂, used as b(s) for the batch and then moved by
        w ← w + α_w (1/K) Σₖ Σₜ (Gₜ[k] − v̂(Sₜ[k])) x(Sₜ[k]).

    Returns
    -------
    History
        θ and J(θ) after each update, ‖∇̂J‖ of each update, every episode's return, and w after
        each update when the baseline is learned.

    Raises
    ------
    ValueError
        For a learned baseline on non-tabular states: :func:`pgref.estimators.reinforce` takes
        b(s) as a table over states. Use a constant baseline there, or the per-step
        :func:`~pgref.algorithms.REINFORCE`, which evaluates v̂ at each state itself.

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm", averaged over K episodes as on the SGD
    slide, in the discounted form with γᵗ (see :func:`pgref.estimators.reinforce`):

        θ ← θ + (α/K) Σₖ Σₜ γᵗ (Gₜ[k] − b(Sₜ[k])) ∇ log π_θ(Aₜ[k]|Sₜ[k])

    The learned v̂ is fixed while its batch is sampled and used, so b does not depend on the
    batch's actions and the estimate stays unbiased; w moves only after θ has.
    """
    sampler, theta, settings, rng = checked_inputs(sampler, theta, settings, rng,
                                                   per_step=False)
    baseline = check_baseline(baseline)
    policy, gamma, allow = sampler.policy, sampler.gamma, sampler.allow_truncated
    if not isinstance(baseline, LinearValueBaseline):
        def estimate(theta, episodes):
            return estimators.reinforce(policy, theta, episodes, gamma, baseline,
                                        allow_truncated=allow).mean

        return _batch_ascent(sampler, theta, settings, rng, estimate)

    if not baseline.features.is_tabular or getattr(policy, "n_states", None) != (
            baseline.features.n_states):
        raise ValueError(
            "baseline must have tabular features x(s) of shape (S, J) with S the policy's "
            "number of states for REINFORCE_batch (pgref.estimators.reinforce takes b(s) as a "
            "table); on continuous states use a constant baseline, or the per-step REINFORCE"
        )
    weights = baseline.initial_weights.copy()

    def estimate(theta, episodes):
        return estimators.reinforce(policy, theta, episodes, gamma, baseline.table(weights),
                                    allow_truncated=allow).mean

    def fit_baseline(episodes):
        nonlocal weights
        states = episodes.states
        G_t = estimators.reward_to_go(episodes, gamma)
        deltas = G_t - baseline.values(weights, states)        # δ = Gₜ − v̂(Sₜ)
        weights = baseline.step(weights, states, deltas, episodes.n_episodes)
        return weights

    return _batch_ascent(sampler, theta, settings, rng, estimate, weights, fit_baseline)
