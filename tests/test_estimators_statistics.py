"""Statistical tests: the Monte-Carlo estimators converge to the exact policy gradient.

Every sample here comes from a fixed seed, so each test is deterministic. Each test states the
probability that it would fail for a fresh seed when the code is right (its false-failure rate)
and, where it is meant to catch bugs, its power against them; both are computed from the exact
covariance of the per-episode terms (:func:`pgref.exact.estimator_covariance`), not assumed, and
the power is shown by positive controls: the bugged estimators of tests/bugged_estimators.py.

The main check compares a mean of K per-episode terms with an exact vector g by

    T² = K (m − g)ᵀ Σ⁺ (m − g) ≈ χ²_r,

with Σ the EXACT covariance of one episode's term and r its rank (softmax scores sum to zero over
actions, so Σ can be singular by construction; m − g must then lie in its range, which is
checked too). The χ² quantile is computed exactly (closed-form tail for integer r). Its rate is
nominal by the central limit theorem; with the exact Σ there is no inflation from estimating Σ
(the gridworld's T²/r of 1.11–1.15 under the sample covariance came from that), and the stated
bounds allow a factor 10 above the nominal rate for the CLT's error in the far tail.

Power against a bug whose estimate tends to g + δ with per-episode covariance Σ_b: for any u,
T² ≥ K (uᵀ(m − g))² / (uᵀΣu), and uᵀ(m − g) ≈ N(uᵀδ, uᵀΣ_b u / K), so with u = Σ⁺δ

    power ≥ Φ((√K |uᵀδ| − √(c uᵀΣu)) / √(uᵀΣ_b u)),   c the χ² threshold,

a one-dimensional normal probability. δ and Σ_b of each bug come from listing every trajectory
of the test problem with its probability (tests/enumeration.py; < 1e-4 of the mass left out,
enough for a power to 3 digits).
"""

import dataclasses
import math
from functools import cache

import numpy as np
import pytest
from helpers import NORMAL, POWER_Z, chi_square_quantile, chi_square_tail, z_critical
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pgref import envs, exact
from pgref.estimators import (
    GradientEstimate,
    pg_v1,
    reinforce,
    visit_counts,
    visit_frequencies,
)
from pgref.policies import SoftmaxLinearPolicy
from pgref.rollout import Episodes, sample_episodes
from tests import bugged_estimators
from tests.enumeration import enumerate_episodes, fast_ending_mdp

# -- statistics helpers -------------------------------------------------------------------------

def _range(covariance: np.ndarray):
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    kept = eigenvalues > 1e-10 * max(eigenvalues.max(), 1e-300)
    return eigenvalues[kept], eigenvectors[:, kept], eigenvectors[:, ~kept]


def t_squared(mean, reference, covariance, n_episodes: int) -> tuple[float, int]:
    """K (m − g)ᵀ Σ⁺ (m − g) on the range of Σ and that range's dimension; inf when m − g has
    a component where one episode's term has no variance at all."""
    difference = np.asarray(mean) - np.asarray(reference)
    eigenvalues, inside, outside = _range(covariance)
    if np.linalg.norm(outside.T @ difference) > 1e-9 * (1.0 + np.linalg.norm(reference)):
        return math.inf, eigenvalues.size
    coordinates = inside.T @ difference
    return float(n_episodes * (coordinates ** 2 / eigenvalues).sum()), eigenvalues.size


def assert_consistent(mean, reference, covariance, n_episodes: int,
                      false_failure: float = 1e-7) -> None:
    """T² below the χ²_r quantile 1 − ``false_failure``."""
    statistic, dof = t_squared(mean, reference, covariance, n_episodes)
    threshold = chi_square_quantile(1.0 - false_failure, dof)
    assert statistic < threshold, f"T² = {statistic:.1f} ≥ {threshold:.1f} (χ²_{dof})"


def power_lower_bound(delta, covariance, bug_covariance, n_episodes: int,
                      false_failure: float = 1e-7) -> float:
    """Pr(T² ≥ threshold) ≥ Φ((√K |uᵀδ| − √(c uᵀΣu)) / √(uᵀΣ_b u)), u = Σ⁺δ (module notes)."""
    eigenvalues, inside, outside = _range(covariance)
    if np.linalg.norm(outside.T @ delta) > 1e-6 * (1.0 + np.linalg.norm(delta)):
        return 1.0  # the bug leaves the range of Σ: m − g does too, whatever the sample
    threshold = chi_square_quantile(1.0 - false_failure, eigenvalues.size)
    u = inside @ ((inside.T @ delta) / eigenvalues)
    spread = math.sqrt(max(u @ bug_covariance @ u, 1e-300))
    shift = math.sqrt(n_episodes) * abs(u @ delta) - math.sqrt(threshold * (u @ covariance @ u))
    return NORMAL.cdf(shift / spread)


def test_chi_square_tail_against_known_values():
    """χ²₁ tail = 2Φ(−√x); χ²₂ tail = e^{−x/2}; the 0.95 quantile of χ²₃ is 7.8147."""
    assert chi_square_tail(4.0, 1) == pytest.approx(2 * NORMAL.cdf(-2.0), rel=1e-12, abs=0)
    assert chi_square_tail(3.0, 2) == pytest.approx(math.exp(-1.5), rel=1e-12, abs=0)
    assert chi_square_quantile(0.95, 3) == pytest.approx(7.814728, rel=1e-6)
    assert chi_square_quantile(0.99, 4) == pytest.approx(13.276704, rel=1e-6)


# -- the designed problem: every bug of the catalogue is visible --------------------------------


