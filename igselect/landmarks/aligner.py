"""Procrustes alignment of face-landmark sequences (a scikit-learn transformer).

An expression moves landmarks by a few percent of the face size, far less than head
position, size and in-plane rotation change between photos and people. ``LandmarkAligner``
removes those three by a similarity transform per frame, so that what is left is face
shape and expression.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from igselect._validation import (
    Interval,
    IntInterval,
    LandmarkTagsMixin,
    Real,
    StrOptions,
    check_consistent_shape,
    check_landmark_array,
)

from .schemes import SCHEMES, LandmarkScheme, resolve_scheme

__all__ = ["LandmarkAligner"]

_SCHEMES_BY_COUNT = {s.n_landmarks: s for s in SCHEMES.values()}


def _to_complex(X: np.ndarray) -> np.ndarray:
    """``(..., 2, L)`` real -> ``(..., L)`` complex128 ``x + iy``."""
    z = np.empty(X.shape[:-2] + X.shape[-1:], dtype=np.complex128)
    z.real, z.imag = X[..., 0, :], X[..., 1, :]
    return z


def _sq_norm(z: np.ndarray) -> np.ndarray:
    """Squared norm over the last axis of a complex array."""
    r = z.view(np.float64)
    return np.einsum("...i,...i->...", r, r)


def _normalise(z: np.ndarray) -> np.ndarray:
    """Centre ``z`` (..., L) and scale it to unit RMS radius."""
    z = z - z.mean(axis=-1, keepdims=True)
    return z / np.sqrt(_sq_norm(z) / z.shape[-1])[..., None]


def _similarity(z: np.ndarray, ref: np.ndarray, *, scale: bool, rotation: bool) -> np.ndarray:
    """Complex factor ``w`` (...,) minimising ``||w z - ref||`` over the allowed transforms.

    ``z`` must be centred; ``ref`` is a centred ``(L,)`` complex shape. In 2-D, the
    orthogonal Procrustes solution is closed form: with ``c = <z, ref>`` (Hermitian),
    rotation and scale give ``w = c / ||z||^2``, rotation alone ``w = c / |c|``, scale alone
    ``w = Re(c) / ||z||^2``. ``w`` is a rotation times a positive scale, never a reflection.
    """
    if not (scale or rotation):
        return np.ones(z.shape[:-1])
    c = (z @ ref.conj()).conj()
    if not rotation:
        return c.real / _sq_norm(z)
    if not scale:
        mag = np.abs(c)
        return np.where(mag > 0, c / np.where(mag > 0, mag, 1.0), 1.0)
    return c / _sq_norm(z)


class LandmarkAligner(LandmarkTagsMixin, TransformerMixin, BaseEstimator):
    """Align every frame to a reference face by a similarity transform (Procrustes).

    Each frame's landmarks are translated to centroid 0, then optionally rotated in-plane
    and uniformly scaled so that they lie as close as possible (least squares) to the
    reference shape. This removes head position, size and in-plane rotation and keeps
    expression. Reflections are never used. Frames are aligned independently, in one
    vectorised pass (the 2-D Procrustes problem has a closed form; no loop over frames).

    Parameters
    ----------
    reference : {"mean", "canonical"} or array-like of shape (2, n_landmarks), \
            default="mean"
        Target shape. ``"mean"`` learns it in :meth:`fit` as the generalised-Procrustes
        mean of all training frames, centred and scaled to unit RMS radius (the root mean
        square distance of the landmarks to their centroid). ``"canonical"`` uses the
        landmark scheme's canonical shape
        (:meth:`LandmarkScheme.canonical_shape <igselect.landmarks.LandmarkScheme.canonical_shape>`,
        unit RMS radius, upright, y down), so that every data set of one scheme lands in
        the same frame. An array is centred (it keeps its scale and orientation).
    scale : bool, default=True
        Estimate a uniform scale per frame. If False, frames keep their own size (in the
        input's units; only the reference's orientation is used).
    rotation : bool, default=True
        Estimate an in-plane rotation per frame. If False, only translation (and scale)
        are removed, so head roll stays in the data.
    max_iter : int, default=10
        Maximum generalised-Procrustes iterations when ``reference="mean"``.
    tol : float, default=1e-7
        Stop the generalised-Procrustes iterations when the RMS change of the mean shape
        falls below ``tol`` (shapes have unit RMS radius).
    scheme : LandmarkScheme, str or None, default=None
        Landmark scheme of ``X`` (e.g. :data:`~igselect.landmarks.IBUG_68`); fit checks
        that ``X`` has its number of landmarks. ``None`` infers it from that number
        where it is unambiguous (468, 68, 33, 21); only ``reference="canonical"`` needs
        a known scheme.

    Attributes
    ----------
    reference_ : ndarray of shape (2, n_landmarks)
        Centred reference shape the frames are aligned to.
    n_landmarks_in_ : int
        Number of landmarks seen in :meth:`fit`.
    n_iter_ : int
        Generalised-Procrustes iterations run (0 for an explicit reference).
    scheme_ : LandmarkScheme or None
        The scheme of the training data (None for an unknown layout without ``scheme``).

    See Also
    --------
    igselect.landmarks.mesh.mirror : Left-right flip with consistent landmark identities.

    Notes
    -----
    With ``scale=True`` the output is in the reference's units (unit RMS radius for the
    learned mean), which also makes coordinates comparable between differently framed
    crops. A frame whose landmarks all coincide cannot be scaled; it raises.

    Input is ``(n_samples, n_frames, 2, n_landmarks)`` (a trailing channel axis of size 1
    is accepted and dropped); the output is float32 of shape
    ``(n_samples, n_frames, 2, n_landmarks)``. Any number of landmarks works (e.g. a
    selected subset), but transform needs the count seen in fit.

    Examples
    --------
    >>> import numpy as np
    >>> from igselect.landmarks import mesh
    >>> face = mesh.mean_shape()                       # (2, 468)
    >>> theta = np.deg2rad(20)
    >>> R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    >>> moved = 0.3 * R @ face + np.array([[0.5], [0.4]])
    >>> X = np.stack([face, moved])[None]              # (1 sample, 2 frames, 2, 468)
    >>> Xa = LandmarkAligner().fit_transform(X)
    >>> bool(np.abs(Xa[0, 0] - Xa[0, 1]).max() < 1e-5)
    True

    Another scheme, aligned to its canonical shape:

    >>> from igselect.landmarks import FACE_MESH_468, IBUG_68
    >>> X68 = X[..., FACE_MESH_468.to(IBUG_68)]         # the 68 iBUG points of the mesh
    >>> LandmarkAligner(reference="canonical", scheme=IBUG_68).fit_transform(X68).shape
    (1, 2, 2, 68)
    """

    _parameter_constraints: dict = {
        "reference": [StrOptions({"mean", "canonical"}), "array-like"],
        "scale": ["boolean"],
        "rotation": ["boolean"],
        "max_iter": [IntInterval(1)],
        "tol": [Interval(Real, 0, None, closed="left")],
        "scheme": [None, StrOptions(set(SCHEMES)), LandmarkScheme],
    }

    def __init__(
        self, reference="mean", scale=True, rotation=True, max_iter=10, tol=1e-7, scheme=None
    ):
        self.reference = reference
        self.scale = scale
        self.rotation = rotation
        self.max_iter = max_iter
        self.tol = tol
        self.scheme = scheme

    def _check_frames(self, X) -> np.ndarray:
        z = _to_complex(X)
        z -= z.mean(axis=-1, keepdims=True)
        size = _sq_norm(z)
        if (self.scale or self.rotation) and not np.all(size > 0):
            bad = tuple(int(i) for i in np.argwhere(~(size > 0))[0])
            raise ValueError(
                "cannot align a frame whose landmarks all coincide (zero size). "
                f"Received: X[{bad[0]}, {bad[1]}] with all points equal"
            )
        return z

    def _mean_shape(self, z: np.ndarray) -> np.ndarray:
        """Generalised Procrustes mean (unit RMS radius) of centred frames ``z`` (n, P, L)."""
        frames = z.reshape(-1, z.shape[-1])
        frames = frames[_sq_norm(frames) > 0]  # degenerate frames only pass when centring
        if not len(frames):
            raise ValueError("cannot learn a mean shape: every frame has all landmarks equal.")
        frames = _normalise(frames)
        init = _normalise(frames.mean(axis=0))
        ref = init
        self.n_iter_ = 0
        for it in range(1, self.max_iter + 1):
            w = _similarity(frames, ref, scale=True, rotation=self.rotation)
            new = _normalise(w @ frames / len(frames))
            # Pin the orientation to the plain mean so the estimate cannot drift.
            new = new * _similarity(new, init, scale=False, rotation=self.rotation)
            change = np.sqrt(np.mean(np.abs(new - ref) ** 2))
            ref, self.n_iter_ = new, it
            if change < self.tol:
                break
        return ref

    def fit(self, X, y=None):
        """Learn the reference shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Landmark sequences.
        y : None
            Ignored.

        Returns
        -------
        self : LandmarkAligner
        """
        self._validate_params()
        X = check_landmark_array(X)
        n_landmarks = X.shape[-1]
        if self.scheme is not None or (
            isinstance(self.reference, str) and self.reference == "canonical"
        ):
            self.scheme_ = resolve_scheme(self.scheme, n_landmarks, received=f"X.shape={X.shape}")
        else:
            self.scheme_ = _SCHEMES_BY_COUNT.get(n_landmarks)
        if isinstance(self.reference, str) and self.reference == "canonical":
            ref = _to_complex(self.scheme_.canonical_shape())
            self.n_iter_ = 0
        elif isinstance(self.reference, str):  # "mean"
            ref = self._mean_shape(self._check_frames(X))
        else:
            ref_arr = np.asarray(self.reference, dtype=np.float64)
            if ref_arr.shape != (2, n_landmarks):
                raise ValueError(
                    f"reference must have shape (2, {n_landmarks}) to match X. "
                    f"Received: reference.shape={ref_arr.shape}"
                )
            if not np.isfinite(ref_arr).all():
                raise ValueError("reference contains NaN or infinite values.")
            ref = _to_complex(ref_arr)
            ref = ref - ref.mean()
            if not np.any(ref != 0):
                raise ValueError("reference has zero size (all landmarks coincide).")
            self.n_iter_ = 0
        self.reference_ = np.stack([ref.real, ref.imag])
        self.n_landmarks_in_ = n_landmarks
        return self

    def transform(self, X):
        """Align every frame of ``X`` to :attr:`reference_`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Landmark sequences with the landmark count seen in :meth:`fit`.

        Returns
        -------
        X_aligned : ndarray of shape (n_samples, n_frames, 2, n_landmarks), float32
            Centroid 0; in the reference's scale if ``scale=True``.
        """
        check_is_fitted(self, "reference_")
        X = check_landmark_array(X)
        check_consistent_shape(X, None, self.n_landmarks_in_, where=type(self).__name__)
        z = self._check_frames(X)
        ref = self.reference_[0] + 1j * self.reference_[1]
        z *= _similarity(z, ref, scale=self.scale, rotation=self.rotation)[..., None]
        out = np.empty(X.shape, dtype=np.float32)
        out[..., 0, :], out[..., 1, :] = z.real, z.imag
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.requires_fit = True
        return tags
