r"""The figures: one compute function per figure, a registry, deterministic saving.

Each entry of :data:`REGISTRY` pairs a ``compute(quick)`` function, which returns the figure's
data as a NamedTuple (what the tests check), with a drawing function from
:mod:`pgref.plotting`. :func:`generate` writes the PNGs into ``figures/`` beside the package
(never relative to the working directory), byte-identical from run to run. Every compute
function creates its own ``np.random.default_rng(seed)``; ``quick=True`` shrinks the samples for
a smoke run.

=====================  =================================================  ===================
figure                 lecture / blog                                     compute function
=====================  =================================================  ===================
``policies``           "Example: Softmax", "Example: Gaussian"            policies_data
``log_derivative``     "Log-Derivative Trick"                             log_derivative_data
``monte_carlo``        "Training Policy Network: SGD", "REINFORCE"        monte_carlo_data
``variance``           "REINFORCE"; blog "causality trick"                variance_data
``short_corridor``     "PG_v1", "REINFORCE" (Sutton & Barto, Ex. 13.1)    short_corridor_data
``theorem``            "Policy Gradient Theorem"; blog φ, n(s), μ(s)      theorem_data
``discounting``        "REINFORCE" with γ < 1                             discounting_data
``particle``           "Example: Moving Particle", "Example: Gaussian"    particle_data
``rates``              exact ascent (Mei et al., 2020), natural gradient  rates_data
=====================  =================================================  ===================
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from pgref import plotting
from pgref.figures._estimation import (
    DiscountingData,
    MonteCarloData,
    VarianceData,
    discounting_data,
    monte_carlo_data,
    variance_data,
)
from pgref.figures._learning import CorridorData, RatesData, rates_data, short_corridor_data
from pgref.figures._particle import ParticleData, particle_data
from pgref.figures._policies import (
    LogDerivativeData,
    PoliciesData,
    log_derivative_data,
    policies_data,
)
from pgref.figures._theorem import TheoremData, theorem_data

__all__ = [
    "DEFAULT_DIRECTORY",
    "REGISTRY",
    "CorridorData",
    "DiscountingData",
    "FigureSpec",
    "LogDerivativeData",
    "MonteCarloData",
    "ParticleData",
    "PoliciesData",
    "RatesData",
    "TheoremData",
    "VarianceData",
    "discounting_data",
    "generate",
    "log_derivative_data",
    "monte_carlo_data",
    "particle_data",
    "policies_data",
    "rates_data",
    "short_corridor_data",
    "theorem_data",
    "variance_data",
]

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "figures"


@dataclass(frozen=True)
class FigureSpec:
    """A figure: its file name, what it shows, how to compute its data and how to draw it."""

    name: str
    caption: str
    compute: Callable[[bool], NamedTuple]
    draw: Callable


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
        FigureSpec(
            "log_derivative",
            "The log-derivative trick: the sample mean of the score ∇ log π_θ(A|s) over N "
            "sampled actions tends to E[∇ log π_θ] = Σ_a ∇π_θ(a|s) = 0, within ±2 standard "
            "errors, for a softmax over four actions and for a Gaussian N(θ, σ²) (∂/∂θ, ∂/∂σ²).",
            log_derivative_data,
            plotting.draw_log_derivative,
        ),
        FigureSpec(
            "monte_carlo",
            "Monte-Carlo estimates of ∇J on the short corridor (γ = 1, π(right) ≈ 0.25) from K "
            "episodes: one run of each estimator against the exact ∂J/∂θ_right (left), and the "
            "RMS error over independent runs against K on log-log axes, on the lines "
            "√(tr Cov/K) of slope −1/2 (right).",
            monte_carlo_data,
            plotting.draw_monte_carlo,
        ),
        FigureSpec(
            "variance",
            "Per-episode variance of the ∂/∂θ_right term of each estimator on the short corridor, "
            "with 95% confidence intervals: the whole return G(τ), the reward-to-go Gₜ, and Gₜ "
            "minus a constant or a state-dependent baseline. All have the same mean, ∇J.",
            variance_data,
            plotting.draw_variance,
        ),
        FigureSpec(
            "short_corridor",
            "The short corridor (Sutton & Barto, Example 13.1): the exact J(p) with p = π(right) "
            "and its maximum (left); J(θ) after each episode of the lecture's PG_v1, REINFORCE "
            "and REINFORCE with a learned baseline, mean ± 1 standard error over seeds, beside "
            "exact ascent θ ← θ + α∇J taking one step per episode (right).",
            short_corridor_data,
            plotting.draw_short_corridor,
        ),
        FigureSpec(
            "theorem",
            "The policy gradient theorem's weights on a 4 × 3 gridworld with slips (γ = 1): the "
            "expected visits n(s) and on-policy distribution μ(s) by linear solves, the same "
            "counted in sampled episodes, and the truncated series Σ_{k<K} Σ_s p₀(s) φ(s→x, k) "
            "reaching n(x) in every state.",
            theorem_data,
            plotting.draw_theorem,
        ),
        FigureSpec(
            "discounting",
            "Discounting: on the short corridor with γ = 0.9, REINFORCE with the factor γᵗ "
            "converges to ∇J, and without it to the different vector Σ_s n₁(s) Σ_a q_γ(s, a) "
            "∇π_θ(a|s) (left); the two agree only at γ = 1 (right).",
            discounting_data,
            plotting.draw_discounting,
        ),
        FigureSpec(
            "particle",
            "The continuous moving particle (γ = 0.8) with a linear-Gaussian policy "
            "a ∼ N(Ks, σ² I): positions under θ₀ and under the policy learned by REINFORCE "
            "(left); the gain K and σ² over the updates, sampled (mean over seeds) and exact "
            "ascent, against the Riccati gain K* and σ² → 0 (middle, right).",
            particle_data,
            plotting.draw_particle,
        ),
        FigureSpec(
            "rates",
            "Exact softmax policy gradient on a three-armed bandit: the sub-optimality gap "
            "J* − J(θₜ) falls as O(1/t) under θ ← θ + α∇J, and geometrically under the natural "
            "gradient (left); t·(J* − J(θₜ)) levels off at k/((k + 1)α) (right).",
            rates_data,
            plotting.draw_rates,
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
