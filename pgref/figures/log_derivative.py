r"""Figure ``log_derivative``: the log-derivative trick ∇𝒥 = E_τ[G(τ) ∇log p_θ(τ)], and
E[∇ log π_θ(A|s)] = 0 (lecture: "Log-Derivative Trick")."""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import envs, estimators, exact, rollout
from pgref.features import shared_action_features
from pgref.figures import common
from pgref.policies import GaussianPolicy, SoftmaxLinearPolicy

CAPTION = ("The log-derivative trick: on a small MDP whose every trajectory can be listed, "
           "the Monte-Carlo average of G(τ) ∇log p_θ(τ) over K sampled episodes tends to "
           "∇𝒥 = Σ_τ g(τ) p_θ(τ) ∇log p_θ(τ), summed over all τ (left); the sample mean of the "
           "score ∇ log π_θ(A|s) over N sampled actions tends to E[∇ log π_θ] = Σ_a ∇π_θ(a|s) "
           "= 0, within ±2 standard errors, for a softmax over four actions and for a Gaussian "
           "N(θ, σ²) (∂/∂θ, ∂/∂σ²) (middle, right).")


class LogDerivativeData(NamedTuple):
    r"""Data behind ``log_derivative.png``: scores of sampled actions and their running means."""

    counts: np.ndarray
    """Integers, shape (C,): the sample sizes N of the running means (log-spaced, up to N_max)."""
    softmax_theta: np.ndarray
    """Shape (A,): θ of the softmax over A actions with x(s, a) = e_a, in one state."""
    softmax_action_probs: np.ndarray
    """Shape (A,): π_θ(a|s)."""
    softmax_actions: np.ndarray
    """Integers, shape (N_max,): Aᵢ ∼ π_θ(·|s)."""
    softmax_scores: np.ndarray
    """Shape (N_max, A): ∇ log π_θ(Aᵢ|s), from ``policy.grad_log_prob``."""
    softmax_running_mean: np.ndarray
    """Shape (C, A): 1/N Σ_{i≤N} ∇ log π_θ(Aᵢ|s) at each N of ``counts``."""
    softmax_exact_mean: np.ndarray
    """Shape (A,): Σ_a π_θ(a|s) ∇ log π_θ(a|s) = Σ_a ∇π_θ(a|s), summed over the actions: 0."""
    gaussian_theta: np.ndarray
    """Shape (2,): (θ, σ²) of the Gaussian N(θ·1, σ²)."""
    gaussian_actions: np.ndarray
    """Shape (N_max,): Aᵢ ∼ N(θ, σ²)."""
    gaussian_scores: np.ndarray
    """Shape (N_max, 2): (∂/∂θ, ∂/∂σ²) log π_θ(Aᵢ|s)."""
    gaussian_running_mean: np.ndarray
    """Shape (C, 2): their running means, as for the softmax."""
    episode_counts: np.ndarray
    """Integers, shape (E,): numbers of episodes K for the trick's panel."""
    trick_running_mean: np.ndarray
    """Shape (E, 2): 1/K Σ_{k≤K} G(τ_k) ∇log p_θ(τ_k) on the layered MDP
    (:func:`pgref.estimators.pg_v1`'s per-episode terms)."""
    trick_running_standard_error: np.ndarray
    """Shape (E, 2): their standard errors."""
    trick_enumerated_gradient: np.ndarray
    """Shape (2,): Σ_τ g(τ) p_θ(τ) ∇log p_θ(τ) over every τ
    (:func:`pgref.exact.trajectory_form`)."""
    trick_n_trajectories: int
    """How many trajectories that sum runs over."""


