r"""Figure ``rates``: the O(1/t) rate of exact softmax ascent (Mei et al., 2020), and the
natural gradient's geometric rate."""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import algorithms, envs
from pgref.figures import common
from pgref.policies import SoftmaxLinearPolicy

CAPTION = ("Exact softmax policy gradient on a three-armed bandit: the sub-optimality gap "
           "J* − J(θₜ) falls as O(1/t) under θ ← θ + α∇J, and geometrically under the natural "
           "gradient (left); t·(J* − J(θₜ)) levels off at k/((k + 1)α) (right).")


class RatesData(NamedTuple):
    r"""Data behind ``rates.png``."""

    means: np.ndarray
    """Shape (A,): the bandit's expected rewards r(a); J* = max_a r(a)."""
    alpha: float
    """α of both ascents."""
    steps: np.ndarray
    """Integers, shape (T + 1,): t = 0, 1, …, T."""
    vanilla_gap: np.ndarray
    """Shape (T + 1,): J* − J(θₜ) under θ ← θ + α ∇J(θ)
    (:func:`pgref.algorithms.exact_gradient_ascent`)."""
    natural_gap: np.ndarray
    """Shape (T_nat + 1,): J* − J(θₜ) under θ ← θ + α F⁺∇J(θ)
    (:func:`pgref.algorithms.natural_gradient_ascent`)."""
    n_suboptimal: int
    """k, the number of sub-optimal arms."""
    limit: float
    """lim t·(J* − J(θₜ)) = k / ((k + 1) α) for vanilla ascent."""
    late_slope: float
    """The log-log slope of the vanilla gap over t ≥ T/10
    (:func:`pgref.algorithms.loglog_slope`)."""


def rates_data(quick: bool = False) -> RatesData:
    r"""Sub-optimality gaps of exact softmax policy gradient and natural gradient on a bandit.

    Parameters
    ----------
    quick : bool
        T = 300 vanilla updates instead of 3 000.

    Notes
    -----
    With the exact gradient (lecture: "Training Policy Network", θ ← θ + α ∇J) a softmax policy
    approaches a deterministic optimum at rate J* − J(θₜ) = O(1/t) (Mei et al., 2020, with
    problem-dependent constants), because ∇π_θ vanishes as π_θ saturates. On a bandit pgref's
    own gradient-flow derivation gives t·(J* − J(θₜ)) → k / ((k + 1) α) (checked in
    ``tests/test_natural.py``; it is not a result of Mei et al.). The natural
    gradient F⁺∇J (Kakade, 2001) moves θ by the advantages instead, and its gap falls
    geometrically (Agarwal et al., 2021).
    """
    means = np.array([1.0, 0.6, 0.2])
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    alpha = 1.0
    n_updates = 300 if quick else 3_000
    theta_0 = np.zeros(means.size)
    vanilla = algorithms.exact_gradient_ascent(problem.mdp, policy, theta_0, alpha, n_updates)
    natural = algorithms.natural_gradient_ascent(problem.mdp, policy, theta_0, alpha, 40)
    steps = np.arange(n_updates + 1)
    gap = means.max() - vanilla.objective
    late = steps >= n_updates // 10
    n_suboptimal = int(np.sum(means < means.max()))
    return RatesData(
        means, alpha, steps, gap, means.max() - natural.objective,
        n_suboptimal, n_suboptimal / ((n_suboptimal + 1) * alpha),
        algorithms.loglog_slope(steps[late], gap[late]),
    )


def draw_rates(data: RatesData, figure: Figure) -> None:
    """Left: J* − J(θₜ) on log-log axes. Right: t·(J* − J(θₜ)) levelling off."""
    left, right = figure.subplots(1, 2)
    t = data.steps[1:]
    left.plot(t, data.vanilla_gap[1:], color="tab:blue", label="vanilla: θ ← θ + α∇J")
    natural_t = np.arange(data.natural_gap.size)
    shown = (natural_t > 0) & (data.natural_gap > 1e-14)  # below: rounding of J itself
    left.plot(natural_t[shown], data.natural_gap[shown], "o-", color="tab:orange",
              markersize=3, label="natural: θ ← θ + α F⁺∇J")
    left.plot(t, data.limit / t, color="grey", linestyle="--",
              label=f"k/((k + 1)α t) = {data.limit:.3g}/t")
    left.set(xscale="log", yscale="log", xlabel="update t", ylabel="J* − J(θₜ)",
             title="Sub-optimality gap (late log-log slope "
                   f"{common.number(data.late_slope, '.3f')})")
    left.legend(loc="upper right")

    right.plot(t, t * data.vanilla_gap[1:], color="tab:blue", label="vanilla: t·(J* − J(θₜ))")
    right.axhline(data.limit, color="grey", linestyle="--",
                  label=f"gradient-flow limit k/((k + 1)α) = {data.limit:.3g},\n"
                        f"k = {data.n_suboptimal} sub-optimal arms")
    right.set(xscale="log", ylim=(0, 1.3 * np.max(t * data.vanilla_gap[1:])),
              xlabel="update t", ylabel="t·(J* − J(θₜ))",
              title="O(1/t): t times the gap levels off")
    right.legend(loc="lower right")
    means = ", ".join(f"{m:g}" for m in data.means)
    figure.suptitle(f"Exact softmax policy gradient on a bandit, r = ({means}), α = "
                    f"{data.alpha:g}", fontsize=10)


FIGURE = common.FigureSpec(name="rates", size=(10.0, 4.0), caption=CAPTION,
                           data=rates_data, draw=draw_rates)
