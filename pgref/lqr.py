r"""Gaussian policies on continuous problems, with exact J and ∇J (lecture: "Example: Gaussian").

Two problems where the Gaussian policy π_θ(a|s) = N(Θᵀx(s), σ² I) has a closed-form objective:

- :class:`GaussianBandit`, one step: r(a) = −‖a − a*(s)‖², s drawn from a finite distribution.
- :class:`LinearQuadraticProblem`, the continuous moving particle (lecture: "Example: Moving
  Particle") and any other linear-quadratic problem: sₜ₊₁ = A sₜ + B aₜ,
  rₜ₊₁ = −(sₜᵀQ sₜ + aₜᵀR aₜ), discount γ < 1, s₀ ∼ N(initial_mean, initial_cov).

For the linear-Gaussian policy a ∼ N(K s, σ² I) — a :class:`pgref.GaussianPolicy` on the state
features x(s) = s, so that K = Θᵀ — :func:`objective` and :func:`policy_gradient` return the exact
J(θ) and ∇J(θ) from two discrete Lyapunov equations, solved as linear systems; no sampling.
:func:`optimal_gain` iterates the discounted Riccati equation. :func:`sample_trajectories` and
:func:`sample_discounted_returns` simulate many episodes at once for Monte-Carlo checks and for
the sampled estimators.

Variance, not standard deviation: σ² is ``variance`` everywhere; σ appears only as
``standard_deviation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from pgref import _checks
from pgref.policies.gaussian import GaussianPolicy

__all__ = [
    "BanditSamples",
    "DiscountedReturns",
    "GaussianBandit",
    "LinearQuadraticProblem",
    "Trajectories",
    "UnstableClosedLoopError",
    "closed_loop_matrix",
    "discounted_spectral_radius",
    "gain_matrix",
    "linear_gaussian_policy",
    "moving_particle",
    "objective",
    "optimal_gain",
    "policy_gradient",
    "sample_discounted_returns",
    "sample_trajectories",
    "state_features",
    "state_second_moment",
    "theta_for_gain",
    "value_matrix",
]

# Symmetry and positive semi-definiteness are checked up to this multiple of the matrix's size,
# so that matrices built as L Lᵀ (with round-off) pass and anything visibly wrong does not.
_TOLERANCE = 1e-10


# -- validation ------------------------------------------------------------------------------


def _matrix(name: str, value, shape: tuple[int, int], meaning: str) -> np.ndarray:
    array = _checks.finite_array(name, value, ndim=2)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape} ({meaning}); got {array.shape}")
    return array


def _symmetric_psd(name: str, matrix: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(matrix).max(initial=0.0)))
    asymmetry = float(np.abs(matrix - matrix.T).max(initial=0.0))
    if asymmetry > _TOLERANCE * scale:
        raise ValueError(
            f"{name} must be symmetric; its largest |{name} − {name}ᵀ| entry is {asymmetry:.3g}"
        )
    smallest = float(np.linalg.eigvalsh(0.5 * (matrix + matrix.T)).min())
    if smallest < -_TOLERANCE * scale:
        raise ValueError(
            f"{name} must be positive semi-definite; its smallest eigenvalue is {smallest:.3g} "
            "(a quadratic cost or a covariance cannot be negative in any direction)"
        )


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=float)
    array.setflags(write=False)
    return array


# -- the one-step bandit ----------------------------------------------------------------------


class BanditSamples(NamedTuple):
    r"""N draws from a :class:`GaussianBandit`: Sᵢ ∼ p, Aᵢ ∼ π_θ(·|Sᵢ), Rᵢ = −‖Aᵢ − a*(Sᵢ)‖²."""

    states: np.ndarray  # (N,) indices or (N, n) points: rows of GaussianBandit.states
    actions: np.ndarray  # (N,) for d = 1, else (N, d)
    rewards: np.ndarray  # (N,)


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
    Lecture: "Example: Gaussian". For π_θ(a|s) = N(μ(s), σ² I), μ(s) = Θᵀx(s), a ∈ ℝᵈ:

        E[‖A − a*(s)‖² | s] = ‖μ(s) − a*(s)‖² + d σ²
        J(θ) = −Σₛ p(s) ‖μ(s) − a*(s)‖² − d σ²
        ∇_Θ J = −2 Σₛ p(s) x(s) (μ(s) − a*(s))ᵀ              (J × d)
        ∂J/∂σ² = −d,   ∂J/∂(log σ²) = −d σ²

    J falls linearly in σ²: the best variance is σ² → 0, the deterministic policy a = μ(s).
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
            states = _checks.finite_array("states", states)
        n = states.shape[0]
        probabilities = _checks.finite_array("probabilities", self.probabilities, ndim=1)
        if probabilities.shape != (n,):
            raise ValueError(
                f"probabilities must have shape ({n},), one per state; got {probabilities.shape}"
            )
        if probabilities.min() < 0.0 or abs(probabilities.sum() - 1.0) > 1e-12:
            raise ValueError(
                "probabilities must be non-negative and sum to 1; got minimum "
                f"{probabilities.min()!r} and sum {probabilities.sum()!r}"
            )
        targets = _checks.finite_array("targets", self.targets, ndim=(1, 2))
        if targets.shape[0] != n:
            raise ValueError(
                f"targets must have shape ({n},) or ({n}, d), one row per state; "
                f"got {targets.shape}"
            )
        states = np.array(states)
        states.setflags(write=False)
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "probabilities", _read_only(probabilities))
        object.__setattr__(self, "targets", _read_only(targets.reshape(n, -1)))

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
        """(μ(s) − a*(s) for every state s, shape (S, d); σ²)."""
        self._check_policy(policy)
        variance = policy.variance(theta)
        mean = np.asarray(policy.mean(theta, self.states)).reshape(-1, self.action_dim)
        return mean - self.targets, variance

    def objective(self, policy, theta) -> float:
        r"""J(θ) = −Σₛ p(s) ‖Θᵀx(s) − a*(s)‖² − d σ² (see the class Notes).

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
        r"""∇J(θ), shape (n_params,): ∇_Θ J = −2 Σₛ p(s) x(s)(μ(s) − a*(s))ᵀ row-major, then
        ∂J/∂σ² = −d or ∂J/∂(log σ²) = −d σ² when the variance is learned (class Notes)."""
        error, variance = self._mean_error(policy, theta)
        x = policy.features.at(self.states)  # (S, J)
        grad_weights = -2.0 * x.T @ (self.probabilities[:, None] * error)  # (J, d)
        parts = [grad_weights.ravel()]
        if policy.learn_variance:
            d = self.action_dim
            parts.append([-d if policy.variance_parameter == "variance" else -d * variance])
        return np.concatenate(parts)

    def sample(self, policy, theta, n_samples: int, rng: np.random.Generator) -> BanditSamples:
        r"""Draw N independent (Sᵢ, Aᵢ, Rᵢ): Sᵢ ∼ p, Aᵢ ∼ π_θ(·|Sᵢ), Rᵢ = −‖Aᵢ − a*(Sᵢ)‖².

        Parameters
        ----------
        policy : GaussianPolicy
        theta : array_like, shape (n_params,)
        n_samples : int
            N.
        rng : numpy.random.Generator

        Returns
        -------
        BanditSamples
            ``states`` (N,) or (N, n), ``actions`` (N,) or (N, d), ``rewards`` (N,).
        """
        self._check_policy(policy)
        n_samples = _checks.positive_int("n_samples", n_samples)
        rng = _checks.rng_generator(rng)
        rows = rng.choice(self.probabilities.shape[0], size=n_samples, p=self.probabilities)
        states = self.states[rows]
        actions = policy.sample(theta, states, rng)
        error = np.asarray(actions).reshape(n_samples, -1) - self.targets[rows]
        return BanditSamples(states, actions, -(error**2).sum(axis=1))


