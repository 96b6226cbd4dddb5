r"""Policies π_θ(a|s) with hand-derived scores ∇ log π_θ(a|s) (lecture: "Policy Network").

All share one interface: ``n_params``, ``log_prob(theta, s, a)``, ``grad_log_prob(theta, s, a)``,
``sample(theta, s, rng)``; the discrete ones also ``action_probs(theta)`` → (S, A) and
``grad_log_prob_table(theta)`` → (S, A, n_params) for tabular features.
"""

from pgref.policies.gaussian import GaussianPolicy
from pgref.policies.mlp import Layer, MLPSoftmaxPolicy
from pgref.policies.softmax import SoftmaxLinearPolicy

__all__ = ["GaussianPolicy", "Layer", "MLPSoftmaxPolicy", "SoftmaxLinearPolicy"]
