r"""Certified solves of (I − γ P_NN) x = b and (I − γ P_NN)ᵀ y = c, the two systems of a chain.

M = I − γ P_NN, the non-terminal block of I − γ P_π, is a non-singular M-matrix: its off-diagonal
entries −γ P_π(s, s′) are ≤ 0 and each row sums to the state's *exit mass*

    e(s) = Σ_a π(a|s) [(1 − γ) + γ Σ_{s′ terminal} p(s′|s, a)] ≥ 0,

the probability per step of leaving the non-terminal states (by termination or by the discount).
A policy near determinism makes e tiny: 1 − γ Σ_{s′∈N} P_π(s, s′) then loses every digit of it.
So M is built from its parts, never by subtraction: the off-diagonal block B = γ P_NN (diagonal
zeroed), e read from the terminal columns of p and from 1 − γ, and the diagonal
D(s) = Σ_{s′≠s} B(s, s′) + e(s), a sum of non-negative numbers.

Two paths solve it. The fast one is block Gaussian elimination without pivoting (an M-matrix
needs none: every Schur complement is again a non-singular M-matrix), whose factors serve both
M x = b and Mᵀ y = c — one factorisation where two ``np.linalg.solve`` calls would factorise
twice — with an extra right-hand side 1 and a residual-based forward-error bound. When that
bound is not small enough, the accurate one is Grassmann–Taksar–Heyman (GTH) elimination:
Gaussian elimination without pivoting in which every pivot is recomputed as the remaining
off-diagonal mass plus the remaining exit mass, so that only sums, products and quotients of
non-negative numbers occur and every entry of the solution of a non-negative right-hand side is
accurate to a small multiple of n³ε relative (O'Cinneide, 1993). Either way the caller gets the
solution and a bound on its error.

Where GTH's a-priori bound, 2n³ε relative (plus the data's error), is above a tenth of
RELATIVE_TOLERANCE — from about n = 60 states; beyond n = 130 it could not certify at all — its
answer is refined in double-double arithmetic (:mod:`pgref.exact.doubled`) and certified a
posteriori: the residual R = b − M x̂ computed to about 106 bits, and
|x − x̂| ≤ M⁻¹(|R| + δR) from one more GTH solve of that non-negative vector (M⁻¹ ≥ 0). Each
round of refinement multiplies the error by about η‖M⁻¹|M|‖ (η GTH's own relative error), so
this certifies chains whose episodes last up to about 1e12 steps, however many states they have
(below about 100 000: :func:`refinement_certifies`).

Beyond that (a 200-state corridor that drifts away from its exit has episodes of 1e73 steps),
GTH elimination itself is carried out in double-double (:mod:`pgref.exact.doubled_gth`): its
a-priori bound becomes 128n³ε² (5e−23 at n = 200), whatever the episodes' length, at about thirty
times the cost of GTH in float64 where M is dense (0.25 s for that corridor, about 0.8 s for a
dense 300-state chain). What is left refused is beyond float64 itself: values above its range,
probabilities below about 1e−290, or a difference x = M⁻¹b⁺ − M⁻¹b⁻ smaller than 1e−20 of its
parts.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref.exact import doubled, doubled_gth
from pgref.policies.discrete import log_softmax_error as policy_relative_error

__all__ = [
    "RELATIVE_TOLERANCE",
    "ChainSystem",
    "PrecisionError",
    "Solution",
    "block_factor",
    "block_solve",
    "chain_system",
    "gth_factor",
    "gth_solve",
    "policy_relative_error",
    "refinement_certifies",
    "solve",
    "structured_residual",
    "sum_rounding",
]

RELATIVE_TOLERANCE = 1e-9
"""The accuracy contract of every exact value: ‖x̂ − x‖_∞ ≤ RELATIVE_TOLERANCE · ‖x‖_∞."""

EPS = float(np.finfo(float).eps)
"""Machine epsilon of float64, 2.2e−16."""

ROUNDING_CONFIDENCE = 8.0
"""λ of the probabilistic rounding bound of :func:`sum_rounding`."""

BLOCK_SIZES = (192, 48)
"""Columns eliminated at once by :func:`block_factor` (its Schur updates are matrix products of
this inner size), then the width of the blocks inside each diagonal block: each solve with the
factors re-factorises only those small innermost blocks, by ``np.linalg.solve``."""

MAX_REFINEMENTS = 8
"""Corrections of the accurate path's iterative refinement, at most (each gains about
−log₁₀(η κ) digits, κ = ‖M⁻¹|M|‖)."""

TINY = float(np.finfo(float).tiny)
"""The smallest normal float64, 2.2e−308: a probability below it has lost relative accuracy."""


class PrecisionError(ValueError):
    """float64 cannot deliver an exact value to the stated relative error (1e−9).

    Raised, never a silent wrong number, when a certified bound on the error of an exact value
    exceeds :data:`RELATIVE_TOLERANCE` of the value, or the value exceeds float64's range.

    Attributes
    ----------
    states : tuple of int
        The states where episodes last longest (or the values are largest), the cause.
    """

    def __init__(self, message: str, states=()):
        super().__init__(message)
        self.states = tuple(int(s) for s in states)


class ChainSystem(NamedTuple):
    r"""M = D − B on the non-terminal states N, kept in parts.

    Attributes
    ----------
    index : ndarray of int, shape (n,)
        The non-terminal states N.
    matrix : ndarray, shape (n, n)
        M itself: −B off the diagonal, with B = γ P_NN (self-loops cancel in M's rows, so B's
        diagonal counts as 0), and D on it.
    exits : ndarray, shape (n,)
        e(s) = Σ_a π(a|s)[(1 − γ) + γ p(terminal|s, a)].
    diagonal : ndarray, shape (n,)
        D(s) = Σ_{s′≠s} B(s, s′) + e(s).
    policy : ndarray, shape (S, A)
        π, kept (not copied) for :meth:`data_error`.
    policy_error : ndarray, shape (S, A)
        ρ, a bound on the relative error of each entry of π (default: a log-sum-exp table's,
        :func:`policy_relative_error`; a policy's own from
        :meth:`pgref.policies.DiscretePolicy.table_errors`).
    transitions : ndarray, shape (S, A, S)
        p, kept (not copied) for :meth:`data_error`.
    terminal : ndarray of bool, shape (S,)
    gamma : float
    row_error : ndarray, shape (n,)
        A bound on Σ_{s′} |δM(s, s′)|, the absolute error of row s of M, for the fast path:
        Σ_a ρ(s, a) π(a|s) (1 + γ) plus the rounding of the sums; small even where ρ is large,
        since ρ(s, a) π(a|s) ≤ 4ε(π + 1/e).
    column_error : ndarray, shape (n,)
        A bound on Σ_s |δM(s, s′)|, the absolute error of column s′ of M, for the transposed
        system: (max ρ + (A + 2)ε) Σ_s B(s, s′) plus the error of D(s′).
    column_sums : ndarray, shape (n,)
        Σ_s B(s, s′).
    factorizations : dict
        Empty until :meth:`factors` and :meth:`gth_factors` fill it, so that v and n share one
        factorisation on each path.
    """

    index: np.ndarray
    matrix: np.ndarray
    exits: np.ndarray
    diagonal: np.ndarray
    policy: np.ndarray
    policy_error: np.ndarray
    transitions: np.ndarray
    terminal: np.ndarray
    gamma: float
    row_error: np.ndarray
    column_error: np.ndarray
    column_sums: np.ndarray
    factorizations: dict

    def factors(self) -> np.ndarray | None:
        """:func:`block_factor` of M, computed on the first call and kept; None if singular."""
        if "block" not in self.factorizations:
            try:
                with np.errstate(all="ignore"):   # a non-finite factor fails the certificate
                    self.factorizations["block"] = block_factor(self.matrix)
            except np.linalg.LinAlgError:
                self.factorizations["block"] = None
        return self.factorizations["block"]

    def gth_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`gth_factor` of the system, computed on the first call and kept."""
        if "gth" not in self.factorizations:
            self.factorizations["gth"] = gth_factor(self)
        return self.factorizations["gth"]

    def doubled_gth_factors(self):
        """:func:`pgref.exact.doubled_gth.factor` of the system (pairs), computed on the first
        call and kept."""
        if "gth_doubled" not in self.factorizations:
            self.factorizations["gth_doubled"] = doubled_gth.factor(self.off_diagonal(),
                                                                    self.exits)
        return self.factorizations["gth_doubled"]

    def data_error(self) -> float:
        r"""A bound on the relative error of every entry of B, e and D, for the GTH path.

        Rounding plus the policy table's own error (:attr:`policy_error`) weighted by
        π: an entry Σ_a π(a|s) c(s, a) (c ≥ 0) is off by at most Σ_a ρ(s, a) π(a|s) c(s, a),
        so a large ρ matters only where the tiny π it belongs to carries the entry. Computed
        exactly (an O(S²A) contraction) only when some ρ exceeds 64ε; otherwise max ρ bounds it.
        """
        rounding = sum_rounding(self.index.size) + (self.policy.shape[1] + 2) * EPS
        rho = self.policy_error[self.index]
        largest = float(rho.max(initial=0.0))
        if largest <= 64 * EPS:
            return largest + rounding
        weighted = np.zeros_like(self.policy)
        weighted[self.index] = rho * self.policy[self.index]
        spread = self.gamma * np.einsum("sa,saz->sz", weighted, self.transitions)[
            np.ix_(self.index, self.index)]
        np.fill_diagonal(spread, 0.0)
        off_diagonal = self.off_diagonal()
        positive = off_diagonal > 0
        to_terminal = _terminal_mass(self.transitions, self.terminal, self.index)
        exit_spread = np.einsum("sa,sa->s", weighted[self.index],
                                (1.0 - self.gamma) + self.gamma * to_terminal)
        exiting = self.exits > 0
        return rounding + max(
            float(np.max(spread[positive] / off_diagonal[positive], initial=0.0)),
            float(np.max(exit_spread[exiting] / self.exits[exiting], initial=0.0)))

    def off_diagonal(self) -> np.ndarray:
        """B (n, n), a new array: −M with its diagonal set to 0."""
        off_diagonal = -self.matrix
        np.fill_diagonal(off_diagonal, 0.0)
        return off_diagonal

    def norm(self, transpose: bool) -> float:
        """‖M‖_∞ (rows: 2D − e) or ‖Mᵀ‖_∞ (columns: D + Σ_s B(s, ·)), without a pass over M."""
        if transpose:
            return float(np.max(self.diagonal + self.column_sums, initial=0.0))
        return float(np.max(2.0 * self.diagonal - self.exits, initial=0.0))


