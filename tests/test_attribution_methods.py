"""Tests for the attribution methods beyond IG: closed forms, batching, errors, engines."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from igselect.attribution import (
    aggregate_landmark_scores,
    grad_cam,
    gradient_shap,
    input_x_gradient,
    occlusion,
    saliency,
)
from igselect.network import build_emo_network

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

P, L = 3, 5
W = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
V = np.array([0.5, 1.0, -1.5, 2.0], np.float32)


def _linear(x):  # column 0: w . x; column 1: sum v x^2
    return tf.stack([tf.reduce_sum(W * x, 1), tf.reduce_sum(V * x**2, 1)], axis=1)


@pytest.fixture(scope="module")
def emo():
    rng = np.random.default_rng(0)
    mean, std = rng.normal(0.5, 0.1, (2, L)), rng.uniform(0.05, 0.2, (2, L))
    model = build_emo_network(
        P, L, n_filters=3, lstm_units=4, dense_units=3, seed=0, mean=mean, std=std
    )
    X = (mean + 3 * std * rng.normal(size=(6, P, 2, L))).astype("float32")
    pool = (mean + 3 * std * rng.normal(size=(4, P, 2, L))).astype("float32")
    return model, X, pool


def _tape_only(model):
    """The same network as a plain callable: not recognised, so the tape engine runs."""
    return lambda x: model(x, training=False)


# -- closed forms ----------------------------------------------------------------------------------
def test_saliency_and_input_x_gradient_closed_forms():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, 4)).astype(np.float32)
    assert_allclose(saliency(_linear, X, target=0), np.abs(np.broadcast_to(W, X.shape)))
    assert_allclose(input_x_gradient(_linear, X, target=0), X * W, rtol=1e-6)
    assert_allclose(saliency(_linear, X, target=1), np.abs(2 * V * X), rtol=1e-6)
    assert_allclose(input_x_gradient(_linear, X, target=1), 2 * V * X**2, rtol=1e-6)
    # a Keras model: the same closed form, default target column 1
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, use_bias=False)])
    model.layers[0].set_weights([np.stack([V, W], axis=1)])
    assert_allclose(input_x_gradient(model, X), X * W, rtol=1e-6)
    assert saliency(model, X).dtype == np.float32


def test_input_x_gradient_with_baselines_is_complete_on_a_linear_model():
    """(x - b) * w: each feature's share of F(x) - F(b), for a shared or per-input b."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 4)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    out = input_x_gradient(_linear, X, b, target=0)
    assert_allclose(out, (X - b) * W, rtol=1e-5, atol=1e-6)
    assert_allclose(out.sum(1), (X @ W) - b @ W, rtol=1e-5, atol=1e-5)  # completeness
    per_input = rng.normal(size=X.shape).astype(np.float32)
    assert_allclose(
        input_x_gradient(_linear, X, per_input, target=0), (X - per_input) * W, atol=1e-6
    )
    # translation invariance: shifting inputs and baseline alike leaves it unchanged
    shifted = input_x_gradient(_linear, X + 7.0, b + 7.0, target=0)
    assert_allclose(shifted, out, atol=1e-5)
    assert np.abs(input_x_gradient(_linear, X + 7.0, target=0) - out).max() > 1.0


