"""Gradient engines behind :func:`integrated_gradients`, and how one is chosen.

An engine exposes ``forward(x) -> (B, n_outputs)`` and
``gradient(x, target) -> (d out[:, target] / dx, out)``; both are traced inside
the caller's ``tf.function``.

- :class:`_TapeEngine` works for any Keras model or callable on tf tensors: a
  :class:`tf.GradientTape` through the model.
- :class:`~igselect.attribution._emo_engine._EmoEngine` re-expresses networks
  built by :func:`~igselect.network.build_emo_network` in plain TensorFlow ops
  (see that module); it is used automatically for such networks after its
  forward pass has been checked against the Keras model. It also exposes
  ``path_integral(x, b, alphas, weights, target)``, which
  :func:`integrated_gradients` uses to compute whole IG paths at once.
"""

from __future__ import annotations

import hashlib
import warnings
import weakref

import numpy as np

from ._emo_engine import _EmoEngine
from ._emo_recognise import recognise_emo_network

__all__: list[str] = []

#: Memory budget for one gradient call's activations (bytes): the default
#: ``batch_size`` is the number of interpolated inputs whose activations fit.
ACTIVATION_BUDGET = 512 * 2**20
_MAX_DEFAULT_BATCH = 1024
_ENGINES = ("auto", "fast", "path", "step", "tape")
_DTYPES = ("float32", "bfloat16")
# Keras model -> (weights fingerprint, dtype, engine); engines are rebuilt when weights change.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_TAPE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: TensorFlow never frees an XLA executable, and a tape engine's compiled functions
#: are its model's own (about 13 MB per tiny model, issue 13): only this many tape
#: engines per process may use XLA, so a loop that fits new models stays bounded.
_MAX_XLA_ENGINES = 4
_xla_grants = [0]


def _grant_xla() -> bool:
    """Whether one more tape engine may XLA-compile (at most :data:`_MAX_XLA_ENGINES`)."""
    if _xla_grants[0] >= _MAX_XLA_ENGINES:
        return False
    _xla_grants[0] += 1
    return True


class _TapeEngine:
    """Generic engine: ``tf.GradientTape`` through a Keras model or a callable."""

    def __init__(self, model, *, cached: bool = False):
        import keras

        # A cached engine is a value of _TAPE_CACHE, whose key is the model (held
        # weakly): holding the model strongly here kept every entry's key alive, so
        # no model that went through the tape engine was ever freed.
        self._model = weakref.ref(model) if cached else (lambda: model)
        self._is_keras = isinstance(model, keras.Model)
        # XLA-compile large runs (callables may hold any op), for the first few models
        self.xla_ok = self._is_keras and _grant_xla()

    @property
    def model(self):
        return self._model()

    def forward(self, x):
        out = self.model(x, training=False) if self._is_keras else self.model(x)
        return out

    def gradient(self, x, target: int):
        import tensorflow as tf

        # Only the input is watched: no gradient of the weights is ever formed (a tape
        # watching the variables makes TensorFlow accumulate the weight gradients inside
        # recurrent layers' while loops too).
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            out = self.forward(x)
            y = out[:, target]
        grad = tape.gradient(y, x)
        if grad is None:
            raise ValueError(
                f"The model's output column target={target} does not depend on its input; "
                "no gradient can be computed."
            )
        return grad, out


def _fingerprint(model) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    return digest.hexdigest()


def _verify(engine: _EmoEngine, model, probe: np.ndarray) -> float:
    """Largest absolute difference between the engine's and Keras' forward pass."""
    import tensorflow as tf

    ours = engine.forward_fn(tf.constant(probe)).numpy()
    theirs = np.asarray(model(probe, training=False))
    return float(np.max(np.abs(ours - theirs)))


