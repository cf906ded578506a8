"""Tests for igselect.attribution: quadrature, IG closed forms, completeness, fast engine."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from igselect.attribution import (
    QUADRATURE_METHODS,
    aggregate_landmark_scores,
    integrated_gradients,
    quadrature,
    recognise_emo_network,
)
from igselect.network import build_emo_network

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

P, L, F = 4, 6, 3


def _normwise(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def _emo_net(seed=0, *, standardize=True, randomized=False, kernel_size=(2, 1)):
    """A small build_emo_network net with non-trivial BN statistics and its data."""
    rng = np.random.default_rng(seed)
    mean = rng.normal(0.5, 0.1, (2, L))
    std = rng.uniform(0.05, 0.2, (2, L))
    model = build_emo_network(
        P,
        L,
        n_filters=F,
        lstm_units=4,
        dense_units=3,
        kernel_size=kernel_size,
        randomized=randomized,
        seed=seed,
        mean=mean if standardize else None,
        std=std if standardize else None,
    )
    bn = model.get_layer("bn")
    bn.moving_mean.assign(rng.uniform(0.0, 0.5, F).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.2, 2.0, F).astype("float32"))
    bn.gamma.assign(rng.uniform(0.5, 1.5, F).astype("float32"))
    bn.beta.assign(rng.normal(0.0, 0.1, F).astype("float32"))
    if not standardize:  # raw inputs must then be on the network's scale
        mean, std = np.zeros((2, L)), np.ones((2, L))
    X = (mean + 3 * std * rng.normal(size=(5, P, 2, L))).astype("float32")
    b = (mean + 3 * std * rng.normal(size=(P, 2, L))).astype("float32")
    return model, X, b


@pytest.fixture(scope="module")
def emo():
    return _emo_net(0)


# -- quadrature ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", QUADRATURE_METHODS)
@pytest.mark.parametrize("n_steps", [2, 5, 50])
def test_quadrature_weights_and_nodes(method, n_steps):
    w, a = quadrature(method, n_steps)
    assert w.shape == a.shape == (n_steps,)
    assert_allclose(w.sum(), 1.0, rtol=1e-12)
    assert np.all(w > 0)
    assert np.all((a >= 0) & (a <= 1)) and np.all(np.diff(a) > 0)


def test_riemann_nodes():
    assert_allclose(quadrature("riemann_right", 4)[1], [0.25, 0.5, 0.75, 1.0])
    assert_allclose(quadrature("riemann_left", 4)[1], [0.0, 0.25, 0.5, 0.75])
    assert_allclose(quadrature("riemann_middle", 2)[1], [0.25, 0.75])
    assert_allclose(quadrature("riemann_trapezoid", 3)[0], [0.25, 0.5, 0.25])


@pytest.mark.parametrize("m", [1, 3, 6])
def test_gausslegendre_exact_up_to_degree_2m_minus_1(m):
    w, a = quadrature("gausslegendre", m)
    for degree in range(2 * m):
        assert_allclose(np.sum(w * a**degree), 1.0 / (degree + 1), rtol=1e-12)
    assert abs(np.sum(w * a ** (2 * m)) - 1.0 / (2 * m + 1)) > 1e-9  # and no further


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "x", "n_steps": 4}, r"'method' parameter of quadrature .*Got 'x'"),
        ({"method": "riemann_right", "n_steps": 0}, r"'n_steps' parameter .*Got 0 instead"),
        ({"method": "riemann_right", "n_steps": 2.5}, r"'n_steps' parameter .*Got 2.5"),
        ({"method": "riemann_right", "n_steps": True}, r"'n_steps' parameter .*Got True"),
        ({"method": "riemann_trapezoid", "n_steps": 1}, r"riemann_trapezoid.*n_steps=1"),
    ],
)
def test_quadrature_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quadrature(**kwargs)


# -- closed forms ------------------------------------------------------------------------------
W2 = np.array([1.0, -2.0, 0.5], np.float32)
V3 = np.array([0.3, 1.0, -1.5], np.float32)


def _poly(x):
    """Column 0: sum w x^2; column 1: sum v x^3."""
    return tf.stack([tf.reduce_sum(W2 * x**2, 1), tf.reduce_sum(V3 * x**3, 1)], axis=1)


def test_closed_form_polynomial():
    rng = np.random.default_rng(1)
    X, B = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    Xf, Bf = X.astype(np.float32), B.astype(np.float32)
    ig, delta = integrated_gradients(
        _poly, X, B, target=0, n_steps=1, method="gausslegendre", return_deltas=True
    )
    assert ig.shape == X.shape and ig.dtype == np.float32
    assert_allclose(ig, W2 * (Xf**2 - Bf**2), rtol=1e-5, atol=1e-6)
    assert_allclose(delta, 0.0, atol=1e-5)
    ig3 = integrated_gradients(_poly, X, B, target=1, n_steps=2, method="gausslegendre")
    assert_allclose(ig3, V3 * (Xf**3 - Bf**3), rtol=1e-5, atol=1e-6)
    # Right Riemann sum of the linear integrand 2 w (b + alpha (x - b)), in closed form.
    m = 4
    expected = (Xf - Bf) * 2 * W2 * (Bf + (m + 1) / (2 * m) * (Xf - Bf))
    ig_r = integrated_gradients(_poly, X, B, target=0, n_steps=m, method="riemann_right")
    assert_allclose(ig_r, expected, rtol=1e-5, atol=1e-6)


def test_closed_form_keras_exponential():
    """F(x) = exp(w.x): IG_i = (x_i - b_i) w_i (F(x) - F(b)) / (w.(x - b))."""
    w = np.array([0.5, -1.0, 0.25, 2.0], np.float32)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(1, use_bias=False, activation="exponential")]
    )
    model.layers[0].set_weights([w[:, None]])
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3, 4)).astype(np.float32) * 0.5
    b = np.zeros(4, np.float32)
    ig = integrated_gradients(model, X, b, target=0, n_steps=16, method="gausslegendre")
    wx = X @ w
    expected = X * w * ((np.exp(wx) - 1.0) / wx)[:, None]
    assert_allclose(ig, expected, rtol=1e-5, atol=1e-6)


# -- completeness on a build_emo_network net -------------------------------------------------------
def test_completeness_and_convergence(emo):
    """sum(IG) -> F(x) - F(b) as n_steps grows.

    The gradient of a ReLU network jumps wherever a unit switches along the path, so
    every rule (Gauss-Legendre included) converges at first order: on this random
    net 256 nodes leave about 1% of |F(x) - F(b)| in total, 1024 nodes well under 1%.
    """
    model, X, b = emo
    f = model(X).numpy()[:, 1] - model(b[None]).numpy()[:, 1]
    assert np.all(np.abs(f) > 1e-3)  # non-trivial outputs
    rel = []
    for n_steps in (16, 64, 256, 1024):
        ig, delta = integrated_gradients(
            model, X, b, n_steps=n_steps, method="gausslegendre", return_deltas=True
        )
        assert_allclose(ig.sum(axis=(1, 2, 3)) - f, delta, atol=1e-5)
        rel.append(np.abs(delta).sum() / np.abs(f).sum())
    assert rel[0] > rel[1] > rel[2] > rel[3]
    assert rel[2] < 0.02
    assert np.all(np.abs(delta) <= 0.01 * np.abs(f))


def test_completeness_on_trained_emo_classifier():
    """On a trained EmoClassifier, Gauss-Legendre at 256 steps leaves a completeness
    residual within 1% of |F(x) - F(b)| for every sample, and the residual shrinks as
    n_steps grows (16 -> 64 -> 256 -> 1024)."""
    from igselect import EmoClassifier
    from igselect.datasets import make_landmark_sequences

    X, y = make_landmark_sequences(
        n_samples=80, n_frames=4, n_landmarks=12, n_classes=3, n_informative=3,
        return_X_y=True, random_state=0,
    )  # fmt: skip
    clf = EmoClassifier(
        n_filters=4, lstm_units=8, dense_units=8, positive_class="class_0",
        learning_rate=1e-2, epochs=30, patience=30, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert clf.score(X, y) > 0.9  # trained, not a random net
    pos, b = X[y == "class_0"][:8], X[y != "class_0"][0]
    f = clf.predict_proba(pos)[:, 1] - clf.predict_proba(b[None])[:, 1]
    assert np.all(np.abs(f) > 0.5)
    rel = {}
    for n_steps in (16, 64, 256, 1024):
        _, delta = integrated_gradients(
            clf, pos, b, n_steps=n_steps, method="gausslegendre", return_deltas=True
        )
        rel[n_steps] = np.abs(delta) / np.abs(f)
    assert np.all(rel[256] <= 0.01), rel[256]
    totals = [rel[m].mean() for m in (16, 64, 256, 1024)]
    assert totals[0] > totals[1] > totals[2] > totals[3], totals
    assert np.median(rel[16]) > 0.02  # 16 steps are visibly not enough


def test_auto_n_steps(emo):
    model, X, b = emo
    ig, delta, n_steps = integrated_gradients(
        model, X, b, n_steps="auto", method="gausslegendre", rtol=0.02,
        return_deltas=True, return_n_steps=True,
    )  # fmt: skip
    f = model(X).numpy()[:, 1] - model(b[None]).numpy()[:, 1]
    assert n_steps in (16, 32, 64, 128, 256, 512) and n_steps > 16  # 16 is not enough here
    assert np.median(np.abs(delta) / np.abs(f)) <= 0.02
    fixed = integrated_gradients(model, X, b, n_steps=n_steps, method="gausslegendre")
    assert_allclose(ig, fixed, rtol=1e-5, atol=1e-7)


# -- batching, broadcasting, target ----------------------------------------------------------------
@pytest.mark.parametrize("engine", ["path", "step", "tape"])
def test_batch_size_invariance(emo, engine):
    model, X, b = emo
    kw = dict(n_steps=12, engine=engine)
    ref = integrated_gradients(model, X, b, batch_size=1000, **kw)
    for batch_size in (1, 7, 30):  # whole-path mode: 1, 1 and 2 samples per call
        out = integrated_gradients(model, X, b, batch_size=batch_size, **kw)
        assert _normwise(out, ref) < 1e-6


def test_baseline_broadcasting(emo):
    model, X, b = emo
    ref = integrated_gradients(model, X, b, n_steps=8)
    n = X.shape[0]
    assert_allclose(integrated_gradients(model, X, b[None], n_steps=8), ref, rtol=1e-5, atol=1e-8)
    tiled = np.repeat(b[None], n, axis=0)
    assert_allclose(integrated_gradients(model, X, tiled, n_steps=8), ref, rtol=1e-5, atol=1e-8)
    with_channel = integrated_gradients(model, X[..., None], b, n_steps=8)
    assert with_channel.shape == X.shape + (1,)
    assert_allclose(with_channel[..., 0], ref, rtol=1e-5, atol=1e-8)
    # one baseline per sample really is paired with its sample
    per_sample = np.stack([b, X[1]] + [b] * (n - 2))
    out = integrated_gradients(model, X, per_sample, n_steps=8)
    assert_allclose(out[0], ref[0], rtol=1e-5, atol=1e-8)
    assert np.all(out[1] == 0) and np.any(ref[1] != 0)  # baseline == x[1]


def test_target_column_of_softmax(emo):
    """p0 = 1 - p1, so the IG of column 0 is minus the IG of column 1."""
    model, X, b = emo
    ig1 = integrated_gradients(model, X, b, target=1, n_steps=8)
    ig0 = integrated_gradients(model, X, b, target=0, n_steps=8)
    assert_allclose(ig0, -ig1, atol=1e-6 * np.abs(ig1).max())


def test_estimator_with_model_attribute(emo):
    model, X, b = emo

    class Fitted:
        model_ = model

    assert_allclose(
        integrated_gradients(Fitted(), X, b, n_steps=8),
        integrated_gradients(model, X, b, n_steps=8),
    )


# -- fast engine ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"standardize": False, "randomized": True, "kernel_size": (3, 1)},
        {"kernel_size": (2, 3)},
    ],
)
def test_fast_engine_matches_tape(options):
    from igselect.attribution._emo_engine import _EmoEngine

    model, X, b = _emo_net(3, **options)
    assert recognise_emo_network(model) is None
    forward = tf.function(_EmoEngine(model).forward)(tf.constant(X)).numpy()
    assert_allclose(forward, model(X).numpy(), rtol=0, atol=1e-5)
    kw = dict(n_steps=16, method="riemann_right", return_deltas=True)
    fast, d_fast = integrated_gradients(model, X, b, engine="fast", **kw)
    tape, d_tape = integrated_gradients(model, X, b, engine="tape", **kw)
    assert _normwise(fast, tape) < 1e-4
    assert_allclose(d_fast, d_tape, atol=1e-5)


def _per_step_fast(model, X, B, method, n_steps, dtype="float32"):
    """The fast engine's per-(sample, step) streaming mode (no whole-path reformulation)."""
    from igselect.attribution._emo_engine import _EmoEngine
    from igselect.attribution._integrated_gradients import _path_integral, _Runner

    runner = _Runner(_EmoEngine(model, dtype), 1)
    runner.path = None
    B = B if B.ndim == X.ndim else B[None]
    return (X - B) * _path_integral(runner, X, B, method, n_steps, 7, 0)