@dataclasses.dataclass(frozen=True)
class Designed:
    mdp: object
    policy: object
    theta: np.ndarray
    episodes: object
    n_episodes: int

    @property
    def gamma(self) -> float:
        return self.mdp.gamma

    @property
    def gradient(self) -> np.ndarray:
        return exact.policy_gradient(self.mdp, self.policy, self.theta)

    @property
    def action_values(self) -> np.ndarray:
        return exact.action_values(self.mdp, self.policy.action_probs(self.theta))


DESIGNED_EPISODES = 10_000


@cache
def designed(gamma: float) -> Designed:
    """Two live states, two actions, three random features (Σ of full rank). Action 0 pays
    about +1 and action 1 about −1 (plus 0.3·N(0, 1) per transition, so the reward depends on
    the next state), and each step ends the episode with probability 0.5–0.7 (E[T] ≈ 1.6):
    the gradient is large against the per-episode noise, Gₜ₊₁ ≠ Gₜ, and long episodes exist.
    Chosen (seed 9 of 12 searched) as the one needing the fewest episodes for power 0.999
    against every bug; K = 10 000 gives a factor ≥ 1.9 over the worst (see the power test).
    """
    rng = np.random.default_rng(9)
    base = fast_ending_mdp(rng, 2, 2, gamma, end_probability=(0.5, 0.7))
    rewards = 0.3 * base.rewards
    rewards[:2, 0] += 1.0
    rewards[:2, 1] -= 1.0
    mdp = dataclasses.replace(base, rewards=rewards)
    policy = SoftmaxLinearPolicy(rng.standard_normal((4, 2, 3)))
    theta = 0.5 * rng.standard_normal(3)
    seed = 11 if gamma == 1.0 else 12
    episodes = sample_episodes(mdp, policy, theta, DESIGNED_EPISODES,
                               np.random.default_rng(seed))
    return Designed(mdp, policy, theta, episodes, DESIGNED_EPISODES)


@cache
def listed(gamma: float):
    case = designed(gamma)
    return enumerate_episodes(case.mdp, case.policy.action_probs(case.theta), tolerance=1e-4,
                              smallest=1e-9)


def bug_moments(gamma: float, bug) -> tuple[np.ndarray, np.ndarray]:
    """δ = lim estimate − ∇J and the covariance Σ_b of the bug's linearised per-episode term
    on the designed problem (:func:`listed_bug_moments`)."""
    case = designed(gamma)
    return listed_bug_moments(case.mdp, case.policy, case.theta, listed(gamma), bug)


def listed_bug_moments(mdp, policy, theta, trajectories, bug) -> tuple[np.ndarray, np.ndarray]:
    """δ = lim estimate − ∇J and the covariance Σ_b of the bug's linearised per-episode term,
    yₖ = (xₖ − ℓ wₖ) / E[w] with ℓ = E[x] / E[w], from the listed ``trajectories``."""
    q = exact.action_values(mdp, policy.action_probs(theta))
    estimate = bug(policy, theta, trajectories.episodes, mdp.gamma, q)
    mean_weight = trajectories.mean(estimate.weights)
    limit = trajectories.mean(estimate.terms) / mean_weight
    linearised = (estimate.terms - limit * estimate.weights[:, None]) / mean_weight
    return limit - exact.policy_gradient(mdp, policy, theta), trajectories.covariance(linearised)


def targeted(gamma: float):
    return [name for name in bugged_estimators.BUGS if gamma < 1.0 or name != "γᵗ dropped"]


DESIGNED = [pytest.param(1.0, id="γ = 1"), pytest.param(0.8, id="γ = 0.8")]


@pytest.mark.parametrize("gamma", DESIGNED)
def test_the_catalogue_s_correct_estimator_is_pgref_s(gamma):
    case = designed(gamma)
    mine = bugged_estimators.correct(case.policy, case.theta, case.episodes, gamma)
    np.testing.assert_allclose(
        mine.terms, reinforce(case.policy, case.theta, case.episodes, gamma).per_episode,
        atol=1e-12)


@pytest.mark.parametrize("gamma", DESIGNED)
def test_reinforce_is_consistent_with_the_exact_gradient(gamma):
    """T² with the exact Σ, K = 10 000: nominal false failure 1e-7 (≤ 1e-6 with the CLT
    allowance). Power ≥ 0.999 against every bug of the catalogue (γᵗ dropped only at γ < 1):
    computed in test_power_against_each_bug, shown in test_each_bug_is_rejected."""
    case = designed(gamma)
    estimate = reinforce(case.policy, case.theta, case.episodes, gamma)
    covariance = exact.estimator_covariance(case.mdp, case.policy, case.theta, "reinforce")
    assert_consistent(estimate.mean, case.gradient, covariance, case.n_episodes)


