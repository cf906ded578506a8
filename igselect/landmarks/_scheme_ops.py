"""Operations that read a landmark scheme: mirroring and attribution shares per region.

Each takes ``scheme=None`` and infers the scheme from the number of landmarks (see
:func:`~igselect.landmarks.schemes.resolve_scheme`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .schemes import FACE_MESH_468, LandmarkScheme, resolve_scheme

__all__ = ["mirror", "region_shares", "rigid_share"]


# -------------------------------------------------------------- operations on any scheme
def _scores_matrix(scores, indices, scheme) -> tuple[np.ndarray, np.ndarray, LandmarkScheme]:
    scores = np.abs(np.asarray(scores, dtype=np.float64))
    if scores.ndim == 0:
        raise ValueError(
            f"scores must have one value per landmark on the last axis. Received: "
            f"scores.shape={scores.shape}"
        )
    received = f"scores.shape={scores.shape}"
    if indices is None:
        scheme = resolve_scheme(scheme, scores.shape[-1], received=received)
    else:  # a subset says nothing about the scheme: the mesh, as before schemes existed
        scheme = FACE_MESH_468 if scheme is None else resolve_scheme(scheme)
    idx = scheme.check_indices(indices)
    if scores.shape[-1] != idx.size:
        raise ValueError(
            f"scores must have one value per landmark on the last axis ({idx.size}). "
            f"Received: {received}"
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores contains NaN or infinite values.")
    return scores, idx, scheme


def region_shares(scores, indices=None, *, scheme=None) -> dict[str, np.ndarray | float]:
    """Fraction of the total absolute attribution that falls on each region.

    Parameters
    ----------
    scores : array-like of shape (..., n_landmarks)
        Attribution per landmark (e.g. ``GlobalIGSelector.scores_``); absolute values
        are used. Leading axes (e.g. one row per emotion) are kept.
    indices : array-like of int, default=None
        Landmark index of each score; ``None`` means the scores cover all landmarks.
    scheme : LandmarkScheme, str or None, default=None
        Landmark scheme; ``None`` infers it from ``n_landmarks`` (and means the 468-point
        mesh when ``indices`` is given).

    Returns
    -------
    shares : dict
        ``{region: share}`` for every region of the scheme (they partition the
        landmarks, so the shares sum to 1; 0 where all scores are 0).

    Examples
    --------
    >>> s = np.zeros(68); s[[30, 48]] = 1.0        # nose tip, a mouth corner
    >>> {k: float(v) for k, v in region_shares(s).items() if v}
    {'nose': 0.5, 'outer_lips': 0.5}
    """
    scores, idx, scheme = _scores_matrix(scores, indices, scheme)
    total = scores.sum(axis=-1)
    safe = np.where(total > 0, total, 1.0)
    names = scheme.landmark_regions(idx)
    out = {}
    for name in scheme.regions:
        share = scores[..., names == name].sum(axis=-1) / safe
        out[name] = float(share) if share.ndim == 0 else share
    return out


def rigid_share(scores, indices=None, regions: Sequence[str] | None = None, *, scheme=None):
    """Fraction of the total absolute attribution on expression-invariant regions.

    A bias indicator: rigid regions (the scheme's :attr:`~LandmarkScheme.rigid_regions`:
    nose, face outline and forehead of the mesh, jaw and nose of iBUG 68, the torso of
    the pose, the palm of the hand) move little when the expression or gesture changes,
    so a classifier that puts much of its attribution there relies on head or body
    shape, pose or framing. Compare the value with the regions' share of landmarks,
    which uniform attribution would give.

    Parameters
    ----------
    scores : array-like of shape (..., n_landmarks)
        Attribution per landmark; absolute values are used.
    indices : array-like of int, default=None
        Landmark index of each score; ``None`` means all landmarks.
    regions : sequence of str, default=None
        Region names counted as rigid; ``None`` means ``scheme.rigid_regions``.
    scheme : LandmarkScheme, str or None, default=None
        As in :func:`region_shares`.

    Returns
    -------
    share : float or ndarray of shape scores.shape[:-1]
        0 when all scores are zero.

    Examples
    --------
    >>> s = np.zeros(21); s[0] = 3.0; s[8] = 1.0    # wrist (palm), index fingertip
    >>> float(rigid_share(s))
    0.75
    """
    scores, idx, scheme = _scores_matrix(scores, indices, scheme)
    regions = scheme.rigid_regions if regions is None else regions
    if isinstance(regions, str) or any(r not in scheme.regions for r in regions):
        raise ValueError(
            f"regions must be a sequence of names from {tuple(scheme.regions)}. "
            f"Received: regions={regions!r}"
        )
    rigid = np.isin(idx, np.concatenate([scheme.regions[r] for r in regions] or [[]]))
    total = scores.sum(axis=-1)
    share = scores[..., rigid].sum(axis=-1) / np.where(total > 0, total, 1.0)
    return float(share) if share.ndim == 0 else share


def mirror(X, *, x_center: float | None = 0.5, scheme=None) -> np.ndarray:
    """Mirror landmarks left-right, keeping landmark identities consistent.

    The x coordinates are reflected about ``x_center`` and the landmarks are permuted
    with the scheme's mirror permutation, so that landmark ``i`` of the result is again
    the point the scheme calls ``i`` (the left eye stays ``left_eye``). A plain
    coordinate flip puts the left-eye landmarks on the right eye. This is the flip
    augmentation for landmark sequences. A hand has no mirror pairs: its flip is the
    other hand.

    Parameters
    ----------
    X : array-like of shape (..., 2, n_landmarks) or (..., 2, n_landmarks, 1)
        Landmarks: one frame ``(2, L)``, a sequence ``(P, 2, L)``, a data set
        ``(n, P, 2, L)``, optionally with a trailing channel axis.
    x_center : float or None, default=0.5
        Axis of the reflection, ``x -> 2 * x_center - x``. The default suits coordinates
        normalised to the face crop. Use ``0.0`` for aligned data
        (:class:`LandmarkAligner` output), and ``None`` to reflect every frame about its
        own mean x, which keeps it in place.
    scheme : LandmarkScheme, str or None, default=None
        Landmark scheme; ``None`` infers it from ``L`` (468, 68, 33 or 21).

    Returns
    -------
    X_mirrored : ndarray, same shape as ``X``
        Floating dtype of ``X`` (float64 for integer input). ``mirror(mirror(X))``
        restores the landmark order exactly and the coordinates up to the rounding of
        ``2 * x_center - x`` (bit-exact for ``x_center=0``).

    Examples
    --------
    >>> X = np.random.default_rng(0).random((3, 16, 2, 68), dtype=np.float32)
    >>> Xm = mirror(X)
    >>> Xm.shape, bool(np.allclose(Xm[..., 0, 45], 1 - X[..., 0, 36]))  # eye corners
    ((3, 16, 2, 68), True)
    """
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"X must be numeric. Received: X.dtype={arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    channel = arr.ndim >= 4 and arr.shape[-1] == 1 and arr.shape[-3] == 2
    core = arr[..., 0] if channel else arr
    if core.ndim < 2 or core.shape[-2] != 2:
        raise ValueError(
            "X must have shape (..., 2, n_landmarks) (x/y then the landmarks; mirroring "
            f"needs every landmark of the scheme, not a subset). Received: X.shape={arr.shape}"
        )
    scheme = resolve_scheme(scheme, core.shape[-1], received=f"X.shape={arr.shape}")
    out = core[..., scheme.mirror_permutation()].copy()
    if x_center is None:
        center = core[..., 0, :].mean(axis=-1, keepdims=True)
    else:
        center = np.asarray(x_center, dtype=out.dtype)
        if center.ndim or not np.isfinite(center):
            raise ValueError(f"x_center must be a finite float or None. Received: {x_center=}")
    out[..., 0, :] = 2 * center - out[..., 0, :]
    return out[..., None] if channel else out
