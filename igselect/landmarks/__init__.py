"""Landmarks: MediaPipe extraction, schemes (face mesh, iBUG 68, pose, hand), time, alignment.

Examples
--------
>>> from igselect.landmarks import FaceMeshExtractor, resample_frames  # doctest: +SKIP
"""

from . import mesh, schemes
from ._model import FACE_MODEL_SHA256, FACE_MODEL_URL, face_model_cache_dir, resolve_face_model
from ._scheme_ops import mirror, region_shares, rigid_share
from ._time import fill_missing_frames, resample_frames
from .aligner import LandmarkAligner
from .displacement import OnsetDisplacement
from .extractor import (
    N_MESH_LANDMARKS,
    FaceMeshExtractor,
    NoFaceError,
    UnreadableInputError,
    VideoLandmarks,
)
from .mesh import REGIONS, RIGID_REGIONS, landmark_names, landmark_regions, mirror_permutation
from .schemes import (
    FACE_MESH_468,
    IBUG_68,
    MEDIAPIPE_HAND_21,
    MEDIAPIPE_POSE_33,
    LandmarkScheme,
    resolve_scheme,
)

__all__ = [
    "FACE_MESH_468",
    "IBUG_68",
    "LandmarkScheme",
    "MEDIAPIPE_HAND_21",
    "MEDIAPIPE_POSE_33",
    "resolve_scheme",
    "schemes",
    "FACE_MODEL_SHA256",
    "FACE_MODEL_URL",
    "FaceMeshExtractor",
    "LandmarkAligner",
    "N_MESH_LANDMARKS",
    "NoFaceError",
    "OnsetDisplacement",
    "REGIONS",
    "RIGID_REGIONS",
    "UnreadableInputError",
    "VideoLandmarks",
    "face_model_cache_dir",
    "fill_missing_frames",
    "landmark_names",
    "landmark_regions",
    "mesh",
    "mirror",
    "mirror_permutation",
    "region_shares",
    "resample_frames",
    "resolve_face_model",
    "rigid_share",
]