_PATH_CASES = [({}, method) for method in QUADRATURE_METHODS] + [
    ({"standardize": False, "randomized": True, "kernel_size": (3, 1)}, "gausslegendre"),
    ({"kernel_size": (2, 3)}, "riemann_trapezoid"),
    ({"kernel_size": (1, 1), "standardize": False}, "riemann_left"),
]


@pytest.mark.parametrize("options, method", _PATH_CASES)
def test_path_engine_matches_tape_and_per_step(options, method):
    """The exact whole-path reformulation equals the per-step computations (rtol 1e-4)."""
    model, X, b = _emo_net(5, **options)
    kw = dict(n_steps=13, method=method, return_deltas=True)
    path, d_path = integrated_gradients(model, X, b, engine="path", **kw)
    tape, d_tape = integrated_gradients(model, X, b, engine="tape", **kw)
    step = _per_step_fast(model, X, b, method, 13)
    assert np.abs(tape).max() > 1e-3  # non-trivial attributions
    assert _normwise(path, tape) < 1e-4
    assert _normwise(path, step) < 1e-4
    assert_allclose(d_path, d_tape, atol=1e-5)


def test_path_engine_many_switches():
    """A baseline far from x: most conv features switch along the path."""
    from igselect.attribution._emo_engine import _EmoEngine

    model, X, _ = _emo_net(6)
    std = model.get_layer("standardize").variance.numpy().reshape(2, L) ** 0.5
    mean = model.get_layer("standardize").mean.numpy().reshape(2, L)
    X = (mean + 4 * std * np.sign(X - mean)).astype(np.float32)
    # (scaled) mirror image: standardized inputs flip sign at alpha = 0.375, between nodes
    # (at a node every feature would sit exactly on the ReLU kink, where the gradient jumps)
    b = (mean - 0.6 * (X - mean)).astype(np.float32)
    eng = _EmoEngine(model)
    u = eng._preact((b - eng._mean) * eng._inv_scale)
    v = eng._preact((X - b) * eng._inv_scale, bias=False)
    _, a = quadrature("riemann_right", 20)
    on = u.numpy()[..., None] + a.astype(np.float32) * v.numpy()[..., None] > 0
    assert np.mean(on[..., 0] != on[..., -1]) > 0.3
    path = integrated_gradients(model, X, b, n_steps=20, engine="path")
    tape = integrated_gradients(model, X, b, n_steps=20, engine="tape")
    assert _normwise(path, tape) < 1e-4


