r"""What a policy is, declared once: the :class:`Policy` and :class:`TabularPolicy` protocols.

Every policy of pgref — and any policy a user writes — offers the lecture's π_θ(a|s) through
the same few methods (lecture: "Policy Network"); code that takes a policy asks
``isinstance(policy, Policy)`` (or :class:`TabularPolicy` where it needs the whole table over
tabular states) instead of probing for attributes one by one.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Policy", "TabularPolicy"]


@runtime_checkable
class Policy(Protocol):
    r"""A parametrised policy π_θ(a|s) with a hand-derived score.

    Attributes
    ----------
    n_params : int
        The length of the flat parameter vector θ.

    Notes
    -----
    ``log_prob(theta, states, actions)`` → log π_θ(a|s), shape (N,);
    ``grad_log_prob(theta, states, actions)`` → ∇_θ log π_θ(a|s), shape (N, n_params);
    ``sample(theta, states, rng)`` → Aₜ ∼ π_θ(·|Sₜ) for each state of the batch.
    """

    n_params: int

    def log_prob(self, theta, states, actions) -> np.ndarray: ...

    def grad_log_prob(self, theta, states, actions) -> np.ndarray: ...

    def sample(self, theta, states, rng: np.random.Generator) -> np.ndarray: ...


@runtime_checkable
class TabularPolicy(Policy, Protocol):
    r"""A policy over S tabular states and A actions whose whole table can be read.

    Attributes
    ----------
    n_states, n_actions : int
        S and A. (A :class:`~pgref.policies.DiscretePolicy` on callable features has
        ``n_states = None``: it is a :class:`Policy`, and code that needs the table checks
        ``n_states`` too.)

    Notes
    -----
    ``action_probs(theta)`` → π_θ(a|s) for every (s, a), shape (S, A);
    ``grad_log_prob_table(theta)`` → ∇ log π_θ(a|s) for every (s, a), shape (S, A, n_params).
    These are what the exact solvers of :mod:`pgref.exact` and the tabular sampler read.
    """

    n_states: int
    n_actions: int

    def action_probs(self, theta) -> np.ndarray: ...

    def grad_log_prob_table(self, theta) -> np.ndarray: ...
