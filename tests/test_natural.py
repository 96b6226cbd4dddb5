r"""Tests of the natural policy gradient and of the O(1/t) rate of exact softmax ascent.

Oracles: the Fisher information written out per state for one-hot features,
n(s)(diag π_s − π_s π_sᵀ); the natural gradient of the tabular softmax equals the centred
advantage table; and, for a K-armed bandit under exact softmax gradient ascent with step α, the
gradient-flow limit t·(J* − J(θₜ)) → k / ((k + 1) α), with k the number of sub-optimal arms
(derived in the test below). None of these is what the code computes.
"""

import numpy as np
import pytest

from pgref import algorithms as alg
from pgref import envs, exact
from pgref.policies import SoftmaxLinearPolicy


def _random_problem(seed=3):
    problem = envs.random_mdp(np.random.default_rng(seed), 6, 3, gamma=0.9, n_terminal=1)
    policy = SoftmaxLinearPolicy(problem.features)  # one-hot x(s, a): θ_{s,a} at 3s + a
    theta = np.random.default_rng(seed + 1).normal(size=policy.n_params)
    return problem, policy, theta


def test_fisher_of_one_hot_softmax_is_block_diagonal_with_the_per_state_formula():
    problem, policy, theta = _random_problem()
    pi = policy.action_probs(theta)
    visits = exact.discounted_visits(problem.mdp, pi)
    fisher = alg.fisher_information(problem.mdp, policy, theta)
    n_actions = problem.mdp.n_actions
    expected = np.zeros_like(fisher)
    for s in range(problem.mdp.n_states):
        block = slice(s * n_actions, (s + 1) * n_actions)
        expected[block, block] = visits[s] * (np.diag(pi[s]) - np.outer(pi[s], pi[s]))
    np.testing.assert_allclose(fisher, expected, rtol=1e-12, atol=1e-14)
    # singular: shifting every preference of one state by the same amount changes nothing
    for s in range(problem.mdp.n_states):
        shift = np.zeros(policy.n_params)
        shift[s * n_actions : (s + 1) * n_actions] = 1.0
        np.testing.assert_allclose(fisher @ shift, 0.0, atol=1e-12)


