"""Whole-path IG for Keras models that open with a linear layer (views, then Dense).

Many generic networks start with reshaping views (``Reshape``, ``Flatten``,
``Permute``) and a ``Dense`` layer, for example an MLP on the flattened
landmarks, where that first layer holds nearly all the FLOPs. Along the straight
path ``x_k = b + alpha_k (x - b)`` its pre-activation is exactly linear in
``alpha``::

    z_k = z_b + alpha_k z_d,   z_b = V(b) K + c,   z_d = V(x - b) K

(``V`` the views, ``K``, ``c`` the kernel and bias), and since ``V`` and ``K``
are linear, ``sum_k w_k dF(x_k)/dx = V^T((sum_k w_k dF/dz_k) K^T)``. So a path
needs the large layer twice forward and once backward instead of ``2 m`` times;
only the rest of the network (the activation and the layers after it, run
through a GradientTape) is evaluated at every node. This is an exact
reformulation: it equals the per-node computation up to float32 round-off.
:class:`_PrefixEngine` is the tape engine plus this whole-path mode; it is used
(``engine="auto"``) when :func:`linear_prefix` recognises the structure and the
re-expressed forward pass matches the model.
"""

from __future__ import annotations

import numpy as np

from ._engines import _TapeEngine

__all__: list[str] = []


def linear_prefix(model):
    """``(views, dense, head)`` if ``model`` is views -> Dense -> rest, else None.

    ``views`` is a Keras model (or None for none) from the input to the Dense
    layer's input, ``head`` a Keras model from the Dense layer's output to the
    model output. The Dense layer must be the only consumer of the views.
    """
    import keras

    if not isinstance(model, keras.Model) or len(model.inputs) != 1 or len(model.outputs) != 1:
        return None
    view_types = (keras.layers.Reshape, keras.layers.Flatten, keras.layers.Permute)
    chain = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    i = 0
    while i < len(chain) and isinstance(chain[i], view_types):
        i += 1
    if i >= len(chain) - 1 or type(chain[i]) is not keras.layers.Dense:
        return None
    dense = chain[i]
    for layer in chain[: i + 1]:  # a simple chain: every layer called once, one input
        if len(layer._inbound_nodes) != 1 or len(layer._inbound_nodes[0].input_tensors) != 1:
            return None
    try:
        head = keras.Model(dense.output, model.outputs[0])
        views = keras.Model(model.inputs[0], dense.input) if i > 0 else None
    except (ValueError, TypeError):  # the rest reads more than the Dense output
        return None
    if len(head.layers) + i + 1 + 1 < len(model.layers):  # layers unreachable from dense
        return None
    return views, dense, head


class _PrefixEngine(_TapeEngine):
    """The tape engine plus whole paths through a linear first layer."""

    def __init__(self, model, parts):
        import keras
        import tensorflow as tf

        super().__init__(model, cached=True)
        views, dense, head = parts
        self.views, self.head = views, head
        self.kernel = dense.kernel
        self.bias = dense.bias if dense.use_bias else None
        self.act = dense.activation
        self.head_elements = sum(
            int(np.prod([d for d in layer.output.shape[1:] if d is not None]))
            for layer in head.layers
        )
        self.path_min_nodes = 1  # a node costs a pass of the head: batch_size counts nodes

        def pre(x):
            v = self.views(x, training=False) if self.views is not None else x
            return v

        def path(xs, bs, alpha, weight, target):
            S, c = tf.shape(xs)[0], tf.shape(alpha)[0]
            vb = pre(bs)
            zb = tf.tensordot(vb, self.kernel, 1)
            if self.bias is not None:
                zb = zb + self.bias
            zd = tf.tensordot(pre(xs) - vb, self.kernel, 1)
            ones = tf.ones([tf.rank(zd) - 1], tf.int32)
            a = tf.reshape(alpha, tf.concat([[1, c], ones], 0))
            z = tf.expand_dims(zb, 1) + a * tf.expand_dims(zd, 1)  # (S, c, ..., units)
            flat = tf.reshape(z, tf.concat([[S * c], tf.shape(zd)[1:]], 0))
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(flat)
                y = self.head(self.act(flat), training=False)[:, target]
            g = tf.reshape(tape.gradient(y, flat), [S, c, -1])
            G = tf.reshape(tf.einsum("k,skd->sd", weight, g), tf.shape(zd))
            G_in = tf.tensordot(G, self.kernel, [[zd.shape.rank - 1], [1]])  # G K^T
            if self.views is None:
                return G_in
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(xs)
                s = tf.reduce_sum(pre(xs) * G_in)
            return tape.gradient(s, xs)  # the adjoint of the views

        self._path_fns = {
            jit: tf.function(path, reduce_retracing=True, jit_compile=jit) for jit in (False, True)
        }
        self._keras = keras

    def prefix_forward(self, x):
        """The model output recomputed as head(act(views(x) K + c))."""
        import tensorflow as tf

        v = self.views(x, training=False) if self.views is not None else x
        z = tf.tensordot(v, self.kernel, 1)
        if self.bias is not None:
            z = z + self.bias
        return self.head(self.act(z), training=False)

    def path_integral(self, x, b, alphas, weights, target: int):
        """``(sum_k w_k dF(x_k)/dx, None)`` for NumPy ``x``, ``b`` (one baseline per row)."""
        from ._gradients import JIT_MAX_ELEMENTS, JIT_MIN_WORK

        work = x.shape[0] * len(alphas) * self.head_elements
        jit = self.xla_ok and self.head_elements <= JIT_MAX_ELEMENTS and work >= JIT_MIN_WORK
        args = (x, b, np.asarray(alphas, np.float32), np.asarray(weights, np.float32), target)
        if jit:
            try:
                return self._path_fns[True](*args).numpy(), None
            except Exception as exc:  # noqa: BLE001 - XLA cannot compile it: plain graph
                import tensorflow as tf

                if not isinstance(exc, (tf.errors.OpError, NotImplementedError, TypeError)):
                    raise
                self.xla_ok = False
        return self._path_fns[False](*args).numpy(), None

    def path_bytes_per_sample(self, n_nodes: int) -> int:
        """About 12 bytes per head activation element and node."""
        return 12 * n_nodes * max(self.head_elements, 1)

    def path_samples_per_call(self, n_nodes: int, budget: int) -> int:
        return max(1, int(budget // self.path_bytes_per_sample(n_nodes)))


def prefix_engine(model, probe: np.ndarray):
    """A :class:`_PrefixEngine` for ``model`` if it applies and reproduces the model."""
    parts = linear_prefix(model)
    if parts is None:
        return None
    eng = _PrefixEngine(model, parts)
    ours = np.asarray(eng.prefix_forward(probe))
    theirs = np.asarray(model(probe, training=False))
    scale = max(float(np.abs(theirs).max()), 1.0)
    if not float(np.abs(ours - theirs).max()) <= 1e-5 * scale:
        return None
    return eng
