"""The compiled training loop of :class:`~igselect.classifier.EmoClassifier`, reused across fits.

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
the same architecture many times thus traces it once.

The cache is process-wide and bounded (:data:`_MAX_TRAINERS` trainers and
:data:`_MAX_CACHED_PARAMS` network parameters in all); each trainer has a lock,
so concurrent fits in threads are serialised per configuration.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from igselect.network import build_emo_network

#: At most this many trainers (network configurations) are kept.
_MAX_TRAINERS = 8
#: ... holding at most this many network parameters in all (each also has two
#: Adam slots), so paper-sized networks do not pile up in memory.
_MAX_CACHED_PARAMS = 30_000_000

_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()


def get_trainer(key: tuple, build_kwargs: dict, *, learning_rate: float, batch_size: int):
    """The cached :class:`Trainer` for ``key`` (created on first use)."""
    with _CACHE_LOCK:
        trainer = _CACHE.pop(key, None)
        if trainer is None:
            trainer = Trainer(build_kwargs, learning_rate=learning_rate, batch_size=batch_size)
        _CACHE[key] = trainer  # most recently used last
        while len(_CACHE) > 1 and (
            len(_CACHE) > _MAX_TRAINERS
            or sum(t.n_params for t in _CACHE.values()) > _MAX_CACHED_PARAMS
        ):
            _CACHE.popitem(last=False)
        return trainer


def clear_cache() -> None:
    """Drop every cached trainer (and its traced functions)."""
    with _CACHE_LOCK:
        _CACHE.clear()


class Trainer:
    """Template network, optimizer and compiled epoch of one network configuration.

    ``build_kwargs`` are the arguments of :func:`build_emo_network` without
    ``seed``, ``mean`` and ``std``: the template has no standardisation layer
    (inputs are standardised before they reach the epoch function), and its
    initial values are overwritten by every fit.
    """

    def __init__(self, build_kwargs: dict, *, learning_rate: float, batch_size: int):
        import keras
        import tensorflow as tf

        self.lock = threading.Lock()
        self.model = build_emo_network(**build_kwargs, seed=0)  # values overwritten per fit
        self.n_params = int(self.model.count_params())
        self.variables = list(self.model.trainable_variables)
        self.optimizer = keras.optimizers.Adam(learning_rate=float(learning_rate))
        self.optimizer.build(self.variables)
        self._optimizer_init = [np.array(v.numpy()) for v in self.optimizer.variables]
        self.batch_size = int(batch_size)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()
        shape = (None, build_kwargs["n_frames"], 2, build_kwargs["n_landmarks"])
        spec = [
            tf.TensorSpec(shape, tf.float32),  # X
            tf.TensorSpec((None,), tf.int64),  # y (0/1)
            tf.TensorSpec((None,), tf.float32),  # per-sample (class) weights
        ]
        order = tf.TensorSpec((None,), tf.int32)
        # autograph=False: plain graph code (explicit while loop), no source inspection.
        # No jit_compile: on the CPU, XLA made these epochs 3-20x slower (measured at
        # 135 x 4 frames and 256 x 16 frames, L=64 and 468) and compiles for seconds.
        self.train_epoch = tf.function(
            self._train_epoch, input_signature=[order, *spec], autograph=False
        )
        self.train_epoch_validated = tf.function(
            self._train_epoch, input_signature=[order, *spec, *spec], autograph=False
        )

    # ------------------------------------------------------------------ graph
    @staticmethod
    def _n_correct(y, proba):
        import tensorflow as tf

        hits = tf.equal(tf.argmax(proba, axis=1), y)
        return tf.reduce_sum(tf.cast(hits, tf.float32))

    def _step(self, i, total_loss, n_correct, order, X, y, w):
        import tensorflow as tf

        bs = self.batch_size
        idx = order[i * bs : (i + 1) * bs]
        xb, yb, wb = tf.gather(X, idx), tf.gather(y, idx), tf.gather(w, idx)
        with tf.GradientTape() as tape:
            proba = self.model(xb, training=True)
            # Weighted mean over the batch, as Keras' fit computes it.
            loss = self.loss_fn(yb, proba, sample_weight=wb)
        self.optimizer.apply(tape.gradient(loss, self.variables), self.variables)
        total_loss += loss * tf.cast(tf.size(idx), tf.float32)
        return i + 1, total_loss, n_correct + self._n_correct(yb, proba)

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
            proba = self.model(X_val, training=False)
            n_val = tf.cast(tf.size(y_val), tf.float32)
            logs += [
                self.loss_fn(y_val, proba, sample_weight=w_val),
                self._n_correct(y_val, proba) / n_val,
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
        for s, d in zip(src, dst, strict=True):
            if tuple(s.shape) != tuple(d.shape):  # pragma: no cover - a bug, not user input
                raise RuntimeError(f"variable mismatch: {s.path} {s.shape} vs {d.path} {d.shape}")
            d.assign(s)
