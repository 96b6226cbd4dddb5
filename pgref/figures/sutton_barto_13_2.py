r"""Figure ``sutton_barto_13_2``: Sutton & Barto's Figure 13.2 on the short corridor.

Its data, drawing and caption live in :mod:`pgref.figures.sutton_barto`, shared with the other
of the book's two figures."""

from pgref.figures.sutton_barto import FIGURE_13_2 as FIGURE

__all__ = ["FIGURE"]
