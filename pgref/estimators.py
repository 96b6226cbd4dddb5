r"""Monte-Carlo estimates of ∇𝒥(θ) from K sampled episodes, and of the visit counts n(s), μ(s).

The three estimators are one sum with three choices of weight w_{k,t} on the score
∇ log π_θ(Aₜ[k]|Sₜ[k]) (lecture: "Training Policy Network: SGD", "REINFORCE"; blog: "causality
trick"):

    ∇̂𝒥 = 1/K Σₖ Σₜ w_{k,t} ∇ log π_θ(Aₜ[k]|Sₜ[k])

    pg_v1                    w_{k,t} = G(τ_k)                   the whole return, every step
    reinforce                w_{k,t} = γᵗ Gₜ[k]                  reward-to-go (causality)
    reinforce with baseline  w_{k,t} = γᵗ (Gₜ[k] − b(Sₜ[k]))     minus a baseline

All three are unbiased for ∇𝒥(θ) on episodes that end in a terminal state: the steps before t
do not depend on Aₜ (causality), and E[b(Sₜ) ∇ log π_θ(Aₜ|Sₜ) | Sₜ] = b(Sₜ) Σ_a ∇π_θ(a|Sₜ) = 0.
Each returns the per-episode terms too, so a standard error is one call away.

Averaging is over episodes, 1/K Σₖ, as the lecture writes: the episodes are the i.i.d. samples.
Dividing by the number of time steps Σₖ T_k instead (what a flattened batch of steps invites)
estimates ∇𝒥 / E[T] rather than ∇𝒥 (with γ = 1, the lecture's normalised E_{S∼d_π}[q ∇ log π]
of :func:`pgref.exact.normalised_policy_gradient`), weights long episodes more, and is not
unbiased for finite K.
"""

from __future__ import annotations

import statistics
from typing import NamedTuple

import numpy as np

from pgref import checks
from pgref.policies import TabularPolicy
from pgref.rollout import Episodes

__all__ = [
    "ConfidenceInterval",
    "GradientEstimate",
    "MonteCarloEstimate",
    "pg_v1",
    "reinforce",
    "returns",
    "reward_to_go",
    "visit_counts",
    "visit_frequencies",
]


class ConfidenceInterval(NamedTuple):
    """Component-wise lower and upper bounds, each of the estimate's shape."""

    lower: np.ndarray
    upper: np.ndarray


