"""Policies: every hand-derived score against an independent route.

Routes: central finite differences of ``log_prob``; sums over the action set; Gauss–Hermite
quadrature (exact for the polynomial moments of a Gaussian); Monte-Carlo with a stated
false-failure probability; the lecture's density written out as a formula.
"""

import math

import numpy as np
import pytest
from helpers import (
    POWER_Z,
    FixedUniforms,
    chi_square_quantile,
    noncentral_chi_square_tail,
    z_critical,
)
from hypothesis import given
from hypothesis import strategies as st

from pgref import GaussianPolicy, MLPSoftmaxPolicy, SoftmaxLinearPolicy
from pgref.features import moving_particle_features, one_hot_features
from pgref.numerics import central_difference
from pgref.policies.discrete import last_possible, log_softmax, sample_categorical

seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 4)


def assert_score_matches_finite_differences(policy, theta, states, actions):
    """∇ log π from the policy against the 4th-order central difference of log π, pair by pair."""
    score = policy.grad_log_prob(theta, states, actions)
    numeric = central_difference(lambda t: policy.log_prob(t, states, actions), theta, step=1e-4)
    np.testing.assert_allclose(score, numeric, rtol=1e-6, atol=1e-6)


SAMPLING_FALSE_FAILURE = 1e-7
"""The false-failure rate of each Monte-Carlo check of this file for a fresh seed (asymptotic χ²
and normal laws; every expected count is in the thousands)."""


def random_softmax(seed, n_states, n_actions, n_features, scale=2.0):
    rng = np.random.default_rng(seed)
    policy = SoftmaxLinearPolicy(rng.normal(size=(n_states, n_actions, n_features)))
    return policy, scale * rng.normal(size=n_features), rng


def random_mlp(seed, n_states, n_actions, hidden):
    rng = np.random.default_rng(seed)
    policy = MLPSoftmaxPolicy(rng.normal(size=(n_states, 3)), n_actions, hidden_sizes=hidden)
    return policy, policy.initial_theta(rng, scale=1.5), rng


def random_gaussian(seed, action_dim, learn_variance, parameter, n_states=5, n_features=3):
    rng = np.random.default_rng(seed)
    policy = GaussianPolicy(
        rng.normal(size=(n_states, n_features)),
        action_dim=action_dim,
        variance=0.7,
        learn_variance=learn_variance,
        variance_parameter=parameter,
    )
    variance = rng.uniform(0.2, 3.0) if learn_variance else None
    theta = policy.pack(rng.normal(size=(n_features, action_dim)), variance)
    return policy, theta, rng


def all_pairs(n_states, n_actions):
    return np.repeat(np.arange(n_states), n_actions), np.tile(np.arange(n_actions), n_states)


# -- scores against finite differences ------------------------------------------------------


@given(seed=seeds, n_states=sizes, n_actions=st.integers(2, 4), n_features=sizes)
def test_softmax_score_matches_finite_differences(seed, n_states, n_actions, n_features):
    policy, theta, _ = random_softmax(seed, n_states, n_actions, n_features)
    assert_score_matches_finite_differences(policy, theta, *all_pairs(n_states, n_actions))


@given(seed=seeds, n_actions=st.integers(2, 4),
       hidden=st.lists(st.integers(1, 5), min_size=0, max_size=2))
def test_mlp_score_matches_finite_differences(seed, n_actions, hidden):
    policy, theta, _ = random_mlp(seed, 4, n_actions, hidden)
    assert_score_matches_finite_differences(policy, theta, *all_pairs(4, n_actions))


@given(seed=seeds, action_dim=st.integers(1, 3), learn_variance=st.booleans(),
       parameter=st.sampled_from(["variance", "log_variance"]))
def test_gaussian_score_matches_finite_differences(seed, action_dim, learn_variance, parameter):
    policy, theta, rng = random_gaussian(seed, action_dim, learn_variance, parameter)
    states = rng.integers(0, 5, size=6)
    actions = policy.sample(theta, states, rng)
    assert_score_matches_finite_differences(policy, theta, states, actions)


def test_gaussian_variance_score_is_the_lectures_formula():
    # ∂ log π/∂σ² = −1/(2σ²) + (a − μ)²/(2σ⁴), written out for a scalar action.
    policy = GaussianPolicy(np.array([[2.0]]), learn_variance=True)
    mean_weight, variance, action = 0.5, 0.3, 1.7
    theta = np.array([mean_weight, variance])
    mu = mean_weight * 2.0
    expected = -1 / (2 * variance) + (action - mu) ** 2 / (2 * variance**2)
    score = policy.grad_log_prob(theta, 0, action)
    assert score[1] == pytest.approx(expected, rel=1e-14, abs=0)
    assert score[0] == pytest.approx(2.0 * (action - mu) / variance, rel=1e-14, abs=0)


def test_log_variance_score_is_the_chain_rule_of_the_variance_score():
    rng = np.random.default_rng(4)
    features = rng.normal(size=(3, 2))
    by_variance = GaussianPolicy(features, 2, learn_variance=True)
    by_log = GaussianPolicy(features, 2, learn_variance=True, variance_parameter="log_variance")
    weights, variance = rng.normal(size=(2, 2)), 0.45
    states, actions = np.array([0, 1, 2]), rng.normal(size=(3, 2))
    score_variance = by_variance.grad_log_prob(by_variance.pack(weights, variance), states, actions)
    score_log = by_log.grad_log_prob(by_log.pack(weights, variance), states, actions)
    np.testing.assert_allclose(score_log[:, :-1], score_variance[:, :-1], rtol=1e-13)
    np.testing.assert_allclose(score_log[:, -1], variance * score_variance[:, -1], rtol=1e-13)


# -- E[∇ log π] = 0 ---------------------------------------------------------------------------


@given(seed=seeds, n_states=sizes, n_actions=st.integers(2, 5), n_features=sizes)
def test_softmax_expected_score_is_zero(seed, n_states, n_actions, n_features):
    policy, theta, _ = random_softmax(seed, n_states, n_actions, n_features, scale=5.0)
    expected = np.einsum("sa,sap->sp", policy.action_probs(theta),
                         policy.grad_log_prob_table(theta))
    np.testing.assert_allclose(expected, 0.0, atol=1e-12)


@given(seed=seeds, n_states=sizes, n_actions=st.integers(2, 5), n_features=sizes,
       scale=st.sampled_from([1.0, 30.0, 1e3]))
