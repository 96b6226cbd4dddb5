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
# # 4 · REINFORCE
#
# Lecture, part "REINFORCE: First Official Algorithm" (Williams, 1992):
#
#     REINFORCE():
#     1: Initiate with θ and learning rate α
#     2: for episode = 1 : K do
#     3:     Sample a trajectory with policy π_θ
#     4:     for t = 0 : T − 1 do
#     5:         Update policy network θ ← θ + α Gₜ ∇log π_θ(Aₜ|Sₜ)
#     6:     end for
#     7: end for
#
# The only change from PG_v1 is the weight: the reward-to-go Gₜ = Σ_{t′≥t} R_{t′+1} instead of
# the whole return G(τ). "But we are now computing a different gradient? Why should it work?"
# — the rewards earned before Aₜ cannot depend on Aₜ (the blog's causality trick), so dropping
# them keeps the mean and removes noise. This notebook shows:
#
# 1. Gₜ by the backward recursion Gₜ = Rₜ₊₁ + γ Gₜ₊₁ (`pgref.estimators.reward_to_go`);
# 2. pg_v1 and reinforce estimate the same ∇𝒥, reinforce with a much smaller variance, and a
#    baseline b(Sₜ) lowers it further (`pgref.estimators.reinforce`);
# 3. with γ < 1 the lecture's line 5 must carry γᵗ: without it the estimate converges to a
#    different vector (`pgref.exact.gamma_dropped_direction`), which is not the gradient of
#    anything;
# 4. the REINFORCE loops learning the short corridor (`pgref.algorithms.REINFORCE`,
#    `pgref.algorithms.REINFORCE_batch`).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import pgref
from pgref import algorithms, envs, estimators, exact
from pgref.features import one_hot_state_features
from pgref.figures.common import STYLE
from pgref.notebooks import show
from pgref.numerics import central_difference
from pgref.rollout import sample_episodes

plt.rcParams.update(STYLE)  # the figures' look, with a font that has 𝒥

QUICK = os.environ.get("PGREF_QUICK") == "1"
K = 3_000 if QUICK else 30_000
rng = np.random.default_rng(4)
np.set_printoptions(precision=4, suppress=True)

corridor = envs.short_corridor()
mdp = corridor.mdp
policy = pgref.SoftmaxLinearPolicy(corridor.features)
J_star = -(6 + 4 * np.sqrt(2))

# %% [markdown]
# ## The reward-to-go Gₜ
#
# For one sampled episode: Gₜ = Σ_{t′≥t} γ^{t′−t} R_{t′+1} = Rₜ₊₁ + γ Gₜ₊₁, with G₀ = G(τ).

# %%
episode = sample_episodes(mdp, policy, np.zeros(2), 1, rng)
print("rewards R₁ … R_T:", episode[0].rewards)
print("Gₜ, t = 0 … T−1 :", estimators.reward_to_go(episode, gamma=1.0))
print("G(τ)            :", estimators.returns(episode, gamma=1.0)[0])
assert estimators.reward_to_go(episode, 1.0)[0] == estimators.returns(episode, 1.0)[0]

# %% [markdown]
# ## Same mean, smaller variance
#
# On the same K episodes at θ = (0.3, 0), four estimates of ∇𝒥, each
# 1/K Σₖ Σₜ w_{k,t} ∇log π_θ(Aₜ[k]|Sₜ[k]):
#
#     pg_v1                     w = G(τ_k)
#     reinforce                 w = Gₜ[k]
#     reinforce, b = 𝒥(θ)       w = Gₜ[k] − b,  a constant baseline
#     reinforce, b = v_π(Sₜ)    w = Gₜ[k] − v_π(Sₜ[k]),  the exact values
#
# with v_π from `pgref.exact.state_values`. All four are consistent with the exact ∇𝒥. The
# total variance Σᵢ Var(per-episode termᵢ) falls from pg_v1 to reinforce, and again with
# either baseline. (v_π is a good baseline, not the variance-minimising one: here the constant
# does about as well. The corridor's θ has two components that always move in opposite
# directions, so we show the first.)

