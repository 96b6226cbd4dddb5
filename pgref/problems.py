r"""What a problem is, declared once: the :class:`Problem` and :class:`ExactProblem` protocols,
and :class:`EnvProblem`, which makes any Gymnasium-style environment a problem.

Every loop of :mod:`pgref.algorithms` takes a problem and asks it for two things only: its
discount γ, and K episodes sampled under π_θ (line 3 of the lecture's pseudocode, "Sample a
trajectory with policy π_θ"). A problem with an exact objective — a tabular MDP (linear solves),
the linear-quadratic problem (Lyapunov solves), the Gaussian bandit (closed form) — also gives
𝒥(θ) and ∇𝒥(θ), which the loops record beside the sampled returns.

=============================  ========================================================
``pgref.TabularMDP``           exact 𝒥, ∇𝒥 by the policy gradient theorem (:mod:`pgref.exact`)
``pgref.lqr.LinearQuadratic``  exact 𝒥, ∇𝒥 by Lyapunov solves (:mod:`pgref.lqr`)
``Problem``
``pgref.lqr.GaussianBandit``   exact 𝒥, ∇𝒥 in closed form, one-step episodes
:class:`EnvProblem`            any Gymnasium-style environment, sampled only
=============================  ========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from pgref import checks
from pgref.rollout import DEFAULT_MAX_STEPS, Episodes, sample_env_episodes

__all__ = ["EnvProblem", "ExactProblem", "Problem"]


@runtime_checkable
class Problem(Protocol):
    r"""Anything episodes can be sampled from under a policy π_θ.

    Attributes
    ----------
    gamma : float
        The discount γ ∈ [0, 1] of the returns G(τ) = Σₜ γᵗ Rₜ₊₁.

    Notes
    -----
    ``sample_episodes(policy, theta, n_episodes, rng, max_steps=...)`` → an
    :class:`~pgref.rollout.Episodes` batch of K = ``n_episodes`` episodes τ₁ … τ_K ∼ p_π
    (lecture: "Training Policy Network: SGD"), each cut at ``max_steps`` and then marked
    truncated.
    """

    gamma: float

    def sample_episodes(self, policy, theta, n_episodes: int, rng: np.random.Generator,
                        max_steps: int = ...) -> Episodes: ...


@runtime_checkable
class ExactProblem(Problem, Protocol):
    r"""A problem whose objective and gradient pgref computes exactly.

    Notes
    -----
    ``objective(policy, theta)`` → 𝒥(π_θ) = E[G(τ)], a float (lecture: "Training Policy Network:
    𝒥(π_θ) = E[v_π(S₀)]"); ``policy_gradient(policy, theta)`` → ∇𝒥(θ), shape (n_params,).
    """

    def objective(self, policy, theta) -> float: ...

    def policy_gradient(self, policy, theta) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class EnvProblem:
    r"""A Gymnasium-style environment as a problem: episodes by ``reset`` and ``step``.

    Parameters
    ----------
    env : object
        With ``reset(seed=int)`` → (observation, info) and ``step(action)`` → (observation,
        reward, terminated, truncated, info), e.g. ``gymnasium.make("CartPole-v1")``,
        :func:`pgref.gym.make_env` or :class:`pgref.mdp.TabularEnv`.
    gamma : float, default 1.0
        The discount γ ∈ [0, 1] of the returns (an environment does not carry one).

    Notes
    -----
    Sampling goes through :func:`pgref.rollout.sample_env_episodes`, one step at a time. There
    is no exact 𝒥: a loop records NaN in its history's ``objective``.
    """

    env: object
    gamma: float = 1.0

    def __post_init__(self) -> None:
        if not (callable(getattr(self.env, "reset", None))
                and callable(getattr(self.env, "step", None))):
            raise ValueError(
                "env must be a Gymnasium-style environment with reset(seed=...) and "
                f"step(action), e.g. gymnasium.make('CartPole-v1'); got {type(self.env).__name__}"
            )
        gamma = checks.finite_scalar("gamma", self.gamma)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1] (a discount factor); got {gamma!r}")
        object.__setattr__(self, "gamma", gamma)

    def sample_episodes(self, policy, theta, n_episodes: int, rng: np.random.Generator,
                        max_steps: int = DEFAULT_MAX_STEPS) -> Episodes:
        r"""K episodes of the environment under π_θ (:func:`pgref.rollout.sample_env_episodes`)."""
        return sample_env_episodes(self.env, policy, theta, n_episodes, rng, max_steps)
