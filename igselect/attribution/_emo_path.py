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
per-step computation up to float32 round-off. Round-off matters where a
feature sits within it of its kink at a node, since the gradient there is
gated on or off; for per-landmark convolutions (the default kernel) the states
are therefore evaluated from the interpolated input exactly as the per-step
engine evaluates them (:func:`~igselect.attribution._emo_sparse.switch_states_interpolated`),
and only the linear pieces use ``u_j + alpha v_j``. It replaces ``2 m`` dense
rows of the ``D x 4Q`` input projection per frame by 3 plus work proportional
to the number of switching features.

Implementation: TensorFlow computes ``u``, ``v``, the dense matmul rows, the
head under a GradientTape and the transposed conv; the sparse parts (the switch
node of every feature, the per-node projection updates and the sampled dot
products of the backward pass) run in the compiled kernels of
:mod:`igselect.attribution._emo_sparse`, which read every row of ``W`` once per
tile of rows instead of gathering it per (row, node) pair. The cumulative sums
over the nodes (forward updates and backward suffix sums) are accumulated in
float64, so the result agrees with the per-step computation to float32 round-off
at any number of steps.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


def path_bytes_per_sample(engine, n_steps: int) -> int:
    """Peak bytes per sample of :func:`path_integral`.

    Per conv feature and frame: ``u``, ``v``, their masked copies, the switch
    state, the dense backward row and the result (28 bytes); per (frame, node,
    gate): the per-node updates (float32, two), their float64 cumulative sums,
    the projections, their gradients and the suffix sums (about 64 bytes).
    """
    P, D, G = engine.n_frames, 2 * engine.n_landmarks * engine.n_filters, 4 * engine.lstm_units
    return 28 * P * D + 64 * P * n_steps * G


def path_integral(engine, x, b, alphas, weights, target: int):
    """Return ``(sum_k w_k dF(x_k)/dx, out)`` for straight paths from ``b`` to ``x``.

    Parameters
    ----------
    engine : _EmoEngine
    x, b : ndarray of shape (n, P, 2, L), float32
        Inputs and their baselines (one per sample).
    alphas, weights : ndarray of shape (m,), float32
        Quadrature nodes (strictly increasing) and weights.
    target : int
        Output column.

    Returns
    -------
    grad : ndarray of shape (n, P, 2, L), float32
    out : ndarray of shape (n, m, n_outputs), float32
        Model outputs at every node.
    """
    from ._emo_sparse import (
        assemble_projections,
        row_blocks,
        suffix_sums,
        switch_backward,
        switch_forward,
        switch_states,
        switch_states_interpolated,
    )

    x = np.ascontiguousarray(x, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    alphas = np.ascontiguousarray(alphas, dtype=np.float32)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    n, P = x.shape[0], engine.n_frames
    m, G = alphas.shape[0], 4 * engine.lstm_units
    if m > 1 and not np.all(np.diff(alphas) > 0):
        raise ValueError("path_integral needs strictly increasing nodes (alphas).")
    u, v = (t.numpy() for t in engine._uv_fn(x, b))  # (R, D) each, R = n * P
    R, D = u.shape
    blocks = row_blocks(R)
    cu = np.zeros((R, m, G), np.float32)
    cv = np.zeros((R, m, G), np.float32)
    if engine._conv_relu:
        um, vm = np.empty_like(u), np.empty_like(v)
        state = np.empty((R, D), np.int32)
        if engine.per_landmark:  # the states exactly as the per-step engine sees them
            switch_states_interpolated(
                x.reshape(R, 2, -1), b.reshape(R, 2, -1), engine._mean_np,
                engine._inv_scale_np, engine._A_np, engine._conv_bias_np,
                alphas, u, v, um, vm, state,
            )  # fmt: skip
        else:
            switch_states(u, v, alphas, um, vm, state)
        switch_forward(u, v, state, engine._W_np, blocks, cu, cv)
    else:  # a linear conv: nothing switches
        um, vm = u, v
    proj = engine._proj_fn(np.concatenate([um, vm])).numpy()  # (2R, G)
    del um, vm, u, v
    z = np.empty((n, m, P, G), np.float32)
    assemble_projections(proj[:R], proj[R:], cu, cv, alphas, P, z)
    del cu, cv
    out, dz = engine._head_grad_fn(z.reshape(-1, G), target)
    T = np.empty((R, m, G), np.float32)
    S = np.empty((R, G), np.float32)
    suffix_sums(dz.numpy().reshape(n, m, P, G), weights, P, T, S)
    dense = engine._dense_back_fn(S).numpy()  # (R, D): S @ W.T
    if engine._conv_relu:
        da = np.empty_like(dense)
        switch_backward(state, engine._W_np, T, dense, blocks, da)
    else:
        da = dense
    grad = engine._conv_t_fn(da).numpy()
    return grad, out.numpy().reshape(n, m, -1)
