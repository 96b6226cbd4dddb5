r"""Tests of the data behind Sutton & Barto's Figures 13.1 and 13.2 (pgref.figures.sutton_barto).

Oracles: separate single-run calls of REINFORCE with the spawned generators (lockstep runs equal
them to 1e−12); the exact J(θₖ) of the policy each episode was sampled with, whose mean over
runs the mean sampled return must match (a z-test with its error rates stated); the stops
recorded by the loop, which the figure's legend counts.
"""

import math

import numpy as np
import pytest
from helpers import POWER_Z
from matplotlib.figure import Figure

from pgref import algorithms, envs
from pgref.figures import common, sutton_barto
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
    children = (np.random.default_rng(sutton_barto.SEED_13_1).spawn(3 * n_runs)[2 * n_runs - 1],
                np.random.default_rng(data_13_2.seed).spawn(n_runs)[n_runs - 1])
    for m, child in enumerate(children):
        alone = algorithms.REINFORCE(mdp, policy, sutton_barto.THETA_0, data_13_2.alphas[m],
                                     n_episodes, child, baseline if m == 1 else None)
        np.testing.assert_allclose(data_13_2.returns[m, -1], alone.episode_returns, rtol=1e-12)
        np.testing.assert_allclose(data_13_2.objective[m, -1], alone.objective[:-1],
                                   rtol=1e-12)


def test_figure_13_2_shows_figure_13_1s_runs_at_the_same_step_size(data_13_1, monkeypatch):
    """Figure 13.2's REINFORCE curve is Figure 13.1's α = 2⁻¹³ setting, bit for bit: kept from
    Figure 13.1's call in the same process, or computed anew without it."""
    kept = sutton_barto.reinforce_at_2_13(quick=True)
    monkeypatch.setattr(sutton_barto, "_RUNS_AT_2_13", {})
    anew = sutton_barto.reinforce_at_2_13(quick=True)
    for got in (kept, anew):
        np.testing.assert_array_equal(got[0], data_13_1.returns[1])
        np.testing.assert_array_equal(got[1], data_13_1.objective[1])
        assert got[2] == data_13_1.stops[1]
    assert data_13_1.alphas[1] == 2.0**-13


def _z(returns, objective):
    r"""z of the mean of Dₖ = G(τₖ) − J(θₖ) over all runs and episodes with a sampled return.

    Given θₖ, G(τₖ) has mean J(θₖ), so the D's are martingale differences: uncorrelated, mean
    0, and the mean over N of them has standard error s_D/√N.
    """
    D = (returns - objective).ravel()
    D = D[np.isfinite(D)]
    return D.mean() / (D.std(ddof=1) / math.sqrt(D.size))


Z_MEAN = 5.3
"""|z| bound of the mean return against the mean exact J: a two-sided normal tail of 1.2e−7 per
setting, 5.8e−7 for the five settings of both figures (normal approximation of a mean of
N = 1200 martingale differences in quick mode)."""


@pytest.mark.parametrize("which", ["13_1", "13_2"])
def test_mean_return_agrees_with_the_mean_exact_J_of_the_sampled_policies(which, request):
    """For each setting |z| ≤ Z_MEAN. Positive control, a misaligned record (the returns of the
    first setting's runs against the J(θₖ) of the last setting's, on the episodes where both
    sampled a return): its expected z is mean(J_first − J_last)·√N / s_D′, computed here from
    the exact J's, and must exceed Z_MEAN + 3.09 (power ≥ 0.999 under the same normal
    approximation); the control's z does exceed Z_MEAN."""
    data = request.getfixturevalue(f"data_{which}")
    for m in range(len(data.labels)):
        assert abs(_z(data.returns[m], data.objective[m])) <= Z_MEAN, (which, m)
    both = np.isfinite(data.returns[0]) & np.isfinite(data.returns[-1])
    misaligned = data.returns[0][both] - data.objective[-1][both]
    shift = (data.objective[0][both] - data.objective[-1][both]).mean()
    expected_z = shift * math.sqrt(both.sum()) / misaligned.std(ddof=1)
    assert abs(expected_z) >= Z_MEAN + POWER_Z, expected_z
    assert abs(_z(data.returns[0][both], data.objective[-1][both])) > Z_MEAN


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


def test_the_dashed_mean_J_is_over_the_episodes_that_have_a_return():
    """``draw``: a stopped run's cut episode has its policy's 𝒥(θₖ) (in Figure 13.1's data, run
    80 at α = 2⁻¹² has 𝒥 ≈ −1.2e5 at its cut episode 10) but no return; both means leave it out,
    so the dashed line stays the expectation of the solid one. Control: with the cut episode
    the mean 𝒥 at episode 2 would be −40 210."""
    nan = np.nan
    returns = np.array([[[-40.0, -30, -20, -15], [-50, nan, nan, nan], [-45, -35, -25, -20]]])
    objective = np.array([[[-41.0, -31, -21, -16], [-52, -120566, nan, nan],
                           [-44, -34, -24, -19]]])
    data = sutton_barto.SuttonBartoData(("α",), np.array([0.1]), np.full(1, nan), returns,
                                        objective, ((algorithms.Stop(1, 1, "cut"),),), 0)
    figure = Figure()
    sutton_barto.draw(data, figure)
    dashed, = [line.get_ydata() for line in figure.axes[0].get_lines()
               if line.get_linestyle() == "--"]
    np.testing.assert_allclose(dashed, [(-41 - 52 - 44) / 3, (-31 - 34) / 2, (-21 - 24) / 2,
                                        (-16 - 19) / 2], rtol=1e-15)
    assert np.nanmean(objective[0, :, 1]) == pytest.approx(-40210.33, abs=0.01)


def test_the_captions_say_what_the_book_and_the_public_code_use():
    for caption in (sutton_barto.CAPTION_13_1, sutton_barto.CAPTION_13_2):
        for phrase in ("2e−3, 2e−4 and 2e−5", "0.05", "final reward of 0 instead of −1",
                       "+1", "𝒥* = −(6 + 4√2)", "± 1 standard error"):
            assert phrase in caption
    assert "α = 2⁻¹², 2⁻¹³, 2⁻¹⁴" in sutton_barto.CAPTION_13_1
    assert "α^θ = 2⁻⁹, α^w = 2⁻⁶" in sutton_barto.CAPTION_13_2


def test_mean_and_standard_error_leave_out_stopped_runs():
    values = np.array([[1.0, 2.0, 5.0], [3.0, np.nan, np.nan], [5.0, 4.0, np.nan]])
    mean, error = common.mean_and_standard_error(values)
    np.testing.assert_allclose(mean, [3.0, 3.0, 5.0], rtol=1e-15)
    # s/√n with s² = Σ(x − x̄)²/(n − 1): column 0: s = 2, n = 3; column 1: s = √2, n = 2
    np.testing.assert_allclose(error[:2], [2 / math.sqrt(3), 1.0], rtol=1e-15)
    assert np.isnan(error[2])                     # one run left: no standard error