def test_path_engine_no_switches():
    """x == baseline: no feature switches, attributions are exactly zero; a path
    with no switch (a tiny step from the baseline) still matches the tape engine."""
    model, X, _ = _emo_net(7)
    zero = integrated_gradients(model, X, X, n_steps=10, engine="fast")
    assert np.all(zero == 0)
    near = X + np.float32(1e-3) * np.sign(X)
    path = integrated_gradients(model, near, X, n_steps=10, engine="path")
    tape = integrated_gradients(model, near, X, n_steps=10, engine="tape")
    assert np.abs(tape).max() > 0
    assert _normwise(path, tape) < 1e-4


def test_fast_engine_bfloat16(emo):
    model, X, b = emo
    f32 = integrated_gradients(model, X, b, n_steps=8)
    bf16 = integrated_gradients(model, X, b, n_steps=8, dtype="bfloat16")
    assert _normwise(bf16, f32) < 3e-2


def test_recognise_emo_network():
    other = keras.Sequential(
        [keras.Input((P, 2, L)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    assert "layers" in recognise_emo_network(other)
    assert "keras.Model" in recognise_emo_network(lambda x: x)
    with pytest.raises(ValueError, match="engine='fast'"):
        integrated_gradients(other, np.zeros((1, P, 2, L)), np.ones((P, 2, L)), engine="fast")
    with pytest.raises(ValueError, match="engine='path'"):
        integrated_gradients(other, np.zeros((1, P, 2, L)), np.ones((P, 2, L)), engine="path")


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"baselines": np.zeros((2, P, 2, L))}, r"baselines.shape=\(2, 4, 2, 6\)"),
        ({"baselines": np.zeros((P, 2, L + 1))}, r"baselines.shape=\(4, 2, 7\)"),
        ({"method": "simpson"}, r"'method' parameter of integrated_gradients .*Got 'simpson'"),
        ({"n_steps": 0}, r"'n_steps' parameter of integrated_gradients .*Got 0 instead"),
        ({"n_steps": "many"}, r"'n_steps' parameter .*or a str among \{'auto'\}. Got 'many'"),
        ({"target": 2}, "target=2"),
        ({"target": -1}, r"'target' parameter of integrated_gradients .*Got -1"),
        ({"batch_size": 0}, r"'batch_size' parameter .*Got 0 instead"),
        ({"batch_size": True}, r"'batch_size' parameter .*Got True"),
        ({"n_steps": True}, r"'n_steps' parameter .*Got True"),
        ({"n_steps": 1, "method": "riemann_trapezoid"}, r"riemann_trapezoid.*n_steps=1"),
        ({"engine": "gpu"}, "engine='gpu'"),
        ({"dtype": "float16"}, "dtype='float16'"),
        ({"dtype": "bfloat16", "engine": "tape"}, "dtype='bfloat16'"),
        ({"n_steps": "auto", "rtol": 0}, r"'rtol' parameter .*Got 0 instead"),
    ],
)
def test_bad_arguments(emo, kwargs, match):
    model, X, b = emo
    kwargs = {"baselines": b, **kwargs}
    with pytest.raises(ValueError, match=match):
        integrated_gradients(model, X, **kwargs)


