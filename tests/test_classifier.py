"""Tests for igselect.classifier.EmoClassifier.

Tiny data with a planted signal: 4 frames, 10 landmarks. "smile"/"happy"
samples raise the y coordinate of landmarks 0-2 over the sequence, "sad"
samples lower landmarks 5-7, and every sample is a different "person"
(a random offset of the whole face, larger than the expression). Coordinates
sit around 0.5 with a 0.1 spread, like crop-normalised landmarks: the
in-model standardisation is what makes them learnable (the T-EMO fixture
scores 0.98 on held-out data; with standardize=False it scored 0.57).

Fitting is costly (tracing the training step takes seconds), so the fitted
estimators are module-scoped fixtures shared by many tests.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

import igselect.classifier as classifier_module
from igselect.classifier import EmoClassifier

P, L = 4, 10
_TEMPLATE = np.random.default_rng(123).normal(size=(2, L))
TINY = dict(n_filters=4, lstm_units=8, dense_units=8, learning_rate=1e-2, batch_size=16)


def make_faces(labels, seed):
    """Landmark sequences with a planted expression per label."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    n = labels.shape[0]
    person = _TEMPLATE + 0.3 * rng.normal(size=(n, 1, 2, L))
    X = person + 0.05 * rng.normal(size=(n, P, 2, L))
    ramp = np.linspace(0.0, 1.0, P)[None, :, None]
    X[np.isin(labels, ["smile", "happy"]), :, 1, 0:3] += 1.5 * ramp
    X[labels == "sad", :, 1, 5:8] -= 1.5 * ramp
    return (0.5 + 0.1 * X).astype(np.float32)


def _fit_recording_initial_conv(estimator, X, y):
    """Fit and return the conv weights the network had before training."""
    initial = {}
    build = classifier_module.build_emo_network

    def recording_build(*args, **kwargs):
        model = build(*args, **kwargs)
        initial["conv"] = [w.copy() for w in model.get_layer("conv").get_weights()]
        return model

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(classifier_module, "build_emo_network", recording_build)
        returned = estimator.fit(X, y)
    return returned, initial["conv"]


@pytest.fixture(scope="module")
def binary_data():
    y = np.tile(["calm", "smile"], 24)
    y_test = np.tile(["calm", "smile"], 50)
    return make_faces(y, 0), y, make_faces(y_test, 1), y_test


@pytest.fixture(scope="module")
def multiclass_data():
    y = np.tile(["happy", "neutral", "sad"], 16)
    y_test = np.tile(["happy", "neutral", "sad"], 30)
    return make_faces(y, 2), y, make_faces(y_test, 3), y_test


@pytest.fixture(scope="module")
def temo(binary_data):
    """T-EMO on binary string labels, with validation split and early stopping."""
    X, y, _, _ = binary_data
    params = dict(TINY, epochs=20, patience=5, random_state=0)
    est = EmoClassifier(**params)
    returned, conv0 = _fit_recording_initial_conv(est, X, y)
    return {"est": est, "returned": returned, "conv0": conv0, "params": params}


@pytest.fixture(scope="module")
def remo(multiclass_data):
    """R-EMO one-vs-rest on 3 classes, no validation split, balanced class weights."""
    X, y, _, _ = multiclass_data
    params = dict(
        TINY,
        randomized=True,
        positive_class="happy",
        class_weight="balanced",
        validation_fraction=0.0,
        epochs=20,
        random_state=1,
    )
    est = EmoClassifier(**params)
    _, conv0 = _fit_recording_initial_conv(est, X, y)
    return {"est": est, "conv0": conv0}


# ----------------------------------------------------------------- learning
@pytest.mark.parametrize("variant", ["temo", "remo"])
def test_learns_planted_signal(variant, request, binary_data, multiclass_data):
    est = request.getfixturevalue(variant)["est"]
    data = binary_data if variant == "temo" else multiclass_data
    _, _, X_test, y_test = data
    assert est.score(X_test, y_test) >= 0.9


def test_conv_frozen_in_remo_trained_in_temo(temo, remo):
    remo_w = remo["est"].model_.get_layer("conv").get_weights()
    for now, before in zip(remo_w, remo["conv0"], strict=True):
        assert_array_equal(now, before)
    assert not remo["est"].model_.get_layer("conv").trainable
    temo_kernel = temo["est"].model_.get_layer("conv").get_weights()[0]
    assert np.abs(temo_kernel - temo["conv0"][0]).max() > 1e-3


def test_fit_returns_self(temo):
    assert temo["returned"] is temo["est"]


