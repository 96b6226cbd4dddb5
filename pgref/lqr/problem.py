r"""Linear-quadratic problems: the continuous moving particle (lecture: "Example: Moving Particle").

:class:`LinearQuadraticProblem` holds sₜ₊₁ = A sₜ + B aₜ, rₜ₊₁ = −(sₜᵀQ sₜ + aₜᵀR aₜ), a discount
γ < 1 and s₀ ∼ N(initial_mean, initial_cov); :func:`moving_particle` builds the lecture's example.
The validation helpers here (:func:`check_problem`, :func:`checked_gain`, :func:`read_only`) are
shared by the other ``pgref.lqr`` modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgref import checks

# Symmetry and positive semi-definiteness are checked up to this multiple of the matrix's size,
# so that matrices built as L Lᵀ (with round-off) pass and anything visibly wrong does not.
_TOLERANCE = 1e-10

DISCOUNT_AT_DEFAULT_HORIZON = 1e-8
"""γᴴ at the default horizon H of sampled episodes: the return after the cut is that small."""


def _matrix(name: str, value, shape: tuple[int, int], meaning: str) -> np.ndarray:
    array = checks.finite_array(name, value, ndim=2)
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


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only float copy of ``array`` (how every ``pgref.lqr`` problem stores its arrays)."""
    array = np.array(array, dtype=float)
    array.setflags(write=False)
    return array


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
        γ ∈ [0, 1). γ = 1 is refused for every problem: the objective is an infinite sum over
        a horizon that never ends, which converges only with discounting (with R ≠ 0 every
        step costs at least σ² tr(R) in expectation; with R = 0 a state cost sₜᵀQsₜ that does
        not die out makes it diverge just the same, and the solvers here assume γ < 1).
    initial_mean : array_like, shape (n,)
        E[s₀].
    initial_cov : array_like, shape (n, n)
        Cov[s₀], symmetric positive semi-definite; zero makes s₀ a point.

    Notes
    -----
    Lecture: "Example: Moving Particle" (continuous version; see :func:`moving_particle`):

        sₜ₊₁ = A sₜ + B aₜ,    rₜ₊₁ = −(sₜᵀ Q sₜ + aₜᵀ R aₜ),    s₀ ∼ N(initial_mean, initial_cov)
        𝒥 = E[Σₜ γᵗ rₜ₊₁]

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
        a = checks.finite_array("A", self.A, ndim=2)
        n = a.shape[0]
        if a.shape != (n, n) or n == 0:
            raise ValueError(f"A must be square, shape (n, n) with n ≥ 1; got {a.shape}")
        b = checks.finite_array("B", self.B, ndim=2)
        if b.shape[0] != n or b.shape[1] == 0:
            raise ValueError(
                f"B must have shape ({n}, d) with d ≥ 1 (n = {n} rows, like A); got {b.shape}"
            )
        d = b.shape[1]
        q = _matrix("Q", self.Q, (n, n), "state dimension × state dimension")
        r = _matrix("R", self.R, (d, d), "action dimension × action dimension")
        gamma = checks.finite_scalar("gamma", self.gamma)
        if not 0.0 <= gamma < 1.0:
            raise ValueError(
                f"gamma must lie in [0, 1); got {gamma!r}. The objective is the infinite "
                "discounted sum of costs, which diverges for γ ≥ 1 (each step costs at least "
                "σ² tr(R) in expectation)"
            )
        mean = checks.finite_array("initial_mean", self.initial_mean, ndim=1)
        if mean.shape != (n,):
            raise ValueError(f"initial_mean must have shape ({n},) (the state); got {mean.shape}")
        cov = _matrix("initial_cov", self.initial_cov, (n, n), "state dimension squared")
        for name, matrix in (("Q", q), ("R", r), ("initial_cov", cov)):
            _symmetric_psd(name, matrix)
        for name, value in (("A", a), ("B", b), ("Q", q), ("R", r), ("initial_mean", mean),
                            ("initial_cov", cov)):
            object.__setattr__(self, name, read_only(value))
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

    # -- the problem interface (pgref.problems.ExactProblem) ---------------------------------
    # The solvers and the simulator import this module, so they are imported where used.

    @property
    def default_horizon(self) -> int:
        r"""H = the least number of steps with γᴴ ≤ 10⁻⁸: where episodes are cut by default."""
        if self.gamma == 0.0:
            return 1
        return max(1, int(np.ceil(np.log(DISCOUNT_AT_DEFAULT_HORIZON) / np.log(self.gamma))))

    def sample_episodes(self, policy, theta, n_episodes: int, rng: np.random.Generator,
                        max_steps: int | None = None):
        r"""K episodes of H = ``max_steps`` steps (default :attr:`default_horizon`), all marked
        truncated: :func:`pgref.lqr.sample_trajectories`."""
        from pgref.lqr.simulate import sample_trajectories

        horizon = self.default_horizon if max_steps is None else max_steps
        return sample_trajectories(self, policy, theta, n_episodes, horizon, rng)

    def objective(self, policy, theta) -> float:
        r"""The exact 𝒥(θ) by Lyapunov solves: :func:`pgref.lqr.objective`."""
        from pgref.lqr.lyapunov import objective

        return objective(self, policy, theta)

    def policy_gradient(self, policy, theta) -> np.ndarray:
        r"""The exact ∇𝒥(θ) by Lyapunov solves: :func:`pgref.lqr.policy_gradient`."""
        from pgref.lqr.lyapunov import policy_gradient

        return policy_gradient(self, policy, theta)


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
    dim : int, default 2
        n, the dimension of space (the lecture's particle moves in the plane, n = 2).
    time_step : float, default 0.1
        Δt > 0.
    gamma : float, default 0.9
        γ ∈ [0, 1).
    position_cost, action_cost : float, defaults 1.0 and 0.1
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

    The gain L = 0 (standing still) is stable for every γ < 1, since √γ·ρ(I) = √γ < 1.
    """
    dim = checks.positive_int("dim", dim)
    time_step = checks.positive_scalar("time_step", time_step)
    position_cost = checks.positive_scalar("position_cost", position_cost)
    action_cost = checks.positive_scalar("action_cost", action_cost)
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


def check_problem(problem) -> None:
    """Refuse anything but a :class:`LinearQuadraticProblem` (the lqr modules' first check)."""
    if not isinstance(problem, LinearQuadraticProblem):
        raise ValueError(
            f"problem must be a pgref.lqr.LinearQuadraticProblem; got {type(problem).__name__}"
        )


def checked_gain(problem: LinearQuadraticProblem, gain) -> np.ndarray:
    """The gain L as a finite (d, n) float array for ``problem``, or a ValueError saying why not."""
    check_problem(problem)
    shape = (problem.action_dim, problem.state_dim)
    return _matrix("gain", gain, shape, "action dimension × state dimension, a = L s")
