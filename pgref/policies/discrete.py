r"""What every policy over a finite action set shares: batching, probabilities, sampling.

:class:`DiscretePolicy` is the public base class for a new discrete policy: a subclass supplies
the log-probabilities of all actions, log π_θ(·|s) for a batch of states
(:meth:`~DiscretePolicy.batch_log_probs`), and the score ∇ log π_θ(a|s)
(:meth:`~DiscretePolicy.batch_scores`); the base checks the arguments once and turns the two into
the interface of :class:`pgref.policies.Policy` and :class:`pgref.policies.TabularPolicy`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

import numpy as np

from pgref import checks

__all__ = ["DiscretePolicy", "TableErrors", "last_possible", "log_softmax", "log_softmax_error",
           "sample_categorical"]

EPS = float(np.finfo(float).eps)

LOGIT_ERROR_MARGIN = 1.01
"""|e^Δ − 1| ≤ 1.01 |Δ| for |Δ| ≤ 0.019: a logit off by Δ moves π by at most that, relatively
(a larger Δ makes ρ about 2 %, and every certificate then refuses anyway)."""


def log_softmax(logits: np.ndarray) -> np.ndarray:
    r"""log Softmax over the last axis, by log-sum-exp.

    Notes
    -----
    log π(a|s) = z_a − log Σ_b exp(z_b) = (z_a − m) − log Σ_b exp(z_b − m), m = max_b z_b,
    so logits of ±1e4 give finite log-probabilities (lecture: "Example: Softmax").
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_softmax_error(pi: np.ndarray) -> np.ndarray:
    r"""ρ(s, a), a bound on the relative error of each entry of π = exp(:func:`log_softmax` (z))
    for logits z taken as exact.

    log π is accurate to about ε(1 + |log π|) absolute, so π(a|s) is accurate to
    ρ = 4ε(1 + |log π(a|s)|) relative (1e−13 for π = e^{−1000}). Entries below the smallest
    normal float (2.2e−308) have lost relative accuracy; where that matters the exact layer adds
    an absolute error of that size.
    """
    logs = np.log(pi, out=np.zeros_like(pi), where=pi > 0)
    return 4.0 * EPS * (1.0 - logs)


class TableErrors(NamedTuple):
    r"""Bounds on the rounding of a policy's tables, against π_θ and ∇ log π_θ computed exactly
    from θ and the features.

    Attributes
    ----------
    probabilities : ndarray, shape (S, A)
        ρ(s, a): |π̂(a|s) − π(a|s)| ≤ ρ(s, a) π(a|s).
    scores : ndarray, shape (S, A, n_params)
        |∇̂ log π(a|s) − ∇ log π(a|s)| entrywise.
    """

    probabilities: np.ndarray
    scores: np.ndarray


