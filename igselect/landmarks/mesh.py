"""Topology of MediaPipe's 468-point face mesh: regions, left/right pairs, mirroring.

Left and right follow MediaPipe's convention: they are the *subject's* left and right, so
in a non-mirrored photo ``"left_eye"`` (``FaceLandmarksConnections.FACE_LANDMARKS_LEFT_EYE``)
appears on the right-hand side of the image.

Regions ``lips``, ``left_eye``, ``right_eye``, ``left_brow``, ``right_brow``, ``nose`` and
``face_oval`` are the landmarks of MediaPipe's own connection lists
(``mediapipe.tasks.python.vision.face_landmarker.FaceLandmarksConnections``); they are
copied here so that importing this module does not import MediaPipe. ``forehead``,
``left_cheek`` and ``right_cheek`` have no MediaPipe list; they are defined geometrically on
the mean neutral face of the London set, and the mirror permutation is matched on the
same face, both by ``tools/build_mesh_pairs.py`` (its docstring gives the rules). The
results are package data (``igselect/landmarks/data/face_mesh.json``). All regions are
disjoint except ``mouth_corners`` (61 and 291), a subset of ``lips``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources

import numpy as np

__all__ = [
    "N_LANDMARKS",
    "REGION_NAMES",
    "REGION_PRIORITY",
    "REGIONS",
    "RIGID_REGIONS",
    "MIRROR_PAIRS",
    "MIDLINE",
    "region_of",
    "landmark_regions",
    "landmark_names",
    "region_shares",
    "rigid_share",
    "mirror_permutation",
    "mirror",
    "mean_shape",
]

N_LANDMARKS = 468

# fmt: off
_MEDIAPIPE_REGIONS = {
    "lips": [0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181,
             185, 191, 267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375,
             402, 405, 409, 415],
    "left_eye": [249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398,
                 466],
    "right_eye": [7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246],
    "left_brow": [276, 282, 283, 285, 293, 295, 296, 300, 334, 336],
    "right_brow": [46, 52, 53, 55, 63, 65, 66, 70, 105, 107],
    "nose": [1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294,
             326, 327, 344, 440],
    "face_oval": [10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162,
                  172, 176, 234, 251, 284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378,
                  379, 389, 397, 400, 454],
}
# fmt: on

#: Names of the regions in :data:`REGIONS`.
REGION_NAMES = (
    "lips",
    "left_eye",
    "right_eye",
    "left_brow",
    "right_brow",
    "nose",
    "face_oval",
    "left_cheek",
    "right_cheek",
    "forehead",
    "mouth_corners",
)

#: Order in which :func:`region_of` tests regions (``mouth_corners`` is a subset of
#: ``lips`` and is not used there); landmarks in none of them are ``"other"``.
REGION_PRIORITY = REGION_NAMES[:-1]

#: Regions that move little with facial expression. Attribution on them hints that a
#: model relies on head shape or pose rather than expression (see :func:`rigid_share`).
RIGID_REGIONS = ("nose", "face_oval", "forehead")


@cache
def _data() -> dict:
    text = resources.files("igselect.landmarks").joinpath("data", "face_mesh.json").read_text()
    return json.loads(text)


def _frozen(values) -> np.ndarray:
    arr = np.array(sorted(values), dtype=np.intp)
    arr.setflags(write=False)
    return arr


def _build_regions() -> dict[str, np.ndarray]:
    extra = _data()["regions"]
    regions = {name: _frozen(idx) for name, idx in _MEDIAPIPE_REGIONS.items()}
    for name in ("left_cheek", "right_cheek", "forehead"):
        regions[name] = _frozen(extra[name])
    regions["mouth_corners"] = _frozen([61, 291])
    return {name: regions[name] for name in REGION_NAMES}


#: Region name -> sorted, read-only array of landmark indices.
REGIONS: dict[str, np.ndarray] = _build_regions()

_PERM = np.asarray(_data()["mirror_permutation"], dtype=np.intp)
_PERM.setflags(write=False)

#: ``(n_pairs, 2)`` array of mirror pairs ``(i, j)`` with ``i < j``.
MIRROR_PAIRS = np.stack(
    [np.flatnonzero(_PERM > np.arange(N_LANDMARKS)), _PERM[_PERM > np.arange(N_LANDMARKS)]],
    axis=1,
)
MIRROR_PAIRS.setflags(write=False)

#: Landmarks on the facial midline (their own mirror image).
MIDLINE = _frozen(np.flatnonzero(_PERM == np.arange(N_LANDMARKS)))


def _check_indices(indices, name: str = "indices") -> np.ndarray:
    if indices is None:
        return np.arange(N_LANDMARKS)
    idx = np.asarray(indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-D array of integers. Received: {name}={indices!r}")
    if idx.size and (idx.min() < 0 or idx.max() >= N_LANDMARKS):
        raise ValueError(
            f"{name} must lie in [0, {N_LANDMARKS - 1}]. Received: {name} with values in "
            f"[{idx.min()}, {idx.max()}]"
        )
    return idx.astype(np.intp)


@cache
def _region_table() -> np.ndarray:
    table = np.full(N_LANDMARKS, "other", dtype=object)
    for name in reversed(REGION_PRIORITY):
        table[REGIONS[name]] = name
    return table


def landmark_regions(indices=None) -> np.ndarray:
    """Region name of every landmark (or of ``indices``).

    Each landmark gets the first region of :data:`REGION_PRIORITY` that contains it, or
    ``"other"`` (e.g. chin, lower eyelids, sides of the nose).

    Parameters
    ----------
    indices : array-like of int, default=None
        Landmark indices (e.g. a selector's kept landmarks). ``None`` means all 468.

    Returns
    -------
    names : ndarray of str, shape (n_indices,)

    Examples
    --------
    >>> landmark_regions([61, 1, 10, 152, 263]).tolist()
    ['lips', 'nose', 'face_oval', 'face_oval', 'left_eye']
    """
    return _region_table()[_check_indices(indices)].astype(str)


def region_of(index: int) -> str:
    """Region name of one landmark (see :func:`landmark_regions`).

    Examples
    --------
    >>> region_of(33), region_of(151), region_of(200)
    ('right_eye', 'forehead', 'other')
    """
    return str(landmark_regions([index])[0])


def landmark_names(indices=None) -> list[str]:
    """Feature names ``"landmark_<i>"`` for all 468 landmarks or for ``indices``.

    Examples
    --------
    >>> landmark_names([0, 17])
    ['landmark_0', 'landmark_17']
    """
    return [f"landmark_{i}" for i in _check_indices(indices).tolist()]


def _scores_matrix(scores, indices) -> tuple[np.ndarray, np.ndarray]:
    scores = np.abs(np.asarray(scores, dtype=np.float64))
    idx = _check_indices(indices)
    if scores.ndim == 0 or scores.shape[-1] != idx.size:
        raise ValueError(
            f"scores must have one value per landmark on the last axis ({idx.size}). "
            f"Received: scores.shape={scores.shape}"
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores contains NaN or infinite values.")
    return scores, idx


def region_shares(scores, indices=None) -> dict[str, np.ndarray | float]:
    """Fraction of the total absolute attribution that falls on each region.

    Parameters
    ----------
    scores : array-like of shape (..., n_landmarks)
        Attribution per landmark (e.g. ``GlobalIGSelector.scores_``); absolute values
        are used. Leading axes (e.g. one row per emotion) are kept.
    indices : array-like of int, default=None
        Landmark index of each score; ``None`` means the scores cover all 468 landmarks.

    Returns
    -------
    shares : dict
        ``{region: share}`` for every name of :data:`REGION_PRIORITY` and ``"other"``
        (they partition the landmarks, so the shares sum to 1).

    Examples
    --------
    >>> s = np.zeros(468); s[[1, 61]] = 1.0
    >>> shares = region_shares(s)
    >>> float(shares["nose"]), float(shares["lips"]), float(shares["forehead"])
    (0.5, 0.5, 0.0)
    """
    scores, idx = _scores_matrix(scores, indices)
    total = scores.sum(axis=-1)
    safe = np.where(total > 0, total, 1.0)
    names = landmark_regions(idx)
    out = {}
    for name in (*REGION_PRIORITY, "other"):
        share = scores[..., names == name].sum(axis=-1) / safe
        out[name] = float(share) if share.ndim == 0 else share
    return out


def rigid_share(scores, indices=None, regions: Sequence[str] = RIGID_REGIONS):
    """Fraction of the total absolute attribution on expression-invariant regions.

    A bias indicator: landmarks of the nose, the face outline and the forehead move little
    when the expression changes, so a classifier that puts much of its attribution there
    relies on head shape, pose or framing rather than on the expression. Grad-CAM studies
    of face-image CNNs found that kind of shortcut (attention on hair and the face
    outline). Compare the value with the regions' share of landmarks,
    ``sum(len(REGIONS[r]) for r in regions) / 468`` (0.154 for :data:`RIGID_REGIONS`),
    which uniform attribution would give.

    Parameters
    ----------
    scores : array-like of shape (..., n_landmarks)
        Attribution per landmark; absolute values are used.
    indices : array-like of int, default=None
        Landmark index of each score; ``None`` means all 468.
    regions : sequence of str, default=RIGID_REGIONS
        Region names counted as rigid.

    Returns
    -------
    share : float or ndarray of shape scores.shape[:-1]
        0 when all scores are zero.

    Examples
    --------
    >>> s = np.zeros(468); s[1] = 3.0; s[61] = 1.0
    >>> float(rigid_share(s))
    0.75
    """
    scores, idx = _scores_matrix(scores, indices)
    bad = [r for r in regions if r not in REGIONS]
    if bad or isinstance(regions, str):
        raise ValueError(
            f"regions must be a sequence of names from {REGION_NAMES}. Received: regions={regions!r}"
        )
    rigid = np.isin(idx, np.concatenate([REGIONS[r] for r in regions]))
    total = scores.sum(axis=-1)
    share = scores[..., rigid].sum(axis=-1) / np.where(total > 0, total, 1.0)
    return float(share) if share.ndim == 0 else share


def mirror_permutation() -> np.ndarray:
    """Index permutation that maps every landmark to its mirror image.

    ``perm[i]`` is the landmark on the other side of the face that corresponds to ``i``;
    midline landmarks (:data:`MIDLINE`) map to themselves and ``perm[perm]`` is the
    identity. It was matched on the mean neutral London face by
    ``tools/build_mesh_pairs.py``.

    Returns
    -------
    perm : ndarray of int, shape (468,)
        A fresh (writable) copy.

    Examples
    --------
    >>> perm = mirror_permutation()
    >>> int(perm[33]), int(perm[263]), int(perm[1])
    (263, 33, 1)
    """
    return _PERM.copy()


def mirror(X, *, x_center: float | None = 0.5) -> np.ndarray:
    """Mirror faces left-right, keeping landmark identities consistent.

    The x coordinates are reflected about ``x_center`` and the landmarks are permuted
    with :func:`mirror_permutation`, so that landmark ``i`` of the result is again the
    point MediaPipe calls ``i`` (the left eye stays ``left_eye``). A plain coordinate
    flip puts the left-eye landmarks on the right eye. This is the flip augmentation for
    landmark sequences.

    Parameters
    ----------
    X : array-like of shape (..., 2, 468) or (..., 2, 468, 1)
        Landmarks: a face ``(2, 468)``, a sequence ``(P, 2, 468)``, a data set
        ``(n, P, 2, 468)``, optionally with a trailing channel axis.
    x_center : float or None, default=0.5
        Axis of the reflection, ``x -> 2 * x_center - x``. The default, ``x -> 1 - x``,
        suits coordinates normalised to the face crop (a reflected crop). Use ``0.0`` for
        aligned faces (:class:`LandmarkAligner` output), and ``None`` to reflect every
        face about its own mean x, which keeps it in place.

    Returns
    -------
    X_mirrored : ndarray, same shape as ``X``
        Floating dtype of ``X`` (float64 for integer input). ``mirror(mirror(X))``
        restores the landmark order exactly and the coordinates up to the rounding of
        ``2 * x_center - x`` (bit-exact for ``x_center=0``).

    Examples
    --------
    >>> X = np.random.default_rng(0).random((3, 16, 2, 468), dtype=np.float32)
    >>> Xm = mirror(X)
    >>> Xm.shape, bool(np.allclose(Xm[..., 0, 263], 1 - X[..., 0, 33]))
    ((3, 16, 2, 468), True)
    """
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"X must be numeric. Received: X.dtype={arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    channel = arr.ndim >= 3 and arr.shape[-1] == 1 and arr.shape[-3:-1] == (2, N_LANDMARKS)
    core = arr[..., 0] if channel else arr
    if core.ndim < 2 or core.shape[-2:] != (2, N_LANDMARKS):
        raise ValueError(
            f"X must have shape (..., 2, {N_LANDMARKS}) (x/y then the {N_LANDMARKS} MediaPipe "
            "landmarks; mirroring needs the full mesh, not a subset). "
            f"Received: X.shape={arr.shape}"
        )
    out = core[..., _PERM].copy()
    if x_center is None:
        center = core[..., 0, :].mean(axis=-1, keepdims=True)
    else:
        center = np.asarray(x_center, dtype=out.dtype)
        if center.ndim or not np.isfinite(center):
            raise ValueError(f"x_center must be a finite float or None. Received: {x_center=}")
    out[..., 0, :] = 2 * center - out[..., 0, :]
    return out[..., None] if channel else out


def mean_shape() -> np.ndarray:
    """Mirror-symmetrised mean neutral face of the London set, shape ``(2, 468)``.

    Centred on the midline (``x = 0``), ``y`` pointing down (image convention), unit RMS
    radius; the subject's left is at ``x > 0``. It is the face on which the geometric
    regions were defined, and a convenient template for plots.

    Examples
    --------
    >>> S = mean_shape()
    >>> S.shape, bool(S[0, 263] > 0 > S[0, 33]), bool(S[1, 10] < 0 < S[1, 152])
    ((2, 468), True, True)
    """
    return np.asarray(_data()["mean_shape"], dtype=np.float64)