def test_softmax_score_table_is_the_score_of_every_pair(seed, n_states, n_actions, n_features,
                                                        scale):
    """The whole-table form against ``grad_log_prob`` of each (s, a) (itself checked by finite
    differences above): the same numbers, to the last bit, near-deterministic policies too."""
    policy, theta, _ = random_softmax(seed, n_states, n_actions, n_features, scale=scale)
    states = np.repeat(np.arange(n_states), n_actions)
    actions = np.tile(np.arange(n_actions), n_states)
    np.testing.assert_array_equal(
        policy.grad_log_prob_table(theta),
        policy.grad_log_prob(theta, states, actions).reshape(n_states, n_actions, -1))


@given(seed=seeds, n_states=sizes, n_actions=st.integers(2, 5), n_features=sizes,
       scale=st.sampled_from([1.0, 30.0, 1e3]))
def test_softmax_policy_table_is_the_probs_of_every_state(seed, n_states, n_actions, n_features,
                                                          scale):
    """The whole-table π_θ against ``probs`` of each state: the same numbers, to the last bit."""
    policy, theta, _ = random_softmax(seed, n_states, n_actions, n_features, scale=scale)
    np.testing.assert_array_equal(policy.action_probs(theta),
                                  policy.probs(theta, np.arange(n_states)))


@given(seed=seeds, n_actions=st.integers(2, 5),
       hidden=st.lists(st.integers(1, 6), min_size=0, max_size=2))
def test_mlp_expected_score_is_zero(seed, n_actions, hidden):
    policy, theta, _ = random_mlp(seed, 3, n_actions, hidden)
    expected = np.einsum("sa,sap->sp", policy.action_probs(theta),
                         policy.grad_log_prob_table(theta))
    np.testing.assert_allclose(expected, 0.0, atol=1e-12)


def gauss_hermite_expectation(policy, theta, state, function, n_nodes=40):
    """E_{a∼N(μ, σ²)}[function(a)] for a scalar action by Gauss–Hermite quadrature.

    With a = μ + √(2σ²) u, E[f(a)] = π^{-1/2} Σᵢ wᵢ f(μ + √(2σ²) uᵢ); exact for polynomials
    of degree < 2·n_nodes.
    """
    nodes, weights = np.polynomial.hermite.hermgauss(n_nodes)
    mu, variance = policy.mean(theta, state), policy.variance(theta)
    actions = mu + np.sqrt(2.0 * variance) * nodes
    values = function(actions)
    return np.tensordot(weights, values, axes=(0, 0)) / np.sqrt(np.pi)


@pytest.mark.parametrize("parameter", ["variance", "log_variance"])
def test_gaussian_expected_score_is_zero_by_quadrature(parameter):
    policy, theta, _ = random_gaussian(7, 1, True, parameter)
    for state in range(5):
        expected = gauss_hermite_expectation(
            policy, theta, state,
            lambda a, s=state: policy.grad_log_prob(theta, np.full(a.shape, s), a),
        )
        np.testing.assert_allclose(expected, 0.0, atol=1e-12)


def test_gaussian_expected_score_is_zero_by_monte_carlo():
    """Each of the 7 components (2 × 3 of θ and σ²) of the mean of n = 40 000 i.i.d. scores
    against 0 by its standard error: |z| < z_critical(1e−7) = 5.33, false failure ≤ 7e−7 for a
    fresh seed. Power against a σ² score whose −d/(2σ²) is off by 10 % (its mean then moves by
    0.1·d/(2σ²)): computed from the sample's standard error, a shift ≥ 5.33 + 3.09 (asserted),
    and the bugged scores fail (positive control)."""
    policy, theta, rng = random_gaussian(11, 2, True, "variance")
    states = rng.integers(0, 5, size=40_000)
    scores = policy.grad_log_prob(theta, states, policy.sample(theta, states, rng))
    error = scores.std(axis=0, ddof=1) / np.sqrt(len(states))
    limit = z_critical(SAMPLING_FALSE_FAILURE)
    assert np.all(np.abs(scores.mean(axis=0) / error) < limit), scores.mean(axis=0) / error
    slip = 0.1 * 2 / (2 * policy.variance(theta))                    # 0.1 · d/(2σ²), d = 2
    assert slip / error[-1] >= limit + POWER_Z, slip / error[-1]
    assert abs((scores[:, -1].mean() - slip) / error[-1]) >= limit


@pytest.mark.parametrize("variance", [0.05, 1.0, 7.0])
def test_gaussian_fisher_information_in_variance_is_one_over_two_variance_squared(variance):
    # I(σ²) = E[(∂ log π/∂σ²)²] = 1/(2σ⁴) for a scalar Gaussian; the score squared is a
    # polynomial of degree 4 in a, so 40-node Gauss–Hermite quadrature is exact.
    policy = GaussianPolicy(np.array([[1.0]]), learn_variance=True)
    theta = np.array([0.3, variance])
    fisher = gauss_hermite_expectation(
        policy, theta, 0,
        lambda a: policy.grad_log_prob(theta, np.zeros(a.shape, int), a)[:, 1] ** 2,
    )
    assert fisher == pytest.approx(1.0 / (2.0 * variance**2), rel=1e-12, abs=0)


# -- probabilities and densities --------------------------------------------------------------


@given(seed=seeds, n_states=sizes, n_actions=st.integers(1, 5), n_features=sizes)
def test_softmax_probabilities_sum_to_one_and_match_the_formula(seed, n_states, n_actions,
                                                                n_features):
    policy, theta, _ = random_softmax(seed, n_states, n_actions, n_features)
    probs = policy.action_probs(theta)
    preferences = np.exp(policy.features.source @ theta)  # exp(θᵀx(s, a)), small θ: no overflow
    np.testing.assert_allclose(probs, preferences / preferences.sum(axis=1, keepdims=True),
                               rtol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("magnitude", [1e4, -1e4])
def test_softmax_is_finite_for_huge_logits(magnitude):
    features = np.eye(3)[None]  # one state, x(s, a) = e_a
    policy = SoftmaxLinearPolicy(features)
    theta = np.array([magnitude, 0.0, -magnitude])
    probs = policy.action_probs(theta)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(), 1.0)
    best = 0 if magnitude > 0 else 2
    assert probs[0, best] == 1.0
    scores = policy.grad_log_prob_table(theta)
    assert np.all(np.isfinite(scores))
    np.testing.assert_allclose(scores[0, best], 0.0, atol=1e-300)  # e_a − π ≈ 0 at the argmax
    log_probs = policy.log_prob(theta, [0, 0, 0], [0, 1, 2])
    assert np.all(np.isfinite(log_probs))
    assert log_probs[1] == pytest.approx(-abs(magnitude))


