r"""The one-step Gaussian bandit r(a) = −‖a − a*(s)‖² with its exact 𝒥 and ∇𝒥 (lecture:
"Example: Gaussian").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgref import checks
from pgref.lqr.problem import read_only
from pgref.policies.gaussian import GaussianPolicy
from pgref.rollout import Episodes


@dataclass(frozen=True, eq=False)
class GaussianBandit:
    r"""A one-step continuous bandit r(a) = −‖a − a*(s)‖² with s drawn from p(s).

    Parameters
    ----------
    states : array_like, shape (S,) of int, or (S, n) of float
        The support of the state distribution, in whatever form the policy's features take:
        indices for tabular features x(s), points for callable ones.
    probabilities : array_like, shape (S,)
        p(s), non-negative, summing to 1 (within 1e-12; not renormalised).
    targets : array_like, shape (S,) or (S, d)
        a*(s), the best action in each state; shape (S,) means d = 1.

    Notes
    -----
    Lecture: "Example: Gaussian". For π_θ(a|s) = N(m(s), σ² I), m(s) = Θᵀx(s), a ∈ ℝᵈ:

        E[‖A − a*(s)‖² | s] = ‖m(s) − a*(s)‖² + d σ²
        𝒥(θ) = −Σₛ p(s) ‖m(s) − a*(s)‖² − d σ²
        ∇_Θ 𝒥 = −2 Σₛ p(s) x(s) (m(s) − a*(s))ᵀ              (J × d)
        ∂𝒥/∂σ² = −d,   ∂𝒥/∂(log σ²) = −d σ²

    𝒥 falls linearly in σ²: the best variance is σ² → 0, the deterministic policy a = m(s).
    """

    states: np.ndarray
    probabilities: np.ndarray
    targets: np.ndarray

    def __post_init__(self):
        states = np.asarray(self.states)
        if states.ndim not in (1, 2) or states.shape[0] == 0:
            raise ValueError(
                "states must have shape (S,) (indices) or (S, n) (points) with S ≥ 1; "
                f"got shape {states.shape}"
            )
        if not np.issubdtype(states.dtype, np.integer):
            states = checks.finite_array("states", states)
        n = states.shape[0]
        probabilities = checks.finite_array("probabilities", self.probabilities, ndim=1)
        if probabilities.shape != (n,):
            raise ValueError(
                f"probabilities must have shape ({n},), one per state; got {probabilities.shape}"
            )
        if probabilities.min() < 0.0 or abs(probabilities.sum() - 1.0) > 1e-12:
            raise ValueError(
                "probabilities must be non-negative and sum to 1; got minimum "
                f"{probabilities.min()!r} and sum {probabilities.sum()!r}"
            )
        targets = checks.finite_array("targets", self.targets, ndim=(1, 2))
        if targets.shape[0] != n:
            raise ValueError(
                f"targets must have shape ({n},) or ({n}, d), one row per state; "
                f"got {targets.shape}"
            )
        states = np.array(states)
        states.setflags(write=False)
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "probabilities", read_only(probabilities))
        object.__setattr__(self, "targets", read_only(targets.reshape(n, -1)))

    @property
    def action_dim(self) -> int:
        """d, the dimension of an action."""
        return self.targets.shape[1]

    def _check_policy(self, policy) -> None:
        if not isinstance(policy, GaussianPolicy):
            raise ValueError(f"policy must be a pgref.GaussianPolicy; got {type(policy).__name__}")
        if policy.action_dim != self.action_dim:
            raise ValueError(
                f"policy.action_dim must equal the targets' dimension d = {self.action_dim}; "
                f"got {policy.action_dim}"
            )

    def _mean_error(self, policy, theta) -> tuple[np.ndarray, float]:
        """(m(s) − a*(s) for every state s, shape (S, d); σ²)."""
        self._check_policy(policy)
        variance = policy.variance(theta)
        mean = np.asarray(policy.mean(theta, self.states)).reshape(-1, self.action_dim)
        return mean - self.targets, variance

    def objective(self, policy, theta) -> float:
        r"""𝒥(θ) = −Σₛ p(s) ‖Θᵀx(s) − a*(s)‖² − d σ² (see the class Notes).

        Parameters
        ----------
        policy : GaussianPolicy
            With ``action_dim`` = d and features that accept ``states``.
        theta : array_like, shape (n_params,)
        """
        error, variance = self._mean_error(policy, theta)
        squared = (error**2).sum(axis=1)
        return float(-(self.probabilities @ squared) - self.action_dim * variance)

    def policy_gradient(self, policy, theta) -> np.ndarray:
        r"""∇𝒥(θ), shape (n_params,): ∇_Θ 𝒥 = −2 Σₛ p(s) x(s)(m(s) − a*(s))ᵀ row-major, then
        ∂𝒥/∂σ² = −d or ∂𝒥/∂(log σ²) = −d σ² when the variance is learned (class Notes)."""
        error, variance = self._mean_error(policy, theta)
        x = policy.features.at(self.states)  # (S, J)
        grad_weights = -2.0 * x.T @ (self.probabilities[:, None] * error)  # (J, d)
        parts = [grad_weights.ravel()]
        if policy.learn_variance:
            d = self.action_dim
            parts.append([-d if policy.variance_parameter == "variance" else -d * variance])
        return np.concatenate(parts)

    @property
    def gamma(self) -> float:
        """γ = 1: an episode is one step, so G(τ) = R₁."""
        return 1.0

    def sample_episodes(self, policy, theta, n_episodes: int, rng: np.random.Generator,
                        max_steps: int = 1) -> Episodes:
        r"""K one-step episodes: S₀ ∼ p, A₀ ∼ π_θ(·|S₀), R₁ = −‖A₀ − a*(S₀)‖², then the end.

        Parameters
        ----------
        policy : GaussianPolicy
        theta : array_like, shape (n_params,)
        n_episodes : int
            K.
        rng : numpy.random.Generator
        max_steps : int, default 1
            Any cut ≥ 1 leaves the one-step episodes whole (none is truncated).

        Returns
        -------
        Episodes
            ``states`` (K,) or (K, n) (rows of :attr:`states`), ``actions`` (K,) or (K, d),
            ``rewards`` (K,), every length 1.
        """
        self._check_policy(policy)
        n_episodes = checks.positive_int("n_episodes", n_episodes)
        checks.positive_int("max_steps", max_steps)
        rng = checks.rng_generator(rng)
        rows = rng.choice(self.probabilities.shape[0], size=n_episodes, p=self.probabilities)
        states = self.states[rows]
        actions = policy.sample(theta, states, rng)
        error = np.asarray(actions).reshape(n_episodes, -1) - self.targets[rows]
        return Episodes(states, actions, -(error**2).sum(axis=1),
                        np.ones(n_episodes, dtype=np.int64), np.zeros(n_episodes, dtype=bool))
