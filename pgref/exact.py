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

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import _checks
from pgref.mdp import TabularMDP

__all__ = [
    "NonTerminatingPolicyError",
    "NormalisedPolicyGradient",
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
    "undiscounted_visits",
]


class NonTerminatingPolicyError(ValueError):
    """Undiscounted returns or visit counts are infinite: some states never reach a terminal state.

    Attributes
    ----------
    states : tuple of int
        The non-terminal states from which no terminal state can be reached under π.
    """

    def __init__(self, message: str, states):
        super().__init__(message)
        self.states = tuple(int(s) for s in states)


class NormalisedPolicyGradient(NamedTuple):
    r"""The lecture's form of the policy gradient theorem and the constant it drops.

    Attributes
    ----------
    expectation : ndarray, shape (n_params,)
        E_{S∼d_π, A∼π}[q_π(S, A) ∇ log π_θ(A|S)], with d_π = μ the on-policy distribution.
    total_visits : float
        Σ_s n(s), the expected discounted number of steps per episode (1/(1 − γ) for a
        continuing task). ∇J(θ) = ``total_visits * expectation``.
    """

    expectation: np.ndarray
    total_visits: float


# -- inputs -------------------------------------------------------------------------------------


def _check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a pgref.TabularMDP; got {type(mdp).__name__}")
    return mdp


def _policy_table(mdp: TabularMDP, pi, name: str = "pi") -> np.ndarray:
    """Check π(a|s): shape (S, A), finite, non-negative, rows summing to 1."""
    table = _checks.finite_array(name, pi, ndim=2)
    if table.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"{name} must be a policy table of shape (S, A) = {(mdp.n_states, mdp.n_actions)} "
            f"for this MDP (row s is π(·|s)); got {table.shape}"
        )
    _checks.probability_rows(name, table, "s")
    return table


def _policy_and_scores(mdp: TabularMDP, policy, theta) -> tuple[np.ndarray, np.ndarray]:
    """π_θ as a table (S, A) and its scores ∇ log π_θ(a|s) as a table (S, A, n_params)."""
    _check_mdp(mdp)
    if not (hasattr(policy, "action_probs") and hasattr(policy, "grad_log_prob_table")):
        raise ValueError(
            "policy must be a discrete policy over tabular states, with action_probs and "
            f"grad_log_prob_table (e.g. pgref.SoftmaxLinearPolicy); got {type(policy).__name__}"
        )
    pi = _policy_table(mdp, policy.action_probs(theta), "policy.action_probs(theta)")
    scores = _checks.finite_array("policy.grad_log_prob_table(theta)",
                                  policy.grad_log_prob_table(theta), ndim=3)
    if scores.shape != (*pi.shape, policy.n_params):
        raise ValueError(
            f"policy.grad_log_prob_table(theta) must have shape (S, A, n_params) = "
            f"{(*pi.shape, policy.n_params)}; got {scores.shape}"
        )
    return pi, scores


# -- the Markov chain of a policy ---------------------------------------------------------------


def policy_transitions(mdp: TabularMDP, pi) -> np.ndarray:
    r"""P_π, the state-to-state transition matrix of the chain that π induces.

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)
        π(a|s); each row a probability distribution.

    Returns
    -------
    P_pi : ndarray, shape (S, S)

    Notes
    -----
    P_π(s, s′) = Σ_a π(a|s) p(s′|s, a) = φ(s→s′, 1) (blog: the φ detour, k = 1).
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    return _transitions(mdp, pi)


def _transitions(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    return np.einsum("sa,saz->sz", pi, mdp.transitions, optimize=True)


def policy_rewards(mdp: TabularMDP, pi) -> np.ndarray:
    r"""r_π, the expected reward of one step from each state under π.

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)

    Returns
    -------
    r_pi : ndarray, shape (S,)

    Notes
    -----
    r_π(s) = Σ_a π(a|s) r(s, a) = E_π[Rₜ₊₁ | Sₜ = s]; 0 in terminal states.
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    return np.einsum("sa,sa->s", pi, mdp.expected_rewards)


