"""Exact whole-path Integrated Gradients for build_emo_network models.

Along the straight path ``x_k = b + alpha_k (x - b)`` the ``standardize`` layer
and the convolution are affine, so every conv pre-activation ``j`` (``D = 2LF``
per frame) is exactly linear in ``alpha``::

    c_j(alpha) = u_j + alpha * v_j,   u = conv(std(b)) + bias,   v = conv((x - b) / sigma).

After the ReLU, ``h_j(alpha) = on_j(alpha) * c_j(alpha)`` with
``on_j(alpha) = [c_j(alpha) > 0]``, which changes at most once along the path.
With BatchNorm folded into the LSTM input kernel ``W`` (``D x 4Q``), the LSTM
input projection of step ``k`` is::

    z_k = (on_k * u) @ W + alpha_k (on_k * v) @ W + b'
        = z_1-terms + sum over features j that switch at a step <= k of delta_j (u_j, v_j) W_j

(``delta_j = +1`` if ``j`` turns on, ``-1`` if it turns off). So all ``m``
projections of a path need TWO dense matmul rows per frame (``(on_1 * u) @ W`` and
``(on_1 * v) @ W``) plus a sparse update for the switching features, placed at
their switch step and cumulated over steps. The small head (LSTM recurrence,
dense layers) runs for every (sample, step) pair under a GradientTape and gives
``G_k = w_k dF/dz_k``. Since standardize and conv are linear and the same for
every step, ``sum_k w_k dF(x_k)/dx = conv^T(sum_k on_k * (G_k @ W^T)) / sigma``,
and per feature ``sum_k on_kj W_j . G_k = on_1j W_j . S + delta_j W_j . T[ks_j]``
with ``S = sum_k G_k`` and the suffix sums ``T[k] = sum_{k' >= k} G_k'``: ONE
dense matmul row per frame (``S @ W^T``) plus a sparse dot product per switching
feature.

This is an exact reformulation, not an approximation: the result equals the
per-step computation up to float32 round-off (the only difference is that
``c_j`` is evaluated as ``u_j + alpha v_j`` rather than from the interpolated
input, which can flip only features with ``c_j`` within round-off of 0). It
replaces ``2 m`` dense rows of the ``D x 4Q`` input projection per frame by 3
plus work proportional to the number of switching features.

Implementation of the sparse parts: the node ``ks_j`` at which each feature
switches is found by an XLA-fused count over the nodes; the switching features
are grouped by (group of ``engine.switch_group`` frames, node) pair; for every
pair the rows of ``W`` of its features are gathered once and multiplied by the
coefficients of the group's frames (one small matmul in a ``tf.while_loop``),
both in the forward pass and, with the suffix sums, in the backward pass. On
the paper-sized network with random samples as baselines about half the
features switch, so these gathers (about 8 copies of ``W`` per sample) dominate.
"""

from __future__ import annotations

import math

__all__: list[str] = []


def path_bytes_per_sample(engine, n_steps: int) -> int:
    """Peak bytes per sample of :func:`path_integral`, worst case (every feature switches).

    About 88 bytes per conv feature and frame (float32 ``u``, ``v``, the masked
    stack, the gradient, the switch nodes and the scattered switch corrections),
    48 bytes per (node, frame, gate) entry (projections, their gradients, suffix
    sums and the head's tape) and, with ``engine.keep_gathers``, the gathered
    rows of ``W`` (at most one per feature and frame: ``P * D * 4Q * itemsize``).
    """
    P, D, G = engine.n_frames, 2 * engine.n_landmarks * engine.n_filters, 4 * engine.lstm_units
    kept = P * D * G * (2 if engine.dtype == "bfloat16" else 4) if engine.keep_gathers else 0
    return 88 * P * D + 48 * P * n_steps * G + kept