def test_natural_gradient_of_tabular_softmax_is_the_centred_advantage():
    problem, policy, theta = _random_problem()
    pi = policy.action_probs(theta)
    advantages = exact.advantages(problem.mdp, pi)                  # q_π − v_π, (S, A)
    visits = exact.discounted_visits(problem.mdp, pi)
    natural = alg.natural_policy_gradient(problem.mdp, policy, theta).reshape(advantages.shape)
    centred = advantages - advantages.mean(axis=1, keepdims=True)
    visited = visits > 0
    np.testing.assert_allclose(natural[visited], centred[visited], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(natural[~visited], 0.0, atol=1e-12)  # min-norm: F's null space


def test_damped_natural_gradient_tends_to_the_min_norm_one():
    problem, policy, theta = _random_problem()
    undamped = alg.natural_policy_gradient(problem.mdp, policy, theta)
    errors = [np.abs(alg.natural_policy_gradient(problem.mdp, policy, theta, damping=lam)
                     - undamped).max() for lam in (1e-2, 1e-4, 1e-6)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-4
    # the damped direction still ascends: ∇Jᵀ (F + λI)⁻¹ ∇J > 0
    gradient = exact.policy_gradient(problem.mdp, policy, theta)
    assert gradient @ alg.natural_policy_gradient(problem.mdp, policy, theta, 1e-2) > 0


def test_natural_ascent_beats_vanilla_ascent_on_the_short_corridor():
    problem = envs.short_corridor()
    policy = SoftmaxLinearPolicy(problem.features)
    theta_0 = np.array([-0.55, 0.55])
    j_star = -(6 + 4 * np.sqrt(2))
    natural = alg.natural_gradient_ascent(problem.mdp, policy, theta_0, alpha=0.2, n_updates=20)
    vanilla = alg.exact_gradient_ascent(problem.mdp, policy, theta_0, alpha=0.02, n_updates=20)
    assert np.all(np.diff(natural.objective) > 0)
    assert j_star - natural.objective[-1] < 1e-7
    # vanilla with α = 0.02, monotone here (α = 0.05 already overshoots p*), same budget
    assert j_star - vanilla.objective[-1] > 1e-5


# -- the rate of exact softmax policy gradient on a bandit --------------------------------------


def test_exact_softmax_ascent_on_a_bandit_converges_at_rate_one_over_t():
    r"""Mei et al. (2020): J* − J(θₜ) = Θ(1/t) for exact softmax policy gradient.

    The limit of t·(J* − J(θₜ)), by the gradient flow dθ/dt = α∇J: near the optimum,
    with πₐ ≈ exp(θₐ − θ*) ≪ 1 for the k sub-optimal arms a and Δₐ = r* − rₐ,

        d(θₐ − θ*)/dt ≈ −α (πₐΔₐ + Σ_b π_bΔ_b).

    Trying πₐ = cₐ/(αt) gives cₐΔₐ + Σ_b c_bΔ_b = 1 for every a, so Σ_b c_bΔ_b = k/(k + 1)
    and t·(J* − J) = Σₐ πₐΔₐ · t → k / ((k + 1) α), whatever the gaps Δₐ.
    """
    means = np.array([1.0, 0.6, 0.2])  # k = 2 sub-optimal arms
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    alpha, n_updates = 1.0, 1000
    history = alg.exact_gradient_ascent(problem.mdp, policy, np.zeros(3), alpha, n_updates)
    t = np.arange(n_updates + 1)
    gap = means.max() - history.objective
    late = t >= 100
    slope = alg.loglog_slope(t[late], gap[late])
    assert slope == pytest.approx(-1.0, abs=0.05)
    limit = 2 / (3 * alpha)
    assert gap[-1] * t[-1] == pytest.approx(limit, rel=0.03)
    assert abs(gap[-1] * t[-1] - limit) < abs(gap[100] * t[100] - limit)  # levelling off


def test_natural_ascent_on_the_bandit_converges_linearly():
    # θₐ ← θₐ + α A(a): π_{t+1}(a) ∝ πₜ(a) exp(α A(a)), so the gap falls geometrically.
    means = np.array([1.0, 0.6, 0.2])
    problem = envs.bandit(means)
    policy = SoftmaxLinearPolicy(problem.features)
    history = alg.natural_gradient_ascent(problem.mdp, policy, np.zeros(3), 1.0, 60)
    gap = means.max() - history.objective
    assert gap[-1] < 1e-8
    ratios = gap[21:41] / gap[20:40]
    assert np.all(ratios < 0.8)  # at least a constant factor per step, not 1/t


def test_loglog_slope_of_a_power_law_and_bad_input():
    t = np.arange(1.0, 50.0)
    assert alg.loglog_slope(t, 3.0 * t**-1.5) == pytest.approx(-1.5, abs=1e-12)
    with pytest.raises(ValueError, match="must be > 0"):
        alg.loglog_slope(t, -t)
    with pytest.raises(ValueError, match="same shape"):
        alg.loglog_slope(t, t[:-1])
    with pytest.raises(ValueError, match="values must be finite"):
        alg.loglog_slope(t, np.full_like(t, np.nan))


def test_natural_gradient_refuses_bad_arguments():
    problem, policy, theta = _random_problem()
    with pytest.raises(ValueError, match="damping must be ≥ 0"):
        alg.natural_policy_gradient(problem.mdp, policy, theta, damping=-1.0)
    with pytest.raises(ValueError, match="damping must be finite"):
        alg.natural_policy_gradient(problem.mdp, policy, theta, damping=np.nan)
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(18,\)"):
        alg.fisher_information(problem.mdp, policy, theta[:-1])
    with pytest.raises(ValueError, match=r"mdp must be a pgref\.TabularMDP"):
        alg.natural_gradient_ascent("mdp", policy, theta, 0.1, 1)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        alg.natural_gradient_ascent(problem.mdp, policy, theta, 0.0, 1)