# -- the linear-quadratic problem -------------------------------------------------------------


class UnstableClosedLoopError(ValueError):
    r"""√γ·ρ(A + BK) ≥ 1: the discounted costs grow without bound and J = −∞."""


@dataclass(frozen=True, eq=False)
class LinearQuadraticProblem:
    r"""Linear dynamics, quadratic reward, discount γ < 1, Gaussian initial state.

    Parameters
    ----------
    A : array_like, shape (n, n)
        State transition; n is the state dimension.
    B : array_like, shape (n, d)
        Action input; d is the action dimension.
    Q : array_like, shape (n, n)
        State cost, symmetric positive semi-definite.
    R : array_like, shape (d, d)
        Action cost, symmetric positive semi-definite.
    gamma : float
        γ ∈ [0, 1). γ = 1 is refused: every step costs at least σ² tr(R) in expectation, so the
        undiscounted sum diverges for any Gaussian policy with R ≠ 0.
    initial_mean : array_like, shape (n,)
        E[s₀].
    initial_cov : array_like, shape (n, n)
        Cov[s₀], symmetric positive semi-definite; zero makes s₀ a point.

    Notes
    -----
    Lecture: "Example: Moving Particle" (continuous version; see :func:`moving_particle`):

        sₜ₊₁ = A sₜ + B aₜ,    rₜ₊₁ = −(sₜᵀ Q sₜ + aₜᵀ R aₜ),    s₀ ∼ N(initial_mean, initial_cov)
        J = E[Σₜ γᵗ rₜ₊₁]

    The stored arrays are read-only float copies of the arguments.
    """

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    gamma: float
    initial_mean: np.ndarray
    initial_cov: np.ndarray

    def __post_init__(self):
        a = _checks.finite_array("A", self.A, ndim=2)
        n = a.shape[0]
        if a.shape != (n, n) or n == 0:
            raise ValueError(f"A must be square, shape (n, n) with n ≥ 1; got {a.shape}")
        b = _checks.finite_array("B", self.B, ndim=2)
        if b.shape[0] != n or b.shape[1] == 0:
            raise ValueError(
                f"B must have shape ({n}, d) with d ≥ 1 (n = {n} rows, like A); got {b.shape}"
            )
        d = b.shape[1]
        q = _matrix("Q", self.Q, (n, n), "state dimension × state dimension")
        r = _matrix("R", self.R, (d, d), "action dimension × action dimension")
        gamma = _checks.finite_scalar("gamma", self.gamma)
        if not 0.0 <= gamma < 1.0:
            raise ValueError(
                f"gamma must lie in [0, 1); got {gamma!r}. The objective is the infinite "
                "discounted sum of costs, which diverges for γ ≥ 1 (each step costs at least "
                "σ² tr(R) in expectation)"
            )
        mean = _checks.finite_array("initial_mean", self.initial_mean, ndim=1)
        if mean.shape != (n,):
            raise ValueError(f"initial_mean must have shape ({n},) (the state); got {mean.shape}")
        cov = _matrix("initial_cov", self.initial_cov, (n, n), "state dimension squared")
        for name, matrix in (("Q", q), ("R", r), ("initial_cov", cov)):
            _symmetric_psd(name, matrix)
        for name, value in (("A", a), ("B", b), ("Q", q), ("R", r), ("initial_mean", mean),
                            ("initial_cov", cov)):
            object.__setattr__(self, name, _read_only(value))
        object.__setattr__(self, "gamma", gamma)

    @property
    def state_dim(self) -> int:
        """n."""
        return self.A.shape[0]

    @property
    def action_dim(self) -> int:
        """d."""
        return self.B.shape[1]

    @property
    def initial_second_moment(self) -> np.ndarray:
        r"""E[s₀s₀ᵀ] = initial_cov + initial_mean initial_meanᵀ, shape (n, n)."""
        return self.initial_cov + np.outer(self.initial_mean, self.initial_mean)


