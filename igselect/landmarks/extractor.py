"""MediaPipe Face Landmarker wrapped into the paper's extraction protocol.

Per frame: find the face on the full frame, cut a square crop around it (with
a margin), resize it to ``crop_size`` x ``crop_size``, convert it to grayscale
and run the face mesh again on the crop. The output is the 468 face-mesh
landmarks (the 10 iris points are dropped) in coordinates normalised to the
crop: x and y in ``[0, 1]`` across the crop's width and height.

Videos and image sequences run in MediaPipe's VIDEO mode and *track*: the crop
of frame t is placed from the landmarks of frame t-1, so a frame normally costs
one face-mesh inference on a small crop; the full-frame search runs only on the
first frame and after the face is lost.

The extractor takes part in :func:`~igselect.landmarks._parallel.extract_many`
and the loaders' cache through a small protocol that any other extractor can
follow (no shared code names this class): a ``scheme`` attribute (a
:class:`~igselect.landmarks.schemes.LandmarkScheme` or its name), an
``n_landmarks`` attribute (optional when the scheme is an object), a :meth:`~FaceMeshExtractor.cache_key` method, the
context-manager methods and the ``image`` / ``video`` / ``sequence`` methods.

The MediaPipe passes and the tracking loop are in :mod:`._tracking`, the sequence
result :class:`VideoLandmarks` and :class:`NoFaceError` in :mod:`._video_result`.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .._validation import (
    Interval,
    IntInterval,
    Real,
    StrOptions,
    validate_parameter_constraints,
)
from . import _geometry as geo
from ._geometry import UnreadableInputError
from ._model import model_sha256, resolve_face_model
from ._time import MISSING_POLICIES
from ._tracking import N_MESH_LANDMARKS, _FaceMeshTracking
from ._video_result import NoFaceError, VideoLandmarks
from .schemes import FACE_MESH_468

__all__ = [
    "FaceMeshExtractor",
    "VideoLandmarks",
    "NoFaceError",
    "UnreadableInputError",
    "N_MESH_LANDMARKS",
]

_SELECT_RULES = ("largest", "center")


def _close_all(landmarkers: dict) -> None:
    for lm in list(landmarkers.values()):
        lm.close()
    landmarkers.clear()


class FaceMeshExtractor(_FaceMeshTracking):
    """Extract 468 crop-normalised face-mesh landmarks from images and videos.

    Parameters
    ----------
    model_path : str or path-like, default=None
        ``face_landmarker.task`` bundle; ``None`` resolves it with
        :func:`~igselect.landmarks.resolve_face_model` (``$IGSELECT_FACE_MODEL``,
        the user cache, or a checked download).
    crop_size : int, default=300
        Side in pixels of the square face crop given to the second pass (the
        paper's 300x300).
    grayscale : bool, default=True
        Convert the crop to grayscale (as the paper does) before the second pass.
    margin : float, default=0.25
        Margin added on each side of the landmark bounding box, as a fraction of
        its longer side. The mesh hugs the face from brow to chin, so 0.25 keeps
        the forehead and jaw well inside the crop; the face then fills 2/3 of
        the crop, the scale MediaPipe's short-range detector handles best.
    min_face_confidence : float, default=0.7
        Minimum face-detection and face-presence score (both passes). A bare
        Face Landmarker call at MediaPipe's default 0.5 reports the jellyfish
        photo of the test data as a face; 0.7 leaves a margin against such
        false positives and still finds all 120 London faces, the 4 pose photos
        and every frame of ``single_face.mp4``.
    select : {"largest", "center"}, default="largest"
        Which face to keep when several are found: the largest landmark
        bounding box, or the one closest to the frame centre.
    max_faces : int, default=5
        How many faces the full-frame search considers.
    missing : {"interpolate", "keep_nan", "raise"}, default="interpolate"
        Default policy for video frames without a face (see
        :func:`~igselect.landmarks.fill_missing_frames`).
    verbose : int, default=0
        Show a tqdm progress bar over the frames of each video.

    Examples
    --------
    >>> from igselect.landmarks import FaceMeshExtractor
    >>> with FaceMeshExtractor("face_landmarker.task") as ext:  # doctest: +SKIP
    ...     xy = ext.image("face.jpg")          # (2, 468) or None
    ...     res = ext.video("clip.mp4", n_frames=16)
    >>> res.landmarks.shape  # doctest: +SKIP
    (16, 2, 468)
    """

    #: Landmark scheme of the output.
    scheme = FACE_MESH_468
    #: Number of landmarks per frame.
    n_landmarks = N_MESH_LANDMARKS
    #: Bump when the extraction protocol changes what the same settings return.
    _protocol_version = 1
    #: Constructor settings that change the landmarks (and so the cache key).
    _cache_settings = (
        "crop_size",
        "grayscale",
        "margin",
        "min_face_confidence",
        "select",
        "max_faces",
    )

    #: Checked in ``__init__`` (the extractor is not a scikit-learn estimator).
    _parameter_constraints: dict = {
        "crop_size": [IntInterval(32)],
        "margin": [Interval(Real, 0, 2, closed="both")],
        "min_face_confidence": [Interval(Real, 0, 1, closed="neither")],
        "select": [StrOptions(set(_SELECT_RULES))],
        "max_faces": [IntInterval(1)],
        "missing": [StrOptions(set(MISSING_POLICIES))],
    }

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        *,
        crop_size: int = 300,
        grayscale: bool = True,
        margin: float = 0.25,
        min_face_confidence: float = 0.7,
        select: str = "largest",
        max_faces: int = 5,
        missing: str = "interpolate",
        verbose: int = 0,
    ):
        settings = {
            "crop_size": crop_size,
            "margin": margin,
            "min_face_confidence": min_face_confidence,
            "select": select,
            "max_faces": max_faces,
            "missing": missing,
        }
        validate_parameter_constraints(
            self._parameter_constraints, settings, caller_name=type(self).__name__
        )
        self.model_path = Path(resolve_face_model(model_path))
        self.crop_size = int(crop_size)
        self.grayscale = bool(grayscale)
        self.margin = float(margin)
        self.min_face_confidence = float(min_face_confidence)
        self.select = select
        self.max_faces = int(max_faces)
        self.missing = missing
        self.verbose = verbose
        self._landmarkers: dict = {}
        # Closes the MediaPipe graphs at exit if the user never calls close();
        # MediaPipe's own __del__ at interpreter teardown prints a TypeError.
        self._finalizer = weakref.finalize(self, _close_all, self._landmarkers)

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> FaceMeshExtractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the MediaPipe landmarkers. The extractor reopens them if used again."""
        _close_all(self._landmarkers)

    def cache_key(self) -> dict:
        """Everything the landmarks depend on, for the loaders' cache.

        Returns
        -------
        key : dict
            JSON-serialisable: the class, the protocol version, the settings
            that change landmarks and the sha256 of the model file (computed
            once per file per process).

        Examples
        --------
        >>> FaceMeshExtractor().cache_key()["crop_size"]  # doctest: +SKIP
        300
        """
        cls = type(self)
        return {
            "extractor": f"{cls.__module__}.{cls.__qualname__}",
            "protocol": self._protocol_version,
            "scheme": str(getattr(self.scheme, "name", self.scheme)),
            "model_sha256": model_sha256(self.model_path),
            **{name: getattr(self, name) for name in self._cache_settings},
        }

    def find_faces(self, image) -> np.ndarray:
        """Bounding boxes of every face the full-frame search finds.

        The search runs the Face Landmarker on overlapping square tiles of the
        image (MediaPipe letterboxes a wide image to a square, which shrinks its
        faces); detections of one face in two tiles are merged.

        Parameters
        ----------
        image : str, path-like or ndarray
            As in :meth:`image`.

        Returns
        -------
        boxes : ndarray of shape (n_faces, 4)
            ``(x0, y0, x1, y1)`` of each face's landmark box, in pixels.

        Examples
        --------
        >>> with FaceMeshExtractor() as ext:  # doctest: +SKIP
        ...     ext.find_faces("group.jpg").shape
        (5, 4)
        """
        boxes = self._face_boxes(geo.read_bgr(image))
        return np.array(boxes, dtype=np.float64).reshape(-1, 4)

    def image(self, image, *, return_crop: bool = False, coordinates: str = "crop"):
        """Landmarks of the selected face in one image.

        Parameters
        ----------
        image : str, path-like or ndarray
            Image file, or an array: BGR ``(H, W, 3)`` as ``cv2.imread`` returns,
            gray ``(H, W)``, or BGRA ``(H, W, 4)``.
        return_crop : bool, default=False
            Also return the crop ``(x0, y0, side)`` in image pixels; a landmark
            ``(u, v)`` lies at pixel ``(x0 + u * side, y0 + v * side)``.
        coordinates : {"crop", "pixels"}, default="crop"
            ``"crop"``: normalised to the face crop, as every other method returns
            them (and as classifiers are trained). ``"pixels"``: x and y in the
            pixels of ``image`` (to draw on it, e.g. with
            :func:`~igselect.plotting.plot_attribution_on_face`).

        Returns
        -------
        landmarks : ndarray of shape (2, 468), float32, or None
            x (row 0) and y (row 1) in the chosen coordinates; ``None`` when no face
            is found.
        crop : tuple of int or None
            Only with ``return_crop=True``.

        Examples
        --------
        >>> with FaceMeshExtractor() as ext:  # doctest: +SKIP
        ...     ext.image("face.jpg").shape
        (2, 468)
        """
        if coordinates not in ("crop", "pixels"):
            raise ValueError(
                f"coordinates must be 'crop' or 'pixels'. Received: coordinates={coordinates!r}"
            )
        bgr = geo.read_bgr(image)
        crop = self._find_face(bgr)
        uv = None if crop is None else self._crop_pass(bgr, crop)
        if uv is None:
            return (None, None) if return_crop else None
        if coordinates == "pixels":
            uv = geo.crop_to_frame(uv, crop)
        uv = uv.astype(np.float32)
        return (uv, crop) if return_crop else uv

    # -- sequences ---------------------------------------------------------------------------
    def video(
        self, path: str | os.PathLike, n_frames: int | None = None, missing: str | None = None
    ) -> VideoLandmarks:
        """Landmarks of the selected face in every frame of a video file.

        Parameters
        ----------
        path : str or path-like
            Video file readable by OpenCV.
        n_frames : int, default=None
            Resample the landmarks to this many frames (linear in time); ``None``
            keeps one row per decoded frame.
        missing : {"interpolate", "keep_nan", "raise"}, default=None
            Policy for frames without a face; ``None`` uses ``self.missing``.

        Returns
        -------
        result : VideoLandmarks

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file cannot be decoded (corrupt, empty, not a video), or
            ``missing="raise"`` and some frames have no face.
        NoFaceError
            If no frame has a face.

        Examples
        --------
        >>> with FaceMeshExtractor() as ext:  # doctest: +SKIP
        ...     res = ext.video("clip.mp4", n_frames=16)
        >>> res.landmarks.shape, res.n_missing  # doctest: +SKIP
        ((16, 2, 468), 0)
        """
        import cv2

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"video file not found. Received: path={str(path)!r}")
        cap = cv2.VideoCapture(str(path))
        try:
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            fps = fps if np.isfinite(fps) and 1.0 <= fps <= 1000.0 else 30.0
            total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)

            def frames() -> Iterator[np.ndarray]:
                while True:
                    ok, frame = cap.read()
                    if not ok:
                        return
                    yield frame

            if not cap.isOpened():
                raise UnreadableInputError(
                    f"could not open {str(path)!r} as a video (corrupt, empty or unsupported format)"
                )
            return self._run(frames(), fps, str(path), n_frames, missing, total)
        finally:
            cap.release()

    def sequence(
        self,
        images: Iterable,
        n_frames: int | None = None,
        missing: str | None = None,
        *,
        fps: float = 30.0,
        name: str | None = None,
    ) -> VideoLandmarks:
        """Landmarks of an ordered image sequence, tracked like a video (e.g. a CK+ sequence).

        Parameters
        ----------
        images : iterable of str, path-like or ndarray
            Frames in time order (files or arrays, as accepted by :meth:`image`).
        n_frames, missing
            As in :meth:`video`.
        fps : float, default=30.0
            Frame rate used for the VIDEO-mode timestamps.
        name : str, default=None
            Name of the sequence in messages and in ``result.path``.

        Returns
        -------
        result : VideoLandmarks

        Examples
        --------
        >>> with FaceMeshExtractor() as ext:  # doctest: +SKIP
        ...     res = ext.sequence(sorted(Path("S005/001").glob("*.png")), n_frames=16)
        """
        frames = (geo.read_bgr(img) for img in images)
        return self._run(frames, float(fps), name, n_frames, missing, None)
