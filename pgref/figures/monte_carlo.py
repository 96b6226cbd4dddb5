r"""Figure ``monte_carlo``: Monte-Carlo estimates of ∇𝒥 on the short corridor against K.

Lecture: "Training Policy Network: SGD", "REINFORCE"; blog: "causality trick".
"""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import algorithms, exact, rollout
from pgref.figures import common

CAPTION = ("Monte-Carlo estimates of ∇𝒥 on the short corridor (γ = 1, π(right) ≈ 0.25) from K "
           "episodes: one run of each estimator against the exact ∂𝒥/∂θ_right (left), and the "
           "RMS error over independent runs against K on log-log axes, on the lines "
           "√(tr Cov/K) of slope −1/2, with the exact covariance of one episode's term "
           "(right).")


class MonteCarloData(NamedTuple):
    r"""Data behind ``monte_carlo.png``."""

    names: tuple[str, ...]
    """The M estimators (:data:`~pgref.figures.common.ESTIMATOR_NAMES`)."""
    counts: np.ndarray
    """Integers, shape (C,): the numbers of episodes K (log-spaced, from 2)."""
    exact_gradient: np.ndarray
    """Shape (2,): ∇𝒥(θ₀) from :func:`pgref.exact.policy_gradient`."""
    running_estimate: np.ndarray
    """Shape (M, C): ∂/∂θ_right of each estimate from the first K episodes of repetition 0."""
    running_standard_error: np.ndarray
    """Shape (M, C): its standard error s_K/√K."""
    rms_error: np.ndarray
    """Shape (M, C): √(1/R Σᵣ ‖∇̂J_K⁽ʳ⁾ − ∇𝒥‖²) over R independent repetitions."""
    per_episode_variance: np.ndarray
    """Shape (M,): tr Cov of one episode's term, exactly (:func:`pgref.exact.estimator_covariance`):
    the RMS error of an unbiased estimator from K episodes is √(tr Cov / K)."""
    final_estimates: np.ndarray
    """Shape (M, R, 2): each repetition's estimate from all K_max of its episodes."""
    slopes: np.ndarray
    """Shape (M,): the least-squares log-log slope of ``rms_error`` over K ≥ ``slope_from``
    (:func:`pgref.algorithms.loglog_slope`): −1/2 in theory."""
    slope_from: int
    """The smallest K in the fit (below it, rare long episodes are mostly missing from R runs,
    so the RMS error sits under √(tr Cov / K))."""


def monte_carlo_data(quick: bool = False) -> MonteCarloData:
    r"""Error of the three estimators of ∇𝒥 against the number of episodes K.

    Parameters
    ----------
    quick : bool
        R = 24 repetitions of up to K = 256 episodes instead of R = 40 of up to 2 048.

    Notes
    -----
    Lecture, "Training Policy Network: SGD": ∇̂𝒥 = 1/K Σₖ G(τₖ) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k]);
    lecture, "REINFORCE", and blog, "causality trick": Gₜ in place of G(τ); a baseline b(Sₜ)
    subtracted from Gₜ. Each is a mean of K i.i.d. episode terms with mean ∇𝒥, so its error is
    √(tr Cov/K): a line of slope −1/2 on log-log axes, lower for a smaller per-episode variance.
    """
    mdp, policy = common.corridor()
    theta = common.CORRIDOR_THETA
    n_repetitions, k_max = (24, 256) if quick else (40, 2_048)
    counts = common.log_counts(k_max, 25 if quick else 40, start=2)
    gradient = exact.policy_gradient(mdp, policy, theta)
    rng = np.random.default_rng(30)
    squared_errors = np.zeros((len(common.ESTIMATOR_NAMES), counts.size))
    estimates = np.zeros_like(squared_errors)  # repetition 0's running ∂/∂θ_right
    standard_errors = np.zeros_like(squared_errors)
    terms: list[list[np.ndarray]] = [[] for _ in common.ESTIMATOR_NAMES]
    for repetition in range(n_repetitions):
        episodes = rollout.sample_episodes(mdp, policy, theta, k_max, rng)
        for m, estimate in enumerate(common.three_estimates(mdp, policy, theta, episodes)):
            running = common.running_mean(estimate.per_episode, counts)  # (C, 2)
            squared_errors[m] += ((running - gradient) ** 2).sum(axis=1)
            terms[m].append(estimate.per_episode)
            if repetition == 0:
                estimates[m] = running[:, 0]
                standard_errors[m] = common.running_standard_error(
                    estimate.per_episode[:, 0], counts)
    values = exact.state_values(mdp, policy.action_probs(theta))
    variances = np.array([np.trace(exact.estimator_covariance(mdp, policy, theta, *estimator))
                          for estimator in (("pg_v1",), ("reinforce",), ("reinforce", values))])
    rms_error = np.sqrt(squared_errors / n_repetitions)
    slope_from = 16
    fitted = counts >= slope_from
    slopes = np.array([algorithms.loglog_slope(counts[fitted], e[fitted]) for e in rms_error])
    final = np.array([[t.mean(axis=0) for t in per_method] for per_method in terms])
    return MonteCarloData(common.ESTIMATOR_NAMES, counts, gradient, estimates, standard_errors,
                          rms_error, variances, final, slopes, slope_from)


def draw_monte_carlo(data: MonteCarloData, figure: Figure) -> None:
    """Left: one run of each estimator against ∇𝒥. Right: RMS error against K, log-log."""
    left, right = figure.subplots(1, 2)
    exact_component = data.exact_gradient[0]
    common.draw_running_estimates(left, data.counts, data.running_estimate,
                                  data.running_standard_error, data.names,
                                  common.ESTIMATOR_COLOURS, centre=exact_component,
                                  from_count=10)
    left.axhline(exact_component, color=common.EXACT_COLOUR, linestyle="--",
                 label=f"exact ∂𝒥/∂θ_right = {common.number(exact_component)}")
    left.set(ylabel="estimate of ∂𝒥/∂θ_right",
             title="One run of each estimator\n(band: 95% interval)")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8.5)

    for name, error, variance, slope, colour in zip(data.names, data.rms_error,
                                                    data.per_episode_variance, data.slopes,
                                                    common.ESTIMATOR_COLOURS, strict=True):
        right.plot(data.counts, error, "o", color=colour, markersize=3.5,
                   label=f"{name} (fitted slope {common.number(slope)})")
        right.plot(data.counts, np.sqrt(variance / data.counts), color=colour, linewidth=1.0,
                   linestyle="--")
    right.plot([], [], color="grey", linestyle="--", label="√(tr Cov / K): slope −1/2")
    right.set(xscale="log", yscale="log", xlabel="number of episodes K",
              ylabel="RMS error ‖estimate − ∇𝒥‖",
              title=f"RMS error over {data.final_estimates.shape[1]} independent runs\n"
                    f"(slopes fitted for K ≥ {data.slope_from})")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8.5)


FIGURE = common.FigureSpec(name="monte_carlo", size=(10.0, 4.8), caption=CAPTION,
                           data=monte_carlo_data, draw=draw_monte_carlo,
                           boxes=((0.0638, 0.2806, 0.4337, 0.6204),
                                  (0.5621, 0.2806, 0.4337, 0.6204)))
