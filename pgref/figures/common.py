r"""What the figure modules share: the declaration of a figure, its look, running means, and
the short corridor at θ₀.

Drawing here only places lines on given axes; nothing imports :mod:`matplotlib.pyplot` or
chooses a backend, so the figures draw into any matplotlib Figure (a notebook's inline one, or
the Agg canvas of :func:`pgref.figures.generate`).
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import envs, estimators, exact
from pgref.policies import SoftmaxLinearPolicy


class FigureSpec(NamedTuple):
    """A figure of the gallery, as each figure module declares it in its ``FIGURE``."""

    name: str
    """The file name without ``.png``, and the module's name."""
    size: tuple[float, float]
    """(width, height) in inches."""
    data: Callable[[bool], NamedTuple]
    """``data(quick)``: the figure's numbers, which the tests check."""
    draw: Callable[[NamedTuple, Figure], None]
    """``draw(data, figure)``: draws those numbers into a given matplotlib Figure."""
    caption: str
    """The text under the figure in the README gallery (the tests check that it is there)."""
    boxes: tuple[tuple[float, float, float, float], ...]
    """(left, bottom, width, height) of each of the figure's axes, in the order ``draw`` makes
    them, as fractions of the figure: taken once from matplotlib's constrained layout of the full
    data and fixed, so that saving needs no layout pass (the README's benchmark section gives
    what that saves). An axes with a fixed aspect (an image, equal scales) shrinks inside its
    box when drawn. The tests check that every axes' labels, title and legend stay inside the
    figure and clear of the other axes' (in quick mode; with the full data in CI)."""


STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    # DejaVu Sans lacks the lecture's 𝒥 (and other mathematical letters): STIX fills them in.
    "font.family": ["DejaVu Sans", "STIXGeneral"],
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 9,
    "legend.framealpha": 0.9,
}
"""The matplotlib rc settings every figure is drawn under (:func:`pgref.figures.render`); the
notebooks draw under them too (``plt.rcParams.update(STYLE)``)."""

METHOD_COLOURS = ("tab:blue", "tab:orange", "tab:purple", "tab:green")
"""PG_v1 / G(τ), REINFORCE / Gₜ, a constant baseline, a state-dependent baseline."""

ESTIMATOR_COLOURS = (METHOD_COLOURS[0], METHOD_COLOURS[1], METHOD_COLOURS[3])
"""The colours of :data:`ESTIMATOR_NAMES` (and of the short corridor's three loops)."""

EXACT_COLOUR = "black"

Z_95 = 1.959963984540054
"""Φ⁻¹(0.975): the half-width of a 95% normal interval, in standard errors."""


def number(value: float, spec: str = ".2f") -> str:
    """``format(value, spec)`` with a typographic minus sign (−), as on the axes."""
    return format(value, spec).replace("-", "\u2212")


# -- Running means over a growing sample, recorded at log-spaced sample sizes --------------------


def log_counts(n_max: int, n_points: int, start: int = 1) -> np.ndarray:
    """About ``n_points`` distinct integers from ``start`` to ``n_max``, evenly spaced in log."""
    return np.unique(np.geomspace(start, n_max, n_points).round().astype(int))


def running_mean(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """1/N Σ_{i≤N} values[i] at each N of ``counts`` (over the rows of a (N_max, …) array)."""
    return np.cumsum(values, axis=0)[counts - 1] / counts.reshape(-1, *[1] * (values.ndim - 1))


def running_standard_error(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """s_N / √N of the first N values (shape (N_max,)) at each N ≥ 2 of ``counts``."""
    return np.array([values[:n].std(ddof=1) / np.sqrt(n) for n in counts])


def draw_running_estimates(axes, counts, estimates, standard_errors, labels, colours,
                           centre, from_count) -> None:
    """Running estimates with 95% bands on a log K axis, shown from K = ``from_count`` on.

    The y-limits hold the bands from ``from_count`` on and the exact values ``centre``, not the
    wild first few estimates.
    """
    for estimate, error, label, colour in zip(estimates, standard_errors, labels, colours,
                                              strict=True):
        axes.fill_between(counts, estimate - Z_95 * error, estimate + Z_95 * error,
                          color=colour, alpha=0.15, linewidth=0)
        axes.plot(counts, estimate, color=colour, label=label)
    axes.set(xscale="log", xlabel="number of episodes K")
    shown = counts >= from_count
    low = min(np.min((estimates - Z_95 * standard_errors)[:, shown]), np.min(centre))
    high = max(np.max((estimates + Z_95 * standard_errors)[:, shown]), np.max(centre))
    margin = 0.08 * (high - low)
    axes.set(ylim=(low - margin, high + margin), xlim=(from_count, counts[-1]))


# -- The short corridor at θ₀ (figures monte_carlo, variance, short_corridor, discounting) -------

CORRIDOR_THETA = np.array([-0.55, 0.55])
"""θ₀ = [θ_right, θ_left]: π(right) = σ(−1.1) ≈ 0.25, well left of p* ≈ 0.59; 𝒥(θ₀) ≈ −18.7."""

ESTIMATOR_NAMES = (
    "PG_v1: G(τ)",
    "REINFORCE: Gₜ",
    "REINFORCE: Gₜ − v_π(Sₜ)",
)
"""The three estimators of :func:`three_estimates`, by the weight on ∇ log π_θ(Aₜ|Sₜ) (γ = 1)."""


def corridor():
    """The short corridor's ``TabularMDP`` (γ = 1) and its softmax policy."""
    problem = envs.short_corridor()
    return problem.mdp, SoftmaxLinearPolicy(problem.features)


def three_estimates(mdp, policy, theta, episodes) -> list[estimators.GradientEstimate]:
    """pg_v1, reinforce, and reinforce with the exact v_π as baseline, on the same episodes."""
    values = exact.state_values(mdp, policy.action_probs(theta))
    return [
        estimators.pg_v1(policy, theta, episodes, mdp.gamma),
        estimators.reinforce(policy, theta, episodes, mdp.gamma),
        estimators.reinforce(policy, theta, episodes, mdp.gamma, baseline=values),
    ]


def mean_and_standard_error(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean over runs (axis −2) of the runs not stopped, and its standard error s/√n with
    s² = Σ (x − x̄)²/(n − 1) over those n runs: values (…, R, E) with NaN once a run stopped →
    two arrays (…, E), NaN where no run (mean) or fewer than two (error) are left."""
    finite = np.isfinite(values)
    count = finite.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, values, 0.0).sum(axis=-2) / count
        squares = np.where(finite, (values - np.expand_dims(mean, -2)) ** 2, 0.0).sum(axis=-2)
        error = np.sqrt(squares / (count - 1) / count)
    return np.where(count > 0, mean, np.nan), np.where(count > 1, error, np.nan)
