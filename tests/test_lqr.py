r"""Tests of pgref.lqr: the Gaussian bandit and the linear-quadratic problem.

Routes to the exact J and ∇J: central finite differences of J; the primal formula
J = −tr(PΣ) − σ² tr R/(1 − γ) against the dual J = −tr(XS₀) − c; the Lyapunov solves against
their series; Monte-Carlo simulation with a z-test; the scalar Riccati equation solved by hand;
and the γ = 0 problem, which is the bandit.

Statistical tests use a fixed seed and |z| < 6: for a fresh seed the two-sided false-failure
probability of one such check is nominally 2·Φ(−6) ≈ 2e-9, and at most 5e-8 allowing the
factor 25 that tests/test_learning_lqr.py allows for the heavier tail of a self-normalised z of
LQR returns (≤ 4e-7 for the 8 checks of the bandit test). Power against an objective off by
10 %: it moves z by 19 and 39 standard errors (the linear-quadratic cases) and by 46 and 68
(the bandits): ≈ 1.
"""

import math

import numpy as np
import pytest
from helpers import POWER_Z
from hypothesis import assume, given
from hypothesis import strategies as st

from pgref import GaussianPolicy, lqr
from pgref.numerics import central_difference

Z_LIMIT = 6.0  # two-sided false failure ≤ 5e-8 per check for a fresh seed (module docstring)


# -- problems ----------------------------------------------------------------------------------


def _problem_2d(gamma=0.9):
    """A 2-D problem with coupled dynamics, non-diagonal costs and a random start."""
    return lqr.LinearQuadraticProblem(
        A=[[1.0, 0.1], [-0.2, 0.9]],
        B=[[0.5, 0.0], [0.2, 1.0]],
        Q=[[1.0, 0.3], [0.3, 0.5]],
        R=[[0.2, -0.05], [-0.05, 0.1]],
        gamma=gamma,
        initial_mean=[1.0, -0.5],
        initial_cov=[[0.3, 0.1], [0.1, 0.2]],
    )


def _matrix(draw, rows, cols, bound):
    values = draw(st.lists(st.floats(-bound, bound), min_size=rows * cols, max_size=rows * cols))
    return np.array(values).reshape(rows, cols)


@st.composite
def stable_cases(draw):
    """(problem, gain, variance) with n, d ∈ {1, 2} and √γ·ρ(A + BL) ≤ 0.9."""
    n = draw(st.integers(1, 2))
    d = draw(st.integers(1, 2))
    q_root, r_root, cov_root = (_matrix(draw, k, k, 1.0) for k in (n, d, n))
    problem = lqr.LinearQuadraticProblem(
        A=_matrix(draw, n, n, 1.0),
        B=_matrix(draw, n, d, 1.0),
        Q=q_root @ q_root.T + 0.1 * np.eye(n),
        R=r_root @ r_root.T + 0.1 * np.eye(d),
        gamma=draw(st.floats(0.0, 0.95)),
        initial_mean=_matrix(draw, n, 1, 2.0)[:, 0],
        initial_cov=cov_root @ cov_root.T,
    )
    gain = _matrix(draw, d, n, 1.5)
    assume(lqr.discounted_spectral_radius(problem, gain) <= 0.9)
    return problem, gain, draw(st.floats(0.05, 2.0))


# -- the exact gradient ------------------------------------------------------------------------


@given(stable_cases(), st.sampled_from(["variance", "log_variance"]))
def test_policy_gradient_matches_finite_differences_of_objective(case, parametrisation):
    problem, gain, variance = case
    policy = lqr.linear_gaussian_policy(
        problem, learn_variance=True, variance_parameter=parametrisation
    )
    theta = lqr.theta_for_gain(policy, gain, variance)
    exact = lqr.policy_gradient(problem, policy, theta)
    numeric = central_difference(lambda t: lqr.objective(problem, policy, t), theta, step=1e-4)
    scale = 1.0 + abs(lqr.objective(problem, policy, theta))
    np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-7 * scale)


@pytest.mark.parametrize("dim", [1, 2])
def test_policy_gradient_with_fixed_variance_is_the_gain_part(dim):
    problem = lqr.moving_particle(dim=dim)
    gain = -1.2 * np.eye(dim)
    fixed = lqr.linear_gaussian_policy(problem, variance=0.4)
    learned = lqr.linear_gaussian_policy(problem, learn_variance=True)
    full = lqr.policy_gradient(problem, learned, lqr.theta_for_gain(learned, gain, 0.4))
    part = lqr.policy_gradient(problem, fixed, lqr.theta_for_gain(fixed, gain))
    assert part.shape == (dim * dim,)
    np.testing.assert_allclose(part, full[:-1], rtol=1e-14)
    numeric = central_difference(
        lambda t: lqr.objective(problem, fixed, t), lqr.theta_for_gain(fixed, gain)
    )
    np.testing.assert_allclose(part, numeric, rtol=1e-7)