def test_fit_leaves_params_unchanged(temo):
    params = temo["est"].get_params()
    for name, value in temo["params"].items():
        assert params[name] == value
    public = {k for k in vars(temo["est"]) if not k.startswith("_")}
    assert public - set(params) == {
        "classes_",
        "positive_class_",
        "model_",
        "history_",
        "n_iter_",
        "epoch_times_",
        "n_frames_in_",
        "n_landmarks_in_",
        "fit_time_",
    }


def test_fitted_attributes(temo, binary_data):
    est = temo["est"]
    X = binary_data[0]
    check_is_fitted(est)
    assert_array_equal(est.classes_, ["calm", "smile"])
    assert est.positive_class_ == "smile"
    assert (est.n_frames_in_, est.n_landmarks_in_) == (P, L)
    assert est.fit_time_ > 0
    assert set(est.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert 1 <= est.n_iter_ <= 20
    assert all(len(v) == est.n_iter_ for v in est.history_.values())
    assert all(isinstance(v, float) for v in est.history_["loss"])
    assert est.epoch_times_.shape == (est.n_iter_,)
    assert np.all(est.epoch_times_ > 0) and est.epoch_times_.sum() < est.fit_time_
    # Standardisation statistics come from the training part (90% of X).
    layer = est.model_.get_layer("standardize")
    mean = np.asarray(layer.mean).reshape(2, L)
    assert_allclose(mean, X.mean(axis=(0, 1)), atol=0.3 * X.std(axis=(0, 1)).min())


def test_positive_class_binarises_y(remo, multiclass_data):
    est = remo["est"]
    X, y, X_test, y_test = multiclass_data
    assert_array_equal(est.classes_, [0, 1])
    assert est.positive_class_ == "happy"
    pred = est.predict(X_test)
    assert set(np.unique(pred)) <= {0, 1}
    # score binarises multi-class y; scoring the 0/1 truth by hand agrees.
    manual = np.mean(pred == (y_test == "happy"))
    assert est.score(X_test, y_test) == pytest.approx(manual)
    # The negative classes "neutral" and "sad" alone: no positives in y is fine.
    neg = y_test != "happy"
    assert est.score(X_test[neg], y_test[neg]) == pytest.approx(np.mean(pred[neg] == 0))
    # A whole Pipeline receives and scores the multi-class y.
    pipe = Pipeline([("clf", est)])
    assert pipe.score(X_test, y_test) == pytest.approx(manual)


def test_no_validation_when_fraction_is_zero(remo, multiclass_data):
    est = remo["est"]
    X = multiclass_data[0]
    assert est.n_iter_ == 20
    assert set(est.history_) == {"loss", "accuracy"}
    # All of X was training data: the in-model statistics are exactly X's.
    layer = est.model_.get_layer("standardize")
    assert_allclose(np.asarray(layer.mean).reshape(2, L), X.mean(axis=(0, 1)), rtol=1e-5)
    assert_allclose(np.asarray(layer.variance).reshape(2, L), X.var(axis=(0, 1)), rtol=1e-4)


# ------------------------------------------------------------------ predict
def test_predict_proba_is_a_distribution(temo, binary_data):
    est = temo["est"]
    X_test = binary_data[2]
    proba = est.predict_proba(X_test)
    assert proba.shape == (X_test.shape[0], 2)
    assert np.all(proba >= 0)
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert_array_equal(est.predict(X_test), est.classes_[(proba[:, 1] > 0.5).astype(int)])


def test_standardisation_is_inside_the_model(temo, binary_data):
    est = temo["est"]
    X_test = binary_data[2]
    raw = est.model_(X_test, training=False).numpy()
    assert_allclose(est.predict_proba(X_test), raw, rtol=1e-6, atol=1e-7)
    assert est.model_.layers[1].name == "standardize"


def test_predict_input_layouts_agree(temo, binary_data):
    est = temo["est"]
    X_test = binary_data[2][:20]
    ref = est.predict_proba(X_test)
    assert_array_equal(est.predict_proba(X_test[..., None]), ref)  # channel axis
    assert_array_equal(est.predict_proba(np.asfortranarray(X_test)), ref)
    assert_array_equal(est.predict_proba(X_test.tolist()), ref)
    assert_allclose(est.predict_proba(X_test.astype(np.float64)), ref)


def test_predictions_do_not_depend_on_batch(temo, binary_data):
    est = temo["est"]
    X_test = binary_data[2]
    ref = est.predict_proba(X_test)
    order = np.random.default_rng(0).permutation(X_test.shape[0])[:37]
    assert_allclose(est.predict_proba(X_test[order]), ref[order], rtol=1e-6, atol=1e-7)
    big = np.concatenate([X_test] * 3)  # more than one internal batch of 256
    assert_allclose(est.predict_proba(big), np.concatenate([ref] * 3), rtol=1e-6, atol=1e-7)


def test_decision_function_matches_proba(temo, binary_data):
    est = temo["est"]
    X_test = binary_data[2]
    proba = est.predict_proba(X_test)
    dec = est.decision_function(X_test)
    assert dec.shape == (X_test.shape[0],)
    assert_allclose(1.0 / (1.0 + np.exp(-dec)), proba[:, 1], rtol=1e-4, atol=1e-6)
    assert_array_equal(est.classes_[(dec > 0).astype(int)], est.predict(X_test))


def test_predict_leaves_dict_unchanged(temo, binary_data):
    est = temo["est"]
    before = dict(vars(est))
    est.predict_proba(binary_data[2][:5])
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[k] is v for k, v in before.items())


