"""Tests for igselect.landmarks.OnsetDisplacement (motion relative to the onset frame)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from igselect.landmarks import LandmarkAligner, OnsetDisplacement

# scikit-learn's estimator checks for OnsetDisplacement: tests/test_estimator_checks.py


def _planted(n=40, n_frames=4, n_landmarks=6, seed=0):
    """Different faces (large offsets) plus a known motion of landmark 2 for label 1."""
    rng = np.random.default_rng(seed)
    faces = rng.normal(0.0, 1.0, size=(n, 1, 2, n_landmarks))
    y = np.arange(n) % 2
    motion = np.zeros((n, n_frames, 2, n_landmarks))
    motion[:, :, 1, 2] = 0.05 * np.linspace(0, 1, n_frames) * y[:, None]
    return (faces + motion).astype(np.float32), y, motion


def test_output_is_the_planted_motion():
    X, _, motion = _planted()
    D = OnsetDisplacement().fit_transform(X)
    assert D.dtype == np.float32 and D.shape == X.shape
    assert_allclose(D, motion, atol=1e-6)  # the faces (std 1) are gone, the motion stays


def test_several_onset_frames_are_averaged():
    X = np.zeros((1, 4, 2, 3), np.float32)
    X[0, :, 0, 0] = [1.0, 3.0, 5.0, 10.0]
    D = OnsetDisplacement(n_onset_frames=2).fit_transform(X[..., None])  # channel axis too
    assert_allclose(D[0, :, 0, 0], [-1.0, 1.0, 3.0, 8.0])
    assert_array_equal(D[0, :, 1], 0.0)


def test_motion_is_what_a_linear_model_then_needs():
    # One frame of a face with std-1 identity offsets hides a 0.05 motion; after the
    # subtraction the same linear model finds it.
    X, y, _ = _planted(n=80)
    last = FunctionTransformer(lambda A: A[:, -1].reshape(len(A), -1))
    raw = cross_val_score(make_pipeline(last, LogisticRegression()), X, y, cv=4).mean()
    moved = cross_val_score(
        make_pipeline(OnsetDisplacement(), last, LogisticRegression()), X, y, cv=4
    ).mean()
    assert moved == 1.0
    assert raw < 0.8


def test_after_the_aligner_head_motion_is_gone():
    X, _, _ = _planted(n=2, n_landmarks=8)
    theta = np.deg2rad(np.linspace(0, 15, X.shape[1]))  # the head rolls and drifts
    rot = np.stack([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = np.einsum("ijt,ntjl->ntil", rot, X) + 0.3
    pipe = make_pipeline(LandmarkAligner(), OnsetDisplacement()).fit(X)
    assert_allclose(pipe.transform(moved), pipe.transform(X), atol=1e-5)
    assert np.abs(pipe.transform(X)[1]).max() > 0.01  # the planted motion survives


_BAD_ONSET = (
    r"The 'n_onset_frames' parameter of OnsetDisplacement must be an int in the range "
    r"\[1, inf\)\. "
)


@pytest.mark.parametrize(
    "params, X_shape, match",
    [
        (
            {},
            (3, 1, 2, 5),
            r"single images have no onset frame\). Received: X.shape=\(3, 1, 2, 5\)",
        ),
        ({"n_onset_frames": 4}, (3, 4, 2, 5), "more frames than n_onset_frames=4; X has 4"),
        ({"n_onset_frames": 0}, (3, 4, 2, 5), _BAD_ONSET + "Got 0 instead"),
        ({"n_onset_frames": 1.5}, (3, 4, 2, 5), _BAD_ONSET + "Got 1.5 instead"),
        ({"n_onset_frames": True}, (3, 4, 2, 5), _BAD_ONSET + "Got True instead"),
        ({}, (3, 4, 3, 5), "axis 2 must hold the x and y coordinates"),
    ],
)
def test_bad_input(params, X_shape, match):
    with pytest.raises(ValueError, match=match):
        OnsetDisplacement(**params).fit(np.zeros(X_shape))


def test_transform_checks_fit_and_landmark_count():
    with pytest.raises(NotFittedError):
        OnsetDisplacement().transform(np.zeros((2, 3, 2, 5)))
    fitted = OnsetDisplacement().fit(np.zeros((2, 3, 2, 5)))
    with pytest.raises(ValueError, match="fitted with 5 landmarks. Received: X.shape=.2, 3, 2, 4"):
        fitted.transform(np.zeros((2, 3, 2, 4)))


def test_clone_pickle_and_tags():
    X, _, _ = _planted(n=4)
    fitted = OnsetDisplacement(n_onset_frames=2).fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.transform(X), fitted.transform(X))
    assert clone(fitted).get_params() == {"n_onset_frames": 2}
    assert not hasattr(clone(fitted), "n_landmarks_in_")
    tags = OnsetDisplacement().__sklearn_tags__()
    assert tags.input_tags.two_d_array is False
    assert tags.transformer_tags.preserves_dtype == ["float32"]
