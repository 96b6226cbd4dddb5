r"""pgref: policy-gradient reinforcement learning in NumPy, every formula checked.

Read alongside the lecture "Reinforcement Learning, Chapter 5: RL via Policy Gradient" and the
blog derivation "Policy Gradient: L'Equazione Elegante". See the README for the notation table
and the map from lecture sections to functions, tests and figures.

Modules, in the order data flows: :mod:`~pgref.features` → :mod:`~pgref.policies` →
:mod:`~pgref.exact` (with :mod:`~pgref.mdp` and :mod:`~pgref.envs`) → :mod:`~pgref.rollout` →
:mod:`~pgref.estimators` → :mod:`~pgref.algorithms`; :mod:`~pgref.lqr` for the continuous
moving particle; :mod:`~pgref.problems` for what every problem offers (γ, sampled episodes, and
the exact J and ∇J where they exist); :mod:`~pgref.numerics` for the finite differences the tests
check against.
"""

from pgref import (
    algorithms,
    envs,
    estimators,
    exact,
    features,
    lqr,
    mdp,
    numerics,
    policies,
    problems,
    rollout,
)
from pgref.estimators import GradientEstimate
from pgref.mdp import TabularEnv, TabularMDP
from pgref.policies import GaussianPolicy, MLPSoftmaxPolicy, SoftmaxLinearPolicy
from pgref.rollout import Episodes

__all__ = [
    "Episodes",
    "GaussianPolicy",
    "GradientEstimate",
    "MLPSoftmaxPolicy",
    "SoftmaxLinearPolicy",
    "TabularEnv",
    "TabularMDP",
    "algorithms",
    "envs",
    "estimators",
    "exact",
    "features",
    "lqr",
    "mdp",
    "numerics",
    "policies",
    "problems",
    "rollout",
]
