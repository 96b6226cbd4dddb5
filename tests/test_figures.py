"""Figures: the data behind each one, and deterministic bytes (not pixels).

Each figure's quick data are computed once per test session (:func:`quick`) and checked against
the library's exact solvers and closed forms. The statistical checks run on the figures' fixed
seeds; the z-bound Z_LIMIT = 5.3 would fail for a fresh seed with probability 2·Φ(−5.3) ≈ 1.2e-7
per component (normal approximation).
"""

import dataclasses
import functools
import itertools
import math
import os
import re
import subprocess
import sys
from fractions import Fraction
from math import erf
from pathlib import Path

import numpy as np
import pytest
from helpers import POWER_Z, chi_square_quantile
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgref import algorithms, envs, exact, figures, lqr
from pgref.figures import common
from pgref.policies import SoftmaxLinearPolicy

Z_LIMIT = 5.3


@functools.cache
def quick(name: str):
    """The quick-mode data of a registered figure, computed once."""
    return figures.REGISTRY[name].data(True)


def _corridor(gamma=1.0):
    problem = envs.short_corridor()
    mdp = problem.mdp if gamma == 1.0 else dataclasses.replace(problem.mdp, gamma=gamma)
    return mdp, SoftmaxLinearPolicy(problem.features)


THETA_0 = np.array([-0.55, 0.55])  # the corridor's θ₀ of figures 3–5 and 7: π(right) = σ(−1.1)


def test_policies_data_are_the_softmax_and_gaussian_of_the_lecture():
    data = figures.policies.policies_data(quick=True)
    np.testing.assert_allclose(data.softmax_probs.sum(axis=1), 1.0, rtol=1e-14)
    middle = np.argmin(np.abs(data.theta_action))
    assert data.theta_action[middle] == 0.0
    np.testing.assert_allclose(data.softmax_probs[middle], 0.25, rtol=1e-14)  # θ₃ = 0: uniform
    # With θ₃ > 0 the largest code is the likeliest; π(a) ∝ exp(θ₃ a) written out:
    expected_last = np.exp(3.0 * data.action_codes) / np.exp(3.0 * data.action_codes).sum()
    np.testing.assert_allclose(data.softmax_probs[-1], expected_last, rtol=1e-12)
    step = data.actions[1] - data.actions[0]
    for (theta, variance), density in zip(data.gaussian_params, data.densities, strict=True):
        # The mass on [-5, 5] is Φ((5 − θ)/σ) − Φ((−5 − θ)/σ), Φ(z) = (1 + erf(z/√2))/2:
        sigma = np.sqrt(variance)
        scale = sigma * np.sqrt(2)
        mass = 0.5 * (erf((5 - theta) / scale) - erf((-5 - theta) / scale))
        assert np.trapezoid(density, data.actions) == pytest.approx(mass, abs=1e-4)
        assert data.actions[np.argmax(density)] == pytest.approx(theta, abs=step)
        assert density.max() == pytest.approx(1 / np.sqrt(2 * np.pi * variance), rel=1e-3)


@pytest.mark.parametrize("name", sorted(figures.REGISTRY))
def test_each_figure_renders_in_quick_mode_with_identical_bytes(name, tmp_path, capsys):
    """``generate`` (its data computed afresh) and a second rendering of this file's own quick
    data, saved as ``generate`` saves, give the same PNG bytes: data and drawing are
    deterministic; and the drawing keeps its text on the page and apart."""
    first = figures.generate(tmp_path / "a", quick=True, names=[name])
    assert first[0].name == f"{name}.png"
    assert f"{name}.png" in capsys.readouterr().err
    second = figures.render(name, quick(name))
    figures.save(second, tmp_path / "b.png")
    assert first[0].read_bytes() == (tmp_path / "b.png").read_bytes()
    assert first[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # FigureSpec.boxes replace a layout pass: in them no label, title or legend leaves the page
    # or runs into another axes' (with the full data: the CI-only test below)
    assert layout_problems(second) == []


def layout_problems(figure) -> list[str]:
    """What is wrong with the layout of a figure already drawn (saved): a box outside the page,
    or two boxes that overlap, among each axes' tight box (its tick and axis labels, title and
    legend) and each figure-level text (a suptitle), with 1 pixel of slack."""
    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    boxes = [axes.get_tightbbox(renderer) for axes in figure.axes]
    boxes += [text.get_window_extent(renderer) for text in figure.texts]
    problems = [f"box {i} {box.bounds} is not inside the page {page.bounds}"
                for i, box in enumerate(boxes)
                if min(box.x0 - page.x0, box.y0 - page.y0, page.x1 - box.x1,
                       page.y1 - box.y1) < -1.0]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        width = min(a.x1, b.x1) - max(a.x0, b.x0)
        height = min(a.y1, b.y1) - max(a.y0, b.y0)
        if width > 1.0 and height > 1.0:
            problems.append(f"boxes {i} and {j} overlap by {width:.1f} × {height:.1f} px")
    return problems


def test_the_layout_check_sees_a_label_off_the_page_and_two_axes_running_into_each_other():
    for axes_index, box, problem in [
            (0, (0.0, 0.1254, 0.4392, 0.7495), "not inside the page"),   # y labels off the page
            (1, (0.47, 0.1254, 0.4392, 0.7495), "overlap")]:             # onto the left axes
        figure = figures.render("policies", quick("policies"))
        figure.axes[axes_index].set_position(box)
        FigureCanvasAgg(figure).draw()
        assert any(problem in found for found in layout_problems(figure))


@pytest.mark.skipif(os.environ.get("PGREF_FRESH_CLONE") != "1",
                    reason="slow (every figure's full data): set PGREF_FRESH_CLONE=1 to run")
def test_with_the_full_data_every_figure_keeps_its_text_on_the_page_and_apart():
    """The committed figures' own data in the fixed boxes (CI runs this; the quick-mode check
    above runs everywhere)."""
    for name in figures.REGISTRY:
        figure = figures.render(name)
        FigureCanvasAgg(figure).draw()
        assert layout_problems(figure) == [], name


def test_the_registry_lists_each_figure_module_once_by_its_name():
    for name, spec in figures.REGISTRY.items():
        assert spec.name == name
        assert getattr(figures, name).FIGURE is spec


@pytest.mark.parametrize("name", sorted(figures.REGISTRY))
def test_every_registered_figure_is_committed(name):
    assert (figures.DEFAULT_DIRECTORY / f"{name}.png").is_file(), (
        f"run `python -m pgref figures` and commit figures/{name}.png"
    )


def test_unknown_figure_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="names must be among"):
        figures.generate(tmp_path, names=["nonexistent"], progress=False)
    with pytest.raises(ValueError, match="name must be one of"):
        figures.render("nonexistent")


