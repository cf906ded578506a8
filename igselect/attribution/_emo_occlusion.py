"""Occlusion on :func:`~igselect.network.build_emo_network` models, all landmarks at once.

The generic :func:`~igselect.attribution.occlusion` runs a full forward pass per
occluded copy: ``L`` passes per sample, each streaming the LSTM's large input
kernel (43 MB on the paper's network). In an EMO network with a ``(kh, 1)``
conv kernel every conv feature of landmark ``l`` depends on that landmark's two
coordinates only (``standardize`` is per coordinate, the conv reads one
landmark, BatchNormalization at inference is an affine map per filter, folded
into the LSTM input kernel by :class:`~igselect.attribution._emo_engine._EmoEngine`).
So hiding landmark ``l`` changes only its block of the LSTM input, and the
occluded copy's input projection is, frame by frame,

``z_l[p] = z[p] + (a_l(b)[p] - a_l(x)[p]) @ W_l``

with ``a_l`` the landmark's ``2F`` conv activations and ``W_l`` its ``2F`` rows
of the (folded) input kernel. All ``L`` deltas together cost one batched
matmul, about one more input projection; a group's delta is the sum of its
members'. With one baseline shared by the samples, its shares ``a_l(b) @ W_l``
are computed once per call and the sample's shares ``a_l(x) @ W_l`` also sum to
its projection ``z``, so a sample costs one such matmul. Only the small LSTM
recurrence and the dense head run once per occluded copy. Per sample that is
one or two passes of the large layer instead of ``L`` (measured in the user
guide, "Speed of the attribution methods").
"""

from __future__ import annotations

import functools

import numpy as np

from ._emo_engine import _EmoGraph

__all__: list[str] = []

#: Bytes of per-landmark tensors (conv activations, their differences and the
#: projection deltas) one compiled call may hold; bounds the samples per call.
OCCLUSION_BUDGET = 128 * 2**20
_MAX_SPECS = 4  # network configurations whose compiled occlusion stage is kept


def supports(engine) -> bool:
    """Whether ``engine`` (a resolved engine object) can take the landmark-delta path."""
    return isinstance(engine, _EmoGraph) and engine.per_landmark and engine.dtype == "float32"


