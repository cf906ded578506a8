"""Fit several EMO networks of one configuration at once (stacked weights).

A selector shoot-out fits the same T-EMO configuration many times on inputs of
the same shape: one network per selector at every landmark count L, each on
that selector's top L landmarks. On a few hundred short sequences every fit is
dominated by per-step overhead (a mini-batch step of a small network costs
about as much as one of eight), so :func:`fit_emo_stack` trains the networks
side by side: their weights are stacked along a leading "branch" axis and one
compiled epoch runs the forward pass, the gradients and Adam for all of them.

The branches do not interact. Each one has its own inputs, labels, class
weights, initial weights, mini-batch order (from its own seed, as
:meth:`~igselect.KerasLandmarkClassifier.fit` draws it), BatchNorm statistics
and dropout masks (drawn from its own dropout seed state with the same
stateless operation as Keras' ``Dropout``); the loss is the sum of the
branches' losses, so each branch's gradient is that of its own loss, and
Adam's update is elementwise. Every fitted estimator therefore ends as
:meth:`fit` would have left it, up to floating-point rounding (a test compares
the weights). One caveat of rounding: on unstandardised inputs a conv filter
can be active everywhere, BatchNorm then cancels its bias, whose gradient is
zero up to rounding, and Adam scales that rounding to steps of full size; the
bias (and the BatchNorm moving mean that follows it) then drifts differently
in the two fits, though the training losses agree. The epoch function takes
the weights as tensors, so it is traced once per network configuration
whatever the number of networks and landmarks; the last few configurations
are kept (:data:`_MAX_EPOCHS`).

Only what this module reproduces is stacked: :class:`~igselect.EmoClassifier`
with the default ``(2, 1)`` kernel and no validation split (fixed epochs, no
early stopping), all with the same network and training parameters and inputs
of one shape. Anything else is fitted one by one with ``fit``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import numpy as np

__all__: list[str] = []

#: Parameters that must agree for networks to share one stacked fit.
_SHARED_PARAMS = (
    "n_filters",
    "lstm_units",
    "dense_units",
    "dropout",
    "randomized",
    "standardize",
    "learning_rate",
    "batch_size",
    "epochs",
)
#: Layer weights in stacking order: (layer name, number of weights).
_LAYERS = (("conv", 2), ("bn", 4), ("lstm", 3), ("fc1", 2), ("output", 2))
#: Indices (in the flat list of the _LAYERS weights) of the BatchNorm moving statistics.
_MOVING = (4, 5)
#: Index of the LSTM kernel in that list.
_LSTM_KERNEL = 6
#: Rank of each stacked weight (branch axis first), in the order of _LAYERS.
_RANKS = (5, 2, 2, 2, 2, 2, 3, 3, 2, 3, 2, 3, 2)
#: Keras' Adam defaults (the trainer of a single fit uses them).
_BETA_1, _BETA_2, _ADAM_EPSILON = 0.9, 0.999, 1e-7

#: Compiled epochs kept (one per configuration: frames, dropout, learning rate, ...).
_MAX_EPOCHS = 4
_EPOCHS: OrderedDict = OrderedDict()
_EPOCHS_LOCK = threading.Lock()


def fit_emo_stack(estimators, Xs, y) -> list:
    """Fit every ``estimators[i]`` on ``(Xs[i], y)``, stacked when they can share a fit.

    Returns the estimators (fitted). Each one's ``fit_time_`` is the stacked
    fit's wall time divided by the number of networks in it.
    """
    estimators = list(estimators)
    start = time.perf_counter()
    if not _stackable(estimators, Xs):
        return [est.fit(X, y) for est, X in zip(estimators, Xs, strict=True)]
    prepared = [est._prepare_fit(X, y) for est, X in zip(estimators, Xs, strict=True)]
    if any(p.validation is not None for p in prepared):
        return [
            est._fit_prepared(p, time.perf_counter())
            for est, p in zip(estimators, prepared, strict=True)
        ]
    histories, epoch_times = _train_stack(estimators[0], prepared)
    share = (time.perf_counter() - start) / len(estimators)
    for est, p, history in zip(estimators, prepared, histories, strict=True):
        est._finish_fit(p.model, history, epoch_times, time.perf_counter() - share, p.n_samples)
    return estimators


def _stackable(estimators, Xs) -> bool:
    from .classifier import EmoClassifier
    from .network import _as_kernel

    if len(estimators) < 2 or len({np.shape(X) for X in Xs}) != 1:
        return False
    if not all(type(est) is EmoClassifier for est in estimators):
        return False
    first = estimators[0].get_params(deep=False)
    for est in estimators:
        params = est.get_params(deep=False)
        if any(params[k] != first[k] for k in _SHARED_PARAMS):
            return False
        try:
            if _as_kernel(params["kernel_size"]) != (2, 1):
                return False
        except ValueError:
            return False  # fit raises the error
    return True


# ----------------------------------------------------------------------------- weights
def _network_weights(network) -> list:
    return [w for name, _ in _LAYERS for w in network.get_layer(name).get_weights()]


def _set_network_weights(network, weights) -> None:
    start = 0
    for name, count in _LAYERS:
        network.get_layer(name).set_weights(weights[start : start + count])
        start += count


def _dropout_state(network):
    """The dropout layer's seed state variable (None when its rate is 0)."""
    generator = getattr(network.get_layer("dropout"), "seed_generator", None)
    return None if generator is None else generator.state