class DiscretePolicy(ABC):
    """Base of the discrete policies: π_θ(·|s) over A actions, batched over states.

    Subclasses set ``n_params``, ``n_actions`` and ``n_states`` (``None`` when states are not
    tabular) and implement the two hooks :meth:`batch_log_probs` and :meth:`batch_scores`. The
    public methods check θ, the states and the actions, then call the hooks with a checked θ
    (a float vector of length ``n_params``) and a batch of states (first axis N), so the hooks
    hold only the formulas.
    """

    n_params: int
    n_actions: int
    n_states: int | None

    @abstractmethod
    def batch_log_probs(self, theta: np.ndarray, states) -> np.ndarray:
        """Hook: log π_θ(·|s) for a batch of states, shape (N, A), θ already checked."""

    @abstractmethod
    def batch_scores(self, theta: np.ndarray, states, actions: np.ndarray) -> np.ndarray:
        """Hook: ∇ log π_θ(a|s) for a batch of (s, a), shape (N, n_params), θ already checked."""

    # -- batching -----------------------------------------------------------------------------

    def _states_batch(self, states) -> tuple[object, bool]:
        """States as a batch with first axis N, and whether a single tabular state was given."""
        if self.n_states is not None:
            array = np.asarray(states)
            if array.ndim == 0:
                return array.reshape(1), True
            if array.ndim != 1:
                raise ValueError(
                    f"states must be a state index or a 1-D array of indices; got shape "
                    f"{array.shape}"
                )
            return array, False
        array = np.asarray(states)
        if array.ndim == 0:
            raise ValueError("states must be a batch (first axis N) for callable features")
        return states, False

    def _actions_batch(self, actions, n: int, single: bool) -> np.ndarray:
        array = checks.index_array("actions", actions, self.n_actions)
        expected = () if single else (n,)
        if array.shape != expected:
            raise ValueError(
                f"actions must have shape {expected} to match states; got {array.shape}"
            )
        return array.reshape(n)

    def _table_only(self, what: str) -> None:
        if self.n_states is None:
            raise ValueError(
                f"{what} needs tabular features (a table indexed by state); this policy's "
                "features are a callable"
            )

    def _checked_steps(self, theta, states, actions):
        """θ checked, the states as a batch, the actions as indices, and whether one state."""
        theta = checks.parameter_vector(theta, self.n_params)
        batch, single = self._states_batch(states)
        actions = self._actions_batch(actions, np.asarray(batch).shape[0], single)
        return theta, batch, actions, single

    # -- the interface of DESIGN.md ----------------------------------------------------------

    def log_prob(self, theta, states, actions) -> np.ndarray:
        r"""log π_θ(a|s) for each (s, a) in the batch.

        Parameters
        ----------
        theta : array_like, shape (n_params,)
        states : int or array_like, shape (N,) (or a batch for callable features)
        actions : int or array_like of int, shape (N,)

        Returns
        -------
        log_prob : ndarray, shape (N,) (a float for a single state)
        """
        theta, batch, actions, single = self._checked_steps(theta, states, actions)
        result = self.batch_log_probs(theta, batch)[np.arange(actions.shape[0]), actions]
        return result[0] if single else result

    def grad_log_prob(self, theta, states, actions) -> np.ndarray:
        r"""The score ∇_θ log π_θ(a|s) for each (s, a) in the batch, derived by hand.

        Parameters
        ----------
        theta, states, actions
            As in :meth:`log_prob`.

        Returns
        -------
        score : ndarray, shape (N, n_params) (``(n_params,)`` for a single state)
        """
        theta, batch, actions, single = self._checked_steps(theta, states, actions)
        scores = self.batch_scores(theta, batch, actions)
        return scores[0] if single else scores

    def probs(self, theta, states) -> np.ndarray:
        r"""π_θ(·|s) for each state in the batch, shape (N, A) (``(A,)`` for a single state)."""
        theta = checks.parameter_vector(theta, self.n_params)
        batch, single = self._states_batch(states)
        result = np.exp(self.batch_log_probs(theta, batch))
        return result[0] if single else result

    def action_probs(self, theta) -> np.ndarray:
        r"""The policy table π_θ(a|s) for every state and action, shape (S, A)."""
        self._table_only("action_probs")
        return self.probs(theta, np.arange(self.n_states))

    def table_errors(self, theta) -> TableErrors | None:
        r"""Bounds on the rounding of :meth:`action_probs` and :meth:`grad_log_prob_table`
        (:class:`TableErrors`), for the exact layer's certificates; None where the policy does
        not state them (the hooks :meth:`table_logit_errors` and :meth:`table_score_errors`).

        Notes
        -----
        log π(a|s) = z_a − log Σ_b e^{z_b}, so logits off by at most δz move log π(a|s) by at
        most δz(s, a) + max_b δz(s, b), and π by 1.01 times that relatively (while it is below
        0.019), on top of the log-sum-exp's own rounding (:func:`log_softmax_error`). Lecture:
        "Example: Softmax" and "Example: DPN" for the tables themselves.
        """
        self._table_only("table_errors")
        theta = checks.parameter_vector(theta, self.n_params)
        logit_errors = self.table_logit_errors(theta)
        if logit_errors is None:
            return None
        pi = self.action_probs(theta)
        rho = log_softmax_error(pi) + LOGIT_ERROR_MARGIN * (
            logit_errors + logit_errors.max(axis=1, keepdims=True))
        return TableErrors(rho, self.table_score_errors(theta, pi, rho))

    def table_logit_errors(self, theta: np.ndarray) -> np.ndarray | None:
        """Hook: a bound (S, A) on the absolute error of each computed logit; None if unknown."""
        return None

    def table_score_errors(self, theta: np.ndarray, pi: np.ndarray, rho: np.ndarray
                           ) -> np.ndarray:
        """Hook: a bound (S, A, n_params) on the error of :meth:`grad_log_prob_table`, given the
        table π and its relative error ρ."""
        raise NotImplementedError

    def grad_log_prob_table(self, theta) -> np.ndarray:
        r"""The score ∇ log π_θ(a|s) for every (s, a), shape (S, A, n_params)."""
        self._table_only("grad_log_prob_table")
        theta = checks.parameter_vector(theta, self.n_params)
        states = np.repeat(np.arange(self.n_states), self.n_actions)
        actions = np.tile(np.arange(self.n_actions), self.n_states)
        scores = self.batch_scores(theta, states, actions)
        return scores.reshape(self.n_states, self.n_actions, self.n_params)

    def sample(self, theta, states, rng: np.random.Generator) -> np.ndarray:
        r"""Draw Aₜ ∼ π_θ(·|Sₜ) for each state in the batch, by inverting the CDF.

        Parameters
        ----------
        theta : array_like, shape (n_params,)
        states : int or array_like, shape (N,)
        rng : numpy.random.Generator

        Returns
        -------
        actions : ndarray of int, shape (N,) (an int for a single state)
        """
        rng = checks.rng_generator(rng)
        theta = checks.parameter_vector(theta, self.n_params)
        batch, single = self._states_batch(states)
        probs = np.exp(self.batch_log_probs(theta, batch))
        actions = sample_categorical(probs, rng)
        return actions[0] if single else actions


def last_possible(probabilities: np.ndarray) -> np.ndarray:
    """The last index of non-zero probability along the last axis: where a draw whose uniform
    lies past a cumulative sum rounded below 1 belongs (pgref's samplers all use this rule)."""
    n = probabilities.shape[-1]
    return n - 1 - np.argmax(probabilities[..., ::-1] > 0, axis=-1)


def sample_categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r"""One draw from each row of ``probs`` (N, A): the first a with Σ_{b≤a} p_b > u, u ∼ U[0, 1).

    The cumulative sum can end a rounding error below 1; a u beyond it belongs to the last
    action with non-zero probability.
    """
    cumulative = np.cumsum(probs, axis=1)
    uniforms = rng.random(probs.shape[0])
    actions = (cumulative <= uniforms[:, None]).sum(axis=1)
    overshoot = actions >= probs.shape[1]
    if np.any(overshoot):
        actions[overshoot] = last_possible(probs)[overshoot]
    return actions