def k_step_visits(mdp: TabularMDP, pi, k: int) -> np.ndarray:
    r"""φ(s→x, k), the probability of being in x exactly k steps after being in s.

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)
    k : int
        The number of steps, k ≥ 0.

    Returns
    -------
    phi : ndarray, shape (S, S)
        ``phi[s, x]`` = φ(s→x, k) = (P_π^k)[s, x].

    Notes
    -----
    Blog, "Policy gradient from the lens of Bellman" (the φ detour):
    φ(s→s, 0) = 1, φ(s→x, 1) = Σ_a π(a|s) p(x|s, a) and
    φ(s→x, k+1) = Σ_s′ φ(s→s′, k) φ(s′→x, 1), i.e. φ(·→·, k) = P_π^k.
    Terminal states are absorbing, so a terminal column x holds the probability that the episode
    has ended in x by step k; the visit counts n use the non-terminal columns only, and
    n(x) = Σ_s p₀(s) Σ_{k≥0} γᵏ φ(s→x, k) there.
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    k = _checks.positive_int("k", k, minimum=0)
    return np.linalg.matrix_power(_transitions(mdp, pi), k)


# -- the two linear systems ---------------------------------------------------------------------


def _states_never_terminating(mdp: TabularMDP, P_pi: np.ndarray) -> np.ndarray:
    """Non-terminal states with no path to a terminal state in the graph of P_π (edges P_π > 0).

    A breadth-first search backwards from the terminal states; each state joins the frontier
    once, so the cost is O(S²) however long the paths are.
    """
    edge = P_pi > 0
    reached = mdp.terminal.copy()
    frontier = reached.copy()
    while frontier.any():
        frontier = edge[:, frontier].any(axis=1) & ~reached
        reached |= frontier
    return np.flatnonzero(~reached)


_USE_GAMMA_BELOW_ONE = (
    "Use a policy (or MDP) under which every episode ends with probability 1, or a discount "
    "gamma < 1"
)
_N1_NEEDS_TERMINATION = (
    "n₁ counts visits without discount whatever the MDP's gamma, so it exists only for a "
    "policy (and MDP) under which every episode ends with probability 1"
)


def _system(mdp: TabularMDP, P_pi: np.ndarray, gamma: float, purpose: str,
            remedy: str = _USE_GAMMA_BELOW_ONE):
    """The non-terminal states and I − γ P_π restricted to them.

    With γ = 1 the matrix is invertible exactly when every non-terminal state can reach a
    terminal state (an absorbing Markov chain); that is checked on the graph, not by the solve.
    """
    index = np.flatnonzero(mdp.nonterminal)
    if gamma == 1.0:
        stuck = _states_never_terminating(mdp, P_pi)
        if stuck.size:
            listed, unlisted = stuck[:20].tolist(), stuck.size - 20
            more = f" and {unlisted} more (all in the error's .states)" if unlisted > 0 else ""
            raise NonTerminatingPolicyError(
                f"with gamma = 1, the policy pi never reaches a terminal state from state(s) "
                f"{listed}{more}, so {purpose} would be infinite or undefined there. {remedy}",
                stuck,
            )
    block = P_pi[np.ix_(index, index)]
    return index, np.eye(index.size) - gamma * block


def _values(mdp: TabularMDP, pi: np.ndarray, index, system) -> np.ndarray:
    """v on the non-terminal block from (I − γ P_NN) v_N = r_N; 0 on terminal states."""
    r_pi = np.einsum("sa,sa->s", pi, mdp.expected_rewards)
    values = np.zeros(mdp.n_states)
    values[index] = np.linalg.solve(system, r_pi[index])
    return values


def _action_values(mdp: TabularMDP, values: np.ndarray) -> np.ndarray:
    """q = r + γ Σ_s′ p(s′|s, a) v(s′), as one (S·A, S) matrix-vector product."""
    n_states, n_actions = mdp.n_states, mdp.n_actions
    expected_next = mdp.transitions.reshape(n_states * n_actions, n_states) @ values
    return mdp.expected_rewards + mdp.gamma * expected_next.reshape(n_states, n_actions)


def _visits(mdp: TabularMDP, index, system) -> np.ndarray:
    """n on the non-terminal block from (I − γ P_NN)ᵀ n_N = p₀,N; 0 on terminal states."""
    visits = np.zeros(mdp.n_states)
    visits[index] = np.linalg.solve(system.T, mdp.initial[index])
    return visits


def state_values(mdp: TabularMDP, pi) -> np.ndarray:
    r"""v_π(s), the expected discounted return from each state under π.

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)

    Returns
    -------
    v : ndarray, shape (S,)
        0 in terminal states.

    Raises
    ------
    NonTerminatingPolicyError
        With γ = 1, if some non-terminal state cannot reach a terminal state under π.

    Notes
    -----
    The Bellman equation v_π = r_π + γ P_π v_π (lecture: "Policy Gradient Theorem", the
    expansion of q_π), solved on the non-terminal block N (v = 0 on terminal states):

        v_N = (I − γ P_NN)⁻¹ r_N,

    by ``np.linalg.solve``, never an explicit inverse.
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    return _values(mdp, pi, *_system(mdp, _transitions(mdp, pi), mdp.gamma, "the values v_π"))