# ----------------------------------------------------------------------------- training
def _train_stack(first, prepared):
    """Run the epochs of all branches; returns (histories, epoch times)."""
    import tensorflow as tf

    n_branches = len(prepared)
    stacked = [
        np.stack(ws).astype(np.float32)
        for ws in zip(*(_network_weights(p.network) for p in prepared), strict=True)
    ]
    n_landmarks = prepared[0].X_train.shape[3]
    stacked[_LSTM_KERNEL] = _lstm_rows(stacked[_LSTM_KERNEL], (2, n_landmarks), (0, 2, 1, 3, 4))
    weights = [tf.constant(v) for v in stacked]
    states = [_dropout_state(p.network) for p in prepared]
    seeds = tf.constant(
        np.stack([np.zeros(2, np.int64) if s is None else np.asarray(s) for s in states])
    )
    X = np.stack(
        [p.X_train if p.scale is None else np.asarray(p.scale(p.X_train)) for p in prepared]
    )
    X = tf.constant(np.ascontiguousarray(X.transpose(0, 1, 2, 4, 3), dtype=np.float32))
    y = tf.constant(np.stack([p.y_train for p in prepared]).astype(np.int64))
    w = tf.constant(np.stack([p.class_weights[p.y_train] for p in prepared]).astype(np.float32))
    trainable = [i for i in range(len(weights)) if i not in _MOVING]
    if first.randomized:
        trainable = [i for i in trainable if i > 1]  # R-EMO: the conv filters stay random
    slots = [tf.zeros_like(weights[i]) for i in trainable]
    state = [weights, slots, list(slots), tf.constant(0.0), seeds]
    bn = prepared[0].network.get_layer("bn")
    shared_mask = bool(np.all(seeds.numpy() == seeds.numpy()[:1]))
    epoch = _epoch_function(
        first,
        int(X.shape[2]),
        (float(bn.momentum), float(bn.epsilon)),
        tuple(trainable),
        shared_mask,
    )
    rngs = [np.random.RandomState(p.seed) for p in prepared]
    n = int(X.shape[1])
    histories = [{"loss": [], "accuracy": []} for _ in prepared]
    epoch_times = []
    for _ in range(int(first.epochs)):
        tick = time.perf_counter()
        order = tf.constant(np.stack([r.permutation(n) for r in rngs]).astype(np.int32))
        *state, loss, hits = epoch(order, X, y, w, *_flat(state))
        state = _unflat(state, len(weights), len(trainable))
        loss, hits = loss.numpy() / n, hits.numpy() / n
        epoch_times.append(time.perf_counter() - tick)
        for b in range(n_branches):
            histories[b]["loss"].append(float(loss[b]))
            histories[b]["accuracy"].append(float(hits[b]))
    weights, seeds = [v.numpy() for v in state[0]], state[4].numpy()
    weights[_LSTM_KERNEL] = _lstm_rows(weights[_LSTM_KERNEL], (n_landmarks, 2), (0, 2, 1, 3, 4))
    for b, p in enumerate(prepared):
        _set_network_weights(p.network, [v[b] for v in weights])
        if states[b] is not None:
            states[b].assign(seeds[b])
    return histories, epoch_times


