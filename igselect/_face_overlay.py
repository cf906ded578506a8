"""Per-landmark attributions drawn as a smooth heatmap over the photo or video frame.

Grad-CAM explanations are shown as a coloured heatmap laid over the image. For
landmarks the attributions sit on 468 scattered points, so
:func:`plot_attribution_on_face` turns them into a field over the pixels first:
every landmark spreads its score with a Gaussian of width ``sigma`` (a
kernel-weighted sum, so that a cluster of high-scoring landmarks, such as
the lip corners, forms one hot spot), the field is scaled to ``[0, 1]`` and
cut to the face (the inside of the landmarks' Delaunay triangulation, i.e.
their convex hull, grown by ``sigma``), and drawn over the image with an
opacity that grows with the value, so that cold parts of the face stay
visible. Re-exported by :mod:`igselect.plotting`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._validation import Interval, Real, validate_params

__all__ = ["plot_attribution_on_face"]

#: Kernel width as a fraction of the face's larger side (about 10 px on a 300 px face).
_SIGMA_FRACTION = 0.035
#: The field is computed on a grid this many times coarser than the image, then upsampled.
_MAX_GRID = 400


def _read_image(image) -> np.ndarray:
    """RGB (or gray) array from a path or an array (arrays are taken as RGB, as matplotlib)."""
    if isinstance(image, (str, Path)):
        import cv2

        bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"Cannot read an image from {str(image)!r}. Received: image={image!r}")
        return bgr[..., ::-1]
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(
            "image must be a path or an array of shape (H, W), (H, W, 3) or (H, W, 4). "
            f"Received: image.shape={arr.shape}"
        )
    return arr


def _heat_field(shape, points, weights, sigma) -> np.ndarray:
    """Kernel-weighted sum of the scores on a grid of ``shape`` (H, W), scaled to [0, 1]."""
    height, width = shape
    step = max(1, int(np.ceil(max(height, width) / _MAX_GRID)))
    ys = np.arange(0, height, step, dtype=np.float64) + (step - 1) / 2
    xs = np.arange(0, width, step, dtype=np.float64) + (step - 1) / 2
    gx = np.exp(-0.5 * ((xs[None, :] - points[0][:, None]) / sigma) ** 2)  # (L, w)
    gy = np.exp(-0.5 * ((ys[None, :] - points[1][:, None]) / sigma) ** 2)  # (L, h)
    field = np.einsum("l,lh,lw->hw", weights, gy, gx)  # separable Gaussians
    peak = field.max()
    field = field / peak if peak > 0 else field
    if step > 1:
        field = np.repeat(np.repeat(field, step, axis=0), step, axis=1)[:height, :width]
    return field


def _face_mask(shape, points, sigma) -> np.ndarray:
    """Pixels inside the landmarks' convex hull grown by ``sigma``."""
    from matplotlib.path import Path as MplPath
    from scipy.spatial import ConvexHull

    hull = points.T[ConvexHull(points.T).vertices]
    centre = hull.mean(axis=0)
    radius = np.linalg.norm(hull - centre, axis=1, keepdims=True)
    grown = centre + (hull - centre) * (1 + sigma / np.maximum(radius, 1e-9))
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width]
    inside = MplPath(grown).contains_points(np.c_[xx.ravel() + 0.5, yy.ravel() + 0.5])
    return inside.reshape(height, width)


@validate_params(
    {
        "sigma": [Interval(Real, 0, None, closed="neither"), None],
        "alpha": [Interval(Real, 0, 1, closed="right")],
    },
    prefer_skip_nested_validation=True,
)
def plot_attribution_on_face(
    image,
    landmarks,
    scores,
    *,
    ax=None,
    sigma: float | None = None,
    cmap: str = "jet",
    alpha: float = 0.6,
    show_landmarks: bool = False,
    colorbar: bool = True,
    title: str | None = None,
    figsize=(6, 6),
):
    """Draw per-landmark attributions as a smooth heatmap over a photo or video frame.

    Parameters
    ----------
    image : str, path-like or ndarray
        The photo or frame: a file path (read with OpenCV) or an RGB ``(H, W, 3)``,
        RGBA or gray ``(H, W)`` array (as matplotlib shows arrays; convert OpenCV's
        BGR with ``bgr[..., ::-1]``).
    landmarks : array-like of shape (2, n_landmarks)
        x (row 0) and y (row 1) of every landmark in the image's *pixel* coordinates,
        for example ``FaceMeshExtractor().image(path, coordinates="pixels")``.
    scores : array-like of shape (n_landmarks,)
        Attribution per landmark (e.g. ``selector.scores_`` or one row of
        :func:`~igselect.attribution.aggregate_landmark_scores`); absolute values
        are drawn.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made if None.
    sigma : float, default=None
        Width in pixels of the Gaussian each landmark spreads its score with;
        None uses 3.5% of the face's larger side.
    cmap : str, default="jet"
        Colormap of the heatmap (Grad-CAM's usual one).
    alpha : float, default=0.6
        Opacity of the hottest point; the opacity falls with the value.
    show_landmarks : bool, default=False
        Also draw the landmarks as small dots.
    colorbar : bool, default=True
        Add a colorbar (relative attribution, 0 to 1).
    title : str, default=None
        Axes title.
    figsize : tuple, default=(6, 6)
        Size of the new figure when ``ax`` is None.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from igselect.plotting import plot_attribution_on_face
    >>> rng = np.random.RandomState(0)
    >>> image = np.full((120, 100, 3), 200, dtype=np.uint8)
    >>> points = np.stack([rng.uniform(20, 80, 30), rng.uniform(20, 100, 30)])
    >>> ax = plot_attribution_on_face(image, points, rng.rand(30))
    >>> [float(v) for v in ax.get_xlim()]
    [-0.5, 99.5]
    """
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    rgb = _read_image(image)
    points = np.asarray(landmarks, dtype=np.float64)
    weights = np.abs(np.asarray(scores, dtype=np.float64)).ravel()
    if points.ndim != 2 or points.shape[0] != 2:
        raise ValueError(
            f"landmarks must have shape (2, n_landmarks). Received: landmarks.shape={points.shape}"
        )
    if weights.shape != (points.shape[1],):
        raise ValueError(
            f"scores must have one value per landmark ({points.shape[1]}). "
            f"Received: scores.shape={np.shape(scores)}"
        )
    if not (np.isfinite(points).all() and np.isfinite(weights).all()):
        raise ValueError("landmarks and scores must be finite.")
    size = float(np.ptp(points, axis=1).max())
    if sigma is None:
        sigma = max(1.0, _SIGMA_FRACTION * size)
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    shape = rgb.shape[:2]
    field = _heat_field(shape, points, weights, sigma)
    if points.shape[1] >= 3:
        field = np.where(_face_mask(shape, points, sigma), field, 0.0)
    heat = colormaps[cmap](field)
    heat[..., 3] = alpha * np.clip(field / 0.5, 0.0, 1.0) ** 0.8  # opacity grows with the value
    ax.imshow(rgb, cmap="gray" if rgb.ndim == 2 else None)
    ax.imshow(heat, interpolation="bilinear")
    if show_landmarks:
        ax.scatter(points[0], points[1], s=2, c="white", linewidths=0)
    if colorbar:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        cax = make_axes_locatable(ax).append_axes("right", size="4%", pad=0.08)
        bar = ax.figure.colorbar(ScalarMappable(Normalize(0, 1), cmap=cmap), cax=cax)
        bar.set_label("relative attribution")
    ax.set_xlim(-0.5, shape[1] - 0.5)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