@given(stable_cases())
def test_objective_primal_and_dual_formulas_agree(case):
    """−tr(XS₀) − c (value matrix) equals −tr(PΣ) − σ² tr R/(1 − γ) (state second moment)."""
    problem, gain, variance = case
    policy = lqr.linear_gaussian_policy(problem, variance=variance)
    dual = lqr.objective(problem, policy, lqr.theta_for_gain(policy, gain))
    cost = problem.Q + gain.T @ problem.R @ gain
    moment = lqr.state_second_moment(problem, gain, variance)
    primal = -np.trace(cost @ moment) - variance * np.trace(problem.R) / (1.0 - problem.gamma)
    assert dual <= 0.0
    assert dual == pytest.approx(primal, rel=1e-9, abs=1e-12)


def test_lyapunov_solutions_match_their_series():
    problem, gain, variance = _problem_2d(), np.array([[-0.8, 0.1], [0.3, -0.6]]), 0.3
    closed_loop = lqr.closed_loop_matrix(problem, gain)
    cost = problem.Q + gain.T @ problem.R @ gain
    value_series = np.zeros((2, 2))
    moment_series = np.zeros((2, 2))
    power = np.eye(2)
    moment = problem.initial_second_moment
    for t in range(400):
        value_series += problem.gamma**t * power.T @ cost @ power
        moment_series += problem.gamma**t * moment
        power = closed_loop @ power
        moment = closed_loop @ moment @ closed_loop.T + variance * problem.B @ problem.B.T
    np.testing.assert_allclose(lqr.value_matrix(problem, gain), value_series, rtol=1e-12)
    np.testing.assert_allclose(
        lqr.state_second_moment(problem, gain, variance), moment_series, rtol=1e-12
    )


def test_objective_is_linear_and_decreasing_in_variance():
    problem = _problem_2d()
    policy = lqr.linear_gaussian_policy(problem, learn_variance=True)
    gain = np.array([[-0.8, 0.1], [0.3, -0.6]])
    values = [lqr.objective(problem, policy, lqr.theta_for_gain(policy, gain, v))
              for v in (0.1, 0.6, 1.1)]
    slope = lqr.policy_gradient(problem, policy, lqr.theta_for_gain(policy, gain, 0.1))[-1]
    value = lqr.value_matrix(problem, gain)
    expected_slope = -(np.trace(problem.R) + problem.gamma * np.trace(
        problem.B.T @ value @ problem.B)) / (1.0 - problem.gamma)
    assert slope < 0.0
    assert slope == pytest.approx(expected_slope, rel=1e-12)
    assert values[1] - values[0] == pytest.approx(0.5 * slope, rel=1e-10)
    assert values[2] - values[1] == pytest.approx(0.5 * slope, rel=1e-10)


def test_zero_discount_is_one_step_expected_reward():
    """γ = 0: J = −E[s₀ᵀ(Q + KᵀRK)s₀] − σ² tr R."""
    problem = _problem_2d(gamma=0.0)
    gain, variance = np.array([[3.0, 0.0], [1.0, -2.0]]), 0.7  # unstable loop is fine when γ = 0
    policy = lqr.linear_gaussian_policy(problem, variance=variance)
    cost = problem.Q + gain.T @ problem.R @ gain
    expected = -np.trace(cost @ problem.initial_second_moment) - variance * np.trace(problem.R)
    assert lqr.objective(problem, policy, lqr.theta_for_gain(policy, gain)) == pytest.approx(
        expected, rel=1e-13, abs=0
    )


def test_lqr_at_zero_discount_is_the_bandit():
    """γ = 0, Q = 0, R = I, a point start m: J = −‖Km‖² − dσ², the bandit with target 0."""
    start = np.array([0.7, -1.3])
    problem = lqr.LinearQuadraticProblem(
        A=np.eye(2), B=np.eye(2), Q=np.zeros((2, 2)), R=np.eye(2), gamma=0.0,
        initial_mean=start, initial_cov=np.zeros((2, 2)),
    )
    bandit = lqr.GaussianBandit(states=start[None, :], probabilities=[1.0], targets=[[0.0, 0.0]])
    policy = lqr.linear_gaussian_policy(
        problem, learn_variance=True, variance_parameter="log_variance"
    )
    theta = lqr.theta_for_gain(policy, [[0.5, -1.0], [2.0, 0.3]], 0.4)
    assert lqr.objective(problem, policy, theta) == pytest.approx(
        bandit.objective(policy, theta), rel=1e-13, abs=0
    )
    np.testing.assert_allclose(
        lqr.policy_gradient(problem, policy, theta), bandit.policy_gradient(policy, theta),
        rtol=1e-12,
    )