def test_softmax_ignores_a_state_only_feature_added_to_every_action():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(4, 3, 2))
    state_term = rng.normal(size=(4, 1, 2))  # c(s), the same for every action
    theta = rng.normal(size=2)
    np.testing.assert_allclose(
        SoftmaxLinearPolicy(features + state_term).action_probs(theta),
        SoftmaxLinearPolicy(features).action_probs(theta), rtol=1e-12,
    )


def test_moving_particle_softmax_ignores_the_position():
    positions = np.array([[0.0, 0.0], [1.0, -2.0], [3.5, 4.0]])
    codes = np.array([0.0, 1.0, 2.0, 3.0])
    policy = SoftmaxLinearPolicy(moving_particle_features(positions, codes))
    theta = np.array([0.7, -1.3, 0.4])
    probs = policy.action_probs(theta)
    expected = np.exp(0.4 * codes) / np.exp(0.4 * codes).sum()  # π(a|s) ∝ exp(θ₃ a)
    np.testing.assert_allclose(probs, np.broadcast_to(expected, probs.shape), rtol=1e-12)
    np.testing.assert_allclose(policy.grad_log_prob_table(theta)[..., :2], 0.0, atol=1e-12)


def test_mlp_without_hidden_layers_is_a_softmax_linear_policy():
    # z_a = x(s)ᵀW[:, a] + b_a equals θᵀx'(s, a) with x'(s, a) = [e_a ⊗ x(s), e_a]; the two
    # parametrisations order θ differently, so the scores agree after a permutation.
    rng = np.random.default_rng(5)
    state_features = rng.normal(size=(4, 3))
    n_actions = 3
    mlp = MLPSoftmaxPolicy(state_features, n_actions, hidden_sizes=())
    theta = mlp.initial_theta(rng)
    eye = np.eye(n_actions)
    x_weights = np.einsum("sj,ab->sajb", state_features, eye).reshape(4, n_actions, -1)
    linear = SoftmaxLinearPolicy(np.concatenate([x_weights, np.broadcast_to(eye, (4, 3, 3))], 2))
    np.testing.assert_allclose(mlp.action_probs(theta), linear.action_probs(theta), rtol=1e-12)
    np.testing.assert_allclose(mlp.grad_log_prob_table(theta), linear.grad_log_prob_table(theta),
                               atol=1e-12)


def test_tabular_softmax_with_one_hot_features_is_a_table_of_preferences():
    policy = SoftmaxLinearPolicy(one_hot_features(2, 3))
    theta = np.array([0.0, 1.0, 2.0, -1.0, -1.0, 0.5])
    table = theta.reshape(2, 3)
    expected = np.exp(table) / np.exp(table).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(policy.action_probs(theta), expected, rtol=1e-13)


def test_gaussian_density_is_the_lectures_formula():
    # π(a|s) = (2πσ²)^(-1/2) exp(−(a − θᵀx(s))² / (2σ²)).
    features = np.array([[1.0, 2.0], [0.5, -1.0]])
    policy = GaussianPolicy(features, variance=0.8)
    theta = np.array([0.3, -0.2])
    actions = np.array([0.4, -1.1])
    mu = features @ theta
    expected = np.exp(-((actions - mu) ** 2) / (2 * 0.8)) / np.sqrt(2 * np.pi * 0.8)
    np.testing.assert_allclose(policy.density(theta, [0, 1], actions), expected, rtol=1e-13)
    # the documented default variance σ² = 1: the standard normal density around θᵀx(s)
    standard = np.exp(-((actions - mu) ** 2) / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(GaussianPolicy(features).density(theta, [0, 1], actions),
                               standard, rtol=1e-13)


def test_gaussian_density_integrates_to_one_and_variance_is_not_standard_deviation():
    policy = GaussianPolicy(np.array([[1.0]]), learn_variance=True)
    theta = np.array([0.2, 4.0])  # σ² = 4, so σ = 2
    assert policy.variance(theta) == 4.0
    assert policy.standard_deviation(theta) == 2.0
    grid = np.linspace(-30, 30, 200_001)
    density = policy.density(theta, np.zeros(grid.shape, int), grid)
    step = grid[1] - grid[0]
    assert np.sum(density) * step == pytest.approx(1.0, rel=1e-9)
    second_moment = np.sum((grid - 0.2) ** 2 * density) * step
    assert second_moment == pytest.approx(4.0, rel=1e-9)  # the variance, not σ = 2


def test_vector_action_gaussian_is_a_product_of_scalar_gaussians():
    rng = np.random.default_rng(8)
    features = rng.normal(size=(3, 2))
    policy = GaussianPolicy(features, action_dim=2, variance=0.6)
    weights = rng.normal(size=(2, 2))
    theta = policy.pack(weights)
    np.testing.assert_array_equal(policy.weights(theta), weights)
    actions = rng.normal(size=(3, 2))
    per_component = [GaussianPolicy(features, variance=0.6).log_prob(weights[:, k], [0, 1, 2],
                                                                     actions[:, k])
                     for k in range(2)]
    np.testing.assert_allclose(policy.log_prob(theta, [0, 1, 2], actions), sum(per_component),
                               rtol=1e-13)


def test_callable_features_give_the_same_policy_as_the_table():
    rng = np.random.default_rng(9)
    table = rng.normal(size=(5, 3, 2))
    theta = rng.normal(size=2)
    by_table = SoftmaxLinearPolicy(table)
    by_callable = SoftmaxLinearPolicy(lambda s: table[np.asarray(s)], n_actions=3, n_features=2)
    states, actions = np.array([4, 0, 2]), np.array([1, 2, 0])
    np.testing.assert_allclose(by_callable.grad_log_prob(theta, states, actions),
                               by_table.grad_log_prob(theta, states, actions))
    np.testing.assert_allclose(by_callable.probs(theta, states), by_table.probs(theta, states))


def test_continuous_states_through_identity_features():
    policy = GaussianPolicy(lambda s: np.asarray(s, float), action_dim=2, n_features=2)
    theta = policy.pack(np.array([[1.0, 0.0], [0.0, -1.0]]))
    states = np.array([[0.5, 2.0], [-1.0, 1.0]])
    np.testing.assert_allclose(policy.mean(theta, states), [[0.5, -2.0], [-1.0, -1.0]])


def test_single_state_calls_return_unbatched_results():
    policy, theta, rng = random_softmax(1, 3, 2, 2)
    table = policy.action_probs(theta)
    np.testing.assert_array_equal(policy.probs(theta, 1), table[1])  # (A,), the row of state 1
    np.testing.assert_array_equal(policy.logits(theta, 2), policy.features.at([2])[0] @ theta)
    assert policy.probs(theta, [1]).shape == (1, 2) and policy.logits(theta, [2]).shape == (1, 2)
    assert np.ndim(policy.log_prob(theta, 1, 0)) == 0
    assert policy.grad_log_prob(theta, 1, 0).shape == (2,)
    assert isinstance(int(policy.sample(theta, 2, rng)), int)
    gaussian, g_theta, _ = random_gaussian(1, 2, True, "variance")
    assert gaussian.grad_log_prob(g_theta, 0, np.zeros(2)).shape == (gaussian.n_params,)


def test_mlp_pack_and_unpack_are_inverse():
    policy, theta, _ = random_mlp(2, 3, 4, (5, 2))
    layers = policy.unpack(theta)
    assert [layer.weights.shape for layer in layers] == [(3, 5), (5, 2), (2, 4)]
    np.testing.assert_array_equal(policy.pack(layers), theta)
    assert policy.n_params == 3 * 5 + 5 + 5 * 2 + 2 + 2 * 4 + 4


# -- sampling ----------------------------------------------------------------------------------


def pearson(counts: np.ndarray, probabilities: np.ndarray) -> float:
    """Pearson's χ² of counts (S, A), n per state, against the probabilities (S, A)."""
    expected = counts.sum(axis=1, keepdims=True) * probabilities
    return float(((counts - expected) ** 2 / expected).sum())


def swapped_extremes(pi: np.ndarray) -> np.ndarray:
    """π with the largest and smallest probability swapped in the state where they differ most:
    a sampler that reads the actions in the wrong order."""
    wrong = pi.copy()
    state = int(np.argmax(pi.max(axis=1) - pi.min(axis=1)))
    high, low = int(np.argmax(pi[state])), int(np.argmin(pi[state]))
    wrong[state, [high, low]] = wrong[state, [low, high]]
    return wrong


def tempered(pi: np.ndarray) -> np.ndarray:
    """π¹·¹ renormalised: logits read 10 % too large."""
    wrong = pi ** 1.1
    return wrong / wrong.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["softmax", "mlp"])