def _flat(state) -> list:
    weights, m, v, step, seeds = state
    return [*weights, *m, *v, step, seeds]


def _unflat(flat, n_weights: int, n_slots: int) -> list:
    weights = flat[:n_weights]
    m = flat[n_weights : n_weights + n_slots]
    v = flat[n_weights + n_slots : n_weights + 2 * n_slots]
    return [list(weights), list(m), list(v), flat[-2], flat[-1]]


def _epoch_function(first, n_frames: int, batch_norm: tuple, trainable: tuple, shared_mask):
    """The compiled epoch of one configuration (cached; any number of branches and L)."""
    key = (
        n_frames,
        float(first.dropout),
        float(first.learning_rate),
        int(first.batch_size),
        batch_norm,
        trainable,
        shared_mask,
    )
    with _EPOCHS_LOCK:
        fn = _EPOCHS.pop(key, None)
        if fn is None:
            fn = _trace_epoch(*key)
        _EPOCHS[key] = fn  # most recently used last
        while len(_EPOCHS) > _MAX_EPOCHS:
            _EPOCHS.popitem(last=False)
    return fn


def _trace_epoch(n_frames, rate, learning_rate, batch_size, batch_norm, trainable, shared_mask):
    import tensorflow as tf

    momentum, epsilon = batch_norm
    n_weights = len(_RANKS)
    n_slots = len(trainable)
    spec = [
        tf.TensorSpec((None, None), tf.int32),  # order (B, n)
        tf.TensorSpec((None, None, n_frames, None, 2), tf.float32),  # X (B, n, P, L, 2)
        tf.TensorSpec((None, None), tf.int64),  # y
        tf.TensorSpec((None, None), tf.float32),  # per-sample weights
    ]
    ranks = list(_RANKS) + [_RANKS[k] for k in trainable] * 2
    spec += [tf.TensorSpec((None,) * r, tf.float32) for r in ranks]
    spec += [tf.TensorSpec((), tf.float32), tf.TensorSpec((None, 2), tf.int64)]

    def update(weights, m, v, step, seeds, xb, yb, wb):
        """One mini-batch step of every branch: forward, gradients, Adam, BatchNorm statistics."""
        params = [weights[k] for k in trainable]
        with tf.GradientTape() as tape:
            tape.watch(params)
            logits, moments = _forward(weights, xb, seeds, rate, epsilon, shared_mask)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits)
            size = tf.cast(tf.shape(yb)[1], tf.float32)
            per_branch = tf.reduce_sum(ce * wb, axis=1) / size
            loss = tf.reduce_sum(per_branch)
        grads = tape.gradient(loss, params)
        step = step + 1.0
        new, m, v = list(weights), list(m), list(v)
        # Keras' Adam (keras.optimizers.Adam.update_step), elementwise, one step size
        alpha = learning_rate * tf.sqrt(1.0 - tf.pow(_BETA_2, step)) / (1.0 - tf.pow(_BETA_1, step))
        for j, k in enumerate(trainable):
            m[j] = m[j] + (grads[j] - m[j]) * (1.0 - _BETA_1)
            v[j] = v[j] + (tf.square(grads[j]) - v[j]) * (1.0 - _BETA_2)
            new[k] = weights[k] - m[j] * alpha / (tf.sqrt(v[j]) + _ADAM_EPSILON)
        for k, stat in zip(_MOVING, moments, strict=True):
            new[k] = weights[k] * momentum + stat * (1.0 - momentum)
        if rate > 0:  # Keras' Dropout draws a seed only when it drops
            seeds = seeds + tf.constant([0, 1], tf.int64)
        correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1), yb), tf.float32)
        return new, m, v, step, seeds, per_branch * size, tf.reduce_sum(correct, axis=1)

    def epoch(order, X, y, w, *flat):
        weights, m, v, step, seeds = _unflat(list(flat), n_weights, n_slots)
        n = tf.shape(order)[1]
        n_batches = (n + batch_size - 1) // batch_size
        zeros = tf.zeros(tf.shape(order)[:1], tf.float32)

        def body(i, weights, m, v, step, seeds, total, hits):
            idx = order[:, i * batch_size : (i + 1) * batch_size]
            batch = [tf.gather(t, idx, batch_dims=1) for t in (X, y, w)]
            *state, loss, correct = update(weights, m, v, step, seeds, *batch)
            return (i + 1, *state, total + loss, hits + correct)

        out = tf.while_loop(
            lambda i, *_: i < n_batches,
            body,
            (tf.constant(0), list(weights), list(m), list(v), step, seeds, zeros, zeros),
        )
        _, weights, m, v, step, seeds, total, hits = out
        return [*weights, *m, *v, step, seeds, total, hits]

    # No XLA: it made the epochs 1.3-3x faster but compiled for about 10 s per input
    # shape, and its random numbers differ from the CPU kernel's (other dropout masks).
    fn = tf.function(epoch, input_signature=spec, autograph=False)
    return fn.get_concrete_function()


