"""Fast gradient engine for networks built by :func:`igselect.network.build_emo_network`.

Keras' LSTM runs its input projection inside the per-timestep loop, so for the
paper-sized network (``2 * L * F = 46,800`` LSTM inputs, ``4 * Q = 232`` gates)
every timestep streams the 43 MB input kernel from memory for a handful of
rows. :class:`_EmoEngine` re-expresses the inference-mode network from its
weights in plain TensorFlow ops so that the expensive part becomes two large,
well-shaped matrix products per batch:

1. ``standardize``: ``(x - mean) / max(sqrt(var), eps)`` (Keras' Normalization).
2. ``conv``: for a kernel ``(kh, 1)`` every output feature of landmark ``l``
   depends only on that landmark's two coordinates, so the 'same'-padded
   Conv2D is a per-landmark affine map ``R^2 -> R^(2F)`` (one small matmul);
   other kernels use :func:`tf.nn.conv2d`. Then ReLU.
3. ``bn`` (inference: gamma, beta, moving mean/variance, epsilon) is an affine
   map per filter; it is folded into the LSTM input kernel and bias.
4. ``lstm``: the input projection of all rows and all timesteps is ONE matmul
   ``(B*P, 2LF) @ (2LF, 4Q)``; only the small recurrence over the ``P`` frames
   (gate order i, f, c, o; sigmoid / tanh) is sequential.
5. ``dropout`` is the identity at inference; ``fc1`` (ReLU) and ``output``.

The backward pass is written by hand: a tape on the small head (recurrence and
dense layers) gives ``dZ``, then ``dZ @ W^T`` (the second big matmul), the ReLU
mask and the transposed per-landmark map give the input gradient. Gradients of
the weights are never formed. With ``dtype="bfloat16"`` both big matmuls run in
bfloat16 (AMX on recent Intel CPUs) with float32 accumulation.

:meth:`_EmoEngine.path_integral` computes the weighted gradient sum of a whole
straight-line IG path at once with far fewer FLOPs, by an exact reformulation
that exploits the piecewise linearity of the conv ReLU along the path (see
:mod:`igselect.attribution._emo_path`); :meth:`_EmoEngine.gradient` is the
per-input gradient it replaces.
"""

from __future__ import annotations

import functools

import numpy as np

from ._emo_recognise import _act_name, _np, recognise_emo_network

__all__: list[str] = []


def _apply_act(name: str, z):
    import tensorflow as tf

    if name == "relu":
        return tf.nn.relu(z)
    if name == "softmax":
        return tf.nn.softmax(z, axis=-1)
    if name == "sigmoid":
        return tf.sigmoid(z)
    if name == "tanh":
        return tf.tanh(z)
    return z


#: Network configurations (specs) whose compiled stages are kept; older ones are
#: dropped (engines still alive keep theirs), so a grid search over F, Q and R does
#: not pile up traced graphs.
_MAX_SPECS = 4
_N_METHODS = 8  # the compiled stages of one spec (see _EmoGraph.__init__)


@functools.lru_cache(maxsize=_MAX_SPECS * _N_METHODS)
def _shared(method: str, jit: bool, spec: tuple):
    """One ``tf.function`` of ``_EmoGraph.<method>`` shared by every engine of ``spec``.

    The weights are arguments, not captured constants, so every engine of one
    configuration reuses the same traces. (Per-engine compiled functions made
    TensorFlow keep every engine's traces for the life of the process: about 7 MB
    more per fitted selector.) Only the last :data:`_MAX_SPECS` configurations
    are kept: a new configuration costs a trace, and memory stays bounded.
    """
    import tensorflow as tf

    def call(params, *args):
        return getattr(_EmoGraph(spec, params), method)(*args)

    # A code object of its own per method and spec: TensorFlow counts traces per code
    # object, and the one first trace of each shared function would add up to its
    # "excessive retracing" warning.
    name = f"emo{method}_{abs(hash(spec)):x}"
    call.__code__ = call.__code__.replace(co_name=name)
    call.__name__ = call.__qualname__ = name
    return tf.function(call, jit_compile=jit, autograph=False, reduce_retracing=True)


