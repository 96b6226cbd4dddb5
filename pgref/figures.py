r"""The figures: one compute function per figure, a registry, deterministic saving.

Each entry of :data:`REGISTRY` pairs a ``compute(quick)`` function, which returns the figure's
data as a NamedTuple (what the tests check), with a drawing function from
:mod:`pgref.plotting`. :func:`generate` writes the PNGs into ``figures/`` beside the package
(never relative to the working directory), byte-identical from run to run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pgref import plotting
from pgref.features import moving_particle_features
from pgref.policies import GaussianPolicy, SoftmaxLinearPolicy

__all__ = ["DEFAULT_DIRECTORY", "REGISTRY", "FigureSpec", "generate", "policies_data"]

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "figures"


@dataclass(frozen=True)
class FigureSpec:
    """A figure: its file name, what it shows, how to compute its data and how to draw it."""

    name: str
    caption: str
    compute: Callable[[bool], NamedTuple]
    draw: Callable


# -- 1. Policies (lecture: "Example: Softmax", "Example: Gaussian") ------------------------------


class PoliciesData(NamedTuple):
    """Data behind ``policies.png``.

    Attributes
    ----------
    theta_action : ndarray, shape (G,)
        θ₃, the weight of the action code a in x(s, a) = [x, y, a].
    action_codes : ndarray, shape (A,)
    softmax_probs : ndarray, shape (G, A)
        π_θ(a|s) at each θ₃ (the same in every state s: the position does not matter).
    actions : ndarray, shape (M,)
        The grid of scalar actions for the Gaussian densities.
    gaussian_params : ndarray, shape (P, 2)
        (θ, σ²) of each Gaussian, with x(s) = 1 so the mean is θ.
    densities : ndarray, shape (P, M)
        π_θ(a|s) = N(a; θ, σ²) on the grid.
    """

    theta_action: np.ndarray
    action_codes: np.ndarray
    softmax_probs: np.ndarray
    actions: np.ndarray
    gaussian_params: np.ndarray
    densities: np.ndarray


def policies_data(quick: bool = False) -> PoliciesData:
    r"""Softmax probabilities of the moving particle as θ₃ varies; Gaussian densities for (θ, σ²).

    Notes
    -----
    Softmax (lecture: "Example: Softmax") on the moving particle's x(s, a) = [x, y, a] with four
    directions coded a = 0, 1, 2, 3: π_θ(a|s) = exp(θ₃ a) / Σ_b exp(θ₃ b), whatever θ₁, θ₂ and
    the position. Gaussian (lecture: "Example: Gaussian"): π_θ(a|s) = N(θᵀx(s), σ²), x(s) = 1.
    """
    n_grid = 61 if quick else 241
    codes = np.arange(4.0)
    position = np.array([[1.0, -0.5]])
    softmax = SoftmaxLinearPolicy(moving_particle_features(position, codes))
    theta_action = np.linspace(-3.0, 3.0, n_grid)
    probs = np.stack([softmax.action_probs(np.array([0.4, -0.2, t]))[0] for t in theta_action])

    gaussian = GaussianPolicy(np.ones((1, 1)), learn_variance=True)
    params = np.array([[0.0, 1.0], [1.5, 0.25], [-1.0, 2.25]])
    actions = np.linspace(-5.0, 5.0, 4 * n_grid + 1)
    states = np.zeros(actions.shape, dtype=int)
    densities = np.stack([gaussian.density(p, states, actions) for p in params])
    return PoliciesData(theta_action, codes, probs, actions, params, densities)


REGISTRY: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in [
        FigureSpec(
            "policies",
            "Softmax probabilities of the moving particle's four directions as θ₃ varies, and "
            "Gaussian densities N(θ, σ²) for three (θ, σ²).",
            policies_data,
            plotting.draw_policies,
        ),
    ]
}


def generate(
    out_dir: Path | str | None = None,
    quick: bool = False,
    names: Iterable[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Compute, draw and save figures; return the paths written.

    Parameters
    ----------
    out_dir : path, optional
        Where to write; default ``figures/`` next to the ``pgref`` package.
    quick : bool
        Smaller grids and fewer samples, for a fast smoke run.
    names : iterable of str, optional
        Which figures (default: all of :data:`REGISTRY`).
    progress : bool
        Print one line per figure on stderr.
    """
    out_dir = Path(DEFAULT_DIRECTORY if out_dir is None else out_dir)
    chosen = list(REGISTRY) if names is None else list(names)
    unknown = [name for name in chosen if name not in REGISTRY]
    if unknown:
        raise ValueError(f"names must be among {sorted(REGISTRY)}; unknown: {unknown}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, name in enumerate(chosen, start=1):
        spec = REGISTRY[name]
        if progress:
            print(f"[{index}/{len(chosen)}] {name}.png ...", file=sys.stderr, flush=True)
        path = out_dir / f"{name}.png"
        plotting.save(spec.draw(spec.compute(quick)), path)
        written.append(path)
    return written