class Solution(NamedTuple):
    r"""A certified solution of M x = b (or Mᵀ x = b).

    Attributes
    ----------
    x : ndarray, shape (n,)
    bound : float
        ‖x̂ − x‖_∞ ≤ bound, to first order in ε: the largest of ``errors``.
    lengths : ndarray, shape (n,)
        M⁻¹1 (expected discounted episode length from each state) or M⁻ᵀ1; its maximum is
        ‖M⁻¹‖_∞ (resp. ‖M⁻ᵀ‖_∞).
    accurate_path : bool
        Whether GTH elimination was needed.
    errors : ndarray, shape (n,)
        |x̂(s) − x(s)| ≤ errors(s), entrywise: near γ = 1 a value close to the exit has a far
        smaller error than the largest one, which differences of values (q(s, a) − q(s, b))
        need.
    """

    x: np.ndarray
    bound: float
    lengths: np.ndarray
    accurate_path: bool
    errors: np.ndarray


def sum_rounding(n: int) -> float:
    r"""A bound on the rounding error of a sum or inner product of n terms, relative to Σ|terms|.

    Notes
    -----
    The smaller of two bounds. The worst case, γ_n = n u ≤ (n + 1)ε with u = ε/2 the unit
    roundoff (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1), is used for small
    n. For large n the probabilistic bound of Higham & Mary (2019, "A new approach to
    probabilistic rounding error analysis", Theorem 3.1) takes over: |ŝ − s| ≤ λ√n u Σ|xᵢyᵢ|
    to first order, with probability at least 1 − 2n exp(−λ²/2) (≥ 1 − n·2.6e−14 for λ = 8)
    when the rounding errors are independent and mean-zero; the worst case is reached only by
    adversarial data and would make every certificate on thousands of states useless.
    λ√n ε + 2ε (twice that bound) is used.
    """
    return min(n + 1.0, ROUNDING_CONFIDENCE * float(np.sqrt(n)) + 2.0) * EPS