class _EmoGraph:
    """The engine's computations on its weight tensors ``params`` for one ``spec``.

    ``spec = (P, L, F, Q, per_landmark, conv_relu, dense_activations, big_dtype, jit)``.
    The ``*_fn`` attributes call the compiled functions shared by every engine of
    that spec (see :func:`_shared`), with these weights.
    """

    def __init__(self, spec: tuple, params: dict):
        import tensorflow as tf

        (P, L, F, Q, self.per_landmark, self._conv_relu, acts, big, jit) = spec
        self.n_frames, self.n_landmarks, self.n_filters, self.lstm_units = P, L, F, Q
        self._big = tf.bfloat16 if big == "bfloat16" else tf.float32
        self.spec, self.params = spec, params  # what compiled stages elsewhere take (occlusion)
        self._mean, self._inv_scale = params["mean"], params["inv_scale"]
        if self.per_landmark:
            self._A = params["conv_w"]
        else:
            self._kernel = params["conv_w"]
        self._conv_bias = params["conv_bias"]
        self._W, self._b, self._U = params["W"], params["b"], params["U"]
        self._dense = [(k, b, act) for (k, b), act in zip(params["dense"], acts, strict=True)]
        # With jit=True the memory-bound stages around the big matmuls are compiled by
        # XLA (fusing the casts, ReLU and its mask); the big matmuls stay on TensorFlow's
        # (oneDNN) kernels outside XLA, so memory stays bounded by the batch.
        for attr, method, compiled in (
            ("forward_fn", "forward", False),
            ("_features_fn", "_features", jit),
            ("_input_grad_fn", "_input_grad", jit),
            ("_uv_fn", "_uv", jit),  # whole-path mode (path_integral) from here on
            ("_proj_fn", "_project_any", False),
            ("_head_grad_fn", "_head_grad", jit),
            ("_dense_back_fn", "_dense_back", False),
            ("_conv_t_fn", "_conv_transpose", jit),
        ):
            setattr(self, attr, functools.partial(_shared(method, compiled, spec), params))

    # -- public (traced inside the caller's tf.function) --------------------------------
    def forward(self, x):
        """Model output ``(B, n_outputs)`` for raw inputs ``x`` of shape ``(B, P, 2, L)``."""
        import tensorflow as tf

        return self._head(self._project(self._features_fn(x)), tf.shape(x)[0])

    def gradient(self, x, target: int):
        """Return ``(d out[:, target] / dx, out)`` for inputs ``x`` of shape ``(B, P, 2, L)``."""
        import tensorflow as tf

        a = self._features_fn(x)
        z = tf.cast(tf.matmul(a, self._W), tf.float32)
        out, dz = self._head_grad(z, target)  # dz: (B*P, 4Q)
        da = tf.matmul(tf.cast(dz, self._big), self._W, transpose_b=True)
        return self._input_grad_fn(da, a), out

    # -- pieces ---------------------------------------------------------------------------
    def _preact(self, xs, bias: bool = True):
        """Conv pre-activations ``(B * P, 2LF)`` (float32) of standardized inputs ``xs``."""
        import tensorflow as tf

        if self.per_landmark:
            xt = tf.reshape(tf.transpose(xs, [0, 1, 3, 2]), [-1, 2])  # (B*P*L, 2)
            # A K=2 matmul: ~3x cheaper than the equivalent broadcasts on CPU.
            u = tf.matmul(xt, self._A)  # (B*P*L, 2F)
        else:
            img = tf.reshape(xs, [-1, 2, self.n_landmarks, 1])
            u = tf.nn.conv2d(img, self._kernel, strides=1, padding="SAME")  # (B*P, 2, L, F)
        if bias:
            u = tf.nn.bias_add(u, self._conv_bias)
        return tf.reshape(u, [-1, 2 * self.n_landmarks * self.n_filters])

    def _features(self, x):
        """Conv + ReLU activations ``(B * P, 2LF)`` in the big-matmul dtype."""
        import tensorflow as tf

        u = self._preact((x - self._mean) * self._inv_scale)
        a = tf.nn.relu(u) if self._conv_relu else u
        return tf.cast(a, self._big)

    def _input_grad(self, da, a):
        """Gradient w.r.t. raw inputs from the gradient ``da`` w.r.t. the activations ``a``."""
        import tensorflow as tf

        da = tf.cast(da, tf.float32)
        if self._conv_relu:
            da = tf.raw_ops.ReluGrad(gradients=da, features=tf.cast(a, tf.float32))
        return self._conv_transpose(da)

    def _conv_transpose(self, du):
        """Gradient w.r.t. raw inputs ``(B, P, 2, L)`` from the gradient ``du`` (B*P, 2LF)
        w.r.t. the conv pre-activations (the transpose of standardize + conv)."""
        import tensorflow as tf

        F, L = self.n_filters, self.n_landmarks
        if self.per_landmark:
            dxt = tf.matmul(tf.reshape(du, [-1, 2 * F]), self._A, transpose_b=True)
            dxs = tf.transpose(tf.reshape(dxt, [-1, self.n_frames, L, 2]), [0, 1, 3, 2])
        else:
            du = tf.reshape(du, [-1, 2, L, F])
            dimg = tf.nn.conv2d_transpose(
                du,
                self._kernel,
                output_shape=tf.stack([tf.shape(du)[0], 2, L, 1]),
                strides=1,
                padding="SAME",
            )
            dxs = tf.reshape(dimg, [-1, self.n_frames, 2, L])
        return dxs * self._inv_scale

    def _head(self, z, batch):
        """LSTM recurrence + dense layers on the input projections ``z`` (B*P, 4Q)."""
        import tensorflow as tf

        Q = self.lstm_units
        z = tf.reshape(z, [batch, self.n_frames, 4 * Q]) + self._b
        h = tf.zeros([batch, Q], tf.float32)
        c = tf.zeros([batch, Q], tf.float32)
        for p in range(self.n_frames):
            g = z[:, p] + tf.matmul(h, self._U)
            i, f, cc, o = tf.split(g, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(cc)
            h = tf.sigmoid(o) * tf.tanh(c)
        out = h  # dropout: identity at inference
        for kernel, bias, act in self._dense:
            out = _apply_act(act, tf.matmul(out, kernel) + bias)
        return out

    def _uv(self, x, b):
        """Conv pre-activations of the baselines ``b`` and their slope ``v`` along the path."""
        u = self._preact((b - self._mean) * self._inv_scale)
        v = self._preact((x - b) * self._inv_scale, bias=False)
        return u, v

    def _head_grad(self, z, target: int):
        """Head outputs and ``d out[:, target] / dz`` for input projections ``z`` (B*P, 4Q)."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(z)
            out = self._head(z, tf.shape(z)[0] // self.n_frames)
            y = out[:, target]
        return out, tape.gradient(y, z)

    def _project(self, a):
        import tensorflow as tf

        return tf.cast(tf.matmul(a, self._W), tf.float32)

    def _project_any(self, a):
        """``a @ W`` for float32 or big-dtype ``a`` (whole-path mode)."""
        import tensorflow as tf

        return self._project(tf.cast(a, self._big))

    def _dense_back(self, s):
        """``s @ W^T`` in float32 (whole-path mode)."""
        import tensorflow as tf

        return tf.cast(tf.matmul(tf.cast(s, self._big), self._W, transpose_b=True), tf.float32)


class _EmoEngine(_EmoGraph):
    """Plain-TF inference re-expression of a build_emo_network model.

    Parameters
    ----------
    model : keras.Model
        A model accepted by :func:`recognise_emo_network`.
    dtype : {"float32", "bfloat16"}
        Dtype of the two large matmuls (accumulation is always float32).
    jit : bool, default=False
        Compile the memory-bound stages with XLA. Off by default: TensorFlow keeps
        every XLA executable for the life of the process (about 40 MB more per new
        network configuration, issue 13), and XLA gave no measurable speed-up of
        either mode at paper size on a 2-core CPU (user guide, "Memory").
    """

    def __init__(self, model, dtype: str = "float32", jit: bool = False):
        import tensorflow as tf

        reason = recognise_emo_network(model)
        if reason is not None:
            raise ValueError(f"The fast engine cannot handle this model: {reason}.")
        self.dtype = dtype
        _, P, _, L = model.input_shape
        P, L = int(P), int(L)
        get = model.get_layer
        names = [layer.name for layer in model.layers]
        # 1. standardize
        if "standardize" in names:
            std = get("standardize")
            mean = _np(std.mean).reshape(2, L)
            scale = np.maximum(np.sqrt(_np(std.variance).reshape(2, L)), 1e-7)
        else:
            mean, scale = np.zeros((2, L)), np.ones((2, L))
        # 2. conv
        conv = get("conv").layer
        kernel = _np(conv.kernel)  # (kh, kw, 1, F)
        kh, kw, _, F = kernel.shape
        bias = _np(conv.bias) if conv.use_bias else np.zeros(F)
        per_landmark = kw == 1
        # 3. bn: y = s * a + t per filter
        bn = get("bn")
        gamma = _np(bn.gamma) if bn.scale else np.ones(F)
        beta = _np(bn.beta) if bn.center else np.zeros(F)
        s = gamma / np.sqrt(_np(bn.moving_variance) + bn.epsilon)
        t = beta - _np(bn.moving_mean) * s
        # 4. lstm, folded with bn
        cell = get("lstm").cell
        Q = int(cell.units)
        W = _np(cell.kernel).reshape(2, L, F, 4 * Q)  # rows in Keras' flatten order (h, l, f)
        b_lstm = _np(cell.bias) if cell.use_bias else np.zeros(4 * Q)
        b_fold = b_lstm + np.einsum("hlfg,f->g", W, t)
        W = W * s[None, None, :, None]
        if per_landmark:
            # Per-landmark affine map: u[l, h, f] = sum_c A[c, h, f] xs[c, l] + bias[f],
            # with TF 'same' padding (pad_top = (kh - 1) // 2) on the height-2 frame image.
            pad_top = (kh - 1) // 2
            A = np.zeros((2, 2, F))
            for c in range(2):
                for h in range(2):
                    d = c - h + pad_top
                    if 0 <= d < kh:
                        A[c, h] = kernel[d, 0, 0]
            conv_w, conv_bias = A.reshape(2, 2 * F), np.tile(bias, 2)
            W = W.transpose(1, 0, 2, 3)  # rows in (l, h, f) order
        else:
            conv_w, conv_bias = kernel, bias
        big = tf.bfloat16 if dtype == "bfloat16" else tf.float32
        dense, acts = [], []
        for name in ("fc1", "output"):
            layer = get(name)
            b = _np(layer.bias) if layer.use_bias else np.zeros(layer.units)
            dense.append((tf.constant(_np(layer.kernel), tf.float32), tf.constant(b, tf.float32)))
            acts.append(_act_name(layer.activation))
        f32 = functools.partial(tf.constant, dtype=tf.float32)
        params = {
            "mean": f32(mean),
            "inv_scale": f32(1.0 / scale),
            "conv_w": f32(conv_w),
            "conv_bias": f32(conv_bias),
            "W": tf.constant(W.reshape(2 * L * F, 4 * Q), big),
            "b": f32(b_fold),
            "U": f32(_np(cell.recurrent_kernel)),
            "dense": tuple(dense),
        }
        spec = (P, L, int(F), Q, bool(per_landmark), _act_name(conv.activation) == "relu")
        spec += (tuple(acts), dtype, bool(jit))
        super().__init__(spec, params)
        self.n_outputs = int(get("output").units)
        # NumPy copies for the compiled sparse kernels of path_integral (float32)
        self._mean_np, self._inv_scale_np = params["mean"].numpy(), params["inv_scale"].numpy()
        self._conv_bias_np = params["conv_bias"].numpy()
        if per_landmark:
            self._A_np = params["conv_w"].numpy()
        self._W_np = np.ascontiguousarray(W.reshape(-1, 4 * Q), dtype=np.float32)

    def path_integral(self, x, b, alphas, weights, target: int):
        """Return ``(sum_k w_k dF(x_k)/dx, out)`` along straight paths, all steps at once.

        ``x_k = b + alphas[k] * (x - b)`` for NumPy arrays ``x``, ``b`` of shape
        ``(n, P, 2, L)``; ``alphas`` must be increasing. ``out`` has shape
        ``(n, m, n_outputs)``. Runs eagerly (its dense stages are compiled), not
        inside a caller's ``tf.function``.
        Exact reformulation exploiting that ReLU is piecewise linear along the
        path; see :func:`igselect.attribution._emo_path.path_integral`.
        """
        from ._emo_path import path_integral

        return path_integral(self, x, b, alphas, weights, target)

    def path_samples_per_call(self, n_steps: int, budget: int) -> int:
        """Samples per :meth:`path_integral` call whose tensors fit in ``budget`` bytes."""
        from ._emo_path import path_bytes_per_sample

        return max(1, int(budget // path_bytes_per_sample(self, n_steps)))
