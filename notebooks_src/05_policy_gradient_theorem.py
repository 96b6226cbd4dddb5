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
# # 5 · The policy gradient theorem
#
# Lecture, part "Policy Gradient Theorem" (Sutton et al.), and the blog's derivation "Policy
# gradient from the lens of Bellman" with its k-step visit probabilities φ(s→x, k), visit
# counts n(s) and on-policy distribution μ(s). For a policy with non-zero probabilities,
#
#     ∇𝒥(π_θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s)                           (blog, before "∝")
#             = (Σ_x n(x)) · E_{S∼d_π, A|S∼π_θ}{q_π(S, A) ∇log π_θ(A|S)}   (lecture, d_π = μ)
#
# Everything here is exact — linear solves in `pgref.exact` — except where a Monte-Carlo
# estimate is shown beside it with its standard error. The problem is the lecture's moving
# particle on a 4 × 3 grid with slippery moves (`pgref.envs.gridworld`), γ = 1 and a fixed
# start, as in the blog.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import pgref
from pgref import envs, estimators, exact
from pgref.features import one_hot_state_features
from pgref.figures.common import STYLE
from pgref.notebooks import show
from pgref.numerics import central_difference
from pgref.rollout import sample_episodes

plt.rcParams.update(STYLE)  # the figures' look, with a font that has 𝒥

QUICK = os.environ.get("PGREF_QUICK") == "1"
K = 3_000 if QUICK else 30_000
rng = np.random.default_rng(5)
np.set_printoptions(precision=4, suppress=True)

grid = envs.gridworld(width=4, height=3, slip=0.1)
mdp, gamma = grid.mdp, grid.mdp.gamma
policy = pgref.SoftmaxLinearPolicy(grid.features)
theta = 0.5 * rng.standard_normal(policy.n_params)
live = mdp.nonterminal  # the goal is terminal: no action is taken there

pi = policy.action_probs(theta)  # π_θ(a|s), (S, A)
q = exact.action_values(mdp, pi)  # q_π(s, a), (S, A)
v = exact.state_values(mdp, pi)  # v_π(s), (S,)
grad_pi = pi[..., None] * policy.grad_log_prob_table(theta)  # ∇π = π ∇log π, (S, A, P)
Delta = np.einsum("sa,sap->sp", q, grad_pi)  # the blog's Δ(s) = Σ_a q_π(s, a) ∇π_θ(a|s)

# %% [markdown]
# ## Step 1: v through q, q through the next state's v
#
# Lecture: v_π(s) = ∫ₐ q_π(s, a) π_θ(a|s), so by the chain rule
#
#     ∇v_π(s) = ∫ₐ ∇q_π(s, a) π_θ(a|s) + ∫ₐ q_π(s, a) ∇π_θ(a|s),
#     ∇q_π(s, a) = γ ∫_{s′} ∇v_π(s′) p(s′|s, a)      (ℛ(s, a) does not depend on θ).
#
# Together (blog): ∇v(s) = Δ(s) + γ Σ_{s′} φ(s→s′, 1) ∇v(s′), with φ(s→s′, 1) = P_π(s, s′)
# (`pgref.exact.policy_transitions`). We take ∇v(s) for every s by central differences of
# `pgref.exact.state_values` and check the recursion.

# %%
assert np.allclose(v, (q * pi).sum(axis=1))
grad_v = central_difference(lambda th: exact.state_values(mdp, policy.action_probs(th)), theta)
P_pi = exact.policy_transitions(mdp, pi)
residual = grad_v - (Delta + gamma * P_pi @ grad_v)
print("∇v has shape (S, P) =", grad_v.shape)
print("max |∇v − (Δ + γ P_π ∇v)|:", np.abs(residual).max())
assert np.abs(residual).max() < 1e-6

# %% [markdown]
# ## Step 2: unrolling, with the blog's φ(s→x, k)
#
# φ(s→x, k) is the probability of being in x exactly k steps after s
# (`pgref.exact.k_step_visits`): φ(s→s, 0) = 1, φ(s→x, 1) = Σ_a π(a|s) p(x|s, a) and
# φ(s→x, k+1) = Σ_{s′} φ(s→s′, k) φ(s′→x, 1) — so φ(·→·, k) = P_πᵏ. Unrolling the recursion,
#
#     ∇v(s) = Σ_x Σ_{k≥0} γᵏ φ(s→x, k) Δ(x).
#
# The partial sums over k ≤ k_max converge to the finite-difference ∇v(s₀) as the episode's
# chance of lasting longer than k_max steps vanishes.

