r"""The per-step loops against a transcription of Sutton & Barto's boxed REINFORCE.

``python -m pgref bench loops`` (or ``pgref.benchmarks.run("loops")``). On the short corridor
(Example 13.1) from θ₀ with π(right) ≈ 0.05, it times in one run, in CPU seconds per step:

- the reference: the book's boxed REINFORCE written here in the style of the book's widely used
  public code — NumPy at every step, the softmax for the action, then the softmax and the score
  again for each update, no probability clamp, no exact 𝒥;
- pgref's :func:`~pgref.algorithms.PG_v1`, :func:`~pgref.algorithms.REINFORCE` and REINFORCE with
  a learned baseline, one run each, which also record the exact 𝒥(θ) after every episode;
- the same loops with ``n_runs = 100`` learners in lockstep, per step of one learner;
- the data of Sutton & Barto's Figures 13.1 (3 step sizes × 100 runs × 1000 episodes) and 13.2
  (2 settings × 100 × 1000), in CPU seconds (goal: ≤ 10 s each), unless ``quick``.

Each time is the best of :data:`REPEATS` rounds that alternate between the methods, so a busy
machine slows them alike. The ratio column is pgref's time per step over the reference's (goal
for the single runs: ≤ 1.0).

The figures' goals are absolute CPU seconds, stated on a machine where the reference took
about 30 µs per step (:data:`REFERENCE_AT_GOAL`). This machine's speed drifts with its host by up
to a factor of two, so beside each figure's CPU seconds the table gives them scaled by
:data:`REFERENCE_AT_GOAL` over the reference measured in the same run: the time at the speed the
goal was stated for.
"""

from __future__ import annotations

import time

import numpy as np

from pgref import algorithms, envs
from pgref.figures import sutton_barto
from pgref.policies import SoftmaxLinearPolicy

__all__ = ["REFERENCE_AT_GOAL", "book_reinforce", "reference_seconds_per_step", "run",
           "seconds_at_goal_speed"]

ALPHA = 2.0**-13
ALPHA_BASELINE, ALPHA_W = 2.0**-9, 2.0**-6
THETA_0 = np.log([0.05, 0.95])          # π(right) = 0.05, as in the book
REPEATS = 3
REFERENCE_AT_GOAL = 30e-6
"""CPU seconds per step of the reference (:func:`book_reinforce`) on the machine the speed goals
were stated for ("about 30 µs per step here")."""


# -- the reference: the boxed algorithm, in the style of the book's public code ----------------


class _ShortCorridor:
    """Example 13.1: states 0, 1, 2 and the goal 3; action 1 (right) is switched in state 1."""

    def reset(self):
        self.state = 0

    def step(self, go_right):
        if self.state == 1:
            self.state += -1 if go_right else 1
        else:
            self.state = max(0, self.state + (1 if go_right else -1))
        return -1.0, self.state == 3


def _pmf(theta, x):
    h = np.dot(theta, x)
    t = np.exp(h - np.max(h))
    return t / np.sum(t)


def book_reinforce(theta: np.ndarray, alpha: float, n_episodes: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, int]:
    r"""The book's boxed REINFORCE (γ = 1) on the short corridor, NumPy at every step.

    Parameters
    ----------
    theta : ndarray, shape (2,)
        θ₀ = [θ_right, θ_left], as in :func:`pgref.envs.short_corridor`.
    alpha : float
        α.
    n_episodes : int
        Episodes to run.
    rng : numpy.random.Generator
        The action of each step is "right" when u = ``rng.uniform()`` is ≤ π_θ(right).

    Returns
    -------
    theta : ndarray, shape (2,)
        θ after the last episode.
    steps : int
        The steps taken in all episodes.

    Notes
    -----
    Sutton & Barto, section 13.3 (lecture: "REINFORCE: First Official Algorithm"): after each
    episode, for t = 0 … T − 1,

        θ ← θ + α Gₜ ∇ log π_θ(Aₜ|Sₜ),   ∇ log π_θ(a|s) = x(s, a) − Σ_b π_θ(b|s) x(s, b),

    with the softmax π and its score computed afresh at every step, as the book's public code
    does. No probability clamp.
    """
    x = np.array([[0, 1], [1, 0]])          # columns: x(·, left), x(·, right), rows θ_right, θ_left
    theta, env, steps = np.array(theta, dtype=float), _ShortCorridor(), 0
    for _ in range(n_episodes):
        env.reset()
        rewards, actions, done = [], [], False
        while not done:
            pmf = _pmf(theta, x)
            go_right = rng.uniform() <= pmf[1]
            reward, done = env.step(go_right)
            rewards.append(reward)
            actions.append(go_right)
        G = np.zeros(len(rewards))
        G[-1] = rewards[-1]
        for i in range(2, len(G) + 1):
            G[-i] = G[-i + 1] + rewards[-i]
        for i in range(len(G)):
            j = 1 if actions[i] else 0
            pmf = _pmf(theta, x)
            grad_ln_pi = x[:, j] - np.dot(x, pmf)
            theta += alpha * G[i] * grad_ln_pi
        steps += len(G)
    return theta, steps


