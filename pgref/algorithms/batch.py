r"""Batch policy-gradient ascent: K episodes, one estimate ∇̂𝒥, one update θ ← θ + α ∇̂𝒥.

Lecture: "Training Policy Network: SGD" — sample K trajectories with π_θ, estimate
∇̂𝒥 = 1/K Σₖ G(τₖ) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k]), update θ once. The estimates come from
:func:`pgref.estimators.pg_v1` and :func:`pgref.estimators.reinforce` (the estimate); these
functions are the loops that use them.
"""

from __future__ import annotations

import numpy as np

from pgref import checks, estimators
from pgref.algorithms.ascent import DEFAULT_VARIANCE_FLOOR, AscentStep
from pgref.algorithms.baselines import LinearValueBaseline, check_baseline
from pgref.algorithms.history import History, Recorder
from pgref.algorithms.inputs import checked_loop_inputs, exact_objective
from pgref.policies import TabularPolicy
from pgref.rollout import DEFAULT_MAX_STEPS

__all__ = ["PG_v1_batch", "REINFORCE_batch"]


def PG_v1_batch(problem, policy, theta, alpha: float, n_updates: int, batch_size: int,
                rng: np.random.Generator, *, max_steps: int = DEFAULT_MAX_STEPS,
                allow_truncated: bool = False,
                variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""θ ← θ + α/K Σₖ G(τₖ) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k]), with K = ``batch_size`` episodes.

    Parameters
    ----------
    problem : pgref.problems.Problem
        A TabularMDP, a linear-quadratic problem, a Gaussian bandit or an EnvProblem.
    policy : pgref.policies.Policy
    theta : array_like, shape (n_params,)
        θ₀.
    alpha : float
        α > 0.
    n_updates : int
        U ≥ 1 updates, so U·K episodes in all.
    batch_size : int
        K ≥ 1 episodes per update.
    rng : numpy.random.Generator
    max_steps : int
        Cut episodes after this many steps (marked truncated).
    allow_truncated : bool, default False
        Learn from cut episodes (biased: their returns miss what follows the cut), e.g. the
        linear-quadratic problem's infinite episodes cut at H, or CartPole's time limit.
        Otherwise a truncated episode stops the loop with an error.
    variance_floor : float
        σ²_min > 0, applied where θ holds σ² (:data:`~pgref.algorithms.DEFAULT_VARIANCE_FLOOR`).

    Returns
    -------
    History
        θ and the exact 𝒥(θ) (NaN without one) after each update, ‖∇̂𝒥‖ of each update, every
        episode's return G(τ) and length.

    Notes
    -----
    Lecture, "Training Policy Network: SGD":

        θ ← θ + α ∇̂𝒥(π_θ) = θ + (α/K) Σₖ G(τₖ) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k])

    with ∇̂𝒥 from :func:`pgref.estimators.pg_v1`. Every score is taken at the θ the episodes
    were sampled with, which makes ∇̂𝒥 unbiased for ∇𝒥(θ); with K = 1 this is the lecture's
    "single sample gradient" SGD step, not the per-step :func:`~pgref.algorithms.PG_v1`.
    """
    def estimate(theta, episodes):
        return estimators.pg_v1(policy, theta, episodes, problem.gamma,
                                allow_truncated=allow_truncated).mean

    return _batch_ascent(problem, policy, theta, alpha, n_updates, batch_size, rng, estimate,
                         max_steps, variance_floor)


def REINFORCE_batch(problem, policy, theta, alpha: float, n_updates: int, batch_size: int,
                    rng: np.random.Generator, baseline=None, *,
                    max_steps: int = DEFAULT_MAX_STEPS, allow_truncated: bool = False,
                    variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""θ ← θ + α/K Σₖ Σₜ γᵗ (Gₜ[k] − b(Sₜ[k])) ∇ log π_θ(Aₜ[k]|Sₜ[k]), K = ``batch_size``.

    Parameters
    ----------
    problem, policy, theta, alpha, n_updates, batch_size, rng
        As in :func:`PG_v1_batch`.
    baseline : None, float or LinearValueBaseline
        None: b = 0. A number: a constant b. A :class:`~pgref.algorithms.LinearValueBaseline`
        on tabular state features: a learned v̂, used as b(s) for the batch and then moved by
        w ← w + α_w (1/K) Σₖ Σₜ (Gₜ[k] − v̂(Sₜ[k])) x(Sₜ[k]).
    max_steps, allow_truncated, variance_floor
        As in :func:`PG_v1_batch`.

    Returns
    -------
    History
        As in :func:`PG_v1_batch`, and w after each update when the baseline is learned.

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
    batch's actions and the estimate stays unbiased; w moves only after θ has, towards the
    discounted reward-to-go Gₜ = Σ_{t′≥t} γ^{t′−t} R_{t′+1} (an unbiased sample of v_π(Sₜ)).
    """
    baseline = check_baseline(baseline)
    if not isinstance(baseline, LinearValueBaseline):
        def estimate(theta, episodes):
            return estimators.reinforce(policy, theta, episodes, problem.gamma, baseline,
                                        allow_truncated=allow_truncated).mean

        return _batch_ascent(problem, policy, theta, alpha, n_updates, batch_size, rng,
                             estimate, max_steps, variance_floor)

    if not (baseline.features.is_tabular and isinstance(policy, TabularPolicy)
            and policy.n_states == baseline.features.n_states):
        raise ValueError(
            "baseline must have tabular features x(s) of shape (S, J) with S the policy's "
            "number of states for REINFORCE_batch (pgref.estimators.reinforce takes b(s) as a "
            "table); on continuous states use a constant baseline, or the per-step REINFORCE"
        )
    weights = baseline.initial_weights.copy()

    def estimate(theta, episodes):
        return estimators.reinforce(policy, theta, episodes, problem.gamma,
                                    baseline.table(weights), allow_truncated=allow_truncated).mean

    def fit_baseline(episodes):
        nonlocal weights
        G_t = estimators.reward_to_go(episodes, problem.gamma)
        deltas = G_t - baseline.values(weights, episodes.states)  # δ = Gₜ − v̂(Sₜ)
        weights = baseline.step(weights, episodes.states, deltas, episodes.n_episodes)
        return weights

    return _batch_ascent(problem, policy, theta, alpha, n_updates, batch_size, rng, estimate,
                         max_steps, variance_floor, weights, fit_baseline)


def _batch_ascent(problem, policy, theta, alpha, n_updates, batch_size, rng, estimate,
                  max_steps, variance_floor, value_weights=None, after_update=None) -> History:
    """The shared loop: sample K, estimate, update, record; ``estimate`` is the only choice."""
    theta, alpha = checked_loop_inputs(problem, policy, theta, alpha, rng)
    n_updates = checks.positive_int("n_updates", n_updates)
    batch_size = checks.positive_int("batch_size", batch_size)
    step = AscentStep(alpha, policy, checks.positive_scalar("variance_floor", variance_floor))
    recorder = Recorder(exact_objective(problem, policy), theta, step.floor, value_weights)
    for _update in range(n_updates):
        episodes = problem.sample_episodes(policy, theta, batch_size, rng, max_steps)
        gradient = estimate(theta, episodes)                     # ∇̂𝒥 from K episodes
        theta = step(theta, gradient)                            # θ ← θ + α ∇̂𝒥
        weights = after_update(episodes) if after_update is not None else None
        recorder.episodes(estimators.returns(episodes, problem.gamma), episodes.lengths)
        recorder.update(theta, np.linalg.norm(gradient), weights)
    return recorder.history(step.n_projections)