@pytest.mark.parametrize("call, message", [
    (lambda tmp: figures.generate(tmp, names="policies"), r"names must be a list of figure "
     r"names, e\.g\. \['policies'\]; got the string"),
    (lambda tmp: figures.generate(tmp, names=[3]), r"names must be among .*unknown: \[3\]"),
    (lambda tmp: figures.generate(3), "out_dir must be a directory path"),
    (lambda tmp: figures.generate(tmp, quick=1), "quick must be True or False; got 1"),
    (lambda tmp: figures.generate(tmp, progress="no"), "progress must be True or False"),
    (lambda tmp: figures.render(["policies"]), "name must be one of"),
    (lambda tmp: figures.render("policies", quick="yes"), "quick must be True or False"),
    (lambda tmp: figures.save("policies.png", tmp / "a.png"), "figure must be a matplotlib "
     "Figure, as render returns; got str"),
    (lambda tmp: figures.save(Figure(), 3), r"path must be a file path \(str or pathlib.Path\)"),
    (lambda tmp: figures.save(Figure(), tmp / "no" / "a.png"), "directory that does not exist"),
])
def test_figure_functions_refuse_bad_arguments_by_name(call, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        call(tmp_path)
    assert not any(tmp_path.iterdir())                   # nothing written


def test_the_advice_for_a_missing_directory_works_when_followed(tmp_path):
    path = tmp_path / "no" / "a.png"
    with pytest.raises(ValueError, match=r"Path\.mkdir") as refused:
        figures.save(Figure(), path)
    directory = re.search(r"create '([^']+)' first", str(refused.value)).group(1)
    Path(directory).mkdir(parents=True)
    figures.save(Figure(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_draws_given_data_into_a_plain_figure_with_the_registered_size():
    figure = figures.render("policies", quick("policies"))
    assert figure.get_size_inches() == pytest.approx(figures.REGISTRY["policies"].size)
    assert len(figure.axes) == 2
    left, right = figure.axes
    np.testing.assert_array_equal(left.lines[0].get_ydata(), quick("policies").softmax_probs[:, 0])
    assert len(right.lines) == len(quick("policies").gaussian_params)


def test_importing_pgref_figures_and_generating_leave_the_matplotlib_backend_alone(tmp_path):
    # Positive control: the former `matplotlib.use("Agg")` at import turned "svg" into "agg".
    script = (
        "import sys, matplotlib\n"
        "matplotlib.use('svg')\n"
        "import pgref.figures\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
        f"pgref.figures.generate({str(tmp_path)!r}, quick=True, names=['policies'],"
        " progress=False)\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=figures.DEFAULT_DIRECTORY.parent)
    assert (tmp_path / "policies.png").is_file()


# -- 2. log-derivative trick --------------------------------------------------------------------


def test_log_derivative_scores_are_the_closed_forms_and_average_to_zero():
    data = quick("log_derivative")
    # softmax with x(s, a) = e_a: ∇ log π(a) = e_a − π, and Σ_a π(a)(e_a − π) = π − π = 0
    pi = data.softmax_action_probs
    np.testing.assert_allclose(pi, np.exp(data.softmax_theta) / np.exp(data.softmax_theta).sum())
    np.testing.assert_allclose(data.softmax_scores, np.eye(pi.size)[data.softmax_actions] - pi,
                               atol=1e-14)
    np.testing.assert_allclose(data.softmax_exact_mean, 0.0, atol=1e-15)
    # Gaussian N(θ, σ²): (a − θ)/σ² and ((a − θ)² − σ²)/(2σ⁴)
    theta, variance = data.gaussian_theta
    diff = data.gaussian_actions - theta
    np.testing.assert_allclose(
        data.gaussian_scores,
        np.column_stack([diff / variance, (diff**2 - variance) / (2 * variance**2)]),
        rtol=1e-12, atol=1e-12)
    for scores, running in ((data.softmax_scores, data.softmax_running_mean),
                            (data.gaussian_scores, data.gaussian_running_mean)):
        np.testing.assert_allclose(
            running, [scores[:n].mean(axis=0) for n in data.counts], rtol=1e-10, atol=1e-12)
        n = data.counts[-1]
        assert n == scores.shape[0]
        z = running[-1] / (scores.std(axis=0, ddof=1) / np.sqrt(n))
        assert np.all(np.abs(z) < Z_LIMIT), z


def test_log_derivative_trick_panel_sums_every_trajectory_and_samples_towards_it():
    """The enumerated Σ_τ g p ∇log p is ∇J by the theorem; the sampled average is within
    Z_LIMIT standard errors of it at the largest K (each of 2 components).

    False failure (fresh seed, normal approximation): 1 − (1 − 2Φ(−5.3))² ≈ 2.3e−7. Power,
    computed at the quick data's standard errors (0.0154, 0.0078 at K = 2000): ≈ 1 against a
    flipped score sign (shifts of −17.6 and −27.5 standard errors), but only ≈ 5e−5 against
    an estimate scaled by 1.1 (shifts 0.9 and 1.4): this check is about the figure's data, and
    a mis-scaled estimator is caught by tests/test_estimators_statistics.py, not here."""
    data = quick("log_derivative")
    layered = envs.layered_mdp(np.random.default_rng(21), 3, 2, n_features=2)
    policy = SoftmaxLinearPolicy(layered.features)
    np.testing.assert_allclose(data.trick_enumerated_gradient,
                               exact.policy_gradient(layered.mdp, policy, np.array([0.8, -0.4])),
                               rtol=1e-10)
    z = ((data.trick_running_mean[-1] - data.trick_enumerated_gradient)
         / data.trick_running_standard_error[-1])
    assert np.all(np.abs(z) < Z_LIMIT), z
    assert data.trick_n_trajectories > 1


# -- 3. Monte-Carlo convergence -----------------------------------------------------------------


def test_monte_carlo_error_falls_like_one_over_root_k_around_the_exact_gradient():
    r"""The data of the Monte-Carlo figure (quick mode: R = 24 runs of K = 256 episodes).

    Deterministic: the exact ∇𝒥, the dashed lines' tr Cov (exact.estimator_covariance, with the
    order reward-to-go and baseline give them), the legend's slopes (loglog_slope of the points).

    Statistical, at the largest K: each term has ∂/∂θ_left = −∂/∂θ_right (softmax scores over two
    actions with one-hot features), so ‖m − ∇𝒥‖² = 2(m₀ − ∂𝒥/∂θ_right)² and R·RMS²/(tr Cov/K) is
    χ²_R when the run means m are normal (K = 256 episodes leave them an excess kurtosis of at
    most 0.5, from the terms' 56–124): inside the χ²₂₄ quantiles 5e−8 and 1 − 5e−8, and the mean
    of the R final estimates within Z_LIMIT exact standard errors √(Σ₀₀/(RK)) of ∂𝒥/∂θ_right.
    False failure (fresh seed, normal approximation): 3 × 1e−7 + 3 × 1.2e−7 ≈ 6.6e−7. Power
    against pipeline slips: an RMS with the 1/R outside the root (× 24) and a flipped score sign
    (the estimate's mean moves by 2|∂𝒥/∂θ_right|, 23–58 standard errors here) fail (positive
    controls, power ≥ 0.999 computed for the sign). The rate itself — and an error that does not
    shrink — is tested with power by tests/test_estimators_statistics.py; one realisation of 24
    nested runs gives no slope with a rate that can be computed, so the fitted slopes are only
    drawn, not bounded.
    """
    data = quick("monte_carlo")
    mdp, policy = _corridor()
    gradient = exact.policy_gradient(mdp, policy, THETA_0)
    np.testing.assert_allclose(data.exact_gradient, gradient, rtol=1e-12)
    values = exact.state_values(mdp, policy.action_probs(THETA_0))
    traces = [np.trace(exact.estimator_covariance(mdp, policy, THETA_0, *estimator))
              for estimator in (("pg_v1",), ("reinforce",), ("reinforce", values))]
    np.testing.assert_allclose(data.per_episode_variance, traces, rtol=1e-12)
    assert traces[0] > traces[1] > traces[2]          # reward-to-go and the baseline help
    fitted = data.counts >= data.slope_from
    for m, error in enumerate(data.rms_error):
        assert data.slopes[m] == pytest.approx(
            algorithms.loglog_slope(data.counts[fitted], error[fitted]), rel=1e-12, abs=0)
    n_runs, largest = data.final_estimates.shape[1], int(data.counts[-1])
    low = chi_square_quantile(5e-8, n_runs) / n_runs
    high = chi_square_quantile(1.0 - 5e-8, n_runs) / n_runs
    ratios = data.rms_error[:, -1] ** 2 / (data.per_episode_variance / largest)
    assert np.all((low < ratios) & (ratios < high)), (low, ratios, high)
    assert np.all(ratios * n_runs > high)             # positive control: 1/R outside the root
    final = data.final_estimates[:, :, 0].mean(axis=1)          # (M,), R·K episodes each
    standard_error = np.sqrt(data.per_episode_variance / 2 / (n_runs * largest))
    z = (final - gradient[0]) / standard_error
    assert np.all(np.abs(z) < Z_LIMIT), z
    flipped = (-final - gradient[0]) / standard_error           # positive control
    assert np.all(np.abs(flipped) >= Z_LIMIT)
    shift = 2 * abs(gradient[0]) / standard_error
    assert np.all(shift >= Z_LIMIT + POWER_Z), shift
    assert data.running_estimate.shape == data.running_standard_error.shape == (
        len(data.names), data.counts.size)


# -- 4. Variance --------------------------------------------------------------------------------


def _episode_term_moments(mdp, policy, theta, component, alpha, baseline, j_max, k_max):
    r"""E[Gʲ Vᵏ] over S₀ ∼ p₀, j ≤ j_max, k ≤ k_max, for V = Σₜ zₜ (α Gₜ − b(Sₜ)), z the score's
    ``component``; γ = 1, rewards r(s, a) deterministic. α = 1: REINFORCE's term; α = 0, b = −1:
    the score sum Z of pg_v1's term G·Z.

    An independent route to the exact moments (a recursion of its own, to any order): with
    G = r + G′ and V = z (α r − b + α G′) + V′, expanding Gʲ Vᵏ binomially leaves
    E[Gʲ Vᵏ | s′] itself plus moments with a smaller power of V or a smaller total degree, so
    (I − P_π) Mⱼₖ = Σ_a π (…) solves them in order of k, then j.
    """
    pi = policy.action_probs(theta)
    z = policy.grad_log_prob_table(theta)[:, :, component]
    r, transitions, live = mdp.rewards, mdp.transitions, mdp.nonterminal
    system = np.eye(live.sum()) - np.einsum("sa,sax->sx", pi, transitions)[np.ix_(live, live)]
    weight = alpha * r - np.asarray(baseline, dtype=float).reshape(-1, 1)  # α r − b(s)
    moments = {}
    for k in range(k_max + 1):
        for j in range(j_max + k_max - k + 1):
            rhs = np.zeros(r.shape)
            for i, m in itertools.product(range(j + 1), range(k + 1)):
                if (i, m) == (j, 0):
                    continue  # E[Gʲ Vᵏ | s′] itself, moved to the left-hand side
                for q in range(m + 1):
                    rhs += (math.comb(j, i) * r ** (j - i) * math.comb(k, m) * z ** m
                            * math.comb(m, q) * weight ** (m - q) * alpha ** q
                            * (transitions @ moments[i + q, k - m]))
            table = np.ones(mdp.n_states)  # G⁰V⁰ = 1; every other moment is 0 at the end
            if (j, k) != (0, 0):
                table[~live] = 0.0
                table[live] = np.linalg.solve(system, (pi * rhs).sum(axis=1)[live])
            moments[j, k] = table
    return {key: float(mdp.initial @ table) for key, table in moments.items()}


def _term_moment_table(mdp, policy, theta, component, alpha, baseline, j_max, k_max):
    r"""E[Gʲ Vᵏ] over S₀ ∼ p₀ as a table (j_max + k_max + 1, k_max + 1), for the V and the
    recursion of :func:`_episode_term_moments`, organised to reach order 20 quickly: for each k,
    the terms from smaller powers of V for every j at once (the binomial expansion of Gʲ in
    G′ = G − r as a Pascal matrix per (s, a)), then j = 0, 1, … in turn, each one linear solve.
    Entries with j > j_max + k_max − k are not computed (left 0). Checked against
    :func:`_episode_term_moments` (a different order of the same sums) in the tests below; at
    order 20 the two agree to 4e−15 (relative)."""
    pi = policy.action_probs(theta)
    z = policy.grad_log_prob_table(theta)[:, :, component]
    r, transitions, live = mdp.rewards, mdp.transitions, mdp.nonterminal
    weight = alpha * r - np.asarray(baseline, dtype=float).reshape(-1, 1)  # α r − b(s)
    top = j_max + k_max
    system = np.eye(live.sum()) - np.einsum("sa,sax->sx", pi, transitions)[np.ix_(live, live)]
    orders = np.arange(top + 1)
    comb = np.array([[math.comb(n, i) for i in orders] for n in orders], dtype=float)
    step = orders[:, None] - orders[None, :]                                 # j − i
    pascal = np.where(step >= 0, comb * r[..., None, None] ** np.clip(step, 0, top), 0.0)
    moments = np.zeros((mdp.n_states, top + 1, k_max + 1))                 # E[Gʲ Vᵏ | s]
    following = np.zeros((*r.shape, top + 1, k_max + 1))    # Σ_s′ p(s′|s, a) E[Gʲ Vᵏ | s′]
    moments[:, 0, 0], following[:, :, 0, 0] = 1.0, 1.0
    for k in range(k_max + 1):
        last = top - k
        lower = np.zeros((*r.shape, last + 1))                             # from V′ᵏ⁻ᵐ, m ≥ 1
        for m, q in itertools.product(range(1, k + 1), range(k + 1)):
            if q > m:
                continue
            coefficient = (comb[k, m] * z ** m * comb[m, q] * weight ** (m - q) * alpha ** q)
            shifted = following[:, :, q:q + last + 1, k - m]                # G′ⁱ⁺ᵠ V′ᵏ⁻ᵐ
            lower += coefficient[..., None] * np.einsum(
                "saji,sai->saj", pascal[:, :, :last + 1, :last + 1], shifted)
        for j in range(last + 1):
            if (j, k) == (0, 0):
                continue
            rhs = lower[:, :, j] + np.einsum("sai,sai->sa", pascal[:, :, j, :j],
                                             following[:, :, :j, k])
            table = np.zeros(mdp.n_states)
            table[live] = np.linalg.solve(system, (pi * rhs).sum(axis=1)[live])
            moments[:, j, k] = table
            following[:, :, j, k] = transitions @ table
    return np.einsum("s,sjk->jk", mdp.initial, moments)


def _figure_terms(data):
    """(alpha, baseline) of :func:`_episode_term_moments` for the variance figure's five terms:
    G(τ)·Z (as Gᵏ Zᵏ), then Gₜ with no baseline, 𝒥(θ), b* and v_π."""
    return [(0.0, -1.0)] + [(1.0, b) for b in (0.0, data.objective, data.optimal_baseline,
                                               data.values)]


@functools.cache
def _variance_raw_moments(order: int = 20):
    """E[Xᵏ], k = 0 … ``order``, of each of the figure's five terms, by
    :func:`_term_moment_table` (five lists of floats)."""
    mdp, policy = _corridor()
    raws = []
    for alpha, baseline in _figure_terms(quick("variance")):
        b = np.broadcast_to(baseline, (mdp.n_states,))
        if alpha == 0.0:                       # E[(G Z)ᵏ] = E[Gᵏ Zᵏ]
            table = _term_moment_table(mdp, policy, THETA_0, 0, 0.0, b, order, order)
            raws.append([float(table[k, k]) for k in range(order + 1)])
        else:
            table = _term_moment_table(mdp, policy, THETA_0, 0, 1.0, b, 0, order)
            raws.append([float(table[0, k]) for k in range(order + 1)])
    return raws


def _central(raw):
    """The central moments c₀ … c_N of X from its raw moments, in exact rational arithmetic on
    the given floats."""
    raw = [Fraction(value) for value in raw]
    return [sum(math.comb(n, i) * raw[i] * (-raw[1]) ** (n - i) for i in range(n + 1))
            for n in range(len(raw))]


def _mean_moments(cumulants, K, order):
    """E[(Ȳ − E Y)ᵖ], p ≤ ``order``, of the mean of K i.i.d. copies of Y with the given
    cumulants κ₁ … (κ₁ unused): Ȳ has cumulants κⱼ / Kʲ⁻¹; moments from cumulants by
    mₙ = Σᵢ C(n − 1, i − 1) κᵢ mₙ₋ᵢ."""
    kappa = [Fraction(0), Fraction(0)] + [cumulants[j] / Fraction(K) ** (j - 1)
                                          for j in range(2, order + 1)]
    moments = [Fraction(1)] + [Fraction(0)] * order
    for n in range(1, order + 1):
        moments[n] = sum(math.comb(n - 1, i - 1) * kappa[i] * moments[n - i]
                         for i in range(2, n + 1))
    return moments


def _cumulants(moments):
    """κ₁ … κₙ from the moments m₀ = 1, m₁, …, mₙ: κₙ = mₙ − Σ_{i<n} C(n − 1, i − 1) κᵢ mₙ₋ᵢ."""
    kappa = [Fraction(0)] * len(moments)
    for n in range(1, len(moments)):
        kappa[n] = moments[n] - sum(math.comb(n - 1, i - 1) * kappa[i] * moments[n - i]
                                    for i in range(1, n))
    return kappa


VARIANCE_Z = (-6.5, 20.0)
"""The band for (s² − σ²)/sd(s²), with sd(s²) exact (from the exact μ₄), not sampled."""


def _variance_band_rates(raw, K, z_low, z_high):
    r"""Bounds on the rates of s² (K terms) falling below σ² + z_low·sd(s²) and above
    σ² + z_high·sd(s²), from the exact raw moments ``raw`` of one term X (up to order 2Q).

    Below: s² < σ² − t implies W̄ < σ² − 0.9t or D = (x̄ − μ)² > 0.1t, with W = (X − μ)² ≥ 0;
    Maurer (2003) bounds the first by exp(−K (0.9t)² / (2 E[W²])), E[W²] = μ₄, Markov the
    second by E[(x̄ − μ)⁶] / (0.1t)³, with
    E[(x̄ − μ)⁶] = (μ₆ + 15(K − 1)μ₄μ₂ + 10(K − 1)μ₃² + 15(K − 1)(K − 2)μ₂³) / K⁵.
    Above: s² ≤ K/(K − 1) W̄, so s² > σ² + t needs W̄ − σ² > (K − 1)/K (σ² + t) − σ² = g; Markov
    on an even power p ≤ Q gives E[(W̄ − σ²)ᵖ] / gᵖ, with W's central moments
    νⱼ = Σᵢ C(j, i) μ₂ᵢ (−σ²)ʲ⁻ⁱ, their cumulants, and those of the mean (:func:`_mean_moments`);
    the best p counts. Both are doubled: the raw moments come from float64 solves (good to
    about 1e−14; the rate moves by at most about 60 times their relative error).
    """
    c = _central(raw)
    mu2, mu3, mu4, mu6 = (float(c[n]) for n in (2, 3, 4, 6))
    sd = math.sqrt(mu4 / K - mu2 ** 2 * (K - 3) / (K * (K - 1)))
    t = -z_low * sd
    mean_sixth = (mu6 + 15 * (K - 1) * mu4 * mu2 + 10 * (K - 1) * mu3 ** 2
                  + 15 * (K - 1) * (K - 2) * mu2 ** 3) / K ** 5
    below = math.exp(-K * (0.9 * t) ** 2 / (2 * mu4)) + mean_sixth / (0.1 * t) ** 3
    half = (len(raw) - 1) // 2
    nu = [sum(math.comb(j, i) * c[2 * i] * (-c[2]) ** (j - i) for i in range(j + 1))
          for j in range(half + 1)]
    mean_moments = _mean_moments(_cumulants(nu), K, half)
    gap = Fraction(K - 1, K) * (c[2] + Fraction(z_high * sd)) - c[2]
    above = min(float(mean_moments[p] / gap ** p) for p in range(2, half + 1, 2))
    return 2 * below, 2 * above


@functools.cache
def _variance_exact_moments():
    """(μ₂, μ₄, μ₆) of each of the figure's five terms, by :func:`_episode_term_moments`."""
    mdp, policy = _corridor()
    data = quick("variance")
    pg = _episode_term_moments(mdp, policy, THETA_0, 0, 0.0, -np.ones(mdp.n_states), 6, 6)
    raws = [[pg[k, k] for k in range(7)]]  # E[(G Z)ᵏ] = E[Gᵏ Zᵏ]
    for baseline in (0.0, data.objective, data.optimal_baseline, data.values):
        b = np.broadcast_to(baseline, (mdp.n_states,))
        moments = _episode_term_moments(mdp, policy, THETA_0, 0, 1.0, b, 0, 6)
        raws.append([moments[0, k] for k in range(7)])
    return (np.array([[float(_central(raw)[n]) for n in (2, 3, 4, 6)] for raw in raws]),
            np.array([raw[1] for raw in raws]))


def test_variance_exact_bars_are_the_exact_covariances_and_an_independent_recursion():
    data = quick("variance")
    mdp, policy = _corridor()
    J = exact.objective(mdp, policy, THETA_0)
    values = exact.state_values(mdp, policy.action_probs(THETA_0))
    optimum = exact.optimal_constant_baseline(mdp, policy, THETA_0)[0]
    assert (data.objective, data.optimal_baseline) == (J, optimum)
    np.testing.assert_array_equal(data.values, values)
    expected = [exact.estimator_covariance(mdp, policy, THETA_0, "pg_v1")[0, 0]] + [
        exact.estimator_covariance(mdp, policy, THETA_0, "reinforce", b)[0, 0]
        for b in (None, J, optimum, values)]
    np.testing.assert_array_equal(data.exact_variance, expected)
    np.testing.assert_array_equal(data.baseline_variance, [
        exact.estimator_covariance(mdp, policy, THETA_0, "reinforce", b)[0, 0]
        for b in data.baselines])
    # the same numbers by the moment recursion of this file
    central, means = _variance_exact_moments()
    np.testing.assert_allclose(central[:, 0], data.exact_variance, rtol=1e-10)
    np.testing.assert_allclose(means, data.exact_component, rtol=1e-10)
    variances = exact.baseline_variances(mdp, policy, THETA_0)
    np.testing.assert_allclose(data.exact_variance[1:],
                               [variances.none[0], variances.objective[0],
                                variances.optimal[0], variances.values[0]], rtol=1e-10)


def test_variance_of_a_constant_baseline_is_a_parabola_with_its_vertex_at_b_star():
    """Var[X₀ − bY] = Var X₀ − 2b E[X₀Y] + b² E[Y²]: a quadratic fitted through the exact
    variances at 21 constants b has its vertex at b* = E[X₀Y]/E[Y²] and its minimum Var(b*);
    b* lies below J(θ) (the caption's claim), and v_π(s) ranges far above both."""
    data = quick("variance")
    a2, a1, a0 = np.polyfit(data.baselines, data.baseline_variance, 2)
    residual = np.polyval([a2, a1, a0], data.baselines) - data.baseline_variance
    assert np.abs(residual).max() < 1e-9 * data.baseline_variance.max()
    assert -a1 / (2 * a2) == pytest.approx(data.optimal_baseline, rel=1e-9)
    assert a0 - a1 ** 2 / (4 * a2) == pytest.approx(data.exact_variance[3], rel=1e-9)
    assert data.optimal_baseline < data.objective - 1.0
    assert data.objective == data.values[0] < data.values[1] < data.values[2]


def test_variance_caption_claims_hold_exactly():
    """The caption's order and percentages, on the exact variances (no sampling)."""
    pg, plain, objective, optimal, values = quick("variance").exact_variance
    assert pg > plain > values > objective > optimal
    assert round(1 - plain / pg, 2) == 0.63  # "removes 63% of G(τ)'s variance"
    assert 0.58 <= 1 - values / plain < 1 - objective / plain <= 0.61  # "58–61% of the rest"
    data = quick("variance")
    caption = figures.REGISTRY["variance"].caption
    assert "63%" in caption and "58–61%" in caption
    assert (f"b* = {common.number(data.optimal_baseline)} < "
            f"𝒥(θ) = {common.number(data.objective)}.") in caption


def test_the_fast_moment_recursion_is_the_independent_one():
    """:func:`_term_moment_table` against :func:`_episode_term_moments` for the five terms of the
    variance figure, to order 8: the same moments by a different order of the sums."""
    mdp, policy = _corridor()
    for alpha, baseline in _figure_terms(quick("variance")):
        b = np.broadcast_to(baseline, (mdp.n_states,))
        j_max = 8 if alpha == 0.0 else 2
        slow = _episode_term_moments(mdp, policy, THETA_0, 0, alpha, b, j_max, 8)
        fast = _term_moment_table(mdp, policy, THETA_0, 0, alpha, b, j_max, 8)
        for (j, k), value in slow.items():
            assert fast[j, k] == pytest.approx(value, rel=1e-12, abs=0), (j, k)


@functools.cache
def full_variance():
    """The variance figure's data as drawn (K = 200 000), computed once."""
    return figures.REGISTRY["variance"].data(False)


def test_variance_measured_matches_exact_within_a_stated_band():
    r"""Each measured s² of the drawn figure (K = 200 000) lies within VARIANCE_Z = (−6.5, +20)
    exact standard deviations of σ²: sd(s²)² = μ₄/K − σ⁴(K − 3)/(K(K − 1)), μ₄ exact (1.7–2.5 %
    of σ² here; the terms are heavy-tailed, kurtosis 59–127).

    False failure for a fresh seed, by :func:`_variance_band_rates` from the exact moments of
    each term up to order 20 (rigorous bounds, no normal approximation): below the band
    ≤ 1.1e−7 and above it ≤ 8e−8 per estimator, ≤ 1e−6 for the five (all asserted). The
    upper side is the hard one: s² has a heavy right tail (a rare very long episode), and Markov
    on the 8th–10th moment of W̄ needs +18–20 sd at this K (Cantelli would need +1000).

    Power against a wrong bar, every other estimator's σ²′ with |σ²′/σ² − 1| > 0.5: σ²′ lies
    more than 33 sd outside, and its own s²′ enters the band with probability ≤ 1e−7 by the same
    bounds for that term: ≥ 0.999 (asserted); and the measured s²′ of those terms, as positive
    controls, fail the check. The means: the z-bound Z_LIMIT of this file on the
    usual standard error.
    """
    data = full_variance()
    K = data.per_episode.shape[1]
    raws = _variance_raw_moments()
    central = [_central(raw) for raw in raws]
    np.testing.assert_allclose(data.variance, data.per_episode.var(axis=1, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(data.exact_variance, [float(c[2]) for c in central], rtol=1e-10)
    total = 0.0
    for index, (raw, c, measured) in enumerate(zip(raws, central, data.variance, strict=True)):
        mu2, mu4 = float(c[2]), float(c[4])
        sd = math.sqrt(mu4 / K - mu2 ** 2 * (K - 3) / (K * (K - 1)))
        below, above = _variance_band_rates(raw, K, *VARIANCE_Z)
        assert below < 1.1e-7 and above < 8e-8, (below, above)
        total += below + above
        assert VARIANCE_Z[0] < (measured - mu2) / sd < VARIANCE_Z[1]
        # power: a bar computed from another term's episodes stays outside the band
        for other, (other_raw, other_c) in enumerate(zip(raws, central, strict=True)):
            other_mu2, other_mu4 = float(other_c[2]), float(other_c[4])
            if other == index or abs(other_mu2 / mu2 - 1) <= 0.5:
                continue
            assert abs(other_mu2 - mu2) / sd > 33
            # positive control: that term's measured s² (a wrong bar) fails this check
            assert not VARIANCE_Z[0] < (data.variance[other] - mu2) / sd < VARIANCE_Z[1]
            other_sd = math.sqrt(other_mu4 / K - other_mu2 ** 2 * (K - 3) / (K * (K - 1)))
            low, high = ((mu2 + VARIANCE_Z[0] * sd - other_mu2) / other_sd,
                         (mu2 + VARIANCE_Z[1] * sd - other_mu2) / other_sd)
            entering = _variance_band_rates(other_raw, K, high, low)[0 if high < 0 else 1]
            assert entering < 1e-7, (index, other, entering)
    assert total < 1e-6
    z = (data.mean - data.exact_component) / data.standard_error
    assert np.all(np.abs(z) < Z_LIMIT), z
    np.testing.assert_allclose(data.mean, data.per_episode.mean(axis=1), rtol=1e-12)
    assert np.all(data.variance_lower < data.variance)
    assert np.all(data.variance < data.variance_upper)


# -- 5. Short corridor --------------------------------------------------------------------------


def test_short_corridor_objective_optimum_and_learning_curves():
    data = quick("short_corridor")
    p = data.probabilities
    np.testing.assert_allclose(data.objective_by_probability, 2 * (p - 2) / (p * (1 - p)),
                               rtol=1e-10)  # Sutton & Barto's closed form
    step = p[1] - p[0]
    assert abs(data.best_probability - (2 - math.sqrt(2))) <= step / 2 + 1e-12
    assert data.best_objective == pytest.approx(-(6 + 4 * math.sqrt(2)), abs=1e-3)

    n_methods, n_runs = len(data.names), data.theta.shape[1]
    n_points = data.exact_objective.shape[0]
    assert data.theta.shape == (n_methods, n_runs, n_points, 2)
    assert data.objective.shape == (n_methods, n_runs, n_points)
    assert data.exact_theta.shape == (n_points, 2) and data.alphas.shape == (n_methods,)
    mdp, policy = _corridor()
    recorded = np.isfinite(data.objective)
    for theta, J in zip(data.theta[recorded], data.objective[recorded], strict=True):
        assert J == pytest.approx(exact.objective(mdp, policy, theta), rel=1e-12)
    # a run that stopped at episode k has no θ after it, and no 𝒥; the others have every 𝒥
    # (a 𝒥 of a policy beyond exact_trace.CONDITION_LIMIT, near the stop, is NaN too)
    for m, stops in enumerate(data.stops):
        stopped = {stop.run: stop.episode for stop in stops}
        for r in range(n_runs):
            if r in stopped:
                assert np.isnan(data.theta[m, r, stopped[r] + 1:]).all()
                assert not recorded[m, r, stopped[r] + 1:].any() and recorded[m, r, 0]
            else:
                assert recorded[m, r].all()
    np.testing.assert_array_equal(data.theta[:, :, 0], np.broadcast_to(THETA_0, (n_methods,
                                                                                n_runs, 2)))
    assert np.all(np.diff(data.exact_objective) > 0)  # exact ascent with a small α is monotone
    np.testing.assert_allclose(
        data.exact_objective, [exact.objective(mdp, policy, th) for th in data.exact_theta],
        rtol=1e-12)


# -- 6. The policy gradient theorem's pieces ----------------------------------------------------


def test_theorem_visits_distribution_and_phi_series():
    data = quick("theorem")
    problem = envs.gridworld(slip=data.slip)
    mdp = problem.mdp
    assert data.gamma == mdp.gamma
    pi = np.tile(data.action_probs, (mdp.n_states, 1))  # the same π in every cell
    np.testing.assert_allclose(data.visits, exact.discounted_visits(mdp, pi), rtol=1e-12)
    np.testing.assert_allclose(data.distribution, exact.on_policy_distribution(mdp, pi),
                               rtol=1e-12)
    assert data.distribution.sum() == pytest.approx(1.0, rel=1e-12)
    # the φ series: partial sums start at 0, never decrease, and reach n(x)
    sums = data.partial_sums
    np.testing.assert_array_equal(sums[0], 0.0)
    assert np.all(np.diff(sums, axis=0) >= 0.0)
    np.testing.assert_allclose(sums[-1], data.visits, atol=1e-5)
    # the first term is p₀ itself (φ(s→s, 0) = 1); the second is p₀ᵀ P_π
    np.testing.assert_allclose(sums[1], np.where(mdp.terminal, 0.0, mdp.initial), atol=1e-15)
    # the counted visits agree with n(s) state by state
    live = data.empirical_standard_error > 0
    assert np.all(live == (data.visits > 0))
    z = (data.empirical_visits[live] - data.visits[live]) / data.empirical_standard_error[live]
    assert np.all(np.abs(z) < Z_LIMIT), z
    np.testing.assert_allclose(data.empirical_distribution,
                               data.empirical_visits / data.empirical_visits.sum(), rtol=1e-12)


# -- 7. Discounting -----------------------------------------------------------------------------


def test_discounting_estimates_converge_to_two_different_exact_limits():
    data = quick("discounting")
    mdp, policy = _corridor(data.gamma)
    assert data.gamma < 1
    np.testing.assert_allclose(data.exact_gradient, exact.policy_gradient(mdp, policy, THETA_0),
                               rtol=1e-12)
    np.testing.assert_allclose(data.dropped_direction,
                               exact.gamma_dropped_direction(mdp, policy, THETA_0), rtol=1e-12)
    limits = np.array([data.exact_gradient[0], data.dropped_direction[0]])
    final, error = data.running_estimate[:, -1], data.running_standard_error[:, -1]
    assert np.all(np.abs(final - limits) / error < Z_LIMIT)           # each to its own limit
    assert np.all(np.abs(final - limits[::-1]) / error > Z_LIMIT)  # and far from the other
    # the two limits coincide at γ = 1 only
    assert data.gammas[-1] == 1.0
    assert data.dropped_by_gamma[-1] == pytest.approx(data.gradient_by_gamma[-1], rel=1e-10)
    assert np.all(np.abs(data.dropped_by_gamma[:-1] - data.gradient_by_gamma[:-1]) > 1e-3)


# -- 8. The continuous moving particle ----------------------------------------------------------


def test_particle_learning_data_match_the_exact_lqr_solves():
    data = quick("particle")
    problem, policy = data.problem, data.policy
    np.testing.assert_allclose(data.optimal_gain, lqr.optimal_gain(problem), rtol=1e-12)
    n_seeds, n_points = len(data.seeds), data.updates.size
    assert data.theta.shape == (n_seeds, n_points, policy.n_params)
    assert data.gain.shape == (n_seeds, n_points, 2, 2)
    assert data.variance.shape == data.objective.shape == (n_seeds, n_points)
    for theta, gain, variance, J in zip(data.theta.reshape(-1, policy.n_params),
                                        data.gain.reshape(-1, 2, 2), data.variance.reshape(-1),
                                        data.objective.reshape(-1), strict=True):
        np.testing.assert_array_equal(gain, lqr.gain_matrix(policy, theta))
        assert variance == policy.variance(theta) == pytest.approx(np.exp(theta[-1]))
        assert J == pytest.approx(lqr.objective(problem, policy, theta), rel=1e-12)
    # exact ascent: J rises, σ² falls (∂J/∂σ² < 0), the gain moves towards K*
    assert np.all(np.diff(data.exact_objective) > 0)
    assert np.all(np.diff(data.exact_variance) < 0)
    distance = np.abs(data.exact_gain - data.optimal_gain).max(axis=(1, 2))
    assert np.all(np.diff(distance) < 0)
    assert np.all(data.objective[:, -1] > data.objective[:, 0])  # sampled learning improves J
    # the learned policy brings the particle nearer the origin than θ₀ does
    assert data.initial_paths.shape == data.learned_paths.shape
    final_distance = [np.linalg.norm(paths[:, -1], axis=1).mean()
                      for paths in (data.initial_paths, data.learned_paths)]
    assert final_distance[1] < final_distance[0]


# -- 9. The O(1/t) rate -------------------------------------------------------------------------


def test_rates_gap_times_t_levels_off_and_natural_gradient_is_faster():
    data = figures.rates.rates_data()           # the figure's own data: T = 1000 at α = 3
    k = data.n_suboptimal
    assert k == 2 and data.limit == pytest.approx(k / ((k + 1) * data.alpha), rel=1e-15, abs=0)
    t = data.steps
    late = t >= t[-1] // 10
    assert data.late_slope == pytest.approx(algorithms.loglog_slope(t[late],
                                                                   data.vanilla_gap[late]))
    assert data.late_slope == pytest.approx(-1.0, abs=0.15)
    scaled = t * data.vanilla_gap
    # levelling off: t·gap approaches the gradient-flow limit and stays near it
    assert abs(scaled[-1] - data.limit) < abs(scaled[t[-1] // 10] - data.limit)
    assert scaled[-1] == pytest.approx(data.limit, rel=0.005, abs=0)   # as the docstring says
    assert np.all(np.diff(data.vanilla_gap) < 0)                         # 𝒥 rises at every update
    # natural gradient: far smaller gap after 35 updates than vanilla after all of its own
    assert data.natural_gap[-1] < 1e-6 < data.vanilla_gap[-1]
    assert np.all(np.diff(data.natural_gap) < 0)
    # natural ascent: π(a)/π(a*) shrinks by e^{α(r(a) − r*)} per step, so the gap, led by the
    # second-best arm, falls by e^{−α(r* − r₂)} per step, right down past 1e−16
    second = np.sort(data.means)[-2]
    ratios = data.natural_gap[1:] / data.natural_gap[:-1]
    np.testing.assert_allclose(ratios[-20:], np.exp(-data.alpha * (data.means.max() - second)),
                               rtol=1e-6)
    assert data.natural_gap[-1] < 1e-16


def test_readme_gallery_shows_every_figure_in_order_with_the_registry_caption():
    readme = (figures.DEFAULT_DIRECTORY.parent / "README.md").read_text(encoding="utf-8")
    gallery = re.findall(r"### (\d+)\. `([\w-]+)\.png`\n\n!\[\2\]\(figures/\2\.png\)\n\n(.+)\n",
                         readme)
    assert gallery == [(str(number), spec.name, spec.caption)
                       for number, spec in enumerate(figures.REGISTRY.values(), start=1)]
    # and no other figure is shown anywhere in the README
    assert set(re.findall(r"\]\(figures/([\w-]+)\.png\)", readme)) == set(figures.REGISTRY)