def moving_particle(
    dim: int = 2,
    time_step: float = 0.1,
    gamma: float = 0.9,
    position_cost: float = 1.0,
    action_cost: float = 0.1,
    initial_mean=None,
    initial_cov=None,
) -> LinearQuadraticProblem:
    r"""The lecture's moving particle, continuous: position s ∈ ℝⁿ, velocity a ∈ ℝⁿ.

    Parameters
    ----------
    dim : int
        n, the dimension of space (the lecture's particle moves in the plane, n = 2).
    time_step : float
        Δt > 0.
    gamma : float
        γ ∈ [0, 1).
    position_cost, action_cost : float
        q > 0 and r > 0 in Q = q I and R = r I.
    initial_mean : array_like, shape (n,), optional
        Default (1, …, 1).
    initial_cov : array_like, shape (n, n), optional
        Default 0.25 I (standard deviation 0.5 per coordinate); zeros give a fixed start.

    Returns
    -------
    LinearQuadraticProblem
        A = I, B = Δt I, Q = q I, R = r I.

    Notes
    -----
    Lecture: "Example: Moving Particle". The particle moves with the chosen velocity and pays
    for its squared distance from the origin and for its squared speed:

        sₜ₊₁ = sₜ + Δt aₜ,    rₜ₊₁ = −(q ‖sₜ‖² + r ‖aₜ‖²)

    The gain K = 0 (standing still) is stable for every γ < 1, since √γ·ρ(I) = √γ < 1.
    """
    dim = _checks.positive_int("dim", dim)
    time_step = _checks.positive_scalar("time_step", time_step)
    position_cost = _checks.positive_scalar("position_cost", position_cost)
    action_cost = _checks.positive_scalar("action_cost", action_cost)
    identity = np.eye(dim)
    return LinearQuadraticProblem(
        A=identity,
        B=time_step * identity,
        Q=position_cost * identity,
        R=action_cost * identity,
        gamma=gamma,
        initial_mean=np.ones(dim) if initial_mean is None else initial_mean,
        initial_cov=0.25 * identity if initial_cov is None else initial_cov,
    )


