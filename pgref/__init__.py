r"""pgref: policy-gradient reinforcement learning in NumPy, every formula checked.

Read alongside the lecture "Reinforcement Learning, Chapter 5: RL via Policy Gradient" and the
blog derivation "Policy Gradient: L'Equazione Elegante". See the README for the notation table
and the map from lecture sections to functions, tests and figures.
"""

from pgref import features, policies
from pgref.policies import GaussianPolicy, MLPSoftmaxPolicy, SoftmaxLinearPolicy

__all__ = [
    "GaussianPolicy",
    "MLPSoftmaxPolicy",
    "SoftmaxLinearPolicy",
    "features",
    "policies",
]