def test_sampling_frequencies_match_action_probs(kind):
    """Pearson's χ² over all (state, action) cells, 20 000 draws per state, below the exact χ²₈
    quantile at 1 − 1e−7: false failure 1e−7 for a fresh seed. Power, computed from the
    noncentral χ²₈(λ), λ = n Σ (π′ − π)²/π, against a sampler with the largest and smallest
    probability of one state swapped and one whose logits are 10 % too large: ≥ 0.999 each
    (asserted); both bugs, sampled with the same generator, fail the check (positive
    controls)."""
    if kind == "softmax":
        policy, theta, rng = random_softmax(21, 4, 3, 3)
    else:
        policy, theta, rng = random_mlp(21, 4, 3, (4,))
    n = 20_000
    pi = policy.action_probs(theta)
    states = np.repeat(np.arange(4), n)
    actions = policy.sample(theta, states, rng)
    counts = np.zeros((4, 3))
    np.add.at(counts, (states, actions), 1)
    threshold = chi_square_quantile(1.0 - SAMPLING_FALSE_FAILURE, 4 * (3 - 1))
    assert pearson(counts, pi) < threshold
    for bug in (swapped_extremes, tempered):
        wrong = bug(pi)
        noncentrality = n * ((wrong - pi) ** 2 / pi).sum()
        assert noncentral_chi_square_tail(threshold, 4 * (3 - 1), noncentrality) >= 0.999, bug
        wrong_counts = np.array([rng.multinomial(n, row) for row in wrong])
        assert pearson(wrong_counts, pi) >= threshold, bug


def test_gaussian_samples_have_the_policys_mean_and_variance():
    """z-tests with |z| < z_critical(1e−7) = 5.33 on the sample mean (standard error σ/√n) and on
    the sample variance (σ²√(2/(n − 1)), exact for normal draws): false failure 1e−7 each for a
    fresh seed. Power against a mean off by σ/10 and a variance off by 10 %, computed: shifts of
    22 and 16 standard errors (asserted ≥ 5.33 + 3.09); both bugs fail (positive controls)."""
    variance, mean, n = 2.5, 1.5, 50_000
    policy = GaussianPolicy(np.array([[1.0]]), variance=variance)
    theta = np.array([mean])
    rng = np.random.default_rng(12)
    limit = z_critical(SAMPLING_FALSE_FAILURE)

    def z_scores(actions):
        return ((actions.mean() - mean) / math.sqrt(variance / n),
                (actions.var(ddof=1) - variance) / (variance * math.sqrt(2.0 / (n - 1))))

    actions = policy.sample(theta, np.zeros(n, int), rng)
    assert all(abs(z) < limit for z in z_scores(actions))
    assert 0.1 * math.sqrt(variance) / math.sqrt(variance / n) >= limit + POWER_Z
    assert 0.1 * variance / (variance * math.sqrt(2.0 / (n - 1))) >= limit + POWER_Z
    shifted = rng.normal(mean + 0.1 * math.sqrt(variance), math.sqrt(variance), n)
    widened = rng.normal(mean, math.sqrt(1.1 * variance), n)
    assert abs(z_scores(shifted)[0]) >= limit and abs(z_scores(widened)[1]) >= limit


def test_sampling_never_returns_a_zero_probability_action():
    policy = SoftmaxLinearPolicy(np.eye(3)[None])
    theta = np.array([800.0, 0.0, -800.0])  # π = (1, e^-800 = 0, 0) in float64
    actions = policy.sample(theta, np.zeros(1000, int), np.random.default_rng(0))
    assert np.all(actions == 0)


# -- bad input ---------------------------------------------------------------------------------


