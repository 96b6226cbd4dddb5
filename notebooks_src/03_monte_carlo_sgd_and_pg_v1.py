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
# # 3 · The Monte-Carlo estimate, SGD and PG_v1
#
# Lecture, parts "Training Policy Network: SGD" and "First Policy Gradient Algorithm". From
# ∇𝒥(π_θ) = E_{τ∼p_π}{(Σₜ Rₜ₊₁) Σₜ ∇log π_θ(Aₜ|Sₜ)} (notebook 2), "we can estimate it via
# Monte-Carlo": sample K trajectories with π_θ and average,
#
#     ∇̂𝒥(π_θ) = 1/K Σₖ G(τ_k) Σₜ ∇log π_θ(Aₜ[k]|Sₜ[k]),      θ ← θ + α ∇̂𝒥(π_θ).
#
# With K = 1 this is SGD, and doing the update step by step along the episode gives the
# lecture's first algorithm:
#
#     PG_v1():
#     1: Initiate with θ and learning rate α
#     2: for episode = 1 : K do
#     3:     Sample a trajectory with policy π_θ:  S₀, A₀ → R₁, S₁, …, S_{T−1}, A_{T−1} → R_T, S_T
#     4:     Compute return G(τ)
#     5:     for t = 0 : T − 1 do
#     6:         Update policy network θ ← θ + α G(τ) ∇log π_θ(Aₜ|Sₜ)
#     7:     end for
#     8: end for
#
# The estimate is `pgref.estimators.pg_v1`; the loops are `pgref.algorithms.PG_v1` (as
# written, per step) and `pgref.algorithms.PG_v1_batch` (K episodes, one update). The test
# problem is the short corridor with switched actions (`pgref.envs.short_corridor`, Sutton &
# Barto's Example 13.1), where the best policy is stochastic.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import pgref
from pgref import algorithms, envs, estimators, exact
from pgref.figures.common import STYLE
from pgref.notebooks import show
from pgref.numerics import central_difference
from pgref.rollout import sample_episodes

plt.rcParams.update(STYLE)  # the figures' look, with a font that has 𝒥

QUICK = os.environ.get("PGREF_QUICK") == "1"
rng = np.random.default_rng(3)
np.set_printoptions(precision=4, suppress=True)

corridor = envs.short_corridor()
mdp = corridor.mdp
policy = pgref.SoftmaxLinearPolicy(corridor.features)  # θ = [θ_right, θ_left]
theta_0 = np.array([-0.55, 0.55])  # π(right) = σ(−1.1) ≈ 0.25 in every state


def p_right(theta):
    """π_θ(right|s), the same in every state of the corridor."""
    return policy.action_probs(theta)[0, 0]


# %% [markdown]
# ## The objective of the short corridor, exactly
#
# Every step pays −1; in state 1 the actions are switched. With p = π(right) in every state,
#
#     𝒥(p) = 2(p − 2) / (p(1 − p)),   maximised at p* = 2 − √2 ≈ 0.586,  𝒥* = −(6 + 4√2) ≈ −11.66.
#
# `pgref.exact.objective` solves the Bellman equation; it matches this closed form.

# %%
p_star, J_star = 2 - np.sqrt(2), -(6 + 4 * np.sqrt(2))
p_grid = np.linspace(0.05, 0.95, 181)
J_grid = np.array([exact.objective(mdp, policy, [np.log(p / (1 - p)), 0.0]) for p in p_grid])
assert np.allclose(J_grid, 2 * (p_grid - 2) / (p_grid * (1 - p_grid)))
print(f"argmax on the grid: p = {p_grid[J_grid.argmax()]:.3f}   p* = {p_star:.4f}")
print(f"𝒥(θ₀) = {exact.objective(mdp, policy, theta_0):.3f}   𝒥* = {J_star:.3f}")

