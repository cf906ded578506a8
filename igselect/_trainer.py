"""The compiled training loop of :class:`~igselect.KerasLandmarkClassifier`, reused across fits.

Keras' ``Model.fit`` builds and traces a new training function for every model,
which on a small CPU costs one to two seconds per fit, and its per-step and
per-epoch bookkeeping (a graph call per mini-batch, a separate ``evaluate``
run per epoch) dominates the epoch time on the few hundred samples of a facial
expression data set. Here one *trainer* per network configuration owns a
template network (without the standardisation layer), an Adam optimizer and one
compiled epoch function, with a batch dimension of any size. A fit copies the
freshly initialised network's state (weights, BatchNorm statistics, dropout
seed state) into the template, resets the optimizer, runs the epochs (each one
graph call: every mini-batch step plus the validation pass) and copies the
trained state back. A grid search, a cross-validation or a benchmark that fits
the same architecture many times thus traces it once. The trainer serves any
Keras model: it is given a function that builds the template, and whether the
model returns probabilities or logits.

The cache is process-wide and bounded (:data:`_MAX_TRAINERS` trainers and
:data:`_MAX_CACHED_PARAMS` network parameters in all); each trainer has a lock,
so concurrent fits in threads are serialised per configuration.

Memory: a dropped trainer must give back everything it traced. Keras'
TensorFlow optimizer applies its update through ``tf.distribute``
(``maybe_merge_call`` / ``extended.update``), and a function traced through
it is never freed: its graph, and the nested functions registered in the eager
context (the while loops of the epoch and of recurrent layers, and their
gradients), stayed for the life of the process, about 15-21 MB per network
configuration whatever was cleared. The epoch therefore runs the optimizer's
per-variable ``update_step`` itself (the same operations, without the
distribution machinery, as the backend-independent Keras optimizer does), and
a dropped trainer is freed with everything it traced. TensorFlow's cache of
eager kernels, which grows with every new shape of a network built eagerly,
is emptied whenever a trainer is dropped.

The epoch functions are traced with ``get_concrete_function`` and called as
concrete functions, so tracing one per configuration, by design, does not set
off TensorFlow's warning about a ``tf.function`` retraced in a loop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

#: At most this many trainers (network configurations) are kept. Each holds
#: about 20 MB of TensorFlow runtime state even for a tiny network (its traced
#: and instantiated epoch function), so the cache is kept small: a grid search
#: fits one configuration on every fold in turn, and a selector pipeline
#: alternates two (all landmarks, then the selected ones).
_MAX_TRAINERS = 4
#: ... holding at most this many network parameters in all (each also has two
#: Adam slots), so paper-sized networks do not pile up in memory.
_MAX_CACHED_PARAMS = 30_000_000

_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()


def get_trainer(
    key,
    build_template: Callable,
    *,
    n_frames: int,
    n_landmarks: int,
    learning_rate: float,
    batch_size: int,
    from_logits: bool = False,
):
    """The cached :class:`Trainer` for ``key`` (created on first use).

    ``key`` must identify the network configuration, the learning rate, the
    batch size and ``from_logits``. A ``key`` of None (a configuration that
    cannot be hashed) gets a new trainer that is not cached.
    """
    if key is None:
        return Trainer(
            build_template,
            n_frames=n_frames,
            n_landmarks=n_landmarks,
            learning_rate=learning_rate,
            batch_size=batch_size,
            from_logits=from_logits,
        )
    with _CACHE_LOCK:
        trainer = _CACHE.pop(key, None)
        if trainer is None:
            trainer = Trainer(
                build_template,
                n_frames=n_frames,
                n_landmarks=n_landmarks,
                learning_rate=learning_rate,
                batch_size=batch_size,
                from_logits=from_logits,
            )
        _CACHE[key] = trainer  # most recently used last
        evicted = False
        while len(_CACHE) > 1 and (
            len(_CACHE) > _MAX_TRAINERS
            or sum(t.n_params for t in _CACHE.values()) > _MAX_CACHED_PARAMS
        ):
            _CACHE.popitem(last=False)
            evicted = True
    if evicted:
        _clear_eager_kernels()
    return trainer


def clear_cache() -> None:
    """Drop every cached trainer (and, once unused, its traced functions)."""
    with _CACHE_LOCK:
        _CACHE.clear()
    _clear_eager_kernels()


def _clear_eager_kernels() -> None:
    """Empty TensorFlow's cache of eager kernels.

    Building and initialising a network eagerly caches one kernel per operation
    *and shape*, so every new network configuration added about 2 MB that was
    never given back. The kernels of later eager operations are simply created
    again (microseconds each).
    """
    from tensorflow.python.eager import context

    context.context().clear_kernel_cache()


class Trainer:
    """Template network, optimizer and compiled epoch of one network configuration.

    Parameters
    ----------
    build_template : callable
        Called once with no argument; returns the network without its
        standardisation layer (inputs are standardised before they reach the
        epoch function). Its initial values are overwritten by every fit.
    n_frames, n_landmarks : int
        The input is ``(batch, n_frames, 2, n_landmarks)``.
    learning_rate : float
        Adam's learning rate.
    batch_size : int
        Mini-batch size.
    from_logits : bool, default=False
        Whether the template returns logits (else probabilities).
    """

    def __init__(
        self,
        build_template: Callable,
        *,
        n_frames: int,
        n_landmarks: int,
        learning_rate: float,
        batch_size: int,
        from_logits: bool = False,
    ):
        import keras
        import tensorflow as tf

        self.lock = threading.Lock()
        self.model = build_template()
        self.n_params = int(self.model.count_params())
        self.variables = list(self.model.trainable_variables)
        self.optimizer = keras.optimizers.Adam(learning_rate=float(learning_rate))
        self.optimizer.build(self.variables)
        self._optimizer_init = [np.array(v.numpy()) for v in self.optimizer.variables]
        self.batch_size = int(batch_size)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=bool(from_logits))
        shape = (None, int(n_frames), 2, int(n_landmarks))
        spec = [
            tf.TensorSpec(shape, tf.float32),  # X
            tf.TensorSpec((None,), tf.int64),  # y (class index)
            tf.TensorSpec((None,), tf.float32),  # per-sample (class) weights
        ]
        self._signatures = {
            False: [tf.TensorSpec((None,), tf.int32), *spec],
            True: [tf.TensorSpec((None,), tf.int32), *spec, *spec],
        }
        self._epochs: dict = {}

    def epoch_function(self, validated: bool):
        """The compiled epoch, traced on first use: ``(order, X, y, w[, X_val, y_val, w_val])``."""
        fn = self._epochs.get(validated)
        if fn is None:
            import tensorflow as tf

            # autograph=False: plain graph code (explicit while loop), no source
            # inspection. No jit_compile: on the CPU, XLA made these epochs 3-20x
            # slower (measured at 135 x 4 frames and 256 x 16 frames, L=64 and 468)
            # and compiles for seconds.
            function = tf.function(
                self._train_epoch, input_signature=self._signatures[validated], autograph=False
            )
            fn = function.get_concrete_function()
            self._epochs[validated] = fn
        return fn

    # ------------------------------------------------------------------ graph
    @staticmethod
    def _n_correct(y, proba):
        import tensorflow as tf

        hits = tf.equal(tf.argmax(proba, axis=1), y)
        return tf.reduce_sum(tf.cast(hits, tf.float32))

    def _apply(self, grads):
        """Adam's update of every variable, as ``optimizer.apply`` without ``tf.distribute``.

        Variables without a gradient are left alone and variable constraints
        (``kernel_constraint=...``) are applied after the update, as Keras does.
        """
        optimizer = self.optimizer
        learning_rate = optimizer.learning_rate
        for grad, var in zip(grads, self.variables, strict=True):
            if grad is not None:
                optimizer.update_step(grad, var, learning_rate)
        for var in self.variables:
            if var.constraint is not None:
                var.assign(var.constraint(var))
        optimizer.iterations.assign_add(1)

    def _step(self, i, total_loss, n_correct, order, X, y, w):
        import tensorflow as tf

        bs = self.batch_size
        idx = order[i * bs : (i + 1) * bs]
        xb, yb, wb = tf.gather(X, idx), tf.gather(y, idx), tf.gather(w, idx)
        with tf.GradientTape() as tape:
            out = self.model(xb, training=True)
            # Weighted mean over the batch, as Keras' fit computes it.
            loss = self.loss_fn(yb, out, sample_weight=wb)
        self._apply(tape.gradient(loss, self.variables))
        total_loss += loss * tf.cast(tf.size(idx), tf.float32)
        return i + 1, total_loss, n_correct + self._n_correct(yb, out)

    def _train_epoch(self, order, X, y, w, *val):
        """One epoch: every mini-batch step in ``order``, then the validation pass."""
        import tensorflow as tf

        n = tf.size(order)
        n_batches = (n + self.batch_size - 1) // self.batch_size
        _, total_loss, n_correct = tf.while_loop(
            lambda i, *_: i < n_batches,
            lambda i, loss, hits: self._step(i, loss, hits, order, X, y, w),
            (tf.constant(0), tf.constant(0.0), tf.constant(0.0)),
        )
        n = tf.cast(n, tf.float32)
        logs = [total_loss / n, n_correct / n]
        if val:
            X_val, y_val, w_val = val
            out = self.model(X_val, training=False)
            n_val = tf.cast(tf.size(y_val), tf.float32)
            logs += [
                self.loss_fn(y_val, out, sample_weight=w_val),
                self._n_correct(y_val, out) / n_val,
            ]
        return logs

    # ------------------------------------------------------------------ state
    def load(self, model) -> None:
        """Start from ``model``'s state: its variables in, the optimizer reset."""
        self._copy(model.variables, self.model.variables)
        for var, value in zip(self.optimizer.variables, self._optimizer_init, strict=True):
            var.assign(value)

    def store(self, model) -> None:
        """Copy the trained state back into ``model``."""
        self._copy(self.model.variables, model.variables)

    @staticmethod
    def _copy(src, dst) -> None:
        if len(src) != len(dst):
            raise RuntimeError(
                f"the network has {len(dst)} variables, its template {len(src)}: build_fn "
                "must build the same architecture every time it is called with the same "
                "arguments"
            )
        for s, d in zip(src, dst, strict=True):
            if tuple(s.shape) != tuple(d.shape):
                raise RuntimeError(
                    f"variable mismatch: {s.path} {s.shape} vs {d.path} {d.shape}; build_fn "
                    "must build the same architecture every time it is called with the "
                    "same arguments"
                )
            d.assign(s)
