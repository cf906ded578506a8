"""scikit-learn's generic estimator checks for every igselect estimator.

All estimators run through one helper, ``_sklearn_checks.parametrize_nd_checks``:
the data-free checks (and ``check_param_validation``) run on the estimator
itself; the rest run on a view claiming 2-D input, where a check that fails
only because the estimator rejects 2-D X (a ValueError naming ``X.ndim``) is
an xfail that quotes the N-D test covering the same property. Add a new
estimator to ``ESTIMATORS``.

Every fit in here is rejected before any Keras work, so this file is fast.
"""

from __future__ import annotations

import numpy as np
import pytest
from _keras_models import dense_softmax
from _sklearn_checks import parametrize_nd_checks, rejects_2d, two_d_view
from sklearn.utils import get_tags

from igselect.classifier import EmoClassifier, KerasLandmarkClassifier
from igselect.landmarks import LandmarkAligner, OnsetDisplacement
from igselect.rankers import FTestLandmarkSelector, RandomLandmarkSelector
from igselect.selector import GlobalAttributionSelector, GlobalIGSelector

_TINY = dict(n_filters=2, lstm_units=2, dense_units=2, epochs=1, random_state=0)

ESTIMATORS = [
    EmoClassifier(**_TINY),
    KerasLandmarkClassifier(dense_softmax, epochs=1, random_state=0),
    GlobalIGSelector(EmoClassifier(**_TINY), n_landmarks=1, n_steps=2),
    GlobalAttributionSelector(EmoClassifier(**_TINY), attribution="saliency", n_landmarks=1),
    FTestLandmarkSelector(n_landmarks=1),
    RandomLandmarkSelector(n_landmarks=1, random_state=0),
    LandmarkAligner(),
    OnsetDisplacement(),
]
# EmotionEnsemble is left out: it passes X through to its estimators (any layout), and
# its estimator names must be labels of y, which sklearn's checks (y = 0, 1, 2) are not;
# test_ensemble.py covers it.

# N-D tests that check what a 2-D check would (quoted in the xfail reasons).
COVERED_BY = {
    "check_fit_score_takes_y": "test_classifier.py::test_fit_returns_self",
    "check_estimators_overwrite_params": "test_classifier.py::test_fit_leaves_params_unchanged",
    "check_dont_overwrite_parameters": "test_classifier.py::test_fit_leaves_params_unchanged",
    "check_estimators_fit_returns_self": "test_classifier.py::test_fit_returns_self",
    "check_readonly_memmap_input": (
        "test_classifier.py::test_small_data_skips_validation_with_warning"
    ),
    "check_n_features_in_after_fitting": (
        "test_classifier.py::test_predict_rejects_other_frame_or_landmark_count "
        "(n_frames_in_ and n_landmarks_in_ replace n_features_in_)"
    ),
    "check_n_features_in": "test_classifier.py::test_fitted_attributes",
    "check_estimators_dtypes": "test_classifier.py::test_predict_input_layouts_agree",
    "check_estimators_empty_data_messages": "test_classifier.py::test_bad_X_errors",
    "check_estimators_nan_inf": "test_classifier.py::test_bad_X_errors",
    "check_estimators_pickle": "test_classifier.py::test_pickle_and_joblib_round_trip",
    "check_f_contiguous_array_estimator": "test_classifier.py::test_predict_input_layouts_agree",
    "check_classifier_data_not_an_array": "test_classifier.py::test_predict_input_layouts_agree",
    "check_classifiers_one_label": "test_classifier.py::test_bad_y_errors",
    "check_classifiers_classes": "test_classifier.py::test_positive_class_binarises_y",
    "check_classifiers_train": "test_classifier.py::test_learns_planted_signal",
    "check_classifiers_regression_target": "test_classifier.py::test_bad_y_errors",
    "check_class_weight_classifiers": "test_classifier.py::test_positive_class_binarises_y",
    "check_decision_proba_consistency": "test_classifier.py::test_decision_function_matches_proba",
    "check_classifier_not_supporting_multiclass": "test_classifier.py::test_bad_y_errors",
    "check_methods_sample_order_invariance": (
        "test_classifier.py::test_predictions_do_not_depend_on_batch"
    ),
    "check_methods_subset_invariance": (
        "test_classifier.py::test_predictions_do_not_depend_on_batch"
    ),
    "check_dict_unchanged": "test_classifier.py::test_predict_leaves_dict_unchanged",
    "check_fit_idempotent": "test_classifier.py::test_random_state_makes_fit_repeatable",
    "check_fit_check_is_fitted": "test_classifier.py::test_fitted_attributes",
    "check_fit2d_predict1d": "test_classifier.py::test_bad_X_errors",
}


@parametrize_nd_checks(ESTIMATORS, covered_by=COVERED_BY)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_estimators_reject_2d_X_with_the_ndim_error(estimator):
    # the xfails above rely on this: a 2-D X is rejected with the ValueError naming X.ndim
    X, y = np.zeros((6, 5)), np.array([0, 1] * 3)
    with pytest.raises(ValueError) as info:
        two_d_view(estimator).fit(X, y)
    assert rejects_2d(info.value), str(info.value)


def test_rejects_2d_looks_through_the_exception_chain():
    try:
        try:
            raise ValueError("X must have shape ... Received: X.ndim=2, X.shape=(20, 5)")
        except ValueError as inner:
            raise AssertionError("wrong message") from inner
    except AssertionError as outer:
        assert rejects_2d(outer)
    assert not rejects_2d(ValueError("X.ndim=4 is fine"))
    assert not rejects_2d(TypeError("X.ndim=2"))


def test_tags_describe_nd_binary_classifier():
    tags = get_tags(EmoClassifier())
    assert tags.estimator_type == "classifier"
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.sparse is False
    assert tags.classifier_tags.multi_class is False
    assert tags.non_deterministic is False
    assert tags.target_tags.required is True


def test_two_d_view_changes_only_the_input_tag():
    for est in ESTIMATORS:
        view = two_d_view(est)
        assert isinstance(view, type(est))
        assert get_tags(view).input_tags.two_d_array is True
        assert get_tags(est).input_tags.two_d_array is False
        assert view.get_params(deep=False) == est.get_params(deep=False)
