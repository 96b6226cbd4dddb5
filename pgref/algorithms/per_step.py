r"""The lecture's PG_v1 and REINFORCE as written: θ changes after every step of every episode.

Lecture: "First Policy Gradient Algorithm" (PG_v1) and "REINFORCE: First Official Algorithm".
Both sample one episode with the current θ, then walk through its steps, each time taking the
score ∇ log π_θ(Aₜ|Sₜ) at the θ of that moment, already moved by the earlier steps of the same
episode. (The batch variants of :mod:`pgref.algorithms.batch` instead evaluate every score at
the θ the episodes were sampled with.)
"""

from __future__ import annotations

import numpy as np

from pgref import _checks, estimators
from pgref.algorithms.ascent import DEFAULT_VARIANCE_FLOOR, AscentStep
from pgref.algorithms.baselines import LinearValueBaseline, check_baseline
from pgref.algorithms.history import History, Recorder
from pgref.algorithms.inputs import checked_loop_inputs, exact_objective
from pgref.rollout import DEFAULT_MAX_STEPS

__all__ = ["REINFORCE", "PG_v1"]


def PG_v1(problem, policy, theta, alpha: float, n_episodes: int, rng: np.random.Generator, *,
          max_steps: int = DEFAULT_MAX_STEPS, allow_truncated: bool = False,
          variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""The lecture's first policy-gradient algorithm, one θ update per step.

    Parameters
    ----------
    problem : pgref.problems.Problem
        Where the episodes come from: a TabularMDP, a linear-quadratic problem, a Gaussian
        bandit or an EnvProblem; its exact 𝒥(θ), where it has one, is recorded.
    policy : pgref.policies.Policy
    theta : array_like, shape (n_params,)
        θ₀.
    alpha : float
        α > 0.
    n_episodes : int
        K ≥ 1, the episodes of line 2.
    rng : numpy.random.Generator
    max_steps : int
        Cut an episode after this many steps (marked truncated).
    allow_truncated : bool, default False
        Learn from cut episodes (biased: their returns miss what follows the cut), e.g. the
        linear-quadratic problem's infinite episodes cut at H. Otherwise a cut episode stops
        the loop with an error.
    variance_floor : float
        σ²_min > 0, where θ holds σ² (:data:`~pgref.algorithms.DEFAULT_VARIANCE_FLOOR`).

    Returns
    -------
    History
        θ and 𝒥(θ) after each episode, ‖Σₜ G(τ) ∇ log π_θ(Aₜ|Sₜ)‖ per episode, the returns.

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
    theta, alpha = checked_loop_inputs(problem, policy, theta, alpha, rng)
    n_episodes = _checks.positive_int("n_episodes", n_episodes)
    step = AscentStep(alpha, policy, _checks.positive_scalar("variance_floor", variance_floor))
    objective = exact_objective(problem, policy)
    recorder = Recorder(objective, theta, step.floor)
    for _episode in range(n_episodes):                               # 2: for episode = 1 : K
        episode = _one_episode(problem, policy, theta, rng, max_steps,
                               allow_truncated)                  # 3: τ ∼ π_θ
        G = estimators.returns(episode, problem.gamma)[0]            # 4: G(τ)
        total = np.zeros_like(theta)
        for t in range(episode.lengths[0]):                          # 5: for t = 0 : T − 1
            direction = G * _score(policy, theta, episode, t)
            theta = step(theta, direction)                           # 6: θ ← θ + α G ∇log π
            total += direction
        recorder.episodes([G], episode.lengths)
        recorder.update(theta, np.linalg.norm(total))
    return recorder.history(step.n_projections)


def REINFORCE(problem, policy, theta, alpha: float, n_episodes: int, rng: np.random.Generator,
              baseline=None, *, max_steps: int = DEFAULT_MAX_STEPS,
              allow_truncated: bool = False,
              variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""REINFORCE (Williams, 1992) as in the lecture, with γᵗ and an optional baseline.

    Parameters
    ----------
    problem, policy, theta, alpha, n_episodes, rng
        As in :func:`PG_v1`.
    baseline : None, float or LinearValueBaseline
        None: b = 0. A number: a constant b. A :class:`~pgref.algorithms.LinearValueBaseline`:
        a learned v̂(s) = wᵀx(s), updated at every step with its own step size α_w.
    max_steps, allow_truncated, variance_floor
        As in :func:`PG_v1`.

    Returns
    -------
    History
        θ and 𝒥(θ) after each episode, ‖Σₜ γᵗ (Gₜ − b(Sₜ)) ∇ log π_θ(Aₜ|Sₜ)‖ per episode, the
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

    whose expected direction is ∇𝒥. Without γᵗ the direction is not the gradient of any
    objective when γ < 1 (:func:`pgref.exact.gamma_dropped_direction`). With a learned
    baseline, each step first moves w ← w + α_w (Gₜ − v̂(Sₜ)) x(Sₜ) (no γᵗ), then θ with the
    same δ = Gₜ − v̂(Sₜ) (Sutton & Barto, "REINFORCE with Baseline").
    """
    theta, alpha = checked_loop_inputs(problem, policy, theta, alpha, rng)
    n_episodes = _checks.positive_int("n_episodes", n_episodes)
    baseline = check_baseline(baseline)
    learned = isinstance(baseline, LinearValueBaseline)
    weights = baseline.initial_weights.copy() if learned else None
    gamma = problem.gamma
    step = AscentStep(alpha, policy, _checks.positive_scalar("variance_floor", variance_floor))
    objective = exact_objective(problem, policy)
    recorder = Recorder(objective, theta, step.floor, weights)
    for _episode in range(n_episodes):                               # 2: for episode = 1 : K
        episode = _one_episode(problem, policy, theta, rng, max_steps,
                               allow_truncated)                  # 3: τ ∼ π_θ
        G_t = estimators.reward_to_go(episode, gamma)                # Gₜ for every t
        total = np.zeros_like(theta)
        for t in range(episode.lengths[0]):                          # 4: for t = 0 : T − 1
            if learned:
                state = episode.states[t : t + 1]
                delta = G_t[t] - baseline.values(weights, state)[0]  # δ = Gₜ − v̂(Sₜ)
                weights = baseline.step(weights, state, np.array([delta]))
            else:
                delta = G_t[t] - baseline                            # Gₜ − b
            direction = gamma**t * delta * _score(policy, theta, episode, t)
            theta = step(theta, direction)                           # 5: θ ← θ + α γᵗ δ ∇log π
            total += direction
        recorder.episodes(G_t[:1], episode.lengths)
        recorder.update(theta, np.linalg.norm(total), weights)
    return recorder.history(step.n_projections)


def _one_episode(problem, policy, theta, rng, max_steps, allow_truncated):
    """One episode under π_θ; one cut at ``max_steps`` stops the loop unless allowed."""
    episode = problem.sample_episodes(policy, theta, 1, rng, max_steps)
    if episode.truncated[0] and not allow_truncated:
        raise ValueError(
            f"an episode did not end within max_steps = {max_steps} steps (a truncated episode: "
            "π_θ may have stopped reaching a terminal state); learning from it would be biased. "
            "Lower alpha, raise max_steps if the episodes are just long, or pass "
            "allow_truncated=True to accept the bias knowingly"
        )
    return episode


def _score(policy, theta: np.ndarray, episode, t: int) -> np.ndarray:
    r"""∇ log π_θ(Aₜ|Sₜ) of step t of a one-episode batch, at the given θ, shape (n_params,)."""
    return policy.grad_log_prob(theta, episode.states[t : t + 1], episode.actions[t : t + 1])[0]