def test_theta_of_the_wrong_length_or_shape_is_refused():
    policy, _, _ = random_softmax(0, 2, 2, 3)
    with pytest.raises(ValueError, match=r"theta must be a flat vector of shape \(3,\)"):
        policy.log_prob(np.zeros(4), 0, 0)
    with pytest.raises(ValueError, match="theta must be a flat vector"):
        policy.grad_log_prob(np.zeros((3, 1)), 0, 0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused_everywhere(bad):
    policy, theta, _ = random_softmax(0, 2, 2, 3)
    with pytest.raises(ValueError, match="theta must be finite"):
        policy.action_probs(np.array([0.0, bad, 1.0]))
    features = np.ones((2, 2, 3))
    features[1, 0, 2] = bad
    with pytest.raises(ValueError, match="features must be finite"):
        SoftmaxLinearPolicy(features)
    with pytest.raises(ValueError, match="states must be"):
        policy.log_prob(theta, np.array([0.0, bad]), [0, 0])
    gaussian, g_theta, _ = random_gaussian(0, 1, False, "variance")
    with pytest.raises(ValueError, match="actions must be finite"):
        gaussian.log_prob(g_theta, [0, 1], [0.0, bad])
    continuous = GaussianPolicy(lambda s: np.asarray(s, float), n_features=1)
    with pytest.raises(ValueError, match="states must be finite"):
        continuous.log_prob(np.zeros(1), np.array([[bad]]), [0.0])
    with pytest.raises(ValueError, match="variance must be finite"):
        GaussianPolicy(np.ones((2, 1)), variance=bad)


@pytest.mark.parametrize("variance", [0.0, -1.0])
def test_non_positive_variance_is_refused(variance):
    with pytest.raises(ValueError, match="variance must be > 0"):
        GaussianPolicy(np.ones((2, 1)), variance=variance)
    policy = GaussianPolicy(np.ones((2, 1)), learn_variance=True)
    with pytest.raises(ValueError, match=r"theta\[-1\] is the variance σ² and must be > 0"):
        policy.log_prob(np.array([0.0, variance]), 0, 0.0)


@pytest.mark.parametrize("log_variance", [800.0, -800.0])
def test_log_variance_that_overflows_is_refused(log_variance):
    policy = GaussianPolicy(np.ones((2, 1)), learn_variance=True,
                            variance_parameter="log_variance")
    with pytest.raises(ValueError, match="log σ²"):
        policy.grad_log_prob(np.array([0.0, log_variance]), 0, 0.0)


def test_a_variance_too_small_for_a_finite_score_is_refused():
    policy = GaussianPolicy(np.ones((2, 1)), learn_variance=True)
    with pytest.raises(ValueError, match="score is not finite"):
        policy.grad_log_prob(np.array([0.0, 1e-200]), 0, 1.0)


def test_actions_outside_the_action_set_are_refused():
    policy, theta, _ = random_softmax(0, 2, 3, 2)
    with pytest.raises(ValueError, match=r"actions must lie in \[0, 3\)"):
        policy.log_prob(theta, 0, 3)
    with pytest.raises(ValueError, match=r"actions must lie in \[0, 3\)"):
        policy.grad_log_prob(theta, [0, 1], [-1, 0])
    with pytest.raises(ValueError, match="actions must be integer"):
        policy.log_prob(theta, 0, 1.5)
    with pytest.raises(ValueError, match=r"actions must have shape \(2,\)"):
        policy.log_prob(theta, [0, 1], [0, 1, 2])
    gaussian, g_theta, _ = random_gaussian(0, 2, False, "variance")
    with pytest.raises(ValueError, match=r"actions must have shape \(2, 2\)"):
        gaussian.log_prob(g_theta, [0, 1], [0.0, 1.0])


def test_features_of_the_wrong_rank_are_refused():
    with pytest.raises(ValueError, match=r"features must be a table of shape \(S, A, J\)"):
        SoftmaxLinearPolicy(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"features must be a table of shape \(S, J\)"):
        GaussianPolicy(np.ones((3, 2, 2)))
    with pytest.raises(ValueError, match=r"features must be a table of shape \(S, J\)"):
        MLPSoftmaxPolicy(np.ones(3), n_actions=2)
    with pytest.raises(ValueError, match="n_actions and n_features must be given"):
        SoftmaxLinearPolicy(lambda s: s)
    bad_callable = SoftmaxLinearPolicy(lambda s: np.ones((len(s), 2, 5)), n_actions=2,
                                       n_features=3)
    with pytest.raises(ValueError, match=r"features\(states\) must return shape"):
        bad_callable.log_prob(np.zeros(3), np.zeros((2, 1)), [0, 1])


@pytest.mark.parametrize("state", [1.0, 0.5, "0", True])
def test_a_non_integer_state_for_tabular_features_is_refused(state):
    policy, theta, _ = random_softmax(0, 3, 2, 2)
    with pytest.raises(ValueError, match="states must be integer indices"):
        policy.log_prob(theta, state, 0)


def test_a_state_outside_the_table_is_refused():
    policy, theta, _ = random_mlp(0, 3, 2, (2,))
    with pytest.raises(ValueError, match=r"states must lie in \[0, 3\)"):
        policy.probs(theta, [0, 3])


def test_other_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="variance_parameter must be one of"):
        GaussianPolicy(np.ones((2, 1)), variance_parameter="std")
    with pytest.raises(ValueError, match="action_dim must be an integer"):
        GaussianPolicy(np.ones((2, 1)), action_dim=0)
    with pytest.raises(ValueError, match="learn_variance must be True or False"):
        GaussianPolicy(np.ones((2, 1)), learn_variance="yes")
    with pytest.raises(ValueError, match="hidden_sizes"):
        MLPSoftmaxPolicy(np.ones((2, 1)), 2, hidden_sizes=(3, 0))
    with pytest.raises(ValueError, match="hidden_sizes must be a sequence"):
        MLPSoftmaxPolicy(np.ones((2, 1)), 2, hidden_sizes=3)
    with pytest.raises(ValueError, match="variance is fixed"):
        GaussianPolicy(np.ones((2, 1))).pack(np.zeros(1), 2.0)
    with pytest.raises(ValueError, match=r"weights must have shape \(1, 1\)"):
        GaussianPolicy(np.ones((2, 1))).pack(np.zeros(3))
    with pytest.raises(ValueError, match=r"layers\[0\] must be weights"):
        MLPSoftmaxPolicy(np.ones((2, 1)), 2, hidden_sizes=()).pack([(np.zeros((2, 2)),
                                                                     np.zeros(2))])


def test_sampling_needs_an_explicit_generator():
    policy, theta, _ = random_softmax(0, 2, 2, 2)
    with pytest.raises(ValueError, match=r"rng must be a numpy\.random\.Generator"):
        policy.sample(theta, [0, 1], 0)
    with pytest.raises(ValueError, match="needs tabular features"):
        SoftmaxLinearPolicy(lambda s: np.ones((len(s), 2, 1)), 2, 1).action_probs(np.zeros(1))


