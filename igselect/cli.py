"""Command-line interface: ``igselect extract PATH... -o out.npz``.

Heavy libraries (MediaPipe, OpenCV, scikit-learn) are imported inside the
commands, so ``igselect --help`` starts instantly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="igselect",
        description="igselect: attribution-driven facial landmark selection.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ext = sub.add_parser(
        "extract",
        help="extract MediaPipe face-mesh landmarks to an .npz file",
        description=(
            "Extract 468 face-mesh landmarks (crop-normalised, 300x300 grayscale crop) from "
            "images, videos, a folder of labelled photos (root/<label>/<image>) or a CK+ root "
            "(a folder holding cohn-kanade-images/ and Emotion/). Writes an .npz with 'data' "
            "(n, frames, 2, 468), 'files', and 'target'/'subject' where the input gives them. "
            "Videos are resampled to --frames frames; single images give one frame, or are "
            "repeated to --frames frames when videos are also given."
        ),
    )
    ext.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="inputs")
    ext.add_argument("-o", "--output", required=True, type=Path, help="output .npz file")
    ext.add_argument("--frames", type=int, default=16, help="frames per video (default 16)")
    ext.add_argument("--jobs", type=int, default=1, help="parallel workers (default 1)")
    ext.add_argument("--model", type=Path, default=None, help="face_landmarker.task bundle")
    ext.add_argument(
        "--missing",
        choices=("interpolate", "keep_nan", "raise"),
        default="interpolate",
        help="frames without a face in videos (default interpolate)",
    )
    ext.add_argument("--include-contempt", action="store_true", help="CK+: keep contempt")
    ext.add_argument("-v", "--verbose", action="count", default=0, help="progress bars")
    return parser


def _is_ckplus(path: Path) -> bool:
    return any(
        (base / "cohn-kanade-images").is_dir()
        for base in (path, path / "extended-cohn-kanade-images", path / "CK+")
    )


def _extract(args) -> int:
    import numpy as np

    from igselect.datasets import load_ckplus, load_image_folder
    from igselect.landmarks import resolve_face_model
    from igselect.landmarks._parallel import extract_many

    model = resolve_face_model(args.model)
    blocks: list[dict] = []  # each: data (n, P, 2, L), files, optional target/subject
    n_inputs, n_found, frames_total, frames_missing = 0, 0, 0, 0
    noface: list[str] = []
    images = [p for p in args.paths if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES]
    videos = [p for p in args.paths if p.is_file() and p not in images]
    for p in args.paths:
        if not p.exists():
            raise FileNotFoundError(f"no such file or folder: {str(p)!r}")
        if not p.is_dir():
            continue
        common = {"model_path": model, "n_jobs": args.jobs, "verbose": args.verbose}
        if _is_ckplus(p):
            b = load_ckplus(
                p,
                n_frames=args.frames,
                include_contempt=args.include_contempt,
                missing=args.missing,
                **common,
            )
            n_seq = len(b.data) + b.n_skipped_noface
            n_inputs += n_seq
            n_found += len(b.data)
            frames_total += int(b.frames_total.sum())
            frames_missing += int(b.frames_missing.sum())
            noface += [s for s, why in b.skipped if why == "no face found"]
            print(
                f"{p}: CK+ sequences skipped: {b.n_skipped_unlabelled} unlabelled, "
                f"{b.n_skipped_contempt} contempt, {b.n_skipped_noface} without a face"
            )
            files = list(b.sequence)
        else:
            b = load_image_folder(p, missing="skip", **common)
            n_inputs += len(b.data) + b.n_noface
            n_found += len(b.data)
            noface += b.skipped
            files = b.files
        blocks.append({"data": b.data, "files": files, "target": b.target, "subject": b.subject})

    params = {"model_path": model}
    if images:
        res = extract_many("image", images, params=params, n_jobs=args.jobs, verbose=args.verbose)
        n_inputs += len(images)
        good = [(p, r) for p, r in zip(images, res, strict=True) if isinstance(r, np.ndarray)]
        noface += [
            str(p) for p, r in zip(images, res, strict=True) if not isinstance(r, np.ndarray)
        ]
        n_found += len(good)
        if good:
            data = np.stack([r for _, r in good])[:, None]
            if videos:  # a still photo as a constant sequence, to stack with the videos
                data = np.repeat(data, args.frames, axis=1)
            blocks.append({"data": data, "files": [str(p) for p, _ in good]})
    if videos:
        res = extract_many(
            "video",
            videos,
            params=params,
            kwargs={"n_frames": args.frames, "missing": args.missing},
            n_jobs=args.jobs,
            verbose=args.verbose,
        )
        n_inputs += len(videos)
        good = []
        for p, r in zip(videos, res, strict=True):
            if isinstance(r, Exception):
                noface.append(str(p))
                print(f"igselect: {p}: {r}", file=sys.stderr)
                frames_total += getattr(r, "n_frames", None) or 0
                frames_missing += getattr(r, "n_frames", None) or 0
                continue
            good.append((p, r))
            frames_total += r.n_frames_total
            frames_missing += r.n_missing
        n_found += len(good)
        if good:
            data = np.stack([r.landmarks for _, r in good])
            blocks.append({"data": data, "files": [str(p) for p, _ in good]})

    if not blocks:
        print(f"igselect: no face found in any of the {n_inputs} inputs", file=sys.stderr)
        return 1
    shapes = {b["data"].shape[1:] for b in blocks}
    if len(shapes) > 1:
        raise ValueError(f"inputs give sequences of different shapes {sorted(shapes)}")
    out = {
        "data": np.concatenate([b["data"] for b in blocks]).astype(np.float32),
        "files": np.array([f for b in blocks for f in b["files"]]),
    }
    for key in ("target", "subject"):
        if all(key in b for b in blocks):
            out[key] = np.array([str(v) for b in blocks for v in b[key]])
    output = args.output if args.output.suffix == ".npz" else args.output.with_suffix(".npz")
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, **out)
    print(
        f"inputs: {n_inputs}  faces found: {n_found}  no face: {len(noface)}  "
        f"video frames: {frames_total}  frames missing: {frames_missing}"
    )
    for name in noface[:10]:
        print(f"  no face: {name}")
    print(f"wrote {output}: data {out['data'].shape}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``igselect`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 when nothing could be extracted or an input is bad.

    Examples
    --------
    >>> main(["extract", "face.jpg", "clip.mp4", "-o", "landmarks.npz"])  # doctest: +SKIP
    0
    """
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "extract":
            return _extract(args)
    except (FileNotFoundError, ValueError, OSError, RuntimeError) as exc:
        print(f"igselect: error: {exc}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
