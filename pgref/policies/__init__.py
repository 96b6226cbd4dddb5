r"""Policies π_θ(a|s) with hand-derived scores ∇ log π_θ(a|s) (lecture: "Policy Network").

All share one interface, declared as the protocol :class:`Policy`: ``n_params``,
``log_prob(theta, s, a)``, ``grad_log_prob(theta, s, a)``, ``sample(theta, s, rng)``; the
discrete ones on tabular features also satisfy :class:`TabularPolicy`: ``action_probs(theta)`` →
(S, A) and ``grad_log_prob_table(theta)`` → (S, A, n_params). A new discrete policy subclasses
:class:`DiscretePolicy`.
"""

from pgref.policies.discrete import DiscretePolicy
from pgref.policies.gaussian import GaussianPolicy
from pgref.policies.interface import Policy, TabularPolicy
from pgref.policies.mlp import Layer, MLPSoftmaxPolicy
from pgref.policies.softmax import SoftmaxLinearPolicy

__all__ = [
    "DiscretePolicy",
    "GaussianPolicy",
    "Layer",
    "MLPSoftmaxPolicy",
    "Policy",
    "SoftmaxLinearPolicy",
    "TabularPolicy",
]
