r"""Exact policy evaluation and the exact policy gradient of a tabular MDP, by linear solves.

For a policy table π (S, A) — or a policy and its θ — this module computes every quantity of the
lecture's and the blog's derivation with no sampling at all: P_π and r_π, v_π, q_π and the
advantages, the blog's k-step visitation φ(s→x, k), expected visit counts n(s) and on-policy
distribution μ(s), the objective J(θ) and its gradient ∇J(θ) by the policy gradient theorem.
These are the true values that every Monte-Carlo estimate in pgref is tested against.

Conventions (see DESIGN.md): terminal states are absorbing with zero reward and value 0, and the
two linear systems are solved on the non-terminal block only. With γ = 1 a policy must end its
episodes with probability 1; this is checked on the graph of P_π before solving, and a
:class:`NonTerminatingPolicyError` names the states that cannot reach a terminal state.
"""

from pgref.exact.chain import (
    NonTerminatingPolicyError,
    action_values,
    advantages,
    discounted_visits,
    k_step_visits,
    on_policy_distribution,
    policy_rewards,
    policy_transitions,
    state_values,
    undiscounted_visits,
)
from pgref.exact.gradient import (
    NormalisedPolicyGradient,
    gamma_dropped_direction,
    normalised_policy_gradient,
    objective,
    policy_gradient,
)
from pgref.exact.trajectory import TrajectoryForm, trajectory_form

__all__ = [
    "NonTerminatingPolicyError",
    "NormalisedPolicyGradient",
    "TrajectoryForm",
    "action_values",
    "advantages",
    "discounted_visits",
    "gamma_dropped_direction",
    "k_step_visits",
    "normalised_policy_gradient",
    "objective",
    "on_policy_distribution",
    "policy_gradient",
    "policy_rewards",
    "policy_transitions",
    "state_values",
    "trajectory_form",
    "undiscounted_visits",
]
