r"""The softmax-linear policy over tabular states, for the per-step loops' hot path.

Lecture, "Example: Softmax": the same two formulas as :class:`pgref.SoftmaxLinearPolicy`,

    π_θ(a|s) = exp(θᵀx(s, a)) / Σ_b exp(θᵀx(s, b)),
    ∇ log π_θ(a|s) = x(s, a) − Σ_b π_θ(b|s) x(s, b),

evaluated without re-checking θ at every step (the loops check their inputs once) and with an
optional leading run axis on θ, so that many independent learners are advanced by one NumPy
call. The tests compare both against the policy's own ``action_probs`` and ``grad_log_prob``.
"""

from __future__ import annotations

from operator import mul

import numpy as np

from pgref.policies import SoftmaxLinearPolicy

__all__ = ["TabularSoftmax", "softmax"]


def softmax(logits: np.ndarray) -> np.ndarray:
    r"""exp(zₐ − m) / Σ_b exp(z_b − m) over the last axis, m = max_b z_b."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class TabularSoftmax:
    r"""π_θ and its score for a softmax-linear policy with a feature table x(s, a) (S, A, J).

    Parameters
    ----------
    features : ndarray, shape (S, A, J)
        The policy's feature table, trusted (taken from a validated policy by :meth:`of`).
    """

    def __init__(self, features: np.ndarray):
        self.features = features
        n_states, n_actions, n_features = features.shape
        # by pair index p = s·A + a, runs along the last axis: x(s, b) for b < A, then x(s, a)
        rows = np.repeat(features, n_actions, axis=0)                  # (S·A, A, J)
        taken = features.reshape(n_states * n_actions, 1, n_features)  # (S·A, 1, J)
        self.pair_features = np.ascontiguousarray(
            np.concatenate([rows, taken], axis=1).transpose(1, 2, 0))  # (A + 1, J, S·A)
        self.feature_rows = features.tolist()                          # x(s, b) as floats

    @classmethod
    def of(cls, policy) -> TabularSoftmax | None:
        """The fast form of ``policy`` if it is a softmax-linear policy over tabular states."""
        if isinstance(policy, SoftmaxLinearPolicy) and policy.features.is_tabular:
            return cls(np.asarray(policy.features.source, dtype=float))
        return None

    def action_probs(self, theta: np.ndarray) -> np.ndarray:
        r"""π_θ(a|s) for every state and action: θ (…, J) → (…, S, A)."""
        return softmax(np.einsum("saj,...j->...sa", self.features, theta))

    def score(self, theta: np.ndarray, state: int, action: int) -> np.ndarray:
        r"""∇ log π_θ(a|s) = x(s, a) − Σ_b π_θ(b|s) x(s, b) for one θ (J,) and one (s, a).

        The few sums in Python floats, each in the order :meth:`scores` takes it, and the
        exponentials by NumPy's exp: the same numbers as a column of :meth:`scores`."""
        x = self.feature_rows[state]                            # x(s, b), b = 0 … A − 1
        weights = theta.tolist()
        logits = [sum(map(mul, x_b, weights)) for x_b in x]     # θᵀx(s, b)
        largest = max(logits)
        shifted = np.exp([logit - largest for logit in logits]).tolist()
        total = sum(shifted)
        expected = [0.0] * len(weights)                         # Σ_b π_θ(b|s) x(s, b)
        for x_b, shifted_b in zip(x, shifted, strict=True):
            pi_b = shifted_b / total
            expected = [e_j + pi_b * x_bj for e_j, x_bj in zip(expected, x_b, strict=True)]
        return np.array([x_aj - e_j for x_aj, e_j in zip(x[action], expected, strict=True)])

    def scores(self, theta: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        r"""The score of run r at its (s_r, a_r) and θ_r, one column per run: θ (J, R) and the
        pair indices p_r = s_r·A + a_r (R,) → (J, R). (Runs along the last axis keep NumPy's
        sums over the few actions and features fast.)"""
        both = self.pair_features.take(pairs, axis=2)                 # (A + 1, J, R)
        x, x_taken = both[:-1], both[-1]                              # x(s_r, ·), x(s_r, a_r)
        # the sums as ufunc reductions: the same sums, without the method wrappers' cost
        logits = np.add.reduce(x * theta, axis=1)                     # θ_rᵀ x(s_r, b), (A, R)
        shifted = np.exp(logits - np.maximum.reduce(logits, axis=0))
        pi = shifted / np.add.reduce(shifted, axis=0)                 # π_θr(·|s_r), (A, R)
        expected = pi[0] * x[0]                                       # Σ_b π_b x(s_r, b), in
        for b in range(1, pi.shape[0]):                               # the order a sum over
            expected += pi[b] * x[b]                                  # the action axis takes
        return x_taken - expected
