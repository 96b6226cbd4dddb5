r"""Feature maps x(s, a) and x(s) (lecture: "Recall: Feature", "Example: Moving Particle").

A feature map turns a state-action pair into a vector x(s, a) ∈ ℝᴶ (for softmax policies), or a
state into x(s) ∈ ℝᴶ (for Gaussian and MLP policies). This module builds the tables used by the
examples and wraps a table or a callable behind one lookup, :class:`StateActionFeatures` /
:class:`StateFeatures`, that the policies call. It knows nothing about θ.

Shapes: a tabular x(s, a) is ``(S, A, J)``; a tabular x(s) is ``(S, J)``. A callable feature map
takes a batch of states (first axis N) and returns ``(N, A, J)`` or ``(N, J)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pgref import checks

__all__ = [
    "StateActionFeatures",
    "StateFeatures",
    "moving_particle_features",
    "one_hot_features",
    "one_hot_state_features",
    "shared_action_features",
]


def one_hot_features(n_states: int, n_actions: int) -> np.ndarray:
    r"""Tabular one-hot features x(s, a) = e_{s·A + a} ∈ ℝ^{S·A}.

    Parameters
    ----------
    n_states, n_actions : int
        S and A.

    Returns
    -------
    features : ndarray, shape (S, A, S·A)

    Notes
    -----
    With these features θ has one entry per state-action pair, θᵀx(s, a) = θ_{s,a}, and a
    softmax-linear policy is the tabular softmax policy (lecture: "Example: Softmax").
    """
    n_states = checks.positive_int("n_states", n_states)
    n_actions = checks.positive_int("n_actions", n_actions)
    return np.eye(n_states * n_actions).reshape(n_states, n_actions, n_states * n_actions)


def one_hot_state_features(n_states: int) -> np.ndarray:
    r"""Tabular one-hot state features x(s) = e_s ∈ ℝ^S, shape ``(S, S)``."""
    n_states = checks.positive_int("n_states", n_states)
    return np.eye(n_states)


def shared_action_features(action_features, n_states: int) -> np.ndarray:
    r"""The same feature vector x(s, a) = x(a) for an action in every state.

    Parameters
    ----------
    action_features : array_like, shape (A, J)
        Row ``a`` is x(·, a). The short corridor (Sutton & Barto, Example 13.1) uses
        x(s, right) = [1, 0] and x(s, left) = [0, 1].
    n_states : int
        S.

    Returns
    -------
    features : ndarray, shape (S, A, J)
        A copy of ``action_features`` for each state: the policy cannot tell states apart.
    """
    table = checks.finite_array("action_features", action_features, ndim=2)
    n_states = checks.positive_int("n_states", n_states)
    return np.broadcast_to(table, (n_states, *table.shape)).copy()


def moving_particle_features(positions, action_codes) -> np.ndarray:
    r"""The lecture's moving-particle features x(s, a) = [x, y, a].

    Lecture: "Example: Moving Particle".

    Parameters
    ----------
    positions : array_like, shape (S, 2)
        The particle's (x, y) in each state.
    action_codes : array_like, shape (A,)
        The scalar a that stands for each discrete direction (for instance its angle, or its
        index).

    Returns
    -------
    features : ndarray, shape (S, A, 3)

    Notes
    -----
    Softmax is unchanged when a term that depends on the state only is added to every action's
    logit: θᵀx(s, a) = θ₁x + θ₂y + θ₃a, and θ₁x + θ₂y is the same for all actions. So a
    softmax-linear policy on these features ignores the position: π(a|s) ∝ exp(θ₃ a) in every
    state, and the score's x and y components are identically zero. Features that let the
    policy depend on the position must interact the state with the action.
    """
    positions = checks.finite_array("positions", positions, ndim=2)
    if positions.shape[1] != 2:
        raise ValueError(f"positions must have shape (S, 2); got {positions.shape}")
    codes = checks.finite_array("action_codes", action_codes, ndim=1)
    n_states, n_actions = positions.shape[0], codes.shape[0]
    features = np.empty((n_states, n_actions, 3))
    features[:, :, :2] = positions[:, None, :]
    features[:, :, 2] = codes[None, :]
    return features


def _feature_table(features, shape: str, **given) -> np.ndarray:
    """A finite read-only table of the ``shape`` named, e.g. "(S, A, J)", every size ≥ 1, whose
    last sizes agree with the ``given`` ones (n_actions, n_features) that are not None."""
    table = checks.finite_array("features", features)
    rank = shape.count(",") + 1
    if table.ndim != rank:
        raise ValueError(f"features must be a table of shape {shape} (or a callable); got rank "
                         f"{table.ndim} with shape {table.shape}")
    if min(table.shape) == 0:
        raise ValueError(f"features must have {shape[1:-1]} ≥ 1; got shape {table.shape}")
    for (name, value), actual in zip(given.items(), table.shape[rank - len(given):], strict=True):
        if value is not None and value != actual:
            raise ValueError(f"{name}={value} disagrees with features of shape {table.shape}")
    table.setflags(write=False)
    return table


@dataclass(frozen=True)
class StateActionFeatures:
    r"""x(s, a) as a lookup over a batch of states: a table ``(S, A, J)`` or a callable.

    Build one with :meth:`wrap`, which checks its argument; the four fields are all set then.

    Attributes
    ----------
    source : ndarray of shape (S, A, J), or callable
        A read-only table indexed by integer states, or ``f(states) -> (N, A, J)`` for states
        of any kind (first axis N).
    n_actions, n_features : int
        A and J.
    n_states : int or None
        S for a table; None for a callable (its states are not indices).
    """

    source: np.ndarray | Callable
    n_actions: int
    n_features: int
    n_states: int | None

    @classmethod
    def wrap(cls, features, n_actions=None, n_features=None) -> StateActionFeatures:
        r"""Check a table ``(S, A, J)`` or a callable and wrap it.

        Parameters
        ----------
        features : array_like of shape (S, A, J), or callable
        n_actions, n_features : int, optional for a table, required for a callable
            A and J: read from a table (and then, if given, they must agree with it); a callable
            must be given both, since the policy needs A and 𝒥 before it sees a state.
        """
        if callable(features):
            if n_actions is None or n_features is None:
                raise ValueError(
                    "features is a callable, so n_actions and n_features must be given "
                    "(the policy needs A and 𝒥 before it sees a state)"
                )
            return cls(
                features,
                checks.positive_int("n_actions", n_actions),
                checks.positive_int("n_features", n_features),
                None,
            )
        table = _feature_table(features, "(S, A, J)", n_actions=n_actions, n_features=n_features)
        return cls(table, table.shape[1], table.shape[2], table.shape[0])

    @property
    def is_tabular(self) -> bool:
        """Whether the features are a table over integer states (not a callable)."""
        return self.n_states is not None

    def at(self, states) -> np.ndarray:
        """x(s, ·) for each state in the batch: shape ``(N, A, J)``."""
        return _lookup(self.source, self.n_states, states, (self.n_actions, self.n_features))


@dataclass(frozen=True)
class StateFeatures:
    r"""x(s) as a lookup over a batch of states: a table ``(S, J)`` or a callable.

    Build one with :meth:`wrap`, which checks its argument; the three fields are all set then.

    Attributes
    ----------
    source : ndarray of shape (S, J), or callable
        A read-only table indexed by integer states, or ``f(states) -> (N, J)`` (for instance
        the identity, x(s) = s, for continuous states of shape (N, J)).
    n_features : int
        J.
    n_states : int or None
        S for a table; None for a callable.
    """

    source: np.ndarray | Callable
    n_features: int
    n_states: int | None

    @classmethod
    def wrap(cls, features, n_features=None) -> StateFeatures:
        r"""Check a table ``(S, J)`` or a callable and wrap it.

        Parameters
        ----------
        features : array_like of shape (S, J), or callable
        n_features : int, optional for a table, required for a callable
            J: read from a table (and then, if given, it must agree with it).
        """
        if callable(features):
            if n_features is None:
                raise ValueError("features is a callable, so n_features must be given")
            return cls(features, checks.positive_int("n_features", n_features), None)
        table = _feature_table(features, "(S, J)", n_features=n_features)
        return cls(table, table.shape[1], table.shape[0])

    @property
    def is_tabular(self) -> bool:
        """Whether the features are a table over integer states (not a callable)."""
        return self.n_states is not None

    def at(self, states) -> np.ndarray:
        """x(s) for each state in the batch: shape ``(N, J)``."""
        return _lookup(self.source, self.n_states, states, (self.n_features,))


def _lookup(source, n_states: int | None, states, trailing: tuple[int, ...]) -> np.ndarray:
    """Rows of a table indexed by integer states, or a callable's checked output (N, *trailing)."""
    if n_states is not None:
        return source[checks.index_array("states", states, n_states)]
    n = len(checks.finite_array("states", states))
    values = checks.finite_array("features(states)", source(states), ndim=1 + len(trailing))
    if values.shape != (n, *trailing):
        raise ValueError(
            f"features(states) must return shape {(n, *trailing)}; got {values.shape}"
        )
    return values
