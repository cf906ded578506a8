"""A toy landmark extractor (no MediaPipe) that follows the extraction protocol.

Landmarks are a deterministic function of each file's bytes, so tests know the
ground truth. A file starting with ``b"noface"`` has no face; one starting with
``b"bad"`` is unreadable. ``ToyExtractor.calls`` counts ``image``/``sequence``
calls. Run as a script, it patches igselect to use the toy and runs the CLI or
``load_ckplus`` (for the kill -9 tests): ``python _toy_extractor.py cli ARGS...``
or ``python _toy_extractor.py ckplus ROOT CACHE OUT``; ``$TOY_DELAY`` seconds of
sleep per frame make it slow enough to kill mid-run.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np

N_TOY = 5


class ToyExtractor:
    scheme = "toy_5"
    n_landmarks = N_TOY
    calls = 0

    def __init__(self, model_path=None, *, offset: float = 0.0, bad_shape: bool = False):
        self.offset = offset
        self.bad_shape = bad_shape
        self.delay = float(os.environ.get("TOY_DELAY", "0"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def cache_key(self) -> dict:
        return {"extractor": "toy", "offset": self.offset}

    def _frame(self, path) -> np.ndarray | None:
        from igselect.landmarks import UnreadableInputError

        if self.delay:
            time.sleep(self.delay)
        data = Path(path).read_bytes()
        if data.startswith(b"bad"):
            raise UnreadableInputError(f"could not decode {str(path)!r} as an image")
        if data.startswith(b"noface"):
            return None
        return toy_landmarks(data) + self.offset

    def image(self, path):
        type(self).calls += 1
        uv = self._frame(path)
        if uv is not None and self.bad_shape:
            return np.zeros((2, 2, N_TOY), np.float32)
        return uv

    def sequence(self, frames, n_frames=None, missing=None, *, name=None):
        from igselect.landmarks import NoFaceError, VideoLandmarks

        type(self).calls += 1
        rows = [self._frame(f) for f in frames]
        found = np.array([r is not None for r in rows])
        if not found.any():
            raise NoFaceError(f"no face in {name}", len(rows))
        nan = np.full((2, N_TOY), np.nan, np.float32)
        seq = np.stack([nan if r is None else r for r in rows])
        return VideoLandmarks(seq, found, len(rows), int((~found).sum()), 30.0, name)


def toy_landmarks(data: bytes) -> np.ndarray:
    """The toy's landmarks of a file's bytes: (2, N_TOY) float32 in [0, 1)."""
    seed = int.from_bytes(hashlib.sha256(data).digest()[:8], "little")
    return np.random.default_rng(seed).random((2, N_TOY)).astype(np.float32)


def _patch() -> None:
    import igselect.landmarks

    igselect.landmarks.FaceMeshExtractor = ToyExtractor


if __name__ == "__main__":
    _patch()
    if sys.argv[1] == "cli":
        from igselect.cli import main

        sys.exit(main(sys.argv[2:]))
    from igselect.datasets import load_ckplus

    root, cache, out, model = sys.argv[2:6]
    ck = load_ckplus(root, n_frames=3, cache_dir=cache, model_path=model)
    np.savez(out, data=ck.data, sequence=ck.sequence.astype(str))
