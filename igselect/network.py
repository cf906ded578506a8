"""The Conv2D + LSTM binary network of Di Luzio, Rosato & Panella (2024).

:func:`build_emo_network` returns a functional :class:`keras.Model` mapping raw
landmark sequences ``(batch, n_frames, 2, n_landmarks)`` to softmax
probabilities ``(batch, 2)``; column 1 is the positive class.

Layer names are part of the API (the fast IG engine in
:mod:`igselect.attribution` reads weights by name):

``standardize``  per-coordinate ``(x - mean) / std`` (only when ``mean`` is given)
``conv``         per-frame Conv2D(F) with ReLU (``TimeDistributed``)
``bn``           BatchNormalization over the F feature maps
``flatten``      Reshape to ``(n_frames, 2 * n_landmarks * F)``
``lstm``         LSTM(Q)
``dropout``      Dropout
``fc1``          Dense(R) with ReLU
``output``       Dense(2) with softmax
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from igselect._validation import Interval, IntInterval, Real, validate_params

__all__ = ["build_emo_network", "DEFAULT_KERNEL_SIZE", "LAYER_NAMES"]

#: Default conv kernel: (2, 1), i.e. the x and y of *one* landmark.
#:
#: The paper does not state its kernel size. MediaPipe's landmark indices are
#: not spatially ordered (index 61 and index 62 need not be neighbours on the
#: face), so a kernel wider than 1 along the landmark axis would mix unrelated
#: points, and after selection the "neighbours" would change again. A (2, 1)
#: kernel lets each filter combine a landmark's two coordinates and nothing
#: else, which keeps every conv feature, and hence every attribution, tied to a
#: single landmark. ``padding="same"`` keeps the ``2 x L x F`` feature map the
#: paper's LSTM input size implies.
DEFAULT_KERNEL_SIZE = (2, 1)

LAYER_NAMES = ("standardize", "conv", "bn", "flatten", "lstm", "dropout", "fc1", "output")


def _as_kernel(kernel_size) -> tuple[int, int]:
    if isinstance(kernel_size, int | np.integer) and not isinstance(kernel_size, bool):
        kernel_size = (int(kernel_size), int(kernel_size))
    try:
        if isinstance(kernel_size, str):
            raise TypeError("a string is not a kernel size")
        k = tuple(int(v) for v in kernel_size)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"kernel_size must be an int or a pair of ints. Received: kernel_size={kernel_size!r}"
        ) from exc
    if len(k) != 2 or min(k) < 1:
        raise ValueError(
            f"kernel_size must be a pair of positive ints. Received: kernel_size={kernel_size!r}"
        )
    return k


@validate_params(
    {
        "n_frames": [IntInterval(1)],
        "n_landmarks": [IntInterval(1)],
        "n_filters": [IntInterval(1)],
        "lstm_units": [IntInterval(1)],
        "dense_units": [IntInterval(1)],
        "kernel_size": [IntInterval(1), tuple, list],  # the pair is checked by _as_kernel
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "randomized": ["boolean"],
        "seed": [Integral, None],
        "mean": ["array-like", None],
        "std": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def build_emo_network(
    n_frames: int,
    n_landmarks: int,
    *,
    n_filters: int = 32,
    lstm_units: int = 32,
    dense_units: int = 32,
    kernel_size=DEFAULT_KERNEL_SIZE,
    dropout: float = 0.2,
    randomized: bool = False,
    seed: int | None = None,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
):
    """Build the per-emotion Conv2D-BN-Flatten-LSTM-Dropout-Dense-Dense network.

    Parameters
    ----------
    n_frames, n_landmarks : int
        P and L of the input ``(batch, P, 2, L)``.
    n_filters : int, default=32
        F, the number of conv filters.
    lstm_units : int, default=32
        Q, the LSTM width.
    dense_units : int, default=32
        R, the width of the ReLU layer FC1.
    kernel_size : int or (int, int), default=(2, 1)
        Conv kernel over the ``(2, L)`` frame image; see
        :data:`DEFAULT_KERNEL_SIZE` for why (2, 1).
    dropout : float, default=0.2
        Dropout rate after the LSTM.
    randomized : bool, default=False
        If True (R-EMO), the conv filters keep their random initial values
        (Glorot-uniform weights, zero bias, drawn from ``seed``) and the layer
        is frozen (``trainable=False``). If False (T-EMO), they are trained.
    seed : int or None, default=None
        Seed of every initializer and of the dropout mask.
    mean, std : array of shape (2, n_landmarks), optional
        Per-coordinate statistics. When given, a ``standardize`` layer computes
        ``(x - mean) / std`` inside the model, so the model takes raw
        coordinates and gradients are with respect to raw landmarks.

    Returns
    -------
    model : keras.Model
        Uncompiled functional model ``(batch, P, 2, L) -> (batch, 2)`` softmax.

    Examples
    --------
    >>> model = build_emo_network(4, 10, n_filters=3, lstm_units=5, dense_units=4, seed=0)
    >>> model.output_shape
    (None, 2)
    """
    import keras
    from keras import layers

    k = _as_kernel(kernel_size)

    counter = iter(range(1, 100))

    def init(kind):
        # One distinct, deterministic seed per initializer.
        cls = {"glorot": keras.initializers.GlorotUniform, "orth": keras.initializers.Orthogonal}[
            kind
        ]
        return cls(seed=None if seed is None else int(seed) * 101 + next(counter))

    inputs = keras.Input(shape=(n_frames, 2, n_landmarks), name="landmarks", dtype="float32")
    x = inputs
    if mean is not None:
        mean = np.asarray(mean, dtype=np.float32).reshape(2, n_landmarks)
        std = (
            np.ones_like(mean)
            if std is None
            else np.asarray(std, np.float32).reshape(2, n_landmarks)
        )
        std = np.where(std > 1e-12, std, 1.0).astype(np.float32)
        x = layers.Normalization(axis=(-2, -1), mean=mean, variance=std**2, name="standardize")(x)
    x = layers.Reshape((n_frames, 2, n_landmarks, 1), name="add_channel")(x)
    conv = layers.Conv2D(
        int(n_filters),
        k,
        padding="same",
        activation="relu",
        kernel_initializer=init("glorot"),
        bias_initializer="zeros",
    )
    x = layers.TimeDistributed(conv, name="conv")(x)
    x = layers.BatchNormalization(axis=-1, name="bn")(x)
    x = layers.Reshape((n_frames, 2 * n_landmarks * int(n_filters)), name="flatten")(x)
    x = layers.LSTM(
        int(lstm_units),
        kernel_initializer=init("glorot"),
        recurrent_initializer=init("orth"),
        name="lstm",
    )(x)
    x = layers.Dropout(float(dropout), seed=seed, name="dropout")(x)
    x = layers.Dense(
        int(dense_units), activation="relu", kernel_initializer=init("glorot"), name="fc1"
    )(x)
    outputs = layers.Dense(
        2, activation="softmax", kernel_initializer=init("glorot"), name="output"
    )(x)
    model = keras.Model(inputs, outputs, name="r_emo" if randomized else "t_emo")
    if randomized:
        # Frozen random filters: the R-EMO network.
        model.get_layer("conv").trainable = False
    return model
