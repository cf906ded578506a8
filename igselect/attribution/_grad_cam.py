"""Grad-CAM per frame and landmark (Selvaraju et al., 2017).

For a layer whose output ``A`` has a landmark axis (the EMO network's ``conv``
layer: ``(n, P, 2, L, F)``, kernel ``(2, 1)``, so every feature map is per
landmark), Grad-CAM weights each feature by its gradient averaged over the
frames, and sums the weighted maps per frame and landmark::

    w[h, l, c] = mean_p dF/dA[p, h, l, c]
    cam[p, l] = ReLU(sum_{h, c} w[h, l, c] * A[p, h, l, c])

Grad-CAM averages the gradients over the positions that the layers after the
explained one read with the same weights, as a global-average-pooling head
reads every pixel of an image (Selvaraju et al., 2017). In the EMO network
those are the frames: the LSTM applies one input kernel at every time step,
while the flattened map gives every (row, landmark, channel) its own weights.
So the frames are pooled and the other axes keep their own channel weights:
the two rows of the ``(2, 1)`` conv are two different features of a landmark
(row 0 combines x and y, row 1 sees y and the zero padding), not two
positions of one. ``pooling="frames_and_rows"`` also averages over those rows
(and any other axis between the frames and the landmarks): the earlier
behaviour, kept for comparison. It runs on the Keras model itself (a
sub-model returning the layer output and the prediction) in compiled,
fixed-shape batches.
"""

from __future__ import annotations

import weakref

import numpy as np

from .._validation import StrOptions, validate_params
from ._gradients import GRADIENT_CONSTRAINTS, _padded, _resolve_model

__all__ = ["grad_cam"]

_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _layer_axes(name: str, shape: tuple, n_frames: int, n_landmarks: int):
    """``(frame_axis or None, landmark_axis)`` of a layer output ``(batch, ..., channels)``."""
    inner = [i for i in range(1, len(shape) - 1) if shape[i] == n_landmarks]
    if len(shape) < 3 or not inner:
        raise ValueError(
            f"grad_cam needs a layer whose output has a landmark axis of size "
            f"n_landmarks={n_landmarks} before its channel axis. Received: layer={name!r} "
            f"with output shape {tuple(shape)}"
        )
    land = inner[-1]
    frame = 1 if land != 1 and shape[1] == n_frames else None
    return frame, land


#: What the channel weights are averaged over.
POOLINGS = ("frames", "frames_and_rows")


def _compiled(model, layer_name: str, target: int, frame, land, rank, pooling: str):
    import keras
    import tensorflow as tf

    per_model = _COMPILED.setdefault(model, {})
    key = (layer_name, target, pooling)
    if key in per_model:
        return per_model[key]
    sub = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
    rest = [i for i in range(1, rank - 1) if i not in (frame, land)]
    perm = [0] + ([frame] if frame is not None else []) + rest + [land, rank - 1]
    if pooling == "frames":
        pooled = [1] if frame is not None else []
    else:  # "frames_and_rows": every axis but batch, landmark and channel
        pooled = list(range(1, rank - 2))

    @tf.function(reduce_retracing=True)
    def cam(x):
        with tf.GradientTape() as tape:
            acts, out = sub(x, training=False)
            y = out[:, target]
        grads = tf.transpose(tape.gradient(y, acts), perm)
        acts = tf.transpose(acts, perm)  # (B, [P], *rest, L, C)
        w = tf.reduce_mean(grads, axis=pooled, keepdims=True) if pooled else grads
        maps = tf.reduce_sum(w * acts, axis=-1)  # (B, [P], *rest, L)
        keep = 2 if frame is not None else 1
        summed = list(range(keep, rank - 2))
        if summed:
            maps = tf.reduce_sum(maps, axis=summed)
        return tf.nn.relu(maps)

    per_model[key] = cam
    return cam


@validate_params(
    {**GRADIENT_CONSTRAINTS, "pooling": [StrOptions(set(POOLINGS))]},
    prefer_skip_nested_validation=True,
)
def grad_cam(
    model,
    X,
    *,
    layer: str = "conv",
    target: int = 1,
    pooling: str = "frames",
    batch_size: int | None = None,
) -> np.ndarray:
    """Grad-CAM of one output column, per frame and landmark.

    Parameters
    ----------
    model : keras.Model or fitted estimator
        A functional Keras model (or an estimator whose ``model_`` is one) with a
        layer named ``layer``.
    X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
        Landmark sequences.
    layer : str, default="conv"
        Name of the layer to explain. Its output must have an axis of size
        ``n_landmarks`` (the last such axis before the channel axis is taken as
        the landmark axis); an axis 1 of size ``n_frames`` is the frame axis,
        otherwise the same map is returned for every frame. The EMO network's
        ``conv`` layer has output ``(n, P, 2, L, F)``.
    target : int, default=1
        Output column ``F = model(x)[:, target]``.
    pooling : {"frames", "frames_and_rows"}, default="frames"
        The axes over which the gradients are averaged into channel weights:
        the frame axis only (every other axis of the map, such as the EMO
        conv's two coordinate rows, keeps its own weights), or also every
        axis between the frames and the landmarks (the earlier behaviour,
        kept for comparison).
    batch_size : int, optional
        Inputs per call (bounds peak memory); default 64.

    Returns
    -------
    cam : ndarray of shape (n_samples, n_frames, n_landmarks), float32
        ``ReLU(sum_{h, c} w[h, l, c] A[p, h, l, c])`` per frame ``p`` and
        landmark ``l``, non-negative, with the channel weights ``w`` the
        gradients averaged over the frames (and, with
        ``pooling="frames_and_rows"``, over the axes ``h`` between frames and
        landmarks too). Reduce it to one score per landmark with
        :func:`aggregate_landmark_scores`.

    Examples
    --------
    >>> import numpy as np
    >>> from igselect.network import build_emo_network
    >>> net = build_emo_network(3, 5, n_filters=2, lstm_units=2, dense_units=2, seed=0)
    >>> grad_cam(net, np.random.default_rng(0).normal(size=(2, 3, 2, 5))).shape
    (2, 3, 5)
    """
    import keras

    from .._validation import check_landmark_array

    model = _resolve_model(model)
    if not isinstance(model, keras.Model):
        raise TypeError(
            "grad_cam needs a keras.Model (or a fitted estimator with one as model_) to read "
            f"a layer's output. Received: model of type {type(model).__name__}"
        )
    target = int(target)
    batch_size = 64 if batch_size is None else int(batch_size)
    arr = check_landmark_array(X)
    if len(model.input_shape) == 5:
        arr = arr[..., None]
    n, P, L = arr.shape[0], arr.shape[1], arr.shape[3]
    names = [lay.name for lay in model.layers]
    if not isinstance(layer, str) or layer not in names:
        raise ValueError(
            f"layer must name a layer of the model, one of {names}. Received: layer={layer!r}"
        )
    n_out = model.outputs[0].shape
    if len(n_out) != 2 or target >= n_out[1]:
        raise ValueError(
            f"target must index a column of the model output of shape {tuple(n_out)}. "
            f"Received: target={target!r}"
        )
    shape = tuple(model.get_layer(layer).output.shape)
    frame, land = _layer_axes(layer, shape, P, L)
    fn = _compiled(model, layer, target, frame, land, len(shape), pooling)
    size = min(batch_size, n)
    out = np.empty((n, P, L), np.float32)
    for start in range(0, n, size):
        stop = min(start + size, n)
        maps = fn(_padded(arr[start:stop], size)).numpy()[: stop - start]
        out[start:stop] = maps if maps.ndim == 3 else maps[:, None, :]
    return out
