r"""Tests of statements the docstrings, captions and README make in words: each claim as a
property, so that a sentence a student reads cannot drift from what the code computes.

Each test names the text it checks. Oracles: closed forms written as formulas, the exact solves
of :mod:`pgref.exact` at several discounts, and a root bracketed by bisection.
"""

import dataclasses
import math

import numpy as np
import pytest

from pgref import algorithms as alg
from pgref import envs, exact, lqr
from pgref.figures import common
from pgref.policies import GaussianPolicy, SoftmaxLinearPolicy


def _discounted(mdp, gamma):
    return dataclasses.replace(mdp, gamma=gamma)


# -- the γᵗ-dropped direction and ∇J (figures/discounting.py, exact.gamma_dropped_direction) ----


@pytest.mark.parametrize("gamma", [0.1, 0.5, 0.9, 0.99])
def test_on_a_one_step_task_dropping_gamma_t_changes_nothing_for_every_gamma(gamma):
    """Caption of ``discounting``: "on a one-step task they agree for every γ"."""
    problem = envs.bandit([1.0, -0.5, 2.0])
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.3, -1.2, 0.4])
    mdp = _discounted(problem.mdp, gamma)
    np.testing.assert_allclose(exact.gamma_dropped_direction(mdp, policy, theta),
                               exact.policy_gradient(mdp, policy, theta), rtol=1e-12, atol=0)


def _corridor_gap(gamma, theta):
    """∂/∂θ_right of (γᵗ-dropped direction − ∇J) on the corridor at discount γ."""
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    mdp = _discounted(problem.mdp, gamma)
    return (exact.gamma_dropped_direction(mdp, policy, theta)[0]
            - exact.policy_gradient(mdp, policy, theta)[0])


def test_on_the_corridor_the_two_meet_again_near_gamma_0_237_at_theta_1_5():
    """Caption of ``discounting``: at θ = (1.5, 0) they meet again at γ ≈ 0.237 (bisection)."""
    theta = np.array([1.5, 0.0])
    low, high = 0.2, 0.3
    assert _corridor_gap(low, theta) * _corridor_gap(high, theta) < 0  # a sign change inside
    for _ in range(50):
        middle = 0.5 * (low + high)
        if _corridor_gap(low, theta) * _corridor_gap(middle, theta) <= 0:
            high = middle
        else:
            low = middle
    assert 0.5 * (low + high) == pytest.approx(0.237, abs=5e-4)
    assert abs(_corridor_gap(0.5 * (low + high), theta)) < 1e-10


def test_at_the_figures_theta_the_two_differ_for_every_gamma_below_one():
    """Caption of ``discounting``: at θ₀ of the figure they meet only at γ = 1."""
    gammas = np.linspace(0.01, 0.999, 200)
    gaps = np.array([_corridor_gap(g, common.CORRIDOR_THETA) for g in gammas])
    assert np.all(gaps > 0) or np.all(gaps < 0)
    assert abs(_corridor_gap(1.0, common.CORRIDOR_THETA)) < 1e-10


# -- the gridworld's slip (envs.gridworld) ------------------------------------------------------


@pytest.mark.parametrize("slip", [0.0, 0.2, 0.6])
def test_a_slip_keeps_the_chosen_move_with_probability_one_minus_slip_plus_slip_over_four(slip):
    """``envs.gridworld``: the chosen move happens with 1 − slip + slip/4, each other slip/4."""
    problem = envs.gridworld(3, 3, slip=slip)
    centre, width = 4, 3  # the cell (1, 1): all four moves lead to different cells
    targets = [centre + 1, centre + width, centre - 1, centre - width]  # right, up, left, down
    for action, target in enumerate(targets):
        row = problem.mdp.transitions[centre, action]
        assert row[target] == pytest.approx(1 - slip + slip / 4, abs=1e-15)
        others = [t for t in targets if t != target]
        np.testing.assert_allclose(row[others], slip / 4, atol=1e-15)


# -- σ² under exact ascent in log σ² (algorithms.exact_gradient_ascent) -------------------------


def test_log_variance_ascent_shrinks_the_variance_like_one_over_alpha_c_t():
    """With θ holding log σ² and ∂J/∂σ² = −c, each step multiplies σ² by exp(−α c σ²), so
    σ²ₜ ≈ 1/(α c t): t·α·c·σ²ₜ → 1 and the per-step ratio tends to 1 (not geometric)."""
    bandit = lqr.GaussianBandit(states=np.array([0]), probabilities=[1.0], targets=[0.0])
    policy = GaussianPolicy(np.ones((1, 1)), variance=1.0, learn_variance=True,
                            variance_parameter="log_variance")
    alpha, c, n_updates = 0.5, 1.0, 4_000  # ∂J/∂σ² = −d = −1 on this bandit
    history = alg.exact_gradient_ascent(bandit, policy, policy.pack([[0.0]], 1.0), alpha,
                                        n_updates)
    variances = np.exp(history.theta[:, -1])
    t = np.arange(n_updates + 1)
    np.testing.assert_allclose(variances[1:], variances[:-1] * np.exp(-alpha * c * variances[:-1]),
                               rtol=1e-12)
    late = t[-1] * alpha * c * variances[-1]
    # xₜ = α c σ²ₜ obeys xₜ₊₁ = xₜ e^{−xₜ}, so 1/xₜ = t + ½ log t + O(1): t·xₜ = 1 − O(log t / t)
    assert late == pytest.approx(1.0, abs=math.log(n_updates) / n_updates)
    assert variances[-1] / variances[-2] == pytest.approx(1.0, abs=1e-3)  # no geometric factor


# -- the Fisher information of a softmax policy (algorithms.fisher_information) ----------------


def test_the_softmax_fisher_is_singular_for_one_hot_features_but_not_in_general():
    """Per-state shifts (1, …, 1) are in F's null space for one-hot (and shared-action)
    features; random 4-dimensional features give a full-rank F."""
    problem = envs.random_mdp(np.random.default_rng(2), 4, 3, gamma=0.9)
    one_hot = SoftmaxLinearPolicy(problem.features)
    theta = np.random.default_rng(3).normal(size=one_hot.n_params)
    fisher = alg.fisher_information(problem.mdp, one_hot, theta)
    shift = np.zeros(one_hot.n_params)
    shift[:3] = 1.0  # state 0's three action preferences, moved together
    np.testing.assert_allclose(fisher @ shift, 0.0, atol=1e-12)
    dense = envs.random_mdp(np.random.default_rng(2), 4, 3, gamma=0.9, n_features=4)
    policy = SoftmaxLinearPolicy(dense.features)
    fisher = alg.fisher_information(dense.mdp, policy, np.zeros(4))
    eigenvalues = np.linalg.eigvalsh(fisher)
    assert eigenvalues.min() > 1e-6 * eigenvalues.max()  # full rank, well away from singular