def samples_per_call(engine, n_groups: int, batch_size: int | None, n_samples: int) -> int:
    """Samples per compiled call: as many as keep the per-landmark tensors under
    :data:`OCCLUSION_BUDGET`, fewer if ``batch_size`` (occluded copies per call) says
    so, and always at least one sample (all its groups); balanced over the calls."""
    P, L, F, Q = engine.n_frames, engine.n_landmarks, engine.n_filters, engine.lstm_units
    per_sample = 4 * P * L * (3 * 2 * F + 4 * Q)  # a(x), a(b), their difference; deltas
    s = max(1, OCCLUSION_BUDGET // per_sample)
    if batch_size is not None:
        s = min(s, batch_size // max(n_groups, 1))
    s = max(1, min(s, n_samples))
    return int(-(-n_samples // -(-n_samples // s)))  # balanced calls: little padding


@functools.lru_cache(maxsize=_MAX_SPECS)
def _compiled(spec: tuple):
    """One ``tf.function`` of :func:`_drops` per network configuration (weights are arguments)."""
    import tensorflow as tf

    def call(params, x, b, segments, n_groups, target, grouped, shared):
        graph = _EmoGraph(spec, params)
        return _drops(graph, x, b, segments, n_groups, target, grouped, shared)

    name = f"emo_occlusion_{abs(hash(spec)):x}"
    call.__code__ = call.__code__.replace(co_name=name)
    call.__name__ = call.__qualname__ = name
    return tf.function(call, autograph=False, reduce_retracing=True)


def _drops(graph: _EmoGraph, x, b, segments, n_groups, target: int, grouped: bool, shared: bool):
    """``(F(x), F(x with each group occluded))`` for raw inputs ``x`` of shape ``(s, P, 2, L)``.

    ``b``: baselines ``(s, P, 2, L)``, or one ``(1, P, 2, L)`` when ``shared``.
    ``segments``: the group of every landmark (``n_groups`` for landmarks in no
    group), used when ``grouped``; otherwise every landmark is its own group, in
    order. Returns ``f_x`` of shape ``(s,)`` and ``f_occ`` of shape
    ``(n_groups, s)``, the ``target`` column.
    """
    import tensorflow as tf

    P, L, F, Q = graph.n_frames, graph.n_landmarks, graph.n_filters, graph.lstm_units
    s = tf.shape(x)[0]
    W = graph._W  # (L * 2F, 4Q), rows in (landmark, coordinate, filter) order
    W_l = tf.reshape(W, [L, 2 * F, 4 * Q])  # landmark l's rows

    def per_landmark(a):  # (rows, L * 2F) -> every landmark's share (L, rows, 4Q) of a @ W
        return tf.matmul(tf.transpose(tf.reshape(a, [-1, L, 2 * F]), [1, 0, 2]), W_l)

    a_x = graph._features(x)  # (s * P, L * 2F)
    if shared:  # one baseline: its shares once, the sample's shares sum to its projection
        part_x = per_landmark(a_x)  # (L, s * P, 4Q)
        z_x = tf.reduce_sum(part_x, axis=0)
        part_b = tf.reshape(per_landmark(graph._features(b)), [L, 1, P, 4 * Q])
        delta = tf.reshape(part_b - tf.reshape(part_x, [L, -1, P, 4 * Q]), [L, -1, 4 * Q])
    else:  # the projection once, the shares of the differences
        z_x = tf.matmul(a_x, W)  # (s * P, 4Q)
        delta = per_landmark(graph._features(b) - a_x)  # (L, s * P, 4Q)
    if grouped:  # a group's delta is the sum of its members' (the extra segment: no group)
        delta = tf.math.unsorted_segment_sum(delta, segments, n_groups + 1)[:-1]
    z_occ = tf.reshape(z_x[None] + delta, [-1, 4 * Q])  # rows (group, sample, frame)
    out = graph._head(tf.concat([z_x, z_occ], axis=0), (n_groups + 1) * s)[:, target]
    return out[:s], tf.reshape(out[s:], [n_groups, s])


def occlusion_drops(
    engine,
    X: np.ndarray,
    base: np.ndarray,
    members: list[np.ndarray],
    target: int,
    batch_size: int | None,
) -> np.ndarray:
    """``F(x_i) - F(x_i with group g occluded)`` as ``(n, n_groups)`` float64.

    ``X``: ``(n, P, 2, L)`` float32; ``base``: ``(1 or n, P, 2, L)``;
    ``members``: the non-overlapping landmark indices of every group. Samples go
    in fixed-shape chunks of :func:`samples_per_call` (the last one padded).
    """
    import tensorflow as tf

    from ._gradients import _padded

    n, L = X.shape[0], X.shape[-1]
    n_groups = len(members)
    singletons = n_groups == L and all(
        idx.size == 1 and idx[0] == g for g, idx in enumerate(members)
    )
    segments = np.full(L, n_groups, np.int32)
    for g, idx in enumerate(members):
        segments[idx] = g
    fn = _compiled(engine.spec)
    s = samples_per_call(engine, n_groups, batch_size, n)
    shared = base.shape[0] == 1
    b_shared = tf.constant(np.ascontiguousarray(base, np.float32)) if shared else None
    seg, n_g = tf.constant(segments), tf.constant(n_groups, tf.int32)
    out = np.empty((n, n_groups), np.float64)
    for start in range(0, n, s):
        stop = min(start + s, n)
        x = tf.constant(_padded(np.ascontiguousarray(X[start:stop], np.float32), s))
        b = b_shared if shared else tf.constant(_padded(base[start:stop].astype(np.float32), s))
        f_x, f_occ = fn(engine.params, x, b, seg, n_g, int(target), not singletons, shared)
        rows = stop - start
        out[start:stop] = f_x.numpy()[:rows, None] - f_occ.numpy()[:, :rows].T
    return out
