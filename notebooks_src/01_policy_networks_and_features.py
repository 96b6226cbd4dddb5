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
# # 1 · Policy networks and features
#
# Lecture, part "Policy Network": a policy network maps state-action features to a conditional
# probability distribution,
#
#     x(s, a) ⟶ π(a|s).
#
# This notebook builds the lecture's examples with `pgref` and checks numerically what the
# lecture says about each of them:
#
# 1. feature maps x(·) : 𝕊 × 𝔸 → ℝᴶ, including the moving particle's x(s, a) = [x, y, a];
# 2. the softmax policy π_θ(a|s) = exp{θᵀx(s, a)} / ∫ₐ exp{θᵀx(s, a)} — it always returns a
#    probability, where the naive linear π_θ(a|s) = θᵀx(s, a) does not;
# 3. the Gaussian policy π_θ(a|s) = N(θᵀx(s), σ²), learning θ only or θ and σ²;
# 4. the deep policy network (DPN).
#
# Set `PGREF_QUICK=1` for a fast run (the tests do).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import pgref
from pgref import envs, features
from pgref.figures.common import STYLE
from pgref.notebooks import show
from pgref.numerics import central_difference

plt.rcParams.update(STYLE)  # the figures' look, with a font that has 𝒥

QUICK = os.environ.get("PGREF_QUICK") == "1"
rng = np.random.default_rng(2025)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## Feature representation of state-actions
#
# Lecture, "Recall: Feature": x(·) : 𝕊 × 𝔸 ↦ ℝᴶ for some integer J, the feature dimension.
# In `pgref` a tabular x(s, a) is an array `features[s, a]` of shape (S, A, J).
#
# The lecture's moving particle on a grid (`pgref.envs.gridworld`) moves in one of four
# directions; its features are x(s, a) = [x, y, a], built by
# `pgref.features.moving_particle_features`.

# %%
grid = envs.gridworld(width=4, height=3)
x_particle = features.moving_particle_features(grid.positions, np.arange(4))
print("actions:", grid.action_names)
print("features shape (S, A, J):", x_particle.shape)
print("x(s = 5, a) for each action a:\n", x_particle[5])

# %% [markdown]
# ## Why not the linear map π_θ(a|s) = θᵀx(s, a)?
#
# Lecture, "Example: Softmax": the linear map need not be a probability — it can be negative,
# and ∫ₐ θᵀx(s, a) need not be 1. A random θ shows both at once.

# %%
theta_linear = rng.normal(size=3)
linear_scores = x_particle @ theta_linear  # θᵀx(s, a), shape (S, A)
print("min over (s, a) of θᵀx(s, a):", linear_scores.min())
print("Σₐ θᵀx(s, a) for the first states:", linear_scores.sum(axis=1)[:4])

# %% [markdown]
# ## The softmax policy
#
# Lecture, "Example: Softmax":
#
#     Soft_max^θ(x(s, a)) = exp{θᵀx(s, a)} / ∫ₐ exp{θᵀx(s, a)},    π_θ(a|s) = Soft_max^θ(x(s, a))
#
# so that ∫ₐ π_θ(a|s) = 1. Implemented by `pgref.SoftmaxLinearPolicy` (table of all
# probabilities: `action_probs`, log-sum-exp inside). Its score, derived by hand in the class,
#
#     ∇ log π_θ(a|s) = x(s, a) − Σ_b π_θ(b|s) x(s, b),
#
# is `pgref.SoftmaxLinearPolicy.grad_log_prob`; we check it against central finite differences of
# `log_prob` (`pgref.numerics.central_difference`).

# %%
softmax = pgref.SoftmaxLinearPolicy(x_particle)
theta = rng.normal(size=softmax.n_params)
pi = softmax.action_probs(theta)  # (S, A)
print("π_θ(·|s) for the first three states:\n", pi[:3])
print("max |Σₐ π_θ(a|s) − 1| over states:", np.abs(pi.sum(axis=1) - 1).max())
assert np.all(pi >= 0) and np.allclose(pi.sum(axis=1), 1.0)

