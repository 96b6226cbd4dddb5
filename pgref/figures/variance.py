r"""Figure ``variance``: the per-episode variance of each estimator of ∇J on the short corridor.

Lecture: "REINFORCE"; blog: "causality trick".
"""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import estimators, exact, rollout
from pgref.figures import common

CAPTION = ("Per-episode variance of the ∂/∂θ_right term of each estimator on the short corridor, "
           "with 95% confidence intervals: the whole return G(τ), the reward-to-go Gₜ, and Gₜ "
           "minus a constant or a state-dependent baseline. All have the same mean, ∇J.")


class VarianceData(NamedTuple):
    r"""Data behind ``variance.png``: one episode's ∂/∂θ_right term under each estimator."""

    names: tuple[str, ...]
    """The M estimators: those of :data:`~pgref.figures.common.ESTIMATOR_NAMES` and REINFORCE
    with the constant baseline b = J(θ₀), inserted before the state-dependent one."""
    per_episode: np.ndarray
    """Shape (M, K): ∂/∂θ_right of each episode's term (``GradientEstimate.per_episode``)."""
    mean: np.ndarray
    """Shape (M,): the estimate of ∂J/∂θ_right."""
    standard_error: np.ndarray
    """Shape (M,): its standard error."""
    variance: np.ndarray
    """Shape (M,): the per-episode variance s² = 1/(K − 1) Σₖ (xₖ − x̄)²."""
    variance_lower: np.ndarray
    """Shape (M,): the lower end of its 95% confidence interval (normal approximation for the
    mean of (xₖ − x̄)²)."""
    variance_upper: np.ndarray
    """Shape (M,): the upper end."""
    exact_component: float
    """∂J/∂θ_right from :func:`pgref.exact.policy_gradient`."""


def variance_data(quick: bool = False) -> VarianceData:
    r"""The per-episode variance of each estimator of ∂J/∂θ_right, with confidence intervals.

    Parameters
    ----------
    quick : bool
        K = 2 000 episodes instead of 40 000.

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm" and blog, "causality trick": every estimator
    has mean ∇J. The rewards before t, which Gₜ leaves out, and the b(Sₜ) a baseline subtracts
    (a term of mean b(Sₜ) Σ_a ∇π_θ(a|Sₜ) = 0) only add noise. Var(∇̂J) = s²/K, so a 3× smaller
    s² needs 3× fewer episodes for the same error. The interval for s² treats (xₖ − x̄)² as K i.i.d.
    terms (:meth:`pgref.estimators.MonteCarloEstimate.confidence_interval`).
    """
    mdp, policy = common.corridor()
    theta = common.CORRIDOR_THETA
    n_episodes = 2_000 if quick else 40_000
    episodes = rollout.sample_episodes(mdp, policy, theta, n_episodes,
                                       np.random.default_rng(40))
    pg, plain, with_values = common.three_estimates(mdp, policy, theta, episodes)
    constant = estimators.reinforce(policy, theta, episodes, mdp.gamma,
                                    baseline=exact.objective(mdp, policy, theta))
    chosen = [pg, plain, constant, with_values]
    names = (*common.ESTIMATOR_NAMES[:2], "REINFORCE: Gₜ − J(θ)", common.ESTIMATOR_NAMES[2])
    per_episode = np.stack([estimate.per_episode[:, 0] for estimate in chosen])
    deviations = (per_episode - per_episode.mean(axis=1, keepdims=True)) ** 2
    deviations *= n_episodes / (n_episodes - 1)  # so that their mean is s², unbiased
    bounds = [estimators.MonteCarloEstimate(d.mean(keepdims=True), d[:, None])
              .confidence_interval(0.95) for d in deviations]
    return VarianceData(
        names, per_episode,
        np.array([estimate.mean[0] for estimate in chosen]),
        np.array([estimate.standard_error()[0] for estimate in chosen]),
        deviations.mean(axis=1),
        np.array([b.lower[0] for b in bounds]), np.array([b.upper[0] for b in bounds]),
        float(exact.policy_gradient(mdp, policy, theta)[0]),
    )


def draw_variance(data: VarianceData, figure: Figure) -> None:
    """Left: per-episode variance with 95% intervals. Right: the means, all at ∇J."""
    left, right = figure.subplots(1, 2)
    rows = np.arange(len(data.names))[::-1]  # the first estimator on top
    colours = common.METHOD_COLOURS[: len(data.names)]
    errors = np.vstack([data.variance - data.variance_lower,
                        data.variance_upper - data.variance])
    left.barh(rows, data.variance, xerr=errors, color=colours, alpha=0.8, capsize=4)
    for index, (row, value) in enumerate(zip(rows, data.variance, strict=True)):
        ratio = "" if index == 0 else f" = {value / data.variance[0]:.2f} × PG_v1's"
        left.text(value * 1.02 + 0.01 * data.variance.max(), row + 0.22, f"{value:,.0f}{ratio}",
                  fontsize=9)
    left.set(yticks=rows, yticklabels=data.names, xlim=(0, 1.35 * data.variance_upper.max()),
             xlabel="per-episode variance s² of the ∂/∂θ_right term",
             title=f"Variance (K = {data.per_episode.shape[1]:,} episodes, 95% intervals)")
    left.grid(axis="y", visible=False)

    for row, mean, error, colour in zip(rows, data.mean, data.standard_error, colours,
                                        strict=True):
        right.errorbar(mean, row, xerr=common.Z_95 * error, fmt="o", color=colour, capsize=4)
    right.axvline(data.exact_component, color=common.EXACT_COLOUR, linestyle="--",
                  label=f"exact ∂J/∂θ_right = {common.number(data.exact_component)}")
    right.set(yticks=rows, yticklabels=[], ylim=(rows[-1] - 0.6, rows[0] + 0.9),
              xlabel="estimate of ∂J/∂θ_right", title="Same mean ∇J: estimates, 95% intervals")
    right.grid(axis="y", visible=False)
    right.legend(loc="upper right")


FIGURE = common.FigureSpec(name="variance", size=(10.0, 3.6), caption=CAPTION,
                           data=variance_data, draw=draw_variance)
