"""Integrated Gradients (Sundararajan et al., 2017) for Keras models and TF callables.

:func:`integrated_gradients` validates the inputs and picks a gradient engine
(:mod:`._engines`). For :func:`~igselect.network.build_emo_network` models the
fast engine computes whole paths at once (:mod:`._emo_path`). Otherwise (and
with ``engine="step"``) it streams every (sample, quadrature node) pair through one
compiled ``tf.function`` in chunks of ``batch_size`` interpolated inputs: each
chunk builds ``b + alpha * (x - b)`` inside TensorFlow, takes the gradient of the
target column, weights it by the quadrature weight and segment-sums it per
sample; the per-sample sums accumulate in float64 on the host.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import Interval, IntInterval, Real, StrOptions, validate_params
from ._gradients import (  # noqa: F401  (_Runner: the core, re-exported for tests)
    GRADIENT_CONSTRAINTS,
    _check_inputs,
    _path_integral,
    _path_nodes_per_call,
    _resolve_model,
    _Runner,
    outputs,
    prepare,
    use_jit,
)
from ._quadrature import _QUADRATURE_CONSTRAINTS, _check_method_steps

__all__ = ["integrated_gradients"]

_AUTO_START, _AUTO_MAX = 16, 512


@validate_params(
    {
        **GRADIENT_CONSTRAINTS,
        **_QUADRATURE_CONSTRAINTS,
        "n_steps": [IntInterval(1), StrOptions({"auto"})],
        "rtol": [Interval(Real, 0, None, closed="neither")],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def integrated_gradients(
    model,
    X,
    baselines,
    *,
    target: int = 1,
    n_steps: int | str = 50,
    method: str = "riemann_right",
    batch_size: int | None = None,
    return_deltas: bool = False,
    return_n_steps: bool = False,
    dtype: str = "float32",
    engine: str = "auto",
    rtol: float = 0.01,
    verbose: int = 0,
):
    """Integrated Gradients of one output column of a model, per input feature.

    For every sample ``x`` and its baseline ``b``,
    ``IG(x) = (x - b) * sum_k w_k dF(b + alpha_k (x - b)) / dx`` where
    ``F = model(.)[:, target]`` and ``(w_k, alpha_k)`` is the quadrature rule
    ``method`` with ``n_steps`` nodes (see :func:`quadrature`). The default
    ``"riemann_right"`` rule is eq. (2) of Di Luzio, Rosato & Panella (2024).

    For :func:`~igselect.network.build_emo_network` models the fast engine
    evaluates all ``n_steps`` nodes of a path at once with an exact
    reformulation: along the straight path every conv pre-activation is linear
    in ``alpha`` and its ReLU switches at most once, so the LSTM input
    projections of all nodes need two dense matrix rows per frame plus a sparse
    update for the features that switch, and the backward pass one dense row
    plus a sparse correction (see :mod:`igselect.attribution._emo_path`). The
    result equals the per-step loop up to float32 round-off (only a feature
    whose pre-activation sits within round-off of the ReLU kink at a node can be
    gated differently). Other models stream all (sample, step) pairs through
    compiled TensorFlow calls of ``batch_size`` interpolated inputs each. Results
    do not depend on ``batch_size`` beyond float32 round-off.

    Parameters
    ----------
    model : keras.Model, callable or fitted estimator
        Maps a float32 tensor ``(batch, *X.shape[1:])`` to ``(batch, n_outputs)``.
        An object with a ``model_`` attribute (a fitted
        :class:`~igselect.EmoClassifier`) is replaced by that Keras model.
    X : array-like of shape (n_samples, ...)
        Inputs; landmark arrays ``(n_samples, n_frames, 2, n_landmarks[, 1])``
        are validated with :func:`igselect._validation.check_landmark_array`.
    baselines : array-like
        One baseline for all samples (the shape of one sample, or with a
        leading axis of 1) or one per sample (the shape of ``X``).
    target : int, default=1
        Output column to attribute (1 = positive class of an EmoClassifier).
    n_steps : int or "auto", default=50
        Number of quadrature nodes ``m``. With ``"auto"``, ``m`` doubles from
        16 up to 512 until the median relative completeness residual
        ``|delta| / |F(x) - F(b)|`` is at most ``rtol`` (a warning is issued
        if 512 steps do not suffice).
    method : str, default="riemann_right"
        Quadrature rule; see :func:`quadrature`.
    batch_size : int, optional
        Bounds peak memory: no call holds more than ``batch_size`` interpolated
        inputs (the whole-path engine: ``max(batch_size, 1024)``), and the
        quadrature nodes are streamed, so memory does not grow with ``n_steps``.
        For the whole-path engine (the default for
        :func:`~igselect.network.build_emo_network` models) a call takes
        ``k = min(n_steps, max(batch_size, 1024))`` nodes of ``max(1, batch_size // k)``
        paths; by default as many samples as keep a call under about 512 MiB
        (``28 * P * 2LF + 64 * P * k * 4Q`` bytes per sample: 16 samples for the
        paper-sized network at 50 steps), ``k`` halved from ``n_steps`` (not below
        1024) until one path fits. For ``engine="step"`` it counts interpolated
        inputs per gradient call (59 for the paper-sized network in float32).
        Other Keras models default to ``512 MiB / (12 * summed layer output sizes)``
        inputs and other callables to ``512 MiB / (256 * input size)``, clipped to
        ``[1, 1024]``. Every call has the same shape (the last one is padded), so
        one trace serves a whole run.
    return_deltas : bool, default=False
        Also return the completeness residuals
        ``deltas[i] = sum(IG[i]) - (F(x_i) - F(b_i))``.
    return_n_steps : bool, default=False
        Also return the number of steps used (useful with ``n_steps="auto"``).
    dtype : {"float32", "bfloat16"}, default="float32"
        Precision of the fast engine's large dense matmuls (float32
        accumulation; the sparse parts of the whole-path engine stay float32).
        It agreed with float32 to about 4e-3 to 6e-3 (max abs difference / max
        abs attribution) in ``benchmarks/ig_throughput.py``.
    engine : {"auto", "fast", "path", "step", "tape"}, default="auto"
        ``"fast"`` (= ``"path"``) re-expresses a
        :func:`~igselect.network.build_emo_network` model in plain TF ops
        (BatchNorm folded into the LSTM input kernel, a hand-written backward
        pass) and computes whole paths with the exact piecewise-linear ReLU
        reformulation described above, its sparse parts in compiled Numba
        kernels. ``"step"`` uses the same re-expression but streams (sample,
        step) pairs, one large LSTM input projection per batch of interpolated
        inputs. ``"tape"`` runs a GradientTape through the model; ``"auto"``
        uses ``"fast"`` when the model is recognised (by its layer names and
        types) and its forward pass matches the Keras model to 1e-4. See
        ``benchmarks/ig_throughput.py`` and the user guide for measured speed
        against the naive per-sample GradientTape loop. All engines agree with
        it to float32 round-off (about 5e-7 of the largest attribution there).
    rtol : float, default=0.01
        Tolerance of ``n_steps="auto"``.
    verbose : int, default=0
        If > 0, show a progress bar over batches.

    Returns
    -------
    attributions : ndarray of the shape of X, float32
    deltas : ndarray of shape (n_samples,), float64
        Only if ``return_deltas``.
    n_steps : int
        Only if ``return_n_steps``.

    Examples
    --------
    >>> import numpy as np
    >>> import tensorflow as tf
    >>> w = tf.constant([[1.0], [2.0]])
    >>> f = lambda x: tf.matmul(x**2, w)  # F(x) = x0**2 + 2 x1**2
    >>> ig, delta = integrated_gradients(
    ...     f, np.array([[1.0, 1.0]]), np.zeros(2), target=0, n_steps=8,
    ...     method="gausslegendre", return_deltas=True)
    >>> ig.round(5), bool(abs(delta).max() < 1e-5)
    (array([[1., 2.]], dtype=float32), True)
    """
    model = _resolve_model(model)
    X_feed, B_feed, out_shape = _check_inputs(model, X, baselines)
    if isinstance(n_steps, str):  # "auto"
        schedule = [_AUTO_START * 2**i for i in range(6)]  # 16 .. 512
    else:
        schedule = [int(n_steps)]
    for m in schedule:
        _check_method_steps(method, m)  # the trapezoid's minimum, Gauss-Legendre's cap
    probe = np.concatenate([X_feed[:2], B_feed[:1]])
    runner, eng, _, batch_size, user_batch = prepare(
        model, X_feed, target, batch_size, probe=probe, engine=engine, dtype=dtype
    )
    target = int(target)
    need_f = return_deltas or len(schedule) > 1  # the outputs only serve the deltas
    f_x = outputs(runner, X_feed, batch_size, target) if need_f else 0.0
    f_b = outputs(runner, B_feed, batch_size, target) if need_f else 0.0
    diff = (X_feed - B_feed).astype(np.float64)
    axes = tuple(range(1, X_feed.ndim))
    for m in schedule:
        per_call, nodes = batch_size, None
        # the whole-path mode unless the per-step mode is asked for
        per_path = runner.path is not None and engine != "step"
        if per_path:  # whole-path engine: batch_size counts samples x nodes
            per_call, nodes = _path_nodes_per_call(eng, m, batch_size, user_batch)
        jit = not per_path and use_jit(runner, model, X_feed.shape[1:], X_feed.shape[0] * m)
        total = _path_integral(
            runner, X_feed, B_feed, method, m, per_call, verbose, per_path,
            nodes_per_call=nodes, jit=jit,
        )  # fmt: skip
        attributions = diff * total
        if not need_f:
            break
        deltas = attributions.sum(axis=axes) - (f_x - f_b)
        if len(schedule) == 1:
            break
        residual = float(np.median(np.abs(deltas) / (np.abs(f_x - f_b) + 1e-12)))
        if verbose:
            print(f"integrated_gradients: n_steps={m}, median relative residual={residual:.3g}")
        if residual <= rtol:
            break
    else:
        warnings.warn(
            f"n_steps='auto' stopped at {m} steps with a median relative completeness residual "
            f"of {residual:.3g} > rtol={rtol}.",
            RuntimeWarning,
            stacklevel=2,
        )
    result = [attributions.astype(np.float32).reshape(out_shape)]
    if return_deltas:
        result.append(deltas)
    if return_n_steps:
        result.append(m)
    return result[0] if len(result) == 1 else tuple(result)