def _terminal_mass(transitions: np.ndarray, terminal: np.ndarray,
                   index: np.ndarray) -> np.ndarray:
    """Σ_{s′ terminal} p(s′|s, a) for the states of ``index``, shape (n, A): the terminal columns
    are gathered first (by integer index; a boolean mask on the last axis would scan all of p)."""
    return transitions[:, :, np.flatnonzero(terminal)][index].sum(axis=2)


def chain_system(transitions: np.ndarray, terminal: np.ndarray, pi: np.ndarray,
                 gamma: float, policy_error: np.ndarray | None = None) -> ChainSystem:
    r"""M = I − γ P_NN in parts B, e, D, each computed without subtraction.

    Parameters
    ----------
    transitions : ndarray, shape (S, A, S)
        p(s′|s, a).
    terminal : ndarray of bool, shape (S,)
    pi : ndarray, shape (S, A)
    gamma : float
    policy_error : ndarray, shape (S, A), optional
        ρ, the relative error of each entry of π (default :func:`policy_relative_error`).

    Notes
    -----
    B(s, s′) = Σ_a (γ π(a|s)) p(s′|s, a) is read from p and π on the non-terminal block only,
    straight into the array that becomes M (P_π itself is never formed): one pass over the
    (n, A, n) block of p and two matrix–vector products for D and Σ_s B(s, ·). The exit mass
    of (s, a) is (1 − γ) + γ Σ_{s′ terminal} p(s′|s, a), read from the terminal columns: a row
    of p is taken to sum to exactly 1 (the MDP checks it to 1e−9), so its non-terminal part is
    1 minus its terminal part.
    """
    index = np.flatnonzero(~terminal)
    n = index.size
    scaled = -gamma * pi[index]                                         # −γ π(a|s), (n, A)
    if n and index[-1] - index[0] == n - 1:   # a contiguous block: read p in place
        block = transitions[index[0]:index[-1] + 1, :, index[0]:index[-1] + 1]
    else:
        block = transitions[np.ix_(index, np.arange(pi.shape[1]), index)]
    matrix = np.matmul(scaled[:, None, :], block)[:, 0, :]              # −γ P_NN
    np.fill_diagonal(matrix, 0.0)                                       # −B, for now
    to_terminal = _terminal_mass(transitions, terminal, index)
    exits = np.einsum("sa,sa->s", pi[index], (1.0 - gamma) + gamma * to_terminal)
    ones = np.ones(n)
    diagonal = exits - matrix @ ones                                    # Σ B + e: no cancelling
    column_sums = -(ones @ matrix)
    if policy_error is None:
        policy_error = policy_relative_error(pi)
    rho = policy_error[index]
    entry_error = (pi.shape[1] + 2) * EPS
    diagonal_error = ((1.0 + gamma) * np.einsum("sa,sa->s", rho, pi[index])
                      + (sum_rounding(n) + entry_error) * diagonal)
    row_error = 2.0 * diagonal_error
    column_error = (float(rho.max(initial=0.0)) + entry_error) * column_sums + diagonal_error
    np.fill_diagonal(matrix, diagonal)                                  # M = diag(D) − B
    return ChainSystem(index=index, matrix=matrix, exits=exits, diagonal=diagonal,
                       policy=pi, policy_error=policy_error, transitions=transitions,
                       terminal=terminal, gamma=gamma, row_error=row_error,
                       column_error=column_error, column_sums=column_sums,
                       factorizations={})


