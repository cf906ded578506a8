"""The batched gradient core shared by every gradient attribution method.

Every gradient method (:func:`integrated_gradients`, :func:`gradient_shap`,
:func:`saliency`, :func:`input_x_gradient`) validates its inputs here and asks
one :class:`_Runner` per (gradient engine, target column) for compiled calls:

- ``forward(x)``: model outputs;
- ``grad(x)``: ``dF/dx`` of the target column at a batch of points;
- ``step(x, b, alpha, weight, segment)``: ``sum w * dF(b + alpha (x - b))/dx``
  per segment (one segment per sample) of a batch of interpolated inputs;
- ``path(x, b, alphas, weights)``: the fast engine's whole-path mode.

The engine (:mod:`._engines`) is the fast EMO engine for
:func:`~igselect.network.build_emo_network` models and a GradientTape through
the model otherwise. Every batch has the same shape: the last one is padded
(with zero weights), so one trace serves a whole run and TensorFlow never
retraces on a ragged last batch. Memory is bounded by ``batch_size``: batches
of points and quadrature nodes are streamed (:func:`._quadrature.quadrature_chunks`),
nothing of the size of ``n_steps`` or ``n_samples x n_steps`` is materialised.
"""

from __future__ import annotations

import numpy as np

from .._validation import IntInterval, check_landmark_array
from ._engines import (
    ACTIVATION_BUDGET,
    default_batch_size,
    layer_output_elements,
    resolve_engine,
)
from ._quadrature import _nodes_at, quadrature_chunks

__all__: list[str] = []

#: In the whole-path mode a call takes at least this many quadrature nodes of a path
#: (fewer only if the path has fewer): memory per call is bounded by
#: ``max(batch_size, PATH_MIN_NODES)`` interpolated inputs.
PATH_MIN_NODES = 1024


# -- validation --------------------------------------------------------------------------------
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


def _resolve_model(model):
    """A keras.Model or callable on tf tensors (a fitted estimator's ``model_``)."""
    import keras

    if not isinstance(model, keras.Model) and hasattr(model, "model_"):
        model = model.model_  # a fitted EmoClassifier-like estimator
    if not callable(model):
        raise TypeError(
            "model must be a keras.Model, a callable on tf tensors or a fitted estimator with "
            f"a model_ attribute. Received: model of type {type(model).__name__}"
        )
    return model


def _check_X(model, X) -> tuple[np.ndarray, tuple[int, ...]]:
    """Return ``(X_feed, out_shape)``: float32 inputs in the model's layout, X's shape."""
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
    if isinstance(model, keras.Model):
        expected = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
        if expected is not None and (
            len(expected) != arr.ndim - 1
            or any(e is not None and e != a for e, a in zip(expected, arr.shape[1:], strict=True))
        ):
            raise ValueError(
                f"X does not match the model's input shape {(None, *expected)}. "
                f"Received: X.shape={out_shape}"
            )
    return np.ascontiguousarray(arr), out_shape


def _check_baselines(
    baselines, X_feed: np.ndarray, out_shape: tuple[int, ...], *, per_sample: bool = True
) -> np.ndarray:
    """Baselines as ``(rows, *sample)`` float32; ``rows`` is 1 or n (or any with ``not
    per_sample``: a pool of baselines, as for GradientSHAP)."""
    n, sample = X_feed.shape[0], X_feed.shape[1:]
    try:
        base = np.asarray(baselines, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"baselines must be a numeric array. Received: baselines of type {type(baselines)}"
        ) from exc
    cores = [sample]
    if _is_landmark_shape(out_shape):  # with or without the channel axis
        core = tuple(out_shape[1:4])
        cores = [sample, core, (*core, 1)]
    for core in dict.fromkeys(cores):
        if base.shape == core:
            rows = 1
            break
        if base.ndim == len(core) + 1 and base.shape[1:] == core and base.shape[0] >= 1:
            rows = base.shape[0]
            if per_sample and rows not in (1, n):
                continue
            break
    else:
        what = (
            f"the shape of one sample {sample}, (1, *{sample}) or the shape of X {(n, *sample)}"
            if per_sample
            else f"the shape of one sample {sample} or (n_baselines, *{sample})"
        )
        raise ValueError(f"baselines must have {what}. Received: baselines.shape={base.shape}")
    base = base.reshape((rows, *sample))
    _check_finite(base, "baselines")
    return np.ascontiguousarray(base)


def _check_inputs(model, X, baselines):
    """Return ``(X_feed, B_feed, out_shape)``; ``B_feed`` has 1 or n rows."""
    X_feed, out_shape = _check_X(model, X)
    return X_feed, _check_baselines(baselines, X_feed, out_shape), out_shape