@pytest.mark.parametrize("gamma", DESIGNED)
def test_power_against_each_bug(gamma):
    """The power of the REINFORCE test against each bug, from the listed trajectories: ≥ 0.999,
    and still ≥ 0.999 with half the episodes (so K = 10 000 has a margin)."""
    case = designed(gamma)
    covariance = exact.estimator_covariance(case.mdp, case.policy, case.theta, "reinforce")
    for name in targeted(gamma):
        delta, bug_covariance = bug_moments(gamma, bugged_estimators.BUGS[name])
        power = power_lower_bound(delta, covariance, bug_covariance, case.n_episodes // 2)
        assert power >= 0.999, f"{name}: power {power:.4f}"


@pytest.mark.parametrize(("gamma", "name"), [(gamma, name) for gamma in (1.0, 0.8)
                                             for name in targeted(gamma)])
def test_each_bug_is_rejected(gamma, name):
    """Positive controls: the consistency test of REINFORCE fails on each bugged estimator, run
    on the same episodes (a fresh seed passes it with probability ≤ 1 − power ≤ 1e-3)."""
    case = designed(gamma)
    bug = bugged_estimators.BUGS[name]
    estimate = bug(case.policy, case.theta, case.episodes, gamma, case.action_values)
    covariance = exact.estimator_covariance(case.mdp, case.policy, case.theta, "reinforce")
    with pytest.raises(AssertionError, match="T²"):
        assert_consistent(estimate.mean, case.gradient, covariance, case.n_episodes)


def _other_estimates(case: Designed):
    """pg_v1, REINFORCE with J(θ) and with v_π: (estimate, exact covariance) of each."""
    mdp, policy, theta, gamma = case.mdp, case.policy, case.theta, case.gamma
    J = exact.objective(mdp, policy, theta)
    values = exact.state_values(mdp, policy.action_probs(theta))
    return {
        "pg_v1": (pg_v1(policy, theta, case.episodes, gamma),
                  exact.estimator_covariance(mdp, policy, theta, "pg_v1")),
        "reinforce, J(θ) baseline": (
            reinforce(policy, theta, case.episodes, gamma, baseline=J),
            exact.estimator_covariance(mdp, policy, theta, "reinforce", J)),
        "reinforce, v_π baseline": (
            reinforce(policy, theta, case.episodes, gamma, baseline=values),
            exact.estimator_covariance(mdp, policy, theta, "reinforce", values)),
    }


@pytest.mark.parametrize("gamma", DESIGNED)
def test_pg_v1_and_baselines_are_consistent_and_would_see_a_factor_1_1(gamma):
    """T² with the exact Σ of each estimator, K = 10 000: nominal false failure 1e-7 each.
    Power against the same estimator scaled by 1.1 (δ = 0.1 ∇J, Σ_b = 1.21 Σ, both exact):
    computed ≥ 0.999 here, and the scaled estimates are rejected (positive controls)."""
    case = designed(gamma)
    for name, (estimate, covariance) in _other_estimates(case).items():
        assert_consistent(estimate.mean, case.gradient, covariance, case.n_episodes)
        power = power_lower_bound(0.1 * case.gradient, covariance, 1.21 * covariance,
                                  case.n_episodes)
        assert power >= 0.999, f"{name}: power {power:.4f}"
        with pytest.raises(AssertionError, match="T²"):
            assert_consistent(1.1 * estimate.mean, case.gradient, covariance, case.n_episodes)


def test_dropping_gamma_t_estimates_the_dropped_direction():
    """γ = 0.8: the γᵗ-dropped REINFORCE is consistent with exact.gamma_dropped_direction
    (T² with its exact Σ, nominal false failure 1e-7); power against 1.1 × itself ≥ 0.999."""
    case = designed(0.8)
    estimate = reinforce(case.policy, case.theta, case.episodes, 0.8, discount_weighting=False)
    direction = exact.gamma_dropped_direction(case.mdp, case.policy, case.theta)
    covariance = exact.estimator_covariance(case.mdp, case.policy, case.theta, "reinforce",
                                            discount_weighting=False)
    assert_consistent(estimate.mean, direction, covariance, case.n_episodes)
    assert power_lower_bound(0.1 * direction, covariance, 1.21 * covariance,
                             case.n_episodes) >= 0.999


# -- problems (sampled once per module) ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    mdp: object
    policy: object
    theta: np.ndarray
    episodes: object
    gradient: np.ndarray  # exact ∇J
    objective: float  # exact J, the constant baseline
    values: np.ndarray  # exact v_π, the state baseline

    def estimate(self, name: str) -> GradientEstimate:
        gamma = self.mdp.gamma
        if name == "pg_v1":
            return pg_v1(self.policy, self.theta, self.episodes, gamma)
        if name == "reinforce":
            return reinforce(self.policy, self.theta, self.episodes, gamma)
        if name == "reinforce, constant baseline":
            return reinforce(self.policy, self.theta, self.episodes, gamma,
                             baseline=self.objective)
        if name == "reinforce, v_π baseline":
            return reinforce(self.policy, self.theta, self.episodes, gamma, baseline=self.values)
        if name == "reinforce, γᵗ dropped":
            return reinforce(self.policy, self.theta, self.episodes, gamma,
                             discount_weighting=False)
        raise KeyError(name)

    def covariance(self, name: str) -> np.ndarray:
        """The exact covariance of one episode's term of estimator ``name``."""
        mdp, policy, theta = self.mdp, self.policy, self.theta
        if name == "pg_v1":
            return exact.estimator_covariance(mdp, policy, theta, "pg_v1")
        baseline = {"reinforce, constant baseline": self.objective,
                    "reinforce, v_π baseline": self.values}.get(name)
        return exact.estimator_covariance(mdp, policy, theta, "reinforce", baseline,
                                          discount_weighting=name != "reinforce, γᵗ dropped")

    def check(self, name: str, reference) -> None:
        """T² of estimator ``name`` against ``reference`` with its exact Σ (nominal 1e-7)."""
        assert_consistent(self.estimate(name).mean, reference, self.covariance(name),
                          self.episodes.n_episodes)


ESTIMATORS = ("pg_v1", "reinforce", "reinforce, constant baseline", "reinforce, v_π baseline")


def _case(problem, theta, n_episodes: int, seed: int, gamma: float | None = None) -> Case:
    mdp = problem.mdp if gamma is None else dataclasses.replace(problem.mdp, gamma=gamma)
    policy = SoftmaxLinearPolicy(problem.features)
    episodes = sample_episodes(mdp, policy, theta, n_episodes, np.random.default_rng(seed))
    return Case(mdp, policy, theta, episodes, exact.policy_gradient(mdp, policy, theta),
                exact.objective(mdp, policy, theta),
                exact.state_values(mdp, policy.action_probs(theta)))


@cache
def problem(name: str) -> Case:
    if name == "short corridor":  # γ = 1, p(right) = σ(0.3) ≈ 0.57, mean length ≈ 11.7
        return _case(envs.short_corridor(), np.array([0.3, 0.0]), 10_000, seed=1)
    if name == "short corridor, γ = 0.9":
        return _case(envs.short_corridor(), np.array([0.3, 0.0]), 10_000, seed=2, gamma=0.9)
    grid = envs.gridworld(4, 3)  # 12 cells, 48 parameters; 11 live cells × 3 identifiable
    theta = 0.5 * np.random.default_rng(0).standard_normal(grid.features.shape[-1])
    if name == "gridworld":
        return _case(grid, theta, 5_000, seed=3)
    if name == "gridworld, γ = 0.9":
        return _case(grid, theta, 5_000, seed=4, gamma=0.9)
    raise KeyError(name)


PROBLEMS = ("short corridor", "short corridor, γ = 0.9", "gridworld", "gridworld, γ = 0.9")


# -- random MDPs ----------------------------------------------------------------------------


@settings(derandomize=True)  # fixed examples: the test is deterministic like the others
@given(seed=st.integers(0, 2**32 - 1), n_live=st.integers(2, 5), n_actions=st.integers(2, 3),
       gamma=st.one_of(st.just(1.0), st.floats(0.5, 0.95)), tabular=st.booleans(),
       termination_prob=st.floats(0.2, 0.5), scale=st.floats(0.0, 1.0))
def test_estimators_on_random_mdps(seed, n_live, n_actions, gamma, tabular, termination_prob,
                                   scale):
    """Random MDPs, γ < 1 and episodic γ = 1, K = 2000: every estimator against ∇J, and with
    γ < 1 the γᵗ-dropped one against its exact direction.

    The CLT needs every (s, a) sampled often, so draws where some (s, a) is expected fewer than
    20 times in K episodes are discarded (about 1 in 75). False failure: nominal 1e-7 per check
    (T² with the exact Σ beyond the exact χ² 1 − 1e-7 quantile), ≤ 5 checks per example: ≤ 5e-7
    nominal, ≤ 5e-6 per example with the CLT allowance (a cell seen ~20 times is far from
    normal; the exact Σ removes the inflation a sample covariance adds on top). This test
    targets no bug of the catalogue (the designed problem does); it checks every estimator on
    varied shapes, features and γ.
    """
    rng = np.random.default_rng(seed)
    generated = envs.random_mdp(rng, n_live + 1, n_actions, gamma=gamma, n_terminal=1,
                                termination_prob=termination_prob,
                                n_features=None if tabular else 3)
    mdp, policy = generated.mdp, SoftmaxLinearPolicy(generated.features)
    theta = (scale if tabular else scale / 2) * rng.standard_normal(policy.n_params)
    pi = policy.action_probs(theta)
    n_episodes = 2_000
    expected_visits = n_episodes * exact.undiscounted_visits(mdp, pi)[:, None] * pi
    assume(expected_visits[~mdp.terminal].min() >= 20)
    episodes = sample_episodes(mdp, policy, theta, n_episodes, rng)
    case = Case(mdp, policy, theta, episodes, exact.policy_gradient(mdp, policy, theta),
                exact.objective(mdp, policy, theta), exact.state_values(mdp, pi))
    for estimator in ESTIMATORS:
        case.check(estimator, case.gradient)
    if gamma < 1.0:
        case.check("reinforce, γᵗ dropped", exact.gamma_dropped_direction(mdp, policy, theta))


# -- the error shrinks like K^(−1/2), and the intervals cover -----------------------------------

RATE_LEVELS = (100, 1_000, 10_000)


@cache
def rate_case() -> Case:
    """3 states (one terminal), 2 actions, mean length < 2: 300 000 cheap episodes."""
    generated = envs.random_mdp(np.random.default_rng(2), 3, 2, gamma=1.0, n_terminal=1,
                                termination_prob=0.5)
    theta = 0.5 * np.random.default_rng(0).standard_normal(6)
    return _case(generated, theta, 300_000, seed=5)


def _batch_means(per_episode: np.ndarray, batch_size: int) -> np.ndarray:
    """Means of consecutive disjoint batches of ``batch_size`` episodes: (n_batches, n)."""
    return _batch_estimates(bugged_estimators.RatioEstimate(
        per_episode, np.ones(per_episode.shape[0])), batch_size)


def _batch_estimates(estimate, batch_size: int) -> np.ndarray:
    """Σ xₖ / Σ wₖ over consecutive disjoint batches of ``batch_size`` episodes of a
    RatioEstimate (the mean of each batch when every wₖ = 1): (n_batches, n)."""
    n_batches = estimate.terms.shape[0] // batch_size
    kept = n_batches * batch_size
    terms = estimate.terms[:kept].reshape(n_batches, batch_size, -1).sum(axis=1)
    weights = estimate.weights[:kept].reshape(n_batches, batch_size).sum(axis=1)
    return terms / weights[:, None]


Z_DESIGNED = 5.3
"""|z| bound of the two tests below: 2Φ(−5.3) = 1.2e−7 per statistic (normal approximation)."""


def rate_z(estimate, gradient: np.ndarray, covariance: np.ndarray) -> list[float]:
    r"""z of each level K of RATE_LEVELS: (mean over disjoint batches of ‖m_K − ∇J‖² − tr Σ/K)
    over its standard error √(2 tr Σ² / n_b) / K, Σ the exact covariance of one episode's term."""
    trace, trace_of_square = np.trace(covariance), np.trace(covariance @ covariance)
    z = []
    for k in RATE_LEVELS:
        means = _batch_estimates(estimate, k)
        squared = ((means - gradient) ** 2).sum(axis=1).mean()
        z.append((squared - trace / k) / (math.sqrt(2 * trace_of_square / means.shape[0]) / k))
    return z


def rate_power(delta: np.ndarray, covariance: np.ndarray, bug_covariance: np.ndarray,
               n_episodes: int) -> float:
    r"""A lower bound on the probability that :func:`rate_z` leaves ±Z_DESIGNED for a bug whose
    batch estimate m_K ≈ N(∇J + δ, Σ_b/K): at each level the mean of ‖m_K − ∇J‖² over n_b
    batches has mean ‖δ‖² + tr Σ_b/K and variance (2 tr Σ_b²/K² + 4 δᵀΣ_bδ/K)/n_b; the chance
    that it rises above tr Σ/K + Z_DESIGNED·(its standard error) in the normal approximation,
    as for T² (:func:`power_lower_bound`); the best level counts."""
    trace, trace_of_square = np.trace(covariance), np.trace(covariance @ covariance)
    bounds = []
    for k in RATE_LEVELS:
        n_batches = n_episodes // k
        error = math.sqrt(2 * trace_of_square / n_batches) / k
        margin = delta @ delta + (np.trace(bug_covariance) - trace) / k - Z_DESIGNED * error
        variance = (2 * np.trace(bug_covariance @ bug_covariance) / k ** 2
                    + 4 * delta @ bug_covariance @ delta / k) / n_batches
        bounds.append(NORMAL.cdf(margin / math.sqrt(variance)))
    return max(bounds)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_the_error_shrinks_like_one_over_root_k(estimator):
    r"""E‖m_K − ∇J‖² = tr Σ / K exactly, Σ the exact covariance of one episode's term: the mean
    of ‖m_K − ∇J‖² over 3000, 300 and 30 disjoint batches of K = 10², 10³, 10⁴ episodes, each
    against tr Σ / K by its standard error √(2 tr Σ² / n_b) / K (m_K normal for K ≥ 100).

    False failure: 1.2e−7 per level, 3.5e−7 per test. Power, computed from Σ: a bias b with
    ‖b‖² = tr Σ / 1000 (one standard error of a K = 1000 estimate, an error that does not
    shrink) moves the K = 10⁴ statistic by 10·√(n_b/2)·tr Σ/√(tr Σ²), 52–54 standard errors
    here (asserted ≥ 38.4): 1. The bugs of the catalogue: see the positive controls below.
    """
    case = rate_case()
    covariance = case.covariance(estimator)
    per_episode = case.estimate(estimator).per_episode
    z = rate_z(bugged_estimators.RatioEstimate(per_episode, np.ones(per_episode.shape[0])),
               case.gradient, covariance)
    assert np.all(np.abs(z) < Z_DESIGNED), z
    trace, trace_of_square = np.trace(covariance), np.trace(covariance @ covariance)
    n_batches = case.episodes.n_episodes // RATE_LEVELS[-1]
    error = math.sqrt(2 * trace_of_square / n_batches) / RATE_LEVELS[-1]
    assert (trace / 1000) / error >= Z_DESIGNED + POWER_Z + 30


@cache
def rate_listed():
    case = rate_case()
    return enumerate_episodes(case.mdp, case.policy.action_probs(case.theta), tolerance=1e-4,
                              smallest=1e-9)


@pytest.mark.parametrize("name", [name for name in bugged_estimators.BUGS
                                  if name != "γᵗ dropped"])  # the rate case has γ = 1
def test_the_rate_check_fails_on_each_bug(name):
    r"""Positive controls of :func:`test_the_error_shrinks_like_one_over_root_k`: each bug of the
    catalogue (γ = 1 here, so not the dropped γᵗ) leaves an error that does not shrink, and the
    check run on its estimates from the same 300 000 episodes fails. Power from its exact δ and
    Σ_b (every trajectory listed, < 1e−4 of the mass left out): ≥ 0.999 for each (the
    weakest, the factor 1.1: its statistic at K = 10⁴ shifts by about 100 standard errors)."""
    case = rate_case()
    bug = bugged_estimators.BUGS[name]
    covariance = case.covariance("reinforce")
    delta, bug_covariance = listed_bug_moments(case.mdp, case.policy, case.theta,
                                               rate_listed(), bug)
    assert rate_power(delta, covariance, bug_covariance, case.episodes.n_episodes) >= 0.999
    estimate = bug(case.policy, case.theta, case.episodes, 1.0,
                   exact.action_values(case.mdp, case.policy.action_probs(case.theta)))
    z = rate_z(estimate, case.gradient, covariance)
    assert max(abs(value) for value in z) >= Z_DESIGNED, z


def standard_error_spread(per_episode: np.ndarray, exact_variance: np.ndarray) -> np.ndarray:
    r"""The standard deviation of K·SE² = s² as an estimate of Σᵢᵢ, √((μ₄ − Σᵢᵢ²)/K), μ₄ the
    sample fourth central moment of the terms, for each component with variance."""
    centred = per_episode - per_episode.mean(axis=0)
    fourth = (centred ** 4).mean(axis=0)
    return np.sqrt((fourth - exact_variance ** 2) / per_episode.shape[0])[exact_variance > 0]


def standard_error_z(per_episode: np.ndarray, standard_error: np.ndarray,
                     exact_variance: np.ndarray) -> np.ndarray:
    r"""z of K·SE² against the exact Σᵢᵢ for each component with variance, in units of
    :func:`standard_error_spread`."""
    sampled = per_episode.shape[0] * standard_error ** 2
    return ((sampled - exact_variance)[exact_variance > 0]
            / standard_error_spread(per_episode, exact_variance))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_the_standard_error_is_the_exact_one_over_root_k(estimator):
    r"""The library's standard error of the 300 000-episode estimate against √(Σᵢᵢ/K), Σ exact,
    by :func:`standard_error_z`: |z| < Z_DESIGNED for each of the 4 components with variance.
    The interval of ``confidence_interval(0.95)`` is then mean ± Φ⁻¹(0.975)·SE exactly (the
    coverage it reaches is checked without sampling by the tests of the rare-action bandit
    below).

    False failure: 1.2e−7 per component, ≤ 5e−7 for the 4 components with variance (normal
    approximation). Power, computed: a standard error off by √2 either way (a variance halved
    or doubled) moves z by at least 37 here (asserted ≥ 16.4), and one without the 1/√K by far
    more: 1. Positive controls: the check fails on those three standard errors.
    """
    case = rate_case()
    estimate = case.estimate(estimator)
    per_episode, n_episodes = estimate.per_episode, estimate.n_episodes
    exact_variance = np.diag(case.covariance(estimator))
    has_variance = exact_variance > 0
    assert has_variance.sum() == 4
    standard_error = estimate.standard_error()
    z = standard_error_z(per_episode, standard_error, exact_variance)
    assert np.all(np.abs(z) < Z_DESIGNED), z
    assert np.all(0.5 * exact_variance[has_variance]
                  / standard_error_spread(per_episode, exact_variance) >= Z_DESIGNED + POWER_Z + 8)
    for wrong in (math.sqrt(2) * standard_error, standard_error / math.sqrt(2),
                  math.sqrt(n_episodes) * standard_error):
        assert np.all(np.abs(standard_error_z(per_episode, wrong, exact_variance))
                      >= Z_DESIGNED)
    interval = estimate.confidence_interval(0.95)
    half = NORMAL.inv_cdf(0.975) * standard_error
    np.testing.assert_allclose(interval.upper - estimate.mean, half, rtol=1e-12)
    np.testing.assert_allclose(estimate.mean - interval.lower, half, rtol=1e-12)


# -- variance: reward-to-go and baselines help where theory says so, means agree -----------------


@pytest.mark.parametrize("name", ["short corridor", "gridworld"])
@pytest.mark.parametrize(("whole", "reduced"), [
    ("pg_v1", "reinforce"),
    ("reinforce", "reinforce, constant baseline"),
    ("reinforce", "reinforce, v_π baseline"),
])
def test_reward_to_go_and_baselines_lower_the_variance(name, whole, reduced):
    """On step-cost problems (every step pays −1) the weights are large: G(τ) = −T multiplies
    every score by rewards earned before it, which the causality trick removes, and a baseline
    b ≈ E[Gₜ | Sₜ] removes most of what is left. Theory: both removed terms have mean zero.

    The ordering is now exact (tr Σ from exact.estimator_covariance, ratio < 0.7; exact ratios
    0.34–0.47): no false failure. (The former paired z > 4 stated < 1e-9 but was about 1e-3.)
    For a baseline, the removed term x − y = Σₜ γᵗ b(Sₜ) ∇ log π has mean 0 and an exact
    covariance (REINFORCE's on the same MDP with every reward 0 and baseline −b): its sample
    mean is tested by T² with that Σ, nominal false failure 1e-7 (≤ 1e-6 with the CLT
    allowance).
    """
    case = problem(name)
    ratio = np.trace(case.covariance(reduced)) / np.trace(case.covariance(whole))
    assert ratio < 0.7, ratio
    if whole == "reinforce":
        baseline = case.objective if "constant" in reduced else case.values
        silent = dataclasses.replace(case.mdp, rewards=np.zeros_like(case.mdp.rewards))
        covariance = exact.estimator_covariance(silent, case.policy, case.theta, "reinforce",
                                                -baseline)
        differences = case.estimate(whole).per_episode - case.estimate(reduced).per_episode
        assert_consistent(differences.mean(axis=0), np.zeros(differences.shape[1]), covariance,
                          differences.shape[0])


# -- dropping γᵗ: a different vector --------------------------------------------------------------


def test_dropping_gamma_t_estimates_the_dropped_direction_not_the_gradient():
    """Gridworld, γ = 0.9, K = 5000: consistent with exact.gamma_dropped_direction (T² with the
    exact Σ of the γᵗ-dropped term, nominal false failure 1e-7), and rejected as an estimate of
    ∇J at the same level, with power ≥ 0.999 computed from the exact Σ and δ = d − ∇J."""
    case = problem("gridworld, γ = 0.9")
    dropped = case.estimate("reinforce, γᵗ dropped")
    direction = exact.gamma_dropped_direction(case.mdp, case.policy, case.theta)
    covariance = case.covariance("reinforce, γᵗ dropped")
    K = dropped.n_episodes
    assert_consistent(dropped.mean, direction, covariance, K)
    assert power_lower_bound(direction - case.gradient, covariance, covariance, K) >= 0.999
    with pytest.raises(AssertionError, match="T²"):
        assert_consistent(dropped.mean, case.gradient, covariance, K)
    assert not np.allclose(direction, case.gradient, rtol=0.1)


# -- averaging over episodes, not over time steps -------------------------------------------------


def test_averaging_over_time_steps_estimates_a_different_vector():
    """Short corridor, γ = 1, lengths from 1 to ~80 steps.

    pgref's 1/K Σₖ is consistent with ∇J (the main test). The per-time-step average
    Σₖ xₖ / Σₖ T_k converges instead to ∇J / E[T] = the lecture's E_{S∼d_π}[q ∇ log π]
    (exact.normalised_policy_gradient): a ratio estimator, tested by its linearisation
    yₖ = xₖ − e T_k, which has mean 0 exactly when the limit is e. Consistent with e (|z| < 5.33,
    false failure 1e-7) and rejected as ∇J at the same level (|z| > 5.33). Power: with
    E[T] ≈ 11.7 the observed z against ∇J is −11.5, so a fresh seed keeps it below 5.33 only by
    a 6-standard-deviation fluctuation (< 1e-9).
    """
    case = problem("short corridor")
    x = case.estimate("reinforce").per_episode[:, 0]
    lengths = case.episodes.lengths
    normalised = exact.normalised_policy_gradient(case.mdp, case.policy, case.theta)
    np.testing.assert_allclose(normalised.total_visits * normalised.expectation, case.gradient)

    def z(limit):
        y = x - limit * lengths
        return y.mean() / (y.std(ddof=1) / np.sqrt(y.size))

    assert abs(z(normalised.expectation[0])) < z_critical(1e-7)
    assert abs(z(case.gradient[0])) > z_critical(1e-7)
    over_time_steps = x.sum() / lengths.sum()
    assert abs(over_time_steps - x.mean()) > 5 * abs(over_time_steps)  # not a small effect


# -- empirical visit counts → n(s), frequencies → μ(s) ---------------------------------------------


@pytest.mark.parametrize("name", ["short corridor", "gridworld, γ = 0.9"])
def test_visit_counts_converge_to_n_and_frequencies_to_mu(name):
    """n̂ against exact.discounted_visits by T² with the exact covariance of the visit counts
    (exact.visit_count_covariance) on the non-terminal states; μ̂ by the
    linearisation of the ratio, yₖ(s) = cₖ(s) − μ(s) Σₓ cₖ(x), each |z| < 5.33. Nominal false
    failure 1e-7 for the T² and 1e-7 for each of ≤ 11 z-tests: ≈ 1.2e-6 per test."""
    case = problem(name)
    pi = case.policy.action_probs(case.theta)
    live = ~case.mdp.terminal
    counts = visit_counts(case.episodes, case.mdp.n_states, case.mdp.gamma)
    n = exact.discounted_visits(case.mdp, pi)
    covariance = exact.visit_count_covariance(case.mdp, pi)[np.ix_(live, live)]
    assert_consistent(counts.mean[live], n[live], covariance, counts.n_episodes)
    mu = exact.on_policy_distribution(case.mdp, pi)
    frequencies = visit_frequencies(case.episodes, case.mdp.n_states, case.mdp.gamma)
    np.testing.assert_allclose(frequencies.sum(), 1.0)
    assert np.all(frequencies[~live] == 0)
    y = counts.per_episode[:, live] - mu[live] * counts.per_episode.sum(axis=1, keepdims=True)
    z = y.mean(axis=0) / (y.std(axis=0, ddof=1) / np.sqrt(y.shape[0]))
    assert np.all(np.abs(z) < z_critical(1e-7)), z
    np.testing.assert_allclose(frequencies[live] - mu[live],
                               y.mean(axis=0) / counts.mean.sum(), atol=1e-12)


# -- when the normal interval can be trusted: exact coverage on a bandit ------------------------


def _bandit_coverage(p_rare: float, n_episodes: int, level: float = 0.95) -> float:
    """The exact coverage of GradientEstimate.confidence_interval for the rare arm's component.

    A two-armed bandit paying 1 (arm 0) and 0 (arm 1, pulled with probability p_rare), one
    preference per arm. REINFORCE's per-episode term takes one of two values, so the estimate
    and its interval depend only on the number n of pulls of the rare arm: the coverage is
    Σₙ Binomial(n; K, p) 1[interval of that batch covers ∇J], summed exactly.
    """
    problem = envs.bandit([1.0, 0.0])
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.0, math.log(p_rare / (1 - p_rare))])
    scores = policy.grad_log_prob_table(theta)[0]  # (2 arms, 2 params)
    terms = problem.mdp.expected_rewards[0][:, None] * scores  # r_a ∇ log π(a)
    gradient = exact.policy_gradient(problem.mdp, policy, theta)
    component = 1
    coverage = 0.0
    for n in range(n_episodes + 1):
        log_probability = (math.lgamma(n_episodes + 1) - math.lgamma(n + 1)
                           - math.lgamma(n_episodes - n + 1) + n * math.log(p_rare)
                           + (n_episodes - n) * math.log1p(-p_rare))
        per_episode = np.repeat(terms, [n_episodes - n, n], axis=0)
        estimate = GradientEstimate(per_episode.mean(axis=0), per_episode)
        interval = estimate.confidence_interval(level)
        covered = interval.lower[component] <= gradient[component] <= interval.upper[component]
        coverage += math.exp(log_probability) * covered
    return coverage