# -- the fast path: block elimination and a residual bound -------------------------------------


def block_factor(matrix: np.ndarray, blocks: tuple[int, ...] = BLOCK_SIZES) -> np.ndarray:
    r"""Block Gaussian elimination of M without pivoting, for :func:`block_solve`.

    Parameters
    ----------
    matrix : ndarray, shape (n, n)
        M; not changed.
    blocks : tuple of int
        The width of the blocks eliminated at once, then (for the blocks on the diagonal, which
        are factorised the same way) the widths inside them. A matrix no wider than the first
        width (or with none left) is one innermost block, left as it is.

    Returns
    -------
    work : ndarray, shape (n, n)
        For the blocks K = [k, k + blocks[0]): on the diagonal, the Schur complement's block
        S_KK, itself factorised with ``blocks[1:]``; right of it, X_K = S_KK⁻¹ S_{K,after};
        below it, C_K = S_{after,K}.

    Raises
    ------
    numpy.linalg.LinAlgError
        If some innermost block on the diagonal is singular in float64.

    Notes
    -----
    M = L D U with L(after, K) = C_K S_KK⁻¹, D = diag(S_KK) and U(K, after) = X_K: eliminating
    the block K leaves the Schur complement S_after = S_after,after − C_K X_K. For a
    non-singular M-matrix every S_KK and every Schur complement is a non-singular M-matrix, so
    no pivoting is needed (Higham, "Accuracy and Stability of Numerical Algorithms", §13.3).
    The innermost blocks are left to ``np.linalg.solve`` (partial pivoting inside them), never
    inverted; the work is 2n³/3 flops, as one LU factorisation, mostly in the products C_K X_K.
    """
    work = np.array(matrix, dtype=float)
    _eliminate(work, blocks)
    return work


def _eliminate(work: np.ndarray, blocks: tuple[int, ...]) -> None:
    """:func:`block_factor` in place on a square view."""
    n = work.shape[0]
    if not blocks or n <= blocks[0]:   # one innermost block
        np.linalg.solve(work, np.zeros((n, 0)))   # factorises it: refuses a singular block now
        return
    block, inner = blocks[0], blocks[1:]
    for start in range(0, n, block):
        stop = min(start + block, n)
        _eliminate(work[start:stop, start:stop], inner)
        work[start:stop, stop:] = block_solve(work[start:stop, start:stop],
                                              work[start:stop, stop:], False, inner)
        work[stop:, stop:] -= work[stop:, start:stop] @ work[start:stop, stop:]


