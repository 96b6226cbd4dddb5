r"""Figure ``variance``: the per-episode variance of each estimator of ∇𝒥 on the short corridor,
exact and measured, and the variance-minimising constant baseline b* beside 𝒥(θ) and v_π.

Lecture: "REINFORCE" (baselines); blog: "causality trick".
"""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import estimators, exact, rollout
from pgref.figures import common

CAPTION = ("Per-episode variance of the ∂/∂θ_right term of each estimator on the short corridor: "
           "exact (bars, exact.estimator_covariance) and measured over K episodes (dots, 95% "
           "intervals); all have mean ∇𝒥. The reward-to-go Gₜ removes 63% of G(τ)'s variance, "
           "a baseline 58–61% of the rest. v_π(Sₜ) is not the best baseline: the constant 𝒥(θ) "
           "does better, and b* = E[X₀Y]/E[Y²] better still (X₀ the term without baseline, "
           "Y = Σₜ ∇log π_θ(Aₜ|Sₜ)). Variance is paid for by the squared score: b* weights the "
           "returns by Y², not by π as v_π and 𝒥 do; here b* = −19.73 < 𝒥(θ) = −18.68.")

N_EPISODES = 200_000
"""K for the measured variances (quick mode: :data:`N_EPISODES_QUICK`)."""

N_EPISODES_QUICK = 20_000

COLOURS = (*common.METHOD_COLOURS[:3], "tab:red", common.METHOD_COLOURS[3])
"""G(τ), Gₜ, Gₜ − 𝒥(θ), Gₜ − b*, Gₜ − v_π(Sₜ)."""


class VarianceData(NamedTuple):
    r"""Data behind ``variance.png``: one episode's ∂/∂θ_right term under each estimator."""

    names: tuple[str, ...]
    """The M = 5 estimators: G(τ), Gₜ, Gₜ − 𝒥(θ), Gₜ − b*, Gₜ − v_π(Sₜ)."""
    per_episode: np.ndarray
    """Shape (M, K): ∂/∂θ_right of each episode's term (``GradientEstimate.per_episode``)."""
    mean: np.ndarray
    """Shape (M,): the estimate of ∂𝒥/∂θ_right."""
    standard_error: np.ndarray
    """Shape (M,): its standard error."""
    variance: np.ndarray
    """Shape (M,): the per-episode variance s² = 1/(K − 1) Σₖ (xₖ − x̄)²."""
    variance_lower: np.ndarray
    """Shape (M,): the lower end of its 95% confidence interval (normal approximation for the
    mean of (xₖ − x̄)²)."""
    variance_upper: np.ndarray
    """Shape (M,): the upper end."""
    exact_variance: np.ndarray
    """Shape (M,): the exact Var of each term, from :func:`pgref.exact.estimator_covariance`."""
    exact_component: float
    """∂𝒥/∂θ_right from :func:`pgref.exact.policy_gradient`."""
    objective: float
    """𝒥(θ₀), the constant baseline of the third estimator."""
    values: np.ndarray
    """Shape (S,): v_π(s), the state baseline of the fifth (0 at the terminal state)."""
    optimal_baseline: float
    """b* for θ_right, from :func:`pgref.exact.optimal_constant_baseline`."""
    baselines: np.ndarray
    """Shape (B,): constants b around b*, 𝒥(θ) and v_π."""
    baseline_variance: np.ndarray
    """Shape (B,): the exact Var of the Gₜ − b term at each of them."""


def variance_data(quick: bool = False) -> VarianceData:
    r"""The exact and measured per-episode variance of each estimator of ∂𝒥/∂θ_right.

    Parameters
    ----------
    quick : bool
        K = 20 000 episodes instead of 200 000, and 21 constants b instead of 81.

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm" and blog, "causality trick": every estimator
    has mean ∇𝒥. The rewards before t, which Gₜ leaves out, and the b(Sₜ) a baseline subtracts
    (a term of mean b(Sₜ) Σ_a ∇π_θ(a|Sₜ) = 0) only add noise. Var(∇̂𝒥) = Var(X)/K, so a 3×
    smaller variance needs 3× fewer episodes for the same error. With a constant b the term is
    X₀ − bY, Y = Σₜ ∇ log π_θ(Aₜ|Sₜ), so its variance Var X₀ − 2b E[X₀Y] + b² E[Y²] is a
    parabola in b with its minimum at b* = E[X₀Y]/E[Y²]. The interval for s² treats
    (xₖ − x̄)² as K i.i.d. terms (:meth:`pgref.estimators.MonteCarloEstimate.confidence_interval`);
    the terms are heavy-tailed (exact kurtosis 59–127 here), so it needs a large K.
    """
    mdp, policy = common.corridor()
    theta = common.CORRIDOR_THETA
    n_episodes = N_EPISODES_QUICK if quick else N_EPISODES
    J = exact.objective(mdp, policy, theta)
    values = exact.state_values(mdp, policy.action_probs(theta))
    optimum = float(exact.optimal_constant_baseline(mdp, policy, theta)[0])
    baselines = [None, None, J, optimum, values]

    def exact_variance(estimator, baseline=None):
        return exact.estimator_covariance(mdp, policy, theta, estimator, baseline)[0, 0]

    episodes = rollout.sample_episodes(mdp, policy, theta, n_episodes,
                                       np.random.default_rng(40))
    chosen = [estimators.pg_v1(policy, theta, episodes, mdp.gamma)] + [
        estimators.reinforce(policy, theta, episodes, mdp.gamma, baseline=b)
        for b in baselines[1:]]
    names = (*common.ESTIMATOR_NAMES[:2], "REINFORCE: Gₜ − 𝒥(θ)", "REINFORCE: Gₜ − b*",
             common.ESTIMATOR_NAMES[2])
    per_episode = np.stack([estimate.per_episode[:, 0] for estimate in chosen])
    deviations = (per_episode - per_episode.mean(axis=1, keepdims=True)) ** 2
    deviations *= n_episodes / (n_episodes - 1)  # so that their mean is s², unbiased
    bounds = [estimators.MonteCarloEstimate(d.mean(keepdims=True), d[:, None])
              .confidence_interval(0.95) for d in deviations]
    grid = np.linspace(-28.0, -8.0, 21 if quick else 81)
    return VarianceData(
        names, per_episode,
        np.array([estimate.mean[0] for estimate in chosen]),
        np.array([estimate.standard_error()[0] for estimate in chosen]),
        deviations.mean(axis=1),
        np.array([b.lower[0] for b in bounds]), np.array([b.upper[0] for b in bounds]),
        np.array([exact_variance("pg_v1")]
                 + [exact_variance("reinforce", b) for b in baselines[1:]]),
        float(exact.policy_gradient(mdp, policy, theta)[0]), J, values, optimum, grid,
        np.array([exact_variance("reinforce", float(b)) for b in grid]),
    )