def reference_seconds_per_step(n_episodes: int = 100, repeats: int = REPEATS) -> float:
    """CPU seconds per step of :func:`book_reinforce` from θ₀ (π(right) = 0.05) at α = 2⁻¹³:
    the best of ``repeats`` runs of ``n_episodes`` episodes, with generators
    ``default_rng(0)``, ``default_rng(1)``, …"""
    best = np.inf
    for seed in range(repeats):
        start = time.process_time()
        _, steps = book_reinforce(THETA_0, ALPHA, n_episodes, np.random.default_rng(seed))
        best = min(best, (time.process_time() - start) / steps)
    return best


def seconds_at_goal_speed(seconds: float, reference: float) -> float:
    """CPU ``seconds`` measured while the reference took ``reference`` seconds per step, scaled
    to the speed the goals were stated at: seconds × :data:`REFERENCE_AT_GOAL` / reference."""
    return seconds * REFERENCE_AT_GOAL / reference


# -- timing --------------------------------------------------------------------------------------


def _methods(n_episodes: int, n_runs: int):
    problem = envs.short_corridor()
    mdp, policy = problem.mdp, SoftmaxLinearPolicy(problem.features)
    baseline = algorithms.LinearValueBaseline(np.ones((mdp.n_states, 1)), ALPHA_W)

    def steps(history):
        return int(history.episode_lengths.sum())

    def pgref(loop, alpha, runs, **keywords):
        return lambda rng: steps(loop(mdp, policy, THETA_0, alpha, n_episodes, rng,
                                      n_runs=runs, **keywords))

    single = {
        "reference: the book's boxed REINFORCE, NumPy per step": (
            lambda rng: book_reinforce(THETA_0, ALPHA, n_episodes, rng)[1]),
        "pgref PG_v1": pgref(algorithms.PG_v1, ALPHA / 10, 1),
        "pgref REINFORCE": pgref(algorithms.REINFORCE, ALPHA, 1),
        "pgref REINFORCE, learned v̂": pgref(algorithms.REINFORCE, ALPHA_BASELINE, 1,
                                            baseline=baseline),
    }
    lockstep = {
        f"pgref REINFORCE, {n_runs} runs in lockstep": pgref(algorithms.REINFORCE, ALPHA,
                                                             n_runs),
        f"pgref REINFORCE, learned v̂, {n_runs} runs": pgref(
            algorithms.REINFORCE, ALPHA_BASELINE, n_runs, baseline=baseline),
    }
    return single | lockstep


def run(quick: bool = False) -> list[str]:
    r"""Time the reference and pgref's per-step loops; return the table's lines.

    Parameters
    ----------
    quick : bool, default False
        30 episodes and 10 lockstep runs instead of 300 and 100: a smoke run.

    Returns
    -------
    lines : list of str
        The set-up, then a Markdown table: method, steps taken, CPU µs per step, and the ratio
        to the reference.
    """
    n_episodes, n_runs = (30, 10) if quick else (300, 100)
    methods = _methods(n_episodes, n_runs)
    best = dict.fromkeys(methods, np.inf)
    taken = dict.fromkeys(methods, 0)
    for round_index in range(REPEATS):
        for name, method in methods.items():
            rng = np.random.default_rng(round_index)
            start = time.process_time()
            taken[name] = method(rng)
            best[name] = min(best[name], (time.process_time() - start) / taken[name])
    reference = best[next(iter(methods))]
    lines = [
        f"Short corridor, θ₀ with π(right) = 0.05, {n_episodes} episodes per run; α = 2⁻¹³ "
        f"(PG_v1: α/10; learned v̂: α = 2⁻⁹, α_w = 2⁻⁶). CPU time per step (per learner's step "
        f"in lockstep), best of {REPEATS}; pgref records the exact 𝒥 after every episode.",
        "",
        "| method | steps | µs per step | × reference |",
        "|---|---:|---:|---:|",
    ]
    for name in methods:
        lines.append(f"| {name} | {taken[name]} | {best[name] * 1e6:.2f} | "
                     f"{best[name] / reference:.2f} |")
    if not quick:
        lines += ["", "| figure data at the book's scale | steps | CPU s | CPU s at the goal's "
                      "speed | goal |", "|---|---:|---:|---:|---:|"]
        # 13.2 first: it computes its REINFORCE runs itself, not taken from 13.1's
        for name, compute in (("Figure 13.2", sutton_barto.figure_13_2_data),
                              ("Figure 13.1", sutton_barto.figure_13_1_data)):
            start = time.process_time()
            data = compute()
            seconds = time.process_time() - start
            steps = int(np.nansum(-data.returns))     # every step pays −1
            at_goal = seconds_at_goal_speed(seconds, reference)
            lines.append(f"| {name} | {steps} | {seconds:.1f} | {at_goal:.1f} | ≤ 10 |")
        lines += ["", f"CPU s at the goal's speed = CPU s × {REFERENCE_AT_GOAL * 1e6:g} µs (the "
                      f"reference's time per step where the goals were stated) / "
                      f"{reference * 1e6:.1f} µs (its time per step in this run)."]
    return lines
