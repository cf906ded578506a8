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
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
from ._time import MISSING_POLICIES, fill_missing_frames, resample_frames
from .schemes import FACE_MESH_468

__all__ = [
    "FaceMeshExtractor",
    "VideoLandmarks",
    "NoFaceError",
    "UnreadableInputError",
    "N_MESH_LANDMARKS",
]

N_MESH_LANDMARKS = 468
_SELECT_RULES = ("largest", "center")


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


def _close_all(landmarkers: dict) -> None:
    for lm in list(landmarkers.values()):
        lm.close()
    landmarkers.clear()


class FaceMeshExtractor:
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

    def _landmarker(self, mode: str):
        from mediapipe.tasks.python import BaseOptions, vision

        if mode not in self._landmarkers:
            running = vision.RunningMode.IMAGE if mode == "image" else vision.RunningMode.VIDEO
            options = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(self.model_path)),
                running_mode=running,
                num_faces=self.max_faces if mode == "image" else 1,
                min_face_detection_confidence=self.min_face_confidence,
                min_face_presence_confidence=self.min_face_confidence,
            )
            try:
                self._landmarkers[mode] = vision.FaceLandmarker.create_from_options(options)
            except (RuntimeError, ValueError) as exc:
                raise RuntimeError(
                    f"MediaPipe could not load the face model {str(self.model_path)!r} ({exc}). "
                    "Is it a face_landmarker.task bundle? Set IGSELECT_FACE_MODEL or delete the "
                    "cached copy to download it again."
                ) from exc
        return self._landmarkers[mode]

    # -- one frame ---------------------------------------------------------------------------
    @staticmethod
    def _mp_image(rgb: np.ndarray):
        import mediapipe as mp

        return mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)

    @staticmethod
    def _faces(result) -> list[np.ndarray]:
        """``(2, 468)`` normalised coordinates of every face in a MediaPipe result."""
        return [
            np.array([(p.x, p.y) for p in face[:N_MESH_LANDMARKS]], dtype=np.float64).T
            for face in result.face_landmarks
        ]

    def _face_boxes(self, bgr: np.ndarray) -> list[np.ndarray]:
        """Landmark boxes of every face, searched on square tiles of the full frame."""
        height, width = bgr.shape[:2]
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        landmarker = self._landmarker("image")
        boxes, interior = [], []
        for tx, ty, side in geo.square_tiles(height, width):
            tile = rgb if side < 0 else np.ascontiguousarray(rgb[ty : ty + side, tx : tx + side])
            th, tw = tile.shape[:2]
            for uv in self._faces(landmarker.detect(self._mp_image(tile))):
                box = geo.landmark_box(uv * np.array([[tw], [th]]))
                interior.append(min(box[0], box[1], tw - box[2], th - box[3]))
                boxes.append(box + np.array([tx, ty, tx, ty]) * (side > 0))
        return geo.dedupe_boxes(boxes, interior) if boxes else []

    def _find_face(self, bgr: np.ndarray) -> tuple[int, int, int] | None:
        """The square crop around the face chosen by ``select``, or None."""
        boxes = self._face_boxes(bgr)
        if not boxes:
            return None
        height, width = bgr.shape[:2]
        return geo.crop_square(geo.select_box(boxes, height, width, self.select), self.margin)

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

    def _crop_pass(self, bgr, crop, timestamp_ms=None) -> np.ndarray | None:
        """Landmarks ``(2, 468)`` in the crop, or None; VIDEO mode when a timestamp is given."""
        image = self._mp_image(geo.cut_crop(bgr, crop, self.crop_size, self.grayscale))
        if timestamp_ms is None:
            faces = self._faces(self._landmarker("image").detect(image))
        else:
            faces = self._faces(self._landmarker("video").detect_for_video(image, timestamp_ms))
        if not faces:
            return None
        # Several faces in the crop: the one nearest its centre is the one we cropped.
        return min(faces, key=lambda uv: float(np.sum((uv.mean(axis=1) - 0.5) ** 2)))

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

    def _run(self, frames, fps, name, n_frames, missing, total) -> VideoLandmarks:
        missing = self.missing if missing is None else missing
        if missing not in MISSING_POLICIES:
            raise ValueError(
                f"missing must be one of {MISSING_POLICIES}. Received: missing={missing!r}"
            )
        if n_frames is not None:
            resample_frames(np.zeros((1, 2, 1)), n_frames)  # validates n_frames early
        if self.verbose:
            from tqdm.auto import tqdm

            frames = tqdm(
                frames, total=total or None, desc=Path(name or "frames").name, leave=False
            )
        rows, found = self._track(frames, fps)
        if not rows:
            raise UnreadableInputError(
                f"could not decode any frame from {name!r} (corrupt or empty)"
            )
        label = name if name is not None else "the sequence"
        if not any(found):
            raise NoFaceError(f"no face in this video: {label} ({len(rows)} frames)", len(rows))
        seq = np.stack(rows).astype(np.float32)
        seq = fill_missing_frames(seq, missing, name=label)
        if n_frames is not None:
            seq = resample_frames(seq, n_frames)
        found = np.asarray(found, dtype=bool)
        return VideoLandmarks(
            landmarks=seq,
            found=found,
            n_frames_total=int(found.size),
            n_missing=int((~found).sum()),
            fps=fps,
            path=name,
        )

    def _track(self, frames, fps) -> tuple[list[np.ndarray], list[bool]]:
        """Run one fresh VIDEO-mode landmarker over the frames, carrying the crop forward."""
        old = self._landmarkers.pop("video", None)
        if old is not None:  # a new sequence starts a new timeline and forgets old tracks
            old.close()
        nan = np.full((2, N_MESH_LANDMARKS), np.nan)
        rows: list[np.ndarray] = []
        found: list[bool] = []
        crop = None
        try:
            for i, bgr in enumerate(frames):
                ts = int(round(i * 1000.0 / fps)) + i  # strictly increasing even at high fps
                uv = None
                tracked = crop is not None
                if crop is None:
                    crop = self._find_face(bgr)
                if crop is not None:
                    uv = self._crop_pass(bgr, crop, ts)
                    if uv is None and tracked:  # lost the track: search this frame again
                        crop = self._find_face(bgr)
                        uv = None if crop is None else self._crop_pass(bgr, crop, ts + 1)
                if uv is None:
                    crop = None
                    rows.append(nan)
                    found.append(False)
                    continue
                rows.append(uv)
                found.append(True)
                crop = geo.crop_square(geo.landmark_box(geo.crop_to_frame(uv, crop)), self.margin)
        finally:
            lm = self._landmarkers.pop("video", None)
            if lm is not None:
                lm.close()
        return rows, found
