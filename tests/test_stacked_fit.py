"""Stacked EMO fits: several networks trained side by side end as their own fits would."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from igselect import EmoClassifier
from igselect._stacked_fit import _stackable, fit_emo_stack
from igselect.datasets import make_landmark_sequences
from igselect.evaluation import (
    BinarizedClassifier,
    FlattenLandmarks,
    binary_metrics,
    evaluate_selection,
)
from igselect.rankers import FTestLandmarkSelector, RandomLandmarkSelector


@pytest.fixture(scope="module")
def data():
    ds = make_landmark_sequences(
        n_samples=40, n_frames=3, n_landmarks=6, n_classes=2, n_informative=2, random_state=0
    )
    rng = np.random.default_rng(0)
    # three different inputs of one shape: the data, its landmarks reversed, a noisy copy
    Xs = [ds.data, ds.data[..., ::-1].copy(), ds.data + rng.normal(0, 0.1, ds.data.shape)]
    return Xs, ds.target


def _emo(**params):
    base = dict(
        n_filters=3,
        lstm_units=4,
        dense_units=4,
        epochs=4,
        batch_size=8,
        learning_rate=1e-2,
        validation_fraction=0.0,
        class_weight="balanced",
        positive_class="class_0",
    )
    return EmoClassifier(**{**base, **params})


def _weights(est):
    return [np.asarray(v) for v in est.model_.weights]


@pytest.mark.parametrize(
    "params",
    [
        {"dropout": 0.0},
        {"dropout": 0.3},  # masks from each network's own dropout seed state
        {"dropout": 0.2, "randomized": True},  # R-EMO: frozen conv filters
        {"dropout": 0.2, "class_weight": None},
    ],
)
def test_stacked_fit_equals_one_fit_per_network(data, params):
    Xs, y = data
    # different seeds (initial weights, batch order, dropout) and positive classes
    ests = [
        _emo(**params, random_state=seed, positive_class=pc)
        for seed, pc in ((0, "class_0"), (1, "class_1"), (2, "class_0"))
    ]
    stacked = fit_emo_stack([clone(e) for e in ests], Xs, y)
    single = [clone(e).fit(X, y) for e, X in zip(ests, Xs, strict=True)]
    for a, b, X in zip(stacked, single, Xs, strict=True):
        assert a.n_iter_ == b.n_iter_ == 4
        np.testing.assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-4)
        assert a.history_["accuracy"] == pytest.approx(b.history_["accuracy"])
        for wa, wb in zip(_weights(a), _weights(b), strict=True):
            np.testing.assert_allclose(wa, wb, atol=1e-4)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-4)
        assert a.fit_time_ > 0 and a.epoch_times_.shape == (4,)
    # the networks did not share weights: different seeds and inputs, different models
    assert not np.allclose(_weights(stacked[0])[-1], _weights(stacked[1])[-1])
    if params.get("randomized"):
        # R-EMO's conv filters are those it was built with (same seed), not trained
        before = clone(ests[0])._prepare_fit(Xs[0], y).network.get_layer("conv").get_weights()
        after = stacked[0].model_.get_layer("conv").get_weights()
        for u, v in zip(before, after, strict=True):
            np.testing.assert_array_equal(u, v)


def test_stacked_fit_without_standardisation_trains_the_same(data):
    """Raw coordinates: the same losses; the inference outputs agree to 1e-2.

    On raw (all positive) coordinates a conv filter can be active at every
    position, and BatchNorm then cancels its bias: the bias's gradient is zero
    up to rounding, and Adam, which divides by the gradient's own scale, turns
    that rounding into steps of full size. Its drift only reaches the output
    at inference (through the moving mean), which the tolerance allows for.
    """
    Xs, y = data
    ests = [_emo(dropout=0.2, standardize=False, random_state=s) for s in (0, 1, 2)]
    stacked = fit_emo_stack([clone(e) for e in ests], Xs, y)
    single = [clone(e).fit(X, y) for e, X in zip(ests, Xs, strict=True)]
    for a, b, X in zip(stacked, single, Xs, strict=True):
        np.testing.assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-4)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-2)


def test_what_cannot_be_stacked_is_fitted_one_by_one(data, monkeypatch):
    Xs, y = data
    assert _stackable([_emo(), _emo(random_state=1)], Xs[:2])
    assert not _stackable([_emo()], Xs[:1])  # one network: nothing to stack
    assert not _stackable([_emo(), _emo(n_filters=2)], Xs[:2])  # another architecture
    assert not _stackable([_emo(), _emo(kernel_size=(2, 2))], Xs[:2])
    assert not _stackable([_emo(), _emo()], [Xs[0], Xs[0][..., :4]])  # another shape
    calls = []
    monkeypatch.setattr(
        EmoClassifier, "fit", lambda self, X, y: calls.append(X.shape) or self, raising=True
    )
    fit_emo_stack([_emo(), _emo(n_filters=2)], Xs[:2], y)
    assert len(calls) == 2


def test_a_validation_split_falls_back_to_early_stopping_fits(data):
    Xs, y = data
    ests = [_emo(validation_fraction=0.25, patience=1, random_state=s) for s in (0, 1)]
    fitted = fit_emo_stack([clone(e) for e in ests], Xs[:2], y)
    single = [clone(e).fit(X, y) for e, X in zip(ests, Xs[:2], strict=True)]
    for a, b in zip(fitted, single, strict=True):
        assert "val_loss" in a.history_ and a.n_iter_ == b.n_iter_
        np.testing.assert_allclose(a.predict_proba(Xs[0]), b.predict_proba(Xs[0]), atol=1e-6)


def test_evaluate_selection_stacks_networks_and_fits_equal_inputs_once():
    ds = make_landmark_sequences(
        n_samples=40, n_frames=3, n_landmarks=8, n_classes=2, n_informative=2, random_state=1
    )
    selectors = {
        "F-test": FTestLandmarkSelector(positive_class="class_0"),
        "random": RandomLandmarkSelector(random_state=0),
    }
    emo = _emo(epochs=3, random_state=0)
    recs = evaluate_selection(
        ds.data,
        ds.target,
        selectors=selectors,
        classifiers={"emo": emo},
        landmark_counts=[8, 2],
        cv=[(np.arange(30), np.arange(30, 40))],
        positive_class="class_0",
    )
    cells = {(r["selector"], r["L"]): r for r in recs}
    top2 = [set(cells[name, 2]["ranking"][:2]) for name in selectors]
    assert top2[0] != top2[1]  # two different inputs at L=2: two networks, stacked
    # one fit per selector at L=2, and each one equals the network fitted on its own
    for name, sel in selectors.items():
        sel = clone(sel).set_params(n_landmarks=2).fit(ds.data[:30], ds.target[:30])
        own = clone(emo).fit(sel.transform(ds.data[:30]), ds.target[:30])
        proba = own.predict_proba(sel.transform(ds.data[30:]))[:, 1]
        y01 = (ds.target[30:] == "class_0").astype(int)
        expected = binary_metrics(y01, proba >= 0.5, proba)
        assert cells[name, 2]["accuracy"] == pytest.approx(expected["accuracy"])
        assert cells[name, 2]["roc_auc"] == pytest.approx(expected["roc_auc"], abs=1e-6)
    # at L=8 both keep every landmark: one network, the same record twice
    assert cells["F-test", 8]["roc_auc"] == cells["random", 8]["roc_auc"]
    assert cells["F-test", 8]["fit_time_s"] == cells["random", 8]["fit_time_s"]


def test_classifier_counts_skips_and_names_bad_values():
    ds = make_landmark_sequences(
        n_samples=30, n_frames=2, n_landmarks=8, n_classes=2, n_informative=2, random_state=0
    )
    logistic = make_pipeline(
        FlattenLandmarks(), BinarizedClassifier(LogisticRegression(), positive_class="class_0")
    )
    kwargs = dict(
        selectors={"random": RandomLandmarkSelector(random_state=0)},
        landmark_counts=[8, 4, 2],
        cv=2,
        positive_class="class_0",
    )
    recs = evaluate_selection(
        ds.data,
        ds.target,
        classifiers={"a": logistic, "b": clone(logistic)},
        classifier_counts={"b": [4]},
        **kwargs,
    )
    got = sorted({(r["classifier"], r["L"]) for r in recs})
    assert got == [("a", 2), ("a", 4), ("a", 8), ("b", 4)]
    assert [r["L"] for r in recs if r["split"] == 0] == [8, 4, 4, 2]  # the order of the L values
    for bad in ({"b": [3]}, {"nope": [4]}):
        with pytest.raises(ValueError, match="classifier_counts"):
            evaluate_selection(
                ds.data,
                ds.target,
                classifiers={"a": logistic, "b": logistic},
                classifier_counts=bad,
                **kwargs,
            )