def test_gain_and_theta_round_trip():
    problem = lqr.moving_particle(dim=2)
    policy = lqr.linear_gaussian_policy(problem)
    gain = np.array([[1.0, 2.0], [3.0, 4.0]])
    theta = lqr.theta_for_gain(policy, gain)
    np.testing.assert_array_equal(lqr.gain_matrix(policy, theta), gain)
    states = np.array([[1.0, 0.0], [0.5, -2.0]])
    np.testing.assert_allclose(policy.mean(theta, states), states @ gain.T)  # mean K s


# -- Monte-Carlo ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "gain", "variance", "seed"),
    [
        (lqr.moving_particle(dim=1, gamma=0.9), np.array([[-1.5]]), 0.5, 11),
        (_problem_2d(), np.array([[-0.8, 0.1], [0.3, -0.6]]), 0.3, 12),
    ],
    ids=["1d", "2d"],
)
def test_objective_matches_monte_carlo(problem, gain, variance, seed):
    policy = lqr.linear_gaussian_policy(problem, variance=variance)
    theta = lqr.theta_for_gain(policy, gain)
    n_episodes = 20_000
    sampled = lqr.sample_discounted_returns(
        problem, policy, theta, n_episodes, horizon=250, rng=np.random.default_rng(seed)
    )
    standard_error = sampled.returns.std(ddof=1) / math.sqrt(n_episodes)
    assert abs(sampled.truncation_bias) < 1e-3 * standard_error  # the horizon cut is negligible
    estimate = sampled.returns.mean() + sampled.truncation_bias
    J = lqr.objective(problem, policy, theta)
    z = (estimate - J) / standard_error
    assert abs(z) < Z_LIMIT
    # power against an objective off by 10 % (module docstring), and its positive control
    assert 0.1 * abs(J) / standard_error >= Z_LIMIT + POWER_Z
    assert abs((estimate - 1.1 * J) / standard_error) >= Z_LIMIT


def test_truncation_bias_is_exact_for_short_horizons():
    """J − E[Σ_{t<H} γᵗ Rₜ₊₁] is the reported bias: checked with an exact short-horizon sum."""
    problem = _problem_2d()
    gain, variance = np.array([[-0.8, 0.1], [0.3, -0.6]]), 0.3
    policy = lqr.linear_gaussian_policy(problem, variance=variance)
    theta = lqr.theta_for_gain(policy, gain)
    horizon = 5
    closed_loop = lqr.closed_loop_matrix(problem, gain)
    cost = problem.Q + gain.T @ problem.R @ gain
    moment, truncated = problem.initial_second_moment, 0.0
    for t in range(horizon):
        truncated -= problem.gamma**t * (np.trace(cost @ moment) + variance * np.trace(problem.R))
        moment = closed_loop @ moment @ closed_loop.T + variance * problem.B @ problem.B.T
    sampled = lqr.sample_discounted_returns(
        problem, policy, theta, 10, horizon, np.random.default_rng(0)
    )
    assert sampled.truncation_bias < 0.0
    assert sampled.truncation_bias == pytest.approx(
        lqr.objective(problem, policy, theta) - truncated, rel=1e-10
    )


def test_trajectories_follow_the_dynamics_and_match_the_returns():
    problem = _problem_2d()
    policy = lqr.linear_gaussian_policy(problem, variance=0.3)
    theta = lqr.theta_for_gain(policy, [[-0.8, 0.1], [0.3, -0.6]])
    episodes = lqr.sample_trajectories(problem, policy, theta, 7, 12, np.random.default_rng(3))
    assert episodes.states.shape == (7 * 12, 2) and episodes.actions.shape == (7 * 12, 2)
    assert np.all(episodes.lengths == 12) and np.all(episodes.truncated)
    padded = episodes.padded()
    s, a = padded.states, padded.actions  # (K, H, n), (K, H, d)
    np.testing.assert_allclose(s[:, 1:], s[:, :-1] @ problem.A.T + a[:, :-1] @ problem.B.T)
    expected_rewards = -(np.einsum("kti,ij,ktj->kt", s, problem.Q, s)
                         + np.einsum("kti,ij,ktj->kt", a, problem.R, a))
    np.testing.assert_allclose(padded.rewards, expected_rewards)
    returns = lqr.sample_discounted_returns(problem, policy, theta, 7, 12,
                                            np.random.default_rng(3))
    np.testing.assert_allclose(returns.returns, padded.rewards @ problem.gamma ** np.arange(12))
    assert returns.truncation_bias == lqr.truncation_bias(problem, policy, theta, 12)