def action_values(mdp: TabularMDP, pi) -> np.ndarray:
    r"""q_π(s, a), the expected discounted return after taking a in s and then following π.

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)

    Returns
    -------
    q : ndarray, shape (S, A)
        0 in terminal states.

    Notes
    -----
    Lecture, "Policy Gradient Theorem": q_π(s, a) = ℛ(s, a) + γ Σ_s′ p(s′|s, a) v_π(s′).
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    system = _system(mdp, _transitions(mdp, pi), mdp.gamma, "the values v_π")
    return _action_values(mdp, _values(mdp, pi, *system))


def advantages(mdp: TabularMDP, pi) -> np.ndarray:
    r"""The advantage A_π(s, a) = q_π(s, a) − v_π(s).

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)

    Returns
    -------
    advantage : ndarray, shape (S, A)

    Notes
    -----
    Σ_a π(a|s) A_π(s, a) = 0 in every state, since v_π(s) = Σ_a π(a|s) q_π(s, a)
    (lecture: "Policy Gradient Theorem", the marginalisation of v_π).
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    values = _values(mdp, pi, *_system(mdp, _transitions(mdp, pi), mdp.gamma, "the values v_π"))
    return _action_values(mdp, values) - values[:, None]


def discounted_visits(mdp: TabularMDP, pi) -> np.ndarray:
    r"""n(s) = Σₜ γᵗ Pr(Sₜ = s), the expected discounted number of visits to s in an episode.

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)

    Returns
    -------
    n : ndarray, shape (S,)
        0 in terminal states (no action is taken there).

    Raises
    ------
    NonTerminatingPolicyError
        With γ = 1, if some non-terminal state cannot reach a terminal state under π.

    Notes
    -----
    Blog, "n(s) recursion", with h = p₀ and γ written in (the blog takes γ = 1):

        n(s) = p₀(s) + γ Σ_s′ n(s′) φ(s′→s, 1) = Σ_s′ p₀(s′) Σ_{k≥0} γᵏ φ(s′→s, k),

    i.e. nᵀ = p₀ᵀ (I − γ P_π)⁻¹ on the non-terminal block, solved as (I − γ P_NN)ᵀ n_N = p₀,N.
    With γ = 1, n(s) is the expected number of time steps spent in s; Σ_s n(s) is the
    expected (discounted) episode length.
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    return _visits(mdp, *_system(mdp, _transitions(mdp, pi), mdp.gamma, "the visit counts n"))


def undiscounted_visits(mdp: TabularMDP, pi) -> np.ndarray:
    r"""n₁(s) = Σₜ Pr(Sₜ = s), the expected number of visits to s, whatever the MDP's γ.

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)

    Returns
    -------
    n1 : ndarray, shape (S,)

    Raises
    ------
    NonTerminatingPolicyError
        If some non-terminal state cannot reach a terminal state under π (for any γ: the
        undiscounted counts are then infinite).

    Notes
    -----
    :func:`discounted_visits` with γ = 1 (blog: "n(s) recursion", exactly as written there).
    It weights the γᵗ-dropped direction of :func:`gamma_dropped_direction`.
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    return _visits(mdp, *_system(mdp, _transitions(mdp, pi), 1.0,
                                 "the undiscounted visit counts n₁", _N1_NEEDS_TERMINATION))


def on_policy_distribution(mdp: TabularMDP, pi) -> np.ndarray:
    r"""μ(s) = n(s) / Σₓ n(x), the on-policy distribution (the lecture's d_π).

    Parameters
    ----------
    mdp : TabularMDP
    pi : array_like, shape (S, A)

    Returns
    -------
    mu : ndarray, shape (S,)
        Non-negative, sums to 1, 0 in terminal states.

    Notes
    -----
    Blog, "n(s) recursion" and what follows: μ(s) = n(s) / Σₓ n(x), the fraction of (discounted)
    time spent in s. Lecture, "Policy Gradient Theorem": the d_π of ∇J = E_{S∼d_π}[…]. The
    normaliser Σₓ n(x) ≥ 1 since every episode starts in a non-terminal state.
    """
    pi = _policy_table(_check_mdp(mdp), pi)
    visits = _visits(mdp, *_system(mdp, _transitions(mdp, pi), mdp.gamma, "the visit counts n"))
    return visits / visits.sum()


