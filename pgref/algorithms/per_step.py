r"""The lecture's PG_v1 and REINFORCE as written: θ changes after every step of every episode.

Lecture: "First Policy Gradient Algorithm" (PG_v1) and "REINFORCE: First Official Algorithm".
Both sample one episode with the current θ, then walk through its steps, each time taking the
score ∇ log π_θ(Aₜ|Sₜ) at the θ of that moment, already moved by the earlier steps of the same
episode. (The batch variants of :mod:`pgref.algorithms.batch` instead evaluate every score at
the θ the episodes were sampled with.)

Both run ``n_runs`` independent learners on request. Run r uses the generator
``rng.spawn(n_runs)[r]`` (a single-run call uses ``rng`` itself), so run r of a call equals a
single-run call given that generator. For a softmax-linear policy on a :class:`pgref.TabularMDP`
the runs advance in lockstep (:mod:`pgref.algorithms.lockstep`), otherwise one after another.
A run is stopped, not raised, when an episode does not end within ``max_steps`` or an update makes
θ non-finite; :attr:`History.stops` says which run, at which episode and why, and the other runs
go on. No probability is clamped: the loops compute the lecture's (and Sutton & Barto's)
algorithm, divergence included.
"""

from __future__ import annotations

from operator import mul

import numpy as np

from pgref import checks
from pgref.algorithms.ascent import DEFAULT_VARIANCE_FLOOR
from pgref.algorithms.baselines import LinearValueBaseline, check_baseline
from pgref.algorithms.history import History
from pgref.algorithms.learner import Learner, VarianceFloor, checked_learner
from pgref.algorithms.lockstep import run_in_lockstep
from pgref.algorithms.run_trace import RunTrace
from pgref.algorithms.tabular_walk import rewards_to_go

__all__ = ["DEFAULT_MAX_STEPS", "REINFORCE", "PG_v1"]

DEFAULT_MAX_STEPS = 100_000
"""Steps after which an episode counts as not ending and its run is stopped."""


def _generators(rng: np.random.Generator, n_runs: int) -> list[np.random.Generator]:
    """``[rng]`` for one run; ``rng.spawn(n_runs)`` (run r gets the r-th child) for several."""
    return [rng] if n_runs == 1 else rng.spawn(n_runs)