def test_non_finite_inputs(emo):
    model, X, b = emo
    bad = X.copy()
    bad[1, 2, 0, 3] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 NaN"):
        integrated_gradients(model, bad, b)
    bad_b = b.copy()
    bad_b[0, 1, 2] = np.inf
    with pytest.raises(ValueError, match=r"baselines contains 1 NaN or infinite.*\(0, 0, 1, 2\)"):
        integrated_gradients(model, X, bad_b)
    with pytest.raises(TypeError, match="model of type int"):
        integrated_gradients(3, X, b)


# -- aggregation ----------------------------------------------------------------------------------
def test_aggregate_landmark_scores():
    rng = np.random.default_rng(4)
    ig = rng.normal(size=(3, P, 2, L))
    scores = aggregate_landmark_scores(ig)
    assert scores.shape == (3, L)
    assert_allclose(scores[1, 2], np.abs(ig[1, :, :, 2]).sum())
    assert_allclose(aggregate_landmark_scores(ig[..., None]), scores)
    with pytest.raises(ValueError, match=r"attributions.shape=\(3, 4, 3, 6\)"):
        aggregate_landmark_scores(rng.normal(size=(3, P, 3, L)))


def test_fast_engine_integrates_whole_paths_and_step_is_opt_in(emo, monkeypatch):
    """engine='fast', 'path' and 'auto' integrate whole paths; engine='step' streams
    (sample, step) pairs. All give the same attributions."""
    from igselect.attribution import _integrated_gradients as ig_module

    model, X, b = emo
    modes = []
    original = ig_module._path_integral

    def spy(*args, **kwargs):
        modes.append(args[-1])
        return original(*args, **kwargs)

    monkeypatch.setattr(ig_module, "_path_integral", spy)
    fast = integrated_gradients(model, X, b, n_steps=96, engine="fast")
    auto = integrated_gradients(model, X, b, n_steps=96)
    path = integrated_gradients(model, X, b, n_steps=96, engine="path")
    step = integrated_gradients(model, X, b, n_steps=96, engine="step")
    assert modes == [True, True, True, False]
    assert _normwise(step, fast) < 1e-4
    assert np.array_equal(auto, fast) and np.array_equal(path, fast)


