"""Plots of landmark attributions and selections on the face mesh (matplotlib).

* :func:`plot_landmark_importance` draws one face with its landmarks coloured
  by score, or with the selected ones circled (the paper's Fig. 3 panels).
* :func:`plot_selection_grid` draws one face per number of kept landmarks.
* :func:`plot_ig_path` draws the target-class probability along the
  straight-line IG path from a baseline to an input (the paper's Fig. 2).
* :func:`plot_scores_by_region` draws the attribution share of each mesh
  region and marks the regions that do not move with expression.

Every function draws with the object-oriented matplotlib API only (no
``pyplot`` state is needed besides creating a figure when no ``ax`` is given),
so it works under the non-interactive ``Agg`` backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .landmarks import mesh

__all__ = [
    "plot_landmark_importance",
    "plot_selection_grid",
    "plot_ig_path",
    "plot_scores_by_region",
]

# Ordered MediaPipe contours (FaceLandmarksConnections), copied so that plotting
# does not import MediaPipe (which imports TensorFlow).
# fmt: off
_CONTOURS = {
    "face_oval": [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379,
                  378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127,
                  162, 21, 54, 103, 67, 109, 10],
    "lips_outer": [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0,
                   37, 39, 40, 185, 61],
    "lips_inner": [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13,
                   82, 81, 80, 191, 78],
    "right_eye": [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
                  33],
    "left_eye": [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388,
                 466, 263],
    "right_brow_upper": [70, 63, 105, 66, 107],
    "right_brow_lower": [46, 53, 52, 65, 55],
    "left_brow_upper": [300, 293, 334, 296, 336],
    "left_brow_lower": [276, 283, 282, 295, 285],
    "nose_bridge": [168, 6, 197, 195, 5, 4, 1, 19, 94, 2],
    "nose_base": [98, 97, 2, 326, 327],
}
# fmt: on

_HIGHLIGHT = "#1f5fbf"  # the blue of the paper's Fig. 3 circles


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _check_face(face, n_landmarks: int | None = None) -> np.ndarray:
    if face is None:
        return mesh.mean_shape()
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


def _draw_face(ax, face: np.ndarray, *, point_size: float = 4.0) -> None:
    """Grey landmark dots plus the mesh contours, in image orientation."""
    if face.shape[1] == mesh.N_LANDMARKS:
        for line in _CONTOURS.values():
            ax.plot(*face[:, line], color="0.55", lw=0.8, zorder=1, solid_capstyle="round")
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
    if not 1 <= int(n_landmarks) <= scores.size:
        raise ValueError(
            f"n_landmarks must be in [1, {scores.size}]. Received: n_landmarks={n_landmarks!r}"
        )
    return scores, np.argsort(-scores, kind="stable")[: int(n_landmarks)]


def plot_landmark_importance(
    scores_or_mask,
    *,
    face=None,
    n_landmarks: int | None = None,
    ax=None,
    title: str | None = None,
    cmap: str = "magma_r",
    colorbar: bool = True,
):
    """Draw landmark scores or a landmark selection on a face.

    Parameters
    ----------
    scores_or_mask : array-like of shape (n_landmarks_in,)
        Float scores (e.g. ``GlobalIGSelector.scores_``): every landmark is
        coloured by its score. Boolean mask or integer indices: the selected
        landmarks are circled in blue, as in the paper's Fig. 3.
    face : array-like of shape (2, n_landmarks_in), default=None
        Face to draw on, in image orientation (y down). ``None`` uses the mean
        neutral face of the London set (:func:`igselect.landmarks.mesh.mean_shape`).
    n_landmarks : int, default=None
        With float scores, also circle the ``n_landmarks`` best landmarks.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when ``None``.
    title : str, default=None
        Axes title.
    cmap : str or Colormap, default="magma_r"
        Colormap of the scores.
    colorbar : bool, default=True
        Add a colorbar when scores are drawn.

    Returns
    -------
    ax : matplotlib Axes
        The circled landmarks are the collection with label ``"selected"``.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.random.default_rng(0).random(468)
    >>> ax = plot_landmark_importance(scores, n_landmarks=16)
    >>> len(ax.collections[-1].get_offsets())
    16
    """
    scores, selected = _as_selection(scores_or_mask, n_landmarks)
    size = scores.size if scores is not None else None
    face = _check_face(face, size)
    if selected.size and selected.max() >= face.shape[1]:
        raise ValueError(
            f"landmark index {selected.max()} is out of range for a face of "
            f"{face.shape[1]} landmarks."
        )
    ax = _new_axes(ax, (4.2, 4.8))
    _draw_face(ax, face)
    if scores is not None:
        order = np.argsort(scores)  # draw the important ones last, on top
        sizes = 6 + 40 * (scores[order] - scores.min()) / max(np.ptp(scores), 1e-12)
        points = ax.scatter(
            *face[:, order], c=scores[order], s=sizes, cmap=cmap, linewidths=0, zorder=3
        )
        if colorbar:
            ax.figure.colorbar(points, ax=ax, shrink=0.7, pad=0.02, label="attribution")
    ax.scatter(
        *face[:, selected],
        s=30 if selected.size <= 128 else 16,
        facecolors="none",
        edgecolors=_HIGHLIGHT,
        linewidths=1.1,
        zorder=4,
        label="selected",
    )
    if title is not None:
        ax.set_title(title)
    return ax


def plot_selection_grid(
    ranking_or_selector,
    *,
    sizes: Sequence[int] = (468, 234, 128, 64, 32, 16),
    face=None,
    title: str | None = None,
    ncols: int = 3,
):
    """One face per number of kept landmarks, like the paper's Fig. 3.

    Parameters
    ----------
    ranking_or_selector : GlobalIGSelector or array-like of int
        A fitted selector (its ``ranking_`` is used) or landmark indices
        ordered best first.
    sizes : sequence of int, default=(468, 234, 128, 64, 32, 16)
        Numbers of top landmarks to circle, one panel each.
    face : array-like of shape (2, n_landmarks_in), default=None
        Face to draw on; the mean London neutral face by default.
    title : str, default=None
        Figure title (e.g. the emotion).
    ncols : int, default=3
        Panels per row.

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_selection_grid(np.arange(468)[::-1], sizes=(64, 16))
    >>> len(fig.axes)
    2
    """
    from matplotlib.figure import Figure

    ranking = np.asarray(getattr(ranking_or_selector, "ranking_", ranking_or_selector))
    if ranking.ndim != 1 or not np.issubdtype(ranking.dtype, np.integer):
        raise ValueError(
            "ranking_or_selector must be a fitted selector with ranking_ or a 1-D array of "
            f"landmark indices. Received: shape={ranking.shape}, dtype={ranking.dtype}"
        )
    sizes = [int(s) for s in sizes]
    if not sizes or any(not 1 <= s <= ranking.size for s in sizes):
        raise ValueError(f"sizes must be in [1, {ranking.size}]. Received: sizes={sizes}")
    ncols = min(int(ncols), len(sizes))
    nrows = -(-len(sizes) // ncols)
    fig = Figure(figsize=(2.7 * ncols, 3.1 * nrows + (0.4 if title else 0)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, n in zip(axes, sizes, strict=False):
        plot_landmark_importance(ranking[:n], face=face, ax=ax, title=f"L = {n}")
    for ax in axes[len(sizes) :]:
        fig.delaxes(ax)
    if title is not None:
        fig.suptitle(title)
    return fig


def plot_ig_path(
    model,
    x,
    baseline,
    *,
    target: int = 1,
    n_steps: int = 50,
    ax=None,
    label: str | None = None,
):
    """Target-class probability along the straight path from a baseline to an input.

    Draws ``F(baseline + alpha * (x - baseline))[target]`` against ``alpha`` in
    [0, 1], the quantity whose gradient Integrated Gradients accumulates
    (the paper's Fig. 2). A curve that saturates early means most of the
    attribution is collected near the baseline.

    Parameters
    ----------
    model : keras.Model, callable or fitted EmoClassifier
        Maps a batch ``(n, n_frames, 2, n_landmarks)`` to ``(n, n_outputs)``
        probabilities. An estimator with a ``model_`` attribute is unwrapped.
    x, baseline : array-like of shape (n_frames, 2, n_landmarks)
        The input and the baseline sequence.
    target : int, default=1
        Output column to plot (1 is the positive class of an EmoClassifier).
    n_steps : int, default=50
        Number of intervals; ``n_steps + 1`` points including both ends.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when ``None``.
    label : str, default=None
        Legend label of the curve.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda X: np.stack([1 - X.mean((1, 2, 3)), X.mean((1, 2, 3))], 1)
    >>> ax = plot_ig_path(f, np.ones((4, 2, 5)), np.zeros((4, 2, 5)), n_steps=10)
    >>> ax.lines[0].get_xydata().shape
    (11, 2)
    """
    x = np.asarray(x, dtype=np.float32)
    baseline = np.asarray(baseline, dtype=np.float32)
    if x.ndim != 3 or x.shape != baseline.shape:
        raise ValueError(
            "x and baseline must both have shape (n_frames, 2, n_landmarks). "
            f"Received: x.shape={x.shape}, baseline.shape={baseline.shape}"
        )
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1. Received: n_steps={n_steps!r}")
    net = getattr(model, "model_", model)
    alphas = np.linspace(0.0, 1.0, int(n_steps) + 1, dtype=np.float32)
    path = baseline[None] + alphas[:, None, None, None] * (x - baseline)[None]
    try:
        out = net(path, training=False)
    except TypeError:
        out = net(path)
    probs = np.asarray(out, dtype=np.float64)
    if probs.ndim != 2 or not 0 <= target < probs.shape[1]:
        raise ValueError(
            f"target must index a column of the model output of shape {probs.shape}. "
            f"Received: target={target!r}"
        )
    ax = _new_axes(ax, (4.8, 3.4))
    ax.plot(alphas, probs[:, target], marker="o", ms=3, lw=1.5, color=_HIGHLIGHT, label=label)
    ax.axhline(0.5, color="0.6", lw=0.8, ls="--", zorder=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"$\alpha$ (0 = baseline, 1 = input)")
    ax.set_ylabel(f"probability of class {target}")
    ax.grid(alpha=0.3)
    if label is not None:
        ax.legend(loc="lower right")
    return ax


def plot_scores_by_region(
    scores,
    *,
    indices=None,
    ax=None,
    title: str | None = None,
    rigid_regions: Sequence[str] = mesh.RIGID_REGIONS,
):
    """Bar chart of the attribution share of each face-mesh region.

    Regions that move little with expression (``rigid_regions``: nose, face
    outline and forehead by default) are drawn in orange; a large share there
    hints that the classifier relies on head shape or pose rather than on the
    expression. Black ticks show each region's share of landmarks, which
    uniform attribution would give.

    Parameters
    ----------
    scores : array-like of shape (n_landmarks_in,)
        Attribution per landmark; absolute values are used.
    indices : array-like of int, default=None
        Landmark index of each score; ``None`` means all 468.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when ``None``.
    title : str, default=None
        Axes title; the rigid share is appended to it.
    rigid_regions : sequence of str, default=mesh.RIGID_REGIONS
        Region names counted as expression-invariant.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_scores_by_region(np.random.default_rng(0).random(468))
    >>> len(ax.patches)
    11
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D. Received: scores.shape={scores.shape}")
    shares = mesh.region_shares(scores, indices)
    rigid = float(mesh.rigid_share(scores, indices, regions=tuple(rigid_regions)))
    idx = np.arange(mesh.N_LANDMARKS) if indices is None else np.asarray(indices)
    names = mesh.landmark_regions(idx)
    labels = list(shares)
    values = [shares[name] for name in labels]
    uniform = [np.mean(names == name) for name in labels]
    colors = ["#e08a2c" if name in rigid_regions else _HIGHLIGHT for name in labels]
    ax = _new_axes(ax, (6.4, 3.4))
    pos = np.arange(len(labels))
    ax.bar(pos, values, color=colors, width=0.7)
    ax.scatter(pos, uniform, marker="_", s=250, color="k", lw=1.5, zorder=3, label="uniform")
    ax.set_xticks(pos, [name.replace("_", " ") for name in labels], rotation=40, ha="right")
    ax.set_ylabel("share of attribution")
    ax.set_ylim(0, max(max(values), max(uniform)) * 1.15)
    ax.grid(axis="y", alpha=0.3)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color=_HIGHLIGHT, label="moves with expression"),
            Patch(color="#e08a2c", label="rigid (bias indicator)"),
            *ax.get_legend_handles_labels()[0],
        ],
        fontsize="small",
        frameon=False,
    )
    heading = f"rigid share {rigid:.2f}"
    ax.set_title(f"{title}: {heading}" if title else heading)
    return ax
