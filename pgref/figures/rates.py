r"""Figure ``rates``: the O(1/t) rate of exact softmax ascent (Mei et al., 2020), and the
natural gradient's geometric rate."""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import algorithms, envs
from pgref.figures import common
from pgref.policies import SoftmaxLinearPolicy

CAPTION = ("Exact softmax policy gradient on a three-armed bandit: the sub-optimality gap "
           "𝒥* − 𝒥(θₜ) falls as O(1/t) under θ ← θ + α∇𝒥, and geometrically under the natural "
           "gradient, by e^{−α(r* − r₂)} per step, followed far below float64's resolution of "
           "𝒥 by summing Σ_a π_θ(a)(r* − r(a)) (left); t·(𝒥* − 𝒥(θₜ)) levels off at "
           "k/((k + 1)α) (right).")


class RatesData(NamedTuple):
    r"""Data behind ``rates.png``."""

    means: np.ndarray
    """Shape (A,): the bandit's expected rewards r(a); 𝒥* = max_a r(a)."""
    alpha: float
    """α of both ascents."""
    steps: np.ndarray
    """Integers, shape (T + 1,): t = 0, 1, …, T."""
    vanilla_gap: np.ndarray
    """Shape (T + 1,): 𝒥* − 𝒥(θₜ) under θ ← θ + α ∇𝒥(θ)
    (:func:`pgref.algorithms.exact_gradient_ascent`)."""
    natural_gap: np.ndarray
    """Shape (T_nat + 1,): 𝒥* − 𝒥(θₜ) = Σ_a π_θₜ(a) (r* − r(a)) under θ ← θ + α F⁺∇𝒥(θ)
    (:func:`pgref.algorithms.natural_gradient_ascent`), summed from π_θₜ so that it stays
    accurate far below float64's resolution of 𝒥 itself (about 1e−16 𝒥*)."""
    n_suboptimal: int
    """k, the number of sub-optimal arms."""
    limit: float
    """lim t·(𝒥* − 𝒥(θₜ)) = k / ((k + 1) α) for vanilla ascent."""
    late_slope: float
    """The log-log slope of the vanilla gap over t ≥ T/10
    (:func:`pgref.algorithms.loglog_slope`)."""


def rates_data(quick: bool = False) -> RatesData:
    r"""Sub-optimality gaps of exact softmax policy gradient and natural gradient on a bandit.

    Parameters
    ----------
    quick : bool
        T = 100 vanilla updates instead of 1 000.

    Notes
    -----
    With the exact gradient (lecture: "Training Policy Network", θ ← θ + α ∇𝒥) a softmax policy
    approaches a deterministic optimum at rate 𝒥* − 𝒥(θₜ) = O(1/t) (Mei et al., 2020, with
    problem-dependent constants), because ∇π_θ vanishes as π_θ saturates. On a bandit pgref's
    own gradient-flow derivation gives t·(𝒥* − 𝒥(θₜ)) → k / ((k + 1) α) (checked in
    ``tests/test_natural.py``; it is not a result of Mei et al.). The natural
    gradient F⁺∇𝒥 (Kakade, 2001) moves θ by the advantages instead, and its gap falls
    geometrically (Agarwal et al., 2021).

    Both rates are in αt, the time of the gradient flow: α = 3 reaches αt = 3 000 in T = 1 000
    updates, where t·(𝒥* − 𝒥(θₜ)) is within 0.5 % of its limit and 𝒥 still rises at every
    update (both checked in ``tests/test_figures.py``), with a third of the updates of α = 1
    (each update costs one certified exact ∇𝒥).
    """
    means = np.array([1.0, 0.6, 0.2])
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    alpha = 3.0
    n_updates = 100 if quick else 1_000
    theta_0 = np.zeros(means.size)
    vanilla = algorithms.exact_gradient_ascent(problem.mdp, policy, theta_0, alpha, n_updates)
    # e^{−α(r* − r₂)·35} ≈ 1e−18: far below 𝒥's float64 resolution, and on the same axes
    natural = algorithms.natural_gradient_ascent(problem.mdp, policy, theta_0, alpha, 35)
    regret = means.max() - means  # r* − r(a), exact
    natural_gap = np.array([policy.action_probs(theta)[0] @ regret for theta in natural.theta])
    steps = np.arange(n_updates + 1)
    gap = means.max() - vanilla.objective
    late = steps >= n_updates // 10
    n_suboptimal = int(np.sum(means < means.max()))
    return RatesData(
        means, alpha, steps, gap, natural_gap,
        n_suboptimal, n_suboptimal / ((n_suboptimal + 1) * alpha),
        algorithms.loglog_slope(steps[late], gap[late]),
    )


def draw_rates(data: RatesData, figure: Figure) -> None:
    """Left: 𝒥* − 𝒥(θₜ) on log-log axes. Right: t·(𝒥* − 𝒥(θₜ)) levelling off."""
    left, right = figure.subplots(1, 2)
    t = data.steps[1:]
    left.plot(t, data.vanilla_gap[1:], color="tab:blue", label="vanilla: θ ← θ + α∇𝒥")
    natural_t = np.arange(data.natural_gap.size)
    shown = (natural_t > 0) & (data.natural_gap > 1e-300)  # past that, float64 underflows
    left.plot(natural_t[shown], data.natural_gap[shown], "o-", color="tab:orange",
              markersize=3, label="natural: θ ← θ + α F⁺∇𝒥")
    left.plot(t, data.limit / t, color="grey", linestyle="--",
              label=f"k/((k + 1)α t) = {data.limit:.3g}/t")
    left.set(xscale="log", yscale="log", xlabel="update t", ylabel="𝒥* − 𝒥(θₜ)",
             title="Sub-optimality gap (late log-log slope "
                   f"{common.number(data.late_slope, '.3f')})")
    left.legend(loc="lower left")

    right.plot(t, t * data.vanilla_gap[1:], color="tab:blue", label="vanilla: t·(𝒥* − 𝒥(θₜ))")
    right.axhline(data.limit, color="grey", linestyle="--",
                  label=f"gradient-flow limit k/((k + 1)α) = {data.limit:.3g},\n"
                        f"k = {data.n_suboptimal} sub-optimal arms")
    right.set(xscale="log", ylim=(0, 1.3 * np.max(t * data.vanilla_gap[1:])),
              xlabel="update t", ylabel="t·(𝒥* − 𝒥(θₜ))",
              title="O(1/t): t times the gap levels off")
    right.legend(loc="lower right")
    means = ", ".join(f"{m:g}" for m in data.means)
    figure.suptitle(f"Exact softmax policy gradient on a bandit, r = ({means}), α = "
                    f"{data.alpha:g}", fontsize=10)


FIGURE = common.FigureSpec(name="rates", size=(10.0, 4.0), caption=CAPTION,
                           data=rates_data, draw=draw_rates,
                           boxes=((0.0728, 0.1253, 0.4307, 0.7543),
                                  (0.5651, 0.1253, 0.4307, 0.7543)))
