r"""R independent learners of a per-step loop, advanced together: one NumPy call per step.

Run r is exactly the single-run loop with its own generator: it walks its episodes with
:class:`~pgref.algorithms.tabular_walk.TabularWalker` from its own
:class:`~pgref.algorithms.tabular_walk.UniformStream`, and after each walk takes one update per
step,

    θ_r ← θ_r + c_{r,t} ∇ log π_{θ_r}(Aₜ|Sₜ)      (lecture: PG_v1 line 6, REINFORCE line 5)

with the coefficient c of the loop (α G(τ) for PG_v1, α γᵗ (Gₜ − b) for REINFORCE, α γᵗ δₜ with
a learned baseline, whose w_r moves first with the same δₜ = Gₜ − w_rᵀx(Sₜ)). The runs are not
synchronised by episode: each iteration advances every unfinished run by one step of its own
current episode, and the runs that finish an episode record it and walk their next ones
together, so no run waits for another's long episode. Finished and stopped runs take zero steps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pgref.algorithms.run_trace import RunTrace
from pgref.algorithms.tabular_softmax import TabularSoftmax
from pgref.algorithms.tabular_walk import TabularWalker, UniformStream

__all__ = ["StepWeights", "run_in_lockstep"]

StepWeights = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple]
"""(runs, rewards, lengths, times) of walks stored flat, one per run → (the per-step factor c of
the score, the Gₜ a learned baseline needs or None, G(τ) of each walk); with a learned baseline
the factor is α γᵗ and c = α γᵗ δₜ is formed at the step."""


class _Runs:
    """The working set of runs: θ and w (one column per run), the current episode of each
    (one row per run).

    Row r holds its run's episode as pair indices Sₜ·A + Aₜ and step factors in columns
    0 … T − 1 and a zero factor in column T (the columns after it are left over from earlier
    episodes); a run whose step pointer t has reached T (waiting for its next episode) or whose
    length is 0 (finished or stopped, pointer 0, a zero factor in column 0) takes a zero step.
    ``ids[r]`` is the run's number in the call; finished runs are dropped by :meth:`compact`.
    """

    def __init__(self, theta: np.ndarray, w: np.ndarray | None, streams: list):
        n_runs = theta.shape[1]
        self.ids = np.arange(n_runs)
        self.theta, self.w, self.streams = theta, w, streams
        self.pairs = np.zeros((n_runs, 1), dtype=np.intp)
        self.factor = np.zeros((n_runs, 1))
        self.G = None if w is None else np.zeros((n_runs, 1))
        self.length = np.zeros(n_runs, dtype=np.intp)
        self.t = np.zeros(n_runs, dtype=np.intp)
        self.G0 = np.zeros(n_runs)
        self.episode = np.zeros(n_runs, dtype=np.intp)     # k of the current episode
        self.finished = np.zeros(n_runs, dtype=bool)
        self.row_start = np.arange(n_runs)                  # flat index of each row's column 0

    def store(self, rows_of_runs, lengths, times, pairs, factor, G, G0) -> None:
        """Put one new episode (stored flat) into each given row."""
        if lengths.max() >= self.pairs.shape[1]:
            width = max(int(lengths.max()) + 1, 2 * self.pairs.shape[1])
            extra = ((0, 0), (0, width - self.pairs.shape[1]))
            self.pairs, self.factor = np.pad(self.pairs, extra), np.pad(self.factor, extra)
            if self.G is not None:
                self.G = np.pad(self.G, extra)
            self.row_start = np.arange(len(self.length)) * width
        rows = np.repeat(rows_of_runs, lengths)
        self.pairs[rows, times] = pairs
        self.factor[rows, times] = factor
        self.factor[rows_of_runs, lengths] = 0.0
        if self.G is not None:
            self.G[rows, times] = G
        self.length[rows_of_runs], self.t[rows_of_runs], self.G0[rows_of_runs] = lengths, 0, G0

    def finish(self, rows) -> None:
        """Runs that are finished or stopped: zero steps from now on."""
        self.finished[rows] = True
        self.length[rows], self.t[rows] = 0, 0
        self.factor[rows, 0] = 0.0

    def compact(self) -> None:
        """Keep only the unfinished runs' rows."""
        keep = ~self.finished
        self.theta = self.theta[:, keep]
        if self.w is not None:
            self.w = self.w[:, keep]
        for name in ("ids", "pairs", "factor", "G", "length", "t", "G0", "episode", "finished"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value[keep])
        self.streams = [stream for stream, kept in zip(self.streams, keep, strict=False) if kept]
        self.row_start = np.arange(len(self.ids)) * self.pairs.shape[1]


