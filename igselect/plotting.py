"""Plots of landmark attributions and selections on a face, body or hand (matplotlib).

Every landmark plot takes ``scheme=`` (a :class:`~igselect.landmarks.LandmarkScheme`,
inferred from the number of landmarks by default) for its drawing edges, its regions and
its default shape.

* :func:`plot_landmark_importance` draws one face with its landmarks coloured
  by score, or with the selected ones circled (the paper's Fig. 3 panels).
* :func:`plot_selection_grid` draws one face per number of kept landmarks.
* :func:`plot_ig_path` draws the target-class probability along the
  straight-line IG path from a baseline to an input (the paper's Fig. 2).
* :func:`plot_scores_by_region` draws the attribution share of each mesh
  region and marks the regions that do not move with expression.

Every function draws with the object-oriented matplotlib API only (no
``pyplot`` state is needed besides creating a figure when no ``ax`` is given),
so it works under the non-interactive ``Agg`` backend. The face drawing that the
landmark plots share is in :mod:`igselect._face_drawing`;
:func:`plot_attribution_on_face` comes from :mod:`igselect._face_overlay`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._face_drawing import (
    _HIGHLIGHT,
    _as_selection,
    _check_face,
    _draw_face,
    _new_axes,
)
from ._face_drawing import _edge_chains as _edge_chains  # imported from here by tests
from ._face_overlay import plot_attribution_on_face
from ._validation import IntInterval, validate_params
from .landmarks import mesh, region_shares, rigid_share
from .landmarks.schemes import FACE_MESH_468 as mesh_scheme
from .landmarks.schemes import resolve_scheme

__all__ = [
    "plot_attribution_on_face",
    "plot_landmark_importance",
    "plot_selection_grid",
    "plot_ig_path",
    "plot_scores_by_region",
]


@validate_params({"n_landmarks": [IntInterval(1), None]}, prefer_skip_nested_validation=True)
def plot_landmark_importance(
    scores_or_mask,
    *,
    face=None,
    n_landmarks: int | None = None,
    ax=None,
    title: str | None = None,
    cmap: str = "magma_r",
    colorbar: bool = True,
    scheme=None,
):
    """Draw landmark scores or a landmark selection on a face.

    Parameters
    ----------
    scores_or_mask : array-like of shape (n_landmarks_in,)
        Float scores (e.g. ``GlobalIGSelector.scores_``): every landmark is
        coloured by its score. Boolean mask or integer indices: the selected
        landmarks are circled in blue, as in the paper's Fig. 3.
    face : array-like of shape (2, n_landmarks_in), default=None
        Face (or body, or hand) to draw on, in image orientation (y down). ``None``
        uses the scheme's canonical shape: for the mesh, the mean neutral face of the
        London set (:func:`igselect.landmarks.mesh.mean_shape`).
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
    scheme : LandmarkScheme, str or None, default=None
        Landmark scheme, for the edges and the default face. ``None`` infers it from
        the number of scores (or of the face's landmarks; the 468-point mesh for bare
        indices without a face); a face of another size is drawn without edges.

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
    >>> from igselect.landmarks import IBUG_68
    >>> ax = plot_landmark_importance(np.arange(36, 48), scheme=IBUG_68)  # the eyes
    """
    scores, selected = _as_selection(scores_or_mask, n_landmarks)
    size = scores.size if scores is not None else None
    if size is None and np.asarray(scores_or_mask).dtype == bool:
        size = np.asarray(scores_or_mask).size
    face = _check_face(face, size, scheme)
    if selected.size and selected.max() >= face.shape[1]:
        raise ValueError(
            f"landmark index {selected.max()} is out of range for a face of "
            f"{face.shape[1]} landmarks."
        )
    ax = _new_axes(ax, (4.2, 4.8))
    _draw_face(ax, face, scheme=scheme)
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
    sizes: Sequence[int] | None = None,
    face=None,
    title: str | None = None,
    ncols: int = 3,
    scheme=None,
):
    """One face per number of kept landmarks, like the paper's Fig. 3.

    Parameters
    ----------
    ranking_or_selector : GlobalIGSelector or array-like of int
        A fitted selector (its ``ranking_`` is used) or landmark indices
        ordered best first.
    sizes : sequence of int, default=None
        Numbers of top landmarks to circle, one panel each. ``None`` means
        ``(468, 234, 128, 64, 32, 16)`` for the mesh and ``L`` halved five times
        (``68, 34, 17, 8, 4, 2``) for a ranking of ``L`` landmarks of another scheme.
    face : array-like of shape (2, n_landmarks_in), default=None
        Face to draw on; the scheme's canonical shape by default (the mean London
        neutral face for the mesh).
    title : str, default=None
        Figure title (e.g. the emotion).
    ncols : int, default=3
        Panels per row.
    scheme : LandmarkScheme, str or None, default=None
        Landmark scheme; ``None`` infers it from the ranking's length.

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
    if sizes is None:
        n = ranking.size
        sizes = (468, 234, 128, 64, 32, 16) if n == mesh.N_LANDMARKS else [n >> k for k in range(6)]
        sizes = list(dict.fromkeys(s for s in sizes if s >= 1))
    sizes = [int(s) for s in sizes]
    if not sizes or any(not 1 <= s <= ranking.size for s in sizes):
        raise ValueError(f"sizes must be in [1, {ranking.size}]. Received: sizes={sizes}")
    if face is None:
        face = _check_face(None, ranking.size, scheme)
    ncols = min(int(ncols), len(sizes))
    nrows = -(-len(sizes) // ncols)
    fig = Figure(figsize=(2.7 * ncols, 3.1 * nrows + (0.4 if title else 0)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, n in zip(axes, sizes, strict=False):
        plot_landmark_importance(ranking[:n], face=face, ax=ax, title=f"L = {n}", scheme=scheme)
    for ax in axes[len(sizes) :]:
        fig.delaxes(ax)
    if title is not None:
        fig.suptitle(title)
    return fig


@validate_params(
    {"target": [IntInterval(0)], "n_steps": [IntInterval(1)]}, prefer_skip_nested_validation=True
)
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
    rigid_regions: Sequence[str] | None = None,
    scheme=None,
):
    """Bar chart of the attribution share of each region of the landmark scheme.

    Regions that move little with expression (``rigid_regions``: for the mesh the
    nose, face outline and forehead by default) are drawn in orange; a large share there
    hints that the classifier relies on head shape or pose rather than on the
    expression. Black ticks show each region's share of landmarks, which
    uniform attribution would give.

    Parameters
    ----------
    scores : array-like of shape (n_landmarks_in,)
        Attribution per landmark; absolute values are used.
    indices : array-like of int, default=None
        Landmark index of each score; ``None`` means all landmarks of the scheme.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when ``None``.
    title : str, default=None
        Axes title; the rigid share is appended to it.
    rigid_regions : sequence of str, default=None
        Region names counted as expression-invariant; ``None`` means the scheme's
        rigid regions (:data:`igselect.landmarks.mesh.RIGID_REGIONS` for the mesh).
    scheme : LandmarkScheme, str or None, default=None
        Landmark scheme; ``None`` infers it from the number of scores (the 468-point
        mesh when ``indices`` is given).

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
    if indices is None:
        scheme = resolve_scheme(scheme, scores.size, received=f"scores.shape={scores.shape}")
    else:
        scheme = mesh_scheme if scheme is None else resolve_scheme(scheme)
    if rigid_regions is None:
        rigid_regions = scheme.rigid_regions
    shares = region_shares(scores, indices, scheme=scheme)
    rigid = float(rigid_share(scores, indices, regions=tuple(rigid_regions), scheme=scheme))
    names = scheme.landmark_regions(indices)
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
