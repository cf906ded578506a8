"""Tests for igselect.ensemble.EmotionEnsemble."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score

from igselect.ensemble import EmotionEnsemble

EMOTIONS = ["anger", "happiness", "surprise"]


class FakeBinary(ClassifierMixin, BaseEstimator):
    """Binary LogisticRegression on flattened (n, P, 2, L) input, positive_class style."""

    def __init__(self, positive_class=None, C=1.0):
        self.positive_class = positive_class
        self.C = C

    def fit(self, X, y):
        X = np.asarray(X)
        yb = (np.asarray(y) == self.positive_class).astype(int)
        self.lr_ = LogisticRegression(C=self.C).fit(X.reshape(len(X), -1), yb)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        X = np.asarray(X)
        return self.lr_.predict_proba(X.reshape(len(X), -1))

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


def _data(n_per_class=12, labels=EMOTIONS, seed=0):
    """Each emotion moves its own landmark (index k) by +1 in x."""
    rng = np.random.default_rng(seed)
    y = np.repeat(labels, n_per_class)
    X = rng.normal(scale=0.3, size=(len(y), 2, 2, 6)).astype(np.float32)
    for k, emo in enumerate(labels):
        X[y == emo, :, 0, k] += 1.5
    groups = np.tile(np.arange(n_per_class), len(labels))
    return X, y, groups


def _ensemble(names=EMOTIONS, **kw):
    return EmotionEnsemble([(e, FakeBinary(positive_class=e)) for e in names], **kw)


def test_fit_predict_on_separable_data():
    X, y, _ = _data()
    ens = _ensemble().fit(X, y)
    assert_array_equal(ens.classes_, EMOTIONS)  # given order, not sorted
    assert ens.score(X, y) == 1.0
    proba = ens.predict_proba(X)
    assert proba.shape == (len(y), 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert list(ens.named_estimators_) == EMOTIONS
    assert ens.fit_time_ >= 0


def test_classes_follow_given_order():
    X, y, _ = _data()
    order = ["surprise", "anger", "happiness"]
    ens = _ensemble(order).fit(X, y)
    assert_array_equal(ens.classes_, order)
    assert_array_equal(ens.predict(X), y)
    # column k scores classes_[k]
    assert_array_equal(ens.classes_[ens.predict_proba(X).argmax(1)], y)


def test_predict_is_argmax_of_positive_class_probabilities():
    X, y, _ = _data(seed=1)
    Xt = X + np.random.default_rng(5).normal(scale=0.8, size=X.shape).astype(np.float32)
    ens = _ensemble().fit(X, y)
    raw = np.column_stack(
        [FakeBinary(positive_class=e).fit(X, y).predict_proba(Xt)[:, 1] for e in EMOTIONS]
    )
    assert_allclose(ens.decision_function(Xt), raw, rtol=1e-5)
    assert_allclose(ens.predict_proba(Xt), raw / raw.sum(1, keepdims=True), rtol=1e-5)
    assert_array_equal(ens.predict(Xt), np.asarray(EMOTIONS)[raw.argmax(1)])
    assert ens.score(Xt, y) < 1.0  # noisy copy: the test can see errors


def test_cross_val_score_with_groups_and_clone():
    X, y, groups = _data()
    ens = _ensemble()
    scores = cross_val_score(ens, X, y, groups=groups, cv=GroupKFold(n_splits=3))
    assert scores.shape == (3,)
    assert scores.mean() > 0.9
    cloned = clone(ens)
    assert cloned.get_params(deep=False)["estimators"][0][0] == "anger"
    assert not hasattr(cloned, "estimators_")


def test_nested_params_round_trip():
    ens = _ensemble()
    params = ens.get_params(deep=True)
    assert params["anger__C"] == 1.0
    assert params["anger__positive_class"] == "anger"
    ens.set_params(anger__C=0.5, n_jobs=2)
    assert ens.get_params()["anger__C"] == 0.5
    assert ens.n_jobs == 2
    X, y, _ = _data()
    assert ens.fit(X, y).named_estimators_["anger"].C == 0.5


def test_n_jobs_gives_same_predictions():
    X, y, _ = _data()
    a = _ensemble().fit(X, y).predict_proba(X)
    b = _ensemble(n_jobs=2).fit(X, y).predict_proba(X)
    assert_allclose(a, b)


def test_verbose_prints(capsys):
    X, y, _ = _data()
    _ensemble(verbose=1).fit(X, y)
    assert "fitted 'anger'" in capsys.readouterr().out


def test_error_duplicate_names():
    X, y, _ = _data()
    ens = EmotionEnsemble([("anger", FakeBinary("anger")), ("anger", FakeBinary("anger"))])
    with pytest.raises(ValueError, match="unique.*'anger'"):
        ens.fit(X, y)


def test_error_emotion_not_in_y():
    X, y, _ = _data()
    ens = _ensemble(EMOTIONS + ["fear"])
    with pytest.raises(ValueError, match=r"\['fear'\].*do not occur in y"):
        ens.fit(X, y)


@pytest.mark.parametrize("bad", [[], None, [("anger",)], "anger"])
def test_error_bad_estimators_list(bad):
    X, y, _ = _data()
    with pytest.raises(ValueError, match="estimators"):
        EmotionEnsemble(bad).fit(X, y)


def test_error_estimator_without_predict_proba():
    X, y, _ = _data()
    with pytest.raises(TypeError, match="predict_proba"):
        EmotionEnsemble([("anger", object())]).fit(X, y)


def test_extra_label_warns_and_is_never_predicted():
    X, y, _ = _data(labels=EMOTIONS + ["neutral"])
    with pytest.warns(UserWarning, match="neutral"):
        ens = _ensemble().fit(X, y)
    assert "neutral" not in set(ens.predict(X))


def test_multiclass_sub_estimator_without_binary_classes_is_rejected():
    X, y, _ = _data()

    class Multi(FakeBinary):
        def fit(self, X, y):
            self.lr_ = LogisticRegression().fit(np.asarray(X).reshape(len(X), -1), y)
            self.classes_ = self.lr_.classes_
            return self

    # Column found by name when the emotion is one of the classes.
    ens = EmotionEnsemble([(e, Multi()) for e in EMOTIONS]).fit(X, y)
    assert ens.score(X, y) == 1.0

    class Renamed(Multi):
        def fit(self, X, y):
            super().fit(X, y)
            self.classes_ = np.array(["a", "b", "c"])
            return self

    with pytest.raises(ValueError, match="positive class.*'a', 'b', 'c'"):
        EmotionEnsemble([("anger", Renamed())]).fit(X, y)


def test_real_pipeline_smoke():
    """Two tiny aligner -> IG selector -> EmoClassifier pipelines in one ensemble."""
    from sklearn.pipeline import Pipeline

    from igselect.classifier import EmoClassifier
    from igselect.datasets import make_expression_sequences
    from igselect.landmarks import LandmarkAligner
    from igselect.selector import GlobalIGSelector

    emotions = ["happiness", "surprise"]
    data = make_expression_sequences(
        n_subjects=4, n_frames=2, emotions=emotions + ["sadness"], random_state=0
    )
    small = dict(
        n_filters=2, lstm_units=2, dense_units=2, epochs=1, validation_fraction=0, random_state=0
    )

    def pipe(e):
        return Pipeline(
            [
                ("align", LandmarkAligner()),
                (
                    "select",
                    GlobalIGSelector(
                        EmoClassifier(**small), n_landmarks=16, positive_class=e, n_steps=2
                    ),
                ),
                ("clf", EmoClassifier(positive_class=e, **small)),
            ]
        )

    ens = EmotionEnsemble([(e, pipe(e)) for e in emotions])
    with pytest.warns(UserWarning, match="sadness"):
        ens.fit(data.data, data.target)
    proba = ens.predict_proba(data.data)
    assert proba.shape == (len(data.target), 2)
    assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert set(ens.predict(data.data)) <= set(emotions)
    assert ens.named_estimators_["surprise"][-1].n_landmarks_in_ == 16


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_jobs": "2"}, r"The 'n_jobs' parameter of EmotionEnsemble must be .*Got '2' instead"),
        ({"verbose": -1}, r"The 'verbose' parameter of EmotionEnsemble must be .*Got -1 instead"),
    ],
)
def test_bad_parameters_name_the_parameter_and_value(params, match):
    X, y, _ = _data()
    with pytest.raises(ValueError, match=match):
        _ensemble(**params).fit(X, y)


@pytest.mark.parametrize(
    "bad_label, match",
    [(None, r"1 missing label\(s\) \(None or NaN\); the first is y\[3\]"), (1, "mixes label")],
)
def test_bad_labels_get_a_clear_error(bad_label, match):
    # an object y with None, or numbers beside strings, failed inside np.unique before
    X, y, _ = _data()
    y = np.asarray(y, dtype=object)
    y[3] = bad_label
    with pytest.raises(ValueError, match=match):
        _ensemble().fit(X, y)