# -- the linear-Gaussian policy ----------------------------------------------------------------


def state_features(states) -> np.ndarray:
    r"""x(s) = s, the identity state features of the linear-Gaussian policy: (N, n) → (N, n)."""
    return np.asarray(states, dtype=float)


def linear_gaussian_policy(
    problem: LinearQuadraticProblem,
    variance: float = 1.0,
    learn_variance: bool = False,
    variance_parameter: str = "variance",
) -> GaussianPolicy:
    r"""The policy a ∼ N(K s, σ² I) for ``problem``: a GaussianPolicy on x(s) = s, K = Θᵀ.

    θ = [Θ row-major (n × d), (σ² or log σ²)]; the arguments are those of
    :class:`pgref.GaussianPolicy`.
    """
    _check_problem(problem)
    return GaussianPolicy(
        state_features,
        action_dim=problem.action_dim,
        variance=variance,
        learn_variance=learn_variance,
        variance_parameter=variance_parameter,
        n_features=problem.state_dim,
    )


def gain_matrix(policy: GaussianPolicy, theta) -> np.ndarray:
    r"""K = Θᵀ, shape (d, n): the mean action K s of the linear-Gaussian policy."""
    return np.asarray(policy.weights(theta)).T.copy()


def theta_for_gain(policy: GaussianPolicy, gain, variance: float | None = None) -> np.ndarray:
    r"""θ = [Kᵀ row-major, (σ² or log σ²)] for a gain K of shape (d, n)."""
    gain = _checks.finite_array("gain", gain, ndim=2)
    return policy.pack(gain.T, variance)


def _check_problem(problem) -> None:
    if not isinstance(problem, LinearQuadraticProblem):
        raise ValueError(
            f"problem must be a pgref.lqr.LinearQuadraticProblem; got {type(problem).__name__}"
        )


def _check_gain(problem: LinearQuadraticProblem, gain) -> np.ndarray:
    _check_problem(problem)
    shape = (problem.action_dim, problem.state_dim)
    return _matrix("gain", gain, shape, "action dimension × state dimension, a = K s")


def _gain_and_variance(problem, policy, theta) -> tuple[np.ndarray, float]:
    """Check that ``policy`` is the linear-Gaussian policy of ``problem``; return (K, σ²)."""
    _check_problem(problem)
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


# -- exact solutions ---------------------------------------------------------------------------


def closed_loop_matrix(problem: LinearQuadraticProblem, gain) -> np.ndarray:
    r"""M = A + B K, shape (n, n): the mean dynamics E[sₜ₊₁ | sₜ] = M sₜ under a ∼ N(K s, σ² I)."""
    gain = _check_gain(problem, gain)
    return problem.A + problem.B @ gain


def discounted_spectral_radius(problem: LinearQuadraticProblem, gain) -> float:
    r"""√γ·ρ(A + BK); J is finite when it is below 1 and −∞ otherwise."""
    radius = float(np.abs(np.linalg.eigvals(closed_loop_matrix(problem, gain))).max())
    return float(np.sqrt(problem.gamma)) * radius


def _require_stable(problem: LinearQuadraticProblem, gain: np.ndarray) -> np.ndarray:
    closed_loop = closed_loop_matrix(problem, gain)
    radius = discounted_spectral_radius(problem, gain)
    if radius >= 1.0:
        raise UnstableClosedLoopError(
            f"the closed loop A + BK is unstable under discounting: √γ·ρ(A + BK) = {radius:.6g} "
            "≥ 1, so the discounted costs grow without bound and J = −∞ for this gain (the "
            "objective and its gradient do not exist). Use a gain with √γ·ρ(A + BK) < 1, for "
            "instance optimal_gain(problem)"
        )
    return closed_loop