state, action = 5, 2
score = softmax.grad_log_prob(theta, state, action)
by_differences = central_difference(lambda th: softmax.log_prob(th, state, action), theta)
print("score by hand        :", score)
print("by finite differences:", by_differences)
assert np.allclose(score, by_differences, atol=1e-8)

# %% [markdown]
# ### The moving particle's [x, y, a] cannot make the policy depend on the position
#
# Adding the same term θ₁x + θ₂y to every action's preference cancels in the softmax's ratio,
# so with x(s, a) = [x, y, a] the policy is the same in every state and the score's x and y
# components are identically zero (see the Notes of
# `pgref.features.moving_particle_features`). The gridworld therefore uses one-hot features
# `pgref.features.one_hot_features`, one θ entry per (s, a).

# %%
print("π_θ(·|s) is the same in all", grid.mdp.n_states, "states:",
      np.allclose(pi, pi[0]))
scores = softmax.grad_log_prob_table(theta)  # (S, A, J)
print("max |x and y components of the score|:", np.abs(scores[..., :2]).max())
assert np.allclose(pi, pi[0]) and np.allclose(scores[..., :2], 0.0)

tabular = pgref.SoftmaxLinearPolicy(grid.features)
theta_tabular = rng.normal(size=tabular.n_params)
pi_tabular = tabular.action_probs(theta_tabular)
print("with one-hot features: n_params =", tabular.n_params,
      "; the states' rows differ:", not np.allclose(pi_tabular, pi_tabular[0]))

# %% [markdown]
# ### Numerically safe
#
# The normaliser is computed by log-sum-exp, so preferences of ±10⁴ still give finite
# probabilities and scores (a naive `exp` would overflow).

# %%
huge = 1e4 * np.sign(theta_tabular)
print("finite probabilities:", np.all(np.isfinite(tabular.action_probs(huge))))
print("finite scores       :", np.all(np.isfinite(tabular.grad_log_prob_table(huge))))
assert np.all(np.isfinite(tabular.grad_log_prob_table(huge)))

# %% [markdown]
# ## The Gaussian policy
#
# Lecture, "Example: Gaussian": at state s we look only at the state's features x(s) and take
#
#     π_θ(a|s) = N(θᵀx(s), σ²) = 1/√(2πσ²) · exp{−(a − θᵀx(s))² / (2σ²)}.
#
# `pgref.GaussianPolicy(features, variance=σ², learn_variance=...)`. "Either only learning θ, or
# learning both θ and σ²": with `learn_variance=True` the parameter vector ends with σ² itself
# (the variance, not the standard deviation σ), and the score has one more component,
#
#     ∂ log π/∂σ² = −1/(2σ²) + (a − θᵀx(s))² / (2σ⁴).
#
# The density integrates to 1 over a (a Riemann sum on a wide grid), and both score components
# agree with finite differences.

# %%
x_state = features.one_hot_state_features(3)  # x(s) = e_s, shape (S, J)
gaussian = pgref.GaussianPolicy(x_state, variance=0.5, learn_variance=True)
theta_gauss = gaussian.pack(np.array([[1.0], [-0.5], [2.0]]), variance=0.5)
print("θ = [Θ, σ²] =", theta_gauss, " σ² =", gaussian.variance(theta_gauss),
      " σ =", gaussian.standard_deviation(theta_gauss))

actions = np.linspace(-10, 10, 20_001)
density = gaussian.density(theta_gauss, np.full(actions.size, 1), actions)
print("∫ π_θ(a|s=1) da ≈", density.sum() * (actions[1] - actions[0]))
assert abs(density.sum() * (actions[1] - actions[0]) - 1.0) < 1e-6

