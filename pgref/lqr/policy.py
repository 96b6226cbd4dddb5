r"""The linear-Gaussian policy a ∼ N(L s, σ² I): a :class:`pgref.GaussianPolicy` on the state
features x(s) = s, with L = Θᵀ, and the conversions between θ and the gain L.

Variance, not standard deviation: σ² is ``variance`` everywhere.
"""

from __future__ import annotations

import numpy as np

from pgref import checks
from pgref.lqr.problem import LinearQuadraticProblem, check_problem
from pgref.policies.gaussian import GaussianPolicy


def state_features(states) -> np.ndarray:
    r"""x(s) = s, the identity state features of the linear-Gaussian policy: (N, n) → (N, n)."""
    return np.asarray(states, dtype=float)


def linear_gaussian_policy(
    problem: LinearQuadraticProblem,
    variance: float = 1.0,
    learn_variance: bool = False,
    variance_parameter: str = "variance",
) -> GaussianPolicy:
    r"""The policy a ∼ N(L s, σ² I) for ``problem``: a GaussianPolicy on x(s) = s, L = Θᵀ.

    θ = [Θ row-major (n × d), (σ² or log σ²)]; the arguments are those of
    :class:`pgref.GaussianPolicy`.
    """
    check_problem(problem)
    return GaussianPolicy(
        state_features,
        action_dim=problem.action_dim,
        variance=variance,
        learn_variance=learn_variance,
        variance_parameter=variance_parameter,
        n_features=problem.state_dim,
    )


def gain_matrix(policy: GaussianPolicy, theta) -> np.ndarray:
    r"""L = Θᵀ, shape (d, n): the mean action L s of the linear-Gaussian policy."""
    return np.asarray(policy.weights(theta)).T.copy()


def theta_for_gain(policy: GaussianPolicy, gain, variance: float | None = None) -> np.ndarray:
    r"""θ = [Lᵀ row-major, (σ² or log σ²)] for a gain L of shape (d, n)."""
    gain = checks.finite_array("gain", gain, ndim=2)
    return policy.pack(gain.T, variance)


def gain_and_variance(problem, policy, theta) -> tuple[np.ndarray, float]:
    """Check that ``policy`` is the linear-Gaussian policy of ``problem``; return (L, σ²)."""
    check_problem(problem)
    if not isinstance(policy, GaussianPolicy):
        raise ValueError(f"policy must be a pgref.GaussianPolicy; got {type(policy).__name__}")
    n, d = problem.state_dim, problem.action_dim
    if policy.features.is_tabular or policy.features.n_features != n:
        raise ValueError(
            f"policy must use the state itself as features, x(s) = s with n_features = {n} "
            "(see pgref.lqr.linear_gaussian_policy)"
        )
    if policy.action_dim != d:
        raise ValueError(
            f"policy.action_dim must be the problem's action dimension d = {d}; "
            f"got {policy.action_dim}"
        )
    # A linear map is fixed by its values on a basis; the extra rows catch maps like s ↦ s³.
    probe = np.vstack([np.eye(n), -2.5 * np.eye(n), np.linspace(-1.5, 3.0, n)[None, :]])
    if not np.allclose(policy.features.at(probe), probe, rtol=1e-12, atol=1e-12):
        raise ValueError(
            "policy's features must be the identity x(s) = s (a ∼ N(Θᵀs, σ² I)); they differ "
            "on probe states (see pgref.lqr.linear_gaussian_policy)"
        )
    return gain_matrix(policy, theta), policy.variance(theta)