def _discounted_lyapunov(transition: np.ndarray, constant: np.ndarray, gamma: float) -> np.ndarray:
    r"""Y solving Y = C + γ F Y Fᵀ, by the linear system (I − γ F ⊗ F) vec Y = vec C.

    With row-major vec, vec(F Y Fᵀ) = (F ⊗ F) vec Y. The system has n² unknowns; it is
    non-singular when √γ·ρ(F) < 1, where Y = Σₜ γᵗ Fᵗ C (Fᵀ)ᵗ.
    """
    n = transition.shape[0]
    system = np.eye(n * n) - gamma * np.kron(transition, transition)
    solution = np.linalg.solve(system, constant.ravel()).reshape(n, n)
    return 0.5 * (solution + solution.T)


def value_matrix(problem: LinearQuadraticProblem, gain) -> np.ndarray:
    r"""X solving X = Q + KᵀRK + γ MᵀXM, shape (n, n), M = A + BK.

    Notes
    -----
    Σₜ γᵗ E[sₜᵀ(Q + KᵀRK)sₜ] = sᵀXs for the deterministic policy a = Ks started at s; the
    Gaussian policy's value adds a constant (see :func:`objective`). Raises
    :class:`UnstableClosedLoopError` when √γ·ρ(M) ≥ 1.
    """
    gain = _check_gain(problem, gain)
    closed_loop = _require_stable(problem, gain)
    cost = problem.Q + gain.T @ problem.R @ gain
    return _discounted_lyapunov(closed_loop.T, cost, problem.gamma)


def state_second_moment(problem: LinearQuadraticProblem, gain, variance: float) -> np.ndarray:
    r"""Σ = Σₜ γᵗ E[sₜsₜᵀ] under a ∼ N(Ks, σ² I), shape (n, n).

    Parameters
    ----------
    problem : LinearQuadraticProblem
    gain : array_like, shape (d, n)
        K.
    variance : float
        σ² > 0.

    Notes
    -----
    Sₜ = E[sₜsₜᵀ] obeys Sₜ₊₁ = M Sₜ Mᵀ + σ² BBᵀ from S₀ = Cov[s₀] + E[s₀]E[s₀]ᵀ, so

        Σ = S₀ + γ M Σ Mᵀ + (γ / (1 − γ)) σ² BBᵀ

    the discounted visit counts n(s) of the tabular case, as a second-moment matrix. It is
    the uncentred moment: the mean of s₀ enters through S₀.
    """
    gain = _check_gain(problem, gain)
    variance = _checks.positive_scalar("variance", variance)
    closed_loop = _require_stable(problem, gain)
    gamma = problem.gamma
    noise = (gamma / (1.0 - gamma)) * variance * problem.B @ problem.B.T
    return _discounted_lyapunov(closed_loop, problem.initial_second_moment + noise, gamma)


def _noise_cost_per_step(problem, value, variance) -> float:
    """σ²(tr R + γ tr(BᵀXB)): the expected extra cost of one step's action noise."""
    gamma = problem.gamma
    return variance * (np.trace(problem.R) + gamma * np.trace(problem.B.T @ value @ problem.B))


def objective(problem: LinearQuadraticProblem, policy: GaussianPolicy, theta) -> float:
    r"""The exact J(θ) = E[Σₜ γᵗ rₜ₊₁] of the linear-Gaussian policy a ∼ N(Ks, σ² I), K = Θᵀ.

    Parameters
    ----------
    problem : LinearQuadraticProblem
    policy : GaussianPolicy
        On the identity features x(s) = s (see :func:`linear_gaussian_policy`).
    theta : array_like, shape (n_params,)
        [Θ row-major (n × d), (σ² or log σ²)].

    Returns
    -------
    float
        J(θ) ≤ 0.

    Raises
    ------
    UnstableClosedLoopError
        When √γ·ρ(A + BK) ≥ 1: then J = −∞ (unless the unstable direction is neither excited by
        s₀ or the noise nor penalised by Q and R, a degenerate case pgref does not single out).

    Notes
    -----
    Lecture: "Example: Gaussian" on "Example: Moving Particle". Derivation: with aₜ = Ksₜ + σξₜ,
    ξₜ ∼ N(0, I_d) independent of sₜ, and M = A + BK, P = Q + KᵀRK,

        E[rₜ₊₁ | sₜ] = −(sₜᵀ P sₜ + σ² tr R)          (E[ξᵀRξ] = tr R)
        sₜ₊₁ = M sₜ + σ B ξₜ

    Guess v(s) = −(sᵀXs + c). The Bellman equation v(s) = E[r₁ + γ v(s₁) | s₀ = s] gives

        sᵀXs + c = sᵀPs + σ² tr R + γ (sᵀMᵀXMs + σ² tr(BᵀXB) + c)

    so, matching the quadratic and the constant parts,

        X = P + γ MᵀXM                                (discrete Lyapunov equation)
        c = σ² (tr R + γ tr(BᵀXB)) / (1 − γ)
        J = E[v(s₀)] = −tr(X S₀) − c,    S₀ = Cov[s₀] + E[s₀]E[s₀]ᵀ

    X = Σₜ γᵗ (Mᵀ)ᵗ P Mᵗ converges exactly when √γ·ρ(M) < 1. X is solved as the n² × n²
    system (I − γ Mᵀ ⊗ Mᵀ) vec X = vec P with ``np.linalg.solve``. J is linear and
    non-increasing in σ² (X does not depend on σ²): the best variance is σ² → 0.
    """
    gain, variance = _gain_and_variance(problem, policy, theta)
    value = value_matrix(problem, gain)
    noise = _noise_cost_per_step(problem, value, variance) / (1.0 - problem.gamma)
    return float(-np.sum(value * problem.initial_second_moment) - noise)