# -- J(θ) and ∇J(θ) ----------------------------------------------------------------------------


def objective(mdp: TabularMDP, policy, theta) -> float:
    r"""J(π_θ) = Σ_s p₀(s) v_π(s), the expected return of an episode.

    Parameters
    ----------
    mdp : TabularMDP
    policy : discrete policy with tabular states (e.g. ``SoftmaxLinearPolicy``)
    theta : array_like, shape (n_params,)

    Returns
    -------
    J : float

    Notes
    -----
    Lecture, "Training Policy Network": J(π_θ) = E_{S₀∼p}[v_π(S₀)] = E_{τ∼p_π}[G(τ)], with
    G(τ) = Σₜ γᵗ Rₜ₊₁ (γ = 1 in the lecture).
    """
    _check_mdp(mdp)
    if not hasattr(policy, "action_probs"):
        raise ValueError(
            "policy must be a discrete policy over tabular states with action_probs "
            f"(e.g. pgref.SoftmaxLinearPolicy); got {type(policy).__name__}"
        )
    pi = _policy_table(mdp, policy.action_probs(theta), "policy.action_probs(theta)")
    system = _system(mdp, _transitions(mdp, pi), mdp.gamma, "the values v_π")
    return float(mdp.initial @ _values(mdp, pi, *system))


def _theorem_sum(visits: np.ndarray, q: np.ndarray, pi: np.ndarray, scores) -> np.ndarray:
    """Σ_s n(s) Σ_a q(s, a) π(a|s) ∇ log π(a|s): one (S·A) × (S·A, n_params) product."""
    weights = visits[:, None] * q * pi
    return weights.reshape(-1) @ scores.reshape(weights.size, -1)


def _theorem_terms(mdp: TabularMDP, policy, theta, visits_gamma: float | None = None):
    """π (S, A), the scores (S, A, n_params), q_π (S, A) and the visits n (S,) of π_θ.

    The visits are discounted by the MDP's γ, or by ``visits_gamma`` when given (1.0 for n₁).
    """
    pi, scores = _policy_and_scores(mdp, policy, theta)
    P_pi = _transitions(mdp, pi)
    system = _system(mdp, P_pi, mdp.gamma, "the values v_π and visit counts n")
    q = _action_values(mdp, _values(mdp, pi, *system))
    if visits_gamma is not None and visits_gamma != mdp.gamma:
        system = _system(mdp, P_pi, visits_gamma, "the undiscounted visit counts n₁",
                         _N1_NEEDS_TERMINATION)
    return pi, scores, q, _visits(mdp, *system)


def policy_gradient(mdp: TabularMDP, policy, theta) -> np.ndarray:
    r"""∇J(θ), exactly, by the policy gradient theorem in its unnormalised form.

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

    Notes
    -----
    Blog, "Policy gradient from the lens of Bellman":

        ∇J(θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s),   ∇π_θ(a|s) = π_θ(a|s) ∇ log π_θ(a|s)

    (the log-derivative trick, lecture: "Log-Derivative Trick"), with n the discounted visit
    counts of :func:`discounted_visits`. Two linear solves (for v_π and for n) and the policy's
    score table; no finite differences. The lecture's E_{S∼d_π} form is this divided by
    Σ_s n(s): see :func:`normalised_policy_gradient`.
    """
    pi, scores, q, visits = _theorem_terms(mdp, policy, theta)
    return _theorem_sum(visits, q, pi, scores)


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
        ``expectation`` (n_params,) and ``total_visits`` (float), whose product is ∇J(θ).

    Notes
    -----
    Lecture, "Policy Gradient Theorem": ∇J ∝ E_{S∼d_π, A|S∼π}[q_π(S, A) ∇ log π_θ(A|S)].
    Blog, the step to μ: ∇J = (Σₓ n(x)) Σ_s μ(s) Σ_a q_π(s, a) ∇π_θ(a|s). The lecture writes
    "=" and the blog "∝"; the factor is Σₓ n(x), the expected discounted episode length, so the
    two agree in direction and differ in length unless episodes last one step.
    """
    pi, scores, q, visits = _theorem_terms(mdp, policy, theta)
    total = float(visits.sum())
    return NormalisedPolicyGradient(_theorem_sum(visits / total, q, pi, scores), total)


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
    action values. It equals ∇J(θ) when γ = 1 and is in general not the gradient of any
    objective when γ < 1.
    """
    pi, scores, q, visits = _theorem_terms(mdp, policy, theta, visits_gamma=1.0)
    return _theorem_sum(visits, q, pi, scores)
