"""Figures: the data behind each one, and deterministic bytes (not pixels)."""

from math import erf

import numpy as np
import pytest

from pgref import figures


def test_policies_data_are_the_softmax_and_gaussian_of_the_lecture():
    data = figures.policies_data(quick=True)
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
    first = figures.generate(tmp_path / "a", quick=True, names=[name])
    second = figures.generate(tmp_path / "b", quick=True, names=[name])
    assert first[0].name == second[0].name == f"{name}.png"
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{name}.png" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(figures.REGISTRY))
def test_every_registered_figure_is_committed(name):
    assert (figures.DEFAULT_DIRECTORY / f"{name}.png").is_file(), (
        f"run `python -m pgref figures` and commit figures/{name}.png"
    )


def test_unknown_figure_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="names must be among"):
        figures.generate(tmp_path, names=["nonexistent"], progress=False)