@pytest.mark.parametrize("learn_variance", [False, True])
def test_trajectories_draw_the_actions_that_policy_sample_draws(learn_variance):
    """Replayed step by step with ``policy.sample`` on the same generator: the same actions."""
    problem = _problem_2d()
    policy = lqr.linear_gaussian_policy(problem, variance=0.3, learn_variance=learn_variance)
    theta = lqr.theta_for_gain(policy, [[-0.8, 0.1], [0.3, -0.6]],
                               0.3 if learn_variance else None)
    episodes = lqr.sample_trajectories(problem, policy, theta, 5, 6, np.random.default_rng(4))
    padded = episodes.padded()
    rng = np.random.default_rng(4)
    rng.standard_normal((5, 2))                   # the draws of S₀
    for t in range(6):
        actions = policy.sample(theta, padded.states[:, t], rng)
        np.testing.assert_allclose(padded.actions[:, t], actions, rtol=1e-12, atol=1e-12)


def test_point_start_is_a_point_and_scalar_actions_are_flat():
    problem = lqr.moving_particle(dim=1, initial_mean=[2.0], initial_cov=[[0.0]])
    policy = lqr.linear_gaussian_policy(problem, variance=0.1)
    episodes = lqr.sample_trajectories(
        problem, policy, policy.pack([[-1.0]]), 5, 3, np.random.default_rng(1)
    )
    np.testing.assert_array_equal(episodes.states[episodes.offsets[:-1], 0], 2.0)  # every S₀
    assert episodes.actions.shape == (5 * 3,)


# -- the bandit --------------------------------------------------------------------------------


def _tabular_bandit():
    bandit = lqr.GaussianBandit(
        states=np.arange(3), probabilities=[0.2, 0.5, 0.3], targets=[1.0, -0.5, 2.0]
    )
    features = np.array([[1.0, 0.0], [1.0, 1.0], [0.5, -1.0]])
    return bandit, features


def _point_bandit():
    """States are points in ℝ², features x(s) = [1, s], actions in ℝ²."""
    bandit = lqr.GaussianBandit(
        states=[[0.0, 1.0], [1.0, -1.0], [2.0, 0.5], [-1.0, 0.0]],
        probabilities=[0.1, 0.4, 0.3, 0.2],
        targets=[[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]],
    )
    def features(states):
        return np.column_stack([np.ones(len(states)), states])

    return bandit, features


@pytest.mark.parametrize("parametrisation", ["variance", "log_variance"])
def test_bandit_gradient_matches_finite_differences_and_closed_form(parametrisation):
    bandit, features = _tabular_bandit()
    policy = GaussianPolicy(features, learn_variance=True, variance_parameter=parametrisation)
    theta = policy.pack(np.array([0.3, -0.7]), 0.8)
    exact = bandit.policy_gradient(policy, theta)
    numeric = central_difference(lambda t: bandit.objective(policy, t), theta, step=1e-3)
    np.testing.assert_allclose(exact, numeric, rtol=1e-9, atol=1e-12)
    # ∂J/∂σ² = −d and ∂J/∂(log σ²) = −dσ², d = 1: negative, so J prefers a smaller variance
    assert exact[-1] == pytest.approx(-1.0 if parametrisation == "variance" else -0.8, rel=1e-14,
                                      abs=0)
    mean = features @ policy.weights(theta)[:, 0]
    expected = -(bandit.probabilities @ (mean - bandit.targets[:, 0]) ** 2) - 0.8
    assert bandit.objective(policy, theta) == pytest.approx(expected, rel=1e-14, abs=0)


def test_bandit_variance_gradient_in_two_dimensions():
    bandit, features = _point_bandit()
    policy = GaussianPolicy(features, action_dim=2, learn_variance=True, n_features=3)
    theta = policy.pack(np.zeros((3, 2)), 0.5)
    gradient = bandit.policy_gradient(policy, theta)
    assert gradient[-1] == -2.0  # −d with d = 2
    numeric = central_difference(lambda t: bandit.objective(policy, t), theta, step=1e-3)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("which", ["tabular", "points"])
def test_bandit_closed_form_matches_monte_carlo(which):
    """Mean reward against J, and the score-function estimate E[R ∇log π] against ∇J."""
    if which == "tabular":
        bandit, features = _tabular_bandit()
        policy = GaussianPolicy(features, learn_variance=True)
        theta = policy.pack(np.array([0.3, -0.7]), 0.8)
    else:
        bandit, features = _point_bandit()
        policy = GaussianPolicy(features, action_dim=2, learn_variance=True, n_features=3,
                                variance_parameter="log_variance")
        theta = policy.pack(np.array([[0.2, 0.0], [-0.3, 0.5], [0.1, 0.4]]), 0.6)
    n_samples = 400_000
    samples = bandit.sample_episodes(policy, theta, n_samples, np.random.default_rng(21))
    z_objective = (samples.rewards.mean() - bandit.objective(policy, theta)) / (
        samples.rewards.std(ddof=1) / math.sqrt(n_samples)
    )
    assert abs(z_objective) < Z_LIMIT
    objective_error = samples.rewards.std(ddof=1) / math.sqrt(n_samples)
    assert 0.1 * abs(bandit.objective(policy, theta)) / objective_error >= Z_LIMIT + POWER_Z
    terms = samples.rewards[:, None] * policy.grad_log_prob(theta, samples.states,
                                                            samples.actions)
    z_gradient = (terms.mean(axis=0) - bandit.policy_gradient(policy, theta)) / (
        terms.std(axis=0, ddof=1) / math.sqrt(n_samples)
    )
    # P ≤ 7 components: a union bound gives a false-failure probability ≤ 7 · 5e-8 = 3.5e-7
    assert np.all(np.abs(z_gradient) < Z_LIMIT)