def block_solve(work: np.ndarray, rhs: np.ndarray, transpose: bool,
                blocks: tuple[int, ...] = BLOCK_SIZES) -> np.ndarray:
    r"""Solve M X = B (or Mᵀ X = B) with the factors of :func:`block_factor` (same ``blocks``).

    Notes
    -----
    M = L D U: z_K = S_KK⁻¹ (b_K − Σ_{J<K} C_J(K) z_J), then x_K = z_K − X_K x_after.
    Mᵀ = Uᵀ Dᵀ Lᵀ: w_K = c_K − Σ_{J<K} X_J(K)ᵀ w_J, then y_K = S_KKᵀ⁻¹ (w_K − C_Kᵀ y_after).
    The solves with S_KK use its own factors (``blocks[1:]``).
    """
    if not blocks or work.shape[0] <= blocks[0]:   # one innermost block
        return np.linalg.solve(work.T if transpose else work, rhs)
    block, inner = blocks[0], blocks[1:]
    x = np.array(rhs, dtype=float)
    n = work.shape[0]
    starts = range(0, n, block)
    if not transpose:
        for start in starts:
            stop = min(start + block, n)
            x[start:stop] = block_solve(work[start:stop, start:stop], x[start:stop], False, inner)
            x[stop:] -= work[stop:, start:stop] @ x[start:stop]
        for start in reversed(starts):
            stop = min(start + block, n)
            x[start:stop] -= work[start:stop, stop:] @ x[stop:]
    else:
        for start in starts:
            stop = min(start + block, n)
            x[stop:] -= work[start:stop, stop:].T @ x[start:stop]
        for start in reversed(starts):
            stop = min(start + block, n)
            x[start:stop] = block_solve(work[start:stop, start:stop],
                                        x[start:stop] - work[stop:, start:stop].T @ x[stop:],
                                        True, inner)
    return x


def _fast(system: ChainSystem, rhs: np.ndarray, transpose: bool, rhs_error: float):
    """Solve with M's block factors; the bound, or None when it cannot be certified.

    The right-hand sides are [b, 1]; t = M⁻¹1 ≥ 0 gives ‖M⁻¹‖_∞ = max t. For a computed x̂ with
    residual R = b − M x̂, |x̂ − x| ≤ M⁻¹|R| ≤ ‖M⁻¹‖_∞ ‖R‖_∞ (M⁻¹ ≥ 0), and the rounding of R and
    the data error of M add ‖M⁻¹‖_∞ · c ε (‖M‖_∞ ‖x̂‖_∞ + ‖b‖_∞). ‖M⁻¹‖_∞ itself is bounded by
    ‖t̂‖_∞ / (1 − ρ) with ρ the same relative bound for t̂. Entrywise,
    |x̂ − x|(s) ≤ (M⁻¹|R|)(s) ≤ t(s) ‖R‖_∞ with t(s) ≤ t̂(s)/(1 − ρ): the errors are t̂ times the
    same factor.
    """
    work = system.factors()
    if work is None:
        return None
    matrix = system.matrix.T if transpose else system.matrix
    n = rhs.size
    columns = np.column_stack([rhs, np.ones(n)])
    with np.errstate(all="ignore"):
        solution = block_solve(work, columns, transpose)
        residual = np.abs(columns - matrix @ solution).max(axis=0)
    if not np.all(np.isfinite(solution)) or np.any(solution[:, 1] <= 0):
        return None
    norm_matrix = system.norm(transpose)
    sizes = np.abs(solution).max(axis=0)
    # ‖δM‖_∞ (rows) or ‖δMᵀ‖_∞ (columns of M), and the residual's rounding
    errors = system.column_error if transpose else system.row_error
    perturbation = float(errors.max(initial=0.0))
    slack = (residual + sum_rounding(n + 1) * (norm_matrix * sizes + np.abs(columns).max(axis=0))
             + perturbation * sizes)
    slack[0] += rhs_error
    if slack[1] >= 0.5:
        return None
    return solution[:, 0], solution[:, 1] / (1.0 - slack[1]) * slack[0], solution[:, 1]


# -- the accurate path: GTH elimination --------------------------------------------------------


