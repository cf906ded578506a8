"""Gradients at the input: saliency ``|dF/dx|`` and input x gradient ``(x - b) * dF/dx``.

Both are one gradient evaluation per sample through the shared core
(:mod:`._gradients`): the fast EMO engine's hand-written backward pass for
:func:`~igselect.network.build_emo_network` models, a GradientTape otherwise.
"""

from __future__ import annotations

import numpy as np

from .._validation import validate_params
from ._gradients import (
    GRADIENT_CONSTRAINTS,
    _check_baselines,
    _check_X,
    _resolve_model,
    gradients_at,
    prepare,
    use_jit,
)

__all__ = ["input_x_gradient", "saliency"]


def _input_gradients(
    model, X, target, batch_size, baselines=None
) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``(x - b, dF/dx, X's shape)`` in the model's layout; ``b = 0`` without baselines."""
    model = _resolve_model(model)
    X_feed, out_shape = _check_X(model, X)
    B_feed = None if baselines is None else _check_baselines(baselines, X_feed, out_shape)
    runner, _, _, batch_size, _ = prepare(model, X_feed, target, batch_size)
    jit = use_jit(runner, model, X_feed.shape[1:], X_feed.shape[0])
    grads = gradients_at(runner, X_feed, batch_size, jit=jit)
    return (X_feed if B_feed is None else X_feed - B_feed), grads, out_shape


def _per_baseline_scores(model, X, bases, target, batch_size=None) -> np.ndarray:
    """Landmark scores of ``(x - b) * dF/dx`` for every ``b`` in ``bases``, ``(k, n, L)``.

    One gradient per input serves every baseline; each ``b`` broadcasts against
    ``X`` (one sequence, or one per input).
    """
    from ._aggregation import aggregate_landmark_scores

    X = np.asarray(X, np.float32)
    _, grads, _ = _input_gradients(model, X, target, batch_size)
    grads = grads.reshape(X.shape)
    return np.stack([aggregate_landmark_scores((X - b) * grads) for b in bases])


@validate_params(GRADIENT_CONSTRAINTS, prefer_skip_nested_validation=True)
def saliency(model, X, *, target: int = 1, batch_size: int | None = None) -> np.ndarray:
    """Saliency: the absolute gradient ``|dF/dx|`` of one output column at every input.

    Parameters
    ----------
    model : keras.Model, callable or fitted estimator
        Maps a float32 tensor ``(batch, *X.shape[1:])`` to ``(batch, n_outputs)``.
        An object with a ``model_`` attribute (a fitted
        :class:`~igselect.EmoClassifier`) is replaced by that Keras model.
    X : array-like of shape (n_samples, ...)
        Inputs; landmark arrays ``(n_samples, n_frames, 2, n_landmarks[, 1])``
        are validated (finite, coordinate axis of size 2).
    target : int, default=1
        Output column ``F = model(x)[:, target]``.
    batch_size : int, optional
        Inputs per gradient call (bounds peak memory); the default keeps the
        activations of one call under about 512 MiB. Results do not depend on it.

    Returns
    -------
    attributions : ndarray of the shape of X, float32
        ``|dF/dx|``.

    Examples
    --------
    >>> import numpy as np
    >>> import tensorflow as tf
    >>> f = lambda x: tf.stack([tf.reduce_sum(x**2, 1), -3.0 * x[:, 0]], axis=1)
    >>> saliency(f, np.array([[1.0, -2.0]]), target=1)
    array([[3., 0.]], dtype=float32)
    """
    _, grads, out_shape = _input_gradients(model, X, target, batch_size)
    return np.abs(grads).reshape(out_shape)


@validate_params(
    {**GRADIENT_CONSTRAINTS, "baselines": ["array-like", None]},
    prefer_skip_nested_validation=True,
)
def input_x_gradient(
    model, X, baselines=None, *, target: int = 1, batch_size: int | None = None
) -> np.ndarray:
    """Input x gradient: ``(x - b) * dF/dx`` of one output column at every input.

    For a linear model ``F(x) = w . x`` this is ``(x - b) * w``, each
    feature's contribution to ``F(x) - F(b)``; it is Integrated Gradients with
    a single quadrature node at ``x``. With ``baselines=None`` (``b = 0``) it
    is the textbook ``x * dF/dx`` (Shrikumar et al., 2016; captum's
    ``InputXGradient``), which assumes that ``x = 0`` means "absent". Landmark
    coordinates have no such zero (the origin is a corner of the crop), so
    :class:`~igselect.GlobalAttributionSelector` passes by default the mean
    training sequence (every landmark at its average position), a reference
    that tells nothing about any one sample.

    Parameters
    ----------
    model : keras.Model, callable or fitted estimator
        See :func:`saliency`.
    X : array-like of shape (n_samples, ...)
        Inputs.
    baselines : array-like, default=None
        The reference ``b``: the shape of one sample (shared), ``(1, ...)`` or
        the shape of X (one per input). ``None`` means zeros.
    target : int, default=1
        Output column.
    batch_size : int, optional
        Inputs per gradient call (bounds peak memory).

    Returns
    -------
    attributions : ndarray of the shape of X, float32

    Examples
    --------
    >>> import numpy as np
    >>> import tensorflow as tf
    >>> f = lambda x: tf.matmul(x, tf.constant([[2.0], [-1.0]]))
    >>> input_x_gradient(f, np.array([[3.0, 4.0]]), target=0)
    array([[ 6., -4.]], dtype=float32)
    >>> input_x_gradient(f, np.array([[3.0, 4.0]]), [1.0, 1.0], target=0)
    array([[ 4., -3.]], dtype=float32)
    """
    diff, grads, out_shape = _input_gradients(model, X, target, batch_size, baselines)
    return (diff * grads).astype(np.float32).reshape(out_shape)
