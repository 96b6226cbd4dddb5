r"""The Gaussian policy π_θ(a|s) = N(Θᵀx(s), σ² I) (lecture: "Example: Gaussian").

Variance, not standard deviation: everywhere in pgref the symbol is σ² (``variance``) and the
standard deviation σ = √σ² appears only where it is named ``standard_deviation``.
"""

from __future__ import annotations

import numpy as np

from pgref import checks
from pgref.features import StateFeatures

__all__ = ["GaussianPolicy"]

_PARAMETRISATIONS = ("variance", "log_variance")


class GaussianPolicy:
    r"""Gaussian policy with linear mean Θᵀx(s) and isotropic variance σ² I.

    Parameters
    ----------
    features : array_like of shape (S, J), or callable
        The state features x(s): a table indexed by integer state, or ``f(states) -> (N, J)``
        (for instance the identity for continuous states; then ``n_features`` is required).
    action_dim : int
        d, the dimension of an action. With d = 1 actions are scalars, shape (N,); otherwise
        shape (N, d).
    variance : float
        σ² (the variance, not σ). With ``learn_variance=False`` it is the fixed σ²; with
        ``learn_variance=True`` it is only the default used by :meth:`pack`.
    learn_variance : bool
        Learn θ only (the lecture's first option) or θ and σ² (its second).
    variance_parameter : {"variance", "log_variance"}
        What the last entry of θ holds when the variance is learned: σ² itself (the lecture's
        parameter) or log σ² (unconstrained, the usual practical choice).
    n_features : int, optional
        J, for callable features.

    Attributes
    ----------
    n_params : int
        J·d, plus 1 when the variance is learned. θ = [Θ row-major, (σ² or log σ²)].

    Notes
    -----
    Lecture, "Example: Gaussian", for an action a ∈ ℝᵈ with mean m(s) = Θᵀx(s):

        log π_θ(a|s) = −(d/2) log(2πσ²) − ‖a − m(s)‖² / (2σ²)

    The scores, derived by hand:

        ∇_Θ log π = x(s) (a − m(s))ᵀ / σ²                       (J × d, stored row-major)
        ∂ log π / ∂σ² = −d / (2σ²) + ‖a − m(s)‖² / (2σ⁴)
        ∂ log π / ∂(log σ²) = σ² · ∂ log π / ∂σ² = −d/2 + ‖a − m(s)‖² / (2σ²)

    For d = 1 the second line is the lecture's −1/(2σ²) + (a − m)²/(2σ⁴).
    """

    def __init__(
        self,
        features,
        action_dim: int = 1,
        variance: float = 1.0,
        learn_variance: bool = False,
        variance_parameter: str = "variance",
        n_features: int | None = None,
    ):
        self.features = StateFeatures.wrap(features, n_features)
        self.action_dim = checks.positive_int("action_dim", action_dim)
        self.fixed_variance = checks.positive_scalar("variance", variance)
        checks.true_or_false("learn_variance", learn_variance)
        if variance_parameter not in _PARAMETRISATIONS:
            raise ValueError(
                f"variance_parameter must be one of {_PARAMETRISATIONS}; got {variance_parameter!r}"
            )
        self.learn_variance = learn_variance
        self.variance_parameter = variance_parameter
        self.n_states = self.features.n_states
        self.n_weights = self.features.n_features * self.action_dim
        self.n_params = self.n_weights + int(learn_variance)

    # -- θ ↔ (Θ, σ²) -------------------------------------------------------------------------

    def weights(self, theta) -> np.ndarray:
        r"""Θ, the mean's weight matrix, shape (J, d): m(s) = Θᵀx(s)."""
        theta = checks.parameter_vector(theta, self.n_params)
        return theta[: self.n_weights].reshape(self.features.n_features, self.action_dim)

    def variance(self, theta) -> float:
        r"""σ², the variance of each action component (not the standard deviation)."""
        theta = checks.parameter_vector(theta, self.n_params)
        if not self.learn_variance:
            return self.fixed_variance
        last = theta[-1]
        if self.variance_parameter == "variance":
            if last <= 0.0:
                raise ValueError(
                    f"theta[-1] is the variance σ² and must be > 0; got {last!r} "
                    "(use variance_parameter='log_variance' for an unconstrained parameter)"
                )
            return float(last)
        with np.errstate(over="ignore", under="ignore"):
            variance = float(np.exp(last))
        if not np.isfinite(variance) or variance <= 0.0:
            raise ValueError(
                f"theta[-1] is log σ² = {last!r}, whose exp is not a positive finite float; "
                "log σ² must lie roughly in [-700, 700]"
            )
        return variance

    def standard_deviation(self, theta) -> float:
        r"""σ = √σ², the standard deviation of each action component."""
        return float(np.sqrt(self.variance(theta)))

    def pack(self, weights, variance: float | None = None) -> np.ndarray:
        r"""θ from Θ (J, d) and, when learned, σ² (default: the constructor's ``variance``)."""
        weights = checks.finite_array("weights", weights)
        shape = (self.features.n_features, self.action_dim)
        if weights.shape != shape and not (self.action_dim == 1 and weights.shape == shape[:1]):
            raise ValueError(f"weights must have shape {shape}; got {weights.shape}")
        parts = [weights.ravel()]
        if self.learn_variance:
            sigma2 = checks.positive_scalar(
                "variance", self.fixed_variance if variance is None else variance
            )
            parts.append([sigma2 if self.variance_parameter == "variance" else np.log(sigma2)])
        elif variance is not None:
            raise ValueError("variance is fixed for this policy (learn_variance=False)")
        return np.concatenate(parts)

    # -- batching ----------------------------------------------------------------------------

    def _states_batch(self, states):
        array = np.asarray(states)
        if self.features.is_tabular and array.ndim == 0:
            return array.reshape(1), True
        if array.ndim == 0:
            raise ValueError("states must be a batch (first axis N) for callable features")
        if self.features.is_tabular and array.ndim != 1:
            raise ValueError(f"states must be a 1-D array of indices; got shape {array.shape}")
        return states, False

    def _actions_batch(self, actions, n: int, single: bool) -> np.ndarray:
        array = checks.finite_array("actions", actions)
        d = self.action_dim
        expected = (n,) if d == 1 else (n, d)
        if single:
            expected = expected[1:]
        if array.shape != expected:
            raise ValueError(
                f"actions must have shape {expected} for {n} state(s) and action_dim={d}; "
                f"got {array.shape}"
            )
        return array.reshape(n, d)

    def _output(self, values: np.ndarray, single: bool) -> np.ndarray:
        """(N, d) → (N,) when d = 1, and drop the batch axis for a single state."""
        if self.action_dim == 1:
            values = values[:, 0]
        return values[0] if single else values

    # -- the interface of DESIGN.md ----------------------------------------------------------

    def mean(self, theta, states) -> np.ndarray:
        r"""m(s) = Θᵀx(s) for each state, shape (N,) for d = 1, else (N, d)."""
        batch, single = self._states_batch(states)
        return self._output(self.features.at(batch) @ self.weights(theta), single)

    def log_prob(self, theta, states, actions) -> np.ndarray:
        r"""log π_θ(a|s) = −(d/2) log(2πσ²) − ‖a − Θᵀx(s)‖²/(2σ²), shape (N,)."""
        sigma2 = self.variance(theta)
        batch, single = self._states_batch(states)
        mu = self.features.at(batch) @ self.weights(theta)
        diff = self._actions_batch(actions, mu.shape[0], single) - mu
        d = self.action_dim
        result = -0.5 * d * np.log(2.0 * np.pi * sigma2) - (diff**2).sum(axis=1) / (2.0 * sigma2)
        return result[0] if single else result

    def density(self, theta, states, actions) -> np.ndarray:
        r"""π_θ(a|s), the Gaussian density itself, shape (N,)."""
        return np.exp(self.log_prob(theta, states, actions))

    def grad_log_prob(self, theta, states, actions) -> np.ndarray:
        r"""The score ∇_θ log π_θ(a|s), shape (N, n_params) (see the class Notes).

        Parameters
        ----------
        theta : array_like, shape (n_params,)
        states : int or array_like, shape (N,) for tabular features; a batch for a callable
        actions : array_like, shape (N,) for d = 1, else (N, d)

        Returns
        -------
        score : ndarray, shape (N, n_params)
            Columns ``[: J·d]`` are ∇_Θ log π row-major; the last column, when the variance is
            learned, is ∂ log π/∂σ² or ∂ log π/∂(log σ²).
        """
        sigma2 = self.variance(theta)
        batch, single = self._states_batch(states)
        x = self.features.at(batch)  # (N, J)
        diff = self._actions_batch(actions, x.shape[0], single) - x @ self.weights(theta)
        n = x.shape[0]
        score = np.empty((n, self.n_params))
        score[:, : self.n_weights] = np.einsum("nj,nk->njk", x, diff).reshape(n, -1) / sigma2
        if self.learn_variance:
            squared_error = (diff**2).sum(axis=1)
            d = self.action_dim
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                if self.variance_parameter == "variance":
                    score[:, -1] = -d / (2.0 * sigma2) + squared_error / (2.0 * sigma2**2)
                else:
                    score[:, -1] = -d / 2.0 + squared_error / (2.0 * sigma2)
        if not np.all(np.isfinite(score)):
            raise ValueError(
                f"the score is not finite at σ² = {sigma2!r}: theta's variance is too small "
                "for float64 (use a larger σ² or the log_variance parametrisation)"
            )
        return score[0] if single else score

    def sample(self, theta, states, rng: np.random.Generator) -> np.ndarray:
        r"""Draw a ∼ N(Θᵀx(s), σ² I): m(s) + σ ξ with ξ ∼ N(0, I) and σ = √σ²."""
        rng = checks.rng_generator(rng)
        sigma = self.standard_deviation(theta)
        batch, single = self._states_batch(states)
        mu = self.features.at(batch) @ self.weights(theta)
        return self._output(mu + sigma * rng.standard_normal(mu.shape), single)
