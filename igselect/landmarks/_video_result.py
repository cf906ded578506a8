"""What extracting a video or an image sequence gives: landmarks per frame, or no face at all.

:class:`VideoLandmarks` holds the landmarks of every frame (after the missing-frame
policy and resampling) with the per-frame face mask; :class:`NoFaceError` is raised
when no frame has a face, and keeps the number of frames through pickling, so a
process worker can hand it back. Both are public as
``igselect.landmarks.VideoLandmarks`` and ``igselect.landmarks.NoFaceError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NoFaceError", "VideoLandmarks"]


class NoFaceError(ValueError):
    """No face was found in any frame of a video or image sequence.

    Attributes
    ----------
    n_frames : int or None
        Number of frames decoded (all without a face).
    """

    def __init__(self, message: str, n_frames: int | None = None):
        super().__init__(message)
        self.n_frames = n_frames

    def __reduce__(self):  # keep n_frames through pickling (process workers)
        return (type(self), (str(self), self.n_frames))


@dataclass
class VideoLandmarks:
    """Landmarks of one video or image sequence.

    Attributes
    ----------
    landmarks : ndarray of shape (P, 2, 468), float32
        Crop-normalised landmarks, after the missing-frame policy and, when
        ``n_frames`` was given, resampling to ``P = n_frames``.
    found : ndarray of shape (n_frames_total,), bool
        Whether a face was found in each decoded frame (before resampling).
    n_frames_total : int
        Number of frames decoded.
    n_missing : int
        Number of decoded frames without a face.
    fps : float
        Frame rate reported by the container (30.0 for image sequences).
    path : str or None
        Source of the frames.
    """

    landmarks: np.ndarray
    found: np.ndarray
    n_frames_total: int
    n_missing: int
    fps: float
    path: str | None = None

    @property
    def found_fraction(self) -> float:
        """Fraction of decoded frames with a face."""
        return float(self.found.mean()) if self.found.size else 0.0