def test_predict_rejects_other_frame_or_landmark_count(temo, binary_data):
    X_test = binary_data[2]
    with pytest.raises(
        ValueError, match=r"fitted with 4 frames and 10 landmarks.*X.shape=\(5, 4, 2, 9\)"
    ):
        temo["est"].predict(X_test[:5, :, :, :9])
    with pytest.raises(ValueError, match=r"X has 3 frames and 10 landmarks"):
        temo["est"].predict_proba(X_test[:5, :3])


def test_unfitted_estimator_raises():
    with pytest.raises(NotFittedError):
        EmoClassifier().predict(np.zeros((2, P, 2, L), np.float32))


# ----------------------------------------------------------- repeatability
def test_random_state_makes_fit_repeatable(temo, binary_data, capsys):
    X, y, X_test, _ = binary_data
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global RNG)
    again = clone(temo["est"]).set_params(verbose=1).fit(X, y)
    assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002 (left untouched)
    assert_array_equal(again.predict_proba(X_test), temo["est"].predict_proba(X_test))
    assert again.history_ == temo["est"].history_
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("[EmoClassifier] T-EMO fitted on 48 samples")
    assert f"{again.n_iter_} epochs in" in out[0]


def test_reused_trainer_does_not_leak_state_between_fits(binary_data, multiclass_data):
    """Fits of one network configuration share a compiled trainer (igselect._trainer);
    each fit starts from its own initial state, whatever was trained in between."""
    X, y, X_test, _ = binary_data
    params = dict(TINY, epochs=3, validation_fraction=0.0, random_state=3)
    first = EmoClassifier(**params).fit(X, y)
    Xm, ym, _, _ = multiclass_data
    other = EmoClassifier(**dict(params, random_state=4), positive_class="sad").fit(Xm, ym)
    assert other.history_ != first.history_
    again = EmoClassifier(**params).fit(X, y)
    assert again.history_ == first.history_
    assert_array_equal(again.predict_proba(X_test), first.predict_proba(X_test))


def test_trainer_cache_is_bounded(monkeypatch, binary_data):
    from igselect import _trainer

    X, y, _, _ = binary_data
    monkeypatch.setattr(_trainer, "_MAX_TRAINERS", 2)
    _trainer.clear_cache()
    for width in (2, 3, 5):
        EmoClassifier(**dict(TINY, lstm_units=width, epochs=1, random_state=0)).fit(X, y)
        assert len(_trainer._CACHE) <= 2
    assert [key[0] for key in _trainer._CACHE][-1] == tuple(
        sorted(
            dict(
                n_frames=P,
                n_landmarks=L,
                n_filters=4,
                lstm_units=5,
                dense_units=8,
                kernel_size=(2, 1),
                dropout=0.2,
                randomized=False,
            ).items()
        )
    )
    _trainer.clear_cache()
    assert len(_trainer._CACHE) == 0