# %%
theta = np.array([0.3, 0.0])
episodes = sample_episodes(mdp, policy, theta, K, rng)
gradient = exact.policy_gradient(mdp, policy, theta)
J = exact.objective(mdp, policy, theta)
v = exact.state_values(mdp, policy.action_probs(theta))
estimates = {
    "pg_v1": estimators.pg_v1(policy, theta, episodes, mdp.gamma),
    "reinforce": estimators.reinforce(policy, theta, episodes, mdp.gamma),
    "reinforce, b = 𝒥(θ)": estimators.reinforce(policy, theta, episodes, mdp.gamma, baseline=J),
    "reinforce, b = v_π(s)": estimators.reinforce(policy, theta, episodes, mdp.gamma,
                                                  baseline=v),
}
print(f"exact ∂𝒥/∂θ_right = {gradient[0]:.4f}   (K = {K})")
variances = {}
for name, estimate in estimates.items():
    variances[name] = np.trace(np.cov(estimate.per_episode, rowvar=False))
    z = (estimate.mean[0] - gradient[0]) / estimate.standard_error()[0]
    print(f"{name:<22} {estimate.mean[0]:8.4f} ± {estimate.standard_error()[0]:.4f}"
          f"   z = {z:+.2f}   total variance {variances[name]:10.2f}")
    assert abs(z) < 4.5  # false failure ≈ 7e-6 for a fresh seed
for whole, reduced in [("pg_v1", "reinforce"), ("reinforce", "reinforce, b = 𝒥(θ)"),
                       ("reinforce", "reinforce, b = v_π(s)")]:
    print(f"variance ratio {reduced} / {whole}: {variances[reduced] / variances[whole]:.3f}")
    assert variances[reduced] < variances[whole]

# %% [markdown]
# The dropped part, Σₜ (Σ_{t′<t} R_{t′+1}) ∇log π_θ(Aₜ|Sₜ), has mean zero: its per-episode
# terms (the difference of the pg_v1 and reinforce terms, paired on the same episodes) average
# to zero within their standard error.

# %%
difference = estimates["pg_v1"].per_episode - estimates["reinforce"].per_episode
se = difference.std(axis=0, ddof=1) / np.sqrt(K)
print("mean of the dropped part:", difference.mean(axis=0), "± s.e.", se)
assert np.all(np.abs(difference.mean(axis=0)) < 4.5 * se)

# %% [markdown]
# ## With γ < 1, keep the γᵗ
#
# The lecture takes γ = 1. For γ < 1 the gradient of 𝒥 = E[Σₜ γᵗ Rₜ₊₁] is
# E[Σₜ γᵗ Gₜ ∇log π_θ(Aₜ|Sₜ)]: `pgref.estimators.reinforce` keeps the γᵗ by default. Dropping
# it (`discount_weighting=False`, as many implementations do) estimates
#
#     Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s)      (`pgref.exact.gamma_dropped_direction`),
#
# with n₁ the undiscounted visit counts — not ∇𝒥. On the gridworld with γ = 0.9 both estimates
# are consistent with their own limits and far from each other's.

# %%
grid = envs.gridworld(width=4, height=3, gamma=0.9)
grid_policy = pgref.SoftmaxLinearPolicy(grid.features)
theta_grid = 0.5 * np.random.default_rng(0).standard_normal(grid_policy.n_params)
grid_episodes = sample_episodes(grid.mdp, grid_policy, theta_grid, K, rng)
grid_gradient = exact.policy_gradient(grid.mdp, grid_policy, theta_grid)
dropped_direction = exact.gamma_dropped_direction(grid.mdp, grid_policy, theta_grid)
cosine = grid_gradient @ dropped_direction / (np.linalg.norm(grid_gradient)
                                              * np.linalg.norm(dropped_direction))
print(f"‖∇𝒥‖ = {np.linalg.norm(grid_gradient):.3f}   ‖dropped‖ = "
      f"{np.linalg.norm(dropped_direction):.3f}   angle = {np.degrees(np.arccos(cosine)):.1f}°")


def largest_z(estimate, reference):
    se = estimate.standard_error()
    keep = se > 0  # the goal's parameters have no steps, hence no variance
    return np.abs((estimate.mean - reference)[keep] / se[keep]).max()


with_gamma = estimators.reinforce(grid_policy, theta_grid, grid_episodes, 0.9)
without_gamma = estimators.reinforce(grid_policy, theta_grid, grid_episodes, 0.9,
                                     discount_weighting=False)
print(f"with γᵗ   : largest |z| against ∇𝒥 {largest_z(with_gamma, grid_gradient):6.2f},"
      f" against the dropped direction {largest_z(with_gamma, dropped_direction):6.2f}")
