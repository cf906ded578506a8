"""The MediaPipe passes of :class:`~igselect.landmarks.FaceMeshExtractor`, and its tracking.

One frame: the full-frame search runs the Face Landmarker (IMAGE mode) on
overlapping square tiles and keeps one face by the extractor's ``select`` rule;
the crop pass cuts the square crop around it (``margin``, ``crop_size``,
``grayscale``) and runs the face mesh again on the crop. A sequence runs the crop
pass in VIDEO mode on a fresh landmarker and carries the crop of frame t-1 to
frame t, searching the full frame only at the start and after the face is lost.

:class:`_FaceMeshTracking` is a mixin: it reads the extractor's settings
(``model_path``, ``crop_size``, ``grayscale``, ``margin``, ``min_face_confidence``,
``select``, ``max_faces``, ``missing``, ``verbose``) and its ``_landmarkers`` dict of
open MediaPipe landmarkers, one per running mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _geometry as geo
from ._geometry import UnreadableInputError
from ._time import MISSING_POLICIES, fill_missing_frames, resample_frames
from ._video_result import NoFaceError, VideoLandmarks

__all__: list[str] = []

N_MESH_LANDMARKS = 468


class _FaceMeshTracking:
    """Per-frame MediaPipe passes and the tracking loop over a sequence (a mixin)."""

    _landmarkers: dict

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

    # -- sequences ---------------------------------------------------------------------------
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
