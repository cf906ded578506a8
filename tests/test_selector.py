"""Tests of GlobalIGSelector: recovery of planted landmarks, API, baselines, errors."""

from __future__ import annotations

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags

import igselect.attribution as attribution
from igselect.classifier import EmoClassifier
from igselect.datasets._synthetic import make_landmark_sequences
from igselect.selector import GlobalIGSelector

N_LANDMARKS = 20


def _tiny(**kw):
    params = dict(
        n_filters=2,
        lstm_units=4,
        dense_units=4,
        epochs=4,
        learning_rate=1e-2,
        validation_fraction=0,
        random_state=0,
    )
    params.update(kw)
    return EmoClassifier(**params)


@pytest.fixture(scope="module")
def data():
    return make_landmark_sequences(
        n_samples=36,
        n_frames=5,
        n_landmarks=N_LANDMARKS,
        n_classes=3,
        n_informative=3,
        random_state=0,
    )


@pytest.fixture(scope="module")
def fitted_clf(data):
    return _tiny(positive_class="class_0").fit(data.data, data.target)


@pytest.fixture(scope="module")
def selector(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return GlobalIGSelector(
            _tiny(), n_landmarks=5, positive_class="class_0", n_steps=8, random_state=0
        ).fit(data.data, data.target)


def _prefit(fitted_clf, **kw):
    params = dict(prefit=True, n_landmarks=5, positive_class="class_0", n_steps=8)
    params.update(kw)
    return GlobalIGSelector(fitted_clf, **params)


def _fit_quiet(sel, X, y):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
        return sel.fit(X, y)


# ----------------------------------------------------------------------------- recovery
@pytest.mark.parametrize("randomized", [False, True], ids=["T-EMO", "R-EMO"])
def test_recovers_planted_landmarks_for_every_class(randomized):
    """Must show: for every class, the top-4 landmarks hold >= 3 of its 4 planted ones.

    40 landmarks, 4 classes x 4 planted landmarks; a tiny network trained
    10 epochs at learning rate 1e-2 (the paper's 1e-4 is far too slow here).
    """
    ds = make_landmark_sequences(n_samples=80, noise=0.05, random_state=0)
    hits = {}
    for name in ds.target_names:
        clf = EmoClassifier(
            n_filters=4,
            lstm_units=8,
            dense_units=8,
            epochs=10,
            batch_size=32,
            learning_rate=1e-2,
            randomized=randomized,
            validation_fraction=0,
        )
        sel = GlobalIGSelector(clf, n_landmarks=4, positive_class=name, n_steps=32, random_state=0)
        sel.fit(ds.data, ds.target)
        assert sel.relative_delta_ < 0.05
        hits[name] = np.intersect1d(sel.get_support(indices=True), ds.informative[name]).size
    hits = {str(k): v for k, v in hits.items()}
    print(f"planted landmarks recovered in the top 4 ({'R' if randomized else 'T'}-EMO): {hits}")
    assert min(hits.values()) >= 3, hits
    # chance level: 4 random picks out of 40 hold 0.4 planted landmarks on average
    assert sum(hits.values()) >= 12, hits


# ----------------------------------------------------------------------------- fitted state
def test_fitted_attributes(data, selector):
    L, P = N_LANDMARKS, data.data.shape[1]
    n_pos = int(np.sum(data.target == "class_0"))
    assert selector.n_landmarks_in_ == L and selector.n_frames_in_ == P
    assert selector.n_landmarks_ == 5
    assert selector.positive_class_ == "class_0"
    assert selector.estimator_.positive_class == "class_0"
    assert selector.estimator_.random_state == 0
    assert selector.scores_.shape == (L,)
    assert selector.scores_per_baseline_.shape == (2, L)
    assert_allclose(selector.scores_, selector.scores_per_baseline_.mean(axis=0))
    assert_array_equal(selector.ranking_, np.argsort(-selector.scores_, kind="stable"))
    assert selector.baselines_.shape == (2, P, 2, L)
    assert selector.baseline_labels_.tolist() == ["class_1", "class_2"]
    assert_array_equal(data.target[selector.baseline_indices_], ["class_1", "class_2"])
    assert_array_equal(selector.baselines_, data.data[selector.baseline_indices_])
    assert selector.deltas_.shape == (2, n_pos)
    assert np.isfinite(selector.relative_delta_)
    assert (selector.scores_ >= 0).all() and selector.scores_.max() > 0


def test_typical_baseline_is_the_standardised_medoid(data, selector):
    X = data.data.astype(np.float64)
    Z = (X - X.mean(axis=(0, 1))) / X.std(axis=(0, 1))
    for label, index in zip(selector.baseline_labels_, selector.baseline_indices_, strict=True):
        rows = np.flatnonzero(data.target == label)
        cost = [sum(np.linalg.norm(Z[i] - Z[j]) for j in rows) for i in rows]
        assert index == rows[int(np.argmin(cost))]


def test_scores_are_mean_abs_ig_over_inputs_and_baselines(data, selector):
    X_pos = data.data[data.target == "class_0"]
    per_baseline = []
    for base in selector.baselines_:
        attr = attribution.integrated_gradients(
            selector.estimator_.model_, X_pos, base[None], target=1, n_steps=8
        )
        per_baseline.append(np.abs(attr).sum(axis=(1, 2)).mean(axis=0))
    assert_allclose(selector.scores_per_baseline_, per_baseline, rtol=1e-4, atol=1e-7)
    assert_allclose(selector.scores_, np.mean(per_baseline, axis=0), rtol=1e-4, atol=1e-7)


# ----------------------------------------------------------------------------- selection API
def test_transform_get_support_inverse_and_names(data, selector):
    X = data.data
    support = selector.get_support(indices=True)
    assert_array_equal(support, np.sort(selector.ranking_[:5]))
    mask = selector.get_support()
    assert mask.dtype == bool and mask.sum() == 5
    assert_array_equal(np.flatnonzero(mask), support)
    Xt = selector.transform(X)
    assert Xt.shape == (X.shape[0], X.shape[1], 2, 5)
    assert_array_equal(Xt, X[..., support])  # index order kept
    Xt5 = selector.transform(X[..., None])  # trailing channel axis is kept
    assert Xt5.shape == Xt.shape + (1,)
    assert_array_equal(Xt5[..., 0], Xt)
    assert selector.transform(X.astype(np.float64)).dtype == np.float64
    Xi = selector.inverse_transform(Xt)
    assert Xi.shape == X.shape
    assert_array_equal(Xi[..., support], Xt)
    assert not Xi[..., ~mask].any()
    assert selector.inverse_transform(Xt5).shape == X.shape + (1,)
    with pytest.raises(ValueError, match="selected"):
        selector.inverse_transform(X)
    assert selector.get_feature_names_out().tolist() == [f"landmark_{i}" for i in support]
    names = [f"lm{i}" for i in range(N_LANDMARKS)]
    assert selector.get_feature_names_out(names).tolist() == [f"lm{i}" for i in support]
    with pytest.raises(ValueError, match="input_features"):
        selector.get_feature_names_out(names[:3])


@pytest.mark.parametrize(
    "n_landmarks, expected",
    [(1, 1), (N_LANDMARKS, N_LANDMARKS), (0.5, 10), (0.26, 5), (0.01, 1), (1.0, N_LANDMARKS)],
)
def test_n_landmarks_forms_and_set_params_after_fit(selector, data, n_landmarks, expected):
    sel = copy.copy(selector)  # shallow: shares estimator_, own params
    sel.set_params(n_landmarks=n_landmarks)  # the cut follows n_landmarks without refit
    assert sel.n_landmarks_ == expected
    assert_array_equal(sel.get_support(indices=True), np.sort(selector.ranking_[:expected]))
    assert sel.transform(data.data).shape[-1] == expected


def test_callable_n_landmarks(selector):
    sel = copy.copy(selector).set_params(n_landmarks=lambda n: n // 4)
    assert sel.n_landmarks_ == N_LANDMARKS // 4


@pytest.mark.parametrize(
    "n_landmarks, match",
    [
        (0, "n_landmarks=0"),
        (-1, "n_landmarks=-1"),
        (N_LANDMARKS + 1, f"n_landmarks={N_LANDMARKS + 1}"),
        (1.5, "n_landmarks=1.5"),
        (0.0, "n_landmarks=0.0"),
        ("x", "n_landmarks='x'"),
        (True, "n_landmarks=True"),
        (lambda n: 0.5, "n_landmarks=0.5"),
    ],
)
def test_bad_n_landmarks_raises_before_training(data, n_landmarks, match, monkeypatch):
    def no_fit(self, X, y):  # pragma: no cover - must not be reached
        raise AssertionError("the estimator was trained before n_landmarks was validated")

    monkeypatch.setattr(EmoClassifier, "fit", no_fit)
    with pytest.raises(ValueError, match=match):
        GlobalIGSelector(_tiny(), n_landmarks=n_landmarks, positive_class="class_0").fit(
            data.data, data.target
        )


# ----------------------------------------------------------------------------- bad input
def test_bad_input(data, fitted_clf):
    X, y = data.data, data.target
    sel = _prefit(fitted_clf)
    X_nan = X.copy()
    X_nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        sel.fit(X_nan, y)
    X_inf = X.copy()
    X_inf[1, 2, 1, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        sel.fit(X_inf, y)
    with pytest.raises(ValueError, match="ndim=3"):
        sel.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="positive_class='nope'"):
        _prefit(fitted_clf, positive_class="nope").fit(X, y)
    with pytest.raises(ValueError, match="single class"):
        sel.fit(X, np.full(len(y), "class_0"))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        sel.fit(X, y[:-1])
    with pytest.raises(ValueError, match="inputs='some'"):
        _prefit(fitted_clf, inputs="some").fit(X, y)
    with pytest.raises(ValueError, match="baselines='median'"):
        _prefit(fitted_clf, baselines="median").fit(X, y)
    with pytest.raises(ValueError, match="'onset'"):  # the message lists the strategies
        _prefit(fitted_clf, baselines="first").fit(X, y)
    with pytest.raises(ValueError, match="n_steps=0"):
        _prefit(fitted_clf, n_steps=0).fit(X, y)
    with pytest.raises(ValueError, match="method='simpson'"):
        _prefit(fitted_clf, method="simpson").fit(X, y)
    with pytest.raises(ValueError, match="fitted on 20 landmarks"):
        _prefit(fitted_clf).fit(X[..., :10], y)


def test_positive_class_none(data, fitted_clf):
    X, y = data.data, data.target
    with pytest.raises(ValueError, match="positive_class=None"):
        GlobalIGSelector(_tiny(), n_landmarks=3, positive_class=None).fit(X, y)  # 3 classes
    # binary y: the larger label is the positive class
    keep = y != "class_0"
    sel = GlobalIGSelector(_tiny(positive_class="class_2"), prefit=False, n_landmarks=3)
    assert sel._resolve_classes(y[keep], None, "typical")[0] == "class_2"
    # the estimator's own positive_class is used when the selector has none
    sel = _prefit(fitted_clf, positive_class=None)
    _fit_quiet(sel, X, y)
    assert sel.positive_class_ == "class_0"


def test_transform_with_other_shape_raises(data, selector):
    with pytest.raises(ValueError, match="fitted with 5 frames and 20 landmarks"):
        selector.transform(data.data[..., :10])
    with pytest.raises(ValueError, match="fitted with 5 frames and 20 landmarks"):
        selector.transform(data.data[:, :3])


def test_unfitted_and_prefit_errors(data):
    with pytest.raises(NotFittedError):
        GlobalIGSelector(_tiny()).transform(data.data)
    with pytest.raises(NotFittedError):
        GlobalIGSelector(_tiny(), n_landmarks=3, prefit=True, positive_class="class_0").fit(
            data.data, data.target
        )
    with pytest.raises(ValueError, match="estimator=None"):
        GlobalIGSelector(n_landmarks=3, prefit=True, positive_class="class_0").fit(
            data.data, data.target
        )


def test_missing_complementary_class_warns_and_works(data, fitted_clf):
    X, y = data.data, data.target
    keep = y != "class_2"
    sel = _prefit(fitted_clf, classes=["class_0", "class_1", "class_2"])
    with pytest.warns(UserWarning, match="'class_2'"):
        _fit_quiet(sel, X[keep], y[keep])
    assert sel.baseline_labels_.tolist() == ["class_1"]
    assert sel.transform(X).shape[-1] == 5


# ----------------------------------------------------------------------------- baselines / inputs
def test_prefit_uses_the_given_estimator(data, fitted_clf):
    sel = _fit_quiet(_prefit(fitted_clf), data.data, data.target)
    assert sel.estimator_ is fitted_clf
    assert sel.baseline_labels_.tolist() == ["class_1", "class_2"]


def test_confident_baselines(data, fitted_clf):
    sel = _fit_quiet(_prefit(fitted_clf, baselines="confident"), data.data, data.target)
    p1 = fitted_clf.predict_proba(data.data)[:, 1]
    for label, index in zip(sel.baseline_labels_, sel.baseline_indices_, strict=True):
        rows = np.flatnonzero(data.target == label)
        assert index == rows[np.argmin(p1[rows])]


@pytest.mark.parametrize("strategy", ["zeros", "mean"])
def test_single_baselines(data, fitted_clf, strategy):
    sel = _fit_quiet(_prefit(fitted_clf, baselines=strategy), data.data, data.target)
    expected = np.zeros_like(data.data[0]) if strategy == "zeros" else data.data.mean(axis=0)
    assert sel.baselines_.shape == (1,) + data.data.shape[1:]
    assert_allclose(sel.baselines_[0], expected, rtol=1e-6)
    assert sel.baseline_labels_.tolist() == [strategy]
    assert_array_equal(sel.baseline_indices_, [-1])
    assert sel.scores_per_baseline_.shape == (1, N_LANDMARKS)


def test_array_baselines(data, fitted_clf):
    X, y = data.data, data.target
    one = _fit_quiet(_prefit(fitted_clf, baselines=X[3]), X, y)
    assert_array_equal(one.baselines_, X[3:4])
    two = _fit_quiet(_prefit(fitted_clf, baselines=X[[3, 4]]), X, y)
    assert two.baselines_.shape[0] == 2 and two.baseline_labels_.tolist() == ["array_0", "array_1"]
    assert_allclose(two.scores_per_baseline_[0], one.scores_, rtol=1e-5)
    # the typical baselines given as an array reproduce the "typical" scores
    typical = _fit_quiet(_prefit(fitted_clf), X, y)
    explicit = _fit_quiet(_prefit(fitted_clf, baselines=typical.baselines_), X, y)
    assert_allclose(explicit.scores_, typical.scores_, rtol=1e-5)
    with pytest.raises(ValueError, match="baselines.shape"):
        _prefit(fitted_clf, baselines=X[0, :, :, :10]).fit(X, y)


def test_onset_baselines(data, fitted_clf):
    """One baseline per input: its own first frame over all frames; scores per input."""
    X, y = data.data, data.target
    sel = _fit_quiet(_prefit(fitted_clf, baselines="onset"), X, y)
    rows = np.flatnonzero(y == "class_0")
    n_pos, P = rows.size, X.shape[1]
    assert sel.baselines_.shape == (n_pos, P, 2, N_LANDMARKS)
    assert_array_equal(sel.baselines_, np.repeat(X[rows, :1], P, axis=1))
    assert_array_equal(sel.baseline_indices_, rows)
    assert sel.baseline_labels_.tolist() == ["onset"] * n_pos
    assert sel.deltas_.shape == (n_pos, 1) and sel.n_steps_.shape == (n_pos,)
    assert np.isfinite(sel.relative_delta_)
    # scores_per_baseline_ holds one row per input (its own baseline); scores_ is their mean
    attr = attribution.integrated_gradients(
        fitted_clf.model_, X[rows], sel.baselines_, target=1, n_steps=8
    )
    assert_allclose(attr[:, 0], 0.0, atol=1e-7)  # frame 0 equals its baseline
    per_input = np.abs(attr).sum(axis=(1, 2))
    assert_allclose(sel.scores_per_baseline_, per_input, rtol=1e-4, atol=1e-7)
    assert_allclose(sel.scores_, per_input.mean(axis=0), rtol=1e-4, atol=1e-7)
    assert_array_equal(sel.ranking_, np.argsort(-sel.scores_, kind="stable"))
    assert not np.allclose(sel.scores_, _fit_quiet(_prefit(fitted_clf), X, y).scores_)
    # inputs="all": every training sample against its own onset
    every = _fit_quiet(_prefit(fitted_clf, baselines="onset", inputs="all"), X, y)
    assert every.scores_per_baseline_.shape == (len(X), N_LANDMARKS)
    assert_array_equal(every.baseline_indices_, np.arange(len(X)))


def test_onset_baselines_need_two_frames(data, fitted_clf):
    X, y = data.data[:, :1], data.target
    with pytest.raises(ValueError, match=r"baselines='onset'.*X.shape=\(36, 1, 2, 20\)"):
        _prefit(fitted_clf, baselines="onset").fit(X, y)


def test_onset_cache_key_reuses_training(data, tmp_path, monkeypatch):
    """baselines="onset" is an IG parameter: switching to it recomputes IG, never retrains."""
    calls = {"fit": 0, "ig": 0}
    real_fit, real_ig = EmoClassifier.fit, attribution.integrated_gradients

    def counting_fit(self, X, y):
        calls["fit"] += 1
        return real_fit(self, X, y)

    def counting_ig(*args, **kwargs):
        calls["ig"] += 1
        return real_ig(*args, **kwargs)

    monkeypatch.setattr(EmoClassifier, "fit", counting_fit)
    monkeypatch.setattr(attribution, "integrated_gradients", counting_ig)

    def fit(**params):
        sel = GlobalIGSelector(
            _tiny(epochs=1),
            n_landmarks=3,
            positive_class="class_0",
            n_steps=4,
            memory=joblib.Memory(tmp_path, verbose=0),
            random_state=0,
        )
        return _fit_quiet(sel.set_params(**params), data.data, data.target)

    fit()  # typical: 1 training, 2 baselines
    assert calls == {"fit": 1, "ig": 2}
    onset = fit(baselines="onset")  # new IG scores (one call for all inputs), same training
    assert calls == {"fit": 1, "ig": 3}
    again = fit(baselines="onset", n_landmarks=5)  # a pure cache hit
    assert calls == {"fit": 1, "ig": 3}
    assert_array_equal(again.scores_per_baseline_, onset.scores_per_baseline_)
    assert_array_equal(again.baselines_, onset.baselines_)
    assert again.get_support().sum() == 5


def test_inputs_all(data, fitted_clf):
    sel = _fit_quiet(_prefit(fitted_clf, inputs="all"), data.data, data.target)
    assert sel.deltas_.shape == (2, data.data.shape[0])
    positive = _fit_quiet(_prefit(fitted_clf), data.data, data.target)
    assert not np.allclose(sel.scores_, positive.scores_)


def test_convergence_warning_names_n_steps(data, fitted_clf, monkeypatch):
    real = attribution.integrated_gradients

    def sloppy(*args, **kwargs):
        attr, delta, *rest = real(*args, **kwargs)
        return (attr, delta + 0.5, *rest)  # a residual of 0.5 probability is never < 5%

    monkeypatch.setattr(attribution, "integrated_gradients", sloppy)
    with pytest.warns(UserWarning, match="n_steps=8"):
        sel = _prefit(fitted_clf).fit(data.data, data.target)
    assert sel.relative_delta_ > 0.05


def test_converged_ig_does_not_warn(data, fitted_clf):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        sel = _prefit(fitted_clf, n_steps=64, method="gausslegendre").fit(data.data, data.target)
    assert sel.relative_delta_ < 0.05


def test_verbose_shows_progress(data, fitted_clf, capsys):
    _fit_quiet(_prefit(fitted_clf, verbose=1), data.data, data.target)
    assert "IG per baseline" in capsys.readouterr().err


# ----------------------------------------------------------------------------- sklearn contract
def test_clone_get_set_params():
    sel = GlobalIGSelector(_tiny(), n_landmarks=7, positive_class="a", baselines="mean")
    params = sel.get_params()
    assert params["n_landmarks"] == 7 and params["estimator__n_filters"] == 2
    twin = clone(sel)
    assert twin.get_params()["estimator"] is not sel.estimator
    assert {k: v for k, v in twin.get_params(deep=False).items() if k != "estimator"} == {
        k: v for k, v in params.items() if k != "estimator" and "__" not in k
    }
    twin.set_params(n_landmarks=3, estimator__n_filters=5)
    assert twin.n_landmarks == 3 and twin.estimator.n_filters == 5
    assert sel.estimator.n_filters == 2


def test_default_estimator_is_emo_classifier():
    est = GlobalIGSelector(random_state=4)._make_estimator("happy")
    assert isinstance(est, EmoClassifier)
    assert est.positive_class == "happy" and est.random_state == 4


def test_tags():
    tags = get_tags(GlobalIGSelector())
    assert tags.target_tags.required
    assert not tags.input_tags.two_d_array
    assert tags.transformer_tags is not None


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip(data, selector, tmp_path, dump):
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(selector))
    else:
        joblib.dump(selector, tmp_path / "sel.joblib")
        loaded = joblib.load(tmp_path / "sel.joblib")
    assert_array_equal(loaded.get_support(), selector.get_support())
    assert_array_equal(loaded.scores_, selector.scores_)
    assert_array_equal(loaded.transform(data.data), selector.transform(data.data))
    assert_allclose(
        loaded.estimator_.predict_proba(data.data), selector.estimator_.predict_proba(data.data)
    )


def test_same_random_state_same_selection(data):
    def fit():
        sel = GlobalIGSelector(
            _tiny(random_state=None),
            n_landmarks=5,
            positive_class="class_1",
            n_steps=8,
            random_state=11,
        )
        return _fit_quiet(sel, data.data, data.target)

    a, b = fit(), fit()
    assert a.estimator_.random_state == 11
    assert_array_equal(a.get_support(), b.get_support())
    assert_allclose(a.scores_, b.scores_, rtol=1e-5)


# scikit-learn's estimator checks for GlobalIGSelector: tests/test_estimator_checks.py
