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
# # 2 · The objective J(π_θ) and the log-derivative trick
#
# Lecture, part "Training Policy Network" up to "Log-Derivative Trick". We want θ that makes
# v_π(s) large in every state — one objective per state, not always possible at once — so the
# lecture scalarises:
#
#     J(π_θ) = ∫ₛ v_π(s) p(s) = E_{S∼p}{v_π(S)} = ∫_τ g(τ) p_π(τ) = E_{τ∼p_π}{G(τ)},
#     p_π(τ) = p(s₀) ∏ₜ π_θ(aₜ|sₜ) p(sₜ₊₁, rₜ₊₁|sₜ, aₜ).
#
# Its gradient, by the log-derivative trick ∇f(θ) = f(θ) ∇log f(θ), is
#
#     ∇J(π_θ) = E_{τ∼p_π}{G(τ) ∇log p_π(τ)},    ∇log p_π(τ) = Σₜ ∇log π_θ(Aₜ|Sₜ),
#
# because log p(s₀) and the environment's log p(sₜ₊₁, rₜ₊₁|sₜ, aₜ) do not depend on θ. This
# notebook checks each of these equalities numerically.

# %%
import os

import numpy as np

import pgref
from pgref import envs, estimators, exact
from pgref.numerics import central_difference
from pgref.rollout import sample_episodes

QUICK = os.environ.get("PGREF_QUICK") == "1"
K = 2_000 if QUICK else 20_000  # episodes per Monte-Carlo estimate
rng = np.random.default_rng(7)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## One objective per state, scalarised by p(s)
#
# A random MDP (`pgref.envs.random_mdp`) with a random start distribution p(s₀). The exact
# values v_π(s) come from the Bellman equation by one linear solve (`pgref.exact.state_values`);
# `pgref.exact.objective` is J(π_θ) = Σₛ p(s) v_π(s).

# %%
random_problem = envs.random_mdp(rng, n_states=6, n_actions=3, gamma=0.9, n_terminal=1)
mdp = random_problem.mdp
policy = pgref.SoftmaxLinearPolicy(random_problem.features)
theta = rng.normal(size=policy.n_params)
v = exact.state_values(mdp, policy.action_probs(theta))
print("p(s)  :", mdp.initial)
print("v_π(s):", v)
J = exact.objective(mdp, policy, theta)
print("Σ p(s) v_π(s) =", mdp.initial @ v, "  J(π_θ) =", J)
assert np.isclose(J, mdp.initial @ v)

# %% [markdown]
# ## J(π_θ) = E_{τ∼p_π}{G(τ)}: the average return over trajectories
#
# Sampling K trajectories with π_θ (`pgref.rollout.sample_episodes`) and averaging their
# returns G(τ) = Σₜ γᵗ Rₜ₊₁ (`pgref.estimators.returns`) estimates J; the standard error
# s/√K says how close to expect it.

# %%
episodes = sample_episodes(mdp, policy, theta, K, rng)
G = estimators.returns(episodes, mdp.gamma)
standard_error = G.std(ddof=1) / np.sqrt(K)
z = (G.mean() - J) / standard_error
print(f"mean G(τ) over K = {K}: {G.mean():.4f} ± {standard_error:.4f}   exact J = {J:.4f}"
      f"   z = {z:+.2f}")
assert abs(z) < 4.5  # false failure ≈ 7e-6 for a fresh seed

# %% [markdown]
# ## The log-derivative trick, for one policy
#
# For any positive f, ∇f(θ) = f(θ) ∇log f(θ). For f = π_θ(a|s): ∇π_θ(a|s) =
# π_θ(a|s) ∇log π_θ(a|s). Left side by finite differences of the probabilities
# (`action_probs`), right side from the hand-derived scores (`grad_log_prob_table`).

# %%
pi = policy.action_probs(theta)  # (S, A)
grad_pi = central_difference(lambda th: policy.action_probs(th).ravel(), theta)  # (S·A, P)
trick = (pi[..., None] * policy.grad_log_prob_table(theta)).reshape(grad_pi.shape)
print("max |∇π − π ∇log π|:", np.abs(grad_pi - trick).max())
assert np.allclose(grad_pi, trick, atol=1e-8)

# %% [markdown]
# ## ∇log p_π(τ) = Σₜ ∇log π_θ(Aₜ|Sₜ): the environment drops out
#
# On the gridworld with slippery moves (`pgref.envs.gridworld(slip=0.2)`) the environment's
# transition probabilities are not all 1. We write out log p_π(τ) of one sampled trajectory in
# full — start, policy and environment terms — and differentiate it by finite differences: the
# result is the sum of the scores alone.

# %%
grid = envs.gridworld(width=3, height=3, slip=0.2)
grid_policy = pgref.SoftmaxLinearPolicy(grid.features)
theta_grid = 0.5 * rng.normal(size=grid_policy.n_params)
tau = sample_episodes(grid.mdp, grid_policy, theta_grid, 1, rng)
S, A = tau[0].states, tau[0].actions  # S₀ … S_{T−1}, A₀ … A_{T−1} of the one episode
T = len(S)
goal = int(np.flatnonzero(grid.mdp.terminal)[0])
S_next = np.append(S[1:], goal)  # Sₜ₊₁; the episode ends in the goal