# -- the optimal gain --------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
def test_optimal_gain_matches_scalar_riccati_closed_form(gamma):
    """1-D moving particle: γb²x² + ((1 − γ)r − γqb²)x − qr = 0, K* = −γbx/(r + γb²x)."""
    b, q, r = 0.1, 1.0, 0.1
    problem = lqr.moving_particle(dim=1, time_step=b, gamma=gamma, position_cost=q,
                                  action_cost=r)
    linear = (1.0 - gamma) * r - gamma * q * b**2
    x = (-linear + math.sqrt(linear**2 + 4.0 * gamma * b**2 * q * r)) / (2.0 * gamma * b**2)
    expected = -gamma * b * x / (r + gamma * b**2 * x)
    assert lqr.optimal_gain(problem)[0, 0] == pytest.approx(expected, rel=1e-9)


def test_optimal_gain_stops_by_the_documented_relative_rule():
    """max |Xₖ₊₁ − Xₖ| ≤ tolerance · max(1, max |Xₖ₊₁|), replayed by hand on a scalar problem
    whose X ≈ 100 ≫ 1 converges slowly (γ = 0.99), with a loose tolerance 1e−4 so that where
    the iteration stops shows in L*: the rule tolerance / max(…) stops 46 steps later, at a
    gain 3e−4 away."""
    a, b, q, r, gamma, tolerance = 1.0, 0.1, 10.0, 10.0, 0.99, 1e-4
    problem = lqr.LinearQuadraticProblem([[a]], [[b]], [[q]], [[r]], gamma, [1.0], [[0.0]])

    def by_hand(stop):
        x = q
        while True:
            gain = -gamma * b * x * a / (r + gamma * b * x * b)
            new = q + gamma * a * x * a + gamma * a * x * b * gain
            change, x = abs(new - x), new
            if stop(change, x):
                return -gamma * b * x * a / (r + gamma * b * x * b)

    documented = by_hand(lambda change, x: change <= tolerance * max(1.0, abs(x)))
    stricter = by_hand(lambda change, x: change <= tolerance / max(1.0, abs(x)))
    assert abs(documented - stricter) > 1e-4                  # the rule shows in L*
    assert lqr.optimal_gain(problem, tolerance=tolerance)[0, 0] == pytest.approx(documented,
                                                                               rel=1e-12, abs=0)


@pytest.mark.parametrize(
    "problem",
    [
        lqr.moving_particle(dim=2),
        lqr.moving_particle(dim=2, initial_mean=[3.0, -1.0], initial_cov=np.zeros((2, 2))),
        _problem_2d(),
    ],
    ids=["particle", "particle-point-start", "coupled"],
)
@pytest.mark.parametrize("variance", [0.05, 1.0])
def test_gradient_vanishes_and_objective_peaks_at_optimal_gain(problem, variance):
    policy = lqr.linear_gaussian_policy(problem, variance=variance)
    best_gain = lqr.optimal_gain(problem)
    best_theta = lqr.theta_for_gain(policy, best_gain)
    best = lqr.objective(problem, policy, best_theta)
    gradient = lqr.policy_gradient(problem, policy, best_theta)
    assert np.abs(gradient).max() < 1e-8 * abs(best)
    rng = np.random.default_rng(5)
    for size in (1e-3, 1e-1, 0.5):
        for _ in range(10):
            gain = best_gain + size * rng.standard_normal(best_gain.shape)
            if lqr.discounted_spectral_radius(problem, gain) >= 1.0:
                continue
            assert lqr.objective(problem, policy, lqr.theta_for_gain(policy, gain)) <= best


def test_particle_standing_still_is_stable_for_every_discount():
    for gamma in (0.0, 0.5, 0.999):
        problem = lqr.moving_particle(dim=2, gamma=gamma)
        assert lqr.discounted_spectral_radius(problem, np.zeros((2, 2))) == pytest.approx(
            math.sqrt(gamma)
        )