def run_in_lockstep(trace: RunTrace, policy: TabularSoftmax, walker: TabularWalker,
                    theta: np.ndarray, n_episodes: int, rngs: list[np.random.Generator],
                    weights: StepWeights, baseline=None, allow_truncated: bool = False) -> None:
    r"""Advance R = ``len(rngs)`` runs from θ₀ through E episodes each, recording into ``trace``.

    Parameters
    ----------
    trace : RunTrace
        For R runs and E episodes.
    policy : TabularSoftmax
    walker : TabularWalker
    theta : ndarray, shape (n_params,)
        θ₀.
    n_episodes : int
        E.
    rngs : list of numpy.random.Generator
        Run r's generator.
    weights : StepWeights
    baseline : LinearValueBaseline with table features, or None
        A learned v̂(s) = wᵀx(s): each step first takes δ = Gₜ − v̂(Sₜ) and
        w ← w + α_w δ x(Sₜ), then θ ← θ + α γᵗ δ ∇ log π_θ(Aₜ|Sₜ).
    allow_truncated : bool
        Learn from an episode cut at ``max_steps`` instead of stopping its run.

    Notes
    -----
    A run that finishes an episode waits, taking zero steps, until :data:`WAITING_SHARE` of the
    runs (or every unfinished run) wait; then all waiting runs record their episode and walk
    their next ones in one call. Once half of the working runs are finished, they are dropped
    from the arrays. Neither changes anything a run computes, only when.
    """
    n_runs = len(rngs)
    w = x_w = None
    if baseline is not None:
        w = np.tile(baseline.initial_weights[:, None], (1, n_runs))          # (J_w, R)
        x_w = np.repeat(np.asarray(baseline.features.source, dtype=float), walker.n_actions,
                        axis=0).T.copy()                          # x(s) by pair s·A + a, (J_w, S·A)
    runs = _Runs(np.tile(theta[:, None], (1, n_runs)), w, [UniformStream(rng) for rng in rngs])

    def start(rows: np.ndarray) -> None:
        """Walk the next episode of each run at its θ; stop the runs whose episode is cut."""
        walks = walker.walks(policy.action_probs(runs.theta[:, rows].T),
                             [runs.streams[r] for r in rows.tolist()])
        usable = walks.ended | allow_truncated
        for row in rows[~usable].tolist():
            trace.cut(int(runs.ids[row]), int(runs.episode[row]), walker.max_steps)
        runs.finish(rows[~usable])
        keep = np.repeat(usable, walks.lengths)
        rows, lengths = rows[usable], walks.lengths[usable]
        if rows.size:
            offsets = np.cumsum(lengths) - lengths
            times = np.arange(lengths.sum()) - np.repeat(offsets, lengths)
            factor, G, G0 = weights(runs.ids[rows], walks.rewards[keep], lengths, times)
            pairs = walks.pairs[keep]
            runs.store(rows, lengths, times, pairs, factor, G, G0)

    def record(rows: np.ndarray) -> np.ndarray:
        """Record the episode each run has just finished; return the rows with more to go."""
        k = runs.episode[rows]
        alive = trace.episodes(runs.ids[rows], k, runs.G0[rows], runs.length[rows],
                               runs.theta[:, rows].T, None if runs.w is None else runs.w[:, rows].T)
        runs.episode[rows] = k + 1
        going = alive & (k + 1 < n_episodes)
        runs.finish(rows[~going])
        return rows[going]

    start(np.arange(n_runs))
    with np.errstate(over="ignore", invalid="ignore"):   # a diverging θ is recorded, not raised
        while True:
            if np.count_nonzero(runs.finished) * 2 > len(runs.ids):
                runs.compact()
            unfinished = len(runs.ids) - int(np.count_nonzero(runs.finished))
            if not unfinished:
                return
            enough = max(1, int(WAITING_SHARE * len(runs.ids)))
            rows = np.arange(len(runs.ids))
            theta, w, t = runs.theta, runs.w, runs.t
            moving = t < runs.length
            n_waiting = 0
            while n_waiting < enough and n_waiting < unfinished:
                step = runs.row_start + t                                # column t of each row
                pairs = runs.pairs.take(step)                            # (Sₜ, Aₜ) of each run
                factor = runs.factor.take(step)                          # 0 unless moving
                if w is not None:
                    x = x_w.take(pairs, axis=1)                            # x(Sₜ), (J_w, R)
                    delta = runs.G.take(step) - np.add.reduce(w * x, axis=0)    # Gₜ − v̂(Sₜ)
                    w += (baseline.alpha * delta * moving) * x            # w ← w + α_w δ x
                    factor = factor * delta                                # α γᵗ δ
                theta += factor * policy.scores(theta, pairs)              # θ ← θ + c ∇log π
                t += moving
                moving = t < runs.length
                n_waiting = unfinished - int(np.count_nonzero(moving))
            going = record(rows[~moving & ~runs.finished])
            if going.size:
                start(going)


WAITING_SHARE = 1 / 2
"""The share of runs that wait for their next episode before all waiting runs walk it."""