# 2 configurations show the kept graphs; TF warns about retracing from 5 on (slow).
@pytest.mark.parametrize("n_configs", [2, pytest.param(5, marks=pytest.mark.slow)])
def test_dropped_trainers_free_their_graphs_and_do_not_warn(n_configs, binary_data):
    """Issue 13, defect 8: every new configuration kept its traced epoch alive for
    the life of the process (Keras' tf.distribute optimizer update held the graph,
    ~15-21 MB each) and TensorFlow warned about retracing; a dropped trainer must
    leave nothing behind."""
    import gc
    import logging

    from igselect import _trainer

    X, y, _, _ = binary_data

    def n_graphs():
        gc.collect()
        return sum(type(o).__name__ == "FuncGraph" for o in gc.get_objects())

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addHandler(handler)
    try:
        _trainer.clear_cache()
        before = n_graphs()
        for width in range(2, 2 + n_configs):  # new configurations
            params = dict(TINY, lstm_units=width, epochs=1, validation_fraction=0.0)
            EmoClassifier(**params).fit(X, y)
            _trainer.clear_cache()
        after = n_graphs()
    finally:
        tf_logger.removeHandler(handler)
    assert after <= before
    assert not [r for r in records if "retracing" in r.getMessage()]


def test_small_data_skips_validation_with_warning():
    """Tiny, read-only, channel-axis X; unstandardised; validation impossible."""
    y = np.array(["calm", "smile"] * 4)
    X = make_faces(y, 7)[..., None]
    X.setflags(write=False)
    est = EmoClassifier(
        n_filters=2, lstm_units=2, dense_units=2, epochs=2, standardize=False, random_state=0
    )
    with pytest.warns(UserWarning, match="Too few samples.*validation_fraction=0.1"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    assert "val_loss" not in est.history_
    assert "standardize" not in [layer.name for layer in est.model_.layers]
    assert est.predict_proba(X).shape == (8, 2)


# --------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "params, match",
    [
        ({"epochs": 0}, r"Received: epochs=0"),
        ({"epochs": 2.5}, r"Received: epochs=2.5"),
        ({"batch_size": True}, r"Received: batch_size=True"),
        ({"n_filters": -1}, r"Received: n_filters=-1"),
        ({"patience": -1}, r"Received: patience=-1"),
        ({"validation_fraction": 1.5}, r"Received: validation_fraction=1.5"),
        ({"dropout": 1.0}, r"Received: dropout=1.0"),
        ({"learning_rate": 0.0}, r"Received: learning_rate=0.0"),
        ({"learning_rate": float("nan")}, r"Received: learning_rate=nan"),
        ({"class_weight": "bogus"}, r"Received: class_weight='bogus'"),
        ({"class_weight": {"bogus": 2.0}}, r"not in classes_.*Received: class_weight="),
        ({"kernel_size": (2, 0)}, r"Received: kernel_size=\(2, 0\)"),
        ({"randomized": "yes"}, r"Received: randomized='yes'"),
        ({"random_state": "seed"}, r"Received: random_state='seed'"),
        ({"verbose": -1}, r"Received: verbose=-1"),
    ],
)
def test_bad_params_raise_naming_the_value(params, match):
    y = np.array(["calm", "smile"] * 4)
    with pytest.raises(ValueError, match=match):
        EmoClassifier(**params).fit(make_faces(y, 0), y)


