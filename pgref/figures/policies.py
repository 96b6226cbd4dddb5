r"""Figure ``policies``: the softmax and Gaussian policies (lecture: "Example: Softmax",
"Example: Gaussian")."""

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from pgref.features import moving_particle_features
from pgref.figures import common
from pgref.policies import GaussianPolicy, SoftmaxLinearPolicy

CAPTION = ("Softmax probabilities of the moving particle's four directions as θ₃ varies, and "
           "Gaussian densities N(θ, σ²) for three (θ, σ²).")


class PoliciesData(NamedTuple):
    """Data behind ``policies.png``."""

    theta_action: np.ndarray
    """Shape (G,): θ₃, the weight of the action code a in x(s, a) = [x, y, a]."""
    action_codes: np.ndarray
    """Shape (A,): the codes a of the four directions."""
    softmax_probs: np.ndarray
    """Shape (G, A): π_θ(a|s) at each θ₃ (the same in every state: the position cancels)."""
    actions: np.ndarray
    """Shape (M,): the grid of scalar actions for the Gaussian densities."""
    gaussian_params: np.ndarray
    """Shape (P, 2): (θ, σ²) of each Gaussian, with x(s) = 1 so the mean is θ."""
    densities: np.ndarray
    """Shape (P, M): π_θ(a|s) = N(a; θ, σ²) on the grid."""


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


def draw_policies(data: PoliciesData, figure: Figure) -> None:
    """Left: π_θ(a|s) against θ₃ for each direction a. Right: Gaussian densities N(θ, σ²)."""
    left, right = figure.subplots(1, 2)
    for index, code in enumerate(data.action_codes):
        left.plot(data.theta_action, data.softmax_probs[:, index], label=f"a = {code:g}")
    left.set(
        xlabel="θ₃ (weight of a in x(s, a) = [x, y, a])",
        ylabel="π_θ(a | s)",
        title="Softmax: π_θ(a|s) ∝ exp(θᵀx(s, a))\n(the same in every state: x, y cancel)",
        ylim=(0, 1),
    )
    left.legend(title="direction code")
    for (theta, variance), density in zip(data.gaussian_params, data.densities, strict=True):
        right.plot(data.actions, density,
                   label=f"θ = {theta:g}, σ² = {variance:g} (σ = {variance**0.5:g})")
    right.set(
        xlabel="action a",
        ylabel="π_θ(a | s)",
        title="Gaussian: π_θ(a|s) = N(θᵀx(s), σ²), x(s) = 1",
    )
    right.legend()


FIGURE = common.FigureSpec(name="policies", size=(10.0, 3.8), caption=CAPTION,
                           data=policies_data, draw=draw_policies,
                           boxes=((0.0558, 0.1254, 0.4392, 0.7495),
                                  (0.5566, 0.1254, 0.4392, 0.7495)))