# %% [markdown]
# ## ∇̂𝒥 from K episodes, beside the exact gradient
#
# `pgref.estimators.pg_v1` returns the mean and the K per-episode terms
# G(τ_k) Σₜ ∇log π_θ(Aₜ[k]|Sₜ[k]), hence a standard error s/√K and a 95 % interval. The exact
# ∇𝒥 (`pgref.exact.policy_gradient`) and central differences of 𝒥 agree; the estimate lies
# within a few standard errors.

# %%
K = 2_000 if QUICK else 20_000
episodes = sample_episodes(mdp, policy, theta_0, K, rng)
estimate = estimators.pg_v1(policy, theta_0, episodes, mdp.gamma)
gradient = exact.policy_gradient(mdp, policy, theta_0)
by_differences = central_difference(lambda th: exact.objective(mdp, policy, th), theta_0)
interval = estimate.confidence_interval(0.95)
print("exact ∇𝒥            :", gradient)
print("finite differences  :", by_differences)
print(f"pg_v1, K = {K:<6}    :", estimate.mean, "± s.e.", estimate.standard_error())
print("95 % interval       :", interval.lower, "to", interval.upper)
z = (estimate.mean - gradient) / estimate.standard_error()
print("z                   :", z)
assert np.allclose(gradient, by_differences, atol=1e-7)
assert np.all(np.abs(z) < 4.5)  # false failure ≈ 7e-6 per component for a fresh seed

# %% [markdown]
# ## The error shrinks like 1/√K
#
# The K episodes are i.i.d., so Var(∇̂𝒥) = Var(one term)/K. We split one large batch of
# per-episode terms into groups of K and take the root-mean-square error of the group means:
# on log-log axes against K its slope is −½ (`pgref.algorithms.loglog_slope`).

# %%
sizes = np.array([10, 40, 160, 640] if QUICK else [10, 40, 160, 640, 2_560])
pool = estimators.pg_v1(policy, theta_0, sample_episodes(mdp, policy, theta_0, 40 * sizes[-1],
                                                         rng), mdp.gamma).per_episode
rms_error = []
for size in sizes:
    group_means = pool.reshape(-1, size, policy.n_params).mean(axis=1)
    rms_error.append(np.sqrt(np.mean(np.sum((group_means - gradient) ** 2, axis=1))))
    print(f"K = {size:>5}: RMS error {rms_error[-1]:7.3f}   × √K = "
          f"{rms_error[-1] * np.sqrt(size):6.1f}   ({len(group_means)} estimates)")
slope = algorithms.loglog_slope(sizes, rms_error)
print(f"log-log slope: {slope:.3f} (theory −0.5)")
assert -0.65 < slope < -0.35

fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.loglog(sizes, rms_error, "o-", label="pg_v1 RMS error")
ax.loglog(sizes, rms_error[0] * np.sqrt(sizes[0] / sizes), "k--", label="∝ 1/√K")
ax.set_xlabel("episodes K")
ax.set_ylabel("‖∇̂𝒥 − ∇𝒥‖ (RMS)")
ax.legend()
show(fig, "03_rms_error")

# %% [markdown]
# ## SGD: a single sample gradient
#
# "Isn't that again too slow? … We can go for SGD": with K = 1, ∇̂𝒥 = G(τ) Σₜ ∇log π_θ(Aₜ|Sₜ).
# Each single-episode term is unbiased but very noisy — here many of them do not even point
# uphill (positive inner product with ∇𝒥) — and only their average is reliable.

# %%
terms = estimate.per_episode  # the K single-sample gradients
uphill = np.mean(terms @ gradient > 0)
print(f"single-sample gradients pointing uphill: {100 * uphill:.1f} %")
print("per-episode standard deviation:", terms.std(axis=0, ddof=1), "  ‖∇𝒥‖ =",
      np.linalg.norm(gradient))

# %% [markdown]
# ## PG_v1 as written updates θ inside the episode
#
# Line 6 takes ∇log π_θ(Aₜ|Sₜ) at the current θ, already moved by the episode's earlier steps,
# so one episode of `pgref.algorithms.PG_v1` is not exactly one SGD step
# θ + α G(τ) Σₜ ∇log π_{θ₀}(Aₜ|Sₜ) (`pgref.algorithms.PG_v1_batch` with K = 1). Given the same
# episode (a problem that replays one sampled episode), the difference is of order α².

