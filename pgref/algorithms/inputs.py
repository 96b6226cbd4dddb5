r"""The checks every sampled loop starts with (the problem, the policy, θ, α, rng), once, and the
exact 𝒥 a loop records where the problem has one."""

from __future__ import annotations

import numpy as np

from pgref import checks
from pgref.policies import Policy
from pgref.problems import ExactProblem, Problem

__all__ = ["checked_loop_inputs", "exact_objective"]


def checked_loop_inputs(problem, policy, theta, alpha, rng) -> tuple[np.ndarray, float]:
    """Check a loop's arguments once; return θ as a fresh float copy and α as a float."""
    if not isinstance(problem, Problem):
        raise ValueError(
            "problem must be a pgref problem (with gamma and sample_episodes): a "
            "pgref.TabularMDP, a pgref.lqr.LinearQuadraticProblem, a pgref.lqr.GaussianBandit, "
            f"or pgref.problems.EnvProblem(env, gamma) for an environment; got "
            f"{type(problem).__name__}"
        )
    if not isinstance(policy, Policy):
        raise ValueError(
            "policy must be a pgref policy (n_params, log_prob, grad_log_prob, sample), e.g. "
            f"pgref.SoftmaxLinearPolicy(features); got {type(policy).__name__}"
        )
    theta = checks.parameter_vector(theta, policy.n_params).copy()
    alpha = checks.positive_scalar("alpha", alpha)
    checks.rng_generator(rng)
    return theta, alpha


def exact_objective(problem, policy):
    """θ ↦ the exact 𝒥(θ) where the problem has one (recorded in a history), else None."""
    if isinstance(problem, ExactProblem):
        return lambda theta: problem.objective(policy, theta)
    return None
