r"""Drawing from many discrete distributions at once by inverting their cumulative distributions.

Row i of a table holds a distribution p_i over n outcomes. A draw from row i with a uniform
u ∼ U[0, 1) is the first outcome j whose cumulative probability exceeds u,

    j = min { j : Σ_{j′≤j} p_i(j′) > u },

which has probability p_i(j) exactly (up to the rounding of the cumulative sums). A guide table
(Chen & Asau 1974) remembers, for each of M equal slices [m/M, (m + 1)/M) of [0, 1) (M a power
of two, at least n), where the search may start, so a draw costs O(1) comparisons on average
instead of O(n).
"""

from __future__ import annotations

import numpy as np

from pgref.policies.discrete import last_possible

__all__ = ["GUIDE_LIMIT", "InverseCdfTable"]

GUIDE_LIMIT = 1 << 16
"""Tables of at most this many entries get four guide slices per outcome, larger ones one."""


class InverseCdfTable:
    r"""Cumulative distributions of R rows of n outcomes each, with their guide tables.

    Parameters
    ----------
    probabilities : ndarray, shape (R, n)
        Each row a distribution over n outcomes (non-negative, summing to 1 up to rounding).
        Checked by the caller: the tables are built from validated MDPs and policies.

    Notes
    -----
    The cumulative sum of a row can end a rounding error below 1; it is set to +∞ from the
    row's last outcome of positive probability on, so a u in that gap still lands on an outcome
    of positive probability, never on one of probability 0. The guide entry of slice m is
    g(m) = min { j : F(j) > m/M }; since u ≥ m/M for u in slice m, the search from g(m) finds
    the same j as a search from 0. M is a power of two, so M·u, its integer part and M·F(j)
    are exact: the draw is the first j with F(j) > u, bit for bit.
    """

    def __init__(self, probabilities: np.ndarray):
        n_rows, n_outcomes = probabilities.shape
        cumulative = np.cumsum(probabilities, axis=1)
        last = last_possible(probabilities)
        cumulative[np.arange(n_outcomes) >= last[:, None]] = np.inf
        # M slices of [0, 1), M a power of two (so M·u and M·F are exact): M ≥ 4n where the
        # guide stays small, else M ≥ n.
        per_outcome = 4 if n_rows * n_outcomes <= GUIDE_LIMIT else 1
        n_slices = 1 << int(np.ceil(np.log2(per_outcome * n_outcomes)))
        slices = np.arange(n_slices + 1) / n_slices  # m/M for m = 0 … M (u·M may round to M)
        guide = np.empty((n_rows, n_slices + 1), dtype=np.int64)
        for row in range(n_rows):
            guide[row] = np.searchsorted(cumulative[row], slices, side="right")
        self.n_rows, self.n_outcomes, self.n_slices = n_rows, n_outcomes, n_slices
        self.scaled_cumulative = (cumulative * n_slices).reshape(-1)  # M·F, compared with M·u
        self.start = (guide + (np.arange(n_rows) * n_outcomes)[:, None]).reshape(-1)

    def slice_base(self, rows: np.ndarray) -> np.ndarray:
        """Where the guide entries of each row begin: the ``base`` that :meth:`draw` takes."""
        return rows * (self.n_slices + 1)

    def draw(self, base: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        r"""One outcome from each listed row: its position row·n + j, j the first with F(j) > u.

        Parameters
        ----------
        base : ndarray of int, shape (N,)
            :meth:`slice_base` of the row of each draw.
        uniforms : ndarray, shape (N,)
            u ∼ U[0, 1), one per draw; overwritten with M·u (M slices).

        Returns
        -------
        position : ndarray of int, shape (N,)
            row·n + j; ``position % n`` is the outcome j, ``position // n`` the row.
        """
        scaled = np.multiply(uniforms, self.n_slices, out=uniforms)  # M·u ∈ [0, M]
        position = self.start[base + scaled.astype(np.intp)]  # where the search starts
        behind = np.flatnonzero(self.scaled_cumulative[position] <= scaled)
        while behind.size:  # step forward until F(j) > u; on average O(1) steps
            position[behind] += 1
            behind = behind[self.scaled_cumulative[position[behind]] <= scaled[behind]]
        return position
