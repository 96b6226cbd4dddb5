r"""A learned state-value baseline v̂(s) = wᵀx(s) for REINFORCE, with its own step size.

Lecture: "REINFORCE: First Official Algorithm"; Sutton & Barto (2018), section 13.4,
"REINFORCE with Baseline". A constant baseline is just a number and needs no class.
"""

from __future__ import annotations

import numpy as np

from pgref import checks
from pgref.features import StateFeatures

__all__ = ["LinearValueBaseline", "check_baseline"]


class LinearValueBaseline:
    r"""v̂(s) = wᵀx(s), learned alongside θ by stochastic gradient steps on (Gₜ − v̂(Sₜ))².

    Parameters
    ----------
    features : array_like of shape (S, J), or callable
        The state features x(s): a table for tabular states (the identity
        ``pgref.features.one_hot_state_features(S)`` gives a table v̂(s) = w_s), or
        ``f(states) -> (N, J)`` for continuous states (then ``n_features`` is required).
    alpha : float
        α_w > 0, the baseline's own step size.
    initial_weights : array_like, shape (J,), optional
        w₀; default zeros.
    n_features : int, optional
        J, for callable features.

    Notes
    -----
    Sutton & Barto, "REINFORCE with Baseline (episodic)", for each step t of an episode:

        δ ← Gₜ − v̂(Sₜ, w)
        w ← w + α_w δ ∇v̂(Sₜ, w)          (∇v̂ = x(Sₜ) for a linear v̂)
        θ ← θ + α γᵗ δ ∇ log π_θ(Aₜ|Sₜ)

    The w step is a stochastic gradient step on ½(Gₜ − v̂(Sₜ))², whose minimiser is v_π
    (within the span of the features): Gₜ is an unbiased sample of v_π(Sₜ).
    """

    def __init__(self, features, alpha: float, initial_weights=None,
                 n_features: int | None = None):
        self.features = StateFeatures.wrap(features, n_features)
        self.alpha = checks.positive_scalar("alpha", alpha)
        n = self.features.n_features
        if initial_weights is None:
            weights = np.zeros(n)
        else:
            weights = checks.finite_array("initial_weights", initial_weights)
            if weights.shape != (n,):
                raise ValueError(f"initial_weights must have shape ({n},), one weight per "
                                 f"feature; got {weights.shape}")
        weights.setflags(write=False)
        self.initial_weights = weights
        self._feature_lists = (np.asarray(self.features.source, dtype=float).tolist()
                               if self.features.n_states is not None else None)

    def state_features(self, state) -> np.ndarray:
        r"""x(s) of one state, shape (J,): the gradient ∇_w v̂(s) of the linear v̂."""
        if self.features.n_states is not None:
            return self.features.source[state]
        return self.features.at(np.asarray(state)[None])[0]

    def state_feature_list(self, state) -> list[float]:
        r"""x(s) = ∇_w v̂(s) of one state as a list of J floats: :meth:`state_features` in the
        form the single-run REINFORCE loop multiplies without NumPy (Sutton & Barto, 13.4)."""
        if self._feature_lists is None:
            return self.state_features(state).tolist()
        return self._feature_lists[state]

    def values(self, weights: np.ndarray, states) -> np.ndarray:
        r"""v̂(s) = wᵀx(s) for a batch of states, shape (N,)."""
        return self.features.at(states) @ weights

    def table(self, weights: np.ndarray) -> np.ndarray:
        r"""v̂(s) for every tabular state, shape (S,): the b(s) that the estimators take."""
        if not self.features.is_tabular:
            raise ValueError(
                "baseline features must be a table (S, J) to give b(s) for every state; these "
                "are a callable"
            )
        return self.features.source @ weights

    def step(self, weights: np.ndarray, states, deltas: np.ndarray,
             n_episodes: int = 1) -> np.ndarray:
        r"""w + α_w · (1/K) Σ δ x(S) over the given steps (K = ``n_episodes``).

        Parameters
        ----------
        weights : ndarray, shape (J,)
        states : array_like, shape (N,) or (N, n)
            The states Sₜ of the steps.
        deltas : ndarray, shape (N,)
            δ = Gₜ − v̂(Sₜ) at each of them.
        n_episodes : int
            K: the sum over steps is averaged over episodes, like the gradient estimators.
        """
        x = self.features.at(states)
        return weights + self.alpha * (deltas @ x) / n_episodes


def check_baseline(baseline) -> float | LinearValueBaseline:
    """None → 0.0; a finite number → itself; a LinearValueBaseline → itself; else ValueError."""
    if baseline is None:
        return 0.0
    if isinstance(baseline, LinearValueBaseline):
        return baseline
    try:
        return checks.finite_scalar("baseline", baseline)
    except ValueError as error:
        raise ValueError(
            "baseline must be None, a finite number (a constant b) or a "
            f"pgref.algorithms.LinearValueBaseline (a learned v̂(s)); got {baseline!r}"
        ) from error