def test_engines_of_one_configuration_share_compiled_functions():
    """A second network of the same configuration reuses the first one's traces (and XLA
    executables) with its own weights: no retracing, no per-model compile cache growth,
    and attributions equal to the tape engine's for the second network."""
    from igselect.attribution._engines import _CACHE

    first, X, b = _emo_net(0)
    second, _, _ = _emo_net(1)  # same shapes, other weights and statistics
    integrated_gradients(first, X, b, n_steps=16)
    names = ["_uv_fn", "_head_grad_fn", "_conv_t_fn", "forward_fn"]
    compiled = [getattr(_CACHE[first][1]["float32"], name).func for name in names]
    traces = [fn.experimental_get_tracing_count() for fn in compiled]
    fast = integrated_gradients(second, X, b, n_steps=16)
    assert [getattr(_CACHE[second][1]["float32"], name).func for name in names] == compiled
    assert [fn.experimental_get_tracing_count() for fn in compiled] == traces
    tape = integrated_gradients(second, X, b, n_steps=16, engine="tape")
    assert _normwise(fast, tape) < 1e-5
    assert _normwise(fast, integrated_gradients(first, X, b, n_steps=16)) > 1e-2


def _brute_force_switches(u, v, alphas, W):
    """Reference for the compiled kernels: node states by brute force."""
    on = u[..., None] + alphas * v[..., None] > 0  # (R, D, m)
    on0 = on[..., 0]
    ks = np.argmax(on != on0[..., None], axis=-1)
    ks[(on == on0[..., None]).all(-1)] = len(alphas)
    m, G = len(alphas), W.shape[1]
    cu, cv = np.zeros((len(u), m, G)), np.zeros((len(u), m, G))
    for r, j in zip(*np.nonzero(ks < m), strict=True):
        sign = -1.0 if on0[r, j] else 1.0
        cu[r, ks[r, j]] += sign * u[r, j] * W[j]
        cv[r, ks[r, j]] += sign * v[r, j] * W[j]
    return on0, ks, cu, cv


