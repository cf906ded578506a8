"""Landmark schemes: what the landmark axis means (names, regions, mirror pairs, edges).

Everything in igselect that interprets a landmark index -- left/right mirroring, the
attribution share of each region, the rigid-region bias indicator, the aligner's
canonical reference and the plots -- asks a :class:`LandmarkScheme`. Four are built in:

* :data:`FACE_MESH_468` -- MediaPipe's face mesh (the paper's landmarks);
* :data:`IBUG_68` -- the iBUG 300-W 68-point face layout of OpenFace 2 and dlib;
* :data:`MEDIAPIPE_POSE_33` -- MediaPipe Pose's 33 body points;
* :data:`MEDIAPIPE_HAND_21` -- MediaPipe Hands' 21 points of one hand.

Functions take ``scheme=None`` and infer it from the number of landmarks ``L`` (468, 68,
33 or 21 are unambiguous); any other count needs an explicit scheme. A scheme's regions
partition its landmarks (every point lies in exactly one region), so region shares sum
to one. Left and right are the subject's, as in MediaPipe.

:meth:`LandmarkScheme.to` maps between schemes where a correspondence is known: the 68
mesh points nearest the iBUG points, ``FACE_MESH_468.to(IBUG_68)``, let MediaPipe output
be compared with OpenFace and dlib results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from . import _scheme_layouts as _lay
from ._mesh_data import mesh_extra_regions, mesh_mean_shape, mesh_mirror_permutation

__all__ = [
    "LandmarkScheme",
    "FACE_MESH_468",
    "IBUG_68",
    "MEDIAPIPE_POSE_33",
    "MEDIAPIPE_HAND_21",
    "SCHEMES",
    "resolve_scheme",
]


def _frozen(values, dtype=np.intp) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr


def _unit_shape(xy) -> np.ndarray:
    """Centre a ``(2, L)`` shape and scale it to unit RMS radius."""
    xy = np.asarray(xy, dtype=np.float64)
    xy = xy - xy.mean(axis=1, keepdims=True)
    return xy / np.sqrt((xy**2).sum(axis=0).mean())


def _polyline_edges(contours: Mapping[str, Sequence[int]]) -> list[tuple[int, int]]:
    return [(a, b) for line in contours.values() for a, b in zip(line[:-1], line[1:], strict=True)]


class LandmarkScheme:
    """An immutable description of a landmark layout.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"ibug_68"``.
    names : sequence of str
        One name per landmark, in index order.
    regions : mapping of str to sequence of int
        Named regions; together they must cover every landmark exactly once.
    rigid_regions : sequence of str, default=()
        Regions that barely move with the expression or gesture (the bias indicator of
        :func:`~igselect.landmarks.rigid_share` counts attribution there).
    mirror_pairs : sequence of (int, int), default=()
        Landmarks that swap under a left-right flip; the others map to themselves.
    edges : sequence of (int, int), default=()
        Point pairs joined by a line when the scheme is drawn.
    canonical_shape : array-like of shape (2, n_landmarks), default=None
        A typical layout in image orientation (y down); stored centred with unit RMS
        radius. Needed by plots without a face and by ``LandmarkAligner(reference=
        "canonical")``.

    Examples
    --------
    >>> tri = LandmarkScheme("triangle", ["left", "right", "top"],
    ...                      {"base": [0, 1], "apex": [2]}, mirror_pairs=[(0, 1)])
    >>> tri.n_landmarks, tri.mirror_permutation().tolist()
    (3, [1, 0, 2])
    """

    def __init__(
        self,
        name: str,
        names: Sequence[str],
        regions: Mapping[str, Sequence[int]],
        *,
        rigid_regions: Sequence[str] = (),
        mirror_pairs: Sequence[tuple[int, int]] = (),
        edges: Sequence[tuple[int, int]] = (),
        canonical_shape=None,
    ):
        names = tuple(str(n) for n in names)
        n = len(names)
        if not n or len(set(names)) != n:
            raise ValueError(f"names must be non-empty and unique. Received: {len(names)} names")
        table = np.full(n, -1, dtype=np.intp)
        frozen = {}
        for k, (region, idx) in enumerate(regions.items()):
            idx = np.asarray(idx, dtype=np.intp)
            if idx.size and (idx.min() < 0 or idx.max() >= n or (table[idx] >= 0).any()):
                raise ValueError(
                    f"region {region!r} has indices outside [0, {n - 1}] or shared with "
                    f"another region. Received: regions[{region!r}]={idx.tolist()}"
                )
            table[idx] = k
            frozen[str(region)] = _frozen(np.sort(idx))
        if (table < 0).any():
            raise ValueError(
                f"regions must cover every landmark exactly once; landmarks "
                f"{np.flatnonzero(table < 0)[:10].tolist()} are in none."
            )
        bad = (
            [r for r in rigid_regions if r not in frozen]
            if not isinstance(rigid_regions, str)
            else [rigid_regions]
        )
        if bad:
            raise ValueError(
                f"rigid_regions must name regions. Received: rigid_regions={rigid_regions!r}"
            )
        perm = np.arange(n)
        for i, j in mirror_pairs:
            if not (0 <= i < n and 0 <= j < n) or perm[i] != i or perm[j] != j or i == j:
                raise ValueError(
                    f"mirror_pairs must be disjoint pairs of landmarks. Received: ({i}, {j})"
                )
            perm[i], perm[j] = j, i
        edges = np.asarray(edges, dtype=np.intp).reshape(-1, 2)
        if edges.size and (edges.min() < 0 or edges.max() >= n):
            raise ValueError(f"edges must join landmarks in [0, {n - 1}]. Received: {edges.max()}")
        if canonical_shape is not None:
            canonical_shape = np.asarray(canonical_shape, dtype=np.float64)
            if canonical_shape.shape != (2, n) or not np.isfinite(canonical_shape).all():
                raise ValueError(
                    f"canonical_shape must be a finite (2, {n}) array. "
                    f"Received: canonical_shape.shape={canonical_shape.shape}"
                )
            canonical_shape = _frozen(_unit_shape(canonical_shape), np.float64)
        self._name = str(name)
        self._names = names
        self._regions = MappingProxyType(frozen)
        self._region_of = _frozen(np.array(list(frozen), dtype=object)[table], object)
        self._rigid = tuple(rigid_regions)
        self._perm = _frozen(perm)
        self._edges = _frozen(edges)
        self._shape = canonical_shape
        self._maps: dict[str, np.ndarray] = {}

    # -- read-only attributes ---------------------------------------------------------
    name = property(lambda self: self._name, doc="Short identifier of the scheme.")
    names = property(lambda self: self._names, doc="Landmark names, in index order.")
    n_landmarks = property(lambda self: len(self._names), doc="Number of landmarks.")
    regions = property(lambda self: self._regions, doc="Region -> sorted read-only indices.")
    rigid_regions = property(lambda self: self._rigid, doc="Regions that barely move.")
    edges = property(lambda self: self._edges, doc="``(n_edges, 2)`` point pairs to draw.")

    @property
    def mirror_pairs(self) -> np.ndarray:
        """``(n_pairs, 2)`` landmark pairs ``(i, j)``, ``i < j``, swapped by a flip."""
        i = np.flatnonzero(self._perm > np.arange(self.n_landmarks))
        return np.stack([i, self._perm[i]], axis=1)

    def mirror_permutation(self) -> np.ndarray:
        """``perm[i]``: the landmark that ``i`` becomes in a left-right flip (a copy)."""
        return self._perm.copy()

    def canonical_shape(self) -> np.ndarray:
        """Typical layout ``(2, n_landmarks)``, centred, unit RMS radius, y down (a copy)."""
        if self._shape is None:
            raise ValueError(f"scheme {self._name!r} has no canonical shape.")
        return self._shape.copy()

    def landmark_regions(self, indices=None) -> np.ndarray:
        """Region name of every landmark, or of ``indices``."""
        return self._region_of[self.check_indices(indices)].astype(str)

    def check_indices(self, indices=None, name: str = "indices") -> np.ndarray:
        """Validate landmark indices of this scheme (``None`` means all of them)."""
        if indices is None:
            return np.arange(self.n_landmarks)
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(
                f"{name} must be a 1-D array of integers. Received: {name}={indices!r}"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_landmarks):
            raise ValueError(
                f"{name} must lie in [0, {self.n_landmarks - 1}]. Received: {name} with "
                f"values in [{idx.min()}, {idx.max()}]"
            )
        return idx.astype(np.intp)

    def to(self, other: LandmarkScheme) -> np.ndarray:
        """Indices of this scheme's points that correspond to ``other``'s points.

        ``X[..., scheme.to(other)]`` turns landmarks of this scheme into ``other``'s.

        Examples
        --------
        >>> idx = FACE_MESH_468.to(IBUG_68)
        >>> idx.shape, int(idx[8]), int(idx[30])   # chin, nose tip
        ((68,), 152, 4)
        """
        if not isinstance(other, LandmarkScheme):
            raise TypeError(f"other must be a LandmarkScheme. Received: other={other!r}")
        if other is self:
            return np.arange(self.n_landmarks)
        if other.name not in self._maps:
            known = sorted(self._maps) or "none"
            raise ValueError(
                f"no correspondence from {self._name!r} to {other.name!r} is known "
                f"(known targets: {known})."
            )
        return self._maps[other.name].copy()

    # -- identity: schemes are immutable values ------------------------------------------
    def __repr__(self) -> str:
        return f"LandmarkScheme({self._name!r}, n_landmarks={self.n_landmarks})"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        if SCHEMES.get(self._name) is self:  # built-ins unpickle to the same object
            return (_builtin, (self._name,))
        pairs = [tuple(p) for p in self.mirror_pairs.tolist()]
        kwargs = {
            "rigid_regions": self._rigid,
            "mirror_pairs": pairs,
            "edges": self._edges.tolist(),
            "canonical_shape": self._shape,
        }
        regions = {k: v.tolist() for k, v in self._regions.items()}
        return (_rebuild, (self._name, self._names, regions, kwargs))


def _builtin(name: str) -> LandmarkScheme:
    return SCHEMES[name]


def _rebuild(name, names, regions, kwargs) -> LandmarkScheme:
    return LandmarkScheme(name, names, regions, **kwargs)


def _mesh_468() -> LandmarkScheme:
    regions = {k: list(v) for k, v in _lay.MESH_MEDIAPIPE_REGIONS.items()}
    regions.update(mesh_extra_regions())
    covered = np.zeros(468, dtype=bool)
    for idx in regions.values():
        covered[idx] = True
    regions["other"] = np.flatnonzero(~covered).tolist()
    perm = mesh_mirror_permutation()
    pairs = [(i, int(j)) for i, j in enumerate(perm) if j > i]
    return LandmarkScheme(
        "face_mesh_468",
        [f"landmark_{i}" for i in range(468)],
        regions,
        rigid_regions=("nose", "face_oval", "forehead"),
        mirror_pairs=pairs,
        edges=_polyline_edges(_lay.MESH_CONTOURS),
        canonical_shape=mesh_mean_shape(),
    )


def _region_point_names(regions: Mapping[str, Sequence[int]], n: int) -> list[str]:
    names = [""] * n
    for region, idx in regions.items():
        for k, i in enumerate(idx):
            names[i] = f"{region}_{k}"
    return names


#: MediaPipe's 468-point face mesh (regions as in :mod:`igselect.landmarks.mesh`; points
#: in no named region form ``"other"``).
FACE_MESH_468 = _mesh_468()

#: iBUG 300-W 68 points (OpenFace 2, dlib): jaw 0-16, brows 17-26, nose 27-35, eyes
#: 36-47, lips 48-67. Rigid: jaw and nose. The canonical shape is the mesh's mean London
#: face at ``FACE_MESH_468.to(IBUG_68)``.
IBUG_68 = LandmarkScheme(
    "ibug_68",
    _region_point_names(_lay.IBUG_68_REGIONS, 68),
    _lay.IBUG_68_REGIONS,
    rigid_regions=("jaw", "nose"),
    mirror_pairs=_lay.IBUG_68_PAIRS,
    edges=_polyline_edges(_lay.IBUG_68_CONTOURS),
    canonical_shape=mesh_mean_shape()[:, _lay.MESH_TO_IBUG_68],
)
FACE_MESH_468._maps["ibug_68"] = _frozen(_lay.MESH_TO_IBUG_68)

#: MediaPipe Pose's 33 body points. Rigid: the torso (shoulders and hips). The canonical
#: shape is a hand-made upright person facing the camera.
MEDIAPIPE_POSE_33 = LandmarkScheme(
    "mediapipe_pose_33",
    _lay.POSE_33_NAMES,
    _lay.POSE_33_REGIONS,
    rigid_regions=("torso",),
    mirror_pairs=_lay.POSE_33_PAIRS,
    edges=_lay.POSE_33_EDGES,
    canonical_shape=np.array([_lay.POSE_33_LAYOUT[n] for n in _lay.POSE_33_NAMES]).T,
)

#: MediaPipe Hands' 21 points of one hand. No mirror pairs (a flipped right hand is a
#: left hand with the same point names). Rigid: the palm (wrist and finger bases). The
#: canonical shape is a hand-made right hand, palm on, fingers up.
MEDIAPIPE_HAND_21 = LandmarkScheme(
    "mediapipe_hand_21",
    _lay.HAND_21_NAMES,
    _lay.HAND_21_REGIONS,
    rigid_regions=("palm",),
    edges=_lay.HAND_21_EDGES,
    canonical_shape=np.array(_lay.HAND_21_LAYOUT).T,
)

#: Built-in schemes by name.
SCHEMES: Mapping[str, LandmarkScheme] = MappingProxyType(
    {s.name: s for s in (FACE_MESH_468, IBUG_68, MEDIAPIPE_POSE_33, MEDIAPIPE_HAND_21)}
)
_BY_COUNT = {s.n_landmarks: s for s in SCHEMES.values()}


def resolve_scheme(
    scheme=None, n_landmarks: int | None = None, *, received: str = ""
) -> LandmarkScheme:
    """Return the scheme to use: ``scheme`` itself, a built-in by name, or inferred.

    Parameters
    ----------
    scheme : LandmarkScheme, str or None, default=None
        A scheme, the name of a built-in one (``"ibug_68"`` ...), or ``None`` to infer
        it from ``n_landmarks`` (468, 68, 33 or 21).
    n_landmarks : int, default=None
        Number of landmarks of the data; checked against an explicit scheme.
    received : str, default=""
        What the data was, for error messages (e.g. ``"X.shape=(2, 50)"``).

    Returns
    -------
    scheme : LandmarkScheme

    Examples
    --------
    >>> resolve_scheme(None, 68).name, resolve_scheme("mediapipe_hand_21").n_landmarks
    ('ibug_68', 21)
    """
    tail = f" Received: {received}" if received else ""
    if isinstance(scheme, str):
        if scheme not in SCHEMES:
            raise ValueError(
                f"scheme must be a LandmarkScheme or one of {sorted(SCHEMES)}. "
                f"Received: scheme={scheme!r}"
            )
        scheme = SCHEMES[scheme]
    if scheme is None:
        if n_landmarks not in _BY_COUNT:
            counts = ", ".join(f"{k} ({s.name})" for k, s in _BY_COUNT.items())
            raise ValueError(
                f"cannot infer the landmark scheme from {n_landmarks} landmarks; the built-in "
                f"schemes have {counts}. Pass scheme=LandmarkScheme(...) for other layouts."
                + (tail or f" Received: n_landmarks={n_landmarks}")
            )
        return _BY_COUNT[n_landmarks]
    if not isinstance(scheme, LandmarkScheme):
        raise TypeError(
            f"scheme must be a LandmarkScheme, a built-in name or None. Received: scheme={scheme!r}"
        )
    if n_landmarks is not None and n_landmarks != scheme.n_landmarks:
        raise ValueError(
            f"the data has {n_landmarks} landmarks but scheme {scheme.name!r} has "
            f"{scheme.n_landmarks}." + (tail or f" Received: n_landmarks={n_landmarks}")
        )
    return scheme
