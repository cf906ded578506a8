"""GlobalIGSelector inside Pipeline and GridSearchCV: caching, pickling, repeatability."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from igselect.classifier import EmoClassifier
from igselect.datasets._synthetic import make_landmark_sequences
from igselect.selector import GlobalIGSelector

N_LANDMARKS = 20
TINY = dict(
    lstm_units=4,
    dense_units=4,
    epochs=2,
    learning_rate=1e-2,
    validation_fraction=0,
    positive_class="class_0",
    random_state=0,
)


@pytest.fixture(scope="module")
def data():
    # 12 subjects x 3 classes; every subject shows every class once.
    return make_landmark_sequences(
        n_samples=36,
        n_frames=5,
        n_landmarks=N_LANDMARKS,
        n_classes=3,
        n_informative=3,
        random_state=0,
    )


def _pipeline(memory=None, n_landmarks=4, random_state=0):
    select = GlobalIGSelector(
        EmoClassifier(n_filters=2, **TINY),
        n_landmarks=n_landmarks,
        positive_class="class_0",
        n_steps=8,
        memory=memory,
        random_state=random_state,
    )
    clf = EmoClassifier(n_filters=2, randomized=True, **TINY)
    return Pipeline([("select", select), ("clf", clf)])


@pytest.fixture
def count_full_fits(monkeypatch):
    """Record the landmark count of every EmoClassifier.fit; return the list.

    The selector's estimator is the only one trained on all N_LANDMARKS
    landmarks (the grids below never select all of them). Under joblib
    caching, a cache hit does not run the cached function's body, hence does
    not call fit, so the count is the number of real trainings.
    """
    calls: list[int] = []
    real_fit = EmoClassifier.fit

    def counting_fit(self, X, y):
        calls.append(np.shape(X)[3])
        return real_fit(self, X, y)

    monkeypatch.setattr(EmoClassifier, "fit", counting_fit)
    return calls


@pytest.fixture
def cheap_ig(monkeypatch):
    """Replace the IG engine by ``(x - b)`` (no tracing); record each call's n_steps.

    For the tests that count trainings and cache hits, where the attribution
    values do not matter; the real engine runs in the end-to-end test.
    """
    import igselect.attribution as attribution

    calls: list = []

    def fake_ig(model, X, baselines, *, n_steps, **kwargs):
        calls.append(n_steps)
        return (X - baselines).astype(np.float32), np.zeros(len(X)), n_steps

    monkeypatch.setattr(attribution, "integrated_gradients", fake_ig)
    return calls


class _MajorityClassifier(ClassifierMixin, BaseEstimator):
    """Keras-free final step for the counting tests: predicts the majority class."""

    def fit(self, X, y):
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


# ----------------------------------------------------------------------------- grid search
def test_grid_search_with_memory_trains_once_per_fold(data, tmp_path, count_full_fits):
    """Must show: GridSearchCV over select__n_landmarks x clf__n_filters with grouped
    CV runs end to end, and the full-landmark network + IG run once per fold
    (+1 refit), not once per candidate."""
    grid = {"select__n_landmarks": [3, 6, 10], "clf__n_filters": [2, 4]}
    search = GridSearchCV(_pipeline(memory=str(tmp_path)), grid, cv=GroupKFold(n_splits=2))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
        search.fit(data.data, data.target, groups=data.subject)

    n_full = sum(n == N_LANDMARKS for n in count_full_fits)
    assert n_full == 2 + 1  # 2 folds + the refit; 6 candidates x 2 folds + 1 = 13 uncached
    n_clf = sum(n < N_LANDMARKS for n in count_full_fits)
    assert n_clf == 6 * 2 + 1
    assert len(search.cv_results_["params"]) == 6
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    k = search.best_params_["select__n_landmarks"]
    assert best.named_steps["select"].n_landmarks_ == k
    assert best.named_steps["clf"].n_landmarks_in_ == k
    assert best.predict(data.data).shape == (36,)
    assert 0.0 <= search.score(data.data, data.target) <= 1.0

    # A new selector with another cut on the same data is a pure cache hit.
    count_full_fits.clear()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
        other = _pipeline(memory=str(tmp_path), n_landmarks=7).named_steps["select"]
        other.fit(data.data, data.target)
    assert count_full_fits == []
    assert_array_equal(other.scores_, best.named_steps["select"].scores_)
    assert other.get_support().sum() == 7


def test_grid_search_without_memory_trains_once_per_candidate(data, count_full_fits, cheap_ig):
    """The control: without memory every candidate retrains on all landmarks."""
    select = _pipeline().named_steps["select"].set_params(estimator__epochs=1)
    pipe = Pipeline([("select", select), ("clf", _MajorityClassifier())])
    grid = {"select__n_landmarks": [3, 6]}
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=2), refit=False)
    search.fit(data.data, data.target, groups=data.subject)
    assert sum(n == N_LANDMARKS for n in count_full_fits) == 2 * 2  # with memory: 2
    assert len(cheap_ig) == 2 * 2 * 2  # candidates x folds x baselines


def test_cache_keys(data, tmp_path, count_full_fits, cheap_ig):
    """n_landmarks and verbose are in no key; IG parameters do not retrain."""
    X, y = data.data, data.target

    def fit(**params):
        sel = _pipeline(memory=joblib.Memory(tmp_path, verbose=0)).named_steps["select"]
        return sel.set_params(**params).fit(X, y)

    first = fit(n_landmarks=3)
    assert (len(count_full_fits), len(cheap_ig)) == (1, 2)  # 1 training, 2 baselines
    again = fit(n_landmarks=5, verbose=1)
    assert (len(count_full_fits), len(cheap_ig)) == (1, 2)  # all cached
    assert_array_equal(again.scores_, first.scores_)
    assert again.get_support().sum() == 5
    fit(n_steps=4)  # IG parameter: new IG scores, same trained network
    assert (len(count_full_fits), len(cheap_ig)) == (1, 4)
    fit(baselines="mean")
    assert (len(count_full_fits), len(cheap_ig)) == (1, 5)
    fit(estimator__dense_units=5)  # estimator parameter: retrain
    fit(random_state=1)  # set on the estimator: retrain
    assert len(count_full_fits) == 3


# ----------------------------------------------------------------------------- persistence
@pytest.fixture(scope="module")
def fitted_pipeline(data):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
        return _pipeline().fit(data.data, data.target)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pipeline_round_trip(data, fitted_pipeline, tmp_path, dump):
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(fitted_pipeline))
    else:
        joblib.dump(fitted_pipeline, tmp_path / "pipe.joblib")
        loaded = joblib.load(tmp_path / "pipe.joblib")
    assert_array_equal(
        loaded.named_steps["select"].get_support(),
        fitted_pipeline.named_steps["select"].get_support(),
    )
    assert_allclose(loaded.predict_proba(data.data), fitted_pipeline.predict_proba(data.data))
    assert_array_equal(loaded.predict(data.data), fitted_pipeline.predict(data.data))


def test_round_trip_in_a_new_process(data, fitted_pipeline, tmp_path):
    joblib.dump(fitted_pipeline, tmp_path / "pipe.joblib")
    with open(tmp_path / "sel.pkl", "wb") as fh:
        pickle.dump(fitted_pipeline.named_steps["select"], fh)
    np.save(tmp_path / "X.npy", data.data)
    script = textwrap.dedent(
        f"""
        import pickle, joblib, numpy as np
        X = np.load({str(tmp_path / "X.npy")!r})
        pipe = joblib.load({str(tmp_path / "pipe.joblib")!r})
        with open({str(tmp_path / "sel.pkl")!r}, "rb") as fh:
            sel = pickle.load(fh)
        np.savez({str(tmp_path / "out.npz")!r}, proba=pipe.predict_proba(X),
                 mask=pipe.named_steps["select"].get_support(), sel_mask=sel.get_support(),
                 Xt=sel.transform(X))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    out = np.load(tmp_path / "out.npz")
    select = fitted_pipeline.named_steps["select"]
    assert_array_equal(out["mask"], select.get_support())
    assert_array_equal(out["sel_mask"], select.get_support())
    assert_array_equal(out["Xt"], select.transform(data.data))
    assert_allclose(out["proba"], fitted_pipeline.predict_proba(data.data), rtol=1e-5, atol=1e-7)


def test_same_random_state_same_pipeline(data, fitted_pipeline):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
        again = _pipeline().fit(data.data, data.target)
    assert_array_equal(
        again.named_steps["select"].get_support(),
        fitted_pipeline.named_steps["select"].get_support(),
    )
    assert_allclose(
        again.predict_proba(data.data), fitted_pipeline.predict_proba(data.data), rtol=1e-5
    )