# %%
episode = mdp.sample_episodes(policy, theta_0, 1, np.random.default_rng(11))


class Replay:
    """A problem whose every episode is the one sampled above."""

    gamma = mdp.gamma

    def sample_episodes(self, policy, theta, n_episodes, rng, max_steps=None):
        return episode


for alpha in (1e-3, 1e-2):
    per_step = algorithms.PG_v1(Replay(), policy, theta_0, alpha, 1, np.random.default_rng(11))
    sgd = algorithms.PG_v1_batch(Replay(), policy, theta_0, alpha, 1, 1,
                                 np.random.default_rng(11))
    step = sgd.final_theta - theta_0
    gap = per_step.final_theta - sgd.final_theta
    print(f"α = {alpha:g}: T = {per_step.episode_lengths[0]}, SGD step ‖Δθ‖ = "
          f"{np.linalg.norm(step):.4f}, per-step − SGD: ‖·‖ = {np.linalg.norm(gap):.2e}")

# %% [markdown]
# ## Learning the corridor with PG_v1
#
# Several seeds of `pgref.algorithms.PG_v1` (per-step, α = 6·10⁻⁴) and
# `pgref.algorithms.PG_v1_batch` (K = 10 per update, α = 8·10⁻³) from θ₀, each recording the
# exact 𝒥(θ) after every episode or update, beside exact gradient ascent
# (`pgref.algorithms.exact_gradient_ascent`) and the optimum 𝒥*.

# %%
n_runs = 3 if QUICK else 10
n_episodes = 120  # PG_v1_batch samples 5 × this, 10 per update
# The per-step loop runs all n_runs learners in lockstep, run r drawing from rng.spawn(n_runs)[r];
# a run whose policy stops reaching the goal is stopped and listed in history.stops.
per_step = algorithms.PG_v1(mdp, policy, theta_0, 6e-4, n_episodes, np.random.default_rng(0),
                            n_runs=n_runs)
batch = [algorithms.PG_v1_batch(mdp, policy, theta_0, 8e-3, 5 * n_episodes // 10, 10,
                                np.random.default_rng(seed)) for seed in range(n_runs)]
ascent = algorithms.exact_gradient_ascent(mdp, policy, theta_0, alpha=0.01, n_updates=60)
print(f"𝒥(θ₀) = {per_step.objective[0, 0]:.3f}   𝒥* = {J_star:.3f}   p* = {p_star:.3f}")
print(f"PG_v1: {per_step.n_stopped} of {n_runs} runs stopped {list(per_step.stops)}")
finals = {
    "PG_v1": (per_step.objective[:, -1], per_step.theta[:, -1]),
    "PG_v1_batch": (np.array([h.objective[-1] for h in batch]),
                    np.array([h.final_theta for h in batch])),
}
for name, (final_J, final_theta) in finals.items():
    final_p = np.array([p_right(theta) for theta in final_theta])
    print(f"{name:<12} final 𝒥 over runs: {np.round(final_J, 2)}   p: {np.round(final_p, 3)}")
    finished = final_J[np.isfinite(final_J)]  # a stopped run records NaN from its stop on
    assert np.median(finished) > J_star - 2.0  # from 𝒥(θ₀) ≈ 𝒥* − 7
print(f"exact ascent, 60 updates: 𝒥 = {ascent.objective[-1]:.4f}, p = "
      f"{p_right(ascent.final_theta):.4f}")
assert J_star - ascent.objective[-1] < 1e-3

fig, ax = plt.subplots(figsize=(5, 3.2))
for curve in per_step.objective:  # one row per run
    ax.plot(curve, color="C0", alpha=0.5)
ax.axhline(J_star, color="k", ls="--", label="𝒥* = −(6 + 4√2)")
ax.set_xlabel("episode")
ax.set_ylabel("exact 𝒥(θ)")
ax.set_title("PG_v1 on the short corridor")
ax.legend()
show(fig, "03_pg_v1_learning")
