r"""Sampling K episodes τ₁ … τ_K under π_θ into one flat batch (lecture: "Training Policy
Network: SGD": "we sample K trajectories from the environment using policy π_θ").

Three samplers fill the same :class:`Episodes` batch:

- :func:`sample_episodes` steps all live episodes of a :class:`~pgref.mdp.TabularMDP` at once,
  one NumPy step per time step, drawing each (action, next state) pair by inverting a
  cumulative distribution table against one uniform (:mod:`pgref.rollout.inverse_cdf`);
- :func:`sample_episodes_loop` is the plain per-step loop of the lecture's pseudocode (one
  ``rng.choice`` per action and per next state), kept as the readable reference that the tests
  compare the vectorised sampler with;
- :func:`sample_env_episodes` runs any Gymnasium-style environment (``reset(seed=)`` →
  (observation, info), ``step(a)`` → (observation, reward, terminated, truncated, info)).

Time indexing follows the lecture, S₀, A₀ → R₁, S₁, …: in ``episodes[k]``, ``rewards[t]`` is
R_{t+1}, the reward of the step taken in ``states[t]``. An episode cut at ``max_steps`` before
reaching a terminal state is marked ``truncated``, never passed off as finished.
"""

from pgref.rollout.episodes import INDEX_PAD, REWARD_PAD, Episode, Episodes, PaddedEpisodes
from pgref.rollout.inverse_cdf import InverseCdfTable
from pgref.rollout.samplers import (
    DEFAULT_MAX_STEPS,
    JOINT_TABLE_LIMIT,
    checked_policy_table,
    sample_env_episodes,
    sample_episodes,
    sample_episodes_loop,
)

__all__ = [
    "DEFAULT_MAX_STEPS",
    "INDEX_PAD",
    "JOINT_TABLE_LIMIT",
    "REWARD_PAD",
    "Episode",
    "Episodes",
    "InverseCdfTable",
    "PaddedEpisodes",
    "checked_policy_table",
    "sample_env_episodes",
    "sample_episodes",
    "sample_episodes_loop",
]