#: Constraints of the parameters every attribution function shares; each public function
#: declares them with ``@validate_params({**GRADIENT_CONSTRAINTS, ...})``. Whether
#: ``target`` indexes a column of the model's output is checked in :func:`prepare`.
GRADIENT_CONSTRAINTS = {
    "target": [IntInterval(0)],
    "batch_size": [IntInterval(1), None],
}


# -- compiled calls ------------------------------------------------------------------------------
class _Runner:
    """Compiled forward, gradient and weighted-gradient steps for one engine and target.

    ``step`` and ``grad`` have an XLA-compiled twin (``jit=True`` in :meth:`call`)
    used for the tape engine when a run is large enough to pay for the compilation
    (:data:`JIT_MIN_WORK`); if XLA cannot compile the model, the plain graph is used.
    """

    def __init__(self, engine, target: int):
        import tensorflow as tf

        # the fast engine's forward is shared by every engine of its configuration
        self.forward = getattr(engine, "forward_fn", None) or tf.function(
            engine.forward, reduce_retracing=True
        )
        self.xla = getattr(engine, "xla_ok", False)  # the tape engine only
        self.n_outputs = {}  # input shape -> output shape (checked once)

        def _expand(t, like):
            return tf.reshape(
                t, tf.concat([tf.shape(t), tf.ones([tf.rank(like) - 1], tf.int32)], 0)
            )

        def step(xs, bs, alpha, weight):
            # S samples x c nodes: the interpolated inputs are broadcast, not gathered,
            # and the weighted sum over the nodes is one contraction
            S, c = tf.shape(xs)[0], tf.shape(alpha)[0]
            ones = tf.ones([tf.rank(xs) - 1], tf.int32)
            a = tf.reshape(alpha, tf.concat([[1, c], ones], 0))
            inputs = tf.expand_dims(bs, 1) + a * tf.expand_dims(xs - bs, 1)
            flat = tf.reshape(inputs, tf.concat([[S * c], tf.shape(xs)[1:]], 0))
            grad, _ = engine.gradient(flat, target)
            summed = tf.einsum("k,skd->sd", weight, tf.reshape(grad, [S, c, -1]))
            return tf.reshape(summed, tf.shape(xs))

        def grad(x):
            return engine.gradient(x, target)[0]

        def shap(xs, pool, seg, pick, alpha, noise, weight):
            # GradientSHAP draws: sum_j w_j (x - b_j) * dF(b_j + alpha_j (x + eps_j - b_j))/dx
            x, b = tf.gather(xs, seg), tf.gather(pool, pick)
            inputs = b + _expand(alpha, x) * (x + noise - b)
            grad, _ = engine.gradient(inputs, target)
            contrib = grad * (x - b) * _expand(weight, x)
            return tf.math.unsorted_segment_sum(contrib, seg, tf.shape(xs)[0])

        self._fns = {
            (name, jit): tf.function(fn, reduce_retracing=True, jit_compile=jit)
            for name, fn in (("step", step), ("grad", grad), ("shap", shap))
            for jit in (False, True)
        }
        self.step, self.grad = self._fns["step", False], self._fns["grad", False]
        # whole-path mode: NumPy in and out, its dense stages compiled by the engine
        self.path = None
        if hasattr(engine, "path_integral"):
            self.path = lambda x, b, a, w: engine.path_integral(x, b, a, w, target)[0]

    def call(self, name: str, jit: bool, *args):
        """Run ``step`` or ``grad``, XLA-compiled if ``jit`` and XLA handles the model."""
        if jit and self.xla:
            try:
                return self._fns[name, True](*args)
            except Exception as exc:  # noqa: BLE001 - any XLA failure: fall back, once
                import tensorflow as tf

                if not isinstance(exc, (tf.errors.OpError, NotImplementedError, TypeError)):
                    raise
                self.xla = False
        return self._fns[name, False](*args)


#: The tape engine's gradient calls are compiled by XLA when a run's work (inputs x
#: activation elements per input) is at least JIT_MIN_WORK, so that the compilation
#: pays off, and the model's activations are at most JIT_MAX_ELEMENTS per input: XLA
#: fuses the many small element-wise ops of small networks (GRU, MLP: 1.2-1.4x less
#: CPU time measured), while large conv/LSTM networks are bound by their matmuls and
#: compile for long (the paper-sized EMO network: 14 s to compile, no gain).
JIT_MIN_WORK = 2**22
JIT_MAX_ELEMENTS = 2**18


def _activation_elements(model, sample_shape) -> int:
    """Summed output sizes of a Keras model's layers (the input size for callables)."""
    import keras

    elements = int(np.prod(sample_shape))
    if isinstance(model, keras.Model):
        elements += layer_output_elements(model, skip_dropout=False)
    return elements


