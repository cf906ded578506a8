"""Command-line interface: ``igselect extract PATH... -o out.npz``.

Heavy libraries (MediaPipe, OpenCV, scikit-learn) are imported inside the
commands, so ``igselect --help`` starts instantly.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main"]


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _n_jobs(text: str) -> int:
    """argparse type: a worker count >= 1, or -1 for all cores."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer or -1 (all cores), got {text!r}"
        )
    return value


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
    ext.add_argument(
        "--frames", type=_positive_int, default=16, help="frames per video (default 16)"
    )
    ext.add_argument(
        "--jobs", type=_n_jobs, default=1, help="parallel workers, -1 for all cores (default 1)"
    )
    ext.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="folder for one small .npz per input, reused by later runs (resumes an "
        "interrupted run; keyed on the files' contents and the extraction settings)",
    )
    ext.add_argument("--model", type=Path, default=None, help="face_landmarker.task bundle")
    ext.add_argument(
        "--missing",
        choices=("interpolate", "keep_nan", "raise"),
        default="interpolate",
        help="frames without a face in videos (default interpolate)",
    )
    ext.add_argument("--include-contempt", action="store_true", help="CK+: keep contempt")
    ext.add_argument("-v", "--verbose", action="count", default=0, help="progress bars")
    _add_explain_parser(sub)
    return parser


def _add_explain_parser(sub) -> None:
    from igselect._explain import METHODS

    exp = sub.add_parser(
        "explain",
        help="draw a fitted pipeline's attributions for one photo or video on the face",
        description=(
            "Load a fitted pipeline saved with joblib.dump (e.g. aligner + selector + "
            "classifier), extract the landmarks of INPUT (a photo, or a video: its landmarks "
            "resampled to the model's frame count, drawn on one frame), predict, attribute the "
            "prediction to the landmarks and write the heatmap over the face, with the "
            "predicted probability in the title. Needs the MediaPipe face_landmarker.task "
            "(--face-model or IGSELECT_FACE_MODEL)."
        ),
    )
    exp.add_argument("input", type=Path, metavar="INPUT", help="photo or video")
    exp.add_argument("--model", required=True, type=Path, help="fitted pipeline (.joblib)")
    exp.add_argument("-o", "--output", required=True, type=Path, help="output image (.png)")
    exp.add_argument(
        "--method", choices=METHODS, default="integrated_gradients", help="attribution method"
    )
    exp.add_argument("--face-model", type=Path, default=None, help="face_landmarker.task")
    exp.add_argument(
        "--frame", type=int, default=None, help="video frame to draw on (default: the middle)"
    )


def _is_ckplus(path: Path) -> bool:
    return any(
        (base / "cohn-kanade-images").is_dir()
        for base in (path, path / "extended-cohn-kanade-images", path / "CK+")
    )


class _Tally:
    """Counts of the inputs by outcome, for the summary line."""

    def __init__(self):
        self.inputs = self.found = 0
        self.frames_total = self.frames_missing = 0
        self.noface: list[str] = []
        self.unreadable: list[str] = []
        self.errors: list[str] = []

    def failed(self, name: str, exc: BaseException) -> None:
        from igselect.landmarks import NoFaceError, UnreadableInputError

        if isinstance(exc, NoFaceError):
            self.noface.append(name)
            return
        unreadable = isinstance(exc, UnreadableInputError | OSError)
        (self.unreadable if unreadable else self.errors).append(name)
        print(f"igselect: {name}: {exc}", file=sys.stderr)

    def summary(self) -> str:
        return (
            f"inputs: {self.inputs}  faces found: {self.found}  no face: {len(self.noface)}  "
            f"unreadable: {len(self.unreadable)}  errors: {len(self.errors)}  "
            f"video frames: {self.frames_total}  frames missing: {self.frames_missing}"
        )

    def details(self) -> list[str]:
        lines = []
        for what, names in (
            ("no face", self.noface),
            ("unreadable", self.unreadable),
            ("error", self.errors),
        ):
            lines += [f"  {what}: {name}" for name in names[:10]]
            if len(names) > 10:
                lines.append(f"  ... and {len(names) - 10} more ({what})")
        return lines


def _output_path(path: Path) -> Path:
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _check_writable(folder: Path, probe_for: Path, what: str) -> None:
    """Create ``folder`` if needed and write a probe file in it, or raise naming ``what``."""
    import tempfile

    from igselect.datasets._cache import temp_prefix

    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=temp_prefix(probe_for), suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {what}: {exc.strerror or exc}") from exc


def _check_output(output: Path, cache_dir: Path | None) -> None:
    """Fail before any extraction when ``output`` or the cache folder cannot be written."""
    from igselect.datasets._cache import remove_stale_temps

    if output.is_dir():
        raise IsADirectoryError(f"cannot write the output {str(output)!r}: it is a folder")
    _check_writable(output.parent, output, f"the output {str(output)!r}")
    remove_stale_temps(output.parent, prefix=output.name + ".~")  # left by a killed run
    if cache_dir is not None:
        _check_writable(cache_dir, cache_dir / "probe", f"the cache folder {str(cache_dir)!r}")