def test_the_normal_interval_undercovers_for_small_k_and_rare_actions():
    """Exact coverage (no sampling, no false failure) of the nominal 95 % interval, the numbers
    of the MonteCarloEstimate.confidence_interval docstring: a frequent action (p = 0.3) at
    K = 1000 covers 0.950; the rare action (p = 0.008) covers 0.077 at K = 10 (usually unseen:
    SE = 0) and 0.893 at K = 1000 (8 expected pulls)."""
    assert _bandit_coverage(0.3, 1000) == pytest.approx(0.950, abs=5e-4)
    assert _bandit_coverage(0.008, 10) == pytest.approx(0.077, abs=5e-4)
    assert _bandit_coverage(0.008, 1000) == pytest.approx(0.893, abs=5e-4)


@cache
def _log_factorials(n_max: int) -> np.ndarray:
    """log n! for n = 0 … n_max, each to a few ulp (math.lgamma; a cumulative sum would not be)."""
    return np.array([math.lgamma(n + 1) for n in range(n_max + 1)])


def _two_point_coverage(p_rare: float, n_episodes: int, z: float) -> float:
    """The coverage of _bandit_coverage in closed form: with n pulls of the rare arm, the rare
    arm's component of the terms is −p (n_episodes − n times) or 0, so the mean is −p (1 − f)
    and the standard error p √(f (1 − f) / (K − 1)), f = n / K; ∇J = −p (1 − p). The sum runs
    over n ≤ Kp + 20√(Kp) + 50: the mass left out plus rounding stays below 1e-10 (checked)."""
    K = n_episodes
    n = np.arange(min(K, math.ceil(K * p_rare + 20 * math.sqrt(K * p_rare) + 50)) + 1)
    f = n / K
    mean, standard_error = -p_rare * (1 - f), p_rare * np.sqrt(f * (1 - f) / (K - 1))
    covered = np.abs(mean + p_rare * (1 - p_rare)) <= z * standard_error
    log_factorial = _log_factorials(16_000)
    probability = np.exp(log_factorial[K] - log_factorial[n] - log_factorial[K - n]
                         + n * math.log(p_rare) + (K - n) * math.log1p(-p_rare))
    assert abs(probability.sum() - 1) < 1e-10  # the tail left out, and rounding
    return float(probability @ covered)