def use_jit(runner, model, sample_shape, n_inputs: int) -> bool:
    """Whether a run over ``n_inputs`` gradient evaluations should use XLA."""
    if not runner.xla:
        return False
    elements = _activation_elements(model, sample_shape)
    return elements <= JIT_MAX_ELEMENTS and n_inputs * elements >= JIT_MIN_WORK


def _runner_for(eng, target: int) -> _Runner:
    runners = eng.__dict__.setdefault("_runners", {})  # reuse traces across calls
    runner = runners.get(target)
    if runner is None:
        runner = runners[target] = _Runner(eng, target)
    return runner


def prepare(model, X_feed, target, batch_size, *, probe=None, engine="auto", dtype="float32"):
    """Resolve the engine and runner; return ``(runner, eng, name, batch_size, user_batch)``.

    ``target`` and ``batch_size`` are validated by the public functions
    (:data:`GRADIENT_CONSTRAINTS`); ``batch_size=None`` becomes the engine's default
    (interpolated inputs per gradient call). The target column is checked against the
    model output.
    """
    target = int(target)
    probe = X_feed[:2] if probe is None else probe
    eng, name = resolve_engine(model, engine=engine, dtype=dtype, probe=probe)
    checked = None if batch_size is None else int(batch_size)
    user_batch = checked is not None
    if checked is None:
        checked = default_batch_size(model, eng, name, X_feed.shape[1:])
    runner = _runner_for(eng, target)
    key = tuple(probe.shape[1:])
    if key not in runner.n_outputs:
        runner.n_outputs[key] = tuple(runner.forward(probe[:1]).shape)
    n_out = runner.n_outputs[key]
    if len(n_out) != 2 or target >= n_out[1]:
        raise ValueError(
            f"target must index a column of the model output of shape {tuple(n_out)}. "
            f"Received: target={target!r}"
        )
    return runner, eng, name, checked, user_batch


def _progress(iterable, verbose, desc, unit="batch", total=None):
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit=unit, leave=False, total=total)


def _padded(arr: np.ndarray, size: int) -> np.ndarray:
    """``arr`` with its first axis padded to ``size`` by repeating its last row."""
    if arr.shape[0] == size:
        return arr
    pad = np.repeat(arr[-1:], size - arr.shape[0], axis=0)
    return np.concatenate([arr, pad])


# -- the core computations ---------------------------------------------------------------------
def gradients_at(
    runner, points: np.ndarray, batch_size: int, verbose=0, desc="gradients", *, jit=False
):
    """``dF/dx`` at every row of ``points`` (float32), in fixed-shape batches."""
    n = points.shape[0]
    size = min(batch_size, n)
    out = np.empty(points.shape, np.float32)
    for start in _progress(range(0, n, size), verbose, desc):
        stop = min(start + size, n)
        grads = runner.call("grad", jit, _padded(points[start:stop], size))
        out[start:stop] = grads.numpy()[: stop - start]
    return out


