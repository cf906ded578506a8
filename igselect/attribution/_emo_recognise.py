"""Recognising a :func:`igselect.network.build_emo_network` model and reading its weights.

:func:`recognise_emo_network` decides whether the fast IG engine
(:mod:`igselect.attribution._emo_engine`) can re-express a Keras model: the layer
names and types of ``build_emo_network``, a ``(None, P, 2, L)`` input, float32
compute, a stride-1 'same'-padded ReLU Conv2D, a forward tanh/sigmoid LSTM and
standard activations. Anything else runs on the generic tape engine.
"""

from __future__ import annotations

import numpy as np

__all__ = ["recognise_emo_network"]

_REQUIRED = ("add_channel", "conv", "bn", "flatten", "lstm", "dropout", "fc1", "output")
_ACTIVATIONS = ("relu", "linear", "softmax", "sigmoid", "tanh")


def _act_name(activation) -> str:
    import keras

    name = keras.activations.serialize(activation)
    return name if isinstance(name, str) else str(name)


def _np(value) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)


def recognise_emo_network(model) -> str | None:
    """Return None if the fast IG engine can re-express ``model``, else the reason why not.

    Parameters
    ----------
    model : object
        Usually a ``keras.Model``.

    Returns
    -------
    reason : str or None
        None for a :func:`~igselect.network.build_emo_network` model; otherwise a
        sentence naming the first layer or property that differs.

    Examples
    --------
    >>> from igselect.network import build_emo_network
    >>> net = build_emo_network(4, 10, n_filters=3, lstm_units=5, dense_units=4, seed=0)
    >>> recognise_emo_network(net) is None
    True
    >>> recognise_emo_network(len)
    'the model is not a keras.Model'
    """
    import keras

    if not isinstance(model, keras.Model):
        return "the model is not a keras.Model"
    try:
        names = [
            layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
        ]
    except Exception:  # pragma: no cover - exotic models
        return "the model's layers cannot be listed"
    expected = list(_REQUIRED)
    if names and names[0] == "standardize":
        expected = ["standardize", *expected]
    if names != expected:
        return f"its layers {names} are not the build_emo_network layers {expected}"
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 4 or shape[2] != 2 or None in shape[1:]:
        return f"its input shape {model.input_shape} is not (None, P, 2, L)"
    for layer in model.layers:
        if getattr(layer, "compute_dtype", "float32") != "float32":
            return f"layer {layer.name!r} computes in {layer.compute_dtype}, not float32"
    L = model.get_layer
    if "standardize" in names:
        std = L("standardize")
        if not isinstance(std, keras.layers.Normalization) or std.invert:
            return "layer 'standardize' is not a forward keras Normalization"
        if np.size(_np(std.mean)) != 2 * shape[3]:
            return "layer 'standardize' does not hold one mean per coordinate"
    td = L("conv")
    conv = getattr(td, "layer", None)
    if not isinstance(td, keras.layers.TimeDistributed) or not isinstance(
        conv, keras.layers.Conv2D
    ):
        return "layer 'conv' is not a TimeDistributed(Conv2D)"
    if (
        conv.padding != "same"
        or tuple(conv.strides) != (1, 1)
        or tuple(conv.dilation_rate) != (1, 1)
        or conv.groups != 1
        or conv.data_format != "channels_last"
        or _act_name(conv.activation) not in ("relu", "linear")
    ):
        return "layer 'conv' is not a stride-1, 'same'-padded, channels-last ReLU Conv2D"
    bn = L("bn")
    if not isinstance(bn, keras.layers.BatchNormalization) or bn.axis not in (-1, 4):
        return "layer 'bn' is not a BatchNormalization over the filter axis"
    lstm = L("lstm")
    if (
        not isinstance(lstm, keras.layers.LSTM)
        or lstm.go_backwards
        or lstm.return_sequences
        or lstm.return_state
        or lstm.stateful
        or _act_name(lstm.cell.activation) != "tanh"
        or _act_name(lstm.cell.recurrent_activation) != "sigmoid"
    ):
        return "layer 'lstm' is not a forward LSTM with tanh/sigmoid activations"
    if not isinstance(L("dropout"), keras.layers.Dropout):
        return "layer 'dropout' is not a Dropout"
    for name in ("fc1", "output"):
        dense = L(name)
        if not isinstance(dense, keras.layers.Dense) or _act_name(dense.activation) not in (
            _ACTIVATIONS
        ):
            return f"layer {name!r} is not a Dense layer with a standard activation"
    return None