class MonteCarloEstimate(NamedTuple):
    r"""A Monte-Carlo mean over K i.i.d. episodes, with the K terms it averages.

    Attributes
    ----------
    mean : ndarray, shape (n,)
        1/K Σₖ ``per_episode[k]``.
    per_episode : ndarray, shape (K, n)
        The term contributed by each episode.
    """

    mean: np.ndarray
    per_episode: np.ndarray

    @property
    def n_episodes(self) -> int:
        """K, the number of episodes averaged."""
        return self.per_episode.shape[0]

    def standard_error(self) -> np.ndarray:
        r"""The standard error of each component of the mean, shape (n,).

        Notes
        -----
        SE = s / √K with s² = 1/(K − 1) Σₖ (xₖ − x̄)², the sample variance of the per-episode
        terms (the episodes are i.i.d., so Var(x̄) = Var(x)/K).
        """
        if self.n_episodes < 2:
            raise ValueError(
                f"a standard error needs at least 2 episodes (K ≥ 2); this estimate has K = "
                f"{self.n_episodes}"
            )
        return self.per_episode.std(axis=0, ddof=1) / np.sqrt(self.n_episodes)

    def confidence_interval(self, level: float = 0.95) -> ConfidenceInterval:
        r"""The normal-approximation interval mean ± z·SE for each component.

        Parameters
        ----------
        level : float in (0, 1)
            The nominal coverage, e.g. 0.95 for z = 1.96.

        Returns
        -------
        ConfidenceInterval
            ``lower`` and ``upper``, each of shape (n,).

        Notes
        -----
        z = Φ⁻¹((1 + level)/2) with Φ the standard normal CDF. The interval is a normal
        approximation: by the central limit theorem its coverage tends to ``level`` only as
        K → ∞. Do not trust it when K is small or when a component depends on a rarely taken
        (s, a). Exact coverages of nominal 95 % intervals for REINFORCE on a two-armed bandit: a
        frequent arm (probability 0.3) is covered 0.950 at K = 1000; a rare arm (probability
        0.008) 0.077 at K = 10 (usually never pulled), 0.893 at K = 1000 (8 pulls expected),
        between 0.920 and 0.954 for K from 2000 to 3999 — coverage oscillates with K because the
        number of pulls is an integer — and between 0.939 and 0.954 for K from 8000 to 16000
        (64 or more pulls expected). A standard error of 0 (all K terms equal, e.g. a rare
        action never taken) gives a zero-width interval that misses the true value: it means
        no information, not certainty. On tabular problems
        √(diag :func:`pgref.exact.estimator_covariance`(…) / K) is the exact standard error.
        """
        level = checks.finite_scalar("level", level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie in (0, 1), e.g. 0.95; got {level!r}")
        z = statistics.NormalDist().inv_cdf(0.5 + level / 2.0)
        half_width = z * self.standard_error()
        return ConfidenceInterval(self.mean - half_width, self.mean + half_width)


class GradientEstimate(MonteCarloEstimate):
    r"""A Monte-Carlo estimate of a gradient: ``mean`` (n_params,), ``per_episode`` (K, n_params).

    ``estimate.standard_error()`` and ``estimate.confidence_interval(0.95)`` give the error bars
    (see :class:`MonteCarloEstimate`).
    """

    __slots__ = ()


# -- returns ------------------------------------------------------------------------------------


def _checked_gamma(gamma) -> float:
    gamma = checks.finite_scalar("gamma", gamma)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1] (a discount factor); got {gamma!r}")
    return gamma


def _flat_rewards(rewards) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None]:
    """Rewards (N,) and lengths (K,) of an Episodes batch or of a (K, T) array padded with zeros.

    The third value is the (K, T) shape to give the reward-to-go back in, or None for a batch.
    """
    if isinstance(rewards, Episodes):
        return rewards.rewards, rewards.lengths, None
    array = checks.finite_array("rewards", rewards, ndim=2)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"rewards must hold at least one episode of at least one step "
                         f"(K, T ≥ 1); got shape {array.shape}")
    return array.reshape(-1), np.full(array.shape[0], array.shape[1]), array.shape


def returns(rewards, gamma: float) -> np.ndarray:
    r"""The discounted return G(τ) of each episode.

    Parameters
    ----------
    rewards : Episodes, or array_like of shape (K, T)
        A batch, or rewards with ``rewards[k, t]`` = R_{t+1} and 0 after an episode ends (the
        absorbing terminal state pays nothing), as in :meth:`~pgref.rollout.Episodes.padded`.
    gamma : float in [0, 1]

    Returns
    -------
    G : ndarray, shape (K,)

    Notes
    -----
    Lecture, "Training Policy Network: SGD" (there with γ = 1):

        G(τ) = Σₜ γᵗ Rₜ₊₁ = R₁ + γ R₂ + γ² R₃ + …

    It equals the reward-to-go G₀ of each episode (:func:`reward_to_go`).
    """
    gamma = _checked_gamma(gamma)
    flat, lengths, _ = _flat_rewards(rewards)
    starts = np.concatenate(([0], np.cumsum(lengths[:-1])))
    if gamma != 1.0:  # γᵗ = 1 at γ = 1: nothing to multiply
        time = np.arange(flat.shape[0]) - np.repeat(starts, lengths)  # t of each step
        flat = flat * gamma**time  # with 0⁰ = 1
    return np.add.reduceat(flat, starts)  # Σₜ γᵗ Rₜ₊₁ per episode


