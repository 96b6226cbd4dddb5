r"""Benchmark: the vectorised episode sampler against the plain per-step ``rng.choice`` loop.

On a 20-state (one terminal), 4-action random MDP under the uniform policy, it measures in one
run, in CPU time, the transitions per second of :func:`pgref.rollout.sample_episodes` at 10⁴, 10⁵
and 10⁶ episodes and of :func:`pgref.rollout.sample_episodes_loop` (on fewer episodes: it is
slow), their ratio, and memory per transition: the bytes of the flat ``Episodes`` arrays and the
peak memory traced while sampling. Goals: ≥ 15 M transitions/s at K = 10⁵ and ≥ 12 M/s at 10⁶,
≥ 500× the loop at 10⁵, a peak of ≤ 48 bytes per transition at 10⁶. Run it with
``python -m pgref bench sampling``.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from pgref import envs
from pgref.policies import SoftmaxLinearPolicy
from pgref.rollout import sample_episodes, sample_episodes_loop

__all__ = ["run"]

SPEEDUP_GOAL = 500.0
"""At K = 10⁵ the vectorised sampler should produce transitions this many times faster."""

RATE_GOALS = {100_000: 15e6, 1_000_000: 12e6}
"""Transitions per second of CPU time the vectorised sampler should reach at these K."""

PEAK_BYTES_GOAL = 48.0
"""Peak memory traced while sampling K = 10⁶ episodes, per transition, at most."""


def _problem():
    """The benchmark MDP (fixed seed), its softmax policy and θ = 0 (uniform actions)."""
    generated = envs.random_mdp(np.random.default_rng(0), 20, 4, gamma=1.0, n_terminal=1,
                                termination_prob=0.1)
    policy = SoftmaxLinearPolicy(generated.features)
    return generated.mdp, policy, np.zeros(policy.n_params)


def _best_rate(sampler, mdp, policy, theta, n_episodes: int, repeats: int):
    """The best transitions per CPU second over ``repeats`` runs (after a warm-up), and a batch."""
    sampler(mdp, policy, theta, min(n_episodes, 1000), np.random.default_rng(0))  # warm-up
    best, episodes = 0.0, None
    for repeat in range(repeats):
        rng = np.random.default_rng(repeat + 1)
        start = time.process_time()
        episodes = sampler(mdp, policy, theta, n_episodes, rng)
        elapsed = time.process_time() - start
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
        A Markdown table: sampler, episodes K, transitions Σₖ T_k, transitions per CPU second,
        speed-up over the loop, the longest episode T, bytes per transition of the stored
        arrays and at the traced peak; then one line per goal.
    """
    mdp, policy, theta = _problem()
    sizes = (500, 2_000) if quick else (10_000, 100_000, 1_000_000)
    loop_episodes = 100 if quick else 2_000
    repeats = 1 if quick else 3

    loop_rate, loop_batch = _best_rate(sample_episodes_loop, mdp, policy, theta, loop_episodes,
                                       repeats=min(repeats, 2))
    mean_length = loop_batch.n_transitions / loop_batch.n_episodes
    lines = [
        f"sampling: {mdp.n_states}-state (1 terminal), {mdp.n_actions}-action random MDP, "
        f"uniform policy, mean episode length ≈ {mean_length:.1f} steps; rates in transitions "
        f"per CPU second, the best of {repeats} runs (loop: {min(repeats, 2)}), memory from one "
        "more traced run",
        "",
        "| sampler | episodes K | transitions Σ T_k | transitions/s | × loop | longest T | "
        "bytes/transition (arrays) | bytes/transition (peak) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| per-step loop, rng.choice | {loop_episodes:,} | {loop_batch.n_transitions:,} | "
        f"{loop_rate:,.0f} | 1 | {loop_batch.horizon} | – | – |",
    ]
    rates, peaks = {}, {}
    for n_episodes in sizes:
        rate, _ = _best_rate(sample_episodes, mdp, policy, theta, n_episodes,
                             repeats if n_episodes < 1_000_000 else 2)
        peak, batch = _memory(mdp, policy, theta, n_episodes)
        rates[n_episodes], peaks[n_episodes] = rate, peak / batch.n_transitions
        lines.append(
            f"| vectorised | {n_episodes:,} | {batch.n_transitions:,} | {rate:,.0f} | "
            f"{rate / loop_rate:,.0f} | {batch.horizon} | "
            f"{batch.nbytes / batch.n_transitions:.1f} | {peaks[n_episodes]:.1f} |"
        )

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    largest = max(sizes)
    ratio = rates[sizes[1]] / loop_rate
    lines += ["", f"goal: vectorised ≥ {SPEEDUP_GOAL:.0f}× the loop at K = {sizes[1]:,}: "
                  f"{verdict(ratio >= SPEEDUP_GOAL)} ({ratio:,.0f}×)."]
    for n_episodes, goal in RATE_GOALS.items():
        if n_episodes in rates:
            lines.append(f"goal: ≥ {goal / 1e6:.0f} M transitions/s at K = {n_episodes:,}: "
                         f"{verdict(rates[n_episodes] >= goal)} "
                         f"({rates[n_episodes] / 1e6:.1f} M/s).")
    lines.append(
        f"goal: peak ≤ {PEAK_BYTES_GOAL:.0f} bytes per transition at K = {largest:,}: "
        f"{verdict(peaks[largest] <= PEAK_BYTES_GOAL)} ({peaks[largest]:.1f}). The stored "
        "arrays take 16 bytes per transition (int32 state and action, float64 reward), linear "
        "in Σ T_k; while sampling, each step's records (episode index, outcome) add 12.")
    return lines
