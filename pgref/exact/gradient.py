r"""𝒥(θ) and ∇𝒥(θ) of a discrete policy π_θ over tabular states, exactly: the objective
𝒥(π_θ) = Σ_s p₀(s) v_π(s), the policy gradient theorem in its unnormalised form
∇𝒥(θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s), the lecture's E_{S∼d_π} form with the constant Σ_s n(s)
it drops, and the direction Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s) that REINFORCE estimates when it
drops the γᵗ. Each is the linear solves of :mod:`pgref.exact.chain` combined with the policy's
score table ∇ log π_θ(a|s); no finite differences and no sampling.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.exact import doubled_chain, enclosure, value_differences
from pgref.exact.certified import (
    accurately_if_needed,
    action_values_of,
    advantages_of,
    certify,
    or_enclosure,
    solve_values,
    solve_visits,
)
from pgref.exact.chain import N1_NEEDS_TERMINATION, Chain, chain, check_mdp, policy_table
from pgref.exact.solver import (
    EPS,
    RELATIVE_TOLERANCE,
    TINY,
    PrecisionError,
    Solution,
    sum_rounding,
)
from pgref.mdp import TabularMDP

__all__ = [
    "NormalisedPolicyGradient",
    "ObjectiveAndGradient",
    "gamma_dropped_direction",
    "normalised_policy_gradient",
    "objective",
    "objective_and_gradient",
    "policy_gradient",
]


class NormalisedPolicyGradient(NamedTuple):
    r"""The lecture's form of the policy gradient theorem and the constant it drops.

    Attributes
    ----------
    expectation : ndarray, shape (n_params,)
        E_{S∼μ, A∼π}[q_π(S, A) ∇ log π_θ(A|S)], with μ = n/Σn the on-policy distribution (the
        lecture's d_π at γ = 1).
    total_visits : float
        Σ_s n(s), the expected discounted number of steps per episode (1/(1 − γ) for a
        continuing task). ∇𝒥(θ) = ``total_visits * expectation``.
    """

    expectation: np.ndarray
    total_visits: float


# -- inputs -------------------------------------------------------------------------------------


class PolicyTables(NamedTuple):
    """π_θ (S, A), its scores ∇ log π_θ(a|s) (S, A, n_params), and bounds on their rounding:
    ρ (S, A), relative, and the scores' (S, A, n_params), absolute — None where the policy does
    not state them (:meth:`pgref.policies.DiscretePolicy.table_errors`); then π is taken as a
    log-sum-exp table of exact logits, and each score as accurate to (A + 4)ε of the largest
    score of its state."""

    pi: np.ndarray
    scores: np.ndarray
    policy_error: np.ndarray | None
    score_errors: np.ndarray | None


def _policy_tables(mdp: TabularMDP, policy, theta) -> PolicyTables:
    """π_θ, its scores and the bounds on their rounding (:class:`PolicyTables`)."""
    check_mdp(mdp)
    if not (hasattr(policy, "action_probs") and hasattr(policy, "grad_log_prob_table")):
        raise ValueError(
            "policy must be a discrete policy over tabular states, with action_probs and "
            f"grad_log_prob_table (e.g. pgref.SoftmaxLinearPolicy); got {type(policy).__name__}"
        )
    pi = policy_table(mdp, policy.action_probs(theta), "policy.action_probs(theta)")
    scores = checks.finite_array("policy.grad_log_prob_table(theta)",
                                  policy.grad_log_prob_table(theta), ndim=3)
    if scores.shape != (*pi.shape, policy.n_params):
        raise ValueError(
            f"policy.grad_log_prob_table(theta) must have shape (S, A, n_params) = "
            f"{(*pi.shape, policy.n_params)}; got {scores.shape}"
        )
    errors = _stated_errors(policy, theta)
    if errors is None:
        return PolicyTables(pi, scores, None, None)
    return PolicyTables(pi, scores, errors.probabilities, errors.scores)


def _stated_errors(policy, theta):
    """The policy's bounds on its tables' rounding (``table_errors``), or None if it states
    none."""
    return policy.table_errors(theta) if hasattr(policy, "table_errors") else None


# -- 𝒥(θ) and ∇𝒥(θ) ----------------------------------------------------------------------------


def objective(mdp: TabularMDP, policy, theta) -> float:
    r"""𝒥(π_θ) = Σ_s p₀(s) v_π(s), the expected return of an episode.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states (e.g. ``SoftmaxLinearPolicy``)
    theta : array_like, shape (n_params,)

    Returns
    -------
    𝒥 : float

    Notes
    -----
    Lecture, "Training Policy Network": 𝒥(π_θ) = E_{S₀∼p}[v_π(S₀)] = E_{τ∼p_π}[G(τ)], with
    G(τ) = Σₜ γᵗ Rₜ₊₁ (γ = 1 in the lecture).
    """
    check_mdp(mdp)
    if not hasattr(policy, "action_probs"):
        raise ValueError(
            "policy must be a discrete policy over tabular states with action_probs "
            f"(e.g. pgref.SoftmaxLinearPolicy); got {type(policy).__name__}"
        )
    pi = policy_table(mdp, policy.action_probs(theta), "policy.action_probs(theta)")
    errors = _stated_errors(policy, theta)
    solved = chain(mdp, pi, mdp.gamma, "the values v_π",
                   policy_error=None if errors is None else errors.probabilities)
    return or_enclosure(lambda: _certified_objective(mdp, solved, solve_values(mdp, solved)),
                        lambda: enclosure.objective(mdp, policy, _checked(policy, theta)))


def _certified_objective(mdp: TabularMDP, solved, values) -> float:
    """p₀ · v, certified: 𝒥 is a mean of v with weights p₀ ≥ 0, so its error is at most
    ‖v̂ − v‖_∞ plus the rounding of the sum."""
    objective_value = float(mdp.initial @ values.x)
    bound = values.bound + sum_rounding(mdp.n_states) * float(mdp.initial @ np.abs(values.x))
    certify(solved, values, "the objective 𝒥", bound, abs(objective_value))
    return objective_value


class TheoremTerms(NamedTuple):
    """The pieces of Σ_s n(s) Σ_a π(a|s) A(s, a) ∇ log π(a|s) and their error bounds."""

    weights: np.ndarray       # n(s) π(a|s) A(s, a), (S, A)
    weight_bounds: np.ndarray  # entrywise bound on their error, (S, A)
    scores: np.ndarray        # ∇ log π(a|s), (S, A, n_params)
    visits: Solution          # n(s) on all states, with entrywise errors
    values_chain: Chain       # the system solved for v_π, and its solution (for 𝒥 = p₀ · v)
    values: Solution
    adjoint_bound: float = 0.0  # the data's effect through v, where the weights' bounds omit it
    source: tuple = ()        # (policy, θ, visits' γ): the chain again from θ where needed
    score_errors: np.ndarray | None = None  # the scores' rounding, (S, A, n_params), if stated


def _theorem_terms(mdp: TabularMDP, policy, theta, visits_gamma: float | None = None,
                   accurate: bool = False):
    r"""n(s) π(a|s) A(s, a) and the scores of π_θ, with bounds on the weights' errors.

    The visits are discounted by the MDP's γ, or by ``visits_gamma`` when given (1.0 for n₁).
    ``accurate`` forces GTH elimination for both solves.
    Σ_a π(a|s) ∇ log π(a|s) = 0, so Σ_a q ∇π = Σ_a π A ∇ log π; with A from
    :func:`pgref.exact.chain.advantages_of`, no digit is lost near determinism.
    """
    tables = _policy_tables(mdp, policy, theta)
    pi, scores, rho = tables.pi, tables.scores, tables.policy_error
    solved = chain(mdp, pi, mdp.gamma, "the values v_π and visit counts n", policy_error=rho)
    values_chain, values = solved, solve_values(mdp, solved, accurate=accurate)
    if visits_gamma is not None and visits_gamma != mdp.gamma:
        solved = chain(mdp, pi, visits_gamma, "the undiscounted visit counts n₁",
                       N1_NEEDS_TERMINATION, policy_error=rho)
        visits = solve_visits(mdp, solved, "the undiscounted visit counts n₁", accurate)
    else:  # the second solve while M is still in the cache, before q's pass over p
        visits = solve_visits(mdp, solved, accurate=accurate)
    rho = values_chain.system.policy_error
    advantage = advantages_of(pi, action_values_of(mdp, values), rho)
    n, pi_a = visits.x[:, None], pi * advantage.advantage
    pi_error = rho + 4 * EPS                                   # (S, A)
    # π below the smallest normal float has lost its digits (0 after underflow): an absolute
    # error up to TINY in π(b|s) moves n(s) π(a|s) A(s, a) by up to n(s) TINY (q_max − q_min)
    q = advantage.q
    spread = (q.max(axis=1) - q.min(axis=1))[:, None]
    lost = (pi < TINY).any(axis=1, keepdims=True) * TINY * spread
    abs_pi_a = np.abs(pi_a)
    with np.errstate(over="ignore"):   # a bound beyond float64 is +inf: the sum is refused
        bound = (n * (pi * advantage.bound + pi_error * abs_pi_a + lost)
                 + visits.errors[:, None] * abs_pi_a)
    return TheoremTerms(n * pi_a, bound, scores, visits, values_chain, values,
                        source=(policy, checks.parameter_vector(theta, policy.n_params),
                                visits_gamma), score_errors=tables.score_errors)


def _theorem_sum(terms: TheoremTerms, what: str, scale: float) -> np.ndarray:
    r"""Σ_{s,a} weight(s, a) ∇ log π(a|s) / scale, certified against the size of its terms.

    Error bound: Σ |δweight| ‖score‖ + max_k Σ |weight| δscore_k + rounding, with δscore the
    policy's bound on its scores' rounding (:meth:`pgref.policies.DiscretePolicy.table_errors`)
    or, where it states none, (A + 4)ε max_a ‖∇ log π(a|s)‖ for every component.
    The certificate is ‖ĝ − g‖_∞ ≤ RELATIVE_TOLERANCE · max(‖ĝ‖_∞, ‖G‖_∞), with
    G = Σ_{s,a} |weight(s, a)| |∇ log π(a|s)| the size of the theorem's terms: cancellation
    between states below ε·G is what float64 cannot resolve.
    """
    weights, scores = terms.weights, terms.scores
    n_states, n_actions, n_params = scores.shape
    result = weights.reshape(-1) @ scores.reshape(-1, n_params) / scale
    abs_weights, abs_scores = np.abs(weights), np.abs(scores)
    score_norms = abs_scores.max(axis=2)                                # (S, A), max over θ
    if terms.score_errors is None:
        score_error = float((abs_weights * (n_actions + 4) * EPS
                             * score_norms.max(axis=1, keepdims=True)).sum())
    else:
        score_error = float((abs_weights.reshape(-1) @ terms.score_errors.reshape(-1, n_params)
                             ).max(initial=0.0))
    largest_term = float((abs_weights.reshape(-1) @ abs_scores.reshape(-1, n_params)
                          / scale).max(initial=0.0))
    bound = (float((terms.weight_bounds * score_norms).sum() + score_error
                   + terms.adjoint_bound) / scale
             + sum_rounding(n_states * n_actions) * largest_term)
    size = max(float(np.abs(result).max(initial=0.0)), largest_term)
    if size == 0.0 and np.isfinite(bound) and bound > 0.0:
        raise PrecisionError(
            f"{what} computes to 0 with every term n(s) π(a|s) A(s, a) of the theorem 0: the "
            "actions' values q(s, ·) tie in every state (as when all actions share their moves "
            f"and rewards), and a 0 cannot be certified to a relative error, only to the "
            f"absolute error bound {bound:.2g}. exact.action_values(mdp, policy.action_probs("
            "theta)) shows the ties; with tied actions ∇𝒥 is 0 at every θ"
        )
    if not (np.isfinite(result).all() and bound <= RELATIVE_TOLERANCE * size):
        raise PrecisionError(
            f"{what} cannot be certified to relative error {RELATIVE_TOLERANCE:g} in float64 "
            f"(error bound {bound:.2g} against a size of {size:.2g}): the differences "
            "q(s, a) − q(s, b) it needs are below the rounding error of the values (a policy "
            "too close to deterministic, or an exit far away and rarely reached). Use a θ "
            "whose policy reaches the end of its episodes sooner"
        )
    return result


def _gradient_sum(mdp: TabularMDP, terms: TheoremTerms, what: str, accurate: bool,
                  scale: float = 1.0) -> np.ndarray:
    r""":func:`_theorem_sum`; on the accurate path, where its certificate fails, the weights again
    from differences of double-double values (:mod:`pgref.exact.value_differences`), with the
    chain's data from θ in double-double where the policy allows
    (:func:`pgref.exact.doubled_chain.from_policy`). Where that fails too, the public functions
    turn to :mod:`pgref.exact.enclosure`."""
    try:
        return _theorem_sum(terms, what, scale)
    except PrecisionError as error:
        if not accurate:
            raise
        refused = error
    policy, theta, _ = terms.source
    try:
        data = doubled_chain.from_policy(mdp, terms.values_chain, policy, theta)
        weights, bounds, adjoint = value_differences.theorem_weights(
            mdp, terms.values_chain, terms.scores, terms.visits, data)
    except PrecisionError:
        raise refused from None
    return _theorem_sum(terms._replace(weights=weights, weight_bounds=bounds,
                                       adjoint_bound=adjoint), what, scale)


def _checked(policy, theta) -> np.ndarray:
    """θ as the float vector the decimal enclosures (:mod:`pgref.exact.enclosure`) read."""
    return checks.parameter_vector(theta, policy.n_params)


def _all_enclosed(build, *enclose):
    """``build`` of the results of the ``enclose`` calls, made in turn; None as soon as one is
    None (an enclosure that cannot answer)."""
    results = []
    for call in enclose:
        results.append(call())
        if results[-1] is None:
            return None
    return build(*results)


def policy_gradient(mdp: TabularMDP, policy, theta) -> np.ndarray:
    r"""∇𝒥(θ), exactly, by the policy gradient theorem in its unnormalised form.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states (``SoftmaxLinearPolicy``, ``MLPSoftmaxPolicy``)
    theta : array_like, shape (n_params,)

    Returns
    -------
    grad : ndarray, shape (n_params,)

    Raises
    ------
    NonTerminatingPolicyError
        With γ = 1, if some non-terminal state cannot reach a terminal state under π_θ.
    PrecisionError
        If ∇𝒥 cannot be certified to 1e−9 relative (below).

    Notes
    -----
    Blog, "Policy gradient from the lens of Bellman":

        ∇𝒥(θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s),   ∇π_θ(a|s) = π_θ(a|s) ∇ log π_θ(a|s)

    (the log-derivative trick, lecture: "Log-Derivative Trick"), with n the discounted visit
    counts of :func:`discounted_visits`. Two linear solves (for v_π and for n) and the policy's
    score table; no finite differences. The lecture's E_{S∼d_π} form is this divided by
    Σ_s n(s): see :func:`normalised_policy_gradient`.

    Since Σ_a π(a|s) ∇ log π(a|s) = 0 the code sums Σ_s n(s) Σ_a π(a|s) A(s, a) ∇ log π(a|s),
    with the advantage written A(s, a) = Σ_b π(b|s)(q(s, a) − q(s, b)): near a deterministic
    policy, q − v and Σ_a q ∇π lose every digit, this form none. The result is certified:
    ‖∇Ĵ − ∇𝒥‖_∞ ≤ 1e−9 · max(‖∇𝒥‖_∞, ‖G‖_∞), with G = Σ_s n(s) Σ_a π(a|s)|A(s, a)||∇ log π(a|s)|
    the size of the theorem's terms (cancellation between states below ε‖G‖ is beyond float64;
    for the tabular softmax G and ∇𝒥 have the same size). Where float64 and double-double cannot
    certify that, a softmax-linear policy's ∇𝒥 is enclosed in decimal interval arithmetic
    (:mod:`pgref.exact.enclosure`); otherwise a PrecisionError.
    """
    return or_enclosure(
        lambda: accurately_if_needed(lambda accurate: _gradient_sum(
            mdp, _theorem_terms(mdp, policy, theta, accurate=accurate), "∇𝒥(θ)", accurate)),
        lambda: enclosure.gradient(mdp, policy, _checked(policy, theta)))


class ObjectiveAndGradient(NamedTuple):
    r"""𝒥(θ) and ∇𝒥(θ) from one pair of linear solves (lecture, "Training Policy Network").

    Attributes
    ----------
    objective : float
        𝒥(π_θ) = Σ_s p₀(s) v_π(s).
    gradient : ndarray, shape (n_params,)
        ∇𝒥(θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s).
    """

    objective: float
    gradient: np.ndarray


def objective_and_gradient(mdp: TabularMDP, policy, theta) -> ObjectiveAndGradient:
    r""":func:`objective` and :func:`policy_gradient` at once: 𝒥 = Σ_s p₀(s) v_π(s) from the solve
    for v_π that the theorem needs anyway.

    Parameters
    ----------
    mdp, policy, theta
        As in :func:`policy_gradient`.

    Returns
    -------
    ObjectiveAndGradient
        ``objective`` as :func:`objective` returns it and ``gradient`` as
        :func:`policy_gradient` does, each with its own certificate; the same numbers up to
        the last bits (both may take the accurate path where the gradient needs it).

    Raises
    ------
    NonTerminatingPolicyError, PrecisionError
        Where :func:`policy_gradient` or :func:`objective` raises.

    Notes
    -----
    Lecture, "Training Policy Network": the loop θ ← θ + α ∇𝒥(π_θ) records 𝒥 at every iterate;
    with this function each iterate costs two solves (v_π and n) instead of three.
    """
    def compute(accurate):
        terms = _theorem_terms(mdp, policy, theta, accurate=accurate)
        gradient = _gradient_sum(mdp, terms, "∇𝒥(θ)", accurate)
        return ObjectiveAndGradient(
            _certified_objective(mdp, terms.values_chain, terms.values), gradient)

    return or_enclosure(lambda: accurately_if_needed(compute), lambda: _all_enclosed(
        ObjectiveAndGradient,
        lambda: enclosure.objective(mdp, policy, _checked(policy, theta)),
        lambda: enclosure.gradient(mdp, policy, _checked(policy, theta))))


def normalised_policy_gradient(mdp: TabularMDP, policy, theta) -> NormalisedPolicyGradient:
    r"""The lecture's E_{S∼d_π, A∼π}[q_π(S, A) ∇ log π_θ(A|S)] and the constant Σ_s n(s).

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states
    theta : array_like, shape (n_params,)

    Returns
    -------
    NormalisedPolicyGradient
        ``expectation`` (n_params,) and ``total_visits`` (float), whose product is ∇𝒥(θ).

    Notes
    -----
    Lecture, "Policy Gradient Theorem": ∇𝒥 ∝ E_{S∼d_π, A|S∼π}[q_π(S, A) ∇ log π_θ(A|S)].
    Blog, the step to μ: ∇𝒥 = (Σₓ n(x)) Σ_s μ(s) Σ_a q_π(s, a) ∇π_θ(a|s). The lecture writes
    "=" and the blog "∝"; the factor is Σₓ n(x), the expected discounted episode length, so the
    two agree in direction and differ in length unless episodes last one step.
    """
    def compute(accurate: bool) -> NormalisedPolicyGradient:
        terms = _theorem_terms(mdp, policy, theta, accurate=accurate)
        total = float(terms.visits.x.sum())
        return NormalisedPolicyGradient(_gradient_sum(mdp, terms, "∇𝒥(θ)", accurate, total),
                                        total)

    return or_enclosure(lambda: accurately_if_needed(compute), lambda: _all_enclosed(
        NormalisedPolicyGradient,
        lambda: enclosure.gradient(mdp, policy, _checked(policy, theta), normalised=True),
        lambda: enclosure.total_visits(mdp, policy, _checked(policy, theta))))


def gamma_dropped_direction(mdp: TabularMDP, policy, theta) -> np.ndarray:
    r"""Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s): what REINFORCE estimates when it drops the γᵗ.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states
    theta : array_like, shape (n_params,)

    Returns
    -------
    direction : ndarray, shape (n_params,)

    Raises
    ------
    NonTerminatingPolicyError
        If some non-terminal state cannot reach a terminal state under π_θ (n₁ is infinite).

    Notes
    -----
    REINFORCE with discounted reward-to-go Gₜ = Σ_k γᵏ Rₜ₊ₖ₊₁ but without the factor γᵗ in
    front (lecture: "REINFORCE: First Official Algorithm" writes Gₜ ∇ log π(Aₜ|Sₜ)) has mean

        E[Σₜ Gₜ ∇ log π_θ(Aₜ|Sₜ)] = Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s),

    with n₁ the undiscounted visits of :func:`undiscounted_visits` and q_γ the discounted
    action values. It equals ∇𝒥(θ) when γ = 1 and is in general not the gradient of any
    objective when γ < 1.
    """
    return or_enclosure(
        lambda: accurately_if_needed(lambda accurate: _gradient_sum(
            mdp, _theorem_terms(mdp, policy, theta, visits_gamma=1.0, accurate=accurate),
            "the γᵗ-dropped direction", accurate)),
        lambda: enclosure.gradient(mdp, policy, _checked(policy, theta), visits_gamma=1.0))
