r"""Benchmark: the vectorised episode sampler against the plain per-step ``rng.choice`` loop.

On a 20-state (one terminal), 4-action random MDP under the uniform policy, it measures in one
run the transitions per second of :func:`pgref.rollout.sample_episodes` at 10⁴ and 10⁵ episodes
and of :func:`pgref.rollout.sample_episodes_loop` (on fewer episodes: it is slow), their ratio
(goal: ≥ 100×), and memory per transition: the bytes of the padded ``Episodes`` arrays and the
peak memory traced while sampling. Run it with ``python -m pgref bench sampling``.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from pgref import envs
from pgref.policies import SoftmaxLinearPolicy
from pgref.rollout import sample_episodes, sample_episodes_loop

__all__ = ["run"]

SPEEDUP_GOAL = 100.0
"""The vectorised sampler should produce transitions at least this many times faster."""


def _problem():
    """The benchmark MDP (fixed seed), its softmax policy and θ = 0 (uniform actions)."""
    generated = envs.random_mdp(np.random.default_rng(0), 20, 4, gamma=1.0, n_terminal=1,
                                termination_prob=0.1)
    policy = SoftmaxLinearPolicy(generated.features)
    return generated.mdp, policy, np.zeros(policy.n_params)


def _best_rate(sampler, mdp, policy, theta, n_episodes: int, repeats: int):
    """The best transitions/s over ``repeats`` timed runs (after one warm-up), and a batch."""
    sampler(mdp, policy, theta, n_episodes, np.random.default_rng(0))  # warm-up
    best, episodes = 0.0, None
    for repeat in range(repeats):
        rng = np.random.default_rng(repeat + 1)
        start = time.perf_counter()
        episodes = sampler(mdp, policy, theta, n_episodes, rng)
        elapsed = time.perf_counter() - start
        best = max(best, episodes.n_transitions / elapsed)
    return best, episodes


def _memory(mdp, policy, theta, n_episodes: int):
    """Peak memory traced while sampling (NumPy reports its buffers to tracemalloc); the batch."""
    tracemalloc.start()
    try:
        episodes = sample_episodes(mdp, policy, theta, n_episodes, np.random.default_rng(0))
        return tracemalloc.get_traced_memory()[1], episodes
    finally:
        tracemalloc.stop()


def run(quick: bool = False) -> list[str]:
    r"""Measure and return the lines of the sampling table.

    Parameters
    ----------
    quick : bool
        Small sizes (500 and 2000 episodes, 100 for the loop, one run each), for a smoke test.

    Returns
    -------
    lines : list of str
        A Markdown table: sampler, episodes K, transitions Σₖ T_k, transitions/s, speed-up over
        the loop, the longest episode T, the padding fraction 1 − Σₖ T_k / (K·T), and bytes per
        transition of the padded arrays and at the traced peak; then the goal and memory lines.
    """
    mdp, policy, theta = _problem()
    sizes = (500, 2_000) if quick else (10_000, 100_000)
    loop_episodes = 100 if quick else 2_000
    repeats = 1 if quick else 3

    loop_rate, loop_batch = _best_rate(sample_episodes_loop, mdp, policy, theta, loop_episodes,
                                       repeats=min(repeats, 2))
    mean_length = loop_batch.n_transitions / loop_batch.n_episodes
    lines = [
        f"sampling: {mdp.n_states}-state (1 terminal), {mdp.n_actions}-action random MDP, "
        f"uniform policy, mean episode length ≈ {mean_length:.1f} steps; rates are the best of "
        f"{repeats} runs (loop: {min(repeats, 2)}), memory from one more traced run",
        "",
        "| sampler | episodes K | transitions Σ T_k | transitions/s | × loop | longest T | "
        "padding | bytes/transition (arrays) | bytes/transition (peak) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| per-step loop, rng.choice | {loop_episodes:,} | {loop_batch.n_transitions:,} | "
        f"{loop_rate:,.0f} | 1 | {loop_batch.horizon} | – | – | – |",
    ]
    ratios = []
    for n_episodes in sizes:
        rate, _ = _best_rate(sample_episodes, mdp, policy, theta, n_episodes, repeats)
        peak, batch = _memory(mdp, policy, theta, n_episodes)
        cells = batch.n_episodes * batch.horizon
        ratios.append(rate / loop_rate)
        lines.append(
            f"| vectorised | {n_episodes:,} | {batch.n_transitions:,} | {rate:,.0f} | "
            f"{rate / loop_rate:,.0f} | {batch.horizon} | {1 - batch.n_transitions / cells:.0%} | "
            f"{batch.nbytes / batch.n_transitions:.0f} | {peak / batch.n_transitions:.0f} |"
        )
    met = "met" if min(ratios) >= SPEEDUP_GOAL else "NOT met"
    lines += [
        "",
        f"goal: vectorised ≥ {SPEEDUP_GOAL:.0f}× the loop: {met} (smallest ratio "
        f"{min(ratios):,.0f}×).",
        "memory: the padded (K, T) arrays take 16 bytes per cell (int32 state and action, "
        "float64 reward), so they grow with K·T, not with Σ T_k: bytes per transition are "
        "16·K·T/Σ T_k = 16 / (1 − padding), and T, the longest episode, grows slowly with K "
        "(like log K for geometric lengths). While sampling, the per-step records take "
        "O(Σ T_k).",
    ]
    return lines