def test_optimal_gain_refuses_unstabilisable_problems():
    uncontrolled = dict(A=[[2.0]], B=[[0.0]], R=[[1.0]], gamma=0.9, initial_mean=[1.0],
                        initial_cov=[[0.0]])
    with pytest.raises(ValueError, match="diverged"):
        lqr.optimal_gain(lqr.LinearQuadraticProblem(Q=[[1.0]], **uncontrolled))
    with pytest.raises(ValueError, match="does not stabilise"):
        lqr.optimal_gain(lqr.LinearQuadraticProblem(Q=[[0.0]], **uncontrolled))
    singular = lqr.LinearQuadraticProblem(A=[[0.5]], B=[[1.0]], Q=[[0.0]], R=[[0.0]],
                                          gamma=0.9, initial_mean=[1.0], initial_cov=[[0.0]])
    with pytest.raises(ValueError, match="singular"):
        lqr.optimal_gain(singular)
    with pytest.raises(ValueError, match=r"did not converge within max_iterations=2"):
        lqr.optimal_gain(lqr.moving_particle(dim=1), max_iterations=2)


# -- errors ------------------------------------------------------------------------------------


def test_unstable_closed_loop_raises_and_says_objective_is_minus_infinity():
    problem = lqr.moving_particle(dim=2, gamma=0.9)
    policy = lqr.linear_gaussian_policy(problem)
    theta = lqr.theta_for_gain(policy, 2.0 * np.eye(2))  # M = 1.2 I, √0.9·1.2 ≈ 1.14
    for compute in (lqr.objective, lqr.policy_gradient):
        with pytest.raises(lqr.UnstableClosedLoopError, match=r"𝒥 = −∞.*√γ·ρ\(A \+ BL\) < 1"):
            compute(problem, policy, theta)
    with pytest.raises(ValueError, match=r"√γ·ρ\(A \+ BL\) = 1.13842"):
        lqr.sample_discounted_returns(problem, policy, theta, 10, 10, np.random.default_rng(0))


def _arguments(**changes):
    arguments = dict(A=np.eye(2), B=np.eye(2), Q=np.eye(2), R=np.eye(2), gamma=0.9,
                     initial_mean=np.zeros(2), initial_cov=np.zeros((2, 2)))
    arguments.update(changes)
    return arguments


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(A=np.ones((2, 3))), r"A must be square"),
        (dict(A=[[1.0, np.nan], [0.0, 1.0]]), r"A must be finite"),
        (dict(B=np.ones((3, 1))), r"B must have shape \(2, d\)"),
        (dict(Q=np.eye(3)), r"Q must have shape \(2, 2\)"),
        (dict(Q=[[1.0, 0.5], [0.0, 1.0]]), r"Q must be symmetric"),
        (dict(Q=-np.eye(2)), r"Q must be positive semi-definite.*-1"),
        (dict(R=np.eye(3)), r"R must have shape \(2, 2\)"),
        (dict(R=[[1.0, 2.0], [2.0, 1.0]]), r"R must be positive semi-definite"),
        (dict(gamma=1.0), r"gamma must lie in \[0, 1\); got 1.0.*diverges"),
        (dict(gamma=-0.1), r"gamma must lie in \[0, 1\)"),
        (dict(gamma=float("inf")), r"gamma must be finite"),
        (dict(gamma="0.9"), r"gamma must be a real number"),
        (dict(initial_mean=np.zeros(3)), r"initial_mean must have shape \(2,\)"),
        (dict(initial_cov=[[1.0, 0.0], [0.0, -1.0]]), r"initial_cov must be positive semi"),
        (dict(initial_cov=[[1.0, 0.0], [0.0, np.inf]]), r"initial_cov must be finite"),
    ],
)
def test_problem_refuses_bad_arguments_by_name(changes, message):
    with pytest.raises(ValueError, match=message):
        lqr.LinearQuadraticProblem(**_arguments(**changes))


def test_objective_refuses_policies_that_are_not_linear_gaussian():
    problem = lqr.moving_particle(dim=2)
    good = lqr.linear_gaussian_policy(problem)
    theta = good.pack(np.zeros((2, 2)))
    cases = [
        (GaussianPolicy(np.eye(2), action_dim=2), r"features, x\(s\) = s"),
        (GaussianPolicy(lqr.state_features, action_dim=1, n_features=2), r"action_dim must be"),
        (GaussianPolicy(lambda s: s**3, action_dim=2, n_features=2), r"must be the identity"),
        ("policy", r"policy must be a pgref.GaussianPolicy"),
    ]
    for policy, message in cases:
        with pytest.raises(ValueError, match=message):
            lqr.objective(problem, policy, theta)
    with pytest.raises(ValueError, match=r"problem must be a pgref.lqr.LinearQuadraticProblem"):
        lqr.policy_gradient("problem", good, theta)
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(4,\)"):
        lqr.objective(problem, good, np.zeros(5))
    learned = lqr.linear_gaussian_policy(problem, learn_variance=True)
    with pytest.raises(ValueError, match=r"theta\[-1\] is the variance σ² and must be > 0"):
        lqr.objective(problem, learned, np.array([0.0, 0.0, 0.0, 0.0, -0.1]))
    with pytest.raises(ValueError, match=r"gain must have shape \(2, 2\)"):
        lqr.value_matrix(problem, np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"variance must be > 0"):
        lqr.state_second_moment(problem, np.zeros((2, 2)), 0.0)