# -- sampling by hand: the rounding guard and the tie rule ---------------------------------------


@pytest.mark.parametrize(("probabilities", "uniform", "action"), [
    ([0.3, 0.7 - 1e-15, 0.0], 1.0 - 2.0**-53, 1),  # u past the rounded total: the last possible a
    ([0.3, 0.0, 0.7 - 1e-15], 1.0 - 2.0**-53, 2),
    ([0.3, 0.7 - 1e-15, 0.0, 0.0], 1.0 - 2.0**-53, 1),  # the last positive p, read backwards
    ([0.0, 1.0], 0.0, 1),  # F(0) = 0 is not > u = 0: never the probability-0 action
    ([0.5, 0.0, 0.5], 0.5, 2),  # F(0) = F(1) = 0.5 is not > 0.5; action 1 has probability 0
    ([0.5, 0.0, 0.5], 0.5 - 2.0**-54, 0),  # just below the boundary
    ([0.25, 0.25, 0.25, 0.25], 0.75, 3),
    ([1.0, 0.0], 1.0 - 2.0**-53, 0),
])
def test_sample_categorical_draws_the_first_action_whose_cumulative_exceeds_u(
        probabilities, uniform, action):
    """Deterministic draws through a generator that returns chosen uniforms (no statistics)."""
    probs = np.array([[1.0] + [0.0] * (len(probabilities) - 1), probabilities])
    drawn = sample_categorical(probs, FixedUniforms([0.9, uniform]))
    np.testing.assert_array_equal(drawn, [0, action])
    assert probs[1, drawn[1]] > 0


def test_policy_sample_never_draws_a_zero_probability_action_even_at_the_edges_of_u():
    """π = (0, 1, 0) exactly (logits ∓800): u = 0 and u = 1 − 2⁻⁵³ both give action 1."""
    policy = SoftmaxLinearPolicy(np.eye(3)[None])
    theta = np.array([-800.0, 0.0, -800.0])
    np.testing.assert_array_equal(policy.action_probs(theta), [[0.0, 1.0, 0.0]])
    drawn = policy.sample(theta, np.zeros(2, int), FixedUniforms([0.0, 1.0 - 2.0**-53]))
    np.testing.assert_array_equal(drawn, [1, 1])
    assert policy.sample(theta, 0, FixedUniforms([0.0])) == 1  # a single state: an int


@pytest.mark.parametrize("kind", ["softmax", "mlp", "gaussian", "gaussian_2d"])
def test_single_state_calls_are_the_batch_of_one(kind):
    """log π, the score, π(·|s), μ(s) and a draw for a state s equal those of the batch [s]."""
    if kind == "softmax":
        policy, theta, _ = random_softmax(4, 3, 3, 2)
        action = 2
    elif kind == "mlp":
        policy, theta, _ = random_mlp(4, 3, 3, (4,))
        action = 2
    else:
        d = 1 if kind == "gaussian" else 2
        policy, theta, _ = random_gaussian(4, d, True, "log_variance")
        action = 0.3 if d == 1 else np.array([0.3, -1.2])
    state = 2
    batch_action = np.asarray(action)[None, ...]
    np.testing.assert_array_equal(policy.log_prob(theta, state, action),
                                  policy.log_prob(theta, [state], batch_action)[0])
    np.testing.assert_array_equal(policy.grad_log_prob(theta, state, action),
                                  policy.grad_log_prob(theta, [state], batch_action)[0])
    np.testing.assert_array_equal(policy.sample(theta, state, np.random.default_rng(3)),
                                  policy.sample(theta, [state], np.random.default_rng(3))[0])
    if kind.startswith("gaussian"):
        np.testing.assert_array_equal(policy.mean(theta, state), policy.mean(theta, [state])[0])
        np.testing.assert_array_equal(policy.density(theta, state, action),
                                      policy.density(theta, [state], batch_action)[0])
    else:
        np.testing.assert_array_equal(policy.probs(theta, state), policy.probs(theta, [state])[0])
        assert policy.probs(theta, state).shape == (3,)
    if kind in ("softmax", "mlp"):
        np.testing.assert_array_equal(policy.logits(theta, state),
                                      policy.logits(theta, [state])[0])


def test_mlp_initial_theta_draws_weights_from_n_0_scale2_over_n_in_and_zero_biases():
    """The first layer's 50·40 = 2000 weights: z-tests of the mean (0) and of the variance
    (scale²/n_in = 4/50), |z| < 5 each (false failure 6e−7 each for a fresh seed); a mean of
    1 (z ≈ 160) or a variance off by 2× (z ≈ 22) fails. Biases are exactly 0."""
    policy = MLPSoftmaxPolicy(np.zeros((3, 50)), 3, hidden_sizes=(40,))
    layers = policy.unpack(policy.initial_theta(np.random.default_rng(7), scale=2.0))
    weights = layers[0].weights.ravel()
    variance = 4.0 / 50
    assert abs(weights.mean()) < 5.0 * np.sqrt(variance / weights.size)
    assert abs(weights.var(ddof=1) / variance - 1.0) < 5.0 * np.sqrt(2.0 / (weights.size - 1))
    assert all(np.all(layer.bias == 0.0) for layer in layers)
    # the documented default scale = 1: the same draws, half as large (× 2 is exact in floats)
    default = policy.initial_theta(np.random.default_rng(7))
    np.testing.assert_array_equal(2.0 * default,
                                  policy.initial_theta(np.random.default_rng(7), scale=2.0))


def test_log_softmax_works_over_the_last_axis_of_any_shape():
    """log π = z − log Σ exp z along the last axis, for one vector and for a (2, 2, 3) stack."""
    def by_formula(z):
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    vector = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(log_softmax(vector), by_formula(vector), rtol=1e-14)
    stack = np.arange(12.0).reshape(2, 2, 3) / 5.0
    np.testing.assert_allclose(log_softmax(stack), by_formula(stack), rtol=1e-14)


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)])
def test_last_possible_is_the_last_non_zero_index_along_the_last_axis(shape):
    """Any number of leading axes (one row, a table of rows, a table of tables): each row's
    answer is its largest index with p > 0, found here by listing the non-zero indices."""
    probabilities = np.random.default_rng(6).random(shape)
    probabilities[probabilities < 0.5] = 0.0
    probabilities.reshape(-1, shape[-1])[:, 0] = 0.25       # every row has a possible index
    rows = probabilities.reshape(-1, shape[-1])
    expected = np.array([np.flatnonzero(row).max() for row in rows]).reshape(shape[:-1])
    np.testing.assert_array_equal(last_possible(probabilities), expected)


