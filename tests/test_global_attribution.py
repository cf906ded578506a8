"""GlobalAttributionSelector: every method, any Keras model, the positive column from classes_."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

import igselect.attribution as attribution
from igselect import EmoClassifier, GlobalAttributionSelector, GlobalIGSelector
from igselect._global_attribution import ATTRIBUTIONS
from igselect.datasets import make_landmark_sequences
from igselect.evaluation import FlattenLandmarks


def _quiet(sel, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return sel.fit(X, y)


# ----------------------------------------------------------------------------- a non-EMO model
def build_per_landmark_net(n_frames, n_landmarks, n_classes, mean, std, seed=0):
    """Standardise, one shared Dense per landmark (layer "per_landmark", a landmark axis
    for Grad-CAM), flatten, Dense, softmax. No conv, no LSTM: not an EMO network."""
    import keras

    init = keras.initializers.GlorotUniform(seed=seed)
    x = keras.Input((n_frames, 2, n_landmarks))
    z = keras.layers.Rescaling(1.0 / std, offset=-mean / std)(x)
    z = keras.layers.Permute((3, 1, 2))(z)  # (L, P, 2)
    z = keras.layers.Reshape((n_landmarks, n_frames * 2))(z)
    z = keras.layers.Dense(6, activation="tanh", kernel_initializer=init, name="per_landmark")(z)
    z = keras.layers.Flatten(name="features")(z)
    out = keras.layers.Dense(n_classes, activation="softmax", name="head")(z)
    return keras.Model(x, out)


class TinyKerasClassifier(ClassifierMixin, BaseEstimator):
    """The least an estimator needs for the selector: ``model_`` and ``classes_``.

    Random per-landmark features (as R-EMO keeps its conv filters random) and a softmax
    head whose weights come from a logistic regression on those features: a trained
    Keras model without the cost of ``keras.Model.fit`` in every CV fold.
    """

    def __init__(self, C=1.0, seed=0):
        self.C = C
        self.seed = seed

    def fit(self, X, y):
        import keras

        X = np.asarray(X, np.float32)
        self.classes_, codes = np.unique(y, return_inverse=True)
        mean, std = float(X.mean()), float(X.std())
        self.model_ = build_per_landmark_net(
            X.shape[1], X.shape[3], len(self.classes_), mean, std, self.seed
        )
        features = keras.Model(self.model_.input, self.model_.get_layer("features").output)
        Z = np.asarray(features(X, training=False))
        lr = LogisticRegression(C=self.C, max_iter=1000).fit(Z, codes)
        coef, bias = lr.coef_, lr.intercept_
        if len(self.classes_) == 2:  # softmax([-s/2, s/2]) == sigmoid(s)
            coef, bias = np.vstack([-coef / 2, coef / 2]), np.r_[-bias / 2, bias / 2]
        self.model_.get_layer("head").set_weights([coef.T.astype(np.float32), bias])
        return self

    def predict_proba(self, X):
        return np.asarray(self.model_(np.asarray(X, np.float32), training=False))

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


_ATTRIBUTION_PARAMS = {"grad_cam": {"layer": "per_landmark"}, "gradient_shap": {"n_samples": 8}}


def test_generic_keras_model_in_pipeline_and_grid_search(tmp_path):
    """Must show: a non-EMO Keras model in Pipeline + GridSearchCV, every built-in method.

    One search over the methods: the selector's memory trains the model once per
    fold (the training key has no attribution parameter).
    """
    ds = make_landmark_sequences(
        n_samples=32, n_frames=3, n_landmarks=8, n_classes=2, n_informative=2, random_state=0
    )
    selector = GlobalAttributionSelector(
        TinyKerasClassifier(),
        positive_class="class_1",
        n_steps=8,
        n_landmarks=4,
        memory=joblib.Memory(tmp_path, verbose=0),
        random_state=0,
    )
    pipe = Pipeline(
        [("select", selector), ("flat", FlattenLandmarks()), ("clf", LogisticRegression())]
    )
    grid = [
        {
            "select__attribution": [method],
            "select__attribution_params": [_ATTRIBUTION_PARAMS.get(method)],
        }
        for method in ATTRIBUTIONS
    ]
    search = GridSearchCV(pipe, grid, cv=2, error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search.fit(ds.data, ds.target)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == len(ATTRIBUTIONS) and np.isfinite(scores).all()
    assert search.best_score_ > 0.6, scores
    fitted = search.best_estimator_.named_steps["select"]
    assert fitted.estimator_.model_.get_layer("per_landmark") is not None
    assert fitted.scores_.shape == (8,) and np.isfinite(fitted.scores_).all()
    assert np.intersect1d(fitted.ranking_[:4], ds.informative["class_1"]).size >= 1


# ----------------------------------------------------------------------------- recovery
@pytest.fixture(scope="module")
def planted():
    """4 classes x 4 planted landmarks in 40; one tiny EMO network per class."""
    ds = make_landmark_sequences(n_samples=80, noise=0.05, random_state=0)
    clfs = {
        name: EmoClassifier(
            n_filters=4,
            lstm_units=8,
            dense_units=8,
            epochs=30,
            batch_size=32,
            learning_rate=1e-2,
            validation_fraction=0,
            positive_class=name,
            random_state=0,
        ).fit(ds.data, ds.target)
        for name in ds.target_names
    }
    return ds, clfs


#: (method, baselines, attribution_params) that miss on this draw, with why.
#: benchmarks/attribution_recovery.py repeats the check over 5 seeds x 2 noise levels (user
#: guide, "Choosing an attribution method"). The old defaults and the old Grad-CAM pooling
#: stay here so that their miss stays visible.
_OLD_GRAD_CAM = (("pooling", "frames_and_rows"),)
_RECOVERY_MISSES = {
    ("grad_cam", "auto", _OLD_GRAD_CAM): (
        "the old pooling: class_1's noise landmarks 27 and 9 outrank planted landmark 7; the "
        "channel weights averaged over the conv's two coordinate rows, two features with weights "
        "of their own in the LSTM (opposite signs in about half the channels)"
    ),
    ("input_x_gradient", "zeros", ()): (
        "the old default: x * dF/dx weighs each landmark by its coordinates, i.e. its distance "
        "from the crop's corner; landmark coordinates have no natural zero"
    ),
    ("occlusion", "typical", ()): (
        "the old default: one typical sample per other class as the replacement value, so the "
        "drop is dominated by that sample's own noise (0.05, half the planted amplitude)"
    ),
}
_RECOVERY_CASES = [(m, "auto", ()) for m in ATTRIBUTIONS] + [
    ("grad_cam", "auto", _OLD_GRAD_CAM),
    ("input_x_gradient", "zeros", ()),
    ("occlusion", "typical", ()),
]


@pytest.mark.parametrize(
    "method, baselines, params",
    [
        pytest.param(*case, marks=pytest.mark.xfail(reason=_RECOVERY_MISSES[case], strict=True))
        if case in _RECOVERY_MISSES
        else case
        for case in _RECOVERY_CASES
    ],
)
def test_recovers_planted_landmarks_for_every_class(planted, method, baselines, params):
    """Must show: top 4 hold >= 3 of the 4 planted landmarks of every class."""
    ds, clfs = planted
    hits = {}
    for name in ds.target_names:
        sel = GlobalAttributionSelector(
            clfs[name],
            attribution=method,
            attribution_params=dict(params) or None,
            baselines=baselines,
            prefit=True,
            n_landmarks=4,
            positive_class=name,
            n_steps=32,
            random_state=0,
        )
        _quiet(sel, ds.data, ds.target)
        hits[str(name)] = np.intersect1d(sel.get_support(indices=True), ds.informative[name]).size
    print(
        f"{method} ({baselines}, {dict(params)}): planted landmarks in the top 4 per class {hits}"
    )
    assert min(hits.values()) >= 3, hits


# ----------------------------------------------------------------------------- contract
@pytest.fixture(scope="module")
def small():
    ds = make_landmark_sequences(
        n_samples=30, n_frames=3, n_landmarks=10, n_classes=3, n_informative=2, random_state=1
    )
    clf = EmoClassifier(
        n_filters=2,
        lstm_units=4,
        dense_units=4,
        epochs=3,
        learning_rate=1e-2,
        validation_fraction=0,
        positive_class="class_0",
        random_state=0,
    ).fit(ds.data, ds.target)
    return ds, clf


def test_ig_selector_is_the_ig_configuration(small):
    ds, clf = small
    kw = dict(prefit=True, positive_class="class_0", n_steps=8, n_landmarks=3)
    a = _quiet(GlobalIGSelector(clf, **kw), ds.data, ds.target)
    b = _quiet(GlobalAttributionSelector(clf, **kw), ds.data, ds.target)
    assert_array_equal(a.scores_per_baseline_, b.scores_per_baseline_)
    assert_array_equal(a.deltas_, b.deltas_)
    assert "attribution" not in GlobalIGSelector().get_params()
    assert set(GlobalIGSelector._parameter_constraints) == set(GlobalIGSelector().get_params())
    assert set(GlobalAttributionSelector._parameter_constraints) == set(
        GlobalAttributionSelector().get_params()
    )


@pytest.mark.parametrize("method", ["saliency", "grad_cam"])
def test_methods_without_baselines(small, method):
    ds, clf = small
    sel = GlobalAttributionSelector(
        clf, attribution=method, prefit=True, positive_class="class_0", n_landmarks=3
    ).fit(ds.data, ds.target)
    assert sel.scores_per_baseline_.shape == (1, 10)
    assert sel.baselines_.shape == (0, 3, 2, 10)
    assert sel.deltas_ is None and sel.relative_delta_ is None
    X_pos = ds.data[ds.target == "class_0"]
    expected = getattr(attribution, method)(clf.model_, X_pos, target=1)
    assert_allclose(sel.scores_, attribution.aggregate_landmark_scores(expected).mean(axis=0))


def test_input_x_gradient_uses_the_baselines(small):
    """(x - b) * dF/dx per baseline; "auto" is the mean training sequence; zeros is x * dF/dx."""
    ds, clf = small
    X_pos = ds.data[ds.target == "class_0"]
    kw = dict(attribution="input_x_gradient", prefit=True, positive_class="class_0", n_landmarks=3)
    auto = GlobalAttributionSelector(clf, **kw).fit(ds.data, ds.target)
    assert auto.baseline_labels_.tolist() == ["mean"]
    assert_allclose(auto.baselines_[0], ds.data.mean(axis=0), rtol=1e-6)
    expected = attribution.input_x_gradient(clf.model_, X_pos, auto.baselines_, target=1)
    assert_allclose(auto.scores_, attribution.aggregate_landmark_scores(expected).mean(axis=0))
    zeros = GlobalAttributionSelector(clf, baselines="zeros", **kw).fit(ds.data, ds.target)
    textbook = attribution.input_x_gradient(clf.model_, X_pos, target=1)
    assert_allclose(zeros.scores_, attribution.aggregate_landmark_scores(textbook).mean(axis=0))
    assert not np.allclose(zeros.scores_, auto.scores_)
    typical = GlobalAttributionSelector(clf, baselines="typical", **kw).fit(ds.data, ds.target)
    assert typical.scores_per_baseline_.shape == (2, 10)  # one row per other class
    onset = GlobalAttributionSelector(clf, baselines="onset", **kw).fit(ds.data, ds.target)
    first = np.repeat(X_pos[:, :1], 3, axis=1)
    by_hand = attribution.input_x_gradient(clf.model_, X_pos, first, target=1)
    assert_allclose(onset.scores_, attribution.aggregate_landmark_scores(by_hand).mean(axis=0))
    with pytest.raises(TypeError, match="attribution_params"):
        GlobalAttributionSelector(clf, attribution_params={"n_samples": 3}, **kw).fit(
            ds.data, ds.target
        )


def test_auto_baselines_per_method(small):
    """ "auto": typical for IG and GradientSHAP, the mean sequence for occlusion."""
    ds, clf = small
    kw = dict(prefit=True, positive_class="class_0", n_landmarks=3, n_steps=8)
    for method, labels in [
        ("integrated_gradients", ["class_1", "class_2"]),
        ("gradient_shap", ["class_1", "class_2"]),
        ("occlusion", ["mean"]),
    ]:
        sel = _quiet(GlobalAttributionSelector(clf, attribution=method, **kw), ds.data, ds.target)
        assert sel.baseline_labels_.tolist() == labels, method
    assert GlobalIGSelector().baselines == "typical"  # the paper's configuration is unchanged


def test_occlusion_and_gradient_shap_use_the_baselines(small):
    ds, clf = small
    occ = GlobalAttributionSelector(
        clf,
        attribution="occlusion",
        baselines="typical",
        prefit=True,
        positive_class="class_0",
        n_landmarks=3,
    ).fit(ds.data, ds.target)
    assert occ.scores_per_baseline_.shape == (2, 10)  # one per other class
    assert occ.baseline_labels_.tolist() == ["class_1", "class_2"]
    X_pos = ds.data[ds.target == "class_0"]
    first = attribution.occlusion(clf, X_pos, baseline=occ.baselines_[0], target=1)
    assert_allclose(occ.scores_per_baseline_[0], np.abs(first).mean(axis=0), rtol=1e-5)
    shap = GlobalAttributionSelector(
        clf,
        attribution="gradient_shap",
        baselines="others",
        prefit=True,
        positive_class="class_0",
        n_landmarks=3,
        random_state=3,
        attribution_params={"n_samples": 4},
    ).fit(ds.data, ds.target)
    assert shap.baselines_.shape[0] == np.sum(ds.target != "class_0")
    again = GlobalAttributionSelector(**shap.get_params(deep=False)).fit(ds.data, ds.target)
    assert_allclose(again.scores_, shap.scores_)  # random_state seeds the draws


def test_positive_column_comes_from_classes(small):
    """A prefit 3-class model whose column j reads only landmark j: the selector must
    attribute the column of positive_class, wherever classes_ puts it."""
    import keras

    ds, _ = small
    x = keras.Input((3, 2, 10))
    logits = keras.layers.Lambda(
        lambda t: 5.0 * keras.ops.sum(t[:, :, 0, :3], axis=1), output_shape=(3,)
    )(x)
    model = keras.Model(x, keras.layers.Softmax()(logits))

    class Prefit(BaseEstimator):
        def fit(self, X, y):  # pragma: no cover - prefit
            return self

        def __sklearn_is_fitted__(self):
            return True

    est = Prefit()
    est.model_, est.classes_ = model, np.array(["class_2", "class_0", "class_1"])
    for positive, landmark in [("class_2", 0), ("class_0", 1), ("class_1", 2)]:
        sel = GlobalAttributionSelector(
            est, attribution="saliency", prefit=True, positive_class=positive, n_landmarks=1
        ).fit(ds.data, ds.target)
        assert sel.get_support(indices=True).tolist() == [landmark]
    est.classes_ = np.array(["a", "b", "c"])
    with pytest.raises(ValueError, match=r"not in the fitted estimator's classes_"):
        GlobalAttributionSelector(
            est, attribution="saliency", prefit=True, positive_class="class_0", n_landmarks=1
        ).fit(ds.data, ds.target)


def test_callable_attribution(small):
    ds, clf = small
    calls = []

    def by_index(estimator, X, y, positive_class):
        calls.append((estimator, X.shape, positive_class))
        return np.arange(X.shape[3], dtype=float)

    sel = GlobalAttributionSelector(
        clf, attribution=by_index, prefit=True, positive_class="class_0", n_landmarks=2
    ).fit(ds.data, ds.target)
    assert sel.get_support(indices=True).tolist() == [8, 9]
    assert calls == [(clf, ds.data.shape, "class_0")]
    with pytest.raises(ValueError, match=r"shape \(10,\).*\(3,\)"):
        GlobalAttributionSelector(
            clf,
            attribution=lambda *a: np.ones(3),
            prefit=True,
            positive_class="class_0",
            n_landmarks=1,
        ).fit(ds.data, ds.target)


def test_cache_keeps_training_across_methods(small, tmp_path, monkeypatch):
    ds, _ = small
    calls = {"fit": 0, "saliency": 0}
    real_fit, real_sal = EmoClassifier.fit, attribution.saliency

    def counting_fit(self, X, y):
        calls["fit"] += 1
        return real_fit(self, X, y)

    def counting_saliency(*args, **kwargs):
        calls["saliency"] += 1
        return real_sal(*args, **kwargs)

    monkeypatch.setattr(EmoClassifier, "fit", counting_fit)
    monkeypatch.setattr(attribution, "saliency", counting_saliency)
    clf = EmoClassifier(n_filters=2, lstm_units=4, dense_units=4, epochs=1, random_state=0)
    memory = joblib.Memory(tmp_path, verbose=0)

    def fit(**params):
        sel = GlobalAttributionSelector(
            clf, positive_class="class_0", n_steps=4, memory=memory, n_landmarks=2
        )
        return _quiet(sel.set_params(**params), ds.data, ds.target)

    fit()
    fit(attribution="saliency")
    assert calls == {"fit": 1, "saliency": 1}
    third = fit(attribution="saliency", n_landmarks=5, n_steps=32)  # n_steps is IG's only
    assert calls == {"fit": 1, "saliency": 1}
    assert third.get_support().sum() == 5


@pytest.mark.parametrize(
    "params, match",
    [
        ({"attribution": "lime"}, "attribution='lime'"),
        ({"attribution_params": [1]}, r"attribution_params=\[1\]"),
        ({"baselines": "median"}, "baselines='median'"),
        ({"inputs": "some"}, "inputs='some'"),
        ({"n_steps": 0}, "n_steps=0"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"attribution": "gradient_shap", "baselines": "onset"}, "baselines='onset'"),
    ],
)
def test_bad_parameters_name_the_value(small, params, match):
    ds, clf = small
    sel = GlobalAttributionSelector(
        clf, prefit=True, positive_class="class_0", n_landmarks=2, **params
    )
    with pytest.raises(ValueError, match=match):
        sel.fit(ds.data, ds.target)


def test_invalid_parameter_error_is_sklearns(small):
    ds, clf = small
    with pytest.raises(InvalidParameterError, match="must be a str among"):
        GlobalAttributionSelector(clf, attribution="lime").fit(ds.data, ds.target)


def test_gradient_method_needs_model(small):
    ds, _ = small
    svm = LogisticRegression()
    with pytest.raises(TypeError, match="attribution='saliency' needs an estimator exposing"):
        GlobalAttributionSelector(
            Pipeline([("flat", FlattenLandmarks()), ("lr", svm)]),
            attribution="saliency",
            positive_class="class_0",
            n_landmarks=2,
        ).fit(ds.data, ds.target)


def test_occlusion_works_from_predictions_alone(small):
    """Occlusion needs only predict_proba: a flattened logistic regression works."""
    ds, _ = small
    pipe = Pipeline([("flat", FlattenLandmarks()), ("lr", LogisticRegression(C=10.0))])
    sel = GlobalAttributionSelector(
        pipe, attribution="occlusion", positive_class="class_0", n_landmarks=2
    ).fit(ds.data, ds.target)
    assert np.intersect1d(sel.get_support(indices=True), ds.informative["class_0"]).size >= 1