def draw_gradient_sum(
    runner, X, pool, picks, alphas, n_draws: int, batch_size: int, noise=None, *, jit=False
) -> np.ndarray:
    """GradientSHAP sums per sample (float64): draws ``j`` of sample ``i`` are the items
    ``i * n_draws + j``, with baseline ``pool[picks[item]]`` and node ``alphas[item]``.

    ``noise(rows)`` returns the noise of the next ``rows`` items (or None). The
    samples a chunk spans and the pool cross to TensorFlow once per chunk and once
    per call; every chunk has the same shapes (the last padded with zero weights).
    """
    import tensorflow as tf

    n = X.shape[0]
    items = n * n_draws
    size = min(batch_size, items)
    S = min(n, (size - 1) // n_draws + 2)
    pool_t = tf.constant(pool)
    total = np.zeros(X.shape, dtype=np.float64)
    zero = np.zeros((), np.float32)
    for t0 in range(0, items, size):
        t1 = min(t0 + size, items)
        sample = np.arange(t0, t1) // n_draws
        first, last = int(sample[0]), int(sample[-1])
        eps = zero if noise is None else _padded(noise(t1 - t0), size)
        part = runner.call(
            "shap",
            jit,
            _padded(X[first : last + 1], S),
            pool_t,
            _padded((sample - first).astype(np.int32), size),
            _padded(picks[t0:t1].astype(np.int32), size),
            _padded(alphas[t0:t1].astype(np.float32), size),
            eps,
            np.concatenate([np.full(t1 - t0, 1.0 / n_draws, np.float32),
                            np.zeros(size - (t1 - t0), np.float32)]),
        ).numpy()  # fmt: skip
        total[first : last + 1] += part[: last - first + 1]
    return total


def _path_nodes_per_call(eng, m: int, batch_size: int, user_batch: bool) -> tuple[int, int]:
    """``(samples, nodes)`` per call of the whole-path engine."""
    floor = getattr(eng, "path_min_nodes", PATH_MIN_NODES)
    if user_batch:
        nodes = min(m, max(batch_size, floor))
        return max(1, batch_size // nodes), nodes
    if hasattr(eng, "path_bytes_per_sample"):
        per_sample = eng.path_bytes_per_sample
    else:
        from ._emo_path import path_bytes_per_sample

        def per_sample(k):
            return path_bytes_per_sample(eng, k)

    nodes = m
    while nodes > floor and per_sample(nodes) > ACTIVATION_BUDGET:
        nodes = max(floor, nodes // 2)
    return eng.path_samples_per_call(nodes, ACTIVATION_BUDGET), nodes


def _path_integral(
    runner, X, B, method, n_steps, batch_size, verbose, per_path: bool | None = None, *,
    nodes_per_call: int | None = None, jit: bool = False,
) -> np.ndarray:  # fmt: skip
    """Return ``sum_k w_k grad F(b + alpha_k (x - b))`` for every sample (float64).

    With ``per_path`` (default: whenever the engine has a whole-path mode)
    ``batch_size`` counts samples per call and ``nodes_per_call`` the quadrature
    nodes of one call (default: all); otherwise ``batch_size`` counts
    interpolated inputs, streamed over (sample, step) pairs. The quadrature nodes
    are streamed: memory does not grow with ``n_steps``.
    """
    n = X.shape[0]
    if per_path is None:
        per_path = runner.path is not None
    if per_path:
        chunk = n_steps if nodes_per_call is None else int(nodes_per_call)
        total = np.zeros(X.shape, dtype=np.float64)
        n_chunks = -(-n_steps // chunk)
        calls = ((s, w, a) for (w, a) in quadrature_chunks(method, n_steps, chunk)
                 for s in range(0, n, batch_size))  # fmt: skip
        total_calls = n_chunks * len(range(0, n, batch_size))
        for start, w, a in _progress(calls, verbose, f"IG ({n_steps} steps)", "call", total_calls):
            order = np.argsort(a, kind="stable")  # the path engine needs increasing nodes
            a32, w32 = a[order].astype(np.float32), w[order].astype(np.float32)
            stop = min(start + batch_size, n)
            b = B[start:stop] if B.shape[0] > 1 else np.repeat(B, stop - start, axis=0)
            total[start:stop] += runner.path(X[start:stop], b, a32, w32)
        return total

    return _stream_steps(runner, X, B, method, n_steps, batch_size, verbose, jit)


def _stream_steps(runner, X, B, method, m, batch_size, verbose, jit=False) -> np.ndarray:
    """IG sums streamed over (sample, node) pairs, at most ``batch_size`` pairs a call.

    A call takes ``S = batch_size // m`` whole paths, or, when a path has more than
    ``batch_size`` nodes, ``c = batch_size`` nodes of one path. Every call has the
    same shapes (the last one padded: repeated samples, or nodes of weight 0), so one
    trace serves the whole run.
    """
    n = X.shape[0]
    per_sample_b = B.shape[0] > 1
    total = np.zeros(X.shape, dtype=np.float64)
    if m <= batch_size:  # whole paths, S of them a call
        S = min(n, batch_size // m)
        w, a = (v.astype(np.float32) for v in _nodes_at(method, m, np.arange(m)))
        for start in _progress(range(0, n, S), verbose, f"IG ({m} steps)"):
            stop = min(start + S, n)
            xs = _padded(X[start:stop], S)
            bs = _padded(B[start:stop], S) if per_sample_b else B
            part = runner.call("step", jit, xs, bs, a, w).numpy()
            total[start:stop] += part[: stop - start]
        return total
    c = batch_size  # long paths: c nodes of one path a call
    calls = ((i, k) for i in range(n) for k in range(0, m, c))  # lazily: n * m / c calls
    total_calls = n * -(-m // c)
    for i, k0 in _progress(calls, verbose, f"IG ({m} steps)", total=total_calls):
        k1 = min(k0 + c, m)
        w, a = _nodes_at(method, m, np.arange(k0, k1))
        w = np.concatenate([w, np.zeros(c - (k1 - k0))]).astype(np.float32)
        a = _padded(a.astype(np.float32), c)
        b = B[i : i + 1] if per_sample_b else B
        total[i] += runner.call("step", jit, X[i : i + 1], b, a, w).numpy()[0]
    return total


def outputs(runner, X, batch_size, target) -> np.ndarray:
    """The target column of the model output for every row of ``X`` (float64)."""
    out = [runner.forward(X[i : i + batch_size]).numpy() for i in range(0, len(X), batch_size)]
    return np.concatenate(out)[:, target].astype(np.float64)
