r"""The lecture's PG_v1 and REINFORCE as written: θ changes after every step of every episode.

Lecture: "First Policy Gradient Algorithm" (PG_v1) and "REINFORCE: First Official Algorithm".
Both sample one episode with the current θ, then walk through its steps, each time taking the
score ∇ log π_θ(Aₜ|Sₜ) at the θ of that moment, already moved by the earlier steps of the same
episode. (The batch variants of :mod:`pgref.algorithms.batch` instead evaluate every score at
the θ the episodes were sampled with.)
"""

from __future__ import annotations

import numpy as np

from pgref import estimators
from pgref.algorithms._start import checked_inputs, step_score
from pgref.algorithms.ascent import AscentStep
from pgref.algorithms.baselines import LinearValueBaseline, check_baseline
from pgref.algorithms.history import History, Recorder
from pgref.algorithms.samplers import Sampler
from pgref.algorithms.settings import Settings

__all__ = ["REINFORCE", "PG_v1"]


def PG_v1(sampler: Sampler, theta, settings: Settings, rng: np.random.Generator) -> History:
    r"""The lecture's first policy-gradient algorithm, one θ update per step.

    Parameters
    ----------
    sampler : Sampler
        The policy, γ and the episodes (:func:`~pgref.algorithms.tabular_sampler`, …).
    theta : array_like, shape (n_params,)
        θ₀.
    settings : Settings
        α, the number of episodes K, the σ² floor; ``batch_size`` must be 1.
    rng : numpy.random.Generator

    Returns
    -------
    History
        θ and J(θ) after each episode, ‖Σₜ G(τ) ∇ log π_θ(Aₜ|Sₜ)‖ per episode, the returns.

    Notes
    -----
    Lecture, "First Policy Gradient Algorithm (PG_v1)":

        1: Initiate with θ and learning rate α
        2: for episode = 1 : K do
        3:     Sample a trajectory with policy π_θ:  S₀, A₀ → R₁, S₁, …, S_{T−1}, A_{T−1} → R_T, S_T
        4:     Compute return G(τ)
        5:     for t = 0 : T − 1 do
        6:         Update policy network θ ← θ + α G(τ) ∇ log π_θ(Aₜ|Sₜ)
        7:     end for
        8: end for

    G(τ) = Σₜ γᵗ Rₜ₊₁ (γ = 1 in the lecture), computed by :func:`pgref.estimators.returns`.
    No factor γᵗ appears for γ < 1: G(τ) Σₜ ∇ log π_θ(Aₜ|Sₜ) = G(τ) ∇ log p_π(τ) is already
    an unbiased sample of ∇E[G(τ)] (lecture: "Log-Derivative Trick").

    The score in line 6 is taken at the current θ, so from the second step on it differs from
    the score at the θ the episode was sampled with: the episode's T updates together are not
    α times the single-sample gradient estimate G(τ) Σₜ ∇ log π_θ(Aₜ|Sₜ) of the lecture's SGD
    slide (that is :func:`~pgref.algorithms.PG_v1_batch` with K = 1).
    """
    sampler, theta, settings, rng = checked_inputs(sampler, theta, settings, rng,
                                                   per_step=True)
    policy = sampler.policy
    step = AscentStep(settings.alpha, policy, settings.variance_floor)
    recorder = Recorder(sampler.objective, theta, step.floor)
    for _episode in range(settings.n_episodes):                      # 2: for episode = 1 : K
        episode = sampler.sample(theta, 1, rng)                      # 3: τ ∼ π_θ
        G = estimators.returns(episode, sampler.gamma)[0]            # 4: G(τ)
        total = np.zeros_like(theta)
        for t in range(episode.lengths[0]):                          # 5: for t = 0 : T − 1
            direction = G * step_score(policy, theta, episode, 0, t)
            theta = step(theta, direction)                           # 6: θ ← θ + α G ∇log π
            total += direction
        recorder.episodes([G], episode.lengths)
        recorder.update(theta, np.linalg.norm(total))
    return recorder.history(step.n_projections)


def REINFORCE(sampler: Sampler, theta, settings: Settings, rng: np.random.Generator,
              baseline=None) -> History:
    r"""REINFORCE (Williams, 1992) as in the lecture, with γᵗ and an optional baseline.

    Parameters
    ----------
    sampler : Sampler
    theta : array_like, shape (n_params,)
        θ₀.
    settings : Settings
        α, the number of episodes K, the σ² floor; ``batch_size`` must be 1.
    rng : numpy.random.Generator
    baseline : None, float or LinearValueBaseline
        None: b = 0. A number: a constant b. A :class:`~pgref.algorithms.LinearValueBaseline`:
        a learned v̂(s) = wᵀx(s), updated at every step with its own step size α_w.

    Returns
    -------
    History
        θ and J(θ) after each episode, ‖Σₜ γᵗ (Gₜ − b(Sₜ)) ∇ log π_θ(Aₜ|Sₜ)‖ per episode, the
        returns, and the baseline's weights w after each episode when it is learned.

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm":

        1: Initiate with θ and learning rate α
        2: for episode = 1 : K do
        3:     Sample a trajectory with policy π_θ
        4:     for t = 0 : T − 1 do
        5:         Update policy network θ ← θ + α Gₜ ∇ log π_θ(Aₜ|Sₜ)
        6:     end for
        7: end for

    with Gₜ = Σ_{t′≥t} γ^{t′−t} R_{t′+1} from :func:`pgref.estimators.reward_to_go`. The
    lecture takes γ = 1; for γ < 1 line 5 here is the discounted form (Sutton & Barto, 13.3)

        θ ← θ + α γᵗ (Gₜ − b(Sₜ)) ∇ log π_θ(Aₜ|Sₜ)

    whose expected direction is ∇J. Without γᵗ the direction is not the gradient of any
    objective when γ < 1 (:func:`pgref.exact.gamma_dropped_direction`). With a learned
    baseline, each step first moves w ← w + α_w (Gₜ − v̂(Sₜ)) x(Sₜ) (no γᵗ), then θ with the
    same δ = Gₜ − v̂(Sₜ) (Sutton & Barto, "REINFORCE with Baseline").
    """
    sampler, theta, settings, rng = checked_inputs(sampler, theta, settings, rng,
                                                   per_step=True)
    baseline = check_baseline(baseline)
    learned = isinstance(baseline, LinearValueBaseline)
    weights = baseline.initial_weights.copy() if learned else None
    policy, gamma = sampler.policy, sampler.gamma
    step = AscentStep(settings.alpha, policy, settings.variance_floor)
    recorder = Recorder(sampler.objective, theta, step.floor, weights)
    for _episode in range(settings.n_episodes):                      # 2: for episode = 1 : K
        episode = sampler.sample(theta, 1, rng)                      # 3: τ ∼ π_θ
        G_t = estimators.reward_to_go(episode, gamma)                # Gₜ for every t
        total = np.zeros_like(theta)
        for t in range(episode.lengths[0]):                          # 4: for t = 0 : T − 1
            if learned:
                state = episode.states[t : t + 1]
                delta = G_t[t] - baseline.values(weights, state)[0]  # δ = Gₜ − v̂(Sₜ)
                weights = baseline.step(weights, state, np.array([delta]))
            else:
                delta = G_t[t] - baseline                            # Gₜ − b
            direction = gamma**t * delta * step_score(policy, theta, episode, 0, t)
            theta = step(theta, direction)                           # 5: θ ← θ + α γᵗ δ ∇log π
            total += direction
        recorder.episodes(G_t[:1], episode.lengths)
        recorder.update(theta, np.linalg.norm(total), weights)
    return recorder.history(step.n_projections)