def gth_factor(system: ChainSystem) -> tuple[np.ndarray, np.ndarray]:
    r"""LU factors of M by GTH elimination: only non-negative numbers are added.

    Returns
    -------
    work : ndarray, shape (n, n)
        Strictly above the diagonal, −U (the remaining off-diagonal mass B′ of row k when k is
        eliminated); strictly below, the multipliers l(i, k) = B′(i, k)/D′(k) ≥ 0 (L = I − l).
    pivots : ndarray, shape (n,)
        D′(k) = Σ_{j>k} B′(k, j) + e′(k), recomputed at every step instead of updated.

    Notes
    -----
    Eliminating k: B′(i, j) += l(i, k) B′(k, j) and e′(i) += l(i, k) e′(k) for i, j > k: the mass
    that went from i through k now goes directly (Grassmann, Taksar & Heyman, 1985).
    """
    work = system.off_diagonal()
    exits = system.exits.copy()
    n = exits.size
    pivots = np.empty(n)
    with np.errstate(all="ignore"):
        for k in range(n):
            pivots[k] = work[k, k + 1:].sum() + exits[k]
            if not 0.0 < pivots[k] < np.inf:
                break
            column = work[k + 1:, k] / pivots[k]
            work[k + 1:, k] = column
            work[k + 1:, k + 1:] += np.outer(column, work[k, k + 1:])
            exits[k + 1:] += column * exits[k]
    return work, pivots


def gth_solve(work: np.ndarray, pivots: np.ndarray, rhs: np.ndarray,
              transpose: bool) -> np.ndarray:
    r"""Solve M X = B (or Mᵀ X = B) with the GTH factors, for non-negative columns B (n, m)."""
    n = pivots.size
    x = np.array(rhs, dtype=float)
    with np.errstate(all="ignore"):
        if not transpose:  # L y = b, then U x = y
            for k in range(n - 1):
                x[k + 1:] += np.outer(work[k + 1:, k], x[k])
            for k in range(n - 1, -1, -1):
                x[k] = (x[k] + work[k, k + 1:] @ x[k + 1:]) / pivots[k]
        else:  # Uᵀ z = c, then Lᵀ y = z
            for k in range(n):
                x[k] = (x[k] + work[:k, k] @ x[:k]) / pivots[k]
            for k in range(n - 2, -1, -1):
                x[k] += work[k + 1:, k] @ x[k + 1:]
    return x


def _dd_rounding(n: int) -> float:
    """A bound on the error of :func:`structured_residual`'s double-double arithmetic, relative to
    Σ|terms| = |b| + D|x| + B|x|: twice the sum of :mod:`pgref.exact.doubled`'s bounds."""
    return (8.0 * np.ceil(np.log2(n + 1)) + 40.0) * EPS**2


def structured_residual(system: ChainSystem, x, rhs: np.ndarray,
                        transpose: bool) -> tuple[np.ndarray, np.ndarray]:
    r"""R = b − M x (or b − Mᵀ x) for a double-double x, in double-double, and a bound on the
    error of the float64 R returned.

    Parameters
    ----------
    system : ChainSystem
    x : tuple of ndarray
        (hi, lo), shape (n,) each: x = hi + lo.
    rhs : ndarray, shape (n,)
    transpose : bool

    Returns
    -------
    residual : ndarray, shape (n,)
    error : ndarray, shape (n,)
        |residual − R| ≤ error, entrywise.

    Notes
    -----
    M is taken as exact data in its parts: M = diag(D) − B with B = ``system.off_diagonal()``
    and D(s) = Σ_{s′} B(s, s′) + e(s) summed exactly (not the rounded float diagonal), so that
    the residual belongs to the matrix that GTH elimination factorises and that the data error
    of :meth:`ChainSystem.data_error` perturbs. (M x)(s) = D(s) x(s) − Σ_{s′} B(s, s′) x(s′);
    (Mᵀ x)(s′) = D(s′) x(s′) − Σ_s B(s, s′) x(s). In float64 the two terms cancel to far below
    their rounding when the chain is nearly singular; in double-double (about 106 bits) the error
    is (8⌈log₂(n + 1)⌉ + 40)ε² (|b| + D|x| + B|x|) at most, plus ε|R| for rounding R to float64 and
    8n times the smallest normal float for underflow.
    """
    off_diagonal = system.off_diagonal()
    n = off_diagonal.shape[0]
    zeros = np.zeros(n)
    with np.errstate(all="ignore"):
        diagonal = doubled.add(doubled.total((off_diagonal, np.zeros_like(off_diagonal)), axis=1),
                               (system.exits, zeros))
        axis = 0 if transpose else 1
        hi, lo = (x[0][:, None], x[1][:, None]) if transpose else (x[0][None, :], x[1][None, :])
        product, error = doubled.two_product(off_diagonal, hi)
        coupled = doubled.total((product, error + off_diagonal * lo), axis)   # B x or Bᵀ x
        image = doubled.add(doubled.multiply(diagonal, x), doubled.negate(coupled))
        residual = doubled.add((rhs, zeros), doubled.negate(image))
        value = residual[0] + residual[1]
        size = (np.abs(rhs) + diagonal[0] * np.abs(x[0])
                + np.sum(off_diagonal * np.abs(hi), axis=axis))
        bound = EPS * np.abs(value) + _dd_rounding(n) * size + 8.0 * n * TINY
    return value, bound