print(f"without γᵗ: largest |z| against ∇𝒥 {largest_z(without_gamma, grid_gradient):6.2f},"
      f" against the dropped direction {largest_z(without_gamma, dropped_direction):6.2f}")
assert largest_z(with_gamma, grid_gradient) < 5.0  # 33 components, ≈ 6e-7 each
assert largest_z(without_gamma, dropped_direction) < 5.0
assert largest_z(without_gamma, grid_gradient) > 10.0

# %% [markdown]
# "Not the gradient of anything": a gradient field has a symmetric Jacobian (the Hessian).
# Central differences of ∇𝒥 give a symmetric matrix; those of the γᵗ-dropped direction do not.

# %%
hessian = central_difference(lambda th: exact.policy_gradient(grid.mdp, grid_policy, th),
                             theta_grid, order=2)
jacobian = central_difference(
    lambda th: exact.gamma_dropped_direction(grid.mdp, grid_policy, th), theta_grid, order=2)


def asymmetry(matrix):
    return np.abs(matrix - matrix.T).max() / np.abs(matrix).max()


print(f"relative asymmetry: Hessian of 𝒥 {asymmetry(hessian):.1e},"
      f" Jacobian of the dropped direction {asymmetry(jacobian):.1e}")
assert asymmetry(hessian) < 1e-6 < 1e-2 < asymmetry(jacobian)

# %% [markdown]
# ## Learning the corridor with REINFORCE
#
# The per-step loop as written (`pgref.algorithms.REINFORCE`), with no baseline and with the
# constant b = −12 ≈ 𝒥*, and the batch variant with a learned baseline v̂(s) = wᵀx(s)
# (`pgref.algorithms.REINFORCE_batch` with `pgref.algorithms.LinearValueBaseline`), all from
# π(right) ≈ 0.25, against 𝒥* = −(6 + 4√2). The per-step PG_v1 of notebook 3 needed a step
# size 2.5 times smaller to stay stable, because its weights G(τ) are larger. Even so, a
# fixed α can push π(right) so close to 0 or 1 that an episode never reaches the goal; the
# per-step loop then stops that run, lists it in `history.stops` and records NaN from there on,
# while the other runs (advanced in lockstep, `n_runs`) go on.

# %%
theta_0 = np.array([-0.55, 0.55])
n_runs = 3 if QUICK else 10
learned = algorithms.LinearValueBaseline(one_hot_state_features(mdp.n_states), alpha=0.1)
rng = np.random.default_rng(4)
per_step = {
    "REINFORCE": algorithms.REINFORCE(mdp, policy, theta_0, 1.5e-3, 120, rng, n_runs=n_runs),
    "REINFORCE, b = −12": algorithms.REINFORCE(mdp, policy, theta_0, 2e-3, 120, rng,
                                               baseline=-12.0, n_runs=n_runs),
}
batch = [algorithms.REINFORCE_batch(mdp, policy, theta_0, 8e-3, 60, 10,
                                    np.random.default_rng(seed), baseline=learned)
         for seed in range(n_runs)]
final = {name: history.objective[:, -1] for name, history in per_step.items()}
final["REINFORCE_batch, learned v̂"] = np.array([history.objective[-1] for history in batch])
print(f"𝒥(θ₀) = {exact.objective(mdp, policy, theta_0):.3f}   𝒥* = {J_star:.3f}")
for name, final_J in final.items():
    finished = final_J[np.isfinite(final_J)]  # a stopped run records NaN from its stop on
    print(f"{name:<28} final 𝒥 over runs: {np.round(final_J, 2)}   "
          f"({final_J.size - finished.size} stopped: an episode did not reach the goal)")
    # From 𝒥(θ₀) ≈ 𝒥* − 7, the runs that finish gain at least 2 (most end within 2 of 𝒥*).
    assert finished.size and np.median(finished) > exact.objective(mdp, policy, theta_0) + 2.0

fig, ax = plt.subplots(figsize=(5, 3.2))
for index, (name, history) in enumerate(per_step.items()):  # batch runs count updates instead
    ax.plot(np.nanmean(history.objective, axis=0), color=f"C{index}", label=name)
ax.axhline(J_star, color="k", ls="--", label="𝒥*")
ax.set_xlabel("episode")
ax.set_ylabel("exact 𝒥(θ), mean over seeds")
ax.legend()
show(fig, "04_learning_curves")
