"""Drawing a face for the landmark plots of :mod:`igselect.plotting`.

The shared pieces of those plots: a new figure's axes when none is given, the
face to draw on (checked, or the scheme's canonical shape), the grey landmark dots
and the scheme's edges joined into polylines, and the reading of a float score
vector, a boolean mask or an index array as scores and a selection.
"""

from __future__ import annotations

import numpy as np

from .landmarks import mesh
from .landmarks.schemes import SCHEMES, resolve_scheme

__all__: list[str] = []

_HIGHLIGHT = "#1f5fbf"  # the blue of the paper's Fig. 3 circles


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _check_face(face, n_landmarks: int | None = None, scheme=None) -> np.ndarray:
    if face is None:
        if scheme is None and n_landmarks in (None, mesh.N_LANDMARKS):
            return mesh.mean_shape()
        return resolve_scheme(scheme, n_landmarks).canonical_shape()
    arr = np.asarray(face, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 2 or not np.isfinite(arr).all():
        raise ValueError(
            "face must be a finite array of shape (2, n_landmarks). "
            f"Received: face.shape={arr.shape}"
        )
    if n_landmarks is not None and arr.shape[1] != n_landmarks:
        raise ValueError(
            f"face has {arr.shape[1]} landmarks but the scores have {n_landmarks}. "
            f"Received: face.shape={arr.shape}"
        )
    return arr


def _face_scheme(face: np.ndarray, scheme):
    """The scheme to draw ``face`` with: ``scheme``, or inferred; None if unknown."""
    if scheme is not None:
        return resolve_scheme(scheme, face.shape[1], received=f"face.shape={face.shape}")
    counts = {s.n_landmarks: s for s in SCHEMES.values()}
    return counts.get(face.shape[1])


def _edge_chains(edges) -> list[list[int]]:
    """Join consecutive edges that share an end point into polylines (fewer artists)."""
    chains: list[list[int]] = []
    for a, b in np.asarray(edges, dtype=int).reshape(-1, 2).tolist():
        if chains and chains[-1][-1] == a:
            chains[-1].append(b)
        else:
            chains.append([a, b])
    return chains


def _draw_face(ax, face: np.ndarray, *, point_size: float | None = None, scheme=None) -> None:
    """Grey landmark dots plus the scheme's edges, in image orientation."""
    scheme = _face_scheme(face, scheme)
    for line in _edge_chains(scheme.edges if scheme is not None else ()):
        ax.plot(*face[:, line], color="0.55", lw=0.8, zorder=1, solid_capstyle="round")
    if point_size is None:
        point_size = 4.0 if face.shape[1] > 100 else 14.0
    ax.scatter(*face, s=point_size, color="0.72", linewidths=0, zorder=2)
    ax.set_aspect("equal")
    pad = 0.04 * np.ptp(face, axis=1).max()
    ax.set_xlim(face[0].min() - pad, face[0].max() + pad)
    ax.set_ylim(face[1].max() + pad, face[1].min() - pad)  # y down, as in images
    ax.set_axis_off()


def _as_selection(scores_or_mask, n_landmarks) -> tuple[np.ndarray | None, np.ndarray]:
    """Return (scores or None, selected indices) from scores, a boolean mask or indices."""
    arr = np.asarray(scores_or_mask)
    if arr.ndim != 1 or (arr.size == 0 and arr.dtype.kind not in "biu"):
        raise ValueError(
            "scores_or_mask must be a 1-D array of scores, a boolean mask or landmark "
            f"indices. Received: shape={arr.shape}"
        )
    if arr.dtype == bool:
        return None, np.flatnonzero(arr)
    if np.issubdtype(arr.dtype, np.integer):
        return None, np.unique(arr)
    scores = arr.astype(np.float64)
    if not np.isfinite(scores).all():
        raise ValueError("scores_or_mask contains NaN or infinite values.")
    if n_landmarks is None:
        return scores, np.array([], dtype=int)
    if n_landmarks > scores.size:  # >= 1: checked by plot_landmark_importance's constraints
        raise ValueError(
            f"n_landmarks must be in [1, {scores.size}]. Received: n_landmarks={n_landmarks!r}"
        )
    return scores, np.argsort(-scores, kind="stable")[: int(n_landmarks)]