def test_simulation_and_constructors_refuse_bad_arguments():
    problem = lqr.moving_particle(dim=1)
    policy = lqr.linear_gaussian_policy(problem)
    theta = policy.pack([[-1.0]])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"n_episodes must be an integer ≥ 1"):
        lqr.sample_trajectories(problem, policy, theta, 0, 10, rng)
    with pytest.raises(ValueError, match=r"horizon must be an integer ≥ 1"):
        lqr.sample_discounted_returns(problem, policy, theta, 10, 2.5, rng)
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator"):
        lqr.sample_trajectories(problem, policy, theta, 10, 10, 0)
    with pytest.raises(ValueError, match=r"time_step must be > 0"):
        lqr.moving_particle(time_step=0.0)
    with pytest.raises(ValueError, match=r"dim must be an integer ≥ 1"):
        lqr.moving_particle(dim=0)
    with pytest.raises(ValueError, match=r"tolerance must be > 0"):
        lqr.optimal_gain(problem, tolerance=-1.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(probabilities=[0.5, 0.6]), r"probabilities must be non-negative and sum to 1"),
        (dict(probabilities=[1.0]), r"probabilities must have shape \(2,\)"),
        (dict(targets=[1.0, 2.0, 3.0]), r"targets must have shape \(2,\) or \(2, d\)"),
        (dict(targets=[1.0, np.nan]), r"targets must be finite"),
        (dict(states=np.zeros((2, 2, 2))), r"states must have shape \(S,\)"),
        (dict(states=[0.0, np.nan]), r"states must be finite"),
    ],
)
def test_bandit_refuses_bad_arguments_by_name(changes, message):
    arguments = dict(states=np.arange(2), probabilities=[0.5, 0.5], targets=[1.0, 2.0])
    arguments.update(changes)
    with pytest.raises(ValueError, match=message):
        lqr.GaussianBandit(**arguments)


def test_bandit_refuses_a_policy_of_the_wrong_action_dimension():
    bandit, features = _point_bandit()
    policy = GaussianPolicy(features, action_dim=1, n_features=3)
    with pytest.raises(ValueError, match=r"policy.action_dim must equal the targets' dimension"):
        bandit.objective(policy, np.zeros(3))
    with pytest.raises(ValueError, match=r"n_episodes must be an integer ≥ 1"):
        bandit.sample_episodes(GaussianPolicy(features, action_dim=2, n_features=3),
                               np.zeros(6), 0, np.random.default_rng(0))


def test_moving_particle_defaults_are_the_documented_start():
    problem = lqr.moving_particle(dim=3)
    np.testing.assert_array_equal(problem.initial_mean, np.ones(3))  # default (1, …, 1)
    np.testing.assert_array_equal(problem.initial_cov, 0.25 * np.eye(3))  # default 0.25 I


def test_one_step_trajectories_are_the_start_and_one_reward():
    """H = 1: each episode is (s₀, a₀, r₁) with r₁ = −(s₀ᵀQs₀ + a₀ᵀRa₀), and the discounted
    return is r₁ itself."""
    problem = _problem_2d()
    policy = lqr.linear_gaussian_policy(problem, variance=0.3)
    theta = lqr.theta_for_gain(policy, [[-0.8, 0.1], [0.3, -0.6]])
    episodes = lqr.sample_trajectories(problem, policy, theta, 4, 1, np.random.default_rng(2))
    assert episodes.states.shape == (4, 2) and episodes.actions.shape == (4, 2)
    np.testing.assert_array_equal(episodes.lengths, [1, 1, 1, 1])
    s, a = episodes.states, episodes.actions
    np.testing.assert_allclose(episodes.rewards, -(np.einsum("ki,ij,kj->k", s, problem.Q, s)
                                                   + np.einsum("ki,ij,kj->k", a, problem.R, a)))
    returns = lqr.sample_discounted_returns(problem, policy, theta, 4, 1, np.random.default_rng(2))
    np.testing.assert_allclose(returns.returns, episodes.rewards)