def policy_gradient(problem: LinearQuadraticProblem, policy: GaussianPolicy, theta) -> np.ndarray:
    r"""The exact ∇J(θ) of the linear-Gaussian policy, shape (n_params,).

    Parameters
    ----------
    problem, policy, theta
        As for :func:`objective`.

    Returns
    -------
    gradient : ndarray, shape (n_params,)
        [∇_Θ J row-major (n × d), (∂J/∂σ² or ∂J/∂(log σ²))], matching θ.

    Notes
    -----
    Lecture: "Example: Gaussian". Write J = −tr(X(K) S̃) − σ² tr(R)/(1 − γ) with
    S̃ = S₀ + (γ/(1 − γ)) σ² BBᵀ, which does not depend on K (the objective's constant c,
    rearranged). Differentiating X = P + γ MᵀXM in the direction dK:

        dX = γ Mᵀ dX M + (Eᵀ dK + dKᵀ E),    E = RK + γ BᵀXM = (R + γBᵀXB) K + γ BᵀXA

    so dX = Σₜ γᵗ (Mᵀ)ᵗ (EᵀdK + dKᵀE) Mᵗ and tr(dX S̃) = 2 tr(dKᵀ E Σ), where

        Σ = S̃ + γ M Σ Mᵀ = S₀ + γ M Σ Mᵀ + (γ/(1 − γ)) σ² BBᵀ

    is the discounted second moment of the state (:func:`state_second_moment`). Hence

        ∇_K J = −2 [(R + γBᵀXB) K + γ BᵀXA] Σ          (d × n),    ∇_Θ J = (∇_K J)ᵀ
        ∂J/∂σ² = −(tr R + γ tr(BᵀXB)) / (1 − γ) ≤ 0,    ∂J/∂(log σ²) = σ² ∂J/∂σ²

    The K-gradient is the tabular theorem's Σₛ n(s) Σₐ q(s,a)∇π(a|s) with n(s) replaced by Σ;
    it vanishes at the Riccati gain (:func:`optimal_gain`) for every σ².
    """
    gain, variance = _gain_and_variance(problem, policy, theta)
    value = value_matrix(problem, gain)
    second_moment = state_second_moment(problem, gain, variance)
    a, b, gamma = problem.A, problem.B, problem.gamma
    slope = (problem.R + gamma * b.T @ value @ b) @ gain + gamma * b.T @ value @ a  # (d, n)
    grad_gain = -2.0 * slope @ second_moment
    parts = [grad_gain.T.ravel()]
    if policy.learn_variance:
        grad_variance = -_noise_cost_per_step(problem, value, 1.0) / (1.0 - gamma)
        if policy.variance_parameter == "log_variance":
            grad_variance *= variance
        parts.append([grad_variance])
    return np.concatenate(parts)