def resolve_engine(model, *, engine: str, dtype: str, probe: np.ndarray):
    """Return ``(engine_object, name)`` for ``model``, ``name`` in {"fast", "tape"}.

    ``probe`` (a few raw inputs) is used once per model and weights to check that
    the fast engine reproduces the Keras forward pass (to 1e-4 absolute).
    """
    import keras

    if engine not in _ENGINES:
        raise ValueError(f"engine must be one of {list(_ENGINES)}. Received: engine={engine!r}")
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {list(_DTYPES)}. Received: dtype={dtype!r}")
    reason = recognise_emo_network(model)
    if engine in ("fast", "path", "step") and reason is not None:
        raise ValueError(f"engine={engine!r} needs a build_emo_network model, but {reason}.")
    if engine == "tape" or reason is not None:
        if dtype != "float32":
            raise ValueError(
                f"dtype={dtype!r} needs the fast engine (a build_emo_network model and "
                f"engine='auto' or 'fast'); the tape engine runs in float32. Received: "
                f"engine={engine!r}"
            )
        if not isinstance(model, keras.Model):
            return _TapeEngine(model), "tape"
        key = "tape" if engine == "tape" else "auto"
        engines = _TAPE_CACHE.get(model)
        if engines is None:
            engines = _TAPE_CACHE[model] = {}
        if key not in engines:
            eng = None
            if key == "auto":  # a linear first layer: whole paths (see _linear_prefix)
                from ._linear_prefix import prefix_engine

                eng = prefix_engine(model, probe)
            if eng is None:
                eng = engines.get("tape") or _TapeEngine(model, cached=True)
            engines[key] = eng
        eng = engines[key]
        return eng, "prefix" if hasattr(eng, "path_integral") else "tape"
    key = _fingerprint(model)
    cached = _CACHE.get(model)
    if cached is not None and cached[0] == key and dtype in cached[1]:
        return cached[1][dtype], "fast"
    fast = _EmoEngine(model, dtype)
    check = fast if dtype == "float32" else _EmoEngine(model, "float32")
    err = _verify(check, model, probe)
    if not err <= 1e-4:
        msg = f"The fast engine's forward pass differs from the Keras model by {err:.3g} (> 1e-4)"
        if engine in ("fast", "path", "step") or dtype != "float32":
            raise RuntimeError(msg + "; use engine='tape' and dtype='float32'.")
        warnings.warn(msg + "; falling back to engine='tape'.", RuntimeWarning, stacklevel=3)
        return _TapeEngine(model), "tape"
    engines = cached[1] if cached is not None and cached[0] == key else {}
    engines[dtype] = fast
    _CACHE[model] = (key, engines)
    return fast, "fast"


def layer_output_elements(model, *, skip_dropout: bool = True) -> int:
    """Summed per-sample output sizes of a Keras model's layers, views left out.

    Views allocate nothing at inference: ``Reshape``, ``Flatten``, the input and,
    with ``skip_dropout``, ``Dropout``.
    """
    import keras

    views = (keras.layers.Reshape, keras.layers.Flatten, keras.layers.InputLayer)
    if skip_dropout:
        views += (keras.layers.Dropout,)
    elements = 0
    for layer in model.layers:
        if isinstance(layer, views):
            continue
        try:
            shapes = layer.output.shape
        except (AttributeError, ValueError):  # pragma: no cover - subclassed layers
            continue
        elements += int(np.prod([d for d in shapes[1:] if d is not None]))
    return elements


def default_batch_size(model, engine, name: str, sample_shape: tuple[int, ...]) -> int:
    """Interpolated inputs per gradient call so that activations stay under ~512 MiB.

    - fast engine: ``3 * P * (2 * L * F) * itemsize`` bytes per input (the conv
      activations, their gradient and room for one temporary), ``itemsize`` 4
      for float32 and 2 for bfloat16;
    - Keras models: ``3 * 4`` bytes times the summed output sizes of all layers
      but views (``Reshape``, ``Flatten``, ``Dropout``, the input);
    - other callables: ``64 * 4`` bytes per input element.

    The result is clipped to ``[1, 1024]``.
    """
    import keras

    if name == "fast":
        itemsize = 2 if engine.dtype == "bfloat16" else 4
        per_input = 3 * itemsize * engine.n_frames * 2 * engine.n_landmarks * engine.n_filters
    elif isinstance(model, keras.Model):
        elements = layer_output_elements(model)
        per_input = 3 * 4 * max(elements, int(np.prod(sample_shape)))
    else:
        per_input = 64 * 4 * int(np.prod(sample_shape))
    return int(np.clip(ACTIVATION_BUDGET // max(per_input, 1), 1, _MAX_DEFAULT_BATCH))