def test_closed_form_coverage_is_the_library_s_and_oscillates_with_k():
    """The closed form agrees with the library's intervals (_bandit_coverage) at sample K; then,
    for every K: coverage of the rare arm lies in [0.920, 0.954] for 2000 ≤ K < 4000 (0.945 at
    K = 2000, 16 expected pulls, yet 0.920 at K = 2186) and in [0.939, 0.954] for
    8000 ≤ K ≤ 16000. No sampling: no false failure."""
    z = NORMAL.inv_cdf(0.975)
    for p_rare, n_episodes in [(0.3, 1000), (0.008, 10), (0.008, 1000), (0.008, 2186)]:
        assert _two_point_coverage(p_rare, n_episodes, z) == pytest.approx(
            _bandit_coverage(p_rare, n_episodes), abs=1e-9)
    middle = [_two_point_coverage(0.008, K, z) for K in range(2000, 4000)]
    assert (round(min(middle), 3), round(max(middle), 3)) == (0.920, 0.954)
    assert min(middle) == _two_point_coverage(0.008, 2186, z)
    assert round(_two_point_coverage(0.008, 2000, z), 3) == 0.945
    large = [_two_point_coverage(0.008, K, z) for K in range(8000, 16001)]
    assert (round(min(large), 3), round(max(large), 3)) == (0.939, 0.954)