def optimal_gain(
    problem: LinearQuadraticProblem, tolerance: float = 1e-12, max_iterations: int = 100_000
) -> np.ndarray:
    r"""K*, the optimal gain, from the discounted Riccati equation iterated to its fixed point.

    Parameters
    ----------
    problem : LinearQuadraticProblem
    tolerance : float
        Stop when max |Xₖ₊₁ − Xₖ| ≤ tolerance · max(1, max |Xₖ₊₁|).
    max_iterations : int

    Returns
    -------
    gain : ndarray, shape (d, n)

    Raises
    ------
    ValueError
        If R + γBᵀXB is singular (needs R positive definite, or B of full column rank with
        X positive definite), the iteration does not converge, or K* does not stabilise the
        system (√γ·ρ(A + BK*) ≥ 1: (A, B) cannot be stabilised, or (A, Q) hides an unstable mode).

    Notes
    -----
    Value iteration on the quadratic value matrix, from X₀ = Q:

        Kₖ = −γ (R + γ BᵀXₖB)⁻¹ BᵀXₖA             (a linear solve, no inverse)
        Xₖ₊₁ = Q + γ AᵀXₖA + γ AᵀXₖB Kₖ

    At the fixed point E = (R + γBᵀXB)K + γBᵀXA = 0, so ∇_K J = −2EΣ = 0 (see
    :func:`policy_gradient`). K* is the same for every σ² and every initial distribution: the
    noise adds the constant c, and K* minimises X(K) itself. The optimal variance is σ² → 0,
    since ∂J/∂σ² = −(tr R + γ tr(BᵀXB))/(1 − γ) ≤ 0: the best policy is deterministic, a = K*s,
    a limit no Gaussian policy attains.
    """
    _check_problem(problem)
    tolerance = _checks.positive_scalar("tolerance", tolerance)
    max_iterations = _checks.positive_int("max_iterations", max_iterations)
    a, b, q, r, gamma = problem.A, problem.B, problem.Q, problem.R, problem.gamma
    value = q.copy()
    for _ in range(max_iterations):
        try:
            gain = -gamma * np.linalg.solve(r + gamma * b.T @ value @ b, b.T @ value @ a)
        except np.linalg.LinAlgError as error:
            raise ValueError(
                "R + γBᵀXB is singular in the Riccati iteration: optimal_gain needs R positive "
                "definite (or actions that always reach a penalised state)"
            ) from error
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
            new_value = q + gamma * a.T @ value @ a + gamma * a.T @ value @ b @ gain
            new_value = 0.5 * (new_value + new_value.T)
        change = float(np.abs(new_value - value).max())
        value = new_value
        if not np.all(np.isfinite(value)):
            raise ValueError(
                "the discounted Riccati iteration diverged (X became infinite): a penalised "
                "mode with √γ·|λ| ≥ 1 cannot be controlled through B, so every gain has J = −∞"
            )
        if change <= tolerance * max(1.0, float(np.abs(value).max())):
            gain = -gamma * np.linalg.solve(r + gamma * b.T @ value @ b, b.T @ value @ a)
            radius = discounted_spectral_radius(problem, gain)
            if radius >= 1.0:
                raise ValueError(
                    f"the Riccati fixed point does not stabilise the problem: √γ·ρ(A + BK*) = "
                    f"{radius:.6g} ≥ 1 (an unstable mode cannot be controlled through B, or Q "
                    "does not see it); no gain has a finite objective with a penalised mode"
                )
            return gain
    raise ValueError(
        f"the discounted Riccati iteration did not converge within max_iterations="
        f"{max_iterations} to tolerance={tolerance}: the problem may not be stabilisable "
        "under discounting; raise max_iterations or check A and B"
    )


# -- simulation --------------------------------------------------------------------------------


class Trajectories(NamedTuple):
    r"""K episodes of H steps: ``states[k, t]`` = Sₜ, ``actions[k, t]`` = Aₜ,
    ``rewards[k, t]`` = Rₜ₊₁, and the exact expected reward the horizon cut off."""

    states: np.ndarray  # (K, H, n)
    actions: np.ndarray  # (K, H) for d = 1, else (K, H, d)
    rewards: np.ndarray  # (K, H)
    truncation_bias: float  # E[Σ_{t≥H} γᵗ Rₜ₊₁] = J − E[Σ_{t<H} γᵗ Rₜ₊₁] ≤ 0


class DiscountedReturns(NamedTuple):
    r"""Gᵏ = Σ_{t<H} γᵗ Rₜ₊₁ for each of K episodes, the horizon H and the truncation bias."""

    returns: np.ndarray  # (K,)
    horizon: int
    truncation_bias: float  # E[Σ_{t≥H} γᵗ Rₜ₊₁]: E[returns] = J − truncation_bias


def _truncation_bias(problem, gain, variance, horizon) -> float:
    r"""E[Σ_{t≥H} γᵗ Rₜ₊₁] = −γᴴ (tr(X S_H) + c), S_H propagated exactly from S₀."""
    closed_loop = _require_stable(problem, gain)
    value = value_matrix(problem, gain)
    moment = problem.initial_second_moment
    noise = variance * problem.B @ problem.B.T
    for _ in range(horizon):
        moment = closed_loop @ moment @ closed_loop.T + noise
    constant = _noise_cost_per_step(problem, value, variance) / (1.0 - problem.gamma)
    return float(-(problem.gamma**horizon) * (np.sum(value * moment) + constant))


