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
    "LN2",
    "SPLITTER",
    "add",
    "divide",
    "exp",
    "multiply",
    "negate",
    "split",
    "total",
    "two_product",
    "two_sum",
]

SPLITTER = 134217729.0
"""2²⁷ + 1: a · SPLITTER splits a float64 into two halves of 26 significant bits each."""

LN2 = (0.6931471805599453, 2.3190468138462996e-17)
"""ln 2 as a pair, to about 1e−33 (hi: ln 2 rounded to float64; lo: the rest, rounded)."""

EXP_HALVINGS = 10
"""exp(r) = (exp(r/2¹⁰))^(2¹⁰) in :func:`exp`: r/2¹⁰ ≤ 3.4e−4, where 9 Taylor terms suffice."""


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


def exp(x):
    r"""e^x for a pair x, about 106 bits: relative error at most (64 + 12|x|)ε²
    (:data:`EXP_ERROR` and :data:`EXP_ERROR_PER_UNIT`, ε = 2⁻⁵²) for −667 ≤ x ≤ 709, where e^x
    lies between 1e−290 and 1.7e308.

    Notes
    -----
    x = k ln 2 + r with k = round(x / ln 2) and |r| ≤ 0.35, r = x − k :data:`LN2` in
    double-double (its error, about 9ε²|x| with |k ln 2| ≤ |x| + 0.35, moves e^x by as much,
    relatively); e^r − 1 from the Taylor series of r/2¹⁰ to the ninth power (the rest below
    1e−36), then ten doublings e ← e(2 + e), whose relative errors add (a few ε² each, about
    60ε² in all), and e^x = 2ᵏ(1 + e) (the scaling is exact while the low part stays normal:
    a result below 1e−290 loses its low part's digits; see
    :data:`pgref.exact.doubled_gth.SMALLEST`).
    """
    hi, lo = (np.asarray(part, dtype=float) for part in x)
    k = np.rint(hi / LN2[0])
    r = add((hi, lo), negate(multiply((k, np.zeros_like(k)), LN2)))
    scale = 2.0**-EXP_HALVINGS
    r = (r[0] * scale, r[1] * scale)                                   # exact
    term = r
    e = r
    for order in range(2, 10):                                         # e = Σ rⁿ/n!, n = 1 … 9
        term = divide(multiply(term, r), (np.full(hi.shape, float(order)), np.zeros(hi.shape)))
        e = add(e, term)
    two = (np.full(hi.shape, 2.0), np.zeros(hi.shape))
    for _ in range(EXP_HALVINGS):
        e = multiply(e, add(two, e))                                    # e^{2r} − 1
    one = add((np.ones(hi.shape), np.zeros(hi.shape)), e)
    return np.ldexp(one[0], k.astype(int)), np.ldexp(one[1], k.astype(int))


EXP_ERROR = 64.0
"""The constant part of :func:`exp`'s relative error bound, in units of ε²."""

EXP_ERROR_PER_UNIT = 12.0
"""The part of :func:`exp`'s relative error bound per unit of |x|, in units of ε²."""
