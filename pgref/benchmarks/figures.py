r"""The figures command's CPU time against its goal, beside a loop that shows the host's speed.

``python -m pgref bench figures`` (or ``pgref.benchmarks.run("figures")``) runs
``python -m pgref figures`` into a temporary directory as a child process and reports its CPU
time, user + system, as ``/usr/bin/time`` counts it: the interpreter's start, the imports, and
every figure's data, drawing and saving. Goal: ≤ :data:`GOAL_SECONDS` of CPU for the whole set.

CPU time on a shared virtual machine drifts with the host (a fixed loop's CPU time has varied by a
factor of two within a few hours here), so the same run times the reference of
``bench loops`` (:func:`pgref.benchmarks.loops.reference_seconds_per_step`, the book's boxed
REINFORCE with NumPy at every step) before and after the figures, and gives the figures' time
also scaled to the speed the goal was stated at: by
:data:`~pgref.benchmarks.loops.REFERENCE_AT_GOAL` over the faster of the two reference times
(the host at its faster moment: the scaled time errs high rather than low).
With ``quick``, one figure in quick mode: a smoke run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from pgref.benchmarks.loops import (
    REFERENCE_AT_GOAL,
    reference_seconds_per_step,
    seconds_at_goal_speed,
)

__all__ = ["GOAL_SECONDS", "run"]

GOAL_SECONDS = 30.0
"""CPU seconds allowed for ``python -m pgref figures`` (all eleven figures)."""


def _child_cpu_seconds(command: list[str]) -> float:
    """User + system CPU seconds of one child process running ``command`` (it must succeed)."""
    before = os.times()
    finished = subprocess.run(command, capture_output=True, text=True)
    after = os.times()
    if finished.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{finished.stderr}")
    return ((after.children_user - before.children_user)
            + (after.children_system - before.children_system))


def run(quick: bool = False) -> list[str]:
    """Time the figures command once (``quick``: one figure in quick mode) between two timings
    of the reference; return the table's lines."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "pgref", "figures", "--out", out]
        if quick:
            command += ["--quick", "--only", "policies"]
        n_episodes = 10 if quick else 100
        reference_before = reference_seconds_per_step(n_episodes)
        figures_seconds = _child_cpu_seconds(command)
        reference_after = reference_seconds_per_step(n_episodes)
    what = "policies.png in quick mode (a smoke run)" if quick else "all figures"
    lines = [
        f"figures: `python -m pgref figures`, {what}; CPU seconds (user + system of the child "
        "process), beside the reference of `bench loops` (the book's boxed REINFORCE, NumPy at "
        "every step) timed before and after",
        "",
        "| what | CPU |",
        "|---|---:|",
        f"| reference, before | {reference_before * 1e6:.1f} µs per step |",
        f"| figures command | {figures_seconds:.1f} s |",
        f"| reference, after | {reference_after * 1e6:.1f} µs per step |",
    ]
    if not quick:
        faster = min(reference_before, reference_after)
        at_goal = seconds_at_goal_speed(figures_seconds, faster)
        verdict = "met" if figures_seconds <= GOAL_SECONDS else "not met"
        verdict_at_goal = "met" if at_goal <= GOAL_SECONDS else "not met"
        lines += ["", f"goal: ≤ {GOAL_SECONDS:g} s of CPU for all figures: {verdict} in this run "
                      f"({figures_seconds:.1f} s); at the speed the goal was stated at (the "
                      f"reference at {REFERENCE_AT_GOAL * 1e6:g} µs per step, here "
                      f"{faster * 1e6:.1f}–{max(reference_before, reference_after) * 1e6:.1f}): "
                      f"{at_goal:.1f} s, {verdict_at_goal}"]
    return lines