@pytest.mark.parametrize("m", [1, 2, 7, 64])
def test_sparse_kernels_match_brute_force(m):
    """The Numba kernels of the whole-path engine against a NumPy reference."""
    from igselect.attribution import _emo_sparse as sp

    rng = np.random.default_rng(m)
    R, D, G = 5, 1100, 12  # D > CHUNK: several chunks of W
    u = rng.normal(size=(R, D)).astype(np.float32)
    v = rng.normal(scale=2.0, size=(R, D)).astype(np.float32)
    alphas = (np.linspace(0.1, 1.0, m) ** 1.5).astype(np.float32)  # non-uniform nodes
    W = rng.normal(size=(D, G)).astype(np.float32)
    on0, ks, cu_ref, cv_ref = _brute_force_switches(u, v, alphas, W)
    if m > 1:
        assert 0.05 < np.mean(ks < m) < 0.95  # both switching and steady features
    um, vm, state = np.empty_like(u), np.empty_like(v), np.empty((R, D), np.int32)
    sp.switch_states(u, v, alphas, um, vm, state)
    assert np.array_equal(state < 0, on0)
    assert np.array_equal(np.where(state < 0, -state - 1, state), ks)
    assert np.array_equal(um, np.where(on0, u, 0)) and np.array_equal(vm, np.where(on0, v, 0))
    for blocks in (1, 2, 5):
        cu, cv = np.zeros((R, m, G), np.float32), np.zeros((R, m, G), np.float32)
        sp.switch_forward(u, v, state, W, blocks, cu, cv)
        assert_allclose(cu, cu_ref, atol=1e-4)
        assert_allclose(cv, cv_ref, atol=1e-4)
    T = rng.normal(size=(R, m, G)).astype(np.float32)
    dense = rng.normal(size=(R, D)).astype(np.float32)
    sign = np.where(on0, -1.0, 1.0)
    picked = np.take_along_axis(T, np.minimum(ks, m - 1)[..., None], axis=1)  # (R, D, G)
    ref = on0 * dense + (ks < m) * sign * np.einsum("rjg,jg->rj", picked, W)
    da = np.empty_like(dense)
    sp.switch_backward(state, W, T, dense, 2, da)
    assert_allclose(da, ref, rtol=1e-4, atol=1e-4)
    # float64 cumulative sums: projections at every node and weighted suffix sums
    n, P = 1, R
    U0, V0 = rng.normal(size=(2, R, G)).astype(np.float32)
    z = np.empty((n, m, P, G), np.float32)
    sp.assemble_projections(U0, V0, cu, cv, alphas, P, z)
    a = alphas.astype(np.float64)[None, :, None]
    z_ref = U0[:, None] + a * V0[:, None] + np.cumsum(cu_ref, 1) + a * np.cumsum(cv_ref, 1)
    assert_allclose(z[0].transpose(1, 0, 2), z_ref, rtol=1e-5, atol=1e-4)
    dz = rng.normal(size=(n, m, P, G)).astype(np.float32)
    w = rng.uniform(0, 1, m)
    T_out, S = np.empty((R, m, G), np.float32), np.empty((R, G), np.float32)
    sp.suffix_sums(dz, w, P, T_out, S)
    T_ref = np.cumsum((w[:, None, None] * dz[0])[::-1], axis=0)[::-1].transpose(1, 0, 2)
    assert_allclose(T_out, T_ref, rtol=1e-5, atol=1e-5)
    assert_allclose(S, T_ref[:, 0], rtol=1e-5, atol=1e-5)


