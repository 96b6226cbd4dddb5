r"""Running means over a growing sample, recorded at log-spaced sample sizes (figures 2, 3, 7)."""

from __future__ import annotations

import numpy as np


def log_counts(n_max: int, n_points: int, start: int = 1) -> np.ndarray:
    """About ``n_points`` distinct integers from ``start`` to ``n_max``, evenly spaced in log."""
    return np.unique(np.geomspace(start, n_max, n_points).round().astype(int))


def running_mean(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """1/N Σ_{i≤N} values[i] at each N of ``counts`` (over the rows of a (N_max, …) array)."""
    return np.cumsum(values, axis=0)[counts - 1] / counts.reshape(-1, *[1] * (values.ndim - 1))


def running_standard_error(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """s_N / √N of the first N values (shape (N_max,)) at each N ≥ 2 of ``counts``."""
    return np.array([values[:n].std(ddof=1) / np.sqrt(n) for n in counts])
