r"""Where a learning loop's episodes come from: one interface over MDPs, environments and the LQR.

A :class:`Sampler` draws K episodes τ₁ … τ_K under π_θ as an :class:`~pgref.rollout.Episodes`
batch (line 3 of the lecture's pseudocode, "Sample a trajectory with policy π_θ") and, where
the problem has one, gives the exact J(θ) for the history. The same loops of
:mod:`pgref.algorithms` then run on

- a tabular MDP, through :func:`pgref.rollout.sample_episodes` (:func:`tabular_sampler`);
- any Gymnasium-style environment, through :func:`pgref.rollout.sample_env_episodes`
  (:func:`env_sampler`), e.g. ``gymnasium.make("CartPole-v1")``;
- the linear-quadratic problem, through :func:`pgref.lqr.sample_trajectories`
  (:func:`lqr_sampler`), and the Gaussian bandit (:func:`gaussian_bandit_sampler`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pgref import _checks, lqr, rollout
from pgref.algorithms.exact_ascent import exact_functions
from pgref.mdp import TabularMDP
from pgref.rollout import Episodes

__all__ = [
    "Sampler",
    "env_sampler",
    "episodes_from_bandit_samples",
    "episodes_from_trajectories",
    "gaussian_bandit_sampler",
    "lqr_sampler",
    "tabular_sampler",
]


@dataclass(frozen=True, eq=False)
class Sampler:
    r"""A policy, its discount, a way to sample episodes and (optionally) the exact J.

    Parameters
    ----------
    policy : pgref policy
        With ``n_params`` and ``grad_log_prob(theta, states, actions)``.
    gamma : float
        γ ∈ [0, 1], the discount of the returns G(τ) = Σₜ γᵗ Rₜ₊₁.
    draw : callable
        ``draw(theta, n_episodes, rng)`` → :class:`~pgref.rollout.Episodes` with
        ``n_episodes`` episodes sampled under π_θ.
    objective : callable, optional
        θ ↦ exact J(θ), recorded in the history; None when there is none.
    allow_truncated : bool, default False
        Whether episodes cut before a terminal state may be learned from. Their returns miss
        every reward after the cut, so the gradient estimates are biased; the loops refuse them
        unless this says so.
    """

    policy: object
    gamma: float
    draw: Callable[[np.ndarray, int, np.random.Generator], Episodes]
    objective: Callable[[np.ndarray], float] | None = None
    allow_truncated: bool = False

    def __post_init__(self) -> None:
        if not (hasattr(self.policy, "n_params") and hasattr(self.policy, "grad_log_prob")):
            raise ValueError(
                "policy must be a pgref policy (with n_params and grad_log_prob), e.g. "
                f"pgref.SoftmaxLinearPolicy; got {type(self.policy).__name__}"
            )
        gamma = _checks.finite_scalar("gamma", self.gamma)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1] (a discount factor); got {gamma!r}")
        object.__setattr__(self, "gamma", gamma)
        if not callable(self.draw):
            raise ValueError(f"draw must be callable (theta, n_episodes, rng) -> Episodes; "
                             f"got {self.draw!r}")
        if self.objective is not None and not callable(self.objective):
            raise ValueError(f"objective must be callable theta -> J(theta), or None; got "
                             f"{self.objective!r}")
        if not isinstance(self.allow_truncated, bool):
            raise ValueError(f"allow_truncated must be True or False; got "
                             f"{self.allow_truncated!r}")

    def sample(self, theta: np.ndarray, n_episodes: int, rng: np.random.Generator) -> Episodes:
        r"""K = ``n_episodes`` episodes under π_θ, refusing truncated ones unless allowed.

        Returns
        -------
        Episodes
            ``states``, ``actions``, ``rewards`` of shape (K, T, …), ``lengths`` (K,).
        """
        episodes = self.draw(theta, n_episodes, rng)
        if not isinstance(episodes, Episodes) or episodes.n_episodes != n_episodes:
            raise ValueError(
                f"draw must return a pgref.rollout.Episodes batch of {n_episodes} episode(s); "
                f"got {episodes!r}"
            )
        n_truncated = int(episodes.truncated.sum())
        if n_truncated and not self.allow_truncated:
            raise ValueError(
                f"the sampler returned {n_truncated} truncated episode(s) of {n_episodes} (cut "
                "before a terminal state): learning from them is biased. Raise max_steps, or "
                "build the sampler with allow_truncated=True to accept the bias knowingly"
            )
        return episodes


def tabular_sampler(mdp: TabularMDP, policy, max_steps: int = rollout.DEFAULT_MAX_STEPS
                    ) -> Sampler:
    r"""Episodes of a tabular MDP by :func:`pgref.rollout.sample_episodes`, J by linear solves.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy over the MDP's states (e.g. ``SoftmaxLinearPolicy``)
    max_steps : int
        Episodes longer than this are cut and marked truncated, which the loops refuse.

    Returns
    -------
    Sampler
        γ = ``mdp.gamma``; ``objective`` = :func:`pgref.exact.objective`.
    """
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a pgref.TabularMDP; got {type(mdp).__name__}")
    max_steps = _checks.positive_int("max_steps", max_steps)
    objective, _ = exact_functions(mdp, policy)

    def draw(theta, n_episodes, rng):
        return rollout.sample_episodes(mdp, policy, theta, n_episodes, rng, max_steps=max_steps)

    return Sampler(policy, mdp.gamma, draw, objective)


def env_sampler(env, policy, gamma: float, max_steps: int = rollout.DEFAULT_MAX_STEPS,
                allow_truncated: bool = False) -> Sampler:
    r"""Episodes of a Gymnasium-style environment by :func:`pgref.rollout.sample_env_episodes`.

    Parameters
    ----------
    env : object
        ``reset(seed=)`` → (observation, info), ``step(a)`` → 5-tuple, e.g.
        ``gymnasium.make("CartPole-v1")`` or :class:`pgref.mdp.TabularEnv`.
    policy : pgref policy over the environment's observations
    gamma : float in [0, 1]
        The discount of the returns (an environment does not carry one).
    max_steps : int
        Cut episodes after this many steps (marked truncated).
    allow_truncated : bool, default False
        Learn from truncated episodes (e.g. CartPole-v1's time limit of 500 steps), accepting
        that their returns miss what came after the cut.

    Returns
    -------
    Sampler
        With no exact objective (the history records NaN).
    """
    max_steps = _checks.positive_int("max_steps", max_steps)

    def draw(theta, n_episodes, rng):
        return rollout.sample_env_episodes(env, policy, theta, n_episodes, rng,
                                           max_steps=max_steps)

    return Sampler(policy, gamma, draw, None, allow_truncated)


def episodes_from_trajectories(trajectories: lqr.Trajectories) -> Episodes:
    r"""An :class:`~pgref.rollout.Episodes` batch from :class:`pgref.lqr.Trajectories`.

    Parameters
    ----------
    trajectories : lqr.Trajectories
        ``states`` (K, H, n), ``actions`` (K, H) or (K, H, d), ``rewards`` (K, H).

    Returns
    -------
    Episodes
        Every episode has length H and is marked truncated: the linear-quadratic problem never
        terminates, and the horizon H cuts it.
    """
    if not isinstance(trajectories, lqr.Trajectories):
        raise ValueError(f"trajectories must be a pgref.lqr.Trajectories; got "
                         f"{type(trajectories).__name__}")
    n_episodes, horizon = trajectories.rewards.shape
    return Episodes(trajectories.states.reshape(n_episodes * horizon, -1),
                    trajectories.actions.reshape(n_episodes * horizon,
                                                 *trajectories.actions.shape[2:]),
                    trajectories.rewards.reshape(-1),
                    np.full(n_episodes, horizon), np.ones(n_episodes, dtype=bool))


def lqr_sampler(problem: lqr.LinearQuadraticProblem, policy, horizon: int) -> Sampler:
    r"""Episodes of the linear-quadratic problem cut at H steps, J by Lyapunov solves.

    Parameters
    ----------
    problem : lqr.LinearQuadraticProblem
    policy : GaussianPolicy
        On the identity features (:func:`pgref.lqr.linear_gaussian_policy`).
    horizon : int
        H ≥ 1, the number of simulated steps of each episode.

    Returns
    -------
    Sampler
        γ = ``problem.gamma``, ``objective`` = :func:`pgref.lqr.objective`, and
        ``allow_truncated=True``.

    Notes
    -----
    The problem is infinite-horizon, so every episode is cut at H and marked truncated. The
    rewards after the cut are discounted by γᴴ or more; the sampled estimators therefore carry
    a bias of relative size about γᴴ (``pgref.lqr.Trajectories.truncation_bias`` gives its exact
    effect on J). Choose H with γᴴ well below the Monte-Carlo error, e.g. H = 150 for γ = 0.9
    (γᴴ ≈ 1.4e-7).
    """
    if not isinstance(problem, lqr.LinearQuadraticProblem):
        raise ValueError(f"problem must be a pgref.lqr.LinearQuadraticProblem; got "
                         f"{type(problem).__name__}")
    horizon = _checks.positive_int("horizon", horizon)
    objective, _ = exact_functions(problem, policy)

    def draw(theta, n_episodes, rng):
        return episodes_from_trajectories(
            lqr.sample_trajectories(problem, policy, theta, n_episodes, horizon, rng))

    return Sampler(policy, problem.gamma, draw, objective, allow_truncated=True)


def episodes_from_bandit_samples(samples: lqr.BanditSamples) -> Episodes:
    r"""One-step episodes (T = 1) from :class:`pgref.lqr.BanditSamples`.

    Parameters
    ----------
    samples : lqr.BanditSamples
        ``states`` (N,) or (N, n), ``actions`` (N,) or (N, d), ``rewards`` (N,).

    Returns
    -------
    Episodes
        K = N episodes of length 1, none truncated (the bandit ends after its one step).
    """
    if not isinstance(samples, lqr.BanditSamples):
        raise ValueError(f"samples must be a pgref.lqr.BanditSamples; got "
                         f"{type(samples).__name__}")
    n = samples.rewards.shape[0]
    return Episodes(np.asarray(samples.states), np.asarray(samples.actions),
                    np.asarray(samples.rewards, dtype=float),
                    np.ones(n, dtype=np.int64), np.zeros(n, dtype=bool))


def gaussian_bandit_sampler(bandit: lqr.GaussianBandit, policy) -> Sampler:
    r"""One-step episodes of the Gaussian bandit r(a) = −‖a − a*(s)‖², J in closed form.

    Parameters
    ----------
    bandit : lqr.GaussianBandit
    policy : GaussianPolicy
        Whose features accept ``bandit.states``.

    Returns
    -------
    Sampler
        γ = 1 (one step: G(τ) = R₁), ``objective`` = ``bandit.objective``.
    """
    if not isinstance(bandit, lqr.GaussianBandit):
        raise ValueError(f"bandit must be a pgref.lqr.GaussianBandit; got "
                         f"{type(bandit).__name__}")
    objective, _ = exact_functions(bandit, policy)

    def draw(theta, n_episodes, rng):
        return episodes_from_bandit_samples(bandit.sample(policy, theta, n_episodes, rng))

    return Sampler(policy, 1.0, draw, objective)