def reward_to_go(rewards, gamma: float) -> np.ndarray:
    r"""The reward-to-go Gₜ of every step of every episode.

    Parameters
    ----------
    rewards : Episodes, or array_like of shape (K, T)
        A batch (its flat ``rewards``), or a zero-padded (K, T) array as in :func:`returns`.
    gamma : float in [0, 1]

    Returns
    -------
    G_t : ndarray, shape (N,) for a batch, (K, T) for an array
        Laid out like the rewards given: row for row with ``episodes.rewards`` for a batch (so
        ``reward_to_go(episodes, γ)[episodes.offsets[k] + t]`` is Gₜ of episode k), or (K, T)
        with 0 after each episode's end for a padded array.

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm"; blog, "causality trick" (the rewards before
    t are dropped):

        Gₜ = Σ_{t′≥t} γ^{t′−t} R_{t′+1} = Rₜ₊₁ + γ Gₜ₊₁,   G_T = 0,

    computed by this backward recursion, all episodes at once. G₀ = G(τ).
    """
    gamma = _checked_gamma(gamma)
    flat, lengths, shape = _flat_rewards(rewards)
    G_t = _reward_to_go_flat(flat, lengths, gamma)
    return G_t if shape is None else G_t.reshape(shape)


def _reward_to_go_flat(rewards: np.ndarray, lengths: np.ndarray, gamma: float) -> np.ndarray:
    """Gₜ = Rₜ₊₁ + γ Gₜ₊₁ backwards in t, over the episodes still running at t (longest first).

    One NumPy step per time step t, over all the episodes running at t. At γ = 1, when the
    episodes are few for their longest length (fewer than :data:`_EPISODES_PER_STEP` steps per
    time step on average), the recursion is instead a running sum from each episode's end:
    ``np.cumsum`` over the episodes laid out reversed in zero-padded rows adds the same numbers
    in the same order (the padding adds zeros first), in a few calls.
    """
    if gamma == 1.0 and rewards.size < _EPISODES_PER_STEP * lengths.max():
        return _undiscounted_reward_to_go(rewards, lengths)
    order = np.argsort(-lengths, kind="stable")  # longest episode first
    first_rows = np.concatenate(([0], np.cumsum(lengths[:-1])))[order]
    # n_running[t]: how many episodes have length > t; they are order[:n_running[t]].
    n_running = lengths.shape[0] - np.searchsorted(np.sort(lengths), np.arange(lengths.max()),
                                                   side="right")
    G_t = np.empty_like(rewards)
    following = np.zeros(lengths.shape[0])  # Gₜ₊₁ of each episode, starting from G_T = 0
    for t in range(int(lengths.max()) - 1, -1, -1):
        live = n_running[t]  # episodes order[:live] are running at t
        rows = first_rows[:live] + t
        following[:live] = rewards[rows] + gamma * following[:live]  # Gₜ = Rₜ₊₁ + γ Gₜ₊₁
        G_t[rows] = following[:live]
    return G_t