@pytest.mark.parametrize("size", [0.1, 100.0])
def test_symmetry_and_definiteness_are_checked_to_1e_10_of_max_one_and_the_largest_entry(size):
    """Round-off up to 1e−10·max(1, max|entry|) passes; 1.5 times that is refused."""
    scale = max(1.0, size)
    for excess, accepted in ((0.5, True), (1.5, False)):
        nudge = excess * 1e-10 * scale
        asymmetric = size * np.ones((2, 2)) + np.array([[0.0, nudge], [0.0, 0.0]])
        indefinite = np.diag([size, -nudge])
        for changes in (dict(Q=asymmetric), dict(initial_cov=indefinite)):
            if accepted:
                lqr.LinearQuadraticProblem(**_arguments(**changes))
            else:
                with pytest.raises(ValueError, match=r"symmetric|semi-definite"):
                    lqr.LinearQuadraticProblem(**_arguments(**changes))


@pytest.mark.parametrize("tolerance", [1e-3, 1e-6])
def test_the_riccati_iteration_stops_where_its_docstring_says(tolerance):
    """Scalar problem, |X| < 1: the iteration written out by hand, stopped at the first k with
    |Xₖ₊₁ − Xₖ| ≤ tolerance · max(1, |Xₖ₊₁|), gives the same gain to rounding."""
    a, b, q, r, gamma = 1.0, 0.1, 0.05, 0.1, 0.9
    problem = lqr.moving_particle(dim=1, time_step=b, gamma=gamma, position_cost=q,
                                  action_cost=r)
    value = q
    while True:
        gain = -gamma * b * value * a / (r + gamma * b * b * value)
        new_value = q + gamma * a * a * value + gamma * a * value * b * gain
        change, value = abs(new_value - value), new_value
        if change <= tolerance * max(1.0, abs(value)):
            break
    assert abs(value) < 1.0
    expected = -gamma * b * value * a / (r + gamma * b * b * value)
    computed = lqr.optimal_gain(problem, tolerance=tolerance)
    assert computed[0, 0] == pytest.approx(expected, rel=1e-12, abs=0)
    assert lqr.optimal_gain(problem, tolerance=tolerance / 4)[0, 0] != pytest.approx(
        expected, rel=1e-9)  # a finer stop moves the gain: the test can see where it stopped


@pytest.mark.parametrize(("gamma", "horizon"), [(0.0, 1), (0.5, 27), (0.9, 175)])
def test_default_horizon_is_the_least_h_with_gamma_to_the_h_below_1e_8(gamma, horizon):
    problem = lqr.moving_particle(dim=1, gamma=gamma)
    assert problem.default_horizon == horizon
    assert gamma**horizon <= 1e-8 and (horizon == 1 or gamma ** (horizon - 1) > 1e-8)


def test_linear_gaussian_policy_defaults_are_those_of_gaussian_policy():
    """Its arguments are "those of GaussianPolicy", defaults included: σ² = 1, not learned, so
    log π(a|s) = −(d/2) log 2π − ‖a − L s‖²/2 (the normal density written out), θ = Θ only."""
    problem = _problem_2d()
    policy = lqr.linear_gaussian_policy(problem)
    n, d = problem.state_dim, problem.action_dim
    assert policy.n_params == n * d
    rng = np.random.default_rng(8)
    gain = rng.normal(size=(d, n))
    theta = lqr.theta_for_gain(policy, gain)
    states, actions = rng.normal(size=(5, n)), rng.normal(size=(5, d))
    residual = actions - states @ gain.T
    expected = -0.5 * d * math.log(2.0 * math.pi) - 0.5 * (residual**2).sum(axis=1)
    np.testing.assert_allclose(policy.log_prob(theta, states, actions), expected, rtol=1e-13)


def test_moving_particle_defaults_are_the_lecture_particle_in_the_plane():
    """The defaults of the signature and docstring: n = 2 (the plane), A = I, B = Δt I, Q = q I,
    R = r I with Δt = 0.1, q = 1, r = 0.1, γ = 0.9, start mean (1, …, 1), covariance 0.25 I."""
    problem = lqr.moving_particle()
    identity = np.eye(2)
    assert problem.state_dim == problem.action_dim == 2 and problem.gamma == 0.9
    for matrix, expected in ((problem.A, identity), (problem.B, 0.1 * identity),
                             (problem.Q, identity), (problem.R, 0.1 * identity),
                             (problem.initial_mean, np.ones(2)),
                             (problem.initial_cov, 0.25 * identity)):
        np.testing.assert_array_equal(matrix, expected)


@pytest.mark.parametrize("gamma", [1e-9, 1e-8, 0.5, 0.9, 0.99])
def test_default_horizon_is_the_least_h_with_gamma_to_the_h_below_1e_minus_8(gamma):
    """H = min { h ≥ 1 : γʰ ≤ 10⁻⁸ }, found here by counting h up (γ ≤ 1e−8 gives H = 1)."""
    h = 1
    while gamma**h > 1e-8:
        h += 1
    assert lqr.moving_particle(dim=1, gamma=gamma).default_horizon == h
