r"""The softmax-linear policy π_θ(a|s) ∝ exp(θᵀx(s, a)) (lecture: "Example: Softmax")."""

from __future__ import annotations

import numpy as np

from pgref import checks
from pgref.features import StateActionFeatures
from pgref.policies.discrete import EPS, DiscretePolicy, log_softmax

__all__ = ["SoftmaxLinearPolicy"]


class SoftmaxLinearPolicy(DiscretePolicy):
    r"""Softmax over linear preferences θᵀx(s, a).

    Parameters
    ----------
    features : array_like of shape (S, A, J), or callable
        The feature map x(s, a): a table indexed by integer state, or ``f(states) -> (N, A, J)``
        for states of any kind (then ``n_actions`` and ``n_features`` are required).
    n_actions, n_features : int, optional
        A and J, for callable features.

    Attributes
    ----------
    n_params : int
        J, the length of θ.

    Notes
    -----
    Lecture, "Example: Softmax":

        π_θ(a|s) = exp(θᵀx(s, a)) / Σ_b exp(θᵀx(s, b))

    and its score, derived by hand:

        ∇_θ log π_θ(a|s) = x(s, a) − Σ_b π_θ(b|s) x(s, b) = Σ_b π_θ(b|s) (x(s, a) − x(s, b))

    i.e. the feature of the action taken minus the features' mean under the policy; the code uses
    the second form, which keeps its digits when π_θ(a|s) ≈ 1 (the first subtracts two nearly
    equal numbers). The log-normaliser is computed by log-sum-exp, so logits of ±1e4 stay
    finite.

    Adding the same vector c(s) to x(s, b) for every action b changes nothing: θᵀc(s) cancels
    between numerator and denominator. Features such as the lecture's [x, y, a] therefore give a
    policy that ignores x and y (see :func:`pgref.features.moving_particle_features`).
    """

    def __init__(self, features, n_actions: int | None = None, n_features: int | None = None):
        self.features = StateActionFeatures.wrap(features, n_actions, n_features)
        self.n_params = self.features.n_features
        self.n_actions = self.features.n_actions
        self.n_states = self.features.n_states

    def logits(self, theta, states) -> np.ndarray:
        r"""The preferences θᵀx(s, a) for each state of the batch, shape (N, A)."""
        theta = checks.parameter_vector(theta, self.n_params)
        batch, single = self._states_batch(states)
        result = self.features.at(batch) @ theta
        return result[0] if single else result

    def batch_log_probs(self, theta, states):
        return log_softmax(self.features.at(states) @ theta)

    def action_probs(self, theta) -> np.ndarray:
        r"""The policy table π_θ(a|s) for every state and action, shape (S, A): the softmax of
        θᵀx(s, ·) on the whole feature table at once (the same numbers as :meth:`probs` of
        every state)."""
        self._table_only("action_probs")
        return self._table_probs(checks.parameter_vector(theta, self.n_params))

    def _table_probs(self, theta: np.ndarray) -> np.ndarray:
        """π_θ (S, A) from the feature table, θ already checked."""
        return np.exp(log_softmax(self.features.source @ theta))

    def grad_log_prob_table(self, theta) -> np.ndarray:
        r"""∇ log π_θ(a|s) = Σ_b π_θ(b|s) (x(s, a) − x(s, b)) for every (s, a) (lecture,
        "Example: Softmax"; the class Notes derive it).

        Parameters
        ----------
        theta : array_like, shape (J,)

        Returns
        -------
        scores : ndarray, shape (S, A, J)
            The formula of :meth:`batch_scores` on the whole feature table at once (the exact
            policy gradient needs all of it); the same numbers as ``grad_log_prob`` of each
            pair.
        """
        self._table_only("grad_log_prob_table")
        x = self.features.source  # (S, A, J)
        pi = self._table_probs(checks.parameter_vector(theta, self.n_params))  # (S, A)
        # x(s, a) − Σ_b π_b x(s, b) = Σ_b π_b (x(s, a) − x(s, b)) for all a at once
        score = np.zeros_like(x)
        for b in range(self.n_actions):
            score += pi[:, None, b, None] * (x - x[:, None, b])
        return score

    def table_logit_errors(self, theta: np.ndarray) -> np.ndarray:
        r"""|ẑ − z| ≤ (J + 1)ε Σ_j |x(s, a, j) θ_j| for the logits z = θᵀx(s, a) of J terms
        (the worst case of an inner product, Higham §3.1), shape (S, A)."""
        x = self.features.source
        return (x.shape[2] + 1) * EPS * (np.abs(x) @ np.abs(theta))

    def table_score_errors(self, theta: np.ndarray, pi: np.ndarray, rho: np.ndarray
                           ) -> np.ndarray:
        r"""The score Σ_b π_b (x(s, a) − x(s, b)) summed as :meth:`grad_log_prob_table` sums it:
        each term off by (ρ_b + 2ε) of itself, the sum of A terms by (A − 1)ε of Σ|terms|, so
        the error is at most Σ_b (ρ(s, b) + (A + 2)ε) π(b|s) |x(s, a) − x(s, b)|, (S, A, J)."""
        x = self.features.source
        error = np.zeros(x.shape)
        for b in range(self.n_actions):
            weight = (rho[:, b] + (self.n_actions + 2) * EPS) * pi[:, b]
            error += weight[:, None, None] * np.abs(x - x[:, None, b])
        return error

    def batch_scores(self, theta, states, actions):
        x = self.features.at(states)  # (N, A, J)
        pi = np.exp(log_softmax(x @ theta))  # (N, A)
        x_taken = x[np.arange(actions.shape[0]), actions]  # x(s, a), (N, J)
        # x(s, a) − Σ_b π_b x(s, b) = Σ_b π_b (x(s, a) − x(s, b)): no cancellation when π(a|s) ≈ 1
        score = np.zeros_like(x_taken)
        for b in range(self.n_actions):
            score += pi[:, b, None] * (x_taken - x[:, b])
        return score
