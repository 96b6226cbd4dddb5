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
  exponential correctly rounded to P + 10 digits (the ``decimal`` module's guarantee) and
  widened by 10^(−P−9) relative, the rest monotone in it;
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
rounding could move by more than 1e−10 is not given. θ (for 𝒥 and ∇𝒥) goes through the policy
here instead — the softmax of x θ, or the tanh network's forward and backward passes, tanh
bounded as sign(t)(1 − 2/(e^{2|t|} + 1)) — so softmax-linear and MLP policies over a feature
table are enclosed exactly from θ.

An interval is an enclosure whatever its width (no error analysis to trust, only the rounding
directions): the answer is the intervals' midpoints when every half-width is at most
:data:`HALF_WIDTH` (1e−10) of the largest |midpoint| (the norm-wise rule of
:mod:`pgref.exact.chain`); otherwise P grows by the digits missing, up to :data:`MOST_DIGITS`.
Answers whose largest entry is outside float64's normal range are not returned. The work is
the elimination's multiply-adds, counted on the chain's pattern before any arithmetic (a
corridor: about S; a dense chain: S³/3, a few microseconds each at P = 60, measured here:
0.4 s for 50 states, 2.5 s for 100, 11 s for 200); chains needing more than
:data:`MOST_OPERATIONS` are not enclosed.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

import numpy as np

from pgref.exact.solver import policy_relative_error
from pgref.policies import MLPSoftmaxPolicy, SoftmaxLinearPolicy

__all__ = [
    "FIRST_DIGITS",
    "HALF_WIDTH",
    "LIMITS",
    "MOST_DIGITS",
    "MOST_OPERATIONS",
    "MOST_WORK_DIGITS",
    "Intervals",
    "action_values",
    "advantages",
    "at_needed_precision",
    "elimination_work",
    "encloses",
    "gradient",
    "linear_features",
    "objective",
    "policy_tables",
    "softmax_table",
    "state_values",
    "table_intervals",
    "total_visits",
]

FIRST_DIGITS = 60
"""P of the first attempt."""

MOST_DIGITS = 1000
"""The largest P tried."""

MOST_WORK_DIGITS = 4 * 3_000_000 * 60
"""The largest elimination work times P tried (the cost of a decimal operation grows with P): P
up to about 270 for a dense chain of 200 states, up to :data:`MOST_DIGITS` for a corridor."""

MOST_OPERATIONS = 3_000_000
"""The most multiply-adds of the elimination enclosed (a dense chain of 208 states)."""

HALF_WIDTH = 1e-10
"""A component is answered when its half-width is at most this times the largest |∇𝒥_k|."""

ZERO = Decimal(0)

LIMITS = (f"decimal enclosures (pgref.exact.enclosure) take softmax-linear and tanh-MLP "
          f"policies over a feature table for θ, or policy tables, on chains whose elimination "
          f"needs at most {MOST_OPERATIONS:,} multiply-adds, and answer within float64's normal "
          f"range 2.2e−308 … 1.8e308")
"""What :func:`pgref.exact.certified.or_enclosure` adds to a refusal."""

SMALLEST, LARGEST = Decimal(float(np.finfo(float).tiny)), Decimal(float(np.finfo(float).max))
"""An answer whose largest entry lies outside float64's normal range is not returned (its digits
would be lost, or it would overflow); entries far below the largest may round to subnormal
numbers or 0, within the norm-wise 1e−10."""


class Intervals:
    r"""Outward-rounded interval arithmetic on pairs (lo, hi) of ``Decimal`` at P digits."""

    def __init__(self, digits: int):
        self.digits = digits
        self.down = Context(prec=digits, rounding=ROUND_FLOOR, Emin=-10**6, Emax=10**6)
        self.up = Context(prec=digits, rounding=ROUND_CEILING, Emin=-10**6, Emax=10**6)
        self.near = Context(prec=digits + 10, Emin=-10**6, Emax=10**6)
        self.tanh_widening = Decimal(10) ** (-digits - 8)
        widening = Decimal(10) ** (-digits - 9)           # > ½ ulp at P + 10 digits, relatively
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
        """e^x, monotone: e^lo and e^hi, each correctly rounded to P + 10 digits, widened."""
        lo, hi = self.near.exp(x[0]), self.near.exp(x[1])
        return self.down.multiply(lo, self.below), self.up.multiply(hi, self.above)

    def tanh(self, x):
        r"""tanh, monotone: tanh t = sign(t)(1 − 2/(e^{2|t|} + 1)) at P + 10 digits (absolute
        error below 3 units of the (P + 10)th digit, the value being below 1), widened by
        10^(−P−8) absolutely."""
        def at(t):
            size = self.near.exp(self.near.multiply(2, t.copy_abs()))
            value = self.near.subtract(1, self.near.divide(2, self.near.add(size, 1)))
            return value if t >= 0 else value.copy_negate()

        return (self.down.subtract(at(x[0]), self.tanh_widening),
                self.up.add(at(x[1]), self.tanh_widening))

    def square(self, x):
        """x², of an interval of any sign."""
        lo, hi = x[0].copy_abs(), x[1].copy_abs()
        if x[0] <= 0 <= x[1]:
            return ZERO, self.up.multiply(max(lo, hi), max(lo, hi))
        small, large = min(lo, hi), max(lo, hi)
        return self.down.multiply(small, small), self.up.multiply(large, large)

    def total(self, terms):
        lo, hi = ZERO, ZERO
        for term in terms:
            lo, hi = self.down.add(lo, term[0]), self.up.add(hi, term[1])
        return lo, hi


def _exact(value: float):
    number = Decimal(float(value))
    return number, number


def _softmax(arithmetic: Intervals, logits: list) -> list:
    r"""π(a) = 1 / (1 + Σ_{b≠a} e^{z_b − z_a}) of one state's logit intervals (every ratio of
    probabilities enclosed on its own, so a probability near 1 keeps its width relative to
    1 − π)."""
    one = (Decimal(1), Decimal(1))
    return [arithmetic.divide(one, arithmetic.add(one, arithmetic.total(
        arithmetic.exp(arithmetic.subtract(logits[b], logits[a]))
        for b in range(len(logits)) if b != a))) for a in range(len(logits))]


def _dot(arithmetic: Intervals, row, weights: np.ndarray, bias: np.ndarray) -> list:
    """row W + b for a row of intervals and float64 W (n_in, n_out), b (n_out,)."""
    return [arithmetic.add(arithmetic.total(arithmetic.multiply(h, _exact(w))
                                            for h, w in zip(row, weights[:, j], strict=True)),
                           _exact(bias[j])) for j in range(weights.shape[1])]


def softmax_table(arithmetic: Intervals, features: np.ndarray, theta: np.ndarray) -> list:
    r"""π_θ(a|s) of a softmax-linear policy (lecture: "Example: Softmax") as intervals, [s][a]
    for features (S, A, J) and θ (J,): the logits h(s, a) = Σ_j x θ, then :func:`_softmax`."""
    n_states, n_actions, _ = features.shape
    thetas = [_exact(t) for t in theta]
    return [_softmax(arithmetic, [arithmetic.total(arithmetic.multiply(_exact(x), t)
                                                   for x, t in zip(features[s, a], thetas,
                                                                   strict=True))
                                  for a in range(n_actions)]) for s in range(n_states)]


def _linear_tables(arithmetic: Intervals, features: np.ndarray, theta: np.ndarray):
    r"""π [s][a] and the scores ψ(s, a) = x(s, a) − Σ_b π_b x(s, b) [s][a][k] of a
    softmax-linear policy (lecture: "Example: Softmax")."""
    pi = softmax_table(arithmetic, features, theta)
    scores = []
    for s, row in enumerate(pi):
        x = [[_exact(v) for v in features[s, a]] for a in range(len(row))]
        mean = [arithmetic.total(arithmetic.multiply(row[b], x[b][k]) for b in range(len(row)))
                for k in range(features.shape[2])]
        scores.append([[arithmetic.subtract(x[a][k], mean[k]) for k in range(len(mean))]
                       for a in range(len(row))])
    return pi, scores


def _network_tables(arithmetic: Intervals, policy, theta: np.ndarray):
    r"""π [s][a] and the scores [s][a][k] of a tanh MLP policy, by the forward and backward
    passes of :class:`pgref.policies.MLPSoftmaxPolicy` (lecture: "Example: DPN") on intervals:
    hₗ = tanh(hₗ₋₁Wₗ + bₗ), z = h_L W + b; δ_out = e_a − π, ∂/∂b = δ, ∂/∂W = hᵀδ,
    δₗ₋₁ = (δₗWₗᵀ) ⊙ (1 − hₗ₋₁²), in the order of θ."""
    layers = policy.unpack(theta)
    features = np.asarray(policy.features.source, dtype=float)
    one = (Decimal(1), Decimal(1))
    pi, scores = [], []
    for s in range(features.shape[0]):
        activations = [[_exact(v) for v in features[s]]]
        for layer in layers[:-1]:
            activations.append([arithmetic.tanh(u) for u in _dot(
                arithmetic, activations[-1], layer.weights, layer.bias)])
        row = _softmax(arithmetic, _dot(arithmetic, activations[-1], layers[-1].weights,
                                        layers[-1].bias))
        pi.append(row)
        row_scores = []
        for a in range(len(row)):
            delta = [arithmetic.subtract(one if b == a else (ZERO, ZERO), row[b])
                     for b in range(len(row))]
            parts = []
            for index in range(len(layers) - 1, -1, -1):
                h = activations[index]
                parts.append(list(delta))                                        # ∂/∂b
                parts.append([arithmetic.multiply(h_i, d) for h_i in h for d in delta])  # ∂/∂W
                if index > 0:
                    weights = layers[index].weights
                    delta = [arithmetic.multiply(
                        arithmetic.total(arithmetic.multiply(d, _exact(weights[i, j]))
                                         for j, d in enumerate(delta)),
                        arithmetic.subtract(one, arithmetic.square(h_i)))
                        for i, h_i in enumerate(h)]
            row_scores.append([entry for part in parts[::-1] for entry in part])
        scores.append(row_scores)
    return pi, scores


def linear_features(policy) -> np.ndarray | None:
    """The feature table x (S, A, J) of a :class:`pgref.SoftmaxLinearPolicy` over tabular
    states, or None for any other policy (whose probabilities are not the softmax of x θ)."""
    if type(policy) is not SoftmaxLinearPolicy or not isinstance(policy.features.source,
                                                                  np.ndarray):
        return None
    return np.asarray(policy.features.source, dtype=float)


def encloses(policy) -> bool:
    """Whether θ's tables can be enclosed here: a :class:`pgref.SoftmaxLinearPolicy` or a
    :class:`pgref.MLPSoftmaxPolicy` over a table of features (callable features have none)."""
    if linear_features(policy) is not None:
        return True
    return type(policy) is MLPSoftmaxPolicy and isinstance(policy.features.source, np.ndarray)


def policy_tables(arithmetic: Intervals, policy, theta: np.ndarray):
    """π and the scores of a policy that :func:`encloses` accepts, as intervals."""
    features = linear_features(policy)
    if features is not None:
        return _linear_tables(arithmetic, features, theta)
    return _network_tables(arithmetic, policy, theta)


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


def _gradient(arithmetic: Intervals, mdp, policy, theta: np.ndarray, visits_gamma: float,
              normalised: bool = False) -> tuple:
    r"""∇𝒥_k = Σ_s n(s) Σ_a π(a|s) A(s, a) ψ_k(s, a) (or the γᵗ-dropped direction, the visits
    discounted by ``visits_gamma``), ψ = ∇ log π from :func:`policy_tables`, as intervals, and
    a lower bound on the largest term |n π A ψ_k| (the scale of ∇𝒥's certificate);
    ``normalised``: both divided by Σ_s n(s)."""
    pi, scores = policy_tables(arithmetic, policy, theta)
    advantage = _advantages(arithmetic, pi, _action_values(arithmetic, mdp,
                                                           _values(arithmetic, mdp, pi)))
    visits = _visits(arithmetic, mdp, pi, visits_gamma)
    gradient = [(ZERO, ZERO)] * policy.n_params
    size = ZERO                                          # max |n π A ψ_k|, from below
    for s in np.flatnonzero(~mdp.terminal):
        for a in range(mdp.n_actions):
            weight = arithmetic.multiply(visits[s], arithmetic.multiply(pi[s][a],
                                                                        advantage[s][a]))
            gradient = [arithmetic.add(g, arithmetic.multiply(weight, score))
                        for g, score in zip(gradient, scores[s][a], strict=True)]
            size = max([size, *(arithmetic.down.multiply(_magnitude(weight), _magnitude(score))
                                for score in scores[s][a])])
    if normalised:
        total = arithmetic.total(visits)
        return ([arithmetic.divide_by_positive(g, total) for g in gradient],
                arithmetic.down.divide(size, total[1]))
    return gradient, size


def _expected_reward(arithmetic: Intervals, mdp, s: int, a: int):
    """r(s, a), or Σ_s′ p(s′|s, a) r(s, a, s′) enclosed."""
    if mdp.rewards.ndim == 2:
        return _exact(mdp.rewards[s, a])
    return arithmetic.total(arithmetic.multiply(_exact(mdp.transitions[s, a, t]),
                                                _exact(mdp.rewards[s, a, t]))
                            for t in np.flatnonzero(mdp.transitions[s, a]))


def _magnitude(interval):
    """A lower bound on |x| over an interval."""
    lo, hi = interval
    return ZERO if lo <= 0 <= hi else min(lo.copy_abs(), hi.copy_abs())


def _positive_part(interval, sign: int):
    """max(sign · r, 0) of an interval r (still an enclosure)."""
    lo, hi = interval if sign > 0 else (interval[1].copy_negate(), interval[0].copy_negate())
    return max(lo, ZERO), max(hi, ZERO)


def at_needed_precision(mdp, compute):
    r"""``compute(arithmetic)`` — a list of intervals, and a lower bound G ≥ 0 on the size of
    the terms they sum (0 where there is no such scale) — at P = :data:`FIRST_DIGITS` digits
    and more until the widest half-width is at most :data:`HALF_WIDTH` of max(largest
    |midpoint|, G) (∇𝒥's norm-wise rule against its terms, as in :mod:`pgref.exact.gradient`);
    the midpoints as float64, or None: elimination beyond :data:`MOST_OPERATIONS`, or its work
    times P beyond :data:`MOST_WORK_DIGITS`, or P beyond :data:`MOST_DIGITS`, or a largest
    entry outside float64's normal range."""
    live = np.flatnonzero(~mdp.terminal)
    reach = mdp.transitions[live][:, :, live].max(axis=1) > 0                  # (n, n)
    work = elimination_work([set(np.flatnonzero(row).tolist()) for row in reach])
    if work > MOST_OPERATIONS:
        return None
    digits = FIRST_DIGITS
    while digits <= MOST_DIGITS and work * digits <= MOST_WORK_DIGITS:
        arithmetic = Intervals(digits)
        try:
            enclosed, size = compute(arithmetic)
        except ArithmeticError:          # a pivot's lower bound not positive: too few digits
            digits *= 2
            continue
        near, up = arithmetic.near, arithmetic.up
        middles = [near.divide(near.add(lo, hi), 2) for lo, hi in enclosed]
        largest = max((m.copy_abs() for m in middles), default=ZERO)
        widest = max((up.divide(up.subtract(hi, lo), 2) for lo, hi in enclosed), default=ZERO)
        scale = max(largest, size)
        if widest <= Decimal(HALF_WIDTH) * scale:
            if largest != 0 and not SMALLEST <= largest <= LARGEST:
                return None                                 # beyond float64's normal range
            return np.array([float(m) for m in middles])   # smaller ones: within 1e−10 of it
        # the digits short of HALF_WIDTH (all of them again if nothing is known yet)
        short = math.ceil(up.divide(widest, scale).log10()) + 10 if scale > 0 else digits
        digits += max(10, short + 2)
    return None


def gradient(mdp, policy, theta: np.ndarray, visits_gamma: float | None = None,
             normalised: bool = False):
    r"""∇𝒥(θ) (blog: "Policy gradient from the lens of Bellman") of a policy that
    :func:`encloses` accepts, or with ``visits_gamma`` = 1 the γᵗ-dropped direction
    Σ_s n₁(s) Σ_a q_γ ∇π, or with ``normalised`` either divided by Σ_s n(s) (the lecture's
    E_{S∼d_π} form), as float64 (n_params,), every component within 1e−10 of the largest; or
    None (:func:`at_needed_precision`, or a policy not enclosed)."""
    if not encloses(policy):
        return None
    gamma = mdp.gamma if visits_gamma is None else visits_gamma
    return at_needed_precision(mdp, lambda arithmetic: _gradient(
        arithmetic, mdp, policy, theta, gamma, normalised))


def total_visits(mdp, policy, theta: np.ndarray) -> float | None:
    r"""Σ_s n(s), the expected discounted episode length under π_θ (blog: the step to μ, whose
    normaliser it is), from Mᵀn = p₀; or None."""
    if not encloses(policy):
        return None

    def compute(arithmetic):
        pi = policy_tables(arithmetic, policy, theta)[0]
        return [arithmetic.total(_visits(arithmetic, mdp, pi, mdp.gamma))], ZERO

    result = at_needed_precision(mdp, compute)
    return None if result is None else float(result[0])


def objective(mdp, policy, theta: np.ndarray) -> float | None:
    r"""𝒥(θ) = Σ_s p₀(s) v_π(s) (lecture: "Training Policy Network") of a policy that
    :func:`encloses` accepts, as a float within 1e−10 of itself; or None."""
    if not encloses(policy):
        return None

    def compute(arithmetic):
        values = _values(arithmetic, mdp, policy_tables(arithmetic, policy, theta)[0])
        return [arithmetic.total(arithmetic.multiply(_exact(mdp.initial[s]), values[s])
                                 for s in range(mdp.n_states))], ZERO

    result = at_needed_precision(mdp, compute)
    return None if result is None else float(result[0])


def state_values(mdp, pi: np.ndarray) -> np.ndarray | None:
    r"""v_π (S,) of a policy table π (S, A), taken with its own rounding (:func:`table_intervals`;
    lecture: "Policy Gradient Theorem", the Bellman equation), every entry within 1e−10 of
    max|v|; or None."""
    return at_needed_precision(mdp, lambda arithmetic: (
        _values(arithmetic, mdp, table_intervals(arithmetic, pi)), ZERO))


def action_values(mdp, pi: np.ndarray) -> np.ndarray | None:
    r"""q_π(s, a) = r(s, a) + γ Σ_s′ p(s′|s, a) v_π(s′) (lecture: "Policy Gradient Theorem"),
    (S, A), of a policy table (S, A) taken with its own rounding, every entry within 1e−10 of
    max|q|; or None."""
    def compute(arithmetic):
        table = table_intervals(arithmetic, pi)
        q = _action_values(arithmetic, mdp, _values(arithmetic, mdp, table))
        return [entry for row in q for entry in row], ZERO

    result = at_needed_precision(mdp, compute)
    return None if result is None else result.reshape(mdp.n_states, mdp.n_actions)


def advantages(mdp, pi: np.ndarray) -> np.ndarray | None:
    r"""A_π = q_π − v_π (lecture: "Policy Gradient Theorem", the baseline v_π), (S, A), of a
    policy table (S, A) taken with its own rounding, as Σ_{b≠a} π_b (q_a − q_b), every entry
    within 1e−10 of max|A|; or None."""
    def compute(arithmetic):
        table = table_intervals(arithmetic, pi)
        q = _action_values(arithmetic, mdp, _values(arithmetic, mdp, table))
        return [entry for row in _advantages(arithmetic, table, q) for entry in row], ZERO

    result = at_needed_precision(mdp, compute)
    return None if result is None else result.reshape(mdp.n_states, mdp.n_actions)
