r"""The lecture's "average over all possible trajectories", computed by enumerating them.

Lecture, "Log-Derivative Trick": 𝒥(π_θ) = Σ_τ g(τ) p_θ(τ) and

    ∇𝒥(π_θ) = Σ_τ g(τ) ∇p_θ(τ) = Σ_τ g(τ) p_θ(τ) ∇log p_θ(τ) = E_τ[G(τ) ∇log p_θ(τ)],

with ∇log p_θ(τ) = Σₜ ∇log π_θ(Aₜ|Sₜ): the start distribution and the dynamics do not depend on
θ. :func:`trajectory_form` writes these sums out over every trajectory of a small episodic MDP,
the route the lecture takes before it samples K of them; the policy gradient theorem
(:func:`pgref.exact.policy_gradient`) reaches the same vector through the Bellman equation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.mdp import TabularMDP

__all__ = ["DEFAULT_MAX_TRAJECTORIES", "TrajectoryForm", "trajectory_form"]

DEFAULT_MAX_TRAJECTORIES = 1_000_000
"""How many partial trajectories :func:`trajectory_form` may hold at once before it refuses."""


class TrajectoryForm(NamedTuple):
    r"""The lecture's sums over trajectories, each over the trajectories enumerated.

    Attributes
    ----------
    objective : float
        Σ_τ g(τ) p_θ(τ), g(τ) = Σₜ γᵗ Rₜ₊₁.
    gradient : ndarray, shape (n_params,)
        Σ_τ g(τ) p_θ(τ) Σₜ ∇log π_θ(Aₜ|Sₜ).
    gamma_dropped_direction : ndarray, shape (n_params,)
        Σ_τ p_θ(τ) Σₜ Gₜ(τ) ∇log π_θ(Aₜ|Sₜ), Gₜ = Σ_{t′≥t} γ^{t′−t} R_{t′+1}: REINFORCE's
        direction without the factor γᵗ.
    unenumerated_mass : float
        The probability of the trajectories still running at the last length enumerated, which
        none of the sums includes (below ``tolerance``).
    n_trajectories : int
        How many complete trajectories the sums run over.
    """

    objective: float
    gradient: np.ndarray
    gamma_dropped_direction: np.ndarray
    unenumerated_mass: float
    n_trajectories: int


def trajectory_form(mdp, policy, theta, tolerance: float = 1e-12,
                    max_trajectories: int = DEFAULT_MAX_TRAJECTORIES) -> TrajectoryForm:
    r"""𝒥, ∇𝒥 and the γᵗ-dropped direction as sums over every trajectory τ, enumerated.

    Parameters
    ----------
    mdp : TabularMDP
        A small episodic MDP: the enumeration grows like the number of (action, next state)
        outcomes to the power of the episode length.
    policy : TabularPolicy
        E.g. ``SoftmaxLinearPolicy(features)`` on the MDP's states and actions.
    theta : array_like, shape (n_params,)
    tolerance : float in (0, 1), default 1e-12
        Stop once the trajectories still running have total probability below this.
    max_trajectories : int, default :data:`DEFAULT_MAX_TRAJECTORIES`
        The most partial trajectories held at once.

    Returns
    -------
    TrajectoryForm
        ``objective``, ``gradient``, ``gamma_dropped_direction``, ``unenumerated_mass``,
        ``n_trajectories``.

    Raises
    ------
    ValueError
        For bad arguments, or when the running trajectories would outnumber
        ``max_trajectories`` before their probability falls below ``tolerance`` (an MDP whose
        episodes last long, or never end): the message says at which length and with how much
        probability left.

    Notes
    -----
    Lecture, "Log-Derivative Trick" and "Finding Loss: Estimating Form"; blog, the
    trajectory-based gradient. A trajectory τ = (S₀, A₀, R₁, S₁, …, S_T) with S_T terminal has

        p_θ(τ) = p(S₀) ∏ₜ π_θ(Aₜ|Sₜ) p(Sₜ₊₁|Sₜ, Aₜ),   ∇log p_θ(τ) = Σₜ ∇log π_θ(Aₜ|Sₜ),

    and the sums run over all τ of positive probability, length by length. Gₜ is accumulated
    forwards: Σₜ Gₜ zₜ = Σ_{t′} R_{t′+1} h_{t′} with h_{t′} = γ h_{t′−1} + z_{t′}, zₜ the score of
    step t. Against the exact values of :mod:`pgref.exact` the sums differ by what the
    ``unenumerated_mass`` trajectories would add.
    """
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a pgref.TabularMDP; got {type(mdp).__name__}")
    pi = mdp.policy_table(policy, theta)
    theta = checks.parameter_vector(theta, policy.n_params)
    tolerance = checks.finite_scalar("tolerance", tolerance)
    if not 0.0 < tolerance < 1.0:
        raise ValueError(f"tolerance must lie in (0, 1), e.g. 1e-12; got {tolerance!r}")
    max_trajectories = checks.positive_int("max_trajectories", max_trajectories)
    n_states, n_actions, n_params = mdp.n_states, mdp.n_actions, policy.n_params
    scores = policy.grad_log_prob_table(theta)  # ∇log π(a|s), (S, A, P)
    outcome = pi[:, :, None] * mdp.transitions  # π(a|s) p(s′|s, a), (S, A, S)
    rewards = np.broadcast_to(mdp.rewards.reshape(n_states, n_actions, -1), outcome.shape)
    gamma = mdp.gamma

    # The trajectories still running after t steps: Sₜ, p, Σ γᵗR, Σ z, h and Σ R h of each.
    state = np.flatnonzero(mdp.initial > 0)
    probability = mdp.initial[state]
    discounted_return = np.zeros(state.size)
    score_sum, running, dropped = (np.zeros((state.size, n_params)) for _ in range(3))
    objective, gradient, dropped_direction = 0.0, np.zeros(n_params), np.zeros(n_params)
    n_complete, length, discount = 0, 0, 1.0
    while probability.sum() >= tolerance:
        parent, action, next_state = np.nonzero(outcome[state] > 0)
        if parent.size > max_trajectories:
            raise ValueError(
                f"max_trajectories = {max_trajectories} is too small to enumerate this MDP: at "
                f"length {length + 1} there are {parent.size} running trajectories, and "
                f"probability {probability.sum():.3g} has not ended yet (tolerance "
                f"{tolerance:g}). The trajectory form is for small MDPs whose episodes end "
                "quickly; raise max_trajectories or tolerance, or use exact.policy_gradient"
            )
        s = state[parent]
        reward = rewards[s, action, next_state]
        probability = probability[parent] * outcome[s, action, next_state]
        discounted_return = discounted_return[parent] + discount * reward
        score_sum = score_sum[parent] + scores[s, action]
        running = gamma * running[parent] + scores[s, action]  # h = γ h + z
        dropped = dropped[parent] + reward[:, None] * running  # Σ R h
        ended = mdp.terminal[next_state]
        weight = probability[ended]
        objective += float(weight @ discounted_return[ended])
        gradient += (weight * discounted_return[ended]) @ score_sum[ended]
        dropped_direction += weight @ dropped[ended]
        n_complete += int(ended.sum())
        keep = ~ended
        state, probability, discounted_return = (next_state[keep], probability[keep],
                                                 discounted_return[keep])
        score_sum, running, dropped = score_sum[keep], running[keep], dropped[keep]
        length += 1
        discount *= gamma
    return TrajectoryForm(objective, gradient, dropped_direction, float(probability.sum()),
                          n_complete)
