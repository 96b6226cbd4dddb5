r"""Tests of the data behind Sutton & Barto's Figures 13.1 and 13.2 (pgref.figures.sutton_barto).

Oracles: separate single-run calls of REINFORCE with the spawned generators (lockstep runs equal
them to 1e−12); the exact J(θₖ) of the policy each episode was sampled with, whose mean over
runs the mean sampled return must match (a z-test with its error rates stated); the stops
recorded by the loop, which the figure's legend counts.
"""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from pgref import algorithms, envs
from pgref.figures import sutton_barto
from pgref.policies import SoftmaxLinearPolicy


@pytest.fixture(scope="module")
def data_13_1():
    return sutton_barto.figure_13_1_data(quick=True)


@pytest.fixture(scope="module")
def data_13_2():
    return sutton_barto.figure_13_2_data(quick=True)


def _corridor():
    problem = envs.short_corridor()
    return problem.mdp, SoftmaxLinearPolicy(problem.features)


def test_the_book_start_and_optimum():
    p = 1.0 / (1.0 + math.exp(sutton_barto.THETA_0[1] - sutton_barto.THETA_0[0]))
    assert p == pytest.approx(0.05, rel=1e-14, abs=0)
    p_star = 2.0 - math.sqrt(2.0)                 # J(p) = 2(p − 2)/(p(1 − p)) at its maximum
    assert sutton_barto.J_STAR == pytest.approx(2 * (p_star - 2) / (p_star * (1 - p_star)),
                                                rel=1e-14, abs=0)


def test_figure_13_1_runs_equal_separate_single_runs(data_13_1):
    mdp, policy = _corridor()
    n_settings, n_runs, n_episodes = data_13_1.returns.shape
    children = np.random.default_rng(data_13_1.seed).spawn(n_settings * n_runs)
    for m, alpha in enumerate(data_13_1.alphas):
        for r in (0, n_runs - 1):
            alone = algorithms.REINFORCE(mdp, policy, sutton_barto.THETA_0, alpha, n_episodes,
                                         children[m * n_runs + r])
            np.testing.assert_allclose(data_13_1.returns[m, r], alone.episode_returns,
                                       rtol=1e-12)
            np.testing.assert_allclose(data_13_1.objective[m, r], alone.objective[:-1],
                                       rtol=1e-12)


def test_figure_13_2_runs_equal_separate_single_runs(data_13_2):
    mdp, policy = _corridor()
    n_runs, n_episodes = data_13_2.returns.shape[1:]
    baseline = algorithms.LinearValueBaseline(np.ones((4, 1)), data_13_2.value_alphas[1])
    for m, setting_rng in enumerate(np.random.default_rng(data_13_2.seed).spawn(2)):
        child = setting_rng.spawn(n_runs)[n_runs - 1]
        alone = algorithms.REINFORCE(mdp, policy, sutton_barto.THETA_0, data_13_2.alphas[m],
                                     n_episodes, child, baseline if m == 1 else None)
        np.testing.assert_allclose(data_13_2.returns[m, -1], alone.episode_returns, rtol=1e-12)
        np.testing.assert_allclose(data_13_2.objective[m, -1], alone.objective[:-1],
                                   rtol=1e-12)


def _z(returns, objective):
    r"""z of the mean of Dₖ = G(τₖ) − J(θₖ) over all runs and episodes.

    Given θₖ, G(τₖ) has mean J(θₖ), so the D's are martingale differences: uncorrelated, mean
    0, and the mean over N of them has standard error s_D/√N.
    """
    D = (returns - objective).ravel()
    D = D[np.isfinite(D)]
    return D.mean() / (D.std(ddof=1) / math.sqrt(D.size))


@pytest.mark.parametrize("which", ["13_1", "13_2"])
def test_mean_return_agrees_with_the_mean_exact_J_of_the_sampled_policies(which, request):
    # For each setting (M = 5 in all), |z| ≤ 4.0: false failures ≈ 5 × 6.3e−5 ≈ 3e−4 (normal
    # approximation, N = 1200 differences per setting). Power: returns recorded against the J of
    # another setting's runs (a misaligned record; the control below) give |z| > 8 here; a
    # walker drawing left for right would compare J(1 − p) with J(p), |z| ≫ 10 at p ≈ 0.05.
    data = request.getfixturevalue(f"data_{which}")
    for m in range(len(data.labels)):
        assert abs(_z(data.returns[m], data.objective[m])) <= 4.0, (which, m)
    assert abs(_z(data.returns[0], data.objective[-1])) > 4.0       # positive control


def test_stopped_runs_are_split_by_setting_and_counted_in_the_legend():
    mdp, policy = _corridor()
    # θ = 0 at α = 0.01 (the failing setting), episodes cut at 300 steps: runs stop
    history = algorithms.REINFORCE(mdp, policy, np.zeros(2), [0.01] * 4 + [1e-4] * 4, 40,
                                   np.random.default_rng(0), n_runs=8, max_steps=300)
    returns, objective, stops = sutton_barto.split_by_setting(history, 2)
    assert returns.shape == objective.shape == (2, 4, 40)
    assert len(stops[0]) >= 1 and stops[1] == ()
    for run, k, reason in stops[0]:
        assert reason == "episode did not end within max_steps"
        assert np.all(np.isnan(returns[0, run, k:])) and np.all(np.isnan(objective[0, run, k + 1:]))
    data = sutton_barto.SuttonBartoData(("fast", "slow"), np.array([0.01, 1e-4]),
                                        np.full(2, np.nan), returns, objective, stops, 0)
    np.testing.assert_array_equal(data.n_stopped, [len(stops[0]), 0])
    figure = Figure()
    sutton_barto.draw(data, figure)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert f"fast: sampled G (stopped runs: {len(stops[0])} of 4)" in legend
    assert "slow: sampled G (stopped runs: 0 of 4)" in legend


def test_the_captions_say_what_the_book_and_the_public_code_use():
    for caption in (sutton_barto.CAPTION_13_1, sutton_barto.CAPTION_13_2):
        for phrase in ("2e−3, 2e−4 and 2e−5", "0.05", "final reward of 0 instead of −1",
                       "+1", "𝒥* = −(6 + 4√2)", "± 1 standard error"):
            assert phrase in caption
    assert "α = 2⁻¹², 2⁻¹³, 2⁻¹⁴" in sutton_barto.CAPTION_13_1
    assert "α^θ = 2⁻⁹, α^w = 2⁻⁶" in sutton_barto.CAPTION_13_2


def test_mean_and_standard_error_leave_out_stopped_runs():
    values = np.array([[1.0, 2.0, 5.0], [3.0, np.nan, np.nan], [5.0, 4.0, np.nan]])
    mean, error = sutton_barto.mean_and_standard_error(values)
    np.testing.assert_allclose(mean, [3.0, 3.0, 5.0], rtol=1e-15)
    # s/√n with s² = Σ(x − x̄)²/(n − 1): column 0: s = 2, n = 3; column 1: s = √2, n = 2
    np.testing.assert_allclose(error[:2], [2 / math.sqrt(3), 1.0], rtol=1e-15)
    assert np.isnan(error[2])                     # one run left: no standard error
