r"""Input checks shared by every pgref module.

Each helper raises a ``ValueError`` whose message names the argument, says what was wrong and
what would be right. NaN and ±inf are always errors. Nothing here clips, truncates or
renormalises: a bad value is refused, never repaired.
"""

from __future__ import annotations

import numbers

import numpy as np


def finite_array(name: str, value, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``value`` as a float array, refusing NaN, ±inf, non-numbers and a wrong rank."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of real numbers; got {value!r}") from error
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if array.ndim not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            raise ValueError(
                f"{name} must have {wanted} dimension(s); got an array of shape {array.shape}"
            )
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        raise ValueError(
            f"{name} must be finite (no NaN or inf); found {array[where]!r} at index {where}"
        )
    return array


def finite_scalar(name: str, value) -> float:
    """Return ``value`` as a finite float, refusing NaN, ±inf, arrays and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if not (isinstance(value, np.ndarray) and value.ndim == 0):
            raise ValueError(f"{name} must be a real number; got {value!r}")
    result = float(value)
    if not np.isfinite(result):
        raise ValueError(f"{name} must be finite; got {result!r}")
    return result


def positive_scalar(name: str, value) -> float:
    """Return a finite, strictly positive float."""
    result = finite_scalar(name, value)
    if result <= 0.0:
        raise ValueError(f"{name} must be > 0; got {result!r}")
    return result


def true_or_false(name: str, value) -> bool:
    """Return ``value`` if it is ``True`` or ``False``, refusing anything else (1, "yes", None)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return value


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an int ≥ ``minimum``, refusing floats, bools and smaller values."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value}")
    return int(value)


def parameter_vector(theta, n_params: int) -> np.ndarray:
    """Return θ as a finite float vector of length ``n_params``."""
    array = finite_array("theta", theta)
    if array.shape != (n_params,):
        raise ValueError(
            f"theta must be a flat vector of shape ({n_params},) for this policy; "
            f"got shape {array.shape}"
        )
    return array


def index_array(name: str, value, upper: int) -> np.ndarray:
    """Return integer indices in [0, upper) as an int array (any shape).

    Floats, even integer-valued ones, are refused: a tabular state or action is an index.
    """
    return integer_indices(name, value, upper).astype(np.intp, copy=False)


def integer_indices(name: str, value, upper: int) -> np.ndarray:
    """:func:`index_array` without the conversion to ``np.intp``: the checked indices in the
    integer type they came in (no copy of a large batch stored in a narrower type)."""
    array = np.asarray(value)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite integers in [0, {upper}); got {value!r}")
        raise ValueError(
            f"{name} must be integer indices in [0, {upper}); got dtype {array.dtype} "
            f"({np.ravel(array)[:5]!r}...)"
        )
    if array.size and (array.min() < 0 or array.max() >= upper):
        outside = array[(array < 0) | (array >= upper)]
        raise ValueError(f"{name} must lie in [0, {upper}); got {int(outside.ravel()[0])}")
    return array


def rng_generator(rng) -> np.random.Generator:
    """Refuse anything but a ``np.random.Generator`` (no global seeding, no ints)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "rng must be a numpy.random.Generator, e.g. np.random.default_rng(0); "
            f"got {type(rng).__name__}"
        )
    return rng


PROBABILITY_TOLERANCE = 1e-9
"""How far a probability distribution's sum may be from 1 (absolute) before it is refused."""


def probability_rows(name: str, array: np.ndarray, index_names: str) -> None:
    r"""Refuse negative entries and last-axis sums off 1 by more than PROBABILITY_TOLERANCE.

    ``index_names`` spells the leading indices for the message, e.g. ``"(s, a)"`` or ``"s"``
    (unused for a single distribution of shape (n,)).
    Nothing is renormalised: the message says where the first bad row is and by how much.
    """
    if (array < 0).any():
        negative = np.argwhere(array < 0)
        where = tuple(int(i) for i in negative[0])
        raise ValueError(
            f"{name} must hold probabilities ≥ 0; {name}[{', '.join(map(str, where))}] = "
            f"{float(array[where])!r} ({len(negative)} negative entries in all)"
        )
    sums = array.sum(axis=-1)
    off = np.abs(sums - 1.0) > PROBABILITY_TOLERANCE
    if not off.any():
        return
    if array.ndim == 1:
        where, what, count = (), f"{name} must sum to 1; it", ""
    else:
        where = tuple(int(i) for i in np.argwhere(off)[0])
        label = where[0] if len(where) == 1 else where
        what = (f"each row {name}[{index_names[1:-1] or index_names}, :] must sum to 1; "
                f"at {index_names} = {label} it")
        count = f"; {int(off.sum())} rows off in all"
    raise ValueError(
        f"{what} sums to {float(sums[where])!r} (off by {float(sums[where]) - 1.0:+.3g}"
        f"{count}). Nothing is renormalised: fix it so that it sums to 1 (within "
        f"{PROBABILITY_TOLERANCE:g})"
    )
