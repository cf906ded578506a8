"""Extract the London Set landmarks shipped in ``igselect/datasets/data/london_landmarks.npz``.

Runs :class:`igselect.landmarks.FaceMeshExtractor` (default settings: 300x300
grayscale crop, margin 0.25, min_face_confidence 0.7) on the 60 neutral and 60
smiling photos of the Face Research Lab London Set and writes a compressed npz:

- ``neutral`` : float32 (60, 2, 468), crop-normalised landmarks of the neutral photos
- ``smiling`` : float32 (60, 2, 468), same subjects in the same order, smiling
- ``subject`` : str (60,), ids such as ``"001"`` (the photo file stem)

Every face must be found; the script fails otherwise.

Usage::

    python tools/extract_london.py [--london DIR] [--model PATH] [--out FILE]

Credit: Face Research Lab London Set, DeBruine & Jones (2017),
figshare doi:10.6084/m9.figshare.5047666.v5, CC BY 4.0.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_REPO = Path(__file__).resolve().parents[1]
_SHARED = Path(os.environ.get("IGSELECT_DATA", _REPO.parent / "shared"))


def main(argv: list[str] | None = None) -> int:
    from igselect.landmarks import FaceMeshExtractor

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--london", type=Path, default=_SHARED / "data" / "london")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument(
        "--out",
        type=Path,
        default=_REPO / "igselect" / "datasets" / "data" / "london_landmarks.npz",
    )
    args = parser.parse_args(argv)
    model = args.model
    if model is None and not os.environ.get("IGSELECT_FACE_MODEL"):
        candidate = _SHARED / "models" / "face_landmarker.task"
        model = candidate if candidate.is_file() else None

    neutral_files = sorted((args.london / "neutral").glob("*.jpg"))
    subjects = [f.stem for f in neutral_files]
    missing = [s for s in subjects if not (args.london / "smiling" / f"{s}.jpg").is_file()]
    if not neutral_files or missing:
        raise SystemExit(f"expected matching neutral/ and smiling/ photos under {args.london}")

    out: dict[str, list[np.ndarray]] = {"neutral": [], "smiling": []}
    start = time.perf_counter()
    with FaceMeshExtractor(model) as ext:
        for label in out:
            for s in subjects:
                xy = ext.image(args.london / label / f"{s}.jpg")
                if xy is None:
                    raise SystemExit(f"no face found in {label}/{s}.jpg")
                out[label].append(xy)
    elapsed = time.perf_counter() - start

    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=args.out.parent)
    os.close(fd)
    np.savez_compressed(
        tmp,
        neutral=np.stack(out["neutral"]).astype(np.float32),
        smiling=np.stack(out["smiling"]).astype(np.float32),
        subject=np.array(subjects),
    )
    os.replace(tmp, args.out)
    n = 2 * len(subjects)
    print(
        f"{n} photos, {n} faces found, {elapsed:.1f} s ({n / elapsed:.1f} images/s) -> "
        f"{args.out} ({args.out.stat().st_size / 1024:.0f} KiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
