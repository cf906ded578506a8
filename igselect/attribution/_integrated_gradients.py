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

import numbers
import warnings

import numpy as np

from .._validation import check_landmark_array
from ._engines import ACTIVATION_BUDGET, default_batch_size, resolve_engine
from ._quadrature import _check_n_steps, quadrature

__all__ = ["integrated_gradients"]

_AUTO_START, _AUTO_MAX = 16, 512


def _check_finite(arr: np.ndarray, name: str) -> None:
    finite = np.isfinite(arr)
    if not finite.all():
        bad = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"{name} contains {int((~finite).sum())} NaN or infinite value(s); the first is at "
            f"index {bad}. Received: {name}[{bad}]={arr[bad]}"
        )


def _is_landmark_shape(shape: tuple[int, ...]) -> bool:
    return (len(shape) == 4 and shape[2] == 2) or (
        len(shape) == 5 and shape[2] == 2 and shape[4] == 1
    )


def _check_inputs(model, X, baselines):
    """Return ``(X_feed, B_feed, out_shape)``; ``B_feed`` has 1 or n rows."""
    import keras

    try:
        arr = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be a numeric array. Received: X of type {type(X)}") from exc
    out_shape = arr.shape
    if _is_landmark_shape(arr.shape):
        arr = check_landmark_array(arr)
        rank = len(model.input_shape) if isinstance(model, keras.Model) else 4
        if rank == 5:  # the model wants the channel axis
            arr = arr[..., None]
    elif arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(
            f"X must have shape (n_samples, ...) with n_samples >= 1. Received: X.shape={arr.shape}"
        )
    else:
        _check_finite(arr, "X")
    n, sample = arr.shape[0], arr.shape[1:]
    try:
        base = np.asarray(baselines, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"baselines must be a numeric array. Received: baselines of type {type(baselines)}"
        ) from exc
    shapes = {sample: 0, (1, *sample): 1, (n, *sample): n}
    if _is_landmark_shape(out_shape):  # with or without the channel axis
        core = out_shape[1:4]
        shapes.update({core: 0, (*core, 1): 0, (1, *core): 1, (1, *core, 1): 1})
        shapes.update({(n, *core): n, (n, *core, 1): n})
    if base.shape not in shapes:
        raise ValueError(
            f"baselines must have the shape of one sample {sample}, (1, *{sample}) or the shape "
            f"of X {(n, *sample)}. Received: baselines.shape={base.shape}"
        )
    rows = shapes[base.shape] or 1
    base = base.reshape((rows, *sample))
    _check_finite(base, "baselines")
    return arr, np.ascontiguousarray(base), out_shape


def _resolve_model(model):
    import keras

    if not isinstance(model, keras.Model) and hasattr(model, "model_"):
        model = model.model_  # a fitted EmoClassifier-like estimator
    if not callable(model):
        raise TypeError(
            "model must be a keras.Model, a callable on tf tensors or a fitted estimator with "
            f"a model_ attribute. Received: model of type {type(model).__name__}"
        )
    return model


class _Runner:
    """Compiled forward and weighted-gradient steps for one engine and target."""

    def __init__(self, engine, target: int):
        import tensorflow as tf

        # the fast engine's forward is shared by every engine of its configuration
        self.forward = getattr(engine, "forward_fn", None) or tf.function(
            engine.forward, reduce_retracing=True
        )

        @tf.function(reduce_retracing=True)
        def step(x, b, alpha, weight, segment, n_segments):
            shape = tf.concat([tf.shape(alpha), tf.ones([tf.rank(x) - 1], tf.int32)], 0)
            inputs = b + tf.reshape(alpha, shape) * (x - b)
            grad, _ = engine.gradient(inputs, target)
            grad = grad * tf.reshape(weight, shape)
            return tf.math.unsorted_segment_sum(grad, segment, n_segments)

        self.step = step
        # whole-path mode: NumPy in and out, its dense stages compiled by the engine
        self.path = None
        if hasattr(engine, "path_integral"):
            self.path = lambda x, b, a, w: engine.path_integral(x, b, a, w, target)[0]


