"""igselect.evaluation: ranking metrics vs hand-computed values, chance levels, the protocol."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from igselect.datasets import make_landmark_sequences
from igselect.evaluation import (
    BinarizedClassifier,
    FlattenLandmarks,
    beats_majority,
    evaluate_selection,
    mean_se,
    precision_at_k,
    selection_stability,
)
from igselect.rankers import (
    FTestLandmarkSelector,
    LinearSVMLandmarkSelector,
    MotionLandmarkSelector,
    RandomLandmarkSelector,
)


# ----------------------------------------------------------------------------- ranking metrics
def test_precision_at_k_hand_values():
    ranking = np.arange(100)
    assert precision_at_k(ranking, np.arange(32), 64) == 0.5
    assert precision_at_k(ranking[::-1], np.arange(32), 64) == 0.0
    assert precision_at_k([4, 2, 9, 1], [1, 9, 7], 3) == pytest.approx(1 / 3)
    assert precision_at_k([4, 2, 9, 1], [1, 9, 7], 4) == 0.5
    with pytest.raises(ValueError, match="Received: k=5"):
        precision_at_k([4, 2, 9, 1], [1], 5)
    with pytest.raises(ValueError, match="'k' parameter"):
        precision_at_k([4, 2, 9, 1], [1], 0)


def test_selection_stability_hand_values():
    # n = 10, k = 3: A = {0,1,2}, B = {0,1,5} share r = 2; C = {7,8,9} shares 0 with both.
    a, b, c = (
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 0, 5, 2, 3, 4, 6, 7, 8, 9],
        [9, 8, 7] + list(range(7)),
    )
    two = selection_stability([a, b], 3)
    assert two.kuncheva == pytest.approx((2 * 10 - 9) / (3 * 7))  # 11/21
    assert two.jaccard == pytest.approx(2 / 4)
    assert two.n_pairs == 1
    three = selection_stability([a, b, c], 3)
    assert three.kuncheva == pytest.approx((11 / 21 + 2 * (-9 / 21)) / 3)
    assert three.jaccard == pytest.approx((0.5 + 0 + 0) / 3)
    same = selection_stability([a, a, a], 4)
    assert same.kuncheva == pytest.approx(1.0) and same.jaccard == 1.0
    assert selection_stability([a, b], 3, n_landmarks=468).kuncheva == pytest.approx(
        (2 * 468 - 9) / (3 * 465)
    )
    with pytest.raises(ValueError, match="at least 2 rankings"):
        selection_stability([a], 3)
    with pytest.raises(ValueError, match="Received: k=10"):
        selection_stability([a, b], 10)


def test_random_rankings_have_kuncheva_near_zero():
    rng = np.random.default_rng(0)
    s = selection_stability([rng.permutation(468) for _ in range(30)], 64)
    assert abs(s.kuncheva) < 0.02
    assert s.jaccard == pytest.approx(64 / (2 * 468 - 64), abs=0.01)  # expected overlap


# ----------------------------------------------------------------------------- chance levels
def test_mean_se():
    assert mean_se([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1 / np.sqrt(3)))
    m, se = mean_se([0.5, np.nan])
    assert m == 0.5 and np.isnan(se)


def test_beats_majority_margin_and_se():
    r = beats_majority([0.9, 0.8], [0.8, 0.8], [100, 100])
    assert r.margin == pytest.approx(0.05)
    # splits' SE of the differences 0.1, 0.0 = 0.05; binomial sqrt(.85 * .15 / 200) = 0.025
    assert r.se == pytest.approx(0.05) and not r.beats
    r = beats_majority([0.95, 0.95, 0.95], [0.8, 0.8, 0.8], [100, 100, 100])
    assert r.se == pytest.approx(np.sqrt(0.95 * 0.05 / 300)) and r.beats
    with pytest.raises(ValueError, match="one value per split"):
        beats_majority([0.9], [0.8, 0.8], [10, 10])


# ----------------------------------------------------------------------------- estimators
@parametrize_with_checks([FlattenLandmarks()])
def test_flatten_landmarks_passes_sklearn_checks(estimator, check):
    check(estimator)


def test_flatten_landmarks_flattens_and_checks_the_shape():
    X = np.arange(2 * 3 * 2 * 4, dtype=float).reshape(2, 3, 2, 4)
    flat = FlattenLandmarks().fit(X)
    assert flat.input_shape_ == (3, 2, 4)
    np.testing.assert_array_equal(flat.transform(X), X.reshape(2, 24))
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        flat.transform(np.zeros((2, 3, 2, 5)))


def test_binarized_classifier_one_vs_rest():
    X = np.array([[0.0], [0.1], [1.0], [1.1], [2.0], [2.1]])
    y = np.array(["a", "a", "b", "b", "c", "c"])
    clf = BinarizedClassifier(LinearSVC(), positive_class="c").fit(X, y)
    assert clf.classes_.tolist() == [0, 1]
    assert clf.score(X, y) == 1.0
    assert clf.decision_function(X).shape == (6,)
    assert not hasattr(clf, "predict_proba")  # LinearSVC has none
    with pytest.raises(ValueError, match="'estimator' parameter"):
        BinarizedClassifier("svm").fit(X, y)


# ----------------------------------------------------------------------------- the protocol
def _linear(label):
    return make_pipeline(
        FlattenLandmarks(), BinarizedClassifier(LogisticRegression(C=10.0), positive_class=label)
    )


@pytest.fixture(scope="module")
def planted():
    return make_landmark_sequences(n_samples=96, n_frames=4, n_landmarks=30, random_state=1)


def test_evaluate_selection_reproduces_the_planted_ranking(planted):
    """Must show: on make_landmark_sequences, the selectors rank the planted landmarks
    first in every split, and their top 4 classify far better than a random 4."""
    label = "class_1"
    records = evaluate_selection(
        planted.data,
        planted.target,
        planted.subject,
        selectors={
            "F-test": FTestLandmarkSelector(positive_class=label),
            "linear SVM": LinearSVMLandmarkSelector(positive_class=label, random_state=0),
            "motion": MotionLandmarkSelector(positive_class=label),
            "random": RandomLandmarkSelector(random_state=0),
        },
        classifiers={"logistic": _linear(label)},
        landmark_counts=[30, 4],
        cv=GroupKFold(n_splits=3),
        positive_class=label,
    )
    assert len(records) == 3 * 4 * 2
    truth = planted.informative[label].tolist()
    for rec in records:
        if rec["selector"] != "random":
            assert sorted(rec["ranking"][:4].tolist()) == truth, rec["selector"]
        assert rec["majority_rate"] == pytest.approx(0.75, abs=0.05)
        assert rec["n_test"] == 32 and rec["rank_time_s"] >= 0
    acc = {
        (r["selector"], r["L"]): np.mean(
            [q["accuracy"] for q in records if (q["selector"], q["L"]) == (r["selector"], r["L"])]
        )
        for r in records
    }
    assert acc["F-test", 4] >= 0.95 and acc["motion", 4] >= 0.95
    assert acc["random", 4] < acc["F-test", 4] - 0.1
    random_top = [r["ranking"][:4] for r in records if r["selector"] == "random"]
    assert not all(sorted(t) == truth for t in random_top)


def test_evaluate_selection_marks_an_uninformative_class():
    """Chance levels: a planted uninformative class (labels drawn at random) sits at
    its majority rate and beats_majority marks it; the informative one beats it."""
    ds = make_landmark_sequences(n_samples=120, n_frames=3, n_landmarks=20, random_state=0)
    rng = np.random.default_rng(0)
    y = ds.target.astype(object).copy()
    y[rng.random(y.size) < 0.2] = "noise"  # carries no signal at all
    out = {}
    for label in ("class_0", "noise"):
        recs = evaluate_selection(
            ds.data,
            y,
            ds.subject,
            selectors={"F-test": FTestLandmarkSelector(positive_class=label)},
            classifiers={"logistic": _linear(label)},
            landmark_counts=[4],
            cv=GroupKFold(n_splits=4),
            positive_class=label,
        )
        out[label] = beats_majority(
            [r["accuracy"] for r in recs],
            [r["majority_rate"] for r in recs],
            [r["n_test"] for r in recs],
        )
        out[label].balanced = np.mean([r["balanced_accuracy"] for r in recs])
    assert out["class_0"].beats and out["class_0"].balanced > 0.7, out
    assert not out["noise"].beats and out["noise"].balanced < 0.6, out


def test_evaluate_selection_motion_features_and_parallel(planted):
    kw = dict(
        selectors={"motion": MotionLandmarkSelector(positive_class="class_0")},
        classifiers={"logistic": _linear("class_0")},
        landmark_counts=[4],
        cv=[(np.arange(0, 64), np.arange(64, 96))],
        positive_class="class_0",
        features="motion",
    )
    serial = evaluate_selection(planted.data, planted.target, **kw)
    parallel = evaluate_selection(planted.data, planted.target, n_jobs=2, **kw)
    assert [r["accuracy"] for r in serial] == [r["accuracy"] for r in parallel]
    assert serial[0]["split"] == 0 and serial[0]["n_train"] == 64


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"landmark_counts": [31]}, "landmark_counts must be ints in \\[1, 30\\]"),
        ({"positive_class": "nope"}, "positive_class='nope'"),
        ({"positive_class": None}, "set positive_class"),
        ({"selectors": {}}, "at least one estimator"),
        ({"features": "speed"}, "'features' parameter"),
    ],
)
def test_evaluate_selection_bad_input(planted, kwargs, message):
    kw = dict(
        selectors={"random": RandomLandmarkSelector()},
        classifiers={"logistic": _linear("class_0")},
        landmark_counts=[4],
        cv=2,
        positive_class="class_0",
    )
    with pytest.raises(ValueError, match=message):
        evaluate_selection(planted.data, planted.target, **{**kw, **kwargs})
