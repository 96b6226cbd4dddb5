r"""The exact layer's last resort: v_π, q_π, A_π, 𝒥(θ) and ∇𝒥(θ) enclosed in decimal interval
arithmetic, at the precision the answer needs.

float64 and double-double carry about 16 and 31 digits. Where the policy gradient theorem's
differences of values are smaller than that against the values themselves — a corridor of 60
states drifting away from its exit at γ = 1: v ≈ −5e22 while q(0, right) − q(0, left) = 10/3;
100 states at γ = 0.9 under the uniform policy: ∇𝒥 ≈ 4e−18 against v ≈ −10 — both certified
paths refuse, though float64 holds the answer. Here every quantity is a pair of Python
``Decimal`` numbers [lo, hi] that encloses it, each operation rounded outward (ROUND_FLOOR for
lo, ROUND_CEILING for hi) at P significant digits:

- h(s, a) = Σ_j x(s, a, j) θ_j, then π(a|s) = 1 / (1 + Σ_{b≠a} e^{h(s, b) − h(s, a)}): the
  exponential correctly rounded to P + 5 digits (the ``decimal`` module's guarantee) and widened
  by 10^(−P−4) relative, the rest monotone in it;
- B(s, s′) = γ Σ_a π(a|s) p(s′|s, a), e(s) = Σ_a π(a|s)[(1 − γ) + γ Σ_{s′ terminal} p(s′|s, a)],
  r⁺(s) = Σ_a π(a|s) max(r(s, a), 0) and r⁻ likewise, p, r and γ read exactly from float64;
- GTH elimination (Grassmann, Taksar & Heyman, 1985) of M = D − B and its two solves
  v = M⁻¹r⁺ − M⁻¹r⁻, n = M⁻ᵀp₀: only sums, products and quotients of non-negative numbers, so
  each bound follows from the bounds before it;
- q = r + γ p v, A(s, a) = Σ_{b≠a} π_b (q_a − q_b), 𝒥 = Σ_s p₀(s) v(s) and
  ∇𝒥_k = Σ_s n(s) Σ_a π(a|s) A(s, a) ψ_k(s, a) with ψ_k = x_k − Σ_b π_b x_k(s, b), in signed
  interval arithmetic (lecture: "Policy Gradient Theorem"; blog: "Policy gradient from the
  lens of Bellman").

A policy table (for v, q and A) is taken with its own rounding, π(1 ± ρ), as the certified
float64 paths take it (:func:`pgref.exact.solver.policy_relative_error`): an answer that this
rounding could move by more than 1e−10 is not given. θ (for 𝒥 and ∇𝒥) goes through the softmax
here instead, so only softmax-linear policies over a feature table are enclosed, exactly.

An interval is an enclosure whatever its width (no error analysis to trust, only the rounding
directions): the answer is the intervals' midpoints when every half-width is at most
:data:`HALF_WIDTH` (1e−10) of the largest |midpoint| (the norm-wise rule of
:mod:`pgref.exact.chain`); otherwise P grows by the digits missing, up to :data:`MOST_DIGITS`.
Nonzero answers outside [1e−300, 1e300] are not returned. The work is the elimination's
multiply-adds, counted on the chain's pattern before any arithmetic (a corridor: about S; a
dense chain: S³/3, a few microseconds each at P = 60, measured here: 0.4 s for 50 states,
2.5 s for 100, 11 s for 200); chains needing more than :data:`MOST_OPERATIONS` are not
enclosed.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

import numpy as np

from pgref.exact.solver import policy_relative_error

__all__ = ["FIRST_DIGITS", "HALF_WIDTH", "LIMITS", "MOST_DIGITS", "MOST_OPERATIONS", "Intervals",
           "action_values", "advantages", "elimination_work", "gradient",
           "objective", "softmax_table", "state_values", "table_intervals",
           "total_visits"]

FIRST_DIGITS = 60
"""P of the first attempt."""

MOST_DIGITS = 1000
"""The largest P tried."""

MOST_OPERATIONS = 3_000_000
"""The most multiply-adds of the elimination enclosed (a dense chain of 208 states)."""

HALF_WIDTH = 1e-10
"""A component is answered when its half-width is at most this times the largest |∇𝒥_k|."""

ZERO = Decimal(0)

LIMITS = (f"decimal enclosures (pgref.exact.enclosure) take softmax-linear policies over a "
          f"feature table for θ, or policy tables, on chains whose elimination needs at most "
          f"{MOST_OPERATIONS:,} multiply-adds, and answer within float64's range 1e−300 … 1e300")
"""What :func:`pgref.exact.certified.or_enclosure` adds to a refusal."""

SMALLEST, LARGEST = Decimal("1e-300"), Decimal("1e300")
"""Nonzero answers outside [1e−300, 1e300] are not returned (float64 would lose their digits or
overflow in what is computed from them)."""


class Intervals:
    r"""Outward-rounded interval arithmetic on pairs (lo, hi) of ``Decimal`` at P digits."""

    def __init__(self, digits: int):
        self.digits = digits
        self.down = Context(prec=digits, rounding=ROUND_FLOOR, Emin=-10**6, Emax=10**6)
        self.up = Context(prec=digits, rounding=ROUND_CEILING, Emin=-10**6, Emax=10**6)
        self.near = Context(prec=digits + 5, Emin=-10**6, Emax=10**6)
        widening = Decimal(10) ** (-digits - 4)           # > ½ ulp at P + 5 digits, relatively
        self.below = self.down.subtract(Decimal(1), widening)
        self.above = self.up.add(Decimal(1), widening)

    def add(self, a, b):
        return self.down.add(a[0], b[0]), self.up.add(a[1], b[1])

    def subtract(self, a, b):
        return self.down.subtract(a[0], b[1]), self.up.subtract(a[1], b[0])

    def multiply(self, a, b):
        """Any signs: the least and greatest of the four corner products, rounded outward."""
        if a[0] >= 0 and b[0] >= 0:
            return self.down.multiply(a[0], b[0]), self.up.multiply(a[1], b[1])
        corners = [(x, y) for x in a for y in b]
        return (min(self.down.multiply(x, y) for x, y in corners),
                max(self.up.multiply(x, y) for x, y in corners))

    def divide(self, a, b):
        """a ≥ 0 divided by b > 0."""
        return self.down.divide(a[0], b[1]), self.up.divide(a[1], b[0])

    def divide_by_positive(self, a, b):
        """a of any sign divided by b > 0."""
        return (self.down.divide(a[0], b[1] if a[0] >= 0 else b[0]),
                self.up.divide(a[1], b[0] if a[1] >= 0 else b[1]))

    def exp(self, x):
        """e^x, monotone: e^lo and e^hi, each correctly rounded to P + 5 digits, widened."""
        lo, hi = self.near.exp(x[0]), self.near.exp(x[1])
        return self.down.multiply(lo, self.below), self.up.multiply(hi, self.above)

    def total(self, terms):
        lo, hi = ZERO, ZERO
        for term in terms:
            lo, hi = self.down.add(lo, term[0]), self.up.add(hi, term[1])
        return lo, hi


def _exact(value: float):
    number = Decimal(float(value))
    return number, number


def softmax_table(arithmetic: Intervals, features: np.ndarray, theta: np.ndarray) -> list:
    r"""π_θ(a|s) of a softmax-linear policy as intervals, [s][a]: h(s, a) = Σ_j x θ, then
    π(a|s) = 1 / (1 + Σ_{b≠a} e^{h(s, b) − h(s, a)}) (every ratio of probabilities enclosed on
    its own, so a probability near 1 keeps its width relative to 1 − π)."""
    n_states, n_actions, _ = features.shape
    thetas = [Decimal(float(t)) for t in theta]
    table = []
    for s in range(n_states):
        h = [arithmetic.total((arithmetic.down.multiply(Decimal(float(x)), t),
                               arithmetic.up.multiply(Decimal(float(x)), t))
                              for x, t in zip(features[s, a], thetas, strict=True))
             for a in range(n_actions)]
        row = []
        for a in range(n_actions):
            ratios = arithmetic.total(arithmetic.exp(arithmetic.subtract(h[b], h[a]))
                                      for b in range(n_actions) if b != a)
            row.append(arithmetic.divide((Decimal(1), Decimal(1)),
                                         arithmetic.add((Decimal(1), Decimal(1)), ratios)))
        table.append(row)
    return table


def _chain(arithmetic: Intervals, mdp, pi: list, gamma: float, index: np.ndarray):
    """B as sparse rows {j: interval} and e (intervals) on the non-terminal states ``index``."""
    position = {int(s): i for i, s in enumerate(index)}
    terminal = np.flatnonzero(mdp.terminal)
    g = _exact(gamma)
    rest = arithmetic.subtract((Decimal(1), Decimal(1)), g)                # 1 − γ
    rows, exits = [], []
    for s in index:
        row: dict = {}
        exit_mass = (ZERO, ZERO)
        for a in range(mdp.n_actions):
            weight = arithmetic.multiply(g, pi[s][a])                       # γ π(a|s)
            for target in np.flatnonzero(mdp.transitions[s, a]):
                j = position.get(int(target))
                if j is not None and int(target) != int(s):
                    step = arithmetic.multiply(weight, _exact(mdp.transitions[s, a, target]))
                    row[j] = arithmetic.add(row.get(j, (ZERO, ZERO)), step)
            ended = arithmetic.total(_exact(mdp.transitions[s, a, t]) for t in terminal)
            leaving = arithmetic.add(rest, arithmetic.multiply(g, ended))
            exit_mass = arithmetic.add(exit_mass, arithmetic.multiply(pi[s][a], leaving))
        rows.append(row)
        exits.append(exit_mass)
    return rows, exits


def elimination_work(pattern: list) -> int:
    r"""The multiply-adds of GTH elimination on a chain whose row i leads to the states
    ``pattern[i]`` (sets of indices), fill-in included: Σ_k (rows i > k reaching k) ×
    (columns j > k that k reaches)."""
    rows = [set(row) for row in pattern]
    work = 0
    for k in range(len(rows)):
        after = {j for j in rows[k] if j > k}
        for i in range(k + 1, len(rows)):
            if k in rows[i]:
                rows[i].discard(k)
                rows[i] |= after - {i}
                work += len(after)
    return work


def _factor(arithmetic: Intervals, rows: list, exits: list):
    r"""GTH elimination on intervals: rows become {j > k: B′(k, j)} and {i: l(i, k)} below."""
    n = len(rows)
    upper = [dict(row) for row in rows]
    exits = list(exits)
    lower = [{} for _ in range(n)]             # lower[i][k] = l(i, k)
    pivots = []
    for k in range(n):
        pivot = arithmetic.add(arithmetic.total(v for j, v in upper[k].items() if j > k),
                               exits[k])
        if pivot[0] <= 0:
            raise ArithmeticError("a GTH pivot is not positive")
        pivots.append(pivot)
        for i in range(k + 1, n):
            entry = upper[i].pop(k, None)
            if entry is None:
                continue
            multiplier = arithmetic.divide(entry, pivot)
            lower[i][k] = multiplier
            for j, value in upper[k].items():
                if j != i:                     # i → k → i is a self-loop: it cancels in M
                    gained = arithmetic.multiply(multiplier, value)
                    upper[i][j] = arithmetic.add(upper[i].get(j, (ZERO, ZERO)), gained)
            exits[i] = arithmetic.add(exits[i], arithmetic.multiply(multiplier, exits[k]))
    return upper, lower, pivots


def _solve(arithmetic: Intervals, factors, rhs: list, transpose: bool) -> list:
    """M x = b or Mᵀ x = b for non-negative interval columns b, by the GTH factors."""
    upper, lower, pivots = factors
    n = len(pivots)
    x = list(rhs)
    if not transpose:
        for i in range(n):                                              # y = L⁻¹ b
            for k, multiplier in lower[i].items():
                x[i] = arithmetic.add(x[i], arithmetic.multiply(multiplier, x[k]))
        for k in range(n - 1, -1, -1):
            inflow = arithmetic.total(arithmetic.multiply(value, x[j])
                                      for j, value in upper[k].items() if j > k)
            x[k] = arithmetic.divide(arithmetic.add(x[k], inflow), pivots[k])
        return x
    for k in range(n):
        inflow = arithmetic.total(arithmetic.multiply(upper[i][k], x[i])
                                  for i in range(k) if k in upper[i])
        x[k] = arithmetic.divide(arithmetic.add(x[k], inflow), pivots[k])
    for i in range(n - 1, -1, -1):
        for k, multiplier in lower[i].items():
            x[k] = arithmetic.add(x[k], arithmetic.multiply(multiplier, x[i]))
    return x


def table_intervals(arithmetic: Intervals, pi: np.ndarray) -> list:
    r"""A float64 policy table (S, A) as intervals [s][a]: π(a|s)(1 ± ρ(s, a)), with ρ the
    table's own rounding error as :func:`pgref.exact.solver.policy_relative_error` bounds it
    (the certified float64 paths take the same data error), 0 kept exact."""
    rho = policy_relative_error(pi)
    down, up, one = arithmetic.down, arithmetic.up, Decimal(1)
    return [[(down.multiply(Decimal(float(p)), down.subtract(one, Decimal(float(r)))),
              up.multiply(Decimal(float(p)), up.add(one, Decimal(float(r)))))
             for p, r in zip(row, row_rho, strict=True)]
            for row, row_rho in zip(pi, rho, strict=True)]


def _values(arithmetic: Intervals, mdp, pi: list) -> list:
    r"""v_π on all states (0 on terminal ones): v = M⁻¹r⁺ − M⁻¹r⁻ by GTH, r± = Σ_a π max(±r, 0)."""
    index = np.flatnonzero(~mdp.terminal)
    factors = _factor(arithmetic, *_chain(arithmetic, mdp, pi, mdp.gamma, index))
    parts = []
    for sign in (1, -1):
        rhs = [arithmetic.total(arithmetic.multiply(pi[s][a], _positive_part(
            _expected_reward(arithmetic, mdp, s, a), sign)) for a in range(mdp.n_actions))
            for s in index]
        parts.append(_solve(arithmetic, factors, rhs, False))
    values = [(ZERO, ZERO)] * mdp.n_states
    for i, s in enumerate(index):
        values[s] = arithmetic.subtract(parts[0][i], parts[1][i])
    return values


def _visits(arithmetic: Intervals, mdp, pi: list, gamma: float) -> list:
    r"""n on all states (0 on terminal ones) from Mᵀn = p₀, M discounted by ``gamma``."""
    index = np.flatnonzero(~mdp.terminal)
    factors = _factor(arithmetic, *_chain(arithmetic, mdp, pi, gamma, index))
    solved = _solve(arithmetic, factors, [_exact(mdp.initial[s]) for s in index], True)
    visits = [(ZERO, ZERO)] * mdp.n_states
    for i, s in enumerate(index):
        visits[s] = solved[i]
    return visits


def _action_values(arithmetic: Intervals, mdp, values: list) -> list:
    r"""q(s, a) = r(s, a) + γ Σ_s′ p(s′|s, a) v(s′), [s][a]."""
    g = _exact(mdp.gamma)
    return [[arithmetic.add(_expected_reward(arithmetic, mdp, s, a), arithmetic.multiply(
        g, arithmetic.total(arithmetic.multiply(_exact(mdp.transitions[s, a, t]), values[t])
                            for t in np.flatnonzero(mdp.transitions[s, a]))))
             for a in range(mdp.n_actions)] for s in range(mdp.n_states)]


def _advantages(arithmetic: Intervals, pi: list, q: list) -> list:
    r"""A(s, a) = Σ_{b≠a} π(b|s)(q(s, a) − q(s, b)), [s][a]."""
    return [[arithmetic.total(arithmetic.multiply(row_pi[b], arithmetic.subtract(row_q[a],
                                                                                  row_q[b]))
                              for b in range(len(row_q)) if b != a)
             for a in range(len(row_q))] for row_pi, row_q in zip(pi, q, strict=True)]


def _gradient(arithmetic: Intervals, mdp, features: np.ndarray, theta: np.ndarray,
              visits_gamma: float, normalised: bool = False) -> list:
    r"""∇𝒥_k = Σ_s n(s) Σ_a π(a|s) ψ_k(s, a) A(s, a) (or the γᵗ-dropped direction, the visits
    discounted by ``visits_gamma``), ψ_k = x_k − Σ_b π_b x_k(s, b), as intervals (J);
    ``normalised``: divided by Σ_s n(s)."""
    _, n_actions, n_params = features.shape
    pi = softmax_table(arithmetic, features, theta)
    advantage = _advantages(arithmetic, pi, _action_values(arithmetic, mdp,
                                                           _values(arithmetic, mdp, pi)))
    visits = _visits(arithmetic, mdp, pi, visits_gamma)
    gradient = [(ZERO, ZERO)] * n_params
    for s in np.flatnonzero(~mdp.terminal):
        weights = [arithmetic.multiply(visits[s], arithmetic.multiply(pi[s][a], advantage[s][a]))
                   for a in range(n_actions)]                              # n π A
        for k in range(n_params):
            x = [_exact(features[s, a, k]) for a in range(n_actions)]
            mean = arithmetic.total(arithmetic.multiply(pi[s][b], x[b]) for b in range(n_actions))
            gradient[k] = arithmetic.add(gradient[k], arithmetic.total(
                arithmetic.multiply(weights[a], arithmetic.subtract(x[a], mean))
                for a in range(n_actions)))
    if normalised:
        total = arithmetic.total(visits)
        return [arithmetic.divide_by_positive(g, total) for g in gradient]
    return gradient


def _expected_reward(arithmetic: Intervals, mdp, s: int, a: int):
    """r(s, a), or Σ_s′ p(s′|s, a) r(s, a, s′) enclosed."""
    if mdp.rewards.ndim == 2:
        return _exact(mdp.rewards[s, a])
    return arithmetic.total(arithmetic.multiply(_exact(mdp.transitions[s, a, t]),
                                                _exact(mdp.rewards[s, a, t]))
                            for t in np.flatnonzero(mdp.transitions[s, a]))


def _positive_part(interval, sign: int):
    """max(sign · r, 0) of an interval r (still an enclosure)."""
    lo, hi = interval if sign > 0 else (interval[1].copy_negate(), interval[0].copy_negate())
    return max(lo, ZERO), max(hi, ZERO)


def _enclosed(mdp, compute):
    r"""``compute(arithmetic)`` — a list of intervals — at P = :data:`FIRST_DIGITS` digits and
    more until the widest half-width is at most :data:`HALF_WIDTH` of the largest |midpoint|;
    the midpoints as float64, or None (elimination beyond :data:`MOST_OPERATIONS`, P beyond
    :data:`MOST_DIGITS`, or a nonzero midpoint outside float64's normal range)."""
    live = np.flatnonzero(~mdp.terminal)
    reach = mdp.transitions[live][:, :, live].max(axis=1) > 0                  # (n, n)
    if elimination_work([set(np.flatnonzero(row).tolist()) for row in reach]) > MOST_OPERATIONS:
        return None
    digits = FIRST_DIGITS
    while digits <= MOST_DIGITS:
        arithmetic = Intervals(digits)
        try:
            enclosed = compute(arithmetic)
        except ArithmeticError:          # a pivot's lower bound not positive: too few digits
            digits *= 2
            continue
        near, up = arithmetic.near, arithmetic.up
        middles = [near.divide(near.add(lo, hi), 2) for lo, hi in enclosed]
        largest = max((m.copy_abs() for m in middles), default=ZERO)
        widest = max((up.divide(up.subtract(hi, lo), 2) for lo, hi in enclosed), default=ZERO)
        if widest <= Decimal(HALF_WIDTH) * largest:
            if any(m != 0 and not SMALLEST <= m.copy_abs() <= LARGEST for m in middles):
                return None                                 # beyond float64's normal range
            return np.array([float(m) for m in middles])
        # the digits short of HALF_WIDTH (all of them again if nothing is known yet)
        short = math.ceil(up.divide(widest, largest).log10()) + 10 if largest > 0 else digits
        digits += max(10, short + 2)
    return None


def gradient(mdp, features: np.ndarray, theta: np.ndarray, visits_gamma: float | None = None,
             normalised: bool = False):
    r"""∇𝒥(θ) (blog: "Policy gradient from the lens of Bellman") of the softmax-linear policy with
    feature table ``features`` (S, A, J), or with ``visits_gamma`` = 1 the γᵗ-dropped direction
    Σ_s n₁(s) Σ_a q_γ ∇π, or with ``normalised`` either divided by Σ_s n(s) (the lecture's
    E_{S∼d_π} form), as float64 (J,), every component within 1e−10 of the largest; or None
    (:func:`_enclosed`)."""
    gamma = mdp.gamma if visits_gamma is None else visits_gamma
    return _enclosed(mdp, lambda arithmetic: _gradient(arithmetic, mdp, features, theta, gamma,
                                                       normalised))


def total_visits(mdp, features: np.ndarray, theta: np.ndarray) -> float | None:
    r"""Σ_s n(s), the expected discounted episode length under the softmax-linear policy; or
    None."""
    def compute(arithmetic):
        pi = softmax_table(arithmetic, features, theta)
        return [arithmetic.total(_visits(arithmetic, mdp, pi, mdp.gamma))]

    result = _enclosed(mdp, compute)
    return None if result is None else float(result[0])


def objective(mdp, features: np.ndarray, theta: np.ndarray) -> float | None:
    r"""𝒥(θ) = Σ_s p₀(s) v_π(s) (lecture: "Training Policy Network") of the softmax-linear policy
    with feature table ``features``, as a float within 1e−10 of itself; or None."""
    def compute(arithmetic):
        values = _values(arithmetic, mdp, softmax_table(arithmetic, features, theta))
        return [arithmetic.total(arithmetic.multiply(_exact(mdp.initial[s]), values[s])
                                 for s in range(mdp.n_states))]

    result = _enclosed(mdp, compute)
    return None if result is None else float(result[0])


def state_values(mdp, pi: np.ndarray) -> np.ndarray | None:
    r"""v_π (S,) of a policy table π (S, A), taken with its own rounding (:func:`table_intervals`;
    lecture: "Policy Gradient Theorem", the Bellman equation), every entry within 1e−10 of
    max|v|; or None."""
    return _enclosed(mdp, lambda arithmetic: _values(arithmetic, mdp,
                                                     table_intervals(arithmetic, pi)))


def action_values(mdp, pi: np.ndarray) -> np.ndarray | None:
    r"""q_π (S, A) of a policy table, every entry within 1e−10 of max|q|; or None."""
    def compute(arithmetic):
        table = table_intervals(arithmetic, pi)
        q = _action_values(arithmetic, mdp, _values(arithmetic, mdp, table))
        return [entry for row in q for entry in row]

    result = _enclosed(mdp, compute)
    return None if result is None else result.reshape(mdp.n_states, mdp.n_actions)


def advantages(mdp, pi: np.ndarray) -> np.ndarray | None:
    r"""A_π = q_π − v_π (S, A) of a policy table, as Σ_{b≠a} π_b (q_a − q_b), every entry within
    1e−10 of max|A|; or None."""
    def compute(arithmetic):
        table = table_intervals(arithmetic, pi)
        q = _action_values(arithmetic, mdp, _values(arithmetic, mdp, table))
        return [entry for row in _advantages(arithmetic, table, q) for entry in row]

    result = _enclosed(mdp, compute)
    return None if result is None else result.reshape(mdp.n_states, mdp.n_actions)