def _undiscounted_reward_to_go(rewards: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Gₜ at γ = 1 by running sums over reversed rows, one group of similar lengths at a time."""
    G_t = np.empty_like(rewards)
    first_rows = np.cumsum(lengths) - lengths
    group = np.frexp(lengths)[1]                       # lengths in [2^(g−1), 2^g); 0 for none
    if lengths.size * int(lengths.max(initial=0)) <= 4 * rewards.size + 65536:
        group = np.where(lengths > 0, 1, 0)            # little padding: one table for all
    for g in np.unique(group[lengths > 0]).tolist():
        members = np.flatnonzero(group == g)
        member_lengths = lengths[members]
        episode = np.repeat(np.arange(members.size), member_lengths)
        starts = np.repeat(first_rows[members], member_lengths)
        time = np.arange(episode.size) - np.repeat(np.cumsum(member_lengths) - member_lengths,
                                                   member_lengths)
        from_end = np.repeat(member_lengths - 1, member_lengths) - time   # T − 1 − t
        reversed_rows = np.zeros((members.size, int(member_lengths.max())))
        reversed_rows[episode, from_end] = rewards[starts + time]
        G_t[starts + time] = np.cumsum(reversed_rows, axis=1)[episode, from_end]
    return G_t


_EPISODES_PER_STEP = 16
"""Below this many steps per time step, Gₜ at γ = 1 is summed in rows, not by time step."""

_STEPS_PER_CHUNK = 4096
"""Steps scored per ``grad_log_prob`` call when the score table cannot be looked up."""


# -- the shared sum 1/K Σₖ Σₜ w_{k,t} ∇ log π_θ(Aₜ[k]|Sₜ[k]) -------------------------------------


def _checked_episodes(episodes, allow_truncated: bool) -> Episodes:
    if not isinstance(episodes, Episodes):
        raise ValueError(
            "episodes must be a pgref.rollout.Episodes batch (from sample_episodes or "
            f"Episodes.from_lists); got {type(episodes).__name__}"
        )
    checks.true_or_false("allow_truncated", allow_truncated)
    n_truncated = int(episodes.truncated.sum())
    if n_truncated and not allow_truncated:
        raise ValueError(
            f"episodes holds {n_truncated} truncated episode(s) of {episodes.n_episodes} (cut "
            "before reaching a terminal state): their returns miss every reward after the cut, "
            "so the estimate would be biased. Sample with a larger max_steps, or pass "
            "allow_truncated=True to accept the bias knowingly"
        )
    return episodes


def _is_tabular(policy, episodes: Episodes) -> bool:
    """Whether the score table ∇ log π(a|s), (S, A, n_params), can be looked up."""
    return (isinstance(policy, TabularPolicy) and policy.n_states is not None
            and episodes.states.ndim == 1 and np.issubdtype(episodes.states.dtype, np.integer))


def _average_over_episodes(policy, theta, episodes: Episodes,
                           weights: np.ndarray) -> GradientEstimate:
    r"""per_episode[k] = Σₜ w_{k,t} ∇ log π_θ(Aₜ[k]|Sₜ[k]) over episode k's steps; mean = 1/K Σₖ.

    ``weights`` is flat, one w per step, row for row with the batch. For a tabular policy the
    weights are summed per (k, s, a) first and multiplied once with the score table
    (S, A, n_params): memory K·S·A, not N·n_params. Otherwise the scores come from
    ``grad_log_prob`` in chunks of :data:`_STEPS_PER_CHUNK` steps (memory bounded whatever the
    policy builds per step) and are summed per episode.
    """
    n_episodes = episodes.n_episodes
    if _is_tabular(policy, episodes):
        n_states, n_actions = policy.n_states, policy.n_actions
        states = checks.integer_indices("episodes.states", episodes.states, n_states)
        actions = checks.integer_indices("episodes.actions", episodes.actions, n_actions)
        cell = (episodes.episode_index * n_states + states) * n_actions + actions  # np.intp
        weight_per_cell = np.bincount(cell, weights=weights,
                                      minlength=n_episodes * n_states * n_actions)
        scores = policy.grad_log_prob_table(theta).reshape(n_states * n_actions, -1)
        per_episode = weight_per_cell.reshape(n_episodes, -1) @ scores
    else:
        per_episode = np.zeros((n_episodes, policy.n_params))
        for start in range(0, weights.shape[0], _STEPS_PER_CHUNK):
            chunk = slice(start, start + _STEPS_PER_CHUNK)
            scores = policy.grad_log_prob(theta, episodes.states[chunk], episodes.actions[chunk])
            weighted = weights[chunk, None] * scores  # (n, n_params)
            episode = episodes.episode_index[chunk]
            first_steps = np.flatnonzero(np.diff(episode, prepend=-1))  # each episode's first
            per_episode[episode[first_steps]] += np.add.reduceat(weighted, first_steps, axis=0)
    return GradientEstimate(per_episode.mean(axis=0), per_episode)


def _baseline_values(baseline, policy, episodes: Episodes) -> np.ndarray | float:
    """b(Sₜ) of every step (flat), or the constant b, for a baseline that is not None."""
    if np.ndim(baseline) == 0:
        return checks.finite_scalar("baseline", baseline)
    values = checks.finite_array("baseline", baseline)
    if not (isinstance(policy, TabularPolicy) and policy.n_states is not None
            and episodes.states.ndim == 1 and np.issubdtype(episodes.states.dtype, np.integer)):
        raise ValueError(
            "baseline must be a number (a constant b) for a policy over non-tabular states; an "
            f"array b(s) needs integer states, and got shape {values.shape}"
        )
    if values.shape != (policy.n_states,):
        raise ValueError(
            f"baseline must be a number (a constant b) or an array of shape (S,) = "
            f"({policy.n_states},) holding b(s) for every state, e.g. exact.state_values(mdp, "
            f"pi); got shape {values.shape}"
        )
    return values[checks.integer_indices("episodes.states", episodes.states, policy.n_states)]


def pg_v1(policy, theta, episodes: Episodes, gamma: float, *,
          allow_truncated: bool = False) -> GradientEstimate:
    r"""The lecture's first estimator: the whole return G(τ) times the trajectory's score.

    Parameters
    ----------
    policy : pgref policy
        With ``n_params`` and ``grad_log_prob`` (and ``grad_log_prob_table`` for tabular states).
    theta : array_like, shape (n_params,)
    episodes : Episodes
        K episodes sampled under π_θ, stored flat.
    gamma : float in [0, 1]
        The discount in G(τ) = Σₜ γᵗ Rₜ₊₁.
    allow_truncated : bool, default False
        Accept episodes cut before a terminal state (biased: their returns are incomplete).

    Returns
    -------
    GradientEstimate
        ``mean`` (n_params,), the estimate of ∇𝒥(θ); ``per_episode`` (K, n_params), the term
        G(τ_k) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k]) of each episode.

    Raises
    ------
    ValueError
        For a θ of the wrong length, truncated episodes (unless allowed), γ outside [0, 1].

    Notes
    -----
    Lecture, "Training Policy Network: SGD" (the log-derivative trick, then Monte-Carlo):

        ∇̂𝒥(π_θ) = 1/K Σₖ G(τ_k) Σₜ ∇ log π_θ(Aₜ[k]|Sₜ[k])

    an unbiased estimate of ∇𝒥(θ) = E_τ[G(τ) ∇ log p_π(τ)] for any γ ∈ [0, 1]. The average is
    over the K episodes (the i.i.d. samples), not over their Σₖ T_k time steps.
    """
    theta = checks.parameter_vector(theta, policy.n_params)
    episodes = _checked_episodes(episodes, allow_truncated)
    G = returns(episodes, gamma)  # G(τ_k), (K,)
    weights = G[episodes.episode_index]  # every step of episode k gets G(τ_k)
    return _average_over_episodes(policy, theta, episodes, weights)


def reinforce(policy, theta, episodes: Episodes, gamma: float, baseline=None,
              discount_weighting: bool = True, *,
              allow_truncated: bool = False) -> GradientEstimate:
    r"""REINFORCE: each score weighted by the reward-to-go, optionally minus a baseline b(Sₜ).

    Parameters
    ----------
    policy : pgref policy
        As in :func:`pg_v1`.
    theta : array_like, shape (n_params,)
    episodes : Episodes
        K episodes sampled under π_θ, stored flat.
    gamma : float in [0, 1]
    baseline : None, float, or array_like of shape (S,)
        None: no baseline. A number: a constant b. An array: b(s) for every tabular state, for
        instance the exact v_π from :func:`pgref.exact.state_values`. No baseline changes the
        mean; a good one lowers the variance.
    discount_weighting : bool, default True
        Keep the factor γᵗ (the gradient of 𝒥). ``False`` drops it, as many libraries do: when
        γ < 1 that estimates a DIFFERENT vector, Σ_s n₁(s) Σ_a q_γ(s, a) ∇π_θ(a|s)
        (:func:`pgref.exact.gamma_dropped_direction`), which is not ∇𝒥(θ) and in general not the
        gradient of any objective. With γ = 1 the two coincide.
    allow_truncated : bool, default False
        Accept episodes cut before a terminal state (biased: their returns are incomplete).

    Returns
    -------
    GradientEstimate
        ``mean`` (n_params,) and ``per_episode`` (K, n_params), the term
        Σₜ γᵗ (Gₜ[k] − b(Sₜ[k])) ∇ log π_θ(Aₜ[k]|Sₜ[k]) of each episode.

    Raises
    ------
    ValueError
        For a θ of the wrong length, a baseline of the wrong shape or with NaN/inf, truncated
        episodes (unless allowed), γ outside [0, 1].

    Notes
    -----
    Lecture, "REINFORCE: First Official Algorithm" (Williams 1992); blog, "causality trick":

        ∇̂𝒥(π_θ) = 1/K Σₖ Σₜ γᵗ (Gₜ[k] − b(Sₜ[k])) ∇ log π_θ(Aₜ[k]|Sₜ[k])

    with Gₜ = Σ_{t′≥t} γ^{t′−t} R_{t′+1}. Replacing G(τ) of :func:`pg_v1` by γᵗ Gₜ drops the
    rewards earned before Aₜ, which Aₜ cannot influence; subtracting b(Sₜ) removes a term of
    mean b(Sₜ) Σ_a ∇π_θ(a|Sₜ) = 0. Both keep the mean ∇𝒥(θ) and usually cut the variance. The
    lecture's pseudocode writes Gₜ ∇ log π without γᵗ because it takes γ = 1. The average is over
    the K episodes, not over their Σₖ T_k time steps.
    """
    theta = checks.parameter_vector(theta, policy.n_params)
    episodes = _checked_episodes(episodes, allow_truncated)
    checks.true_or_false("discount_weighting", discount_weighting)
    G_t = reward_to_go(episodes, gamma)  # (N,), row for row with the steps
    weights = G_t if baseline is None else G_t - _baseline_values(baseline, policy, episodes)
    if discount_weighting and gamma != 1.0:  # γᵗ = 1 at γ = 1: nothing to multiply
        weights = gamma**episodes.time_index * weights  # γᵗ (Gₜ − b(Sₜ))
    return _average_over_episodes(policy, theta, episodes, weights)


# -- visit counts -------------------------------------------------------------------------------


def visit_counts(episodes: Episodes, n_states: int, gamma: float) -> MonteCarloEstimate:
    r"""Empirical discounted visit counts: the Monte-Carlo estimate of n(s).

    Parameters
    ----------
    episodes : Episodes
        With integer states.
    n_states : int
        S.
    gamma : float in [0, 1]

    Returns
    -------
    MonteCarloEstimate
        ``mean`` (S,), the estimate of n(s); ``per_episode`` (K, S), Σₜ γᵗ 1[Sₜ[k] = s].

    Notes
    -----
    Blog, "n(s) recursion": n(s) = Σₜ γᵗ Pr(Sₜ = s), so

        n̂(s) = 1/K Σₖ Σₜ γᵗ 1[Sₜ[k] = s]

    is unbiased. Terminal states are never counted (no step is taken in them); truncated
    episodes are counted as far as they went.
    """
    n_states = checks.positive_int("n_states", n_states)
    gamma = _checked_gamma(gamma)
    if not isinstance(episodes, Episodes) or episodes.states.ndim != 1 or not np.issubdtype(
            episodes.states.dtype, np.integer):
        raise ValueError("episodes must be an Episodes batch with integer (tabular) states")
    states = checks.integer_indices("episodes.states", episodes.states, n_states)
    discounts = gamma**episodes.time_index  # γᵗ of each step
    per_episode = np.bincount(episodes.episode_index * n_states + states, weights=discounts,
                              minlength=episodes.n_episodes * n_states)
    per_episode = per_episode.reshape(episodes.n_episodes, n_states)
    return MonteCarloEstimate(per_episode.mean(axis=0), per_episode)


def visit_frequencies(episodes: Episodes, n_states: int, gamma: float) -> np.ndarray:
    r"""Empirical on-policy distribution: the estimate of μ(s) = n(s) / Σₓ n(x).

    Parameters
    ----------
    episodes, n_states, gamma
        As in :func:`visit_counts`.

    Returns
    -------
    mu : ndarray, shape (S,)
        Sums to 1.

    Notes
    -----
    Blog, "n(s) recursion" (the on-policy distribution): μ̂(s) = n̂(s) / Σₓ n̂(x), a ratio of
    two Monte-Carlo means, consistent as K → ∞ (not unbiased for finite K).
    """
    counts = visit_counts(episodes, n_states, gamma).mean
    return counts / counts.sum()