def _path_integral(
    runner, X, B, method, n_steps, batch_size, verbose, per_path: bool | None = None
) -> np.ndarray:
    """Return ``sum_k w_k grad F(b + alpha_k (x - b))`` for every sample (float64).

    With ``per_path`` (default: whenever the engine has a whole-path mode)
    ``batch_size`` counts samples per call; otherwise it counts interpolated
    inputs, streamed over (sample, step) pairs.
    """
    weights, alphas = quadrature(method, n_steps)
    n = X.shape[0]
    total = np.zeros(X.shape, dtype=np.float64)
    if per_path is None:
        per_path = runner.path is not None
    items = n if per_path else n * n_steps
    starts = range(0, items, batch_size)
    if verbose:
        from tqdm.auto import tqdm

        unit = "batch of samples" if per_path else "batch"
        starts = tqdm(starts, desc=f"IG ({n_steps} steps)", unit=unit, leave=False)
    if per_path:
        order = np.argsort(alphas, kind="stable")  # the path engine needs increasing nodes
        a32, w32 = alphas[order].astype(np.float32), weights[order].astype(np.float32)
        for start in starts:
            stop = min(start + batch_size, n)
            b = B[start:stop] if B.shape[0] > 1 else np.repeat(B, stop - start, axis=0)
            total[start:stop] = runner.path(X[start:stop], b, a32, w32)
        return total
    for start in starts:
        idx = np.arange(start, min(start + batch_size, items))
        sample, k = idx // n_steps, idx % n_steps
        first = int(sample[0])
        part = runner.step(
            X[sample],
            B[sample if B.shape[0] > 1 else np.zeros_like(sample)],
            alphas[k].astype(np.float32),
            weights[k].astype(np.float32),
            (sample - first).astype(np.int32),
            np.int32(sample[-1] - first + 1),
        )
        total[first : int(sample[-1]) + 1] += part.numpy()
    return total


def _outputs(runner, X, batch_size, target) -> np.ndarray:
    out = [runner.forward(X[i : i + batch_size]).numpy() for i in range(0, len(X), batch_size)]
    return np.concatenate(out)[:, target].astype(np.float64)


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
        Bounds peak memory. For the whole-path engine (the default for
        :func:`~igselect.network.build_emo_network` models) a call takes
        ``max(1, batch_size // n_steps)`` samples; by default as many as keep a
        call under about 512 MiB (``28 * P * 2LF + 64 * P * n_steps * 4Q`` bytes
        per sample: 16 samples for the paper-sized network at 50 steps). For
        ``engine="step"`` it counts interpolated inputs per gradient call (59
        for the paper-sized network in float32). Other Keras models default to
        ``512 MiB / (12 * summed layer output sizes)`` inputs and other callables
        to ``512 MiB / (256 * input size)``, clipped to ``[1, 1024]``.
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
    if isinstance(n_steps, str):
        if n_steps != "auto":
            raise ValueError(f"n_steps must be an int or 'auto'. Received: n_steps={n_steps!r}")
        if not (isinstance(rtol, numbers.Real) and rtol > 0):
            raise ValueError(f"rtol must be a positive float. Received: rtol={rtol!r}")
        schedule = [_AUTO_START * 2**i for i in range(6)]  # 16 .. 512
    else:
        schedule = [_check_n_steps(n_steps, min_value=2 if method == "riemann_trapezoid" else 1)]
    quadrature(method, schedule[0])  # validates method
    if isinstance(target, bool) or not isinstance(target, numbers.Integral) or target < 0:
        raise ValueError(f"target must be a non-negative int. Received: target={target!r}")
    probe = np.concatenate([X_feed[:2], B_feed[:1]])
    eng, name = resolve_engine(model, engine=engine, dtype=dtype, probe=probe)
    user_batch = batch_size is not None
    if batch_size is None:
        batch_size = default_batch_size(model, eng, name, X_feed.shape[1:])
    elif (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or (batch_size < 1)
    ):
        raise ValueError(f"batch_size must be an int >= 1. Received: batch_size={batch_size!r}")
    batch_size = int(batch_size)

    runners = eng.__dict__.setdefault("_runners", {})  # reuse traces across calls
    runner = runners.get(int(target))
    if runner is None:
        runner = runners[int(target)] = _Runner(eng, int(target))
    n_out = runner.forward(probe[:1]).shape
    if len(n_out) != 2 or target >= n_out[1]:
        raise ValueError(
            f"target must index a column of the model output of shape {tuple(n_out)}. "
            f"Received: target={target!r}"
        )
    f_x = _outputs(runner, X_feed, batch_size, target)
    f_b = _outputs(runner, B_feed, batch_size, target)
    diff = (X_feed - B_feed).astype(np.float64)
    axes = tuple(range(1, X_feed.ndim))
    for m in schedule:
        per_call = batch_size
        # the whole-path mode unless the per-step mode is asked for
        per_path = runner.path is not None and engine != "step"
        if per_path:  # whole-path engine: batch_size counts samples
            per_call = (
                max(1, batch_size // m)
                if user_batch
                else eng.path_samples_per_call(m, ACTIVATION_BUDGET)
            )
        total = _path_integral(runner, X_feed, B_feed, method, m, per_call, verbose, per_path)
        attributions = diff * total
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
