"""Compiled (Numba) sparse kernels of the whole-path IG engine.

The whole-path engine (:mod:`igselect.attribution._emo_path`) needs, for every
row ``r`` (a sample-frame) and conv feature ``j`` whose ReLU switches along
the path at node ``ks[r, j]``:

- forward: ``corr[r, ks, :] += delta * (u[r, j], v[r, j]) * W[j, :]``, an
  outer-product update of the LSTM input projections at that node;
- backward: ``da[r, j] += delta * W[j, :] . T[r, ks, :]``, a sampled dot
  product with the suffix sums ``T`` of the projection gradients.

Neither maps onto a dense matmul, and gathering the rows of ``W`` per
(row, node) pair copies ``W`` many times. These kernels instead split the rows
into a few blocks (run in parallel on Numba's threads,
``numba.set_num_threads``) and walk ``W`` in chunks of :data:`CHUNK` rows that
stay in L2 cache; for every row of the block, the chunk's switching features
update that row's per-node buffers (``m x 4Q`` floats, also cache-resident).
``W`` is thus streamed from memory once per block, not once per (row, node).

``on0`` (the ReLU state at the first node) and ``ks`` are found by counting the
nodes that share the first node's state (the state is monotone in ``alpha``;
the count vectorises, unlike a bisection). :func:`switch_states_interpolated`
evaluates the states from the interpolated inputs with the per-step engine's
float32 arithmetic (per-landmark convolutions); :func:`switch_states` from
``u + alpha_k * v`` (other kernels).
"""

from __future__ import annotations

import numba
import numpy as np

__all__: list[str] = []

#: Rows of ``W`` per chunk (512 rows of 4Q = 232 float32 gates: 464 KiB, in L2).
CHUNK = 512


def row_blocks(n_rows: int) -> int:
    """Parallel row blocks: two per Numba thread (load balance), at most one per row."""
    return int(max(1, min(n_rows, 2 * numba.get_num_threads())))


@numba.njit(parallel=True, cache=True, nogil=True)
def switch_states(u, v, alphas, um, vm, state):  # pragma: no cover - compiled
    """ReLU state at the first node and switch node of every feature.

    Parameters
    ----------
    u, v : (R, D) float32
        Conv pre-activations at ``alpha = 0`` and their slope along the path.
    alphas : (m,) float32, increasing
    um, vm : (R, D) float32, out
        ``u * on0`` and ``v * on0``.
    state : (R, D) int32, out
        ``ks``, the number of nodes whose state equals the first node's (so the
        first node that differs; ``m`` if none), stored as ``-(ks + 1)`` where
        ``on0`` is set.
    """
    R, D = u.shape
    m = alphas.shape[0]
    a0 = alphas[0]
    for r in numba.prange(R):
        ur = u[r]
        vr = v[r]
        on0 = np.empty(D, np.bool_)
        count = np.zeros(D, np.int32)
        for j in range(D):
            on0[j] = ur[j] + a0 * vr[j] > 0
        for k in range(m):
            a = alphas[k]
            for j in range(D):
                count[j] += (ur[j] + a * vr[j] > 0) == on0[j]
        for j in range(D):
            if on0[j]:
                um[r, j] = ur[j]
                vm[r, j] = vr[j]
                state[r, j] = -(count[j] + 1)
            else:
                um[r, j] = 0.0
                vm[r, j] = 0.0
                state[r, j] = count[j]


@numba.njit(parallel=True, cache=True, nogil=True)
def switch_states_interpolated(
    x, b, mean, inv_scale, A, bias, alphas, u, v, um, vm, state
):  # pragma: no cover - compiled
    """:func:`switch_states` with the states evaluated as the per-step engine does.

    For per-landmark convolutions (kernel ``(kh, 1)``) the state of feature ``j``
    at node ``k`` is computed from the interpolated input exactly as the
    per-step engine (and, to round-off, the naive loop) computes it, so the rare
    features that sit within round-off of their kink at a node are gated the
    same way: ``xi = b + alpha_k * (x - b)``, ``xs = (xi - mean) * inv_scale``,
    ``c = fma(xs_1, A[1], xs_0 * A[0]) + bias`` in float32 (the fused
    multiply-add emulated in float64). ``u``, ``v`` only supply ``um``, ``vm``.

    ``x``, ``b`` (R, 2, L); ``mean``, ``inv_scale`` (2, L); ``A`` (2, H) and
    ``bias`` (H,) with ``H = D / L``; features ordered ``j = lm * H + h``.
    """
    R, D = u.shape
    L = x.shape[2]
    H = D // L
    m = alphas.shape[0]
    for r in numba.prange(R):
        xs0 = np.empty(m, np.float32)
        xs1 = np.empty(m, np.float32)
        for lm in range(L):
            b0 = b[r, 0, lm]
            b1 = b[r, 1, lm]
            t0 = x[r, 0, lm] - b0
            t1 = x[r, 1, lm] - b1
            for k in range(m):
                xs0[k] = ((b0 + alphas[k] * t0) - mean[0, lm]) * inv_scale[0, lm]
                xs1[k] = ((b1 + alphas[k] * t1) - mean[1, lm]) * inv_scale[1, lm]
            for h in range(H):
                a0 = A[0, h]
                a1 = np.float64(A[1, h])
                bh = bias[h]
                j = lm * H + h
                c = np.float32(np.float64(xs1[0]) * a1 + np.float64(xs0[0] * a0)) + bh
                s0 = c > 0
                if s0:
                    um[r, j] = u[r, j]
                    vm[r, j] = v[r, j]
                else:
                    um[r, j] = 0.0
                    vm[r, j] = 0.0
                c = np.float32(np.float64(xs1[m - 1]) * a1 + np.float64(xs0[m - 1] * a0)) + bh
                if s0 == (c > 0):
                    state[r, j] = -(m + 1) if s0 else m
                    continue
                count = 0
                for k in range(m):
                    c = np.float32(np.float64(xs1[k]) * a1 + np.float64(xs0[k] * a0)) + bh
                    count += (c > 0) == s0
                state[r, j] = -(count + 1) if s0 else count


@numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
def switch_forward(u, v, state, W, n_blocks, cu, cv):  # pragma: no cover - compiled
    """Per-node projection updates of the switching features.

    ``cu[r, ks] += delta * u[r, j] * W[j]`` and ``cv[r, ks] += delta * v[r, j] * W[j]``
    for every feature ``j`` of row ``r`` that switches at node ``ks < m``
    (``delta = +1`` turning on, ``-1`` turning off); ``cu``, ``cv`` (R, m, G)
    float32 are zero on entry.
    """
    R, D = u.shape
    m = cu.shape[1]
    G = W.shape[1]
    per = (R + n_blocks - 1) // n_blocks
    for t in numba.prange(n_blocks):
        for j0 in range(0, D, CHUNK):
            j1 = min(D, j0 + CHUNK)
            for r in range(t * per, min(R, (t + 1) * per)):
                for j in range(j0, j1):
                    code = state[r, j]
                    ks = -code - 1 if code < 0 else code
                    if ks >= m:
                        continue
                    a = -u[r, j] if code < 0 else u[r, j]
                    b = -v[r, j] if code < 0 else v[r, j]
                    ru = cu[r, ks]
                    rv = cv[r, ks]
                    wj = W[j]
                    for g in range(G):
                        ru[g] += a * wj[g]
                        rv[g] += b * wj[g]


@numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
def switch_backward(state, W, T, dense, n_blocks, da):  # pragma: no cover - compiled
    """Gradient w.r.t. the conv pre-activations.

    ``da[r, j] = on0 * dense[r, j] + [ks < m] * delta * W[j] . T[r, ks]``, with
    ``dense = S @ W.T`` (``S`` the weighted sum of the projection gradients over
    the nodes) and ``T`` (R, m, G) their suffix sums.
    """
    R, D = dense.shape
    m = T.shape[1]
    G = W.shape[1]
    per = (R + n_blocks - 1) // n_blocks
    for t in numba.prange(n_blocks):
        for j0 in range(0, D, CHUNK):
            j1 = min(D, j0 + CHUNK)
            for r in range(t * per, min(R, (t + 1) * per)):
                Tr = T[r]
                for j in range(j0, j1):
                    code = state[r, j]
                    if code < 0:
                        ks = -code - 1
                        value = dense[r, j]
                    else:
                        ks = code
                        value = np.float32(0.0)
                    if ks < m:
                        acc = np.float32(0.0)
                        wj = W[j]
                        tk = Tr[ks]
                        for g in range(G):
                            acc += wj[g] * tk[g]
                        value += -acc if code < 0 else acc
                    da[r, j] = value


@numba.njit(parallel=True, cache=True, nogil=True)
def assemble_projections(U0, V0, cu, cv, alphas, n_frames, z):  # pragma: no cover
    """``z[s, k, p] = U0[r] + a_k V0[r] + sum_{k' <= k} (cu[r, k'] + a_k cv[r, k'])``.

    ``r = s * n_frames + p``; the cumulative sums are taken in float64.
    ``U0``, ``V0`` (R, G); ``cu``, ``cv`` (R, m, G); ``z`` (n, m, P, G) out.
    """
    R, m, G = cu.shape
    for r in numba.prange(R):
        s = r // n_frames
        p = r - s * n_frames
        acc_u = np.zeros(G, np.float64)
        acc_v = np.zeros(G, np.float64)
        for k in range(m):
            a = np.float64(alphas[k])
            for g in range(G):
                acc_u[g] += cu[r, k, g]
                acc_v[g] += cv[r, k, g]
                z[s, k, p, g] = U0[r, g] + a * V0[r, g] + acc_u[g] + a * acc_v[g]


@numba.njit(parallel=True, cache=True, nogil=True)
def suffix_sums(dz, weights, n_frames, T, S):  # pragma: no cover - compiled
    """Weighted suffix sums of the projection gradients, in float64.

    ``dz`` (n, m, P, G): gradients at every node; ``T[r, k] = sum_{k' >= k}
    w_k' dz[s, k', p]`` (R, m, G) float32 and ``S = T[:, 0]`` out.
    """
    n, m, P, G = dz.shape
    for r in numba.prange(n * P):
        s = r // n_frames
        p = r - s * n_frames
        acc = np.zeros(G, np.float64)
        for k in range(m - 1, -1, -1):
            w = weights[k]
            for g in range(G):
                acc[g] += w * dz[s, k, p, g]
                T[r, k, g] = acc[g]
        for g in range(G):
            S[r, g] = acc[g]