def test_mlp_default_is_one_hidden_layer_of_sixteen_as_the_signature_says():
    """``hidden_sizes=(16,)`` in the signature: J → 16 → A, so n_params = Σ_l (n_in + 1)·n_out
    = (J + 1)·16 + 17·A, and the forward pass through those shapes gives π as its softmax."""
    n_states, n_features, n_actions = 4, 3, 2
    features = np.random.default_rng(9).normal(size=(n_states, n_features))
    policy = MLPSoftmaxPolicy(features, n_actions)
    assert policy.hidden_sizes == (16,)
    assert policy.n_params == (n_features + 1) * 16 + 17 * n_actions
    theta = np.random.default_rng(10).normal(size=policy.n_params)  # biases non-zero too
    w1 = theta[:n_features * 16].reshape(n_features, 16)
    b1 = theta[n_features * 16:(n_features + 1) * 16]
    w2 = theta[(n_features + 1) * 16:-n_actions].reshape(16, n_actions)
    logits = np.tanh(features @ w1 + b1) @ w2 + theta[-n_actions:]
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(policy.action_probs(theta), expected, rtol=1e-12)


# -- the tables' rounding, bounded by each policy (table_errors) -------------------------------

EXTENDED = np.longdouble   # 64-bit significand on x86-64: 2¹¹ times finer than float64


def _extended_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


def _extended_mlp_tables(policy, theta):
    """π and the scores of an MLP policy, by the class Notes' formulas in extended precision."""
    layers = [(layer.weights.astype(EXTENDED), layer.bias.astype(EXTENDED))
              for layer in policy.unpack(theta)]
    activations = [np.asarray(policy.features.source, dtype=EXTENDED)]
    for weights, bias in layers[:-1]:
        activations.append(np.tanh(activations[-1] @ weights + bias))
    pi = _extended_softmax(activations[-1] @ layers[-1][0] + layers[-1][1])
    n_states, n_actions = pi.shape
    scores = np.zeros((n_states, n_actions, policy.n_params), dtype=EXTENDED)
    for a in range(n_actions):
        delta = -pi.copy()
        delta[:, a] += 1
        parts = []
        for index in range(len(layers) - 1, -1, -1):
            parts += [delta, np.einsum("ni,no->nio", activations[index], delta).reshape(
                n_states, -1)]
            if index > 0:
                delta = (delta @ layers[index][0].T) * (1 - activations[index] ** 2)
        scores[:, a] = np.concatenate(parts[::-1], axis=1)
    return pi, scores


def _ratio(difference, bound):
    """max difference / bound where the bound is positive; the difference must be 0 elsewhere."""
    difference = np.abs(difference).astype(float)
    assert np.all(difference[bound == 0] == 0)
    return (difference[bound > 0] / bound[bound > 0]).max(initial=0.0)


def _worst_ratios(policy, theta, pi_reference, scores_reference):
    """max |table − reference| / bound for π (relative; entries underflowed to 0 are below the
    smallest normal float in the reference too) and the scores (absolute)."""
    errors = policy.table_errors(theta)
    pi, scores = policy.action_probs(theta), policy.grad_log_prob_table(theta)
    assert np.all(pi_reference[pi == 0] < np.finfo(float).tiny)
    return (_ratio(np.where(pi > 0, pi - pi_reference, 0), errors.probabilities * pi),
            _ratio(scores - scores_reference, errors.scores))


def test_an_mlps_table_errors_bound_its_rounding_and_the_old_assumption_did_not():
    """MLP policies of depth 0, 1 and 2 with weights up to scale 100: π and the scores against
    extended precision, within table_errors (relative for π, absolute for the scores) and not
    by less than 1/100 of it at worst (the bound is not vacuous). The assumption it replaces, a
    score accurate to (A + 4)ε of its state's largest, is broken by more than 30 times."""
    worst, old_worst = np.zeros(2), 0.0
    eps = np.finfo(float).eps
    for seed in range(24):
        rng = np.random.default_rng(seed)
        policy = MLPSoftmaxPolicy(rng.standard_normal((5, 4)) * 10 ** rng.uniform(-1, 1), 3,
                                  hidden_sizes=[(6, 5), (4,), ()][seed % 3])
        theta = policy.initial_theta(rng, scale=10.0 ** rng.uniform(-1, 2))
        pi_reference, scores_reference = _extended_mlp_tables(policy, theta)
        worst = np.maximum(worst, _worst_ratios(policy, theta, pi_reference, scores_reference))
        scores = policy.grad_log_prob_table(theta)
        assumed = 7 * eps * np.abs(scores).max(axis=(1, 2))[:, None, None]
        old_worst = max(old_worst, (np.abs(scores - scores_reference).astype(float)
                                    / assumed).max())
    assert np.all(worst <= 1.0) and np.all(worst > 0.01)
    assert old_worst > 30


def test_a_softmax_linear_policys_table_errors_bound_its_rounding():
    """Features with a large part common to every action (logits and scores that cancel) and
    without: π and Σ_b π_b (x(s, a) − x(s, b)) against extended precision, within table_errors
    and not by less than 1/100 of it at worst."""
    worst = np.zeros(2)
    for seed in range(24):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((5, 3, 4)) * 10 ** rng.uniform(-1, 2)
        x += 100 * rng.standard_normal((5, 1, 4)) * (seed % 2)
        policy = SoftmaxLinearPolicy(x)
        theta = rng.standard_normal(4) * 10 ** rng.uniform(-1, 1)
        extended = x.astype(EXTENDED)
        pi_reference = _extended_softmax(extended @ theta.astype(EXTENDED))
        scores_reference = np.einsum("sb,sabj->saj", pi_reference,
                                     extended[:, :, None, :] - extended[:, None, :, :])
        worst = np.maximum(worst, _worst_ratios(policy, theta, pi_reference, scores_reference))
    assert np.all(worst <= 1.0) and np.all(worst > 0.01)


