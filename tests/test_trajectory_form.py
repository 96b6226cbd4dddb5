r"""Tests of pgref.exact.trajectory_form, the lecture's sums over every trajectory τ.

Oracles: the policy gradient theorem and the Bellman solves of :mod:`pgref.exact` (another route
to the same numbers), a recursive count of the trajectories, and a chain whose geometric tail is
written as a formula.
"""

import numpy as np
import pytest
from helpers import count_trajectories, layered_mdp
from hypothesis import given
from hypothesis import strategies as st

from pgref import envs, exact
from pgref.features import one_hot_features
from pgref.mdp import TabularMDP
from pgref.policies import SoftmaxLinearPolicy


@given(seed=st.integers(0, 2**32 - 1), n_live=st.integers(1, 3), n_actions=st.integers(1, 3),
       gamma=st.sampled_from([1.0, 0.9, 0.5]), n_features=st.integers(1, 3))
def test_the_sums_over_trajectories_equal_the_bellman_solves(seed, n_live, n_actions, gamma,
                                                             n_features):
    """Σ_τ g p = J, Σ_τ g p ∇log p = ∇J, Σ_τ p Σₜ Gₜ ∇log π = the γᵗ-dropped direction."""
    rng = np.random.default_rng(seed)
    mdp = layered_mdp(rng, n_live, n_actions, gamma)
    policy = SoftmaxLinearPolicy(rng.standard_normal((n_live + 1, n_actions, n_features)))
    theta = rng.standard_normal(n_features)
    form = exact.trajectory_form(mdp, policy, theta)
    assert form.unenumerated_mass == 0.0  # every episode ends within n_live steps
    pi = policy.action_probs(theta)
    assert form.n_trajectories == sum(count_trajectories(mdp, pi, s)
                                      for s in np.flatnonzero(mdp.initial))
    assert form.objective == pytest.approx(exact.objective(mdp, policy, theta), abs=1e-12)
    np.testing.assert_allclose(form.gradient, exact.policy_gradient(mdp, policy, theta),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(form.gamma_dropped_direction,
                               exact.gamma_dropped_direction(mdp, policy, theta),
                               rtol=1e-10, atol=1e-12)


def _geometric_chain(gamma):
    """One state that ends with probability ½ per step (reward 1) or stays (reward 2)."""
    transitions = np.zeros((2, 2, 2))
    transitions[0, :, :] = 0.5
    transitions[1, :, 1] = 1.0
    rewards = np.zeros((2, 2, 2))
    rewards[0, :, 0], rewards[0, :, 1] = 2.0, 1.0
    return TabularMDP(transitions, rewards, np.array([1.0, 0.0]), gamma=gamma,
                      terminal=np.array([False, True]))


@pytest.mark.parametrize("gamma", [1.0, 0.8])
def test_an_endless_tail_is_cut_below_the_tolerance_and_reported(gamma):
    """Episodes of any length: the sums stop once the running probability 2⁻ᴸ < tolerance."""
    mdp = _geometric_chain(gamma)
    policy = SoftmaxLinearPolicy(one_hot_features(2, 2))
    theta = np.array([0.3, -0.2, 0.0, 0.0])
    form = exact.trajectory_form(mdp, policy, theta, tolerance=1e-4)
    length = 14  # the least L with 2⁻ᴸ < 1e-4
    assert form.unenumerated_mass == pytest.approx(0.5**length, rel=1e-12, abs=0)
    # each running path splits into 2 actions × (stay, end): 2ᴸ end at length L
    assert form.n_trajectories == 2 ** (length + 1) - 2
    # J = Σ_{L≥1} ½ᴸ (2 Σ_{t<L−1} γᵗ + γ^{L−1}): the terms past L = 14, in closed form
    tail = sum(0.5**L * (2 * sum(gamma**t for t in range(L - 1)) + gamma ** (L - 1))
               for L in range(length + 1, 400))
    assert form.objective + tail == pytest.approx(exact.objective(mdp, policy, theta),
                                                  abs=1e-12)


def test_too_many_trajectories_are_refused_with_where_and_why():
    problem = envs.short_corridor()  # π(right) = ½: paths double each step, episodes long
    policy = SoftmaxLinearPolicy(problem.features)
    with pytest.raises(ValueError, match=r"max_trajectories = 1000 is too small.*at length \d+ "
                                         r"there are \d+ running trajectories, and probability "
                                         r".* has not ended yet.*use exact\.policy_gradient"):
        exact.trajectory_form(problem.mdp, policy, np.zeros(2), max_trajectories=1000)


@pytest.mark.parametrize(("changes", "message"), [
    (dict(tolerance=0.0), r"tolerance must lie in \(0, 1\)"),
    (dict(tolerance=1.0), r"tolerance must lie in \(0, 1\)"),
    (dict(tolerance=float("nan")), "tolerance must be finite"),
    (dict(max_trajectories=0), "max_trajectories must be an integer ≥ 1"),
    (dict(mdp="corridor"), r"mdp must be a pgref\.TabularMDP"),
    (dict(theta=np.zeros(3)), r"theta must be a flat vector of shape \(2,\)"),
    (dict(policy=SoftmaxLinearPolicy(one_hot_features(3, 2))),
     r"policy must act on the mdp's \(S, A\) = \(2, 2\)"),
])
def test_bad_arguments_are_refused_by_name(changes, message):
    mdp = layered_mdp(np.random.default_rng(0), 1, 2, 1.0)
    policy = SoftmaxLinearPolicy(np.ones((2, 2, 2)) * np.eye(2))
    arguments = dict(mdp=mdp, policy=policy, theta=np.zeros(2)) | changes
    with pytest.raises(ValueError, match=message):
        exact.trajectory_form(**arguments)


def test_the_refusal_names_the_length_and_the_count_where_enumeration_stopped():
    """The geometric chain has 2ᴸ running paths after L steps, each with 4 continuations:
    4·2⁵ = 128 > 100 is the first count over the limit, at length 6."""
    policy = SoftmaxLinearPolicy(one_hot_features(2, 2))
    with pytest.raises(ValueError, match=r"max_trajectories = 100 is too small to enumerate "
                                         r"this MDP: at length 6 there are 128 running"):
        exact.trajectory_form(_geometric_chain(1.0), policy, np.zeros(4), max_trajectories=100)