def _forward(weights, xb, seeds, rate: float, epsilon: float, shared_mask: bool):
    """Training-mode logits of every branch, and each branch's BatchNorm batch moments.

    ``xb`` is ``(B, batch, P, L, 2)`` (standardised; landmarks before
    coordinates). The layers are those of
    :func:`~igselect.network.build_emo_network`: a ``(2, 1)`` conv with "same"
    padding (row 0 sees x and y, row 1 sees y and the zero padding), ReLU,
    BatchNorm over the filters, the LSTM (Keras' gate order i, f, c, o),
    dropout, a ReLU layer and the two output logits. The conv features are laid
    out ``(landmark, row, filter)``; the LSTM kernel's rows are permuted to match.
    """
    import tensorflow as tf

    kernel, conv_b, gamma, beta, _, _, W, U, lstm_b, W1, b1, W2, b2 = weights
    k0, k1 = kernel[:, 0, 0, 0, :], kernel[:, 1, 0, 0, :]  # (B, F)
    # [x, y] @ [[k0, 0], [k1, k0]]: rows 0 and 1 of the conv output, each for every filter
    pair = tf.stack([tf.concat([k0, tf.zeros_like(k0)], 1), tf.concat([k1, k0], 1)], axis=1)
    shape = tf.shape(xb)
    flat = tf.reshape(xb, tf.stack([shape[0], -1, 2]))  # (B, b P L, 2)
    A = tf.nn.relu(tf.matmul(flat, pair) + tf.tile(conv_b, [1, 2])[:, None, :])
    A = tf.reshape(A, tf.stack([shape[0], -1, tf.shape(conv_b)[1]]))  # (B, b P L 2, F)
    mean, var = tf.nn.moments(A, axes=[1], keepdims=True)
    A = tf.nn.batch_normalization(A, mean, var, beta[:, None, :], gamma[:, None, :], epsilon)
    seq = tf.reshape(A, tf.stack([shape[0], shape[1] * shape[2], -1]))  # (B, b P, L 2 F)
    xw = tf.reshape(tf.matmul(seq, W), tf.stack([shape[0], shape[1], shape[2], -1]))
    h = c = tf.zeros(tf.stack([shape[0], shape[1], tf.shape(U)[1]]))
    for t in range(xb.shape[2]):
        z = xw[:, :, t] + tf.matmul(h, U) + lstm_b[:, None, :]
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
    if rate > 0:
        # tf.nn.experimental.stateless_dropout with each branch's seed state, as Keras'
        # Dropout draws it (one draw serves all when the states are equal)
        def keep(seed):
            seed = tf.cast(tf.math.floormod(seed, 2**31 - 2), tf.int32)
            return tf.random.stateless_uniform(tf.shape(h)[1:], seed=seed)

        if shared_mask:
            draw = keep(seeds[0])[None]
        else:
            draw = tf.map_fn(keep, seeds, fn_output_signature=tf.float32)
        h = h * (1.0 / (1.0 - rate)) * tf.cast(draw >= rate, tf.float32)
    h = tf.nn.relu(tf.matmul(h, W1) + b1[:, None, :])
    logits = tf.matmul(h, W2) + b2[:, None, :]
    return logits, [tf.reshape(s, tf.shape(conv_b)) for s in (mean, var)]


def _lstm_rows(kernel: np.ndarray, dims: tuple, axes: tuple) -> np.ndarray:
    """The LSTM kernel ``(B, 2 L F, 4Q)`` with its rows reordered, ``dims`` a split of ``2 L``."""
    B, D, K = kernel.shape
    F = D // (dims[0] * dims[1])
    return np.ascontiguousarray(
        kernel.reshape(B, dims[0], dims[1], F, K).transpose(axes).reshape(B, D, K)
    )