def _refined(system: ChainSystem, work: np.ndarray, pivots: np.ndarray, rhs: np.ndarray,
             transpose: bool, start: np.ndarray):
    r"""Iterative refinement of GTH's x̂ in double-double, and its a-posteriori bound.

    Each round: R = b − M x from :func:`structured_residual`, then the bound
    ‖x − fl(x)‖_∞ ≤ max(M⁻¹(|R| + δR) + |x − fl(x)|) — M⁻¹ ≥ 0, so x − x_dd = M⁻¹R is bounded
    entrywise by M⁻¹ of a bound on |R| — with M⁻¹(|R| + δR) from a GTH solve of that
    non-negative vector, divided by 1 − η (η = 2n³ε, GTH's entrywise relative error); then the
    correction x ← x + M⁻¹R. Stops when the bound is below RELATIVE_TOLERANCE/100 of ‖x‖_∞, or
    has not halved, or after MAX_REFINEMENTS corrections. Returns (x, errors) of the round with
    the smallest bound, errors(s) = M⁻¹(|R| + δR)(s)/(1 − η) + |x(s) − fl(x(s))|, or None where
    η ≥ 1/2.
    """
    n = pivots.size
    eta = 2.0 * n**3 * EPS
    if not refinement_certifies(n):
        return None
    zeros = np.zeros(n)
    x = (start, zeros)
    best = (np.inf, start, None)
    with np.errstate(all="ignore"):
        for _ in range(MAX_REFINEMENTS + 1):
            residual, error = structured_residual(system, x, rhs, transpose)
            columns = np.column_stack([np.abs(residual) + error, np.maximum(residual, 0.0),
                                       np.maximum(-residual, 0.0)])
            solved = gth_solve(work, pivots, columns, transpose)
            errors = solved[:, 0] / (1.0 - eta) + np.abs(x[1])
            bound = float(np.max(errors))
            if not bound < best[0] / 2:  # NaN, inf, or not halved: no progress
                break
            best = (bound, x[0], errors)
            if bound <= 0.01 * RELATIVE_TOLERANCE * float(np.max(np.abs(x[0]), initial=0.0)):
                break
            x = doubled.add(x, (solved[:, 1] - solved[:, 2], zeros))
    return None if best[2] is None else best[1:]


def _gth(system: ChainSystem, rhs: np.ndarray, transpose: bool, rhs_error: float):
    """GTH path: x from the split b = b⁺ − b⁻, the a-priori bound (refined where it is too
    large), and the lengths."""
    work, pivots = system.gth_factors()
    n = pivots.size
    if not np.all((pivots > 0) & np.isfinite(pivots)):
        return None
    columns = np.column_stack([np.maximum(rhs, 0.0), np.maximum(-rhs, 0.0), np.ones(n)])
    solution = gth_solve(work, pivots, columns, transpose)
    with np.errstate(all="ignore"):
        x = solution[:, 0] - solution[:, 1]
        split = solution[:, 0] + solution[:, 1]                       # M⁻¹|b|
        data = 2.0 * n * system.data_error() * split + rhs_error * solution[:, 2]
        errors = 2.0 * n**3 * EPS * split + data
        if not _certified(x, errors, 0.1):
            refined = _refined(system, work, pivots, rhs, transpose, x)
            if refined is not None:
                refined_errors = refined[1] + data / (1.0 - 2.0 * n**3 * EPS)
                if np.max(refined_errors) < np.max(errors):
                    x, errors = refined[0], refined_errors
        if not _certified(x, errors, 0.1) and _certified(x, data, 0.1):
            in_doubled = _gth_doubled(system, columns, transpose, rhs_error)
            if in_doubled is not None and np.max(in_doubled[1]) < np.max(errors):
                return in_doubled
    return x, errors, solution[:, 2]


