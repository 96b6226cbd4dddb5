r"""What every policy over a finite action set shares: batching, probabilities, sampling.

:class:`DiscretePolicy` is the public base class for a new discrete policy: a subclass supplies
the log-probabilities of all actions, log π_θ(·|s) for a batch of states
(:meth:`~DiscretePolicy.batch_log_probs`), and the score ∇ log π_θ(a|s)
(:meth:`~DiscretePolicy.batch_scores`); the base checks the arguments once and turns the two into
the interface of :class:`pgref.policies.Policy` and :class:`pgref.policies.TabularPolicy`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from pgref import checks

__all__ = ["DiscretePolicy", "last_possible", "log_softmax", "sample_categorical"]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    r"""log Softmax over the last axis, by log-sum-exp.

    Notes
    -----
    log π(a|s) = z_a − log Σ_b exp(z_b) = (z_a − m) − log Σ_b exp(z_b − m), m = max_b z_b,
    so logits of ±1e4 give finite log-probabilities (lecture: "Example: Softmax").
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


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