# %%
phi = {k: exact.k_step_visits(mdp, pi, k) for k in (0, 1, 3, 4)}
assert np.allclose(phi[0], np.eye(mdp.n_states)) and np.allclose(phi[1], P_pi)
assert np.allclose(phi[4], phi[3] @ phi[1])  # φ(s→x, k+1) = Σ_{s′} φ(s→s′, k) φ(s′→x, 1)

s0 = int(np.flatnonzero(mdp.initial)[0])
series = np.zeros((mdp.n_states, mdp.n_states))  # Σ_{k ≤ k_max} γᵏ φ(·→·, k)
phi_k = np.eye(mdp.n_states)
for k in range(401):
    series += gamma**k * phi_k
    phi_k = phi_k @ P_pi
    if k in (5, 10, 20, 50, 100, 200, 400):
        unrolled = series[s0, live] @ Delta[live]
        print(f"k_max = {k:>3}: max |Σ_x Σ_k γᵏ φ(s₀→x, k) Δ(x) − ∇v(s₀)| = "
              f"{np.abs(unrolled - grad_v[s0]).max():.2e}")
assert np.abs(unrolled - grad_v[s0]).max() < 1e-6

# %% [markdown]
# ## Step 3: the visit counts n(s) and the on-policy distribution μ(s)
#
# Blog: with h(s) the probability that an episode begins in s (here `mdp.initial`, the
# lecture's p(s₀)),
#
#     n(s) = h(s) + Σ_{s′} n(s′) φ(s′→s, 1) = Σ_{s′} Σ_{k≥0} φ(s′→s, k) h(s′),
#
# the expected number of steps spent in s per episode (with γ < 1 each φ(·, k) carries γᵏ).
# `pgref.exact.discounted_visits` solves the recursion as one linear system; the series above
# gives the same numbers, and so does counting visits in sampled episodes
# (`pgref.estimators.visit_counts`, with a standard error). μ(s) = n(s) / Σ_x n(x)
# (`pgref.exact.on_policy_distribution`) is the lecture's d_π; Σ_x n(x) is the expected episode
# length.

# %%
n = exact.discounted_visits(mdp, pi)
assert np.allclose(n[live], mdp.initial[live] + gamma * (P_pi.T @ n)[live])  # the recursion
print("max |n − hᵀ Σ_k φ(k)| on live states:", np.abs(n[live] - (mdp.initial @ series)[live]).max())
assert np.allclose(n[live], (mdp.initial @ series)[live], atol=1e-8)

episodes = sample_episodes(mdp, policy, theta, K, rng)
counts = estimators.visit_counts(episodes, mdp.n_states, gamma)
z = (counts.mean - n)[live] / counts.standard_error()[live]
print("exact n(s)     :", n)
print("sampled n̂(s)   :", counts.mean)
print("largest |z|    :", np.abs(z).max())
assert np.abs(z).max() < 5.0  # 11 live states, ≈ 6e-7 each

mu = exact.on_policy_distribution(mdp, pi)
print("μ(s)           :", mu, " Σ μ =", mu.sum())
print("sampled μ̂(s)   :", estimators.visit_frequencies(episodes, mdp.n_states, gamma))
lengths = episodes.lengths
print(f"Σ_x n(x) = {n.sum():.3f}   mean episode length = {lengths.mean():.3f} ± "
      f"{lengths.std(ddof=1) / np.sqrt(K):.3f}")

# %% [markdown]
# The theorem's weights on the grid: n(s) by the linear solve beside the visits counted in the
# K sampled episodes (± 2 standard errors), state by state; the goal is never acted in.

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
states = np.arange(mdp.n_states)
ax.bar(states - 0.2, n, width=0.4, label="n(s), linear solve")
ax.bar(states + 0.2, counts.mean, width=0.4, yerr=2 * counts.standard_error(),
       label=f"n̂(s), K = {K:,} episodes (± 2 s.e.)")
ax.set_xticks(states)
ax.set_xlabel("state s (cell x + 4y; the goal is terminal)")
ax.set_ylabel("expected visits per episode")
ax.legend(fontsize=8)
show(fig, "05_visit_counts")

