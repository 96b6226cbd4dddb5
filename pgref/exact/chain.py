r"""The Markov chain that a policy table π (S, A) induces on a tabular MDP, and the two linear
systems solved on it: P_π, r_π and the k-step visitation φ(s→x, k); v_π, q_π and the advantages
from the Bellman equation (I − γ P_NN) v_N = r_N; the visit counts n, n₁ and the on-policy
distribution μ from its transpose, (I − γ P_NN)ᵀ n_N = p₀,N. Both are solved on the non-terminal
block N only, and with γ = 1 only after the graph of P_π shows that every non-terminal state can
reach a terminal state (:class:`NonTerminatingPolicyError` names those that cannot).

Accuracy rule (every function here and in :mod:`pgref.exact.gradient`): a returned array x̂ has
‖x̂ − x‖_∞ ≤ 1e−9 ‖x‖_∞, certified by an error bound computed with it (:mod:`pgref.exact.solver`,
:mod:`pgref.exact.certified`), or the call raises :class:`PrecisionError` (a ``ValueError``)
naming the states where episodes last longest and the smallest action probabilities there.
It raises where the answer is beyond float64 — a value above about 1.8e308, or one that depends
on action probabilities below about 1e−300, as for the short corridor beyond
|θ_right − θ_left| ≈ 708 — and, for policies other than softmax-linear and tanh-MLP ones over a
feature table, where the certified paths below cannot resolve it. The paths, each taken only
where the one before cannot certify its answer:

1. block elimination with LAPACK and a residual bound (:mod:`pgref.exact.solver`);
2. GTH elimination in float64, refined in double-double, then GTH in double-double
   (:mod:`pgref.exact.doubled_gth`);
3. for ∇𝒥, whose differences q(s, a) − q(s, b) can be tiny against v (an exit far away and
   rarely reached): v again in double-double, the chain's data B, e, r_π from θ in
   double-double (:mod:`pgref.exact.doubled_chain`), the data's effect bounded through the
   adjoint (:mod:`pgref.exact.value_differences`): a 20-state corridor drifting away from its
   exit (π(right) = 0.3, γ = 1: v ≈ −1e8, q(0, right) − q(0, left) = 10/3) and the same corridor
   at γ = 0.9 under the uniform policy at 20, 40 and 60 states (∇𝒥 down to 3.2e−10 against
   v ≈ −10);
4. the last resort: the answer enclosed in decimal interval arithmetic at the precision it
   needs (:mod:`pgref.exact.enclosure`), for v, q and A of a policy table and 𝒥, ∇𝒥 (and its
   normalised and γᵗ-dropped forms) of a softmax-linear or MLP policy, on chains whose
   elimination needs at most 3,000,000 multiply-adds (a corridor needs one per state, a dense
   chain of 208 states all of them): 60 states at γ = 1 with π(right) = 0.3 (episodes of 1e22 steps,
   v ≈ −5e22), 200 states at γ = 1 (v ≈ −1e73), 100 states at γ = 0.9 uniform
   (∇𝒥 ≈ 4e−18), or 𝒥(θ) of rewards whose expected value r_π ≈ −7.8e−19 rounds to 0 in float64
   (𝒥 ≈ −4.1e4). A policy table is taken with its own rounding, as on the other paths: from
   the table alone that 𝒥 is not determined (its rounding moves r_π by more than r_π), and v is
   refused.

NaN, ±inf or a wrong sign are never returned.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.exact import enclosure
from pgref.exact.certified import (
    accurately_if_needed,
    action_values_of,
    advantages_of,
    certify_array,
    or_enclosure,
    solve_values,
    solve_visits,
)
from pgref.exact.solver import ChainSystem, PrecisionError, chain_system
from pgref.mdp import TabularMDP

__all__ = [
    "NonTerminatingPolicyError",
    "PrecisionError",
    "action_values",
    "advantages",
    "discounted_visits",
    "k_step_visits",
    "on_policy_distribution",
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


# -- inputs -------------------------------------------------------------------------------------


def check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a pgref.TabularMDP; got {type(mdp).__name__}")
    return mdp


def policy_table(mdp: TabularMDP, pi, name: str = "pi") -> np.ndarray:
    """Check π(a|s): shape (S, A), finite, non-negative, rows summing to 1."""
    table = checks.finite_array(name, pi, ndim=2)
    if table.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"{name} must be a policy table of shape (S, A) = {(mdp.n_states, mdp.n_actions)} "
            f"for this MDP (row s is π(·|s)); got {table.shape}"
        )
    checks.probability_rows(name, table, "s")
    return table


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
    pi = policy_table(check_mdp(mdp), pi)
    return transitions_of(mdp, pi)


def transitions_of(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """P_π for a checked table π: one batched (1, A) × (A, S) product per state."""
    return np.matmul(pi[:, None, :], mdp.transitions)[:, 0, :]


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
    pi = policy_table(check_mdp(mdp), pi)
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
    pi = policy_table(check_mdp(mdp), pi)
    k = checks.positive_int("k", k, minimum=0)
    return np.linalg.matrix_power(transitions_of(mdp, pi), k)


# -- the two linear systems ---------------------------------------------------------------------


def _states_never_terminating(system: ChainSystem) -> np.ndarray:
    """Non-terminal states with no path to a terminal state in the graph of P_π, for γ = 1.

    With γ = 1 a state exits directly (e(s) > 0) exactly when P_π moves it to a terminal state,
    and B(s, s′) > 0 (M's off-diagonal < 0) exactly when P_π(s, s′) > 0 between non-terminal
    states. A breadth-first search backwards from the states that exit directly; each state joins
    the frontier once, so the cost is O(n²) however long the paths are.
    """
    edge = system.matrix < 0  # the diagonal D ≥ 0 is never an edge
    reached = system.exits > 0
    frontier = reached.copy()
    while frontier.any():
        frontier = edge[:, frontier].any(axis=1) & ~reached
        reached |= frontier
    return system.index[~reached]


USE_GAMMA_BELOW_ONE = (
    "Use a policy (or MDP) under which every episode ends with probability 1, or a discount "
    "gamma < 1"
)
N1_NEEDS_TERMINATION = (
    "n₁ counts visits without discount whatever the MDP's gamma, so it exists only for a "
    "policy (and MDP) under which every episode ends with probability 1"
)


class Chain(NamedTuple):
    """A policy table π and the system M = I − γ P_NN (in parts) for one γ."""

    pi: np.ndarray
    gamma: float
    system: ChainSystem


def chain(mdp: TabularMDP, pi: np.ndarray, gamma: float, purpose: str,
          remedy: str = USE_GAMMA_BELOW_ONE, policy_error: np.ndarray | None = None) -> Chain:
    """π's chain and the non-terminal system I − γ P_NN, for a checked table π (whose entries
    are off by at most ``policy_error`` relatively: default, a log-sum-exp table's rounding).

    With γ = 1 the matrix is invertible exactly when every non-terminal state can reach a
    terminal state (an absorbing Markov chain); that is checked on the graph, not by the solve.
    """
    system = chain_system(mdp.transitions, mdp.terminal, pi, gamma, policy_error)
    if gamma == 1.0 and not np.all(system.exits > 0):  # else every state exits directly
        stuck = _states_never_terminating(system)
        if stuck.size:
            listed, unlisted = stuck[:20].tolist(), stuck.size - 20
            more = f" and {unlisted} more (all in the error's .states)" if unlisted > 0 else ""
            raise NonTerminatingPolicyError(
                f"with gamma = 1, the policy pi never reaches a terminal state from state(s) "
                f"{listed}{more}, so {purpose} would be infinite or undefined there. {remedy}"
                f"{_underflow_note(pi, stuck)}",
                stuck,
            )
    return Chain(pi, gamma, system)


def _underflow_note(pi: np.ndarray, states: np.ndarray) -> str:
    """A remark when some π(a|s) of these states is exactly 0, as a softmax's underflow gives."""
    if not np.any(pi[states] == 0.0):
        return ""
    return (". (Some π(a|s) there are exactly 0: if π is a softmax with extreme θ, a probability "
            "below about 1e−308 rounds to 0, and the true values then lie beyond float64's "
            "range)")


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

    never by an explicit inverse: by block elimination where its residual bound certifies
    1e−9, else by GTH elimination (:mod:`pgref.exact.solver`). The matrix is built without
    subtraction: its diagonal is Σ_{s′≠s} γ P_π(s, s′) plus the exit mass
    Σ_a π(a|s)[(1 − γ) + γ p(terminal|s, a)], so a policy with π(right|s) = 1e−17 keeps it.

    Raises :class:`PrecisionError` where float64 cannot hold v_π to 1e−9 (see the module).
    """
    pi = policy_table(check_mdp(mdp), pi)
    solved = chain(mdp, pi, mdp.gamma, "the values v_π")
    return or_enclosure(lambda: solve_values(mdp, solved).x,
                        lambda: enclosure.state_values(mdp, pi))


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
    pi = policy_table(check_mdp(mdp), pi)
    solved = chain(mdp, pi, mdp.gamma, "the values v_π")

    def compute(accurate: bool) -> np.ndarray:
        result = action_values_of(mdp, solve_values(mdp, solved, accurate=accurate))
        certify_array("the action values q_π", result.q, result.bound)
        return result.q

    return or_enclosure(lambda: accurately_if_needed(compute),
                        lambda: enclosure.action_values(mdp, pi))


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
    pi = policy_table(check_mdp(mdp), pi)
    solved = chain(mdp, pi, mdp.gamma, "the values v_π")

    def compute(accurate: bool) -> np.ndarray:
        values = solve_values(mdp, solved, accurate=accurate)
        result = advantages_of(pi, action_values_of(mdp, values))
        certify_array("the advantages A_π", result.advantage, float(result.bound.max()))
        return result.advantage

    return or_enclosure(lambda: accurately_if_needed(compute),
                        lambda: enclosure.advantages(mdp, pi))


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
    pi = policy_table(check_mdp(mdp), pi)
    return solve_visits(mdp, chain(mdp, pi, mdp.gamma, "the visit counts n")).x


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
    pi = policy_table(check_mdp(mdp), pi)
    solved = chain(mdp, pi, 1.0, "the undiscounted visit counts n₁", N1_NEEDS_TERMINATION)
    return solve_visits(mdp, solved, "the undiscounted visit counts n₁").x


def on_policy_distribution(mdp: TabularMDP, pi) -> np.ndarray:
    r"""μ(s) = n(s) / Σₓ n(x), the blog's on-policy distribution (the lecture's d_π at γ = 1).

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
    time spent in s. Lecture, "Policy Gradient Theorem": at γ = 1 this is the d_π of
    ∇𝒥 = E_{S∼d_π}[…]. At γ < 1 the lecture's d_π ("the average marginal distribution of
    states", reached by unrolling ∇q with the γ dropped) is n₁/Σn₁ instead
    (:func:`undiscounted_visits`), and states sampled along trajectories follow n₁, not μ. The
    normaliser Σₓ n(x) ≥ 1 since every episode starts in a non-terminal state.
    """
    pi = policy_table(check_mdp(mdp), pi)
    visits = solve_visits(mdp, chain(mdp, pi, mdp.gamma, "the visit counts n")).x
    return visits / visits.sum()
