# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6 · Gaussian policies: learning θ and σ² on the continuous moving particle
#
# Lecture, parts "Example: Gaussian" and "Example: Moving Particle", with the policy gradient
# theorem of notebook 5 applied to continuous actions:
#
#     π_θ(a|s) = N(θᵀx(s), σ²) = 1/√(2πσ²) · exp{−(a − θᵀx(s))² / (2σ²)},
#
# trained "either only learning θ, or learning both θ and σ²". In `pgref` the parameter is
# always the variance σ² (`variance`), never the standard deviation σ, unless a name says so.
# This notebook:
#
# 1. relates softmax and Gaussian policies (a softmax over a fine grid of actions with features
#    [a, a²] is a discretised Gaussian);
# 2. checks the scores in σ² and in log σ²;
# 3. learns θ and σ² on a Gaussian bandit, where ∂J/∂σ² = −d < 0;
# 4. solves the continuous moving particle — a linear-quadratic problem (`pgref.lqr`) — exactly,
#    checks REINFORCE against the exact gradient, and learns the Riccati gain.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import pgref
from pgref import algorithms, estimators, lqr
from pgref.numerics import central_difference

QUICK = os.environ.get("PGREF_QUICK") == "1"
rng = np.random.default_rng(6)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## Softmax versus Gaussian
#
# The lecture's ∫ₐ is a sum for discrete actions and an integral for continuous ones. A softmax
# over a grid of actions a₁ … a_M with features x(s, a) = [a, a²] is
#
#     π(a) ∝ exp{θ₁ a + θ₂ a²} = exp{−(a − μ)² / (2σ²)} · const,   θ₁ = μ/σ²,  θ₂ = −1/(2σ²),
#
# so on a fine grid `pgref.SoftmaxLinearPolicy` reproduces the density of
# `pgref.GaussianPolicy` times the grid spacing: the Gaussian policy is the softmax's continuous
# limit with a quadratic preference.

# %%
mean, variance = 0.7, 0.3
grid_actions = np.linspace(-4, 4, 801)
spacing = grid_actions[1] - grid_actions[0]
features = np.stack([grid_actions, grid_actions**2], axis=-1)[None]  # (S = 1, A = M, J = 2)
softmax = pgref.SoftmaxLinearPolicy(features)
theta_softmax = np.array([mean / variance, -1 / (2 * variance)])
gaussian = pgref.GaussianPolicy(np.ones((1, 1)), variance=variance)  # x(s) = 1, θ = [μ]
density = gaussian.density([mean], np.zeros(grid_actions.size, dtype=int), grid_actions)
probabilities = softmax.action_probs(theta_softmax)[0]
print("max |softmax probability − Gaussian density × Δa|:",
      np.abs(probabilities - density * spacing).max(), " (largest probability",
      probabilities.max(), ")")
assert np.allclose(probabilities, density * spacing, atol=1e-6)

# %% [markdown]
# ## The scores, in σ² and in log σ²
#
# `pgref.GaussianPolicy(..., learn_variance=True)` ends θ with σ² (the lecture's parameter) or,
# with `variance_parameter="log_variance"`, with log σ² (unconstrained). The last score is
#
#     ∂ log π/∂σ² = −1/(2σ²) + (a − μ)²/(2σ⁴),    ∂ log π/∂(log σ²) = σ² · ∂ log π/∂σ²,
#
# and differentiating in σ instead would give 2σ · ∂ log π/∂σ² — a different number; confusing
# the two is a classic bug.

# %%
x_state = np.array([[1.0, 0.5]])  # one state with x(s) = [1, 0.5]
a = 1.3
for parametrisation in ("variance", "log_variance"):
    policy = pgref.GaussianPolicy(x_state, variance=variance, learn_variance=True,
                                  variance_parameter=parametrisation)
    theta = policy.pack(np.array([[0.4], [0.6]]), variance)
    score = policy.grad_log_prob(theta, 0, a)
    by_differences = central_difference(lambda th, p=policy: p.log_prob(th, 0, a), theta)
    print(f"{parametrisation:<12} score {score}   finite differences {by_differences}")
    assert np.allclose(score, by_differences, atol=1e-8)
mu = 0.4 + 0.5 * 0.6
d_variance = -1 / (2 * variance) + (a - mu) ** 2 / (2 * variance**2)
print(f"∂/∂σ² = {d_variance:.4f},  σ² ∂/∂σ² = {variance * d_variance:.4f},"
      f"  ∂/∂σ = 2σ ∂/∂σ² = {2 * np.sqrt(variance) * d_variance:.4f}")

# %% [markdown]
# ## A Gaussian bandit: the best variance is zero
#
# One step, r(a) = −‖a − a*(s)‖² (`pgref.lqr.GaussianBandit`). For π = N(μ(s), σ² I), a ∈ ℝᵈ,
#
#     J(θ) = −Σ_s p(s) ‖μ(s) − a*(s)‖² − d σ²,    ∂J/∂σ² = −d,
#
# so learning σ² drives it to 0: the best policy is deterministic, a limit no Gaussian reaches.
# REINFORCE (`pgref.estimators.reinforce`) finds the sign and the size of ∂J/∂σ².