def _draw_variances(axes, data: VarianceData, rows) -> None:
    """Exact variances as bars, the measured s² as dots with their 95% intervals."""
    axes.barh(rows, data.exact_variance, color=COLOURS, alpha=0.45, label="exact Var")
    errors = np.vstack([data.variance - data.variance_lower,
                        data.variance_upper - data.variance])
    axes.errorbar(data.variance, rows, xerr=errors, fmt="o", color="black", markersize=4,
                  capsize=3, label="measured s², 95% interval")
    for index, (row, value) in enumerate(zip(rows, data.exact_variance, strict=True)):
        ratio = "" if index == 0 else f" = {value / data.exact_variance[0]:.3f} × PG_v1's"
        axes.text(max(value, data.variance_upper[index]) + 0.01 * data.exact_variance.max(),
                  row + 0.2, f"{value:,.0f}{ratio}", fontsize=8)
    axes.set(yticks=rows, yticklabels=data.names,
             xlim=(0, 1.45 * max(data.variance_upper.max(), data.exact_variance.max())),
             xlabel="per-episode variance of the ∂/∂θ_right term",
             title=f"Variance: exact, and measured (K = {data.per_episode.shape[1]:,})")
    axes.grid(axis="y", visible=False)
    axes.legend(loc="lower right")


def _draw_baselines(axes, data: VarianceData) -> None:
    """Var of Gₜ − b against the constant b: its minimum b*, 𝒥(θ), and the range of v_π."""
    axes.plot(data.baselines, data.baseline_variance, color=COLOURS[2],
              label="Var of Gₜ − b, b constant")
    live = data.values[:-1]  # the terminal state's v_π = 0 is never used
    axes.axvspan(live.min(), live.max(), color=COLOURS[4], alpha=0.12,
                 label="range of v_π(s) over the states")
    axes.axhline(data.exact_variance[4], color=COLOURS[4], linestyle="--",
                 label=f"Gₜ − v_π(Sₜ): {data.exact_variance[4]:,.1f}")
    axes.plot(data.objective, data.exact_variance[2], "s", color=COLOURS[2],
              label=f"b = 𝒥(θ) = {common.number(data.objective)}: {data.exact_variance[2]:,.1f}")
    axes.plot(data.optimal_baseline, data.exact_variance[3], "o", color=COLOURS[3],
              label=(f"b* = E[X₀Y]/E[Y²] = {common.number(data.optimal_baseline)}: "
                     f"{data.exact_variance[3]:,.1f}"))
    low = data.exact_variance[3]
    axes.set(xlabel="constant baseline b", ylabel="exact variance",
             ylim=(low - 0.05 * (data.baseline_variance.max() - low),
                   data.baseline_variance.max()),
             title=f"Which b? (none: {data.exact_variance[1]:,.0f})")
    axes.legend(loc="upper center", fontsize=8)


def _draw_means(axes, data: VarianceData, rows) -> None:
    """Every estimate of ∂𝒥/∂θ_right with its 95% interval, around the exact value."""
    for row, mean, error, colour in zip(rows, data.mean, data.standard_error, COLOURS,
                                        strict=True):
        axes.errorbar(mean, row, xerr=common.Z_95 * error, fmt="o", color=colour, capsize=4)
    axes.axvline(data.exact_component, color=common.EXACT_COLOUR, linestyle="--",
                 label=f"exact ∂𝒥/∂θ_right = {common.number(data.exact_component)}")
    axes.set(yticks=rows, yticklabels=[], ylim=(rows[-1] - 0.6, rows[0] + 0.9),
             xlabel="estimate of ∂𝒥/∂θ_right", title="Same mean ∇𝒥 (95% intervals)")
    axes.grid(axis="y", visible=False)
    axes.legend(loc="upper right", fontsize=8)


def draw_variance(data: VarianceData, figure: Figure) -> None:
    """Left: exact and measured variances. Middle: the constant baselines. Right: the means."""
    left, middle, right = figure.subplots(1, 3, width_ratios=(1.5, 1.1, 0.8))
    rows = np.arange(len(data.names))[::-1]  # the first estimator on top
    _draw_variances(left, data, rows)
    _draw_baselines(middle, data)
    _draw_means(right, data, rows)


FIGURE = common.FigureSpec(name="variance", size=(15.0, 4.0), caption=CAPTION,
                           data=variance_data, draw=draw_variance,
                           boxes=((0.1228, 0.1192, 0.3568, 0.8171),
                                  (0.5300, 0.1192, 0.2617, 0.8171),
                                  (0.8069, 0.1192, 0.1903, 0.8171)))