def _extract(args) -> int:
    import functools
    import warnings

    import numpy as np

    from igselect.datasets import load_ckplus, load_image_folder
    from igselect.datasets._cache import extract_cached, write_atomic
    from igselect.datasets.image_folder import IMAGE_EXTENSIONS  # what OpenCV or Pillow read
    from igselect.landmarks import (
        FaceMeshExtractor,
        UnreadableInputError,
        fill_missing_frames,
        resample_frames,
        resolve_face_model,
    )

    output = _output_path(args.output)
    cache_dir = None if args.cache_dir is None else args.cache_dir.expanduser()
    _check_output(output, cache_dir)
    for p in args.paths:
        if not p.exists():
            raise FileNotFoundError(f"no such file or folder: {str(p)!r}")
    model = resolve_face_model(args.model)
    factory = functools.partial(FaceMeshExtractor, model)
    blocks: list[dict] = []  # each: data (n, P, 2, L), files, optional target/subject
    tally = _Tally()
    images = [p for p in args.paths if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    videos = [p for p in args.paths if p.is_file() and p not in images]
    common = {"model_path": model, "n_jobs": args.jobs, "verbose": args.verbose}
    for p in args.paths:
        if not p.is_dir():
            continue
        if _is_ckplus(p):
            with warnings.catch_warnings():  # the unreadable sequences are listed below
                warnings.filterwarnings("ignore", r"\d+ of \d+ CK\+ sequences have a frame")
                b = load_ckplus(
                    p,
                    n_frames=args.frames,
                    include_contempt=args.include_contempt,
                    missing=args.missing,
                    cache_dir=None if cache_dir is None else cache_dir / "ckplus",
                    **common,
                )
            tally.inputs += len(b.data) + b.n_skipped_noface + b.n_unreadable
            tally.found += len(b.data)
            tally.frames_total += int(b.frames_total.sum())
            tally.frames_missing += int(b.frames_missing.sum())
            tally.noface += [s for s, why in b.skipped if why == "no face found"]
            why_unreadable = dict(b.skipped)  # the decoding error of each
            for name in b.unreadable:
                tally.failed(name, UnreadableInputError(why_unreadable[name]))
            print(
                f"{p}: CK+ sequences skipped: {b.n_skipped_unlabelled} unlabelled, "
                f"{b.n_skipped_contempt} contempt, {b.n_skipped_noface} without a face, "
                f"{b.n_unreadable} unreadable"
            )
            files = list(b.sequence)
        else:
            with warnings.catch_warnings():  # the unreadable files are listed below
                warnings.filterwarnings("ignore", r"\d+ of \d+ images could not be decoded")
                b = load_image_folder(
                    p,
                    missing="skip",
                    cache_dir=None if cache_dir is None else cache_dir / "images",
                    **common,
                )
            tally.inputs += len(b.data) + b.n_noface + b.n_unreadable
            tally.found += len(b.data)
            tally.noface += b.skipped
            undecodable = UnreadableInputError("could not decode it as an image (corrupt?)")
            for name in b.unreadable:
                tally.failed(name, undecodable)
            files = b.files
        blocks.append({"data": b.data, "files": files, "target": b.target, "subject": b.subject})

    cached = {
        "cache_dir": None if cache_dir is None else cache_dir / "files",
        "n_jobs": args.jobs,
        "verbose": args.verbose,
    }
    if images:
        res = extract_cached(
            factory, [(p.name, p, [p]) for p in images], method="image", desc="images", **cached
        )
        tally.inputs += len(images)
        good = []
        for p, r in zip(images, res, strict=True):
            if isinstance(r, Exception):
                tally.failed(str(p), r)
            elif not r["found"].all():
                tally.noface.append(str(p))
            else:
                good.append((p, r["landmarks"][0]))
        tally.found += len(good)
        if good:
            data = np.stack([r for _, r in good])[:, None]
            if videos:  # a still photo as a constant sequence, to stack with the videos
                data = np.repeat(data, args.frames, axis=1)
            blocks.append({"data": data, "files": [str(p) for p, _ in good]})
    if videos:
        res = extract_cached(
            factory, [(p.name, p, [p]) for p in videos], method="video", desc="videos", **cached
        )
        tally.inputs += len(videos)
        good = []
        for p, r in zip(videos, res, strict=True):
            if isinstance(r, Exception):
                tally.failed(str(p), r)
                continue
            found = r["found"]
            tally.frames_total += int(found.size)
            tally.frames_missing += int((~found).sum())
            if not found.any():
                tally.noface.append(str(p))
                print(
                    f"igselect: {p}: no face in this video ({found.size} frames)", file=sys.stderr
                )
                continue
            try:
                seq = fill_missing_frames(r["landmarks"], args.missing, name=str(p))
            except ValueError as exc:  # missing="raise" and some frames have no face
                tally.failed(str(p), exc)
                continue
            good.append((p, resample_frames(seq, args.frames)))
        tally.found += len(good)
        if good:
            data = np.stack([r for _, r in good])
            blocks.append({"data": data, "files": [str(p) for p, _ in good]})

    if not blocks:
        print(f"igselect: nothing extracted. {tally.summary()}", file=sys.stderr)
        print("\n".join(tally.details()), file=sys.stderr)
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
    write_atomic(output, lambda fh: np.savez_compressed(fh, **out))
    print(tally.summary())
    for line in tally.details():
        print(line)
    print(f"wrote {output}: data {out['data'].shape}")
    return 0


def _explain(args) -> int:
    from igselect._console import quiet_native_logs
    from igselect._explain import explain

    with quiet_native_logs(enabled=True):
        result = explain(
            args.input,
            args.model,
            args.output,
            method=args.method,
            face_model=args.face_model,
            frame=args.frame,
        )
    print(f"P({result.label}) = {result.probability:.3f}; wrote {result.output}")
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
            from igselect._console import quiet_native_logs

            # TF / MediaPipe native start-up log lines, unless -v (which shows progress bars)
            with quiet_native_logs(enabled=not args.verbose):
                return _extract(args)
        if args.command == "explain":
            return _explain(args)
    except (FileNotFoundError, ValueError, OSError, RuntimeError) as exc:
        print(f"igselect: error: {exc}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