# %%
bandit = lqr.GaussianBandit(states=np.array([0, 1]), probabilities=[0.3, 0.7],
                            targets=[[1.0, -0.5], [0.0, 2.0]])
bandit_policy = pgref.GaussianPolicy(np.eye(2), action_dim=2, variance=0.5,
                                     learn_variance=True)
theta = bandit_policy.pack(np.full((2, 2), 0.2), 0.5)
episodes = bandit.sample_episodes(bandit_policy, theta, 20_000 if QUICK else 200_000, rng)
estimate = estimators.reinforce(bandit_policy, theta, episodes, bandit.gamma)
exact_gradient = bandit.policy_gradient(bandit_policy, theta)
print("exact ∇J     :", exact_gradient)
print("REINFORCE    :", estimate.mean, "\n  ± s.e.     :", estimate.standard_error())
z = (estimate.mean - exact_gradient) / estimate.standard_error()
print("z            :", z)
assert exact_gradient[-1] == -2.0  # −d with d = 2
assert np.all(np.abs(z) < 4.5) and estimate.mean[-1] + 4.5 * estimate.standard_error()[-1] < 0

# %% [markdown]
# Learning μ and σ² with REINFORCE_batch (`pgref.algorithms.REINFORCE_batch`) on a
# one-dimensional bandit with a* = 1. Holding σ² itself, the noisy steps overshoot 0; each time
# σ² is set back to a stated floor and the event is counted
# (`pgref.algorithms.History.n_projections`). Holding log σ², σ² falls smoothly and never
# needs the floor.

# %%
one_arm = lqr.GaussianBandit(states=np.array([0]), probabilities=[1.0], targets=[1.0])
n_updates = 100 if QUICK else 400  # 10 episodes per update
for parametrisation in ("variance", "log_variance"):
    policy = pgref.GaussianPolicy(np.ones((1, 1)), variance=1.0, learn_variance=True,
                                  variance_parameter=parametrisation)
    history = algorithms.REINFORCE_batch(one_arm, policy, policy.pack([[0.0]], 1.0), 0.05,
                                         n_updates, 10, np.random.default_rng(0))
    variances = [policy.variance(th) for th in history.theta]
    print(f"{parametrisation:<12}: μ {history.theta[0, 0]:.2f} → {history.final_theta[0]:.3f},"
          f"  σ² {variances[0]:.2f} → {variances[-1]:.2e},"
          f"  J {history.objective[0]:.2f} → {history.objective[-1]:.3f},"
          f"  projections onto the floor: {history.n_projections}")
    assert abs(history.final_theta[0] - 1.0) < 0.2 and variances[-1] < 0.3 * variances[0]

# %% [markdown]
# ## The continuous moving particle
#
# Lecture, "Example: Moving Particle", with continuous position s ∈ ℝ² and velocity a ∈ ℝ²
# (`pgref.lqr.moving_particle`):
#
#     sₜ₊₁ = sₜ + Δt aₜ,    rₜ₊₁ = −(q‖sₜ‖² + r‖aₜ‖²),    J = E[Σₜ γᵗ rₜ₊₁],
#
# with the linear-Gaussian policy a ∼ N(K s, σ² I) — a Gaussian policy on x(s) = s with
# K = Θᵀ (`pgref.lqr.linear_gaussian_policy`). `pgref.lqr.objective` and
# `pgref.lqr.policy_gradient` give J and ∇J exactly by two Lyapunov equations; we check them by
# central differences and by simulation (`pgref.lqr.sample_discounted_returns`), and REINFORCE
# on simulated episodes (`particle.sample_episodes`, cut at H steps) against ∇J.

# %%
particle = lqr.moving_particle(dim=2)  # Δt = 0.1, γ = 0.9, q = 1, r = 0.1, s₀ ∼ N(1, 0.25 I)
policy = lqr.linear_gaussian_policy(particle, variance=0.5, learn_variance=True)
gain = np.array([[-0.8, 0.1], [0.0, -0.5]])
theta = lqr.theta_for_gain(policy, gain, 0.5)
J = lqr.objective(particle, policy, theta)
gradient = lqr.policy_gradient(particle, policy, theta)
by_differences = central_difference(lambda th: lqr.objective(particle, policy, th), theta)
print("θ = [Kᵀ row-major, σ²] =", theta)
print("exact ∇J          :", gradient)
print("finite differences:", by_differences)
assert np.allclose(gradient, by_differences, atol=1e-6)

K_sim = 4_000 if QUICK else 40_000
horizon = 150  # 0.9¹⁵⁰ ≈ 1.4e-7: the cut-off part of the return is negligible
simulated = lqr.sample_discounted_returns(particle, policy, theta, K_sim, horizon, rng)
J_hat = simulated.returns.mean() + simulated.truncation_bias
J_se = simulated.returns.std(ddof=1) / np.sqrt(K_sim)
print(f"J exact {J:.4f}   simulated {J_hat:.4f} ± {J_se:.4f}")
assert abs(J_hat - J) < 4.5 * J_se