def log_p_tau(theta_):
    """log p(s₀) + Σₜ log π_θ(aₜ|sₜ) + Σₜ log p(sₜ₊₁|sₜ, aₜ), for the fixed trajectory τ."""
    return (np.log(grid.mdp.initial[S[0]])
            + grid_policy.log_prob(theta_, S, A).sum()
            + np.log(grid.mdp.transitions[S, A, S_next]).sum())


by_differences = central_difference(log_p_tau, theta_grid)
sum_of_scores = grid_policy.grad_log_prob(theta_grid, S, A).sum(axis=0)
print(f"T = {T} steps; environment term Σ log p(sₜ₊₁|sₜ, aₜ) =",
      np.log(grid.mdp.transitions[S, A, S_next]).sum())
print("max |∇log p_π(τ) − Σₜ ∇log π_θ(Aₜ|Sₜ)|:", np.abs(by_differences - sum_of_scores).max())
assert np.allclose(by_differences, sum_of_scores, atol=1e-6)

# %% [markdown]
# ## E[∇log π_θ(A|s)] = 0, and so E[∇log p_π(τ)] = 0
#
# Σₐ π_θ(a|s) ∇log π_θ(a|s) = Σₐ ∇π_θ(a|s) = ∇ Σₐ π_θ(a|s) = ∇1 = 0. Exactly from the score
# table, and as a sample mean that shrinks like 1/√N. This is why the trick's estimator can
# carry a baseline (notebook 4) without changing its mean. The same holds for a Gaussian
# policy (`pgref.GaussianPolicy`), the σ² component included.

# %%
exact_mean_score = np.einsum("sa,sap->sp", pi, policy.grad_log_prob_table(theta))
print("max |Σₐ π ∇log π| over states:", np.abs(exact_mean_score).max())
assert np.allclose(exact_mean_score, 0.0, atol=1e-12)

print("sampled at s = 0, the components θ_{0,a}:")
for N in (100, 1_000, 10_000) if QUICK else (100, 1_000, 10_000, 100_000):
    states = np.zeros(N, dtype=int)
    draws = policy.sample(theta, states, rng)
    scores = policy.grad_log_prob(theta, states, draws)
    scores = scores[:, :policy.n_actions]  # θ's entries for state 0 (one-hot features)
    mean, se = scores.mean(axis=0), scores.std(axis=0, ddof=1) / np.sqrt(N)
    print(f"N = {N:>6}: mean score {mean}  s.e. {se}  max |z| = {np.abs(mean / se).max():.2f}")

gaussian = pgref.GaussianPolicy(np.eye(2), variance=0.7, learn_variance=True)
theta_gauss = gaussian.pack(np.array([[0.5], [-1.0]]), 0.7)
N = 20_000 if QUICK else 200_000
states = rng.integers(0, 2, N)
scores = gaussian.grad_log_prob(theta_gauss, states, gaussian.sample(theta_gauss, states, rng))
z = scores.mean(axis=0) / (scores.std(axis=0, ddof=1) / np.sqrt(N))
print("Gaussian [Θ, σ²]: mean score", scores.mean(axis=0), " z =", z)
assert np.all(np.abs(z) < 4.5)

# %% [markdown]
# Over whole trajectories: the per-episode sums Σₜ ∇log π_θ(Aₜ|Sₜ) average to zero too.

# %%
episodes = sample_episodes(grid.mdp, grid_policy, theta_grid, K, rng)
step_scores = grid_policy.grad_log_prob(theta_grid, episodes.states, episodes.actions)
trajectory_scores = np.zeros((K, grid_policy.n_params))
np.add.at(trajectory_scores, episodes.episode_index, step_scores)  # ∇log p_π(τ_k), (K, P)
se = trajectory_scores.std(axis=0, ddof=1) / np.sqrt(K)
print("max |mean ∇log p_π(τ)| / s.e. over components:",
      np.max(np.abs(trajectory_scores.mean(axis=0))[se > 0] / se[se > 0]))

# %% [markdown]
# ## ∇J(π_θ) = E_{τ∼p_π}{G(τ) ∇log p_π(τ)}
#
# The trick applied to J: the sample mean of G(τ_k) ∇log p_π(τ_k) estimates ∇J. The exact ∇J
# (`pgref.exact.policy_gradient`, by the policy gradient theorem of notebook 5) and central
# differences of the exact J agree; the Monte-Carlo estimate lies within a few standard errors
# of them. `pgref.estimators.pg_v1` computes exactly this average (notebook 3).

# %%
G = estimators.returns(episodes, grid.mdp.gamma)
terms = G[:, None] * trajectory_scores
estimate, se = terms.mean(axis=0), terms.std(axis=0, ddof=1) / np.sqrt(K)
gradient = exact.policy_gradient(grid.mdp, grid_policy, theta_grid)
by_differences = central_difference(lambda th: exact.objective(grid.mdp, grid_policy, th),
                                    theta_grid)
show = np.argsort(-np.abs(gradient))[:6]  # the six largest components
print("component        :", show)
print("exact ∇J         :", gradient[show])
print("finite difference:", by_differences[show])
print("Monte-Carlo      :", estimate[show])
print("  ± s.e.         :", se[show])
assert np.allclose(gradient, by_differences, atol=1e-6)
assert np.allclose(estimators.pg_v1(grid_policy, theta_grid, episodes, grid.mdp.gamma).mean,
                   estimate)
z = (estimate - gradient)[se > 0] / se[se > 0]
print("largest |z| over components:", np.abs(z).max())
assert np.abs(z).max() < 5.0  # 36 components; per-component false failure ≈ 6e-7