def log_derivative_data(quick: bool = False) -> LogDerivativeData:
    r"""Scores ∇ log π_θ(A|s) of sampled actions: their sample mean tends to E[∇ log π] = 0.

    Parameters
    ----------
    quick : bool
        2 000 samples instead of 50 000.

    Notes
    -----
    Lecture, "Log-Derivative Trick": ∇f = f ∇log f for f > 0. Applied to f = π_θ(·|s),

        E_{A∼π_θ}[∇ log π_θ(A|s)] = ∫_a π_θ(a|s) ∇ log π_θ(a|s) = ∫_a ∇π_θ(a|s) = ∇ 1 = 0,

    the fact behind every baseline (lecture: "REINFORCE"; blog: "causality trick"). Shown for a
    softmax over four actions and for the Gaussian N(θ, σ²) with learned σ², whose scores are
    (A − θ)/σ² and ((A − θ)² − σ²)/(2σ⁴). Applied to f = p_θ(τ), the trick itself:

        ∇𝒥 = Σ_τ g(τ) ∇p_θ(τ) = Σ_τ g(τ) p_θ(τ) ∇log p_θ(τ) = E_τ[G(τ) Σₜ ∇log π_θ(Aₜ|Sₜ)],

    on :func:`pgref.envs.layered_mdp` (three states that only move forward, two actions, two
    features), summed over every trajectory by :func:`pgref.exact.trajectory_form` and averaged
    over K sampled episodes by :func:`pgref.estimators.pg_v1`.
    """
    rng = np.random.default_rng(20)
    n_max = 2_000 if quick else 50_000
    counts = common.log_counts(n_max, 60 if quick else 160)

    softmax = SoftmaxLinearPolicy(shared_action_features(np.eye(4), 1))
    softmax_theta = np.array([0.5, -0.5, 1.0, 0.0])
    states = np.zeros(n_max, dtype=int)
    softmax_actions = softmax.sample(softmax_theta, states, rng)
    softmax_scores = softmax.grad_log_prob(softmax_theta, states, softmax_actions)
    pi = softmax.action_probs(softmax_theta)[0]  # (A,)
    exact_mean = pi @ softmax.grad_log_prob_table(softmax_theta)[0]  # Σ_a π(a) ∇log π(a)

    gaussian = GaussianPolicy(np.ones((1, 1)), learn_variance=True)
    gaussian_theta = np.array([1.5, 0.25])
    gaussian_actions = gaussian.sample(gaussian_theta, states, rng)
    gaussian_scores = gaussian.grad_log_prob(gaussian_theta, states, gaussian_actions)
    layered = envs.layered_mdp(np.random.default_rng(21), 3, 2, n_features=2)
    trick_policy = SoftmaxLinearPolicy(layered.features)
    trick_theta = np.array([0.8, -0.4])
    enumerated = exact.trajectory_form(layered.mdp, trick_policy, trick_theta)
    k_max = 2_000 if quick else 50_000
    episode_counts = common.log_counts(k_max, 60 if quick else 120, start=10)
    episodes = rollout.sample_episodes(layered.mdp, trick_policy, trick_theta, k_max, rng)
    terms = estimators.pg_v1(trick_policy, trick_theta, episodes, 1.0).per_episode  # (K, 2)
    return LogDerivativeData(
        counts, softmax_theta, pi, softmax_actions, softmax_scores,
        common.running_mean(softmax_scores, counts), exact_mean,
        gaussian_theta, gaussian_actions, gaussian_scores,
        common.running_mean(gaussian_scores, counts),
        episode_counts, common.running_mean(terms, episode_counts),
        np.column_stack([common.running_standard_error(terms[:, i], episode_counts)
                         for i in range(2)]),
        enumerated.gradient, enumerated.n_trajectories,
    )


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _draw_running_means(axes, counts, running, scores, labels, title) -> None:
    """Running means of score components inside the widest ±2 s/√N band around 0."""
    envelope = 2.0 * scores.std(axis=0, ddof=1).max() / np.sqrt(counts)
    axes.fill_between(counts, -envelope, envelope, color="grey", alpha=0.2, linewidth=0,
                      label="±2 s/√N (widest component)")
    for index, label in enumerate(labels):
        axes.plot(counts, running[:, index], color=f"C{index}", label=label)
    axes.axhline(0.0, color="black", linewidth=1.0)
    limit = 2.5 * envelope[np.searchsorted(counts, 30)]
    axes.set(xscale="log", ylim=(-limit, limit), xlim=(1, counts[-1]),
             xlabel="number of sampled actions N", ylabel="1/N Σᵢ ∇ log π_θ(Aᵢ|s)",
             title=title)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)


def draw_log_derivative(data: LogDerivativeData, figure: Figure) -> None:
    """The trick's Monte-Carlo average converging to the enumerated ∇𝒥; running means of
    softmax and Gaussian scores converging to E[∇ log π] = 0."""
    trick, left, right = figure.subplots(1, 3)
    colours = ["C0", "C1"]
    common.draw_running_estimates(
        trick, data.episode_counts, data.trick_running_mean.T,
        data.trick_running_standard_error.T,
        [f"∂𝒥/∂θ{str(i + 1).translate(_SUBSCRIPTS)}: 1/K Σₖ G(τₖ) ∇log p_θ(τₖ)" for i in range(2)],
        colours, data.trick_enumerated_gradient, from_count=100)
    for value, colour in zip(data.trick_enumerated_gradient, colours, strict=True):
        trick.axhline(value, color=colour, linestyle="--", linewidth=1.0)
    trick.plot([], [], color="grey", linestyle="--",
               label=f"Σ_τ g(τ) p_θ(τ) ∇log p_θ(τ), {data.trick_n_trajectories} trajectories")
    trick.set(ylabel="∂𝒥/∂θᵢ", title="∇𝒥 = E_τ[G(τ) ∇log p_θ(τ)] on a 3-state MDP:\n"
              "sampled (95% band) and summed over every τ")
    trick.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=1)
    labels = [f"∂/∂θ{str(a).translate(_SUBSCRIPTS)}, π_θ(a = {a}|s) = {p:.2f}"
              for a, p in enumerate(data.softmax_action_probs)]
    _draw_running_means(left, data.counts, data.softmax_running_mean, data.softmax_scores,
                        labels, "Softmax over 4 actions, x(s, a) = e_a: E[∇ log π_θ(A|s)]\n"
                        "= Σ_a ∇π_θ(a|s) = ∇ Σ_a π_θ(a|s) = ∇1 = 0")
    theta, variance = data.gaussian_theta
    _draw_running_means(right, data.counts, data.gaussian_running_mean, data.gaussian_scores,
                        ["∂/∂θ = (A − θ)/σ²", "∂/∂σ² = ((A − θ)² − σ²)/(2σ⁴)"],
                        f"Gaussian N(θ, σ²), θ = {theta:g}, σ² = {variance:g}: "
                        "E[∇ log π_θ(A|s)]\n= ∫ ∇π_θ(a|s) da = ∇ ∫ π_θ(a|s) da = ∇1 = 0")


FIGURE = common.FigureSpec(name="log_derivative", size=(15.0, 4.9), caption=CAPTION,
                           data=log_derivative_data, draw=draw_log_derivative,
                           boxes=((0.0432, 0.2721, 0.2716, 0.6309),
                                  (0.3638, 0.2721, 0.2716, 0.6309),
                                  (0.6986, 0.2721, 0.2716, 0.6309)))
