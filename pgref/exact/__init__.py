r"""Exact policy evaluation and the exact policy gradient of a tabular MDP, by linear solves.

For a policy table π (S, A) — or a policy and its θ — this module computes every quantity of the
lecture's and the blog's derivation with no sampling at all: P_π and r_π, v_π, q_π and the
advantages, the blog's k-step visitation φ(s→x, k), expected visit counts n(s) and on-policy
distribution μ(s), the objective 𝒥(θ) and its gradient ∇𝒥(θ) by the policy gradient theorem.
These are the true values that every Monte-Carlo estimate in pgref is tested against.

Conventions (see DESIGN.md): terminal states are absorbing with zero reward and value 0, and the
two linear systems are solved on the non-terminal block only. With γ = 1 a policy must end its
episodes with probability 1; this is checked on the graph of P_π before solving, and a
:class:`NonTerminatingPolicyError` names the states that cannot reach a terminal state.

Accuracy: every value returned has relative error ≤ 1e−9 (‖x̂ − x‖_∞ ≤ 1e−9 ‖x‖_∞; for ∇𝒥 against
the larger of ‖∇𝒥‖_∞ and the size of the theorem's terms), certified by a bound computed with
it, or the call raises :class:`PrecisionError` — where the answer is beyond float64 (above
~1.8e308, or dependent on probabilities below ~1e−300), and in one stated case of ∇𝒥 (its size
below 1e9 times the effect of the policy table's own rounding, or episodes beyond about 1e15
steps: :mod:`pgref.exact.chain`). Near-deterministic policies are solved accurately: the exit
mass of each state is taken from π and p directly, never as 1 − Σ, and the solver falls back
from block elimination to GTH elimination, refined in double-double or carried out in it where
needed, when the fast path cannot be certified (:mod:`pgref.exact.solver`).
"""

from pgref.exact.chain import (
    NonTerminatingPolicyError,
    PrecisionError,
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
from pgref.exact.estimator_moments import (
    BaselineVariances,
    baseline_variances,
    estimator_covariance,
    optimal_constant_baseline,
)
from pgref.exact.gradient import (
    NormalisedPolicyGradient,
    ObjectiveAndGradient,
    gamma_dropped_direction,
    normalised_policy_gradient,
    objective,
    objective_and_gradient,
    policy_gradient,
)
from pgref.exact.moments import ReturnVariance, return_variance, visit_count_covariance
from pgref.exact.trajectory import TrajectoryForm, trajectory_form

__all__ = [
    "BaselineVariances",
    "NonTerminatingPolicyError",
    "NormalisedPolicyGradient",
    "ObjectiveAndGradient",
    "PrecisionError",
    "ReturnVariance",
    "TrajectoryForm",
    "action_values",
    "advantages",
    "baseline_variances",
    "discounted_visits",
    "estimator_covariance",
    "gamma_dropped_direction",
    "k_step_visits",
    "normalised_policy_gradient",
    "objective",
    "objective_and_gradient",
    "on_policy_distribution",
    "optimal_constant_baseline",
    "policy_gradient",
    "policy_rewards",
    "policy_transitions",
    "return_variance",
    "state_values",
    "trajectory_form",
    "undiscounted_visits",
    "visit_count_covariance",
]