def PG_v1(problem, policy, theta, alpha, n_episodes, rng: np.random.Generator, *,
          n_runs: int = 1, max_steps: int = DEFAULT_MAX_STEPS, allow_truncated: bool = False,
          variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""The lecture's first policy-gradient algorithm, one θ update per step.

    Parameters
    ----------
    problem : TabularMDP, or a problem with ``gamma`` and ``sample_episodes``
    policy : pgref policy
        Over the MDP's states for a TabularMDP.
    theta : array_like, shape (n_params,)
        θ₀.
    alpha : float, or array_like of shape (n_runs,)
        α > 0; one per run to compare step sizes in one call (Sutton & Barto, Figure 13.1).
    n_episodes : int
        E ≥ 1, the episodes the loop runs (the slide's "for episode = 1 : K"; pgref keeps K
        for the episodes one estimate averages over).
    rng : numpy.random.Generator
    n_runs : int, default 1
        R independent learners from θ₀; run r uses ``rng.spawn(n_runs)[r]``.
    max_steps : int, default 100 000
        An episode still running after this many steps stops its run.
    allow_truncated : bool, default False
        Learn from an episode cut at ``max_steps`` instead of stopping the run (biased: its
        returns miss what follows the cut), e.g. the linear-quadratic problem's endless episodes.
    variance_floor : float
        σ²_min > 0: after an update that leaves σ² below it, where θ holds σ² itself, σ² is set
        to it and the event counted (:data:`~pgref.algorithms.DEFAULT_VARIANCE_FLOOR`).

    Returns
    -------
    History
        θ and 𝒥(θ) after each episode, ‖Σₜ G(τ) ∇ log π_θ(Aₜ|Sₜ)‖ per episode, the returns, the
        stops; with a leading run axis when ``n_runs > 1``.

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

    G(τ) = Σₜ γᵗ Rₜ₊₁ (γ = 1 in the lecture). No factor γᵗ appears for γ < 1:
    G(τ) Σₜ ∇ log π_θ(Aₜ|Sₜ) = G(τ) ∇ log p_π(τ) is already an unbiased sample of ∇E[G(τ)]
    (lecture: "Log-Derivative Trick").

    The score in line 6 is taken at the current θ, so from the second step on it differs from
    the score at the θ the episode was sampled with: the episode's T updates together are not
    α times the single-sample gradient estimate G(τ) Σₜ ∇ log π_θ(Aₜ|Sₜ) of the lecture's SGD
    slide (that is :func:`~pgref.algorithms.PG_v1_batch` with K = 1).
    """
    learner, theta, alpha, n_episodes, rng, n_runs, floor = checked_learner(
        problem, policy, theta, alpha, n_episodes, rng, n_runs, max_steps, variance_floor)
    checks.true_or_false("allow_truncated", allow_truncated)
    trace = RunTrace(n_runs, n_episodes, theta)
    rngs = _generators(rng, n_runs)
    if n_runs > 1 and learner.softmax is not None:
        def weights(runs, rewards, lengths, times):        # α G(τ) at every step
            G_tau = np.array(rewards_to_go(rewards.tolist(), lengths.tolist(), learner.gamma)
                             )[times == 0]
            return np.repeat(alpha[runs] * G_tau, lengths), None, G_tau
        run_in_lockstep(trace, learner.softmax, learner.walker, theta, n_episodes, rngs, weights,
                        allow_truncated=allow_truncated)
    else:
        for run, run_rng in enumerate(rngs):
            _pg_v1_run(learner, theta, float(alpha[run]), n_episodes, run_rng, trace, run,
                       allow_truncated, floor)
    return trace.history(alpha, learner.objective, single=n_runs == 1, floor=floor)


def _pg_v1_run(learner: Learner, theta, alpha, n_episodes, rng, trace: RunTrace, run: int,
               allow_truncated: bool, floor: VarianceFloor):
    sample, score, gamma = learner.sampler(rng), learner.score, learner.gamma
    with np.errstate(over="ignore", invalid="ignore"):   # a diverging θ is recorded, not raised
        for k in range(n_episodes):                                # 2: for episode = 1 : K
            tau = sample(theta)                                    # 3: τ ∼ π_θ
            T = len(tau.rewards)
            if not (tau.ended or allow_truncated):
                return trace.cut(run, k, T)
            G = rewards_to_go(tau.rewards, [T], gamma)[0]          # 4: G(τ)
            for t in range(T):                                     # 5: for t = 0 : T − 1
                S, A = tau.states[t], tau.actions[t]
                theta = floor(theta + alpha * G * score(theta, S, A))  # 6: θ ← θ + α G ∇log π
            if not trace.episode(run, k, G, T, theta):
                return None
    return None


def REINFORCE(problem, policy, theta, alpha, n_episodes, rng: np.random.Generator,
              baseline=None, *, n_runs: int = 1, max_steps: int = DEFAULT_MAX_STEPS,
              allow_truncated: bool = False,
              variance_floor: float = DEFAULT_VARIANCE_FLOOR) -> History:
    r"""REINFORCE (Williams, 1992) as in the lecture, with γᵗ and an optional baseline.

    Parameters
    ----------
    problem : TabularMDP, or a problem with ``gamma`` and ``sample_episodes``
    policy : pgref policy
    theta : array_like, shape (n_params,)
        θ₀.
    alpha : float, or array_like of shape (n_runs,)
        α > 0 (α^θ of Sutton & Barto); one per run to compare step sizes in one call.
    n_episodes : int
        E ≥ 1, as in :func:`PG_v1`.
    rng : numpy.random.Generator
    baseline : None, float or LinearValueBaseline
        None: b = 0. A number: a constant b. ``LinearValueBaseline(state_features, alpha_w)``:
        a learned v̂(s) = wᵀx(s), updated at every step with its own step size α_w (Sutton &
        Barto, Figure 13.2, uses one constant feature x(s) = 1, v̂(s) = w).
    n_runs, max_steps, allow_truncated, variance_floor
        As in :func:`PG_v1` (each run starts from w₀ too).

    Returns
    -------
    History
        θ and 𝒥(θ) after each episode, ‖Σₜ γᵗ (Gₜ − b(Sₜ)) ∇ log π_θ(Aₜ|Sₜ)‖ per episode, the
        returns, the baseline's weights w after each episode when it is learned, the stops; with
        a leading run axis when ``n_runs > 1``.

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

    with Gₜ = Σ_{t′≥t} γ^{t′−t} R_{t′+1}. The lecture takes γ = 1; for γ < 1 line 5 here is the
    discounted form of Sutton & Barto (13.8)

        θ ← θ + α γᵗ (Gₜ − b(Sₜ)) ∇ log π_θ(Aₜ|Sₜ)

    whose expected direction is ∇𝒥. Without γᵗ the direction is not the gradient of any
    objective when γ < 1 (:func:`pgref.exact.gamma_dropped_direction`). With a learned
    baseline, each step first moves w ← w + α_w δ x(Sₜ) with δ = Gₜ − v̂(Sₜ), then θ with the
    same δ (Sutton & Barto, "REINFORCE with Baseline (episodic)", section 13.4).
    """
    learner, theta, alpha, n_episodes, rng, n_runs, floor = checked_learner(
        problem, policy, theta, alpha, n_episodes, rng, n_runs, max_steps, variance_floor)
    checks.true_or_false("allow_truncated", allow_truncated)
    baseline = check_baseline(baseline)
    learned = isinstance(baseline, LinearValueBaseline)
    n_states = getattr(problem, "n_states", None)
    if (learned and n_states is not None and baseline.features.is_tabular
            and baseline.features.n_states != n_states):
        raise ValueError(
            f"baseline must have one feature row x(s) per state of the problem ({n_states} "
            f"states); its feature table has {baseline.features.n_states} rows"
        )
    trace = RunTrace(n_runs, n_episodes, theta, baseline.initial_weights if learned else None)
    rngs = _generators(rng, n_runs)
    tabular_baseline = not learned or baseline.features.is_tabular
    if n_runs > 1 and learner.softmax is not None and tabular_baseline:
        gamma = learner.gamma

        def weights(runs, rewards, lengths, times):
            G = np.array(rewards_to_go(rewards.tolist(), lengths.tolist(), gamma))
            alpha_gamma_t = np.repeat(alpha[runs], lengths) * gamma**times    # α γᵗ
            if learned:                                   # δₜ comes with w at that step
                return alpha_gamma_t, G, G[times == 0]
            return alpha_gamma_t * (G - baseline), None, G[times == 0]       # α γᵗ (Gₜ − b)
        run_in_lockstep(trace, learner.softmax, learner.walker, theta, n_episodes, rngs,
                        weights, baseline if learned else None, allow_truncated=allow_truncated)
    else:
        for run, run_rng in enumerate(rngs):
            _reinforce_run(learner, theta, float(alpha[run]), n_episodes, run_rng, baseline,
                           trace, run, allow_truncated, floor)
    return trace.history(alpha, learner.objective, single=n_runs == 1, floor=floor)


def _reinforce_run(learner: Learner, theta, alpha, n_episodes, rng, baseline,
                   trace: RunTrace, run: int, allow_truncated: bool, floor: VarianceFloor):
    sample, score, gamma = learner.sampler(rng), learner.score, learner.gamma
    learned = isinstance(baseline, LinearValueBaseline)
    # w and x(s) as lists of floats: the few products per step are cheaper than NumPy calls
    w = baseline.initial_weights.tolist() if learned else None
    x_of, alpha_w = (baseline.state_feature_list, baseline.alpha) if learned else (None, None)
    with np.errstate(over="ignore", invalid="ignore"):   # a diverging θ is recorded, not raised
        for k in range(n_episodes):                                # 2: for episode = 1 : K
            tau = sample(theta)                                    # 3: τ ∼ π_θ
            T = len(tau.rewards)
            if not (tau.ended or allow_truncated):
                return trace.cut(run, k, T)
            G = rewards_to_go(tau.rewards, [T], gamma)             # Gₜ for every t
            for t in range(T):                                     # 4: for t = 0 : T − 1
                S, A = tau.states[t], tau.actions[t]
                if learned:
                    x = x_of(S)                                    # x(Sₜ)
                    delta = G[t] - sum(map(mul, w, x))             # δ = Gₜ − v̂(Sₜ)
                    w = [w_j + alpha_w * delta * x_j                # w ← w + α_w δ x(Sₜ)
                         for w_j, x_j in zip(w, x, strict=True)]
                else:
                    delta = G[t] - baseline                        # Gₜ − b
                theta = floor(theta + alpha * gamma**t * delta * score(theta, S, A))  # 5
            if not trace.episode(run, k, G[0], T, theta, None if w is None else np.array(w)):
                return None
    return None
