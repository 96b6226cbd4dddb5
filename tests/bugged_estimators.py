r"""A catalogue of plausible bugs in REINFORCE, as real estimators: the positive controls of
tests/test_estimators_statistics.py.

Each entry computes ∇̂J from an :class:`~pgref.rollout.Episodes` batch the way a program with
that bug would, from the flat steps (``states``, ``actions``, ``rewards``, ``episode_index``,
``time_index``), and returns a :class:`RatioEstimate`: per-episode terms xₖ and weights wₖ with
the estimate Σₖ xₖ / Σₖ wₖ (wₖ = 1 for the lecture's average over episodes; wₖ = T_k for the
average over time steps). The statistical tests must reject every one of them.

    correct                   Σₜ γᵗ Gₜ ∇ log π(Aₜ|Sₜ)                   (pgref.estimators.reinforce)
    scaled_by_1_1             1.1 × the correct term
    gamma_t_dropped           Σₜ Gₜ ∇ log π                            (wrong when γ < 1)
    next_return               Σₜ γᵗ Gₜ₊₁ ∇ log π                       (off by one step)
    action_baseline           Σₜ γᵗ (Gₜ − q_π(Sₜ, Aₜ)) ∇ log π         (b depends on the action)
    averaged_over_steps       Σₖ xₖ / Σₖ T_k                           (over steps, not episodes)
    score_sign_flipped        the score of action 0 negated
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pgref.rollout import Episodes


class RatioEstimate(NamedTuple):
    """The estimate Σₖ ``terms[k]`` / Σₖ ``weights[k]``; terms (K, n), weights (K,)."""

    terms: np.ndarray
    weights: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.terms.sum(axis=0) / self.weights.sum()


def following_step(episodes: Episodes, values: np.ndarray) -> np.ndarray:
    """The value of step t + 1 of the same episode at every flat step t; 0 after the last."""
    shifted = np.append(values[1:], 0.0)
    shifted[np.asarray(episodes.offsets[1:]) - 1] = 0.0  # each episode's last step
    return shifted


def reward_to_go_steps(episodes: Episodes, gamma: float) -> np.ndarray:
    """Gₜ = Rₜ₊₁ + γ Gₜ₊₁ for every flat step, by the backward recursion over t."""
    G = np.zeros(episodes.n_transitions)
    time_index = episodes.time_index
    for t in range(int(time_index.max()), -1, -1):
        rows = time_index == t
        G[rows] = episodes.rewards[rows] + gamma * following_step(episodes, G)[rows]
    return G


def _per_episode(episodes: Episodes, step_terms: np.ndarray) -> np.ndarray:
    """Σₜ over the steps of each episode: (N, n) → (K, n)."""
    return np.add.reduceat(step_terms, np.asarray(episodes.offsets[:-1]), axis=0)


def _scores(policy, theta, episodes: Episodes) -> np.ndarray:
    """∇ log π_θ(Aₜ|Sₜ) of every step, (N, n_params), from the tabular score table."""
    return policy.grad_log_prob_table(theta)[episodes.states, episodes.actions]


def _reinforce(policy, theta, episodes, gamma, *, discount=True, returns=None, scores=None,
               baseline=0.0, scale=1.0, over_steps=False) -> RatioEstimate:
    G = reward_to_go_steps(episodes, gamma) if returns is None else returns
    scores = _scores(policy, theta, episodes) if scores is None else scores
    weight = G - baseline
    if discount:
        weight = gamma ** episodes.time_index * weight
    terms = scale * _per_episode(episodes, weight[:, None] * scores)
    weights = episodes.lengths.astype(float) if over_steps else np.ones(episodes.n_episodes)
    return RatioEstimate(terms, weights)


def correct(policy, theta, episodes, gamma, q=None) -> RatioEstimate:
    """REINFORCE as the lecture writes it (the tests check it equals pgref's)."""
    return _reinforce(policy, theta, episodes, gamma)


def scaled_by_1_1(policy, theta, episodes, gamma, q=None) -> RatioEstimate:
    """A stray factor: 1.1 × ∇̂J."""
    return _reinforce(policy, theta, episodes, gamma, scale=1.1)


def gamma_t_dropped(policy, theta, episodes, gamma, q=None) -> RatioEstimate:
    """Σₜ Gₜ ∇ log π: the γᵗ in front forgotten (the lecture's pseudocode has γ = 1)."""
    return _reinforce(policy, theta, episodes, gamma, discount=False)


def next_return(policy, theta, episodes, gamma, q=None) -> RatioEstimate:
    """Gₜ₊₁ in place of Gₜ: the reward Rₜ₊₁ of the action itself left out."""
    G = reward_to_go_steps(episodes, gamma)
    return _reinforce(policy, theta, episodes, gamma, returns=following_step(episodes, G))


def action_baseline(policy, theta, episodes, gamma, q=None) -> RatioEstimate:
    """b(Sₜ, Aₜ) = q_π(Sₜ, Aₜ) subtracted: a baseline that depends on the action."""
    return _reinforce(policy, theta, episodes, gamma,
                      baseline=q[episodes.states, episodes.actions])


def averaged_over_steps(policy, theta, episodes, gamma, q=None) -> RatioEstimate:
    """Σₖ xₖ / Σₖ T_k: divided by the number of time steps instead of episodes."""
    return _reinforce(policy, theta, episodes, gamma, over_steps=True)


def score_sign_flipped(policy, theta, episodes, gamma, q=None) -> RatioEstimate:
    """−∇ log π(0|s) for action 0: a sign slip in one branch of the score."""
    scores = _scores(policy, theta, episodes)
    scores = np.where((episodes.actions == 0)[:, None], -scores, scores)
    return _reinforce(policy, theta, episodes, gamma, scores=scores)


BUGS = {
    "scaled by 1.1": scaled_by_1_1,
    "γᵗ dropped": gamma_t_dropped,
    "Gₜ₊₁ for Gₜ": next_return,
    "baseline b(s, a)": action_baseline,
    "averaged over time steps": averaged_over_steps,
    "score sign flipped for action 0": score_sign_flipped,
}