def _switch_steps(u, v, alphas, group: int):
    """ReLU states along the path, from ``on_k = [u + alphas[k] v > 0]``.

    Returns ``(on0, ks, present)``: the state at the first node (R, D) bool; the
    first node index at which the state differs from ``on0`` (R, D) int32, ``m``
    if it never does; and ``present`` (R / group, m, D) bool, whether any row of
    a group of ``group`` consecutive rows switches feature ``j`` at node ``k``. Compiled with XLA so the (R, D, m) states are
    never materialised; ``on`` is monotone in ``alpha`` (also after rounding), so
    the number of nodes whose state equals ``on0`` is the switch index.
    """
    import tensorflow as tf

    m = alphas.shape[0]
    on = u[..., None] + alphas * v[..., None] > 0  # (R, D, m)
    on0 = on[..., 0]
    ks = tf.reduce_sum(tf.cast(tf.equal(on, on0[..., None]), tf.int32), axis=-1)
    hit = tf.equal(tf.reshape(ks, [-1, group, ks.shape[-1], 1]), tf.range(m))
    present = tf.reduce_any(hit, axis=1)  # (R / group, D, m)
    return on0, ks, tf.transpose(present, [0, 2, 1])


def path_integral(engine, x, b, alphas, weights, target: int):
    """Return ``(sum_k w_k dF(x_k)/dx, out)`` for straight paths from ``b`` to ``x``.

    Parameters
    ----------
    engine : _EmoEngine
    x, b : tf.Tensor of shape (n, P, 2, L), float32
        Inputs and their baselines (one per sample).
    alphas, weights : tf.Tensor of shape (m,), float32
        Quadrature nodes (increasing) and weights.
    target : int
        Output column.

    Returns
    -------
    grad : tf.Tensor of shape (n, P, 2, L), float32
    out : tf.Tensor of shape (n, m, n_outputs), float32
        Model outputs at every node.
    """
    import tensorflow as tf

    m = alphas.shape[0]
    if m is None:
        raise ValueError("path_integral needs a static number of nodes (alphas.shape[0]).")
    n, P, G = tf.shape(x)[0], engine.n_frames, 4 * engine.lstm_units
    big, W = engine._big, engine._W
    u = engine._preact((b - engine._mean) * engine._inv_scale)  # (R, D), R = n * P
    v = engine._preact((x - b) * engine._inv_scale, bias=False)
    R = tf.shape(u)[0]
    group = math.gcd(P, engine.switch_group)  # divides R = n * P
    switching = engine._conv_relu and m > 1
    if switching:
        on0, ks, present = engine._switch_fn(u, v, alphas, group)
        on0f = tf.cast(on0, tf.float32)
        delta = 1.0 - 2.0 * on0f  # +1: turns on, -1: turns off
        dense = tf.concat([u * on0f, v * on0f], axis=0)
    else:  # a linear conv (or a single node): nothing switches
        dense = tf.concat([u, v], axis=0)
    proj = tf.cast(tf.matmul(tf.cast(dense, big), W), tf.float32)
    U0, V0 = proj[:R], proj[R:]  # (R, G)
    z = U0[:, None] + alphas[None, :, None] * V0[:, None]  # (R, m, G)
    if switching:
        plan = _switch_plan(u, v, delta, ks, present, group, m)
        wks, corr = _switch_forward(W, big, plan, group, m, engine.keep_gathers)
        z = z + corr[0] + alphas[None, :, None] * corr[1]
    z = tf.reshape(tf.transpose(tf.reshape(z, [n, P, m, G]), [0, 2, 1, 3]), [-1, G])
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = engine._head(z, n * m)
        y = out[:, target]
    dz = tape.gradient(y, z)  # (n*m*P, G)
    dz = tf.reshape(tf.transpose(tf.reshape(dz, [n, m, P, G]), [0, 2, 1, 3]), [R, m, G])
    Gk = dz * weights[None, :, None]
    S = tf.reduce_sum(Gk, axis=1)
    da = tf.cast(tf.matmul(tf.cast(S, big), W, transpose_b=True), tf.float32) * (
        on0f if switching else 1.0
    )
    if switching:
        T = tf.cumsum(Gk, axis=1, reverse=True)  # suffix sums over nodes
        da = _switch_backward(da, T, W, big, plan, wks, group, m)
    grad = engine._conv_transpose(da)
    return grad, tf.reshape(out, [n, m, -1])