def test_the_exact_standard_error_is_the_root_of_the_exact_covariance_over_k():
    """√(diag estimator_covariance / K) is Var(mean of K i.i.d. terms)^½: on the bandit the rare
    arm's term is −p with probability 1 − p, else 0, so its variance is p² · p (1 − p) (a
    two-point distribution), and the mean of K terms has p^{3/2} √((1 − p)/K); the sample
    standard error of a batch estimates the same number."""
    p_rare, n_episodes = 0.3, 1000
    problem = envs.bandit([1.0, 0.0])
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.0, math.log(p_rare / (1 - p_rare))])
    covariance = exact.estimator_covariance(problem.mdp, policy, theta, "reinforce")
    exact_se = np.sqrt(np.diag(covariance) / n_episodes)
    assert exact_se[1] == pytest.approx(p_rare ** 1.5 * math.sqrt((1 - p_rare) / n_episodes),
                                        rel=1e-12, abs=0)
    # a batch with exactly K p pulls of the rare arm has the sample SE √(K/(K − 1)) · exact SE
    n = round(n_episodes * p_rare)
    terms = problem.mdp.expected_rewards[0][:, None] * policy.grad_log_prob_table(theta)[0]
    np.testing.assert_allclose(terms, [[p_rare, -p_rare], [0.0, 0.0]], rtol=1e-12, atol=0)
    per_episode = np.repeat(terms, [n_episodes - n, n], axis=0)  # r(A) ∇ log π(A) per episode
    estimate = GradientEstimate(per_episode.mean(axis=0), per_episode)
    assert estimate.standard_error()[1] == pytest.approx(
        exact_se[1] * math.sqrt(n_episodes / (n_episodes - 1)), rel=1e-12, abs=0)


def test_a_zero_standard_error_gives_a_zero_width_interval_that_misses():
    """K = 10 episodes that never pull the rare arm: all per-episode terms are equal, SE = 0 up
    to the rounding of their mean, and the interval is a single point (the terms' common value),
    which misses ∇J."""
    problem = envs.bandit([1.0, 0.0])
    policy = SoftmaxLinearPolicy(problem.features)
    theta = np.array([0.0, math.log(0.008 / 0.992)])
    episodes = episodes_of_one_arm(10)
    estimate = reinforce(policy, theta, episodes, 1.0)
    interval = estimate.confidence_interval(0.95)
    gradient = exact.policy_gradient(problem.mdp, policy, theta)
    assert np.all(estimate.standard_error() < 1e-15)  # 0, or rounding of the mean (5.8e-19)
    np.testing.assert_allclose(interval.lower, interval.upper, rtol=0, atol=1e-14)
    assert not np.any((interval.lower <= gradient) & (gradient <= interval.upper))


def episodes_of_one_arm(n_episodes: int) -> Episodes:
    """K one-step episodes, all pulling arm 0 of envs.bandit (reward 1)."""
    return Episodes.from_lists([[0]] * n_episodes, [[0]] * n_episodes, [[1.0]] * n_episodes)
