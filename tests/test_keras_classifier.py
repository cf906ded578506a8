"""Tests for igselect.KerasLandmarkClassifier: any Keras network as an estimator.

The networks are user-style build functions in ``_keras_models.py`` (a GRU
returning logits, a Sequential MLP ending in a softmax). Data are tiny, with
a known answer: ``make_landmark_sequences`` plants the informative landmarks
of each class, and ``make_expression_sequences`` (the built-in, semi-synthetic
six-emotion data) gives the landmarks each emotion moves.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _keras_models import dense_softmax, gru_logits
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from igselect import KerasLandmarkClassifier
from igselect.datasets import make_expression_sequences, make_landmark_sequences
from igselect.landmarks import LandmarkAligner

_TESTS = Path(__file__).resolve().parent
FAST = dict(epochs=25, learning_rate=1e-2, validation_fraction=0.0, random_state=0)


@pytest.fixture(scope="module")
def three_classes():
    ds = make_landmark_sequences(
        n_samples=90, n_frames=4, n_landmarks=12, n_classes=3, n_informative=3, random_state=0
    )
    return ds.data[:60], ds.target[:60], ds.data[60:], ds.target[60:]


@pytest.fixture(scope="module")
def gru_fitted(three_classes):
    X, y, _, _ = three_classes
    return KerasLandmarkClassifier(gru_logits, units=8, **FAST).fit(X, y)


# ---------------------------------------------------------------- multi-class
def test_multiclass_gru_learns_and_returns_probabilities(gru_fitted, three_classes):
    _, _, X_test, y_test = three_classes
    clf = gru_fitted
    assert_array_equal(clf.classes_, ["class_0", "class_1", "class_2"])
    assert clf.positive_class_ is None
    proba = clf.predict_proba(X_test)
    assert proba.shape == (30, 3)
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert clf.score(X_test, y_test) >= 0.9  # chance: 1/3
    assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])
    assert clf.decision_function(X_test).shape == (30, 3)


def test_model_contract_raw_landmarks_in_probabilities_out(gru_fitted, three_classes):
    """What the selectors rely on: model_ maps RAW landmarks to probabilities."""
    X_test = three_classes[2]
    model = gru_fitted.model_
    names = [layer.name for layer in model.layers]
    # Logits detected: a softmax is appended; standardisation comes first.
    assert names == ["landmarks", "standardize", "gru", "probabilities"]
    raw = np.asarray(model(X_test, training=False))
    assert_allclose(gru_fitted.predict_proba(X_test), raw, rtol=1e-6, atol=1e-7)
    mean = np.asarray(model.get_layer("standardize").mean).reshape(2, 12)
    assert_allclose(mean, three_classes[0].mean(axis=(0, 1)), rtol=1e-5)


@pytest.mark.filterwarnings("ignore:.*received `from_logits=True`:UserWarning")
def test_probability_output_gets_no_second_softmax(three_classes):
    X, y, X_test, _ = three_classes
    clf = KerasLandmarkClassifier(dense_softmax, hidden=6, epochs=2, random_state=0)
    clf.fit(X, y)
    assert [layer.name for layer in clf.model_.layers] == ["landmarks", "standardize", "mlp"]
    # output="logits" on a softmax network is the user's word: a softmax is added.
    forced = clone(clf).set_params(output="logits").fit(X, y)
    assert forced.model_.layers[-1].name == "probabilities"
    assert_allclose(forced.predict_proba(X_test).sum(axis=1), 1.0, atol=1e-5)


def test_variable_constraints_hold_after_training(three_classes):
    X, y, _, _ = three_classes
    clf = KerasLandmarkClassifier(dense_softmax, hidden=6, nonneg=True, epochs=3, random_state=0)
    kernel = clf.fit(X, y).model_.get_layer("mlp").get_layer("hidden").kernel
    assert np.asarray(kernel).min() >= 0.0
    unconstrained = clone(clf).set_params(nonneg=False).fit(X, y)
    assert np.asarray(unconstrained.model_.get_layer("mlp").get_layer("hidden").kernel).min() < 0


def test_positive_class_binarises(three_classes):
    X, y, X_test, y_test = three_classes
    clf = KerasLandmarkClassifier(gru_logits, positive_class="class_1", units=4, **FAST)
    clf.fit(X, y)
    assert_array_equal(clf.classes_, [0, 1])
    assert clf.positive_class_ == "class_1"
    assert clf.predict_proba(X_test).shape == (30, 2)
    assert clf.score(X_test, y_test) >= 0.85


# ------------------------------------------------------------ params and seeds
def test_build_params_round_trip_and_are_grid_searchable():
    clf = KerasLandmarkClassifier(gru_logits, epochs=3, units=5)
    params = clf.get_params()
    assert params["units"] == 5 and params["build_fn"] is gru_logits
    twin = clone(clf)
    assert twin.get_params() == params
    # A build_fn argument that was not given becomes a parameter on set_params.
    assert twin.set_params(dropout=0.1, units=7) is twin
    assert twin.get_params()["dropout"] == 0.1 and twin.get_params()["units"] == 7
    assert clone(twin).get_params() == twin.get_params()
    pipe = Pipeline([("clf", clf)]).set_params(clf__units=9)
    assert pipe.get_params()["clf__units"] == 9
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        clf.set_params(bogus=1)
    assert "units=9" in repr(clf)  # the Pipeline set it on clf itself


def test_random_state_repeatable_without_touching_global_seeds(three_classes):
    X, y, X_test, _ = three_classes
    py_state, np_state = random.getstate(), np.random.get_state()[1].copy()  # noqa: NPY002
    # gru_logits takes no seed: Keras' default initializer seeds come from random_state.
    a = KerasLandmarkClassifier(gru_logits, units=4, epochs=3, random_state=5).fit(X, y)
    b = KerasLandmarkClassifier(gru_logits, units=4, epochs=3, random_state=5).fit(X, y)
    c = KerasLandmarkClassifier(gru_logits, units=4, epochs=3, random_state=6).fit(X, y)
    assert random.getstate() == py_state
    assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert not np.allclose(a.predict_proba(X_test), c.predict_proba(X_test))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epochs": 0}, r"'epochs' parameter.*Received: epochs=0"),
        ({"batch_size": True}, r"Received: batch_size=True"),
        ({"learning_rate": -1.0}, r"Received: learning_rate=-1.0"),
        ({"validation_fraction": 1.0}, r"Received: validation_fraction=1.0"),
        ({"output": "odds"}, r"Received: output='odds'"),
        ({"standardize": "yes"}, r"Received: standardize='yes'"),
        ({"build_fn": None}, r"must be a callable.*Received: build_fn=None"),
        ({"build_fn": "gru"}, r"Received: build_fn='gru'"),
        ({"n_classes": 3}, r"'n_classes' cannot be a build parameter.*Received: n_classes=3"),
    ],
)
def test_bad_params_name_the_value(params, match):
    X = np.zeros((6, 2, 2, 3), np.float32)
    kwargs = {"build_fn": gru_logits, **params}
    with pytest.raises(ValueError, match=match):
        KerasLandmarkClassifier(**kwargs).fit(X, np.array([0, 1] * 3))


def test_build_fn_output_shape_is_checked():
    def two_outputs_for_three_classes(n_frames, n_landmarks, n_classes):
        return gru_logits(n_frames, n_landmarks, 2, units=2)

    X = np.random.default_rng(0).normal(size=(9, 2, 2, 3)).astype(np.float32)
    clf = KerasLandmarkClassifier(two_outputs_for_three_classes, epochs=1, validation_fraction=0)
    with pytest.raises(ValueError, match=r"n_classes=3.*Received: output shape \(9, 2\)"):
        clf.fit(X, [0, 1, 2] * 3)


def test_pickle_round_trip(gru_fitted, three_classes):
    X_test = three_classes[2]
    restored = pickle.loads(pickle.dumps(gru_fitted))
    assert_array_equal(restored.predict_proba(X_test), gru_fitted.predict_proba(X_test))
    assert restored.get_params() == gru_fitted.get_params()
    assert [layer.name for layer in restored.model_.layers][-1] == "probabilities"


# ------------------------------------------------------------ must show: any network
@pytest.mark.slow  # 9 pipeline fits of a GRU (5 configurations traced) and a new process: 15-50 s
def test_any_network_pipeline_grid_search_recovers_planted_landmarks(tmp_path):
    """A user's GRU in aligner -> GlobalIGSelector -> classifier, grid-searched over
    the cut and a build parameter; the selection finds the planted landmarks and
    the fitted pipeline predicts identically in a new process."""
    from igselect import GlobalIGSelector

    ds = make_landmark_sequences(
        n_samples=72, n_frames=4, n_landmarks=16, n_classes=3, n_informative=2, random_state=1
    )
    positive = "class_0"
    net = gru_logits  # the user's network (tests/_keras_models.py)
    pipe = Pipeline(
        [
            ("align", LandmarkAligner()),
            (
                "select",
                GlobalIGSelector(
                    KerasLandmarkClassifier(net, units=8, **FAST),
                    positive_class=positive,
                    n_landmarks=2,
                    n_steps=32,
                    memory=str(tmp_path / "cache"),
                ),
            ),
            ("clf", KerasLandmarkClassifier(net, positive_class=positive, units=4, **FAST)),
        ]
    )
    grid = GridSearchCV(
        pipe,
        {"select__n_landmarks": [2, 6], "clf__units": [4, 8]},
        cv=GroupKFold(n_splits=2),
    )
    grid.fit(ds.data, ds.target, groups=ds.subject)
    best = grid.best_estimator_
    selector = best.named_steps["select"]
    # The class-0-vs-rest network relies on class 0's planted landmarks (their
    # motion) and on the other classes' (their rest); the 10 others carry noise.
    rank = np.empty(16, int)
    rank[np.argsort(-selector.scores_)] = np.arange(16)
    planted = np.concatenate(list(ds.informative.values()))
    noise = np.setdiff1d(np.arange(16), planted)
    assert rank[ds.informative[positive]].max() < rank[noise].min()
    assert np.isin(np.argsort(-selector.scores_)[:6], planted).sum() >= 5
    assert grid.best_score_ >= 0.8  # one-vs-rest accuracy; 2/3 predicts "rest" always
    assert best.named_steps["clf"].n_landmarks_in_ == grid.best_params_["select__n_landmarks"]

    ref = best.predict_proba(ds.data)
    np.save(tmp_path / "X.npy", ds.data)
    np.save(tmp_path / "ref.npy", ref)
    with open(tmp_path / "pipe.pkl", "wb") as fh:
        pickle.dump(best, fh)
    script = textwrap.dedent(
        f"""
        import pickle, sys
        import numpy as np
        sys.path.insert(0, {str(_TESTS)!r})  # where the user's build_fn lives
        with open({str(tmp_path / "pipe.pkl")!r}, "rb") as fh:
            pipe = pickle.load(fh)
        X = np.load({str(tmp_path / "X.npy")!r})
        out, ref = pipe.predict_proba(X), np.load({str(tmp_path / "ref.npy")!r})
        assert np.array_equal(out, ref), abs(out - ref).max()
        assert pipe.named_steps["clf"].get_params()["units"] in (4, 8)
        print("OK")
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")


