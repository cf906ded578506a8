"""Tests of the synthetic landmark-sequence generator."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from igselect.datasets._synthetic import make_landmark_sequences


def test_shapes_dtypes_and_fields():
    ds = make_landmark_sequences(
        n_samples=30, n_frames=5, n_landmarks=20, n_classes=3, n_informative=2, random_state=0
    )
    assert ds.data.shape == (30, 5, 2, 20)
    assert ds.data.dtype == np.float32
    assert ds.target.shape == ds.subject.shape == (30,)
    assert_array_equal(ds.target_names, ["class_0", "class_1", "class_2"])
    assert sorted(ds.informative) == ["class_0", "class_1", "class_2"]
    assert ds.directions.shape == (3, 2, 2)
    assert_array_equal(np.linalg.norm(ds.directions, axis=-1).round(6), 1.0)
    assert ds.base_shape.shape == (2, 20)
    assert "SYNTHETIC" in ds.DESCR
    # balanced classes, and every subject shows every class once (30 = 10 x 3)
    assert_array_equal(np.unique(ds.target, return_counts=True)[1], [10, 10, 10])
    for s in np.unique(ds.subject):
        assert sorted(ds.target[ds.subject == s]) == ["class_0", "class_1", "class_2"]


def test_ground_truth_is_disjoint_sorted_and_in_range():
    ds = make_landmark_sequences(n_landmarks=40, n_classes=4, n_informative=4, random_state=3)
    sets = [ds.informative[c] for c in ds.target_names]
    for idx in sets:
        assert idx.shape == (4,)
        assert_array_equal(idx, np.sort(idx))
        assert idx.min() >= 0 and idx.max() < 40
    union = np.concatenate(sets)
    assert np.unique(union).size == union.size == 16


def test_determinism_with_random_state():
    a = make_landmark_sequences(n_samples=24, random_state=7)
    b = make_landmark_sequences(n_samples=24, random_state=7)
    c = make_landmark_sequences(n_samples=24, random_state=8)
    assert_array_equal(a.data, b.data)
    assert_array_equal(a.target, b.target)
    assert_array_equal(a.subject, b.subject)
    assert not np.array_equal(a.data, c.data)


def test_only_planted_landmarks_of_a_class_move():
    """Without noise, a planted landmark moves by ``amplitude * intensity`` over
    the sequence, in its class only; every other landmark is static."""
    ds = make_landmark_sequences(
        n_samples=40, n_frames=6, noise=0.0, amplitude=0.2, shuffle=False, random_state=0
    )
    motion = np.linalg.norm(ds.data[:, -1] - ds.data[:, 0], axis=1)  # (n, L)
    for name in ds.target_names:
        rows = ds.target == name
        moving = motion[rows] > 1e-6
        expected = np.zeros(40, dtype=bool)
        expected[ds.informative[name]] = True
        assert_array_equal(moving, np.broadcast_to(expected, moving.shape))
        planted = motion[rows][:, ds.informative[name]]
        assert planted.min() >= 0.2 * 0.75 - 1e-5 and planted.max() <= 0.2 * 1.25 + 1e-5
    # the displacement ramps linearly: half-way frames move half as far
    ramp = np.linalg.norm(ds.data[:, 3] - ds.data[:, 0], axis=1) / np.maximum(motion, 1e-12)
    assert np.allclose(ramp[motion > 1e-6], 3 / 5, atol=1e-4)


def test_class_names_subjects_and_return_x_y():
    X, y = make_landmark_sequences(
        n_samples=12, n_classes=2, class_names=["neutral", "happy"], return_X_y=True, random_state=0
    )
    assert X.shape == (12, 8, 2, 40)
    assert set(y) == {"neutral", "happy"}
    ds = make_landmark_sequences(n_samples=12, n_classes=2, n_subjects=3, random_state=0)
    assert_array_equal(np.unique(ds.subject), [0, 1, 2])


def _bad(param: str, expected: str, got: str) -> str:
    """Pattern of scikit-learn's InvalidParameterError for make_landmark_sequences."""
    return rf"The '{param}' parameter of make_landmark_sequences must be {expected}\. Got {got} "


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, _bad("n_samples", r"an int in the range \[1, inf\)", "0")),
        ({"n_samples": True}, _bad("n_samples", r"an int in the range \[1, inf\)", "True")),
        ({"n_frames": 1}, _bad("n_frames", r"an int in the range \[2, inf\)", "1")),
        ({"n_classes": 1}, _bad("n_classes", r"an int in the range \[2, inf\)", "1")),
        ({"n_classes": 4, "n_informative": 11, "n_landmarks": 40}, "n_informative=11"),
        ({"n_samples": 3, "n_classes": 4}, "n_samples=3"),
        ({"noise": -0.1}, _bad("noise", r"a float in the range \[0(\.0)?, inf\)", "-0.1")),
        ({"noise": float("nan")}, _bad("noise", r"a float in the range \[0(\.0)?, inf\)", "nan")),
        ({"amplitude": 0}, _bad("amplitude", r"a float in the range \(0(\.0)?, inf\)", "0")),
        ({"n_subjects": 0}, _bad("n_subjects", r"an int in the range \[1, inf\) or None", "0")),
        ({"class_names": ["a", "a", "b", "c"]}, "class_names="),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_landmark_sequences(**kwargs)