def test_path_states_match_per_step_engine():
    """The whole-path engine gates each conv feature at each node as the per-step
    engine does (states from the interpolated input, same float32 arithmetic)."""
    from igselect.attribution import _emo_sparse as sp
    from igselect.attribution._emo_engine import _EmoEngine

    model, X, b = _emo_net(8)
    B = np.broadcast_to(b, X.shape).astype(np.float32)
    eng = _EmoEngine(model)
    _, alphas = quadrature("riemann_right", 64)
    alphas = alphas.astype(np.float32)
    u, v = (t.numpy() for t in eng._uv_fn(X, B))
    R, D = u.shape
    um, vm, state = np.empty_like(u), np.empty_like(v), np.empty((R, D), np.int32)
    sp.switch_states_interpolated(
        X.reshape(R, 2, L), B.reshape(R, 2, L), eng._mean_np, eng._inv_scale_np,
        eng._A_np, eng._conv_bias_np, alphas, u, v, um, vm, state,
    )  # fmt: skip
    on0 = state < 0
    ks = np.where(on0, -state - 1, state)
    assert 0.05 < np.mean(ks < 64) < 0.95
    mismatches = 0
    for k, a in enumerate(alphas):
        interpolated = tf.constant(B) + tf.constant(a) * (tf.constant(X) - tf.constant(B))
        on = eng._features_fn(interpolated).numpy() > 0  # the per-step engine's states
        mismatches += np.sum(on != np.where(k < ks, on0, ~on0))
    assert mismatches <= 1e-5 * R * D * 64, mismatches
    assert np.array_equal(um, np.where(on0, u, 0)) and np.array_equal(vm, np.where(on0, v, 0))


