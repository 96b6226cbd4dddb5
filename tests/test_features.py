"""Feature maps: each table against its definition written out entry by entry."""

import numpy as np
import pytest

from pgref.features import (
    StateActionFeatures,
    StateFeatures,
    moving_particle_features,
    one_hot_features,
    one_hot_state_features,
    shared_action_features,
)


def test_one_hot_features_put_a_single_one_at_s_times_A_plus_a():
    features = one_hot_features(3, 2)
    assert features.shape == (3, 2, 6)
    for s in range(3):
        for a in range(2):
            expected = np.zeros(6)
            expected[s * 2 + a] = 1.0
            np.testing.assert_array_equal(features[s, a], expected)


def test_one_hot_state_features_are_the_identity():
    np.testing.assert_array_equal(one_hot_state_features(4), np.eye(4))


def test_shared_action_features_repeat_the_short_corridor_vectors_in_every_state():
    features = shared_action_features([[1.0, 0.0], [0.0, 1.0]], 4)
    assert features.shape == (4, 2, 2)
    for s in range(4):
        np.testing.assert_array_equal(features[s], [[1.0, 0.0], [0.0, 1.0]])


def test_moving_particle_features_are_x_y_a():
    positions = np.array([[0.0, 1.0], [2.0, -3.0]])
    codes = np.array([0.0, np.pi / 2])
    features = moving_particle_features(positions, codes)
    assert features.shape == (2, 2, 3)
    for s in range(2):
        for a in range(2):
            np.testing.assert_array_equal(features[s, a], [*positions[s], codes[a]])


def test_tables_are_read_only_once_wrapped():
    wrapped = StateActionFeatures.wrap(one_hot_features(2, 2))
    with pytest.raises(ValueError, match="read-only"):
        wrapped.source[0, 0, 0] = 5.0


def test_bad_feature_tables_are_refused():
    with pytest.raises(ValueError, match="n_states must be an integer"):
        one_hot_features(0, 2)
    with pytest.raises(ValueError, match="n_actions must be an integer"):
        one_hot_features(2, 1.5)
    with pytest.raises(ValueError, match="action_features must have 2 dimension"):
        shared_action_features([1.0, 0.0], 3)
    with pytest.raises(ValueError, match=r"positions must have shape \(S, 2\)"):
        moving_particle_features(np.zeros((3, 3)), [0.0])
    with pytest.raises(ValueError, match="action_codes must be finite"):
        moving_particle_features(np.zeros((3, 2)), [0.0, np.nan])
    with pytest.raises(ValueError, match=r"features must have S, A, J ≥ 1"):
        StateActionFeatures.wrap(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match="n_actions=3 disagrees"):
        StateActionFeatures.wrap(np.zeros((2, 2, 3)), n_actions=3)
    with pytest.raises(ValueError, match="n_features=2 disagrees"):
        StateFeatures.wrap(np.zeros((2, 3)), n_features=2)
    with pytest.raises(ValueError, match="features must be an array of real numbers"):
        StateFeatures.wrap([["a", "b"]])
    with pytest.raises(ValueError, match="n_features must be given"):
        StateFeatures.wrap(lambda s: s)


def test_tabular_and_callable_features_say_which_they_are():
    from pgref.features import StateActionFeatures, StateFeatures

    assert StateActionFeatures.wrap(one_hot_features(3, 2)).is_tabular
    assert not StateActionFeatures.wrap(lambda s: np.zeros((len(s), 2, 1)), 2, 1).is_tabular
    assert StateFeatures.wrap(np.eye(3)).is_tabular
    assert not StateFeatures.wrap(lambda s: np.zeros((len(s), 1)), 1).is_tabular
