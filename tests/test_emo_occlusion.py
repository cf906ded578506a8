"""The EMO occlusion path (landmark deltas on the LSTM input) equals the generic one."""

from __future__ import annotations

import numpy as np
import pytest

from igselect.attribution import _emo_occlusion, _occlusion, occlusion
from igselect.network import build_emo_network

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

P, L, F = 3, 6, 3


def _net(randomized: bool, kernel_size=(2, 1)):
    """A tiny EMO network with a standardize layer and non-trivial BatchNorm statistics."""
    rng = np.random.default_rng(7 if randomized else 3)
    mean, std = rng.normal(0.5, 0.1, (2, L)), rng.uniform(0.05, 0.2, (2, L))
    model = build_emo_network(
        P,
        L,
        n_filters=F,
        lstm_units=4,
        dense_units=5,
        kernel_size=kernel_size,
        randomized=randomized,
        seed=1,
        mean=mean,
        std=std,
    )
    bn = model.get_layer("bn")
    bn.moving_mean.assign(rng.uniform(0.0, 0.5, F).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.2, 2.0, F).astype("float32"))
    bn.gamma.assign(rng.uniform(0.5, 1.5, F).astype("float32"))
    bn.beta.assign(rng.normal(0.0, 0.3, F).astype("float32"))
    X = (mean + 3 * std * rng.normal(size=(7, P, 2, L))).astype("float32")
    B = (mean + 3 * std * rng.normal(size=(7, P, 2, L))).astype("float32")
    return model, X, B


@pytest.fixture(scope="module", params=[False, True], ids=["t_emo", "r_emo"])
def emo(request):
    return _net(request.param)


def _generic(model):
    """The same network as a plain callable: not recognised, so every copy is predicted."""
    return lambda x: model(x, training=False)


@pytest.mark.parametrize(
    "groups", [None, np.array([0, 2, 1, 1, 2, 0]), {"lips": [1, 4], "eye": [5]}], ids=str
)
@pytest.mark.parametrize("per_sample", [False, True], ids=["shared", "per_sample"])
def test_fast_path_equals_generic_path(emo, groups, per_sample):
    model, X, B = emo
    baseline = B if per_sample else "mean"
    generic = occlusion(_generic(model), X, baseline=baseline, groups=groups)
    assert np.abs(generic).max() > 1e-3  # the comparison is not between zeros
    for batch_size in (None, 2 * L):  # 2 * L: two samples per call, the last one padded
        fast = occlusion(model, X, baseline=baseline, groups=groups, batch_size=batch_size)
        assert fast.shape == (len(X), L)
        assert np.abs(fast - generic).max() <= 1e-5 * np.abs(generic).max()
    if isinstance(groups, dict):  # landmarks in no group are never occluded
        assert np.all(fast[:, [0, 2, 3]] == 0)
    # the positive class's drop is the negative class's rise
    other = occlusion(model, X, baseline=baseline, groups=groups, target=0)
    np.testing.assert_allclose(other, -fast, atol=1e-6)


def test_fast_path_is_taken_for_emo_networks_only(monkeypatch):
    model, X, B = _net(False)
    calls, predicted = [], []
    fast_drops, predictor = _emo_occlusion.occlusion_drops, _occlusion._predictor

    def spy_fast(*args, **kwargs):
        calls.append(args[0])
        return fast_drops(*args, **kwargs)

    def spy_predictor(model, probe):
        predicted.append(model)
        return predictor(model, probe)

    monkeypatch.setattr(_emo_occlusion, "occlusion_drops", spy_fast)
    monkeypatch.setattr(_occlusion, "_predictor", spy_predictor)

    class Fitted:  # an estimator exposing its Keras model
        model_ = model

    fast = occlusion(model, X, baseline=B)
    assert len(calls) == 1 and predicted == []
    np.testing.assert_allclose(occlusion(Fitted(), X, baseline=B), fast)
    assert len(calls) == 2 and predicted == []
    occlusion(_generic(model), X, baseline=B)
    assert len(calls) == 2 and len(predicted) == 1
    # a conv kernel wider than one landmark mixes landmarks: the generic path, still right
    wide, Xw, Bw = _net(False, kernel_size=(2, 3))
    scores = occlusion(wide, Xw, baseline=Bw)
    assert len(calls) == 2 and predicted[-1] is wide
    hidden = Xw.copy()
    hidden[:, :, :, 2] = Bw[:, :, :, 2]
    f = lambda x: np.asarray(wide(x, training=False))[:, 1]  # noqa: E731
    np.testing.assert_allclose(scores[:, 2], f(Xw) - f(hidden), rtol=1e-5, atol=1e-7)


def test_fast_path_checks_the_target_column():
    model, X, _ = _net(False)
    with pytest.raises(ValueError, match=r"shape \(7, 2\)\. Received: target=2"):
        occlusion(model, X, target=2)
