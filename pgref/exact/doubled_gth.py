r"""GTH elimination in double-double: the accurate path's last resort, for long episodes on
many states.

The solves of :mod:`pgref.exact.solver` are certified by bounds. GTH elimination in float64 has
the a-priori entrywise bound 2n³ε (O'Cinneide, 1993), above the 1e−9 contract from about
n = 130 states; iterative refinement then certifies only chains whose episodes last up to about
1e12 steps, because a residual bound sees the whole condition of M (the 200-state corridor
drifting away from its exit: episodes of 1e73 steps). GTH's accuracy does not depend on that
condition — only sums, products and quotients of non-negative numbers occur — so the same
elimination carried out in double-double arithmetic (:mod:`pgref.exact.doubled`, about 106
bits) has the same bound with ε replaced by double-double's: every entry of M⁻¹b for b ≥ 0 to
:func:`relative_error` (n) ≈ 128n³ε² relative, 5e−23 at n = 200, 6e−18 at n = 10⁴.

The cost is that of GTH in float64 times about thirty (each double-double operation is a dozen
float64 ones), less where M is sparse: each elimination step updates only the rows and columns
where its multipliers and its pivot row are non-zero, so a chain whose states each lead to a few
neighbours (a corridor, a grid) costs far less than n³.

Double-double keeps 106 bits only for numbers whose low part does not underflow: every entry used
must be 0 or of magnitude within [:data:`SMALLEST`, :data:`LARGEST`]
(:func:`within_range` checks it).
"""

from __future__ import annotations

import numpy as np

from pgref.exact import doubled

__all__ = ["LARGEST", "OPERATION_ERROR", "SMALLEST", "factor", "relative_error", "solve",
           "within_range"]

EPS = float(np.finfo(float).eps)

OPERATION_ERROR = 32.0 * EPS**2
"""u, a bound on the relative error of one double-double :func:`~pgref.exact.doubled.add` of two
non-negative pairs (4ε²), :func:`~pgref.exact.doubled.multiply` (6ε²) or
:func:`~pgref.exact.doubled.divide` (32ε², the largest): the unit roundoff of GTH's analysis."""

SMALLEST = 1e-290
"""Non-zero entries below this lose digits of their low part to underflow."""

LARGEST = 1e290
"""Entries above this overflow in :func:`~pgref.exact.doubled.split` (about 1.3e300)."""


def relative_error(n: int) -> float:
    r"""η = 4n³u: GTH's a-priori entrywise relative error on n states (O'Cinneide's 2n³ε with
    float64's ε = 2 × its unit roundoff), with u = :data:`OPERATION_ERROR`."""
    return 4.0 * n**3 * OPERATION_ERROR


def within_range(*pairs) -> bool:
    """Whether every entry of the pairs (hi, lo) is finite and its hi part 0 or of magnitude in
    [SMALLEST, LARGEST]."""
    for hi, _ in pairs:
        size = np.abs(hi)
        if not np.all(np.isfinite(hi)) or np.any((size > 0) & (size < SMALLEST)) \
                or np.any(size > LARGEST):
            return False
    return True


def _copied_pair(x):
    """A new pair (hi, lo) of float arrays from an array (lo = 0) or a pair."""
    if isinstance(x, tuple):
        return np.array(x[0], dtype=float), np.array(x[1], dtype=float)
    hi = np.array(x, dtype=float)
    return hi, np.zeros(hi.shape)


def _rows(pair, index):
    return pair[0][index], pair[1][index]