# ------------------------------------------------------------ must show: multi-class
@pytest.fixture(scope="module")
def six_emotions():
    """The built-in semi-synthetic data: 20 subjects x 6 emotions, 4 frames, aligned."""
    ds = make_expression_sequences(n_subjects=20, n_frames=4, random_state=0)
    X = LandmarkAligner().fit_transform(ds.data)
    test = np.isin(ds.subject, np.unique(ds.subject)[14:])  # 6 unseen subjects
    clf = KerasLandmarkClassifier(dense_softmax, hidden=16, **dict(FAST, epochs=40))
    clf.fit(X[~test], ds.target[~test])
    return ds, X, test, clf


def test_six_class_classifier_beats_chance_by_far(six_emotions):
    ds, X, test, clf = six_emotions
    assert_array_equal(clf.classes_, sorted(set(ds.target)))
    assert clf.predict_proba(X[test]).shape == (int(test.sum()), 6)
    # Chance is 1/6; unseen subjects.
    assert clf.score(X[test], ds.target[test]) >= 0.6


def test_selector_with_positive_class_on_a_prefit_multiclass_model(six_emotions):
    """The selector takes the positive column from classes_ (here column 3,
    "happiness"), not column 1 ("disgust"): its top landmarks are the ones the
    smile moves."""
    from igselect import GlobalIGSelector

    ds, X, test, clf = six_emotions
    assert clf.classes_[3] == "happiness"
    selector = GlobalIGSelector(
        clf, prefit=True, positive_class="happiness", n_landmarks=32, n_steps=64
    ).fit(X[~test], ds.target[~test])
    top = np.argsort(-selector.scores_)[:32]
    smile = np.isin(top, ds.relevant_landmarks["happiness"]).mean()
    chance = ds.relevant_landmarks["happiness"].size / X.shape[3]  # 0.26
    assert smile >= 0.8 > 2 * chance
