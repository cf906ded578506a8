"""Tests for igselect._validation: clear errors for bad X and y, and the shared helpers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import get_tags

from igselect._validation import (
    IntInterval,
    InvalidParameterError,
    LandmarkTagsMixin,
    binarize_target,
    check_landmark_array,
    check_landmark_target,
)
from igselect.classifier import EmoClassifier
from igselect.landmarks import LandmarkAligner, OnsetDisplacement
from igselect.selector import GlobalIGSelector

_TINY = dict(n_filters=2, lstm_units=2, dense_units=2, epochs=1, random_state=0)

# every estimator meets bad X and y before any Keras work, so these tests are fast
_ESTIMATORS = [
    EmoClassifier(**_TINY),
    GlobalIGSelector(EmoClassifier(**_TINY), n_landmarks=1, n_steps=2),
    LandmarkAligner(),
    OnsetDisplacement(),
]
_SUPERVISED = _ESTIMATORS[:2]


def _ids(est):
    return type(est).__name__


def _ragged():
    """Two sequences of 4 and 3 frames (5 landmarks), as nested lists."""
    return [np.ones((4, 2, 5)).tolist(), np.ones((3, 2, 5)).tolist()]


# ----------------------------------------------------------------------------- ragged X
@pytest.mark.parametrize("estimator", _ESTIMATORS, ids=_ids)
def test_ragged_X_gets_an_igselect_error(estimator):
    # numpy's "inhomogeneous shape" error used to come first
    with pytest.raises(ValueError, match=r"X is ragged: X\[0\] has 4 frames but X\[1\] has 3"):
        estimator.fit(_ragged(), [0, 1])


@pytest.mark.parametrize(
    "X, match",
    [
        ([np.ones((4, 2, 5)), np.ones((4, 2, 6))], r"X\[0\]\[0\]\[0\] has 5 landmarks but X\[1\]"),
        (
            [np.ones((4, 2, 5)), np.ones((4, 3, 5))],
            r"X\[0\]\[0\] has 2 coordinates but X\[1\]\[0\]",
        ),
        ([np.ones((4, 2, 5)).tolist(), 7.0], r"X\[0\] has 4 frames but X\[1\] is a scalar"),
    ],
)
def test_ragged_X_names_the_first_mismatch(X, match):
    with pytest.raises(ValueError, match=match):
        check_landmark_array(X)


def test_rectangular_nested_lists_still_convert():
    X = [np.full((3, 2, 4), i).tolist() for i in range(2)]
    out = check_landmark_array(X)
    assert out.shape == (2, 3, 2, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1], 1)


def test_array_without_array_functions_converts():
    # sklearn's _NotAnArray refuses numpy functions such as iscomplexobj; asarray must come first
    class OnlyArray:
        def __init__(self, data):
            self.data = data

        def __array__(self, dtype=None, copy=None):
            return self.data

        def __array_function__(self, func, types, args, kwargs):
            raise TypeError(f"no {func.__name__}")

    out = check_landmark_array(OnlyArray(np.zeros((2, 3, 2, 4))))
    assert out.shape == (2, 3, 2, 4)


# ----------------------------------------------------------------------------- bad labels
_BAD_LABELS = [
    (np.array([0, 1, None, 1], dtype=object), r"1 missing label\(s\) \(None or NaN\).*y\[2\]"),
    (np.array([0, 1, np.nan, 1], dtype=object), r"missing label\(s\).*y\[2\]"),
    (np.array([1, "1", 1, 0], dtype=object), r"mixes label types \(number and string\)"),
    ([1, "1", 1, 0], r"mixes label types .*y\[0\]=1, y\[1\]='1'"),  # asarray would make '1', '1'
    (np.array([0, 1, np.inf, 1]), r"NaN or infinite labels; the first is y\[2\]=inf"),
]


@pytest.mark.parametrize("y, match", _BAD_LABELS)
@pytest.mark.parametrize("estimator", _SUPERVISED, ids=_ids)
def test_bad_labels_get_an_igselect_error(estimator, y, match):
    # np.unique raised "'<' not supported between instances of 'str' and 'int'" before
    X = np.random.default_rng(0).normal(size=(4, 3, 2, 5))
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y)


@pytest.mark.parametrize("y, match", _BAD_LABELS)
def test_bad_labels_in_the_validation_functions(y, match):
    with pytest.raises(ValueError, match=match):
        check_landmark_target(y, 4)
    with pytest.raises(ValueError, match=match):
        binarize_target(y, positive_class=1)


def test_labels_of_one_kind_still_pass():
    assert check_landmark_target(np.array(["a", "b"], dtype=object), 2).tolist() == ["a", "b"]
    assert binarize_target(np.array([1, 2, 2], dtype=object)).tolist() == [0, 1, 1]
    assert binarize_target([np.int64(3), 3.0, 5], positive_class=3).tolist() == [1, 1, 0]


def test_unorderable_labels_get_an_igselect_error():
    y = np.array([(1, 2), 3, (1, 2)], dtype=object)
    with pytest.raises(ValueError, match="mixes label types"):
        check_landmark_target(y, 3)


# ----------------------------------------------------------------------------- shared helpers
def test_int_interval_rejects_bool_and_floats():
    positive = IntInterval(1)
    assert positive.is_satisfied_by(1) and positive.is_satisfied_by(np.int64(7))
    assert not positive.is_satisfied_by(True)
    assert not positive.is_satisfied_by(np.True_)
    assert not positive.is_satisfied_by(2.0)
    assert not positive.is_satisfied_by(0)
    bounded = IntInterval(0, 3)
    assert bounded.is_satisfied_by(3) and not bounded.is_satisfied_by(4)
    assert str(bounded) == "an int in the range [0, 3]"


def test_tags_mixin_and_declared_constraints():
    class Shift(LandmarkTagsMixin, TransformerMixin, BaseEstimator):
        _parameter_constraints = {"n_iter": [IntInterval(1)]}

        def __init__(self, n_iter=1):
            self.n_iter = n_iter

        def fit(self, X, y=None):
            self._validate_params()
            return self

    tags = get_tags(Shift())
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.three_d_array is False
    assert tags.input_tags.sparse is False
    assert tags.transformer_tags is not None
    with pytest.raises(InvalidParameterError, match=r"'n_iter' parameter of Shift .*Got True"):
        Shift(n_iter=True).fit(None)
