r"""Figure ``particle``: the continuous moving particle under a learned linear-Gaussian policy.

Lecture: "Example: Moving Particle", "Example: Gaussian".
"""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref import algorithms, lqr
from pgref.figures import common
from pgref.policies import GaussianPolicy

CAPTION = ("The continuous moving particle (γ = 0.8) with a linear-Gaussian policy "
           "a ∼ N(Ls, σ² I): positions under θ₀ and under the policy learned by REINFORCE "
           "(left); the gain L and σ² over the updates, sampled (mean over seeds) and exact "
           "ascent, against the Riccati gain L* and σ² → 0 (middle, right).")


class ParticleData(NamedTuple):
    r"""Data behind ``particle.png``."""

    problem: lqr.LinearQuadraticProblem
    """The particle: sₜ₊₁ = sₜ + 0.1 aₜ, reward −(‖sₜ‖² + 0.1‖aₜ‖²), s₀ ∼ N(0, I)."""
    policy: GaussianPolicy
    """a ∼ N(Θᵀs, σ² I), θ = [Θ row-major, log σ²] (:func:`pgref.lqr.linear_gaussian_policy`)."""
    gamma: float
    optimal_gain: np.ndarray
    """Shape (2, 2): L* from :func:`pgref.lqr.optimal_gain` (the best σ² is 0: a = L*s)."""
    alpha: float
    """α of both the sampled and the exact ascent."""
    batch_size: int
    """K episodes per sampled update."""
    seeds: tuple[int, ...]
    updates: np.ndarray
    """Integers, shape (U + 1,): 0, 1, …, U."""
    theta: np.ndarray
    """Shape (n_seeds, U + 1, 5): θ = [Θ row-major, log σ²] of REINFORCE_batch."""
    gain: np.ndarray
    """Shape (n_seeds, U + 1, 2, 2): L = Θᵀ (:func:`pgref.lqr.gain_matrix`)."""
    variance: np.ndarray
    """Shape (n_seeds, U + 1): σ² (``policy.variance``)."""
    objective: np.ndarray
    """Shape (n_seeds, U + 1): the exact 𝒥(θ) (``History.objective``)."""
    exact_gain: np.ndarray
    """Shape (U + 1, 2, 2): L under exact ascent θ ← θ + α ∇𝒥."""
    exact_variance: np.ndarray
    """Shape (U + 1,): σ² under exact ascent."""
    exact_objective: np.ndarray
    """Shape (U + 1,): 𝒥 under exact ascent."""
    initial_paths: np.ndarray
    """Shape (n_paths, H, 2): positions Sₜ of sampled episodes under θ₀."""
    learned_paths: np.ndarray
    """Shape (n_paths, H, 2): the same under the learned θ (seed 0's last)."""


def particle_data(quick: bool = False) -> ParticleData:
    r"""REINFORCE on the 2-D moving particle: the gain L → L*, σ² → 0; paths before and after.

    Parameters
    ----------
    quick : bool
        One seed of 10 updates instead of 4 seeds of 100.

    Notes
    -----
    Lecture, "Example: Moving Particle" (continuous: sₜ₊₁ = sₜ + Δt aₜ, reward
    −(‖sₜ‖² + 0.1‖aₜ‖²), γ = 0.8, s₀ ∼ N(0, I)) with the policy of "Example: Gaussian",
    a ∼ N(Θᵀx(s), σ² I) on x(s) = s, learning θ and σ² (through log σ², which keeps σ² > 0).
    REINFORCE_batch with γᵗ and K = 100 episodes of H = 40 steps per update (γᴴ ≈ 1.3e-4 cut
    off); exact ascent uses the Lyapunov-solve ∇𝒥 of :func:`pgref.lqr.policy_gradient`. The
    optimal gain L* solves the discounted Riccati equation; the optimal σ² is 0, since
    ∂𝒥/∂σ² < 0 everywhere (:func:`pgref.lqr.objective`).
    """
    problem = lqr.moving_particle(dim=2, gamma=0.8, initial_mean=np.zeros(2),
                                  initial_cov=np.eye(2))
    policy = lqr.linear_gaussian_policy(problem, variance=0.5, learn_variance=True,
                                        variance_parameter="log_variance")
    theta_0 = lqr.theta_for_gain(policy, np.zeros((2, 2)), 0.5)
    alpha, batch_size, horizon = 0.03, 100, 40
    seeds, n_updates = ((0,), 10) if quick else ((0, 1, 2, 3), 100)
    histories = [algorithms.REINFORCE_batch(problem, policy, theta_0, alpha, n_updates,
                                            batch_size, np.random.default_rng(80 + seed),
                                            max_steps=horizon, allow_truncated=True)
                 for seed in seeds]
    ascent = algorithms.exact_gradient_ascent(problem, policy, theta_0, alpha, n_updates)

    def gains(thetas):
        return np.array([lqr.gain_matrix(policy, theta) for theta in thetas])

    def variances(thetas):
        return np.array([policy.variance(theta) for theta in thetas])

    rng = np.random.default_rng(88)
    n_paths, path_length = 12, 30
    paths = [lqr.sample_trajectories(problem, policy, theta, n_paths, path_length,
                                     rng).padded().states  # (n_paths, H, 2)
             for theta in (theta_0, histories[0].final_theta)]
    return ParticleData(
        problem, policy, problem.gamma, lqr.optimal_gain(problem), alpha, batch_size, seeds,
        np.arange(n_updates + 1),
        np.array([h.theta for h in histories]),
        np.array([gains(h.theta) for h in histories]),
        np.array([variances(h.theta) for h in histories]),
        np.array([h.objective for h in histories]),
        gains(ascent.theta), variances(ascent.theta), ascent.objective,
        paths[0], paths[1],
    )