def test_gradient_shap_converges_to_expected_baseline_closed_form():
    """Linear F = w . x: every draw gives (x - b_j) * w, so the mean tends to (x - E[b]) * w."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3, 4)).astype(np.float32)
    pool = rng.normal(1.0, 2.0, size=(10, 4)).astype(np.float32)
    expected = (X - pool.mean(axis=0)) * W
    errors = []
    for n_samples in (4, 64, 2048):
        phi = gradient_shap(_linear, X, pool, n_samples=n_samples, target=0, random_state=0)
        errors.append(np.abs(phi - expected).max() / np.abs(expected).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.05
    # one baseline: exact at any number of draws, noise or not (the noise moves the
    # gradient point only, and the gradient of a linear model is constant)
    phi = gradient_shap(_linear, X, pool[0], n_samples=3, stdevs=0.5, target=0, random_state=1)
    assert_allclose(phi, (X - pool[0]) * W, rtol=1e-5, atol=1e-6)


def test_gradient_shap_reproducible_and_batch_size_invariant():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 4)).astype(np.float32)
    pool = rng.normal(size=(6, 4)).astype(np.float32)
    kw = dict(n_samples=7, stdevs=0.3, target=1, random_state=5)
    ref = gradient_shap(_linear, X, pool, **kw)
    assert np.array_equal(gradient_shap(_linear, X, pool, **kw), ref)
    for batch_size in (1, 5, 100):
        assert_allclose(
            gradient_shap(_linear, X, pool, batch_size=batch_size, **kw), ref, rtol=1e-6
        )
    other = gradient_shap(_linear, X, pool, **{**kw, "random_state": 6})
    assert not np.allclose(other, ref)


def _hand_built_conv(u):
    """conv (kernel (2, 1), valid, no bias, 2 channels) -> a linear read-out ``u``."""
    inputs = keras.Input((P, 2, L))
    x = keras.layers.Reshape((P, 2, L, 1))(inputs)
    conv = keras.layers.Conv2D(2, (2, 1), use_bias=False)
    x = keras.layers.TimeDistributed(conv, name="conv")(x)  # (P, 1, L, 2)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(2, use_bias=False, name="readout")(x)
    model = keras.Model(inputs, out)
    K = np.array([[1.0, -1.0], [2.0, 0.5]], np.float32)  # K[h, c]
    conv.set_weights([K.reshape(2, 1, 1, 2)])
    model.get_layer("readout").set_weights([np.stack([np.zeros(u.size), u.ravel()], 1)])
    return model, K


def test_grad_cam_closed_form_on_hand_built_conv():
    rng = np.random.default_rng(4)
    u = rng.normal(size=(P, 1, L, 2)).astype(np.float32)  # dF/dA, constant
    model, K = _hand_built_conv(u)
    X = rng.normal(size=(3, P, 2, L)).astype(np.float32)
    A = np.einsum("nphl,hc->nplc", X, K)  # (n, P, L, C): the conv output, h axis of size 1
    w = u[:, 0].mean(axis=0)  # (L, C): gradients pooled over frames (and h)
    expected = np.maximum(np.einsum("nplc,lc->npl", A, w), 0.0)
    cam = grad_cam(model, X, layer="conv", target=1)
    assert cam.shape == (3, P, L)
    assert_allclose(cam, expected, rtol=1e-5, atol=1e-6)
    assert (expected == 0).any() and (expected > 0).any()  # the ReLU matters here
    assert_allclose(grad_cam(model, X, layer="conv", target=1, batch_size=2), cam, rtol=1e-6)
    assert_allclose(aggregate_landmark_scores(cam), cam.sum(axis=1))


def test_grad_cam_pools_over_frames_and_keeps_the_rows_apart():
    """Two conv rows ("same" padding) read by their own weights: each keeps its channel weight."""
    rng = np.random.default_rng(5)
    inputs = keras.Input((P, 2, L))
    x = keras.layers.Reshape((P, 2, L, 1))(inputs)
    conv = keras.layers.Conv2D(2, (2, 1), padding="same", use_bias=False)
    x = keras.layers.TimeDistributed(conv, name="conv")(x)  # (P, 2, L, 2)
    out = keras.layers.Dense(2, use_bias=False, name="readout")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, out)
    K = np.array([[1.0, -1.0], [2.0, 0.5]], np.float32)  # K[kernel row, c]
    conv.set_weights([K.reshape(2, 1, 1, 2)])
    u = rng.normal(size=(P, 2, L, 2)).astype(np.float32)  # dF/dA, constant
    model.get_layer("readout").set_weights([np.stack([np.zeros(u.size), u.ravel()], 1)])
    X = rng.normal(size=(3, P, 2, L)).astype(np.float32)
    # row 0 sees (x, y), row 1 sees (y, zero padding)
    A = np.stack(
        [
            np.einsum("npl,c->nplc", X[:, :, 0], K[0]) + np.einsum("npl,c->nplc", X[:, :, 1], K[1]),
            np.einsum("npl,c->nplc", X[:, :, 1], K[0]),
        ],
        axis=2,
    )  # (n, P, 2, L, C)
    per_row = u.mean(axis=0)  # (2, L, C): pooled over frames only
    expected = np.maximum(np.einsum("nphlc,hlc->npl", A, per_row), 0.0)
    assert_allclose(grad_cam(model, X, layer="conv"), expected, rtol=1e-5, atol=1e-6)
    pooled = u.mean(axis=(0, 1))  # (L, C): the rows averaged too
    old = np.maximum(np.einsum("nphlc,lc->npl", A, pooled), 0.0)
    got = grad_cam(model, X, layer="conv", pooling="frames_and_rows")
    assert_allclose(got, old, rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected, old)
    with pytest.raises(ValueError, match="pooling"):
        grad_cam(model, X, layer="conv", pooling="rows")


def test_grad_cam_on_emo_network_and_errors(emo):
    model, X, _ = emo
    cam = grad_cam(model, X)
    assert cam.shape == (X.shape[0], P, L) and np.all(cam >= 0) and cam.max() > 0
    with pytest.raises(ValueError, match=r"layer='fc1' with output shape \(None, 3\)"):
        grad_cam(model, X, layer="fc1")
    with pytest.raises(ValueError, match="layer='nope'"):
        grad_cam(model, X, layer="nope")
    with pytest.raises(TypeError, match="keras.Model"):
        grad_cam(_tape_only(model), X)


def _reads_landmark_2(x):
    p = 1.0 / (1.0 + np.exp(-np.asarray(x)[:, :, 0, 2].sum(axis=1)))
    return np.stack([1.0 - p, p], axis=1)


def test_occlusion_on_a_model_that_reads_one_landmark():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(4, P, 2, L)).astype(np.float32)
    zero = np.zeros((2, L), np.float32)
    scores = occlusion(_reads_landmark_2, X, baseline=zero)
    s = X[:, :, 0, 2].sum(axis=1)
    expected = 1 / (1 + np.exp(-s)) - 0.5
    assert scores.shape == (4, L)
    assert_allclose(scores[:, 2], expected, rtol=1e-5)
    assert np.all(np.delete(scores, 2, axis=1) == 0)
    # groups: every landmark of a group gets the group's drop
    grouped = occlusion(_reads_landmark_2, X, baseline=zero, groups=np.array([0, 0, 1, 1, 2]))
    assert_allclose(grouped[:, 2], expected, rtol=1e-5)
    assert_allclose(grouped[:, 3], expected, rtol=1e-5)
    assert np.all(grouped[:, [0, 1, 4]] == 0)
    named = occlusion(_reads_landmark_2, X, baseline=zero, groups={"a": [2, 4], "b": [0]})
    assert_allclose(named[:, 4], expected, rtol=1e-5)
    assert np.all(named[:, [0, 1, 3]] == 0)
    # batch size does not matter; the mean baseline is the mean position
    assert_allclose(occlusion(_reads_landmark_2, X, baseline=zero, batch_size=3), scores)
    mean = occlusion(_reads_landmark_2, X)
    s_mean = P * X[:, :, 0, 2].mean()
    assert_allclose(mean[:, 2], 1 / (1 + np.exp(-s)) - 1 / (1 + np.exp(-s_mean)), rtol=1e-5)


def test_occlusion_on_an_svm_pipeline():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import SVC

    rng = np.random.default_rng(6)
    X = rng.normal(size=(120, P, 2, L)).astype(np.float32)
    y = (X[:, :, 0, 2].sum(axis=1) > 0).astype(int)
    flat = FunctionTransformer(lambda a: np.asarray(a).reshape(len(a), -1))
    svm = CalibratedClassifierCV(SVC(kernel="linear"), ensemble=False)
    pipe = make_pipeline(flat, svm).fit(X, y)
    scores = occlusion(pipe, X[:10], groups=None)
    base = X[:10].mean(axis=(0, 1))
    occluded = X[:10].copy()
    occluded[:, :, :, 2] = base[:, 2]
    manual = pipe.predict_proba(X[:10])[:, 1] - pipe.predict_proba(occluded)[:, 1]
    assert_allclose(scores[:, 2], manual, rtol=1e-6)
    mean_abs = np.abs(scores).mean(axis=0)
    assert mean_abs.argmax() == 2 and mean_abs[2] > 2 * np.delete(mean_abs, 2).max()


# -- batching, engines -----------------------------------------------------------------------------
def test_batch_size_invariance(emo):
    model, X, pool = emo
    for fn in (saliency, input_x_gradient, grad_cam):
        ref = fn(model, X)
        for batch_size in (1, 4):
            assert_allclose(fn(model, X, batch_size=batch_size), ref, rtol=1e-5, atol=1e-7)
    ref = gradient_shap(model, X, pool, n_samples=5, random_state=0)
    out = gradient_shap(model, X, pool, n_samples=5, random_state=0, batch_size=7)
    assert_allclose(out, ref, rtol=1e-5, atol=1e-7)
    ref = occlusion(model, X)
    assert_allclose(occlusion(model, X, batch_size=4), ref, rtol=1e-5, atol=1e-7)


def test_fast_engine_serves_gradient_methods_and_agrees_with_tape(emo, monkeypatch):
    from igselect.attribution import _gradients

    model, X, pool = emo
    used = []
    original = _gradients.resolve_engine

    def spy(*args, **kwargs):
        eng, name = original(*args, **kwargs)
        used.append(name)
        return eng, name

    monkeypatch.setattr(_gradients, "resolve_engine", spy)
    tape = _tape_only(model)
    for fn, kw in (
        (saliency, {}),
        (input_x_gradient, {}),
        (gradient_shap, {"baselines": pool, "n_samples": 6, "stdevs": 0.01, "random_state": 0}),
    ):
        used.clear()
        fast = fn(model, X, **kw)
        slow = fn(tape, X, **kw)
        assert used == ["fast", "tape"], fn.__name__
        assert np.abs(slow).max() > 1e-4
        assert np.abs(fast - slow).max() <= 1e-4 * np.abs(slow).max(), fn.__name__


def test_estimator_with_model_attribute(emo):
    model, X, _ = emo

    class Fitted:
        model_ = model

    assert_allclose(saliency(Fitted(), X), saliency(model, X))
    assert_allclose(occlusion(Fitted(), X), occlusion(model, X))


# -- aggregation and errors ------------------------------------------------------------------------
def test_aggregate_landmark_scores_shapes():
    rng = np.random.default_rng(7)
    per_frame = rng.normal(size=(2, P, L))
    assert_allclose(aggregate_landmark_scores(per_frame), np.abs(per_frame).sum(axis=1))
    per_landmark = rng.normal(size=(2, L))
    assert_allclose(aggregate_landmark_scores(per_landmark), np.abs(per_landmark))
    with pytest.raises(ValueError, match=r"attributions.shape=\(2,\)"):
        aggregate_landmark_scores(np.zeros(2))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, X, b: saliency(m, X, target=2), "target=2"),
        (lambda m, X, b: input_x_gradient(m, X, target=-1), r"'target' parameter .*Got -1"),
        (lambda m, X, b: input_x_gradient(m, X, b), r"baselines.shape=\(4, 3, 2, 5\)"),
        (lambda m, X, b: saliency(m, X, batch_size=0), r"'batch_size' parameter .*Got 0"),
        (lambda m, X, b: saliency(m, X[:, :, :1]), r"X.shape=\(6, 3, 1, 5\)"),
        (lambda m, X, b: gradient_shap(m, X, b, n_samples=0), r"'n_samples' .*Got 0"),
        (lambda m, X, b: gradient_shap(m, X, b, stdevs=-1.0), r"'stdevs' .*Got -1.0"),
        (lambda m, X, b: gradient_shap(m, X, b, stdevs=np.inf), r"'stdevs' .*Got inf"),
        (lambda m, X, b: gradient_shap(m, X, b, stdevs=True), r"'stdevs' .*Got True"),
        (lambda m, X, b: saliency(m, X, target=True), r"'target' parameter of saliency .*Got True"),
        (lambda m, X, b: grad_cam(m, X, batch_size=True), r"'batch_size' .*grad_cam .*Got True"),
        (lambda m, X, b: occlusion(m, X, batch_size=0), r"'batch_size' .*occlusion .*Got 0"),
        (lambda m, X, b: gradient_shap(m, X, b[:, :, :, :2]), r"baselines.shape=\(4, 3, 2, 2\)"),
        (lambda m, X, b: grad_cam(m, X, target=3), "target=3"),
        (lambda m, X, b: occlusion(m, X, target=2), "target=2"),
        (lambda m, X, b: occlusion(m, X, baseline="median"), "baseline='median'"),
        (lambda m, X, b: occlusion(m, X, baseline=np.zeros((2, 4))), r"baseline.shape=\(2, 4\)"),
        (lambda m, X, b: occlusion(m, X, groups=np.zeros(3, int)), r"shape \(3,\)"),
        (lambda m, X, b: occlusion(m, X, groups={"a": [7]}), r"groups\['a'\]"),
    ],
)
def test_bad_arguments(emo, call, match):
    model, X, pool = emo
    with pytest.raises(ValueError, match=match):
        call(model, X, pool)


def test_non_finite_inputs(emo):
    model, X, pool = emo
    bad = X.copy()
    bad[1, 0, 1, 2] = np.nan
    for fn in (saliency, input_x_gradient, grad_cam, occlusion):
        with pytest.raises(ValueError, match="NaN"):
            fn(model, bad)
    bad_pool = pool.copy()
    bad_pool[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="baselines contains 1 NaN or infinite"):
        gradient_shap(model, X, bad_pool)
    with pytest.raises(TypeError, match="model of type int"):
        saliency(3, X)
    with pytest.raises(TypeError, match="type int"):
        occlusion(3, X)


# -- whole paths through a linear first layer (generic Keras models) -----------------------------
def _generic(kind):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((P, 2, L))
    if kind == "mlp":
        x = keras.layers.Flatten()(inputs)
        x = keras.layers.Dense(6, activation="relu")(x)
        x = keras.layers.Dense(4, activation="tanh")(x)
    elif kind == "embed":  # per-landmark Dense, GRU over frames
        x = keras.layers.Permute((1, 3, 2))(inputs)
        x = keras.layers.Dense(3, activation="relu")(x)
        x = keras.layers.Reshape((P, L * 3))(x)
        x = keras.layers.GRU(4)(x)
    elif kind == "skip":  # the input reaches the output around the Dense layer
        flat = keras.layers.Flatten()(inputs)
        x = keras.layers.Concatenate()([keras.layers.Dense(4, activation="relu")(flat), flat])
    else:  # "conv": no Dense first
        x = keras.layers.Reshape((P, 2, L, 1))(inputs)
        x = keras.layers.TimeDistributed(keras.layers.Conv2D(2, (2, 1)))(x)
        x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


@pytest.mark.parametrize("kind, expected", [("mlp", "prefix"), ("embed", "prefix"),
                                            ("skip", "tape"), ("conv", "tape")])  # fmt: skip
def test_linear_prefix_engine_matches_tape(kind, expected):
    """Models that open with views and a Dense layer integrate whole paths (the large
    layer twice forward, once backward per path); the result equals the tape's."""
    from igselect.attribution import integrated_gradients
    from igselect.attribution._engines import resolve_engine

    model = _generic(kind)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(4, P, 2, L)).astype(np.float32)
    B = rng.normal(size=(4, P, 2, L)).astype(np.float32)
    assert resolve_engine(model, engine="auto", dtype="float32", probe=X[:2])[1] == expected
    kw = dict(n_steps=9, method="riemann_middle")
    ours, d_ours = integrated_gradients(model, X, B, return_deltas=True, **kw)
    tape, d_tape = integrated_gradients(model, X, B, engine="tape", return_deltas=True, **kw)
    assert np.abs(tape).max() > 1e-4
    assert np.abs(ours - tape).max() <= 1e-5 * np.abs(tape).max()
    assert_allclose(d_ours, d_tape, atol=1e-6)
    chunked = integrated_gradients(model, X, B, batch_size=4, **kw)  # 4 nodes a call
    assert np.abs(chunked - tape).max() <= 1e-5 * np.abs(tape).max()