def factor(off_diagonal: np.ndarray, exits: np.ndarray):
    r"""The GTH factors of M = diag(D) − B in double-double (as
    :func:`pgref.exact.solver.gth_factor` in float64).

    Parameters
    ----------
    off_diagonal : ndarray, shape (n, n), or a pair of them
        B ≥ 0, zero diagonal (a pair: B in double-double, :mod:`pgref.exact.doubled_chain`).
    exits : ndarray, shape (n,), or a pair of them
        e ≥ 0.

    Returns
    -------
    work : pair of ndarray, shape (n, n)
        Above the diagonal −U (the remaining off-diagonal mass B′(k, j) when k is eliminated),
        below it the multipliers l(i, k) = B′(i, k)/D′(k).
    pivots : pair of ndarray, shape (n,)
        D′(k) = Σ_{j>k} B′(k, j) + e′(k).

    Notes
    -----
    Eliminating k: B′(i, j) += l(i, k) B′(k, j) and e′(i) += l(i, k) e′(k) for i, j > k, over
    the i with l(i, k) ≠ 0 and the j with B′(k, j) ≠ 0 only (the other entries gain 0).
    """
    work, remaining = _copied_pair(off_diagonal), _copied_pair(exits)
    n = remaining[0].size
    pivots = (np.zeros(n), np.zeros(n))
    with np.errstate(all="ignore"):
        for k in range(n):
            after = np.arange(k + 1, n)
            row = (work[0][k, k + 1:], work[1][k, k + 1:])
            pivot = doubled.add(doubled.total(row, axis=0), _rows(remaining, k))
            pivots[0][k], pivots[1][k] = pivot
            if not 0.0 < pivot[0] < np.inf:
                break
            rows = after[work[0][k + 1:, k] != 0]             # i with B′(i, k) ≠ 0
            multipliers = doubled.divide((work[0][rows, k], work[1][rows, k]), pivot)
            work[0][rows, k], work[1][rows, k] = multipliers
            columns = after[row[0] != 0]                      # j with B′(k, j) ≠ 0
            block = np.ix_(rows, columns)
            gained = doubled.multiply((multipliers[0][:, None], multipliers[1][:, None]),
                                      (work[0][k, columns][None, :], work[1][k, columns][None, :]))
            work[0][block], work[1][block] = doubled.add((work[0][block], work[1][block]), gained)
            exit_gained = doubled.multiply(multipliers, _rows(remaining, k))
            remaining[0][rows], remaining[1][rows] = doubled.add(_rows(remaining, rows),
                                                                 exit_gained)
    return work, pivots


def solve(work, pivots, rhs: np.ndarray, transpose: bool):
    r"""Solve M X = B (or Mᵀ X = B) with the factors of :func:`factor`, for non-negative columns
    B (n, m) (an array, or a pair of them), in double-double; returns the pair (hi, lo) of X.

    Notes
    -----
    M = L U with L = I − l and U = diag(D′) − (the part of B′ above the diagonal). Not
    transposed: y = L⁻¹b by y(i) += l(i, k) y(k), then x(k) = (y(k) + Σ_{j>k} B′(k, j) x(j))/D′(k).
    Transposed: z(k) = (c(k) + Σ_{i<k} B′(i, k) z(i))/D′(k), then y(k) += Σ_{i>k} l(i, k) y(i).
    Only non-negative numbers are added.
    """
    x = _copied_pair(rhs)
    n = x[0].shape[0]

    def weighted(coefficients, at):
        """Σ over ``at`` of coefficient ⊗ x(at), a pair of shape (m,)."""
        products = doubled.multiply((coefficients[0][:, None], coefficients[1][:, None]),
                                    _rows(x, at))
        return doubled.total(products, axis=0)

    def settle(k, inflow):
        """x(k) ← (x(k) + inflow) / D′(k)."""
        x[0][k], x[1][k] = doubled.divide(doubled.add(_rows(x, k), inflow),
                                          (pivots[0][k], pivots[1][k]))

    with np.errstate(all="ignore"):
        if not transpose:
            for k in range(n - 1):
                gained = doubled.multiply((work[0][k + 1:, k][:, None],
                                           work[1][k + 1:, k][:, None]),
                                          (x[0][k][None, :], x[1][k][None, :]))
                x[0][k + 1:], x[1][k + 1:] = doubled.add(_rows(x, slice(k + 1, None)), gained)
            for k in range(n - 1, -1, -1):
                settle(k, weighted((work[0][k, k + 1:], work[1][k, k + 1:]), slice(k + 1, None)))
        else:
            for k in range(n):
                settle(k, weighted((work[0][:k, k], work[1][:k, k]), slice(0, k)))
            for k in range(n - 2, -1, -1):
                gained = weighted((work[0][k + 1:, k], work[1][k + 1:, k]), slice(k + 1, None))
                x[0][k], x[1][k] = doubled.add(_rows(x, k), gained)
    return x