def _switch_plan(u, v, delta, ks, present, group, m):
    """Index the switching features by (row group, node) pair.

    Returns a dict: ``cols`` (E,) the feature of each entry, sorted by pair
    ``g * m + k``; ``starts`` (n_groups * m + 1,) the first entry of every pair;
    ``coef`` (E, 2 * group) the coefficients ``delta * u`` and ``delta * v`` of the
    group's rows that switch at that node (0 for those that do not); ``sign``
    (E, group) ``delta`` likewise; ``where`` (E, 2) the (feature, group) of each entry.
    """
    import tensorflow as tf

    coords = tf.where(present)  # (E, 3): (group, node, feature), sorted
    gi, k, j = coords[:, 0], coords[:, 1], coords[:, 2]
    n_pairs = tf.shape(present, out_type=tf.int64)[0] * m
    starts = tf.searchsorted(gi * m + k, tf.range(n_pairs + 1), side="left")
    rows = gi[:, None] * group + tf.range(group, dtype=tf.int64)  # (E, group)
    at = tf.stack([rows, tf.broadcast_to(j[:, None], tf.shape(rows))], axis=-1)
    here = tf.cast(tf.equal(tf.cast(tf.gather_nd(ks, at), tf.int64), k[:, None]), tf.float32)
    sign = here * tf.gather_nd(delta, at)
    cu_e, cv_e = tf.gather_nd(u, at) * sign, tf.gather_nd(v, at) * sign
    return dict(
        cols=j,
        starts=tf.cast(starts, tf.int32),
        coef=tf.concat([cu_e, cv_e], axis=1),
        sign=sign,
        where=tf.stack([j, gi], axis=1),
    )


def _switch_forward(W, big, plan, group, m, keep):
    """Switch updates of the projections, one small matmul per (row group, node) pair.

    For the pair (g, k) the rows of W of the features switching at node ``k`` in
    any row of group ``g`` are gathered once (kept for the backward pass if
    ``keep``) and multiplied by their coefficients. Returns the kept rows (or
    None) and the cumulated updates ``(2, R, m, 4Q)``.
    """
    import tensorflow as tf

    G = W.shape[1]
    n_pairs = tf.shape(plan["starts"])[0] - 1
    starts, cols, coef = plan["starts"], plan["cols"], tf.cast(plan["coef"], big)
    wks = tf.TensorArray(big, size=n_pairs if keep else 0, infer_shape=False)
    corr = tf.TensorArray(tf.float32, size=n_pairs, element_shape=[2 * group, G])

    def body(i, wks, corr):
        lo, hi = starts[i], starts[i + 1]
        wk = tf.gather(W, cols[lo:hi])
        upd = tf.cast(tf.matmul(coef[lo:hi], wk, transpose_a=True), tf.float32)
        if keep:
            wks = wks.write(i, wk)
        return i + 1, wks, corr.write(i, upd)

    _, wks, corr = tf.while_loop(lambda i, *_: i < n_pairs, body, [tf.constant(0), wks, corr])
    corr = tf.cumsum(tf.reshape(corr.stack(), [-1, m, 2, group, G]), axis=1)
    corr = tf.reshape(tf.transpose(corr, [2, 0, 3, 1, 4]), [2, -1, m, G])  # (2, R, m, G)
    return (wks if keep else None), corr


def _switch_backward(da, T, W, big, plan, wks, group, m):
    """Add ``delta_j W_j . T[r, ks_rj]`` for every switching (r, j) to ``da`` (R, D)."""
    import tensorflow as tf

    G = W.shape[1]
    n_pairs = tf.shape(plan["starts"])[0] - 1
    starts, cols = plan["starts"], plan["cols"]
    Tp = tf.cast(
        tf.reshape(tf.transpose(tf.reshape(T, [-1, group, m, G]), [0, 2, 1, 3]), [-1, group, G]),
        big,
    )  # (n_pairs, group, G)
    dots = tf.TensorArray(tf.float32, size=n_pairs, infer_shape=False)

    def body(i, dots):
        lo, hi = starts[i], starts[i + 1]
        wk = tf.gather(W, cols[lo:hi]) if wks is None else wks.read(i)
        return i + 1, dots.write(i, tf.cast(tf.matmul(wk, Tp[i], transpose_b=True), tf.float32))

    _, dots = tf.while_loop(lambda i, *_: i < n_pairs, body, [tf.constant(0), dots])
    vals = dots.concat() * plan["sign"]  # (E, group)
    D = tf.shape(da)[1]
    da_t = tf.reshape(tf.transpose(da), [D, -1, group])
    da_t = tf.tensor_scatter_nd_add(da_t, plan["where"], vals)
    return tf.transpose(tf.reshape(da_t, [D, -1]))
