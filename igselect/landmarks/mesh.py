"""Topology of MediaPipe's 468-point face mesh: regions, left/right pairs, mirroring.

The mesh's view of :data:`igselect.landmarks.schemes.FACE_MESH_468`, kept as a module of
constants and functions. :func:`mirror`, :func:`region_shares` and :func:`rigid_share`
are the scheme-generic functions (they infer the scheme from the number of landmarks),
so they work on the mesh exactly as before and on the other schemes too.

Left and right follow MediaPipe's convention: they are the *subject's* left and right, so
in a non-mirrored photo ``"left_eye"`` (``FaceLandmarksConnections.FACE_LANDMARKS_LEFT_EYE``)
appears on the right-hand side of the image.

Regions ``lips``, ``left_eye``, ``right_eye``, ``left_brow``, ``right_brow``, ``nose`` and
``face_oval`` are the landmarks of MediaPipe's own connection lists
(``mediapipe.tasks.python.vision.face_landmarker.FaceLandmarksConnections``); they are
copied (in ``_scheme_layouts.py``) so that importing this module does not import
MediaPipe. ``forehead``,
``left_cheek`` and ``right_cheek`` have no MediaPipe list; they are defined geometrically on
the mean neutral face of the London set, and the mirror permutation is matched on the
same face, both by ``tools/build_mesh_pairs.py`` (its docstring gives the rules). The
results are package data (``igselect/landmarks/data/face_mesh.json``). All regions are
disjoint except ``mouth_corners`` (61 and 291), a subset of ``lips``.
"""

from __future__ import annotations

import numpy as np

from . import _scheme_layouts
from ._mesh_data import mesh_mean_shape, mesh_mirror_permutation
from ._scheme_ops import mirror, region_shares, rigid_share
from .schemes import FACE_MESH_468

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

#: Names of the regions in :data:`REGIONS`.
REGION_NAMES = (
    *_scheme_layouts.MESH_MEDIAPIPE_REGIONS,
    "left_cheek",
    "right_cheek",
    "forehead",
    "mouth_corners",
)

#: The regions that partition the mesh (``mouth_corners`` is a subset of ``lips`` and is
#: not one of them); landmarks in none of them are ``"other"``.
REGION_PRIORITY = REGION_NAMES[:-1]

#: Regions that move little with facial expression. Attribution on them hints that a
#: model relies on head shape or pose rather than expression (see :func:`rigid_share`).
RIGID_REGIONS = FACE_MESH_468.rigid_regions


def _frozen(values) -> np.ndarray:
    arr = np.array(sorted(values), dtype=np.intp)
    arr.setflags(write=False)
    return arr


#: Region name -> sorted, read-only array of landmark indices.
REGIONS: dict[str, np.ndarray] = {
    **{name: FACE_MESH_468.regions[name] for name in REGION_PRIORITY},
    "mouth_corners": _frozen([61, 291]),
}

_PERM = mesh_mirror_permutation()
_PERM.setflags(write=False)

#: ``(n_pairs, 2)`` array of mirror pairs ``(i, j)`` with ``i < j``.
MIRROR_PAIRS = FACE_MESH_468.mirror_pairs
MIRROR_PAIRS.setflags(write=False)

#: Landmarks on the facial midline (their own mirror image).
MIDLINE = _frozen(np.flatnonzero(_PERM == np.arange(N_LANDMARKS)))


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
    return FACE_MESH_468.landmark_regions(indices)


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
    return [f"landmark_{i}" for i in FACE_MESH_468.check_indices(indices).tolist()]


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
    return mesh_mean_shape()
