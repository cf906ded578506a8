"""The face-mesh data built by ``tools/build_mesh_pairs.py`` (``data/face_mesh.json``).

The geometric regions (``forehead``, ``left_cheek``, ``right_cheek``), the mirror
permutation and the mean neutral London face; see :mod:`igselect.landmarks.mesh`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np

__all__: list[str] = []


@cache
def _data() -> dict:
    text = resources.files("igselect.landmarks").joinpath("data", "face_mesh.json").read_text()
    return json.loads(text)


def mesh_extra_regions() -> dict[str, list[int]]:
    """The geometric regions, in the order left cheek, right cheek, forehead."""
    extra = _data()["regions"]
    return {name: sorted(extra[name]) for name in ("left_cheek", "right_cheek", "forehead")}


def mesh_mirror_permutation() -> np.ndarray:
    """Mirror permutation of the 468 mesh points."""
    return np.asarray(_data()["mirror_permutation"], dtype=np.intp)


def mesh_mean_shape() -> np.ndarray:
    """Mirror-symmetrised mean neutral London face ``(2, 468)``, unit RMS radius."""
    return np.asarray(_data()["mean_shape"], dtype=np.float64)
