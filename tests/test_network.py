"""Tests for the Keras network builder."""

import numpy as np
import pytest

from igselect.network import LAYER_NAMES, build_emo_network


def test_paper_sized_network_has_expected_parameter_count():
    # F=50, Q=58, R=63, L=468, P=16: the paper's largest configuration.
    model = build_emo_network(16, 468, n_filters=50, lstm_units=58, dense_units=63, seed=0)
    lstm_params = (2 * 468 * 50 + 58 + 1) * 4 * 58
    assert model.get_layer("lstm").count_params() == lstm_params
    assert 10.8e6 < model.count_params() < 11.0e6
    assert model.output_shape == (None, 2)


def test_layer_names_are_the_documented_ones():
    mean, std = np.zeros((2, 7)), np.full((2, 7), 2.0)
    model = build_emo_network(3, 7, n_filters=2, lstm_units=3, dense_units=3, mean=mean, std=std)
    names = [layer.name for layer in model.layers if layer.name != "landmarks"]
    assert [n for n in LAYER_NAMES if n in names] == [n for n in names if n in LAYER_NAMES]
    assert set(LAYER_NAMES) <= set(names)


def test_standardize_layer_applies_mean_and_std():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(2, 5)).astype("float32")
    std = rng.uniform(0.5, 2, size=(2, 5)).astype("float32")
    model = build_emo_network(2, 5, n_filters=2, lstm_units=2, dense_units=2, mean=mean, std=std)
    x = rng.normal(size=(3, 2, 2, 5)).astype("float32")
    out = model.get_layer("standardize")(x)
    np.testing.assert_allclose(np.asarray(out), (x - mean) / std, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("randomized", [False, True])
def test_randomized_freezes_only_the_conv_filters(randomized):
    model = build_emo_network(2, 5, n_filters=2, lstm_units=2, dense_units=2, randomized=randomized)
    assert model.get_layer("conv").trainable is (not randomized)
    assert model.get_layer("lstm").trainable
    conv_ids = {id(w) for w in model.get_layer("conv").weights}
    trainable_conv = [w for w in model.trainable_weights if id(w) in conv_ids]
    assert (len(trainable_conv) == 0) is randomized


def test_seed_makes_weights_repeatable():
    a = build_emo_network(2, 5, n_filters=2, lstm_units=3, dense_units=2, seed=3)
    b = build_emo_network(2, 5, n_filters=2, lstm_units=3, dense_units=2, seed=3)
    c = build_emo_network(2, 5, n_filters=2, lstm_units=3, dense_units=2, seed=4)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(
        a.get_layer("lstm").get_weights()[0], c.get_layer("lstm").get_weights()[0]
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_filters": 0}, r"'n_filters' parameter.*Got 0 instead"),
        ({"n_filters": True}, r"'n_filters' parameter.*Got True instead"),
        ({"lstm_units": 2.5}, r"'lstm_units' parameter.*Got 2.5 instead"),
        ({"dropout": 1.0}, r"'dropout' parameter.*Got 1.0 instead"),
        ({"kernel_size": (2, 0)}, "kernel_size"),
        ({"kernel_size": "wide"}, "kernel_size"),
    ],
)
def test_bad_parameters_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_emo_network(2, 5, **kwargs)