def test_table_errors_need_a_table_and_are_none_for_a_policy_that_states_none():
    """Callable features have no table; a DiscretePolicy subclass without the hooks states no
    bounds (the exact layer then assumes a log-sum-exp table of exact logits)."""
    policy = SoftmaxLinearPolicy(lambda states: np.zeros((len(states), 2, 1)), n_actions=2,
                                 n_features=1)
    with pytest.raises(ValueError, match="tabular features"):
        policy.table_errors(np.zeros(1))

    class Plain(SoftmaxLinearPolicy):
        def table_logit_errors(self, theta):
            return None

    assert Plain(np.zeros((2, 2, 1))).table_errors(np.zeros(1)) is None


def test_a_softmax_linear_policys_table_errors_are_their_documented_formulas():
    """table_errors written out by loops: δz = (J + 1)ε Σ_j |x θ|, ρ = 4ε(1 + |log π|) +
    1.01(δz_a + max_b δz_b), and the scores' Σ_b (ρ_b + (A + 2)ε) π_b |x(s, a) − x(s, b)|."""
    rng = np.random.default_rng(31)
    x = rng.standard_normal((4, 3, 5)) * 10.0
    theta = rng.standard_normal(5)
    policy = SoftmaxLinearPolicy(x)
    eps = np.finfo(float).eps
    pi = policy.action_probs(theta)
    errors = policy.table_errors(theta)
    for s in range(4):
        logit = [6 * eps * sum(abs(x[s, a, j] * theta[j]) for j in range(5)) for a in range(3)]
        rho = [4 * eps * (1 - math.log(pi[s, a])) + 1.01 * (logit[a] + max(logit))
               for a in range(3)]
        np.testing.assert_allclose(errors.probabilities[s], rho, rtol=1e-12)
        for a in range(3):
            for k in range(5):
                expected = sum((rho[b] + 5 * eps) * pi[s, b] * abs(x[s, a, k] - x[s, b, k])
                               for b in range(3))
                assert errors.scores[s, a, k] == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize("first_layer_scale", [1.0, 1e9])
def test_an_mlps_table_errors_are_their_documented_formulas(first_layer_scale):
    """table_errors of a two-hidden-layer MLP written out by loops from the docstrings: the
    forward pass's δu = (n_in + 2)ε(Σ_i |h_i||W_io| + |b_o|) + Σ_i δh_i|W_io|, δh′ = 2ε|tanh u|
    + δu; ρ as for every policy; then backwards from δ_out = e_a − π, E = ρ_b π_b + ε|δ|:
    ∂/∂W off by |δh||δ| + |h|E + |δh|E + ε|h||δ|, v = δWᵀ off by (n_out + 1)ε|δ||W|ᵀ + E|W|ᵀ,
    g = 1 − h² off by (2|h| + δh)δh + 2ε(h² + |g|), and δ′ = v g off by E_v|g| + |v|E_g +
    E_v E_g + ε|v g|. Weights of order 1 (no activation near 0 or saturated), and a first layer
    of order 1e9 (its outputs saturated and off by about 1e−6: the second-order terms count)."""
    rng = np.random.default_rng(44)
    policy = MLPSoftmaxPolicy(rng.standard_normal((2, 3)), 2, hidden_sizes=(3, 2))
    theta = rng.standard_normal(policy.n_params) * 0.5      # biases too
    first, *rest = policy.unpack(theta)
    theta = policy.pack([(first_layer_scale * first.weights, first.bias), *rest])
    eps = np.finfo(float).eps
    layers = [(layer.weights.tolist(), layer.bias.tolist()) for layer in policy.unpack(theta)]
    pi = policy.action_probs(theta)
    errors = policy.table_errors(theta)
    seen = []                                                # the hidden activations
    for s in range(2):
        h, dh = list(policy.features.source[s]), [0.0] * 3
        inputs = []
        for index, (W, b) in enumerate(layers):
            inputs.append((h, dh))
            n_in, n_out = len(W), len(b)
            u = [sum(h[i] * W[i][o] for i in range(n_in)) + b[o] for o in range(n_out)]
            du = [(n_in + 2) * eps * (sum(abs(h[i] * W[i][o]) for i in range(n_in)) + abs(b[o]))
                  + sum(dh[i] * abs(W[i][o]) for i in range(n_in)) for o in range(n_out)]
            if index < len(layers) - 1:
                h = [math.tanh(value) for value in u]
                dh = [2 * eps * abs(value) + d for value, d in zip(h, du, strict=True)]
                seen += h
        rho = [4 * eps * (1 - math.log(pi[s, a])) + 1.01 * (du[a] + max(du)) for a in range(2)]
        np.testing.assert_allclose(errors.probabilities[s], rho, rtol=1e-12)
        for a in range(2):
            delta = [float(b == a) - pi[s, b] for b in range(2)]
            E = [rho[b] * pi[s, b] + eps * abs(delta[b]) for b in range(2)]
            parts = []
            for index in range(len(layers) - 1, -1, -1):
                (W, _), (h, dh) = layers[index], inputs[index]
                n_in, n_out = len(W), len(delta)
                weight_errors = [dh[i] * abs(delta[o]) + abs(h[i]) * E[o] + dh[i] * E[o]
                                 + eps * abs(h[i] * delta[o])
                                 for i in range(n_in) for o in range(n_out)]
                parts = weight_errors + E + parts
                if index > 0:
                    v = [sum(delta[o] * W[i][o] for o in range(n_out)) for i in range(n_in)]
                    Ev = [(n_out + 1) * eps * sum(abs(delta[o] * W[i][o]) for o in range(n_out))
                          + sum(E[o] * abs(W[i][o]) for o in range(n_out)) for i in range(n_in)]
                    g = [1 - value**2 for value in h]
                    Eg = [(2 * abs(h[i]) + dh[i]) * dh[i] + 2 * eps * (h[i] ** 2 + abs(g[i]))
                          for i in range(n_in)]
                    E = [Ev[i] * abs(g[i]) + abs(v[i]) * Eg[i] + Ev[i] * Eg[i]
                         + eps * abs(v[i] * g[i]) for i in range(n_in)]
                    delta = [v[i] * g[i] for i in range(n_in)]
            np.testing.assert_allclose(errors.scores[s, a], parts, rtol=1e-12)
    if first_layer_scale == 1.0:  # neither near 0 nor saturated: 2|h| differs from 2/|h|
        assert 0.05 < min(map(abs, seen)) and max(map(abs, seen)) < 0.95, seen
    else:                         # δh (2|h| ± δh) differ by more than the rounding
        assert np.abs(policy.table_logit_errors(theta)).max() > 1e-8