def _certified(x: np.ndarray, errors: np.ndarray, share: float) -> bool:
    """Whether max errors ≤ share · RELATIVE_TOLERANCE · ‖x‖_∞ (False for NaN)."""
    return bool(np.max(errors, initial=0.0)
                <= share * RELATIVE_TOLERANCE * np.max(np.abs(x), initial=0.0))


def _gth_doubled(system: ChainSystem, columns: np.ndarray, transpose: bool, rhs_error: float):
    r"""GTH in double-double (:mod:`pgref.exact.doubled_gth`) for the columns [b⁺, b⁻, 1]:
    (x, errors, lengths), or None where an entry leaves double-double's range.

    The errors: η M⁻¹|b| with η = :func:`~pgref.exact.doubled_gth.relative_error` (n), plus the
    rounding of x⁺ − x⁻ in double-double (4ε²) and to float64 (ε/2 of |x|), plus the data
    error's share as on the float64 path, 2nδ M⁻¹|b| + ‖δb‖_∞ M⁻¹1, entry by entry.
    """
    n = columns.shape[0]
    work, pivots = system.doubled_gth_factors()
    solution = doubled_gth.solve(work, pivots, columns, transpose)
    if not doubled_gth.within_range(work, pivots, solution):
        return None
    difference = doubled.add((solution[0][:, 0], solution[1][:, 0]),
                             doubled.negate((solution[0][:, 1], solution[1][:, 1])))
    x = difference[0]                # a renormalised pair rounds to its high part
    split = solution[0][:, 0] + solution[0][:, 1]                      # M⁻¹|b|, to 1e−15
    lengths = solution[0][:, 2]
    eta = doubled_gth.relative_error(n)
    data = 2.0 * n * system.data_error() * split + rhs_error * lengths
    return x, (eta + 8.0 * EPS**2) * split + 0.5 * EPS * np.abs(x) + data, lengths


def refinement_certifies(n: int) -> bool:
    """Whether GTH's a-priori entrywise relative error η = 2n³ε is below 1/2 for n states, as
    the a-posteriori bound of the refinement needs (n up to about 100 000)."""
    return 2.0 * n**3 * EPS < 0.5


def solve(system: ChainSystem, rhs: np.ndarray, transpose: bool = False,
          rhs_error: float = 0.0, accurate: bool = False) -> Solution:
    r"""x with M x = b (or Mᵀ x = b) and a bound on ‖x̂ − x‖_∞: the fast path if certified, else GTH.

    Parameters
    ----------
    system : ChainSystem
    rhs : ndarray, shape (n,)
    transpose : bool
        Solve Mᵀ x = b (the visit counts) instead of M x = b (the values).
    rhs_error : float
        A bound on ‖δb‖_∞, the error b carries in (for r_π, from the policy table).
    accurate : bool
        Go straight to GTH elimination: for callers whose own certificate needs the smaller,
        entrywise bound of that path (differences of values, near γ = 1).

    Returns
    -------
    Solution
        The bound is ``inf`` when neither path gives finite numbers (overflow, or a zero pivot
        after underflow).

    Notes
    -----
    The fast path's answer is kept when its residual bound is ≤ RELATIVE_TOLERANCE/10 of ‖x̂‖_∞;
    otherwise GTH elimination, whose first-order entrywise bound is (2n³ε + 2nδ) times the
    solution of the split system |b| (δ the data error of B and e). Where that bound exceeds
    RELATIVE_TOLERANCE/10 of ‖x̂‖_∞, the GTH answer is refined in double-double and the bound is
    the refinement's a-posteriori one plus 2nδ‖M⁻¹|b|‖_∞/(1 − 2n³ε), if that is smaller; where
    that too exceeds it (and the data error alone does not), GTH is redone in double-double,
    with the bound 128n³ε² ‖M⁻¹|b|‖_∞ plus the same data error. The
    data term 2nδ: relative errors δ in every entry of B and e move every entry of M⁻¹ by at
    most (2n − 1)δ to first order (by the matrix-tree theorem, M⁻¹'s entries are ratios of sums
    of products of n − 1 and n of them).
    """
    fast = None if accurate else _fast(system, rhs, transpose, rhs_error)
    if fast is not None and _certified(fast[0], fast[1], 0.1):
        x, errors, lengths = fast
        return Solution(x, float(np.max(errors, initial=0.0)), lengths, False, errors)
    accurate = _gth(system, rhs, transpose, rhs_error)
    if accurate is None:
        infinite = np.full(rhs.size, np.inf)
        return Solution(infinite, np.inf, infinite, True, infinite)
    x, errors, lengths = accurate
    return Solution(x, float(np.max(errors, initial=0.0)), lengths, True, errors)
