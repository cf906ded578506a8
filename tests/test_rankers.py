"""The cheap landmark rankings of igselect.rankers (planted data, closed forms)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from igselect.datasets import make_landmark_sequences
from igselect.evaluation import BinarizedClassifier, FlattenLandmarks
from igselect.rankers import (
    FTestLandmarkSelector,
    LinearSVMLandmarkSelector,
    MotionLandmarkSelector,
    RandomLandmarkSelector,
)


@pytest.fixture(scope="module")
def planted():
    return make_landmark_sequences(n_samples=80, n_frames=4, n_landmarks=30, random_state=0)


@pytest.mark.parametrize("cls", [FTestLandmarkSelector, LinearSVMLandmarkSelector])
@pytest.mark.parametrize("label", ["class_0", "class_2"])
def test_supervised_rankings_find_the_planted_landmarks(planted, cls, label):
    sel = cls(n_landmarks=4, positive_class=label).fit(planted.data, planted.target)
    assert sorted(sel.get_support(indices=True)) == planted.informative[label].tolist()
    assert sel.scores_.shape == (30,) and np.all(np.isfinite(sel.scores_))
    assert sel.transform(planted.data).shape == (80, 4, 2, 4)


def test_motion_ranking_is_the_mean_displacement_from_onset():
    X = np.zeros((2, 3, 2, 4))
    X[:, 1, 0, 2] = 0.3  # landmark 2 moves 0.3 in x at frame 1, back at frame 2
    X[0, 1:, :, 1] = [0.3, 0.4]  # landmark 1 of sample 0 moves 0.5 at frames 1-2
    sel = MotionLandmarkSelector(n_landmarks=2).fit(X)
    np.testing.assert_allclose(sel.scores_, [0, 0.25, 0.15, 0])  # (0.5+0.5)/4, 0.3*2/4
    assert sel.ranking_[:2].tolist() == [1, 2]
    y = np.array(["a", "b"])
    only_b = MotionLandmarkSelector(n_landmarks=1, positive_class="b").fit(X, y)
    np.testing.assert_allclose(only_b.scores_, [0, 0, 0.15, 0])  # sample 1 only


def test_motion_ranking_of_single_images_is_the_variance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 1, 2, 5)) * np.array([0.1, 1.0, 0.1, 3.0, 0.1])
    sel = MotionLandmarkSelector(n_landmarks=2).fit(X)
    np.testing.assert_allclose(sel.scores_, X[:, 0].var(axis=0).sum(axis=0))
    assert sel.ranking_[:2].tolist() == [3, 1]


def test_motion_on_planted_sequences(planted):
    sel = MotionLandmarkSelector(n_landmarks=4, positive_class="class_1")
    sel.fit(planted.data, planted.target)
    assert sorted(sel.ranking_[:4]) == planted.informative["class_1"].tolist()


def test_random_ranking_is_seeded():
    X = np.zeros((3, 2, 2, 50))
    a = RandomLandmarkSelector(5, random_state=0).fit(X).ranking_
    b = RandomLandmarkSelector(5, random_state=0).fit(X).ranking_
    c = RandomLandmarkSelector(5, random_state=1).fit(X).ranking_
    assert sorted(a) == list(range(50))
    assert (a == b).all() and not (a == c).all()


def test_n_landmarks_changes_the_cut_without_refit(planted):
    sel = FTestLandmarkSelector(n_landmarks=4, positive_class="class_0").fit(
        planted.data, planted.target
    )
    scores = sel.scores_.copy()
    sel.set_params(n_landmarks=0.5)
    assert sel.n_landmarks_ == 15 and (sel.scores_ == scores).all()
    assert sel.transform(planted.data).shape[-1] == 15


@pytest.mark.parametrize(
    "sel, message",
    [
        (FTestLandmarkSelector(n_landmarks=0), "'n_landmarks' parameter"),
        (FTestLandmarkSelector(n_landmarks=1.5), "'n_landmarks' parameter"),
        (LinearSVMLandmarkSelector(C=0.0), "'C' parameter"),
        (RandomLandmarkSelector(random_state="x"), "'random_state' parameter"),
        (FTestLandmarkSelector(n_landmarks=31), "n_landmarks=31"),
    ],
)
def test_bad_parameters_name_themselves(planted, sel, message):
    with pytest.raises(ValueError, match=message):
        sel.fit(planted.data, planted.target == "class_0")


def test_supervised_rankings_need_y(planted):
    with pytest.raises(ValueError, match="needs y"):
        FTestLandmarkSelector().fit(planted.data)


@pytest.mark.parametrize(
    "sel",
    [
        FTestLandmarkSelector(4, positive_class="class_0"),
        MotionLandmarkSelector(4),
        LinearSVMLandmarkSelector(4, positive_class="class_0", random_state=0),
        RandomLandmarkSelector(4, random_state=0),
    ],
)
def test_clone_pickle_and_pipeline(planted, sel):
    fitted = clone(sel).fit(planted.data, planted.target)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.ranking_, fitted.ranking_)
    pipe = make_pipeline(
        clone(sel),
        FlattenLandmarks(),
        BinarizedClassifier(LogisticRegression(), positive_class="class_0"),
    )
    pipe.fit(planted.data, planted.target)
    assert pipe.predict(planted.data).shape == (80,)