def _episode_steps(problem, policy, theta, n_episodes, horizon, rng):
    """Yield (Sₜ, Aₜ, Rₜ₊₁) for t = 0 … H−1, all K episodes at once."""
    eigenvalues, eigenvectors = np.linalg.eigh(problem.initial_cov)
    # Validation allowed eigenvalues down to −1e-10·scale (round-off); they are zero here.
    factor = eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))
    states = problem.initial_mean + rng.standard_normal((n_episodes, problem.state_dim)) @ factor.T
    for _ in range(horizon):
        actions = policy.sample(theta, states, rng)
        flat = np.asarray(actions).reshape(n_episodes, problem.action_dim)
        rewards = -(np.einsum("ki,ij,kj->k", states, problem.Q, states)
                    + np.einsum("ki,ij,kj->k", flat, problem.R, flat))
        yield states, actions, rewards
        states = states @ problem.A.T + flat @ problem.B.T


def _check_simulation(problem, policy, theta, n_episodes, horizon, rng):
    gain, variance = _gain_and_variance(problem, policy, theta)
    n_episodes = _checks.positive_int("n_episodes", n_episodes)
    horizon = _checks.positive_int("horizon", horizon)
    rng = _checks.rng_generator(rng)
    return gain, variance, n_episodes, horizon, rng


def sample_trajectories(
    problem: LinearQuadraticProblem,
    policy: GaussianPolicy,
    theta,
    n_episodes: int,
    horizon: int,
    rng: np.random.Generator,
) -> Trajectories:
    r"""Simulate K episodes of the linear-Gaussian policy for H steps, all episodes at once.

    Parameters
    ----------
    problem : LinearQuadraticProblem
    policy : GaussianPolicy
        On the identity features (see :func:`linear_gaussian_policy`); actions come from
        ``policy.sample``.
    theta : array_like, shape (n_params,)
    n_episodes : int
        K.
    horizon : int
        H. The infinite-horizon problem is cut at H steps; the exact expected size of what was
        cut is returned as ``truncation_bias`` (it shrinks roughly like (γ·ρ(A + BK)²)ᴴ, and
        like γᴴ once the noise has reached its stationary level).
    rng : numpy.random.Generator

    Returns
    -------
    Trajectories
        ``states`` (K, H, n), ``actions`` (K, H) or (K, H, d), ``rewards`` (K, H),
        ``truncation_bias``.

    Notes
    -----
    s₀ ∼ N(initial_mean, initial_cov), Aₜ ∼ N(KSₜ, σ² I), Rₜ₊₁ = −(SₜᵀQSₜ + AₜᵀRAₜ),
    Sₜ₊₁ = ASₜ + BAₜ. Raises :class:`UnstableClosedLoopError` for an unstable gain (the
    truncation bias would be unbounded in H).
    """
    gain, variance, n_episodes, horizon, rng = _check_simulation(
        problem, policy, theta, n_episodes, horizon, rng
    )
    bias = _truncation_bias(problem, gain, variance, horizon)
    steps = list(_episode_steps(problem, policy, theta, n_episodes, horizon, rng))
    states, actions, rewards = (np.stack(part, axis=1) for part in zip(*steps, strict=True))
    return Trajectories(states, actions, rewards, bias)


def sample_discounted_returns(
    problem: LinearQuadraticProblem,
    policy: GaussianPolicy,
    theta,
    n_episodes: int,
    horizon: int,
    rng: np.random.Generator,
) -> DiscountedReturns:
    r"""Gᵏ = Σ_{t<H} γᵗ Rᵏₜ₊₁ for K simulated episodes, without storing the trajectories.

    Same arguments and the same random draws as :func:`sample_trajectories` (so the same
    ``rng`` state gives the same returns). The Monte-Carlo estimate of J is
    mean(returns) + truncation_bias, with standard error std(returns)/√K.
    """
    gain, variance, n_episodes, horizon, rng = _check_simulation(
        problem, policy, theta, n_episodes, horizon, rng
    )
    bias = _truncation_bias(problem, gain, variance, horizon)
    returns = np.zeros(n_episodes)
    discount = 1.0
    for _, _, rewards in _episode_steps(problem, policy, theta, n_episodes, horizon, rng):
        returns += discount * rewards
        discount *= problem.gamma
    return DiscountedReturns(returns, horizon, bias)
