r"""The figures command's CPU time against its goal, beside a loop that shows the host's speed.

``python -m pgref bench figures`` (or ``pgref.benchmarks.run("figures")``) runs
``python -m pgref figures`` into a temporary directory as a child process and reports its CPU
time, user + system, as ``/usr/bin/time`` counts it: the interpreter's start, the imports, and
every figure's data, drawing and saving. Goal: ≤ :data:`GOAL_SECONDS` of CPU for the whole set.

CPU time on a shared virtual machine drifts with the host (a fixed loop's CPU time has varied by a
factor of two within a few hours here), so the same run times :func:`reference_workload`, a
fixed pure-Python loop, before and after the figures: a figures time measured while that
workload is slow says the host was slow, not that pgref became slower. With ``quick``, one
figure in quick mode: a smoke run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

__all__ = ["GOAL_SECONDS", "reference_workload", "run"]

GOAL_SECONDS = 30.0
"""CPU seconds allowed for ``python -m pgref figures`` (all eleven figures)."""


def reference_workload(iterations: int = 5_000_000) -> float:
    """CPU seconds of a fixed pure-Python loop (a sum of ``iterations`` integers)."""
    start = time.process_time()
    total = 0
    for i in range(iterations):
        total += i
    return time.process_time() - start


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
    of the reference workload; return the table's lines."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "pgref", "figures", "--out", out]
        if quick:
            command += ["--quick", "--only", "policies"]
        reference_before = reference_workload()
        figures_seconds = _child_cpu_seconds(command)
        reference_after = reference_workload()
    what = "policies.png in quick mode (a smoke run)" if quick else "all figures"
    lines = [
        f"figures: `python -m pgref figures`, {what}; CPU seconds (user + system of the child "
        "process), beside a fixed pure-Python loop timed before and after",
        "",
        "| what | CPU s |",
        "|---|---:|",
        f"| reference loop, before | {reference_before:.2f} |",
        f"| figures command | {figures_seconds:.1f} |",
        f"| reference loop, after | {reference_after:.2f} |",
    ]
    if not quick:
        verdict = "met" if figures_seconds <= GOAL_SECONDS else "not met"
        lines += ["", f"goal: ≤ {GOAL_SECONDS:g} s of CPU for all figures: {verdict} in this run "
                      f"({figures_seconds:.1f} s, with the reference loop at "
                      f"{min(reference_before, reference_after):.2f}–"
                      f"{max(reference_before, reference_after):.2f} s)"]
    return lines