@pytest.mark.parametrize("n_steps", [50, 63, 64])
def test_path_engine_equals_per_step_tightly(n_steps):
    """With the per-step states, the whole path agrees with the per-step mode far
    below the 1e-4 target, at any number of steps."""
    model, X, b = _emo_net(9)
    path = integrated_gradients(model, X, b, n_steps=n_steps)
    step = integrated_gradients(model, X, b, n_steps=n_steps, engine="step")
    assert _normwise(path, step) < 1e-5


# -- memory bounded by batch_size (issue 13, defect 6) ---------------------------------------------
class _Stop(Exception):
    pass


def _tiny_selector_net():
    """The network of the defect report: 8 samples, 4 frames, 12 landmarks."""
    rng = np.random.default_rng(10)
    model = build_emo_network(4, 12, n_filters=2, lstm_units=3, dense_units=3, seed=0)
    X = rng.normal(size=(8, 4, 2, 12)).astype(np.float32)
    return model, X, X[::-1].copy()


@pytest.mark.parametrize("engine", ["fast", "step"])
def test_two_million_steps_are_streamed(engine, monkeypatch):
    """n_steps=2_000_000, batch_size=1: the first gradient call holds a bounded chunk of
    the quadrature nodes, and nothing of the size of n_steps is allocated before it
    (today's code built all 2e6 nodes and weights, and the path engine took them all)."""
    import tracemalloc

    from igselect.attribution._emo_engine import _EmoEngine

    model, X, B = _tiny_selector_net()
    integrated_gradients(model, X, B, n_steps=4, engine=engine)  # engines built, traced
    seen = []

    def stop_path(self, x, b, alphas, weights, target):
        seen.append(len(alphas))
        raise _Stop

    def stop_gradient(self, x, target):
        seen.append(int(x.shape[0]))
        raise _Stop

    monkeypatch.setattr(_EmoEngine, "path_integral", stop_path)
    monkeypatch.setattr(_EmoEngine, "gradient", stop_gradient)
    model, X, B = _tiny_selector_net()  # a new network: new engine, new traces
    tracemalloc.start()
    try:
        with pytest.raises(_Stop):
            integrated_gradients(model, X, B, n_steps=2_000_000, batch_size=1, engine=engine)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen and seen[0] <= 1024, seen  # nodes (fast) or interpolated inputs (step) per call
    assert peak < 4 * 2**20, peak  # 2e6 float64 nodes alone are 16 MB


def test_node_chunks_give_the_same_attributions(monkeypatch):
    """The whole-path engine over chunks of nodes sums to the all-nodes result."""
    from igselect.attribution import _gradients

    model, X, B = _tiny_selector_net()
    ref = integrated_gradients(model, X, B, n_steps=50, batch_size=10_000)
    monkeypatch.setattr(_gradients, "PATH_MIN_NODES", 8)
    for batch_size in (1, 8, 20):  # 8 nodes of 1 path; 8 of 1; 20 of 1
        out = integrated_gradients(model, X, B, n_steps=50, batch_size=batch_size)
        assert _normwise(out, ref) < 1e-6


def test_gauss_legendre_size_is_bounded():
    with pytest.raises(ValueError, match=r"n_steps <= 2048.*n_steps=4096"):
        quadrature("gausslegendre", 4096)
    model, X, B = _tiny_selector_net()
    with pytest.raises(ValueError, match="n_steps=5000"):
        integrated_gradients(model, X, B, n_steps=5000, method="gausslegendre")