# %% [markdown]
# ## Step 4: the theorem
#
# Putting the pieces together, ∇𝒥 = Σ_s h(s) ∇v(s) = Σ_x n(x) Δ(x), i.e.
#
#     ∇𝒥(π_θ) = Σ_s n(s) Σ_a q_π(s, a) ∇π_θ(a|s) = Σ_s n(s) Σ_a π_θ(a|s) q_π(s, a) ∇log π_θ(a|s).
#
# `pgref.exact.policy_gradient` computes it (two linear solves and the score table); central
# differences of `pgref.exact.objective` check it, and a REINFORCE estimate from K episodes
# (`pgref.estimators.reinforce` with the v_π baseline) lies within its standard errors.

# %%
theorem = n @ Delta
gradient = exact.policy_gradient(mdp, policy, theta)
by_differences = central_difference(lambda th: exact.objective(mdp, policy, th), theta)
estimate = estimators.reinforce(policy, theta, episodes, gamma, baseline=v)
assert np.allclose(theorem, gradient)
assert np.allclose(gradient, by_differences, atol=1e-7)
show = np.argsort(-np.abs(gradient))[:6]
print("θ component       :", show)
print("Σ n Σ q ∇π        :", theorem[show])
print("finite differences:", by_differences[show])
print(f"REINFORCE, K={K:<5}:", estimate.mean[show])
print("  ± s.e.          :", estimate.standard_error()[show])
se = estimate.standard_error()
z = (estimate.mean - gradient)[se > 0] / se[se > 0]
print("largest |z| over all components:", np.abs(z).max())
assert np.abs(z).max() < 5.0  # 33 identifiable components, ≈ 6e-7 each

# %% [markdown]
# ## The lecture's form: an expectation under d_π, and the factor Σ_x n(x)
#
# The lecture writes ∇𝒥 = E_{S∼d_π, A|S∼π}{q_π(S, A) ∇log π_θ(A|S)}; the blog writes "∝" at
# the same step. The two differ by the constant Σ_x n(x), the expected (discounted) episode
# length: `pgref.exact.normalised_policy_gradient` returns both parts. Same direction,
# different length — which is exactly what an average over time steps instead of episodes
# estimates (Σₖ per-episode term / Σₖ T_k rather than / K).

# %%
normalised = exact.normalised_policy_gradient(mdp, policy, theta)
assert np.allclose(normalised.expectation, mu @ Delta)
assert np.allclose(normalised.total_visits * normalised.expectation, gradient)
print(f"Σ_x n(x) = {normalised.total_visits:.4f}")
per_step_average = estimate.per_episode.sum(axis=0) / lengths.sum()
print("E_{d_π}[q ∇log π]      :", normalised.expectation[show])
print("average over time steps:", per_step_average[show])
print("∇𝒥                     :", gradient[show])

# %% [markdown]
# ## With discounting, and with a deep policy network
#
# With γ < 1, n(s) = Σₜ γᵗ Pr(Sₜ = s) carries the discount and the theorem holds unchanged.
# And since it needs only ∇log π_θ — "to train a policy network, you only need the gradient of
# the log likelihood" — the same function gives ∇𝒥 for the DPN (`pgref.MLPSoftmaxPolicy`,
# scores by hand-written backpropagation), again matching finite differences.

# %%
discounted = envs.gridworld(width=4, height=3, slip=0.1, gamma=0.9).mdp
gradient_09 = exact.policy_gradient(discounted, policy, theta)
by_differences = central_difference(lambda th: exact.objective(discounted, policy, th), theta)
print("γ = 0.9: max |theorem − finite differences| =", np.abs(gradient_09 - by_differences).max())
assert np.allclose(gradient_09, by_differences, atol=1e-7)

dpn = pgref.MLPSoftmaxPolicy(one_hot_state_features(mdp.n_states), n_actions=4,
                             hidden_sizes=(6,) if QUICK else (16,))
theta_dpn = dpn.initial_theta(rng)
gradient_dpn = exact.policy_gradient(mdp, dpn, theta_dpn)
by_differences = central_difference(lambda th: exact.objective(mdp, dpn, th), theta_dpn)
print(f"DPN with {dpn.n_params} parameters: max |theorem − finite differences| =",
      np.abs(gradient_dpn - by_differences).max())
assert np.allclose(gradient_dpn, by_differences, atol=1e-6)