def test_bad_X_errors():
    y = np.array(["calm", "smile"] * 4)
    X = make_faces(y, 0)
    est = EmoClassifier(epochs=1)
    X_nan = X.copy()
    X_nan[3, 1, 0, 4] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN or infinite.*\(3, 1, 0, 4\)"):
        est.fit(X_nan, y)
    X_inf = X.copy()
    X_inf[0, 0, 1, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        est.fit(X_inf, y)
    with pytest.raises(ValueError, match=r"Received: X.ndim=3"):
        est.fit(X[:, 0], y)
    with pytest.raises(ValueError, match=r"Received: X.ndim=1"):
        est.fit(np.zeros(8), y)
    with pytest.raises(ValueError, match=r"axis 2 must hold the x and y"):
        est.fit(np.zeros((8, P, 3, L)), y)
    with pytest.raises(ValueError, match=r"0 samples"):
        est.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples"):
        est.fit(X, y[:-1])


def test_bad_X_at_predict(temo, binary_data):
    X_test = binary_data[2][:4].copy()
    X_test[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        temo["est"].predict(X_test)
    with pytest.raises(ValueError, match=r"Received: X.ndim=1"):
        temo["est"].predict(np.zeros(L))


def test_bad_y_errors():
    y3 = np.array(["happy", "neutral", "sad", "sad"] * 2)
    X = make_faces(y3, 0)
    est = EmoClassifier(epochs=1)
    with pytest.raises(ValueError, match=r"3 classes.*Received: positive_class=None"):
        est.fit(X, y3)
    with pytest.raises(ValueError, match=r"Received: positive_class='angry'"):
        est.set_params(positive_class="angry").fit(X, y3)
    with pytest.raises(ValueError, match=r"single class \['sad'\]"):
        EmoClassifier(positive_class="sad").fit(X, np.full(8, "sad"))
    with pytest.raises(ValueError, match="requires y to be passed"):
        EmoClassifier().fit(X, None)
    with pytest.raises(ValueError, match=r"8 classes"):  # continuous y
        EmoClassifier().fit(X, np.linspace(0, 1, 8))


def test_sparse_and_complex_X_rejected():
    import scipy.sparse

    y = np.array([0, 1] * 4)
    with pytest.raises(TypeError, match="Sparse input is not supported"):
        EmoClassifier().fit(scipy.sparse.csr_matrix(np.ones((8, 4))), y)
    with pytest.raises(ValueError, match="Complex data not supported"):
        EmoClassifier().fit(make_faces(y, 0).astype(np.complex64), y)


def test_class_weight_options():
    y01 = np.array([0, 0, 0, 1])
    est = EmoClassifier(class_weight={"smile": 3.0})
    est.classes_ = np.array(["calm", "smile"])
    assert_allclose(est._class_weights(y01), [1.0, 3.0])
    est.set_params(class_weight="balanced")
    assert_allclose(est._class_weights(y01), [4 / 6, 4 / 2])
    est.set_params(class_weight=None)
    assert_allclose(est._class_weights(y01), [1.0, 1.0])
    est.set_params(class_weight={"calm": -1.0})
    with pytest.raises(ValueError, match="non-negative"):
        est._class_weights(y01)


# ------------------------------------------------------- params and pickling
def test_clone_get_set_params_round_trip():
    est = EmoClassifier(n_filters=3, positive_class="happy", class_weight={0: 1.0, 1: 2.0})
    params = est.get_params()
    assert params["n_filters"] == 3 and params["learning_rate"] == 1e-4
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    assert est.set_params(epochs=3, randomized=True) is est
    assert est.get_params()["epochs"] == 3 and est.get_params()["randomized"] is True
    assert EmoClassifier(**est.get_params()).get_params() == est.get_params()


def test_clone_of_fitted_is_unfitted(temo):
    twin = clone(temo["est"])
    assert not hasattr(twin, "model_")
    assert twin.get_params() == temo["est"].get_params()


def test_pickle_and_joblib_round_trip(remo, multiclass_data, tmp_path):
    est = remo["est"]
    X_test = multiclass_data[2]
    ref = est.predict_proba(X_test)
    np.save(tmp_path / "X.npy", X_test)
    np.save(tmp_path / "ref.npy", ref)

    blob = pickle.dumps(est)
    restored = pickle.loads(blob)
    state = est.__getstate__()
    assert isinstance(state["model_"], bytes) and state["model_"][:2] == b"PK"  # .keras zip
    assert "_predict_fn" not in state
    assert_array_equal(restored.predict_proba(X_test), ref)
    assert_array_equal(restored.classes_, est.classes_)
    assert restored.positive_class_ == "happy"
    assert restored.history_ == est.history_
    assert not restored.model_.get_layer("conv").trainable
    assert_array_equal(restored.model_.get_layer("conv").get_weights()[0], remo["conv0"][0])
    assert_allclose(
        np.asarray(restored.model_.get_layer("standardize").mean),
        np.asarray(est.model_.get_layer("standardize").mean),
    )
    assert restored.score(X_test, multiclass_data[3]) == est.score(X_test, multiclass_data[3])

    with open(tmp_path / "est.pkl", "wb") as fh:
        fh.write(blob)
    joblib.dump(est, tmp_path / "est.joblib")
    assert_array_equal(joblib.load(tmp_path / "est.joblib").predict_proba(X_test), ref)

    # A fresh interpreter: no Keras state shared with this process.
    script = textwrap.dedent(
        f"""
        import pickle, joblib, numpy as np
        X = np.load({str(tmp_path / "X.npy")!r})
        ref = np.load({str(tmp_path / "ref.npy")!r})
        with open({str(tmp_path / "est.pkl")!r}, "rb") as fh:
            a = pickle.load(fh)
        b = joblib.load({str(tmp_path / "est.joblib")!r})
        for est in (a, b):
            assert type(est).__name__ == "EmoClassifier"
            assert np.array_equal(est.predict_proba(X), ref), np.abs(est.predict_proba(X) - ref).max()
        print("OK")
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")


def test_unfitted_pickles():
    est = EmoClassifier(epochs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restored = pickle.loads(pickle.dumps(est))
    assert restored.get_params() == est.get_params()