episodes = particle.sample_episodes(policy, theta, K_sim, rng, max_steps=horizon)
estimate = estimators.reinforce(policy, theta, episodes, particle.gamma, baseline=J,
                                allow_truncated=True)  # cut at H: bias ~ γᴴ, far below the s.e.
z = (estimate.mean - gradient) / estimate.standard_error()
print("REINFORCE, b = J  :", estimate.mean, "\n  ± s.e.          :",
      estimate.standard_error(), "\n  z               :", z)
assert np.all(np.abs(z) < 4.5)

# %% [markdown]
# ## Learning the gain and the variance
#
# The optimal gain K* solves the discounted Riccati equation (`pgref.lqr.optimal_gain`); it is
# the same for every σ², and ∇_K J = 0 there. ∂J/∂σ² = −(tr R + γ tr(BᵀXB))/(1 − γ) < 0, so
# again the best σ² is 0. Exact gradient ascent (`pgref.algorithms.exact_gradient_ascent`) from
# K = 0 reaches K*; holding σ², it pins σ² to the floor after a few steps.

# %%
K_star = lqr.optimal_gain(particle)
print("K* =\n", np.round(K_star, 4) + 0.0)  # + 0.0 turns −0 into 0
at_optimum = lqr.policy_gradient(particle, policy, lqr.theta_for_gain(policy, K_star, 0.5))
print("∇J at K* (σ² = 0.5):", np.round(at_optimum, 8) + 0.0)
assert np.allclose(at_optimum[:-1], 0.0, atol=1e-8) and at_optimum[-1] < 0

theta_0 = lqr.theta_for_gain(policy, np.zeros((2, 2)), 0.5)
ascent = algorithms.exact_gradient_ascent(particle, policy, theta_0, alpha=0.2,
                                          n_updates=200)
learned_gain = lqr.gain_matrix(policy, ascent.final_theta)
print(f"after {ascent.n_updates} exact steps: max |K − K*| = "
      f"{np.abs(learned_gain - K_star).max():.1e},  σ² = {ascent.final_theta[-1]:g} "
      f"(floor {ascent.variance_floor:g}, {ascent.n_projections} projections),"
      f"  J {ascent.objective[0]:.3f} → {ascent.objective[-1]:.3f}")
assert np.abs(learned_gain - K_star).max() < 5e-3  # from |K₀ − K*| ≈ 2.28
assert np.all(np.diff(ascent.objective) > -1e-12)  # J never decreases

# %% [markdown]
# Sampled learning, on the one-dimensional particle with γ = 0.8: REINFORCE_batch with
# 20 episodes of 40 steps per update, a constant baseline b = −4 and log σ². The gain moves
# from 0 towards K* and σ² shrinks.

# %%
particle_1d = lqr.moving_particle(dim=1, gamma=0.8)
policy_1d = lqr.linear_gaussian_policy(particle_1d, variance=0.5, learn_variance=True,
                                       variance_parameter="log_variance")
theta_1d = lqr.theta_for_gain(policy_1d, [[0.0]], 0.5)
K_star_1d = lqr.optimal_gain(particle_1d)[0, 0]
history = algorithms.REINFORCE_batch(
    particle_1d, policy_1d, theta_1d, 0.05, 50 if QUICK else 200, 20, np.random.default_rng(1),
    baseline=-4.0, max_steps=40, allow_truncated=True)  # 20 episodes of 40 steps per update
gains, variances = history.theta[:, 0], np.exp(history.theta[:, 1])
print(f"K: 0 → {gains[-1]:.3f} (K* = {K_star_1d:.3f});  σ²: {variances[0]:.2f} → "
      f"{variances[-1]:.3f};  J: {history.objective[0]:.3f} → {history.objective[-1]:.3f}")
assert abs(gains[-1] - K_star_1d) < 0.5 * abs(K_star_1d) and variances[-1] < variances[0]

# %% [markdown]
# Trajectories of the particle in the plane, from the same start, under K = 0 (it drifts) and
# under the learned gain (it is steered to the origin, the noise σ² shrunk to the floor).

# %%
start = lqr.LinearQuadraticProblem(particle.A, particle.B, particle.Q, particle.R,
                                   particle.gamma, initial_mean=[1.0, 1.0],
                                   initial_cov=np.zeros((2, 2)))
fig, ax = plt.subplots(figsize=(4, 4))
for label, th in (("K = 0, σ² = 0.5", theta_0), ("learned K, σ²", ascent.final_theta)):
    paths = lqr.sample_trajectories(start, policy, th, 5, 60, np.random.default_rng(0))
    for k, episode in enumerate(paths):  # episode.states[t] = Sₜ, a point in the plane
        ax.plot(episode.states[:, 0], episode.states[:, 1], color="C0" if th is theta_0 else "C1",
                alpha=0.6, label=label if k == 0 else None)
ax.plot(0, 0, "k+", markersize=12)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend()