a = 0.3
score = gaussian.grad_log_prob(theta_gauss, 1, a)
by_differences = central_difference(lambda th: gaussian.log_prob(th, 1, a), theta_gauss)
mu = gaussian.mean(theta_gauss, 1)
print("score by hand        :", score)
print("by finite differences:", by_differences)
print("lecture's ∂ log π/∂σ²:", -1 / (2 * 0.5) + (a - mu) ** 2 / (2 * 0.5**2))
assert np.allclose(score, by_differences, atol=1e-8)

# %% [markdown]
# ## The deep policy network (DPN)
#
# Lecture, "Example: DPN": a network that "we very well know how to make return a probability
# distribution" — a softmax on its last layer. `pgref.MLPSoftmaxPolicy` is a tanh MLP of x(s)
# with a softmax output; its backpropagation is written out by hand (the class Notes give the
# equations), and again finite differences agree.

# %%
dpn = pgref.MLPSoftmaxPolicy(features.one_hot_state_features(grid.mdp.n_states),
                             n_actions=4, hidden_sizes=(8,) if QUICK else (16, 16))
theta_dpn = dpn.initial_theta(rng)
pi_dpn = dpn.action_probs(theta_dpn)
print("layer shapes:", dpn.layer_shapes, " n_params =", dpn.n_params)
print("rows of π sum to 1:", np.allclose(pi_dpn.sum(axis=1), 1.0))
score = dpn.grad_log_prob(theta_dpn, 7, 3)
by_differences = central_difference(lambda th: dpn.log_prob(th, 7, 3), theta_dpn)
print("max |backprop − finite differences|:", np.abs(score - by_differences).max())
assert np.allclose(score, by_differences, atol=1e-7)

# %% [markdown]
# Sampling needs an explicit random generator everywhere in `pgref`
# (`policy.sample(theta, states, rng)`); the empirical action frequencies match π_θ.

# %%
n_draws = 20_000 if QUICK else 200_000
draws = tabular.sample(theta_tabular, np.zeros(n_draws, dtype=int), rng)
frequencies = np.bincount(draws, minlength=4) / n_draws
standard_errors = np.sqrt(pi_tabular[0] * (1 - pi_tabular[0]) / n_draws)
print("π_θ(·|0)   :", pi_tabular[0])
print("frequencies:", frequencies, "± (1 s.e.)", standard_errors)
assert np.all(np.abs(frequencies - pi_tabular[0]) < 5 * standard_errors)

# %% [markdown]
# Both policies at a glance: the Gaussian density π_θ(a|s = 1) = N(θᵀx(s), σ²) over the real
# line of actions, and the softmax's π_θ(·|s = 0) over the four directions beside the frequencies
# of the sampled actions (± 2 standard errors). Run as a script, `pgref.notebooks.show` saves the
# figure as a PNG (and says where); in Jupyter it appears below the cell.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
mean, sigma = float(np.squeeze(mu)), gaussian.standard_deviation(theta_gauss)
left.plot(actions, density, color="C0")
left.axvline(mean, color="k", ls="--", label=f"mean θᵀx(s) = {mean:.2f}")
left.axvspan(mean - sigma, mean + sigma, color="C0", alpha=0.15, label=f"± σ = {sigma:.2f}")
left.set_xlim(mean - 4 * sigma, mean + 4 * sigma)
left.set_xlabel("action a")
left.set_ylabel("π_θ(a|s = 1)")
left.set_title("Gaussian policy")
left.legend(fontsize=8)
directions = np.arange(4)
right.bar(directions - 0.2, pi_tabular[0], width=0.4, label="π_θ(a|s = 0)")
right.bar(directions + 0.2, frequencies, width=0.4, yerr=2 * standard_errors,
          label=f"sampled, N = {n_draws:,} (± 2 s.e.)")
right.set_xticks(directions, grid.action_names)
right.set_ylabel("probability")
right.set_title("softmax policy (one-hot features)")
right.legend(fontsize=8)
fig.tight_layout()
show(fig, "01_policies")
