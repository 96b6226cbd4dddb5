r"""What a per-step loop needs from (problem, policy): sample τ ∼ π_θ, score a step, exact 𝒥.

Chosen once, when a loop starts, after its inputs are checked:

- a :class:`pgref.TabularMDP` with a policy over its states walks episodes with
  :class:`~pgref.algorithms.tabular_walk.TabularWalker` and records the exact 𝒥 of every θ in one
  stacked solve (:func:`~pgref.algorithms.exact_trace.objectives`); a softmax-linear policy is
  scored by :class:`~pgref.algorithms.tabular_softmax.TabularSoftmax` and may run many learners
  in lockstep (:mod:`pgref.algorithms.lockstep`);
- any other problem samples with ``problem.sample_episodes(policy, θ, 1, rng, max_steps=...)``
  and scores with ``policy.grad_log_prob``; 𝒥 is ``problem.objective(policy, θ)`` where the
  problem has one, NaN otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.algorithms import exact_trace
from pgref.algorithms.ascent import holds_variance
from pgref.algorithms.inputs import checked_loop_inputs, exact_objective
from pgref.algorithms.tabular_softmax import TabularSoftmax
from pgref.algorithms.tabular_walk import TabularWalker, UniformStream
from pgref.mdp import TabularMDP
from pgref.policies import TabularPolicy

__all__ = ["Learner", "VarianceFloor", "Walk", "checked_alpha", "checked_learner"]


class Walk(NamedTuple):
    r"""One episode S₀, A₀ → R₁, S₁, …: ``rewards[t]`` is Rₜ₊₁; ``ended`` is False when cut."""

    states: list
    actions: list
    rewards: list
    ended: bool


class Learner(NamedTuple):
    r"""The problem and policy as one learner sees them.

    Attributes
    ----------
    sampler : callable rng → (callable θ → Walk)
        Line 3 of the lecture's loops for one run drawing from ``rng``: one episode under π_θ,
        ``ended=False`` if cut.
    score : callable (θ, Sₜ, Aₜ) → ndarray (n_params,)
        ∇ log π_θ(Aₜ|Sₜ) at the θ of that moment.
    gamma : float
    objective : callable θ (N, n_params) → 𝒥 (N,)
        The exact 𝒥 of each row; NaN for a non-finite row or where there is none.
    softmax : TabularSoftmax or None
        Set for a softmax-linear policy on a tabular MDP: runs may go in lockstep.
    walker : TabularWalker or None
    """

    sampler: Callable[[np.random.Generator], Callable[[np.ndarray], Walk]]
    score: Callable[[np.ndarray, object, object], np.ndarray]
    gamma: float
    objective: Callable[[np.ndarray], np.ndarray]
    softmax: TabularSoftmax | None = None
    walker: TabularWalker | None = None


def _tabular_learner(mdp: TabularMDP, policy, max_steps: int) -> Learner:
    walker = TabularWalker(mdp, max_steps)
    softmax = TabularSoftmax.of(policy)
    tables = softmax.action_probs if softmax is not None else policy.action_probs

    def objective(thetas: np.ndarray) -> np.ndarray:
        finite = np.all(np.isfinite(thetas), axis=1)
        pi = np.full((thetas.shape[0], mdp.n_states, mdp.n_actions), np.nan)
        if softmax is not None:
            pi[finite] = softmax.action_probs(thetas[finite])
        else:
            pi[finite] = [policy.action_probs(theta) for theta in thetas[finite]]
        return exact_trace.objectives(mdp, pi)

    def sampler(rng):
        stream = UniformStream(rng)

        def sample(theta):
            return Walk(*walker.episode(tables(theta), stream))
        return sample

    score = softmax.score if softmax is not None else policy.grad_log_prob
    return Learner(sampler, score, mdp.gamma, objective, softmax, walker)


def _problem_learner(problem, policy, max_steps: int) -> Learner:
    def sampler(rng):
        def sample(theta):
            episode = problem.sample_episodes(policy, theta, 1, rng, max_steps=max_steps)[0]
            return Walk(list(episode.states), list(episode.actions), episode.rewards.tolist(),
                        not episode.truncated)
        return sample

    def score(theta, state, action):
        return policy.grad_log_prob(theta, np.asarray(state)[None], np.asarray(action)[None])[0]

    exact = exact_objective(problem, policy)

    def objective(thetas):
        return np.array([exact(theta) if exact is not None and np.all(np.isfinite(theta))
                         else np.nan for theta in thetas])

    return Learner(sampler, score, float(problem.gamma), objective)


class VarianceFloor:
    r"""σ² ← max(σ², σ²_min) after an update where θ holds σ² itself (identity otherwise),
    counting each projection (the stated floor of :mod:`pgref.algorithms.ascent`)."""

    def __init__(self, policy, variance_floor: float):
        self.floor = variance_floor if holds_variance(policy) else None
        self.n_projections = 0

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        if self.floor is not None and theta[-1] < self.floor:
            theta = theta.copy()
            theta[-1] = self.floor
            self.n_projections += 1
        return theta


def checked_learner(problem, policy, theta, alpha, n_episodes, rng, n_runs, max_steps,
                    variance_floor):
    r"""Check a per-step loop's arguments once; return (learner, θ₀ copy, α per run (R,), E,
    rng, R, σ² floor)."""
    theta, _ = checked_loop_inputs(problem, policy, theta, 1.0, rng)
    max_steps = checks.positive_int("max_steps", max_steps)
    variance_floor = checks.positive_scalar("variance_floor", variance_floor)
    if isinstance(problem, TabularMDP) and isinstance(policy, TabularPolicy):
        if (policy.n_states, policy.n_actions) != (problem.n_states, problem.n_actions):
            raise ValueError(
                f"policy must be a policy over this MDP's {problem.n_states} states and "
                f"{problem.n_actions} actions (features of shape (S, A, J)); got a policy over "
                f"{policy.n_states} states and {policy.n_actions} actions"
            )
        learner = _tabular_learner(problem, policy, max_steps)
    else:
        learner = _problem_learner(problem, policy, max_steps)
    n_runs = checks.positive_int("n_runs", n_runs)
    return (learner, theta, checked_alpha(alpha, n_runs),
            checks.positive_int("n_episodes", n_episodes), rng, n_runs,
            VarianceFloor(policy, variance_floor))


def checked_alpha(alpha, n_runs: int) -> np.ndarray:
    """α as one step size per run, shape (n_runs,): a number for all, or one per run."""
    if np.ndim(alpha) == 0:
        return np.full(n_runs, checks.positive_scalar("alpha", alpha))
    alphas = checks.finite_array("alpha", alpha)
    if alphas.shape != (n_runs,) or np.any(alphas <= 0):
        raise ValueError(
            f"alpha must be a number > 0 or an array of shape (n_runs,) = ({n_runs},) of "
            f"numbers > 0, one step size per run; got shape {alphas.shape} with minimum "
            f"{alphas.min() if alphas.size else None}"
        )
    return alphas
