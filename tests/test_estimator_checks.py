"""scikit-learn's generic estimator checks for EmoClassifier.

EmoClassifier takes landmark sequences ``(n_samples, n_frames, 2, n_landmarks)``
and says so in its tags (``input_tags.two_d_array=False``). With that honest
tag, scikit-learn generates only ``check_estimator_cloneable``. To run the
rest of the suite, ``_EmoClassifierGenericChecks`` differs from EmoClassifier
*only* in claiming ``two_d_array=True``. The checks that then fit on 2-D X
fail in input validation (a ValueError naming ``X.ndim``) and are listed in
``EXPECTED_FAILED_CHECKS``, each with its reason and, where there is one, the
test in ``test_classifier.py`` that checks the same property on N-D data. The
xfails are strict: a listed check that starts passing fails this file, so
the list cannot go stale.

Every fit in here is rejected before any Keras work, so this file is fast.
"""

from __future__ import annotations

import warnings

from sklearn.exceptions import SkipTestWarning
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from igselect.classifier import EmoClassifier

_TINY = dict(n_filters=2, lstm_units=2, dense_units=2, epochs=1, random_state=0)

_FITS_2D = (
    "fits on 2-D X of shape (n_samples, n_features); EmoClassifier needs landmark "
    "sequences (n_samples, n_frames, 2, n_landmarks) and rejects 2-D X with a "
    "ValueError naming X.ndim"
)


class _EmoClassifierGenericChecks(EmoClassifier):
    """EmoClassifier with tags that let sklearn generate its generic checks."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags


def _reason(detail: str, covered_by: str | None = None) -> str:
    text = f"{_FITS_2D}; {detail}"
    if covered_by:
        text += f" (N-D equivalent: test_classifier.py::{covered_by})"
    return text


EXPECTED_FAILED_CHECKS = {
    "check_fit_score_takes_y": _reason(
        "it calls fit/score on 2-D X to inspect their signatures", "test_fit_returns_self"
    ),
    "check_estimators_overwrite_params": _reason(
        "it fits on 2-D X before comparing parameters", "test_fit_leaves_params_unchanged"
    ),
    "check_dont_overwrite_parameters": _reason(
        "it fits on 2-D X before listing new public attributes",
        "test_fit_leaves_params_unchanged",
    ),
    "check_estimators_fit_returns_self": _reason("it fits on 2-D X", "test_fit_returns_self"),
    "check_readonly_memmap_input": _reason(
        "it fits on a read-only 2-D memmap", "test_small_data_skips_validation_with_warning"
    ),
    "check_n_features_in_after_fitting": _reason(
        "n_features_in_ has no meaning for N-D X; EmoClassifier records n_frames_in_ "
        "and n_landmarks_in_ instead",
        "test_predict_rejects_other_frame_or_landmark_count",
    ),
    "check_n_features_in": _reason(
        "n_features_in_ has no meaning for N-D X; EmoClassifier records n_frames_in_ "
        "and n_landmarks_in_ instead",
        "test_fitted_attributes",
    ),
    "check_positive_only_tag_during_fit": _reason(
        "it fits on negative 2-D X to probe the positive_only tag"
    ),
    "check_estimators_dtypes": _reason(
        "it fits on 2-D float32/float64/int X", "test_predict_input_layouts_agree"
    ),
    "check_dtype_object": _reason("it fits on a 2-D object array"),
    "check_estimators_empty_data_messages": _reason(
        "it expects sklearn's wording for a 2-D X with 0 samples or 0 features",
        "test_bad_X_errors",
    ),
    "check_pipeline_consistency": _reason("it fits a Pipeline on 2-D X"),
    "check_estimators_nan_inf": _reason(
        "it fits on 2-D X holding NaN/inf, so the ndim error comes first",
        "test_bad_X_errors",
    ),
    "check_estimators_pickle": _reason(
        "it fits on 2-D X before pickling", "test_pickle_and_joblib_round_trip"
    ),
    "check_f_contiguous_array_estimator": _reason(
        "it fits on a Fortran-ordered 2-D X", "test_predict_input_layouts_agree"
    ),
    "check_classifier_data_not_an_array": _reason(
        "it fits on a 2-D non-array container", "test_predict_input_layouts_agree"
    ),
    "check_classifiers_one_label": _reason(
        "it fits on 2-D X with one class, so the ndim error comes first",
        "test_bad_y_errors",
    ),
    "check_classifiers_classes": _reason(
        "it fits on 2-D X with several label types", "test_positive_class_binarises_y"
    ),
    "check_classifiers_train": _reason(
        "it fits on 2-D blobs and expects accuracy > 0.83", "test_learns_planted_signal"
    ),
    "check_classifiers_regression_target": _reason(
        "it fits on 2-D X with a continuous y, so the ndim error comes first",
        "test_bad_y_errors",
    ),
    "check_supervised_y_2d": _reason("it fits on 2-D X with a column-vector y"),
    "check_class_weight_classifiers": _reason(
        "it fits on 2-D X with class weights", "test_positive_class_binarises_y"
    ),
    "check_decision_proba_consistency": _reason(
        "it fits on 2-D X before comparing decision_function with predict_proba",
        "test_decision_function_matches_proba",
    ),
    "check_classifier_not_supporting_multiclass": _reason(
        "it fits on 2-D X with 3 classes, so the ndim error comes first", "test_bad_y_errors"
    ),
    "check_methods_sample_order_invariance": _reason(
        "it fits on 2-D X", "test_predictions_do_not_depend_on_batch"
    ),
    "check_methods_subset_invariance": _reason(
        "it fits on 2-D X", "test_predictions_do_not_depend_on_batch"
    ),
    "check_fit2d_1sample": _reason("it expects sklearn's wording for a 2-D X of one sample"),
    "check_fit2d_1feature": _reason("it expects sklearn's wording for a 2-D X of one feature"),
    "check_dict_unchanged": _reason(
        "it fits on 2-D X before checking that predict leaves __dict__ unchanged",
        "test_predict_leaves_dict_unchanged",
    ),
    "check_fit_idempotent": _reason(
        "it fits twice on 2-D X", "test_random_state_makes_fit_repeatable"
    ),
    "check_fit_check_is_fitted": _reason("it fits on 2-D X", "test_fitted_attributes"),
    "check_fit2d_predict1d": _reason(
        "it fits on 2-D X before predicting on 1-D X", "test_bad_X_errors"
    ),
}


def _expected_failed_checks(estimator):
    if isinstance(estimator, _EmoClassifierGenericChecks):
        return EXPECTED_FAILED_CHECKS
    return {}


with warnings.catch_warnings():
    # With its honest tags EmoClassifier gets only check_estimator_cloneable;
    # sklearn says so with a SkipTestWarning at collection time.
    warnings.filterwarnings("ignore", category=SkipTestWarning)
    _parametrize = parametrize_with_checks(
        [EmoClassifier(**_TINY), _EmoClassifierGenericChecks(**_TINY)],
        expected_failed_checks=_expected_failed_checks,
        xfail_strict=True,
    )


@_parametrize
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_tags_describe_nd_binary_classifier():
    tags = get_tags(EmoClassifier())
    assert tags.estimator_type == "classifier"
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.sparse is False
    assert tags.classifier_tags.multi_class is False
    assert tags.non_deterministic is False
    assert tags.target_tags.required is True


def test_every_expected_failure_has_a_specific_reason():
    for name, reason in EXPECTED_FAILED_CHECKS.items():
        assert name.startswith("check_")
        detail = reason[len(_FITS_2D) :]
        assert len(detail) > 15, name
