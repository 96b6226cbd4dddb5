r"""Figure ``discounting``: REINFORCE with and without γᵗ when γ < 1 (lecture: "REINFORCE")."""

import dataclasses
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import estimators, exact, rollout
from pgref.figures import common

CAPTION = ("Discounting: on the short corridor with γ = 0.9, REINFORCE with the factor γᵗ "
           "converges to ∇𝒥, and without it to the different vector Σ_s n₁(s) Σ_a q_γ(s, a) "
           "∇π_θ(a|s) (left); against γ, at this θ the two meet only at γ = 1 (right). "
           "They need not differ elsewhere: on a one-step task they agree for every γ, and on "
           "the corridor at θ = (1.5, 0) they meet again at γ ≈ 0.237.")


class DiscountingData(NamedTuple):
    r"""Data behind ``discounting.png``."""

    gamma: float
    """γ < 1 of the corridor in the left panel."""
    counts: np.ndarray
    """Integers, shape (C,): numbers of episodes K."""
    running_estimate: np.ndarray
    """Shape (2, C): ∂/∂θ_right of REINFORCE from the first K episodes: row 0 with γᵗ, row 1
    without."""
    running_standard_error: np.ndarray
    """Shape (2, C): their standard errors."""
    exact_gradient: np.ndarray
    """Shape (2,): ∇𝒥(θ₀) (:func:`pgref.exact.policy_gradient`)."""
    dropped_direction: np.ndarray
    """Shape (2,): the γᵗ-dropped direction Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s)
    (:func:`pgref.exact.gamma_dropped_direction`)."""
    gammas: np.ndarray
    """Shape (G,): discounts for the right panel."""
    gradient_by_gamma: np.ndarray
    """Shape (G,): ∂/∂θ_right of ∇𝒥 at θ₀ for each γ."""
    dropped_by_gamma: np.ndarray
    """Shape (G,): ∂/∂θ_right of the γᵗ-dropped direction at θ₀ for each γ."""


def discounting_data(quick: bool = False) -> DiscountingData:
    r"""REINFORCE with and without γᵗ on the short corridor with γ = 0.9.

    Parameters
    ----------
    quick : bool
        Up to K = 5 000 episodes instead of 40 000, and 8 discounts instead of 36.

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm" writes θ ← θ + α Gₜ ∇ log π_θ(Aₜ|Sₜ) with
    γ = 1. With γ < 1 the gradient of 𝒥 = E[Σₜ γᵗ Rₜ₊₁] needs the factor γᵗ:

        ∇𝒥 = E[Σₜ γᵗ Gₜ ∇ log π_θ(Aₜ|Sₜ)] = Σ_s n(s) Σ_a q_γ(s, a) ∇π_θ(a|s),

    with n(s) = Σₜ γᵗ Pr(Sₜ = s). Without γᵗ the estimate converges to Σ_s n₁(s) Σ_a q_γ(s, a)
    ∇π_θ(a|s), n₁ the undiscounted visits: another vector, in general the gradient of no
    objective. The two coincide at γ = 1 (n₁ = n) and on any one-step task for every γ (n₁ = n
    there too); at θ₀ here they differ for every γ < 1, but at other θ they may cross at an
    isolated discount (at θ = (1.5, 0), near γ = 0.237).
    """
    undiscounted, policy = common.corridor()
    gamma = 0.9
    mdp = dataclasses.replace(undiscounted, gamma=gamma)
    theta = common.CORRIDOR_THETA
    k_max = 5_000 if quick else 40_000
    counts = common.log_counts(k_max, 30 if quick else 45, start=10)
    episodes = rollout.sample_episodes(mdp, policy, theta, k_max, np.random.default_rng(70))
    running = np.zeros((2, counts.size))
    standard_errors = np.zeros_like(running)
    for row, keep in enumerate((True, False)):
        terms = estimators.reinforce(policy, theta, episodes, gamma,
                                     discount_weighting=keep).per_episode[:, 0]
        running[row] = common.running_mean(terms, counts)
        standard_errors[row] = common.running_standard_error(terms, counts)

    gammas = np.linspace(0.3, 1.0, 8 if quick else 36)
    by_gamma = np.array([
        [exact.policy_gradient(m, policy, theta)[0],
         exact.gamma_dropped_direction(m, policy, theta)[0]]
        for m in (dataclasses.replace(undiscounted, gamma=g) for g in gammas)
    ])
    return DiscountingData(
        gamma, counts, running, standard_errors,
        exact.policy_gradient(mdp, policy, theta),
        exact.gamma_dropped_direction(mdp, policy, theta),
        gammas, by_gamma[:, 0], by_gamma[:, 1],
    )


def draw_discounting(data: DiscountingData, figure: Figure) -> None:
    """Left: REINFORCE with and without γᵗ against their limits. Right: the limits against γ."""
    left, right = figure.subplots(1, 2)
    colours = (common.METHOD_COLOURS[3], "tab:red")
    labels = ("with γᵗ: Σₜ γᵗ Gₜ ∇log π_θ(Aₜ|Sₜ)", "without γᵗ: Σₜ Gₜ ∇log π_θ(Aₜ|Sₜ)")
    gradient, dropped = data.exact_gradient[0], data.dropped_direction[0]
    common.draw_running_estimates(left, data.counts, data.running_estimate,
                                  data.running_standard_error, labels, colours,
                                  centre=[gradient, dropped], from_count=30)
    left.axhline(gradient, color=common.EXACT_COLOUR, linestyle="--",
                 label=f"∂𝒥/∂θ_right = {common.number(gradient)} (exact)")
    left.axhline(dropped, color=colours[1], linestyle=":",
                 label=f"γᵗ-dropped direction = {common.number(dropped)} (exact)")
    left.set(ylabel="REINFORCE estimate, ∂/∂θ_right",
             title=f"Short corridor, γ = {data.gamma:g}: two different limits")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8.5)

    right.plot(data.gammas, data.gradient_by_gamma, color=common.EXACT_COLOUR,
               label="∂𝒥/∂θ_right (with γᵗ)")
    right.plot(data.gammas, data.dropped_by_gamma, color=colours[1], linestyle=":",
               linewidth=2.0, label="γᵗ-dropped direction: Σ_s n₁(s) Σ_a q_γ(s, a) ∂π_θ(a|s)")
    right.axvline(data.gamma, color="grey", linewidth=1.0, label=f"γ = {data.gamma:g} (left)")
    right.set(xlabel="discount γ", ylabel="limit of the estimate, ∂/∂θ_right",
              title="At this θ they meet only at γ = 1")
    right.plot([], [], " ", label="n₁(s) = Σₜ Pr(Sₜ = s), undiscounted visits")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8.5)


FIGURE = common.FigureSpec(name="discounting", size=(10.0, 4.2), caption=CAPTION,
                           data=discounting_data, draw=draw_discounting,
                           boxes=((0.0624, 0.3087, 0.4088, 0.6306),
                                  (0.5870, 0.3087, 0.4088, 0.6306)))