_ENTRY_STYLE = {  # (i, j) of L → colour, label
    (0, 0): ("tab:blue", "L₁₁"),
    (1, 1): ("tab:cyan", "L₂₂"),
    (0, 1): ("tab:orange", "L₁₂"),
    (1, 0): ("tab:brown", "L₂₁"),
}


def draw_particle(data: ParticleData, figure: Figure) -> None:
    """Paths before and after learning; L and σ² over the updates against L* and 0."""
    paths, gain, variance = figure.subplots(1, 3)
    for path in data.initial_paths:
        paths.plot(path[:, 0], path[:, 1], color="grey", alpha=0.5, linewidth=0.8)
    for path in data.learned_paths:
        paths.plot(path[:, 0], path[:, 1], color="tab:blue", alpha=0.8, linewidth=1.0)
    paths.plot(data.learned_paths[:, 0, 0], data.learned_paths[:, 0, 1], "o", color="tab:blue",
               markersize=3)
    paths.plot(data.initial_paths[:, 0, 0], data.initial_paths[:, 0, 1], "o", color="grey",
               markersize=3)
    initial_gain = "0" if not data.exact_gain[0].any() else "L₀"
    paths.plot([], [], color="grey",
               label=f"θ₀: L = {initial_gain}, σ² = {data.exact_variance[0]:g}")
    paths.plot([], [], color="tab:blue", label="learned θ (seed 0)")
    paths.plot(0, 0, "*", color="tab:red", markersize=12, label="origin (reward 0)")
    paths.set(aspect="equal", xlabel="position s₁", ylabel="position s₂",
              title=f"Paths Sₜ, t < {data.learned_paths.shape[1]} (dots: S₀)")
    paths.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8)

    mean_gain = data.gain.mean(axis=0)  # over seeds, (U + 1, 2, 2)
    for (i, j), (colour, name) in _ENTRY_STYLE.items():
        gain.plot(data.updates, mean_gain[:, i, j], color=colour, label=f"{name} REINFORCE")
    gain.plot(data.updates, data.exact_gain[:, 0, 0], color=common.EXACT_COLOUR, linestyle="--",
              label="L₁₁ = L₂₂, exact ascent")
    gain.plot(data.updates, data.exact_gain[:, 0, 1], color=common.EXACT_COLOUR, linestyle="-.",
              label="L₁₂ = L₂₁, exact ascent")
    gain.axhline(data.optimal_gain[0, 0], color="tab:red", linewidth=1.0,
                 label=f"L*₁₁ = L*₂₂ = {common.number(data.optimal_gain[0, 0])}; L*₁₂ = L*₂₁ = 0")
    gain.axhline(0.0, color="tab:red", linewidth=1.0)
    gain.set(xlabel=f"update ({data.batch_size} episodes per update)",
             ylabel="gain entry (mean action a = L s)",
             title=f"Gain L = Θᵀ (mean over {len(data.seeds)} seeds)")
    gain.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=8)

    spread = (data.variance.min(axis=0), data.variance.max(axis=0))
    variance.fill_between(data.updates, *spread, color="tab:blue", alpha=0.15, linewidth=0)
    variance.plot(data.updates, data.variance.mean(axis=0), color="tab:blue",
                  label=f"REINFORCE (mean, range over {len(data.seeds)} seeds)")
    variance.plot(data.updates, data.exact_variance, color=common.EXACT_COLOUR, linestyle="--",
                  label="exact ascent")
    variance.axhline(0.0, color="tab:red", linewidth=1.0, label="optimal σ² → 0 (a = L*s)")
    variance.set(xlabel=f"update (α = {data.alpha:g})", ylabel="σ² (variance, not σ)",
                 title="Policy variance σ² (learned as log σ²)")
    variance.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8)


FIGURE = common.FigureSpec(name="particle", size=(3 * 4.8, 4.8), caption=CAPTION,
                           data=particle_data, draw=draw_particle,
                           boxes=((0.0471, 0.2752, 0.2856, 0.6717),
                                  (0.3835, 0.2752, 0.2856, 0.6717),
                                  (0.7115, 0.2752, 0.2856, 0.6717)))
