r"""The Markov chain that a policy table π (S, A) induces on a tabular MDP, and the two linear
systems solved on it: P_π, r_π and the k-step visitation φ(s→x, k); v_π, q_π and the advantages
from the Bellman equation (I − γ P_NN) v_N = r_N; the visit counts n, n₁ and the on-policy
distribution μ from its transpose, (I − γ P_NN)ᵀ n_N = p₀,N. Both are solved on the non-terminal
block N only, and with γ = 1 only after the graph of P_π shows that every non-terminal state can
reach a terminal state (:class:`NonTerminatingPolicyError` names those that cannot).
"""

from __future__ import annotations

import numpy as np

from pgref import _checks
from pgref.mdp import TabularMDP

__all__ = [
    "NonTerminatingPolicyError",
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
