r"""Double-double arithmetic: a number as an unevaluated sum hi + lo of two float64, for the
residual b − M x̂ of the accurate path (:mod:`pgref.exact.solver`).

Near a singular chain, M x̂ and b differ by far less than float64's rounding of M x̂: the residual
of a float64 computation carries no digit. Computed in double-double — about 106 bits — it keeps
them. Everything here is built from Dekker's and Knuth's error-free transformations (Dekker,
"A floating-point technique for extending the available precision", 1971; Knuth, TAOCP vol. 2
§4.2.2), which return the rounded result of one float64 operation together with its exact
rounding error, vectorised over NumPy arrays.

A pair is a tuple (hi, lo) of arrays of one shape.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SPLITTER",
    "add",
    "divide",
    "multiply",
    "negate",
    "split",
    "total",
    "two_product",
    "two_sum",
]

SPLITTER = 134217729.0
"""2²⁷ + 1: a · SPLITTER splits a float64 into two halves of 26 significant bits each."""


def two_sum(a, b):
    r"""s = fl(a + b) and its rounding error t, with a + b = s + t exactly (Knuth).

    Notes
    -----
    s = a + b, v = s − a, t = (a − (s − v)) + (b − v); no condition on the sizes of a and b.
    """
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def _quick_two_sum(a, b):
    """s + t = a + b exactly when |a| ≥ |b| (Dekker): the renormalisation of a pair."""
    s = a + b
    return s, b - (s - a)


def split(a):
    r"""hi + lo = a with hi and lo of at most 26 significant bits each (Dekker).

    Notes
    -----
    c = (2²⁷ + 1) a, hi = c − (c − a), lo = a − hi. Exact for |a| below about 1e300 (above, c
    overflows and the halves are not finite).
    """
    c = SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def two_product(a, b):
    r"""p = fl(a · b) and its rounding error t, with a · b = p + t exactly (Dekker).

    Notes
    -----
    With a = a₁ + a₂ and b = b₁ + b₂ from :func:`split`, each partial product is exact:
    t = ((a₁b₁ − p) + a₁b₂ + a₂b₁) + a₂b₂ (barring underflow and overflow).
    """
    p = a * b
    a_hi, a_lo = split(a)
    b_hi, b_lo = split(b)
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def add(x, y):
    r"""x + y for pairs x = (hi, lo), y = (hi, lo).

    Error at most about 4ε²(|x| + |y|), ε = 2⁻⁵²: the sum of the two his is exact as s + t, and
    only t + lo_x + lo_y is rounded (twice) before the renormalisation.
    """
    s, t = two_sum(x[0], y[0])
    return _quick_two_sum(s, t + (x[1] + y[1]))


def negate(x):
    """−x for a pair x (exact)."""
    return -x[0], -x[1]


def multiply(x, y):
    r"""x · y for pairs: hi_x hi_y exactly as p + t, plus the rounded cross terms.

    Error at most about 6ε²|x · y| (the product lo_x lo_y, below ε²|x y|, is dropped).
    """
    p, t = two_product(x[0], y[0])
    return _quick_two_sum(p, t + (x[0] * y[1] + x[1] * y[0]))


def divide(x, y):
    r"""x / y for pairs: q₁ = hi_x / hi_y, then q₂ from the remainder r = x − q₁ y in
    double-double, q₁ + q₂ renormalised.

    Error at most about 20ε²|x / y| to first order (the remainder is about 2ε|x| and carries
    the 10ε²|x| of its multiply and add; q₂ adds a relative ε of itself); 32ε² is stated.
    """
    first = x[0] / y[0]
    remainder = add(x, negate(multiply((first, np.zeros_like(first)), y)))
    return _quick_two_sum(first, remainder[0] / y[0])


def total(x, axis: int):
    r"""Σ along ``axis`` of a pair of arrays, by pairwise (tree) summation of pairs.

    Notes
    -----
    ⌈log₂ m⌉ rounds of :func:`add` on halves of the terms (m of them): the error is at most
    4ε² ⌈log₂ m⌉ Σ|terms| to first order.
    """
    hi, lo = np.moveaxis(x[0], axis, 0), np.moveaxis(x[1], axis, 0)
    while hi.shape[0] > 1:
        if hi.shape[0] % 2:  # an odd count: a zero pair makes it even
            zero = np.zeros((1, *hi.shape[1:]))
            hi, lo = np.concatenate([hi, zero]), np.concatenate([lo, zero])
        hi, lo = add((hi[0::2], lo[0::2]), (hi[1::2], lo[1::2]))
    if hi.shape[0] == 0:
        return np.zeros(hi.shape[1:]), np.zeros(hi.shape[1:])
    return hi[0], lo[0]
