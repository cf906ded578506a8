"""Data of the CK+ benchmark (see ``ckplus.py``): CK+ (``--ckplus``), an image folder of
real faces (``--images``) or the built-in semi-synthetic FACS dataset, restricted to
the requested emotions, with what each source knows of the truth (ground-truth or
most-moving landmarks), and the options whose default depends on the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from _ckplus_config import BenchmarkInputError, Config

EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")


@dataclass
class Data:
    """The samples of one run and what is known of them."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    emotions: list
    source: str  # "synthetic", "ckplus" or "images"
    description: str
    relevant: dict | None = None  # ground-truth landmarks: AU cores (synthetic data only)
    # landmarks moving > 0.03 face sizes (synthetic data), or the 64 that move most from
    # a person's neutral photo (image folders)
    moving: dict | None = None


def _requested_emotions(args, default):
    if not args.emotions:
        return list(default)
    return [e.strip() for e in args.emotions.split(",") if e.strip()]


def load_data(args, cfg: Config) -> Data:
    """Load the chosen data source and restrict it to the requested emotions."""
    if args.images is not None:
        from igselect.datasets import load_image_folder

        try:
            b = load_image_folder(
                args.images, cache_dir=args.out / "landmarks", model_path=args.face_model
            )
        except (OSError, ValueError) as exc:
            raise BenchmarkInputError(f"cannot read --images {args.images}: {exc}") from None
        labels = sorted(set(np.asarray(b.target).tolist()))
        if "neutral" not in labels or len(labels) < 2:
            raise BenchmarkInputError(
                f"--images needs a 'neutral' folder and at least one expression folder. "
                f"Received folders: {labels!r}"
            )
        emotions = _requested_emotions(args, [lab for lab in labels if lab != "neutral"])
        X, y, g = b.data, np.asarray(b.target), np.asarray(b.subject)
        desc = f"real faces from the image folder {args.images} (labels {labels})"
        moving = {emo: most_moving_landmarks(X, y, g, emo) for emo in emotions}
        data = Data(X, y, g, emotions, "images", desc, moving=moving)
    elif args.ckplus is not None:
        from igselect.datasets import load_ckplus

        try:
            b = load_ckplus(
                args.ckplus,
                n_frames=cfg.n_frames,
                cache_dir=args.out / "landmarks",
                model_path=args.face_model,
            )
        except (OSError, ValueError) as exc:
            raise BenchmarkInputError(f"--ckplus {args.ckplus} is not usable: {exc}") from None
        emotions = _requested_emotions(args, EMOTIONS)
        keep = np.isin(np.asarray(b.target), emotions)
        X, y, g = b.data[keep], np.asarray(b.target)[keep], np.asarray(b.subject)[keep]
        data = Data(X, y, g, emotions, "ckplus", f"CK+ from {args.ckplus}")
    else:
        from igselect.datasets import make_expression_sequences

        emotions = _requested_emotions(args, EMOTIONS if args.mode != "tiny" else EMOTIONS[3:6:2])
        known = [e for e in emotions if e in EMOTIONS]
        b = make_expression_sequences(
            n_subjects=cfg.n_subjects,
            n_frames=cfg.n_frames,
            emotions=known or list(EMOTIONS),
            random_state=0,
        )
        keep = np.isin(np.asarray(b.target), emotions)
        X, y, g = b.data[keep], np.asarray(b.target)[keep], np.asarray(b.subject)[keep]
        desc = (
            "the built-in semi-synthetic FACS dataset "
            f"(igselect.datasets.make_expression_sequences, {cfg.n_subjects} subjects, "
            f"{cfg.n_frames} frames); real neutral face geometry, prototype expression motion. "
            "No CK+ data were used."
        )
        data = Data(
            X,
            y,
            g,
            emotions,
            "synthetic",
            desc,
            relevant=dict(b.relevant_landmarks),
            moving=dict(b.moving_landmarks),
        )
    labels, counts = np.unique(data.y, return_counts=True)
    present = dict(zip(labels.tolist(), counts.tolist(), strict=True))
    for emo in data.emotions:
        if present.get(emo, 0) == 0:
            raise BenchmarkInputError(
                f"emotion {emo!r} has no samples in the {data.source} data after filtering "
                f"(samples per label: {present})."
            )
    if len(present) < 2:
        raise BenchmarkInputError(
            f"a binary task needs samples of at least two labels; the {data.source} data "
            f"hold only {present}. Add emotions with --emotions."
        )
    return data


def most_moving_landmarks(X, y, groups, emotion, k: int = 64) -> np.ndarray | None:
    """The ``k`` landmarks that move most from a person's neutral photo to their
    ``emotion`` photo (mean over the people with both; aligned faces), or None.

    The reference for the shoot-out's overlap on real images, where there is no
    ground truth: computed on all people (it uses no label of a test split).
    """
    from igselect.landmarks import LandmarkAligner

    Xa = LandmarkAligner().fit_transform(X)[:, 0]  # (n, 2, L): one frame per photo
    moves = []
    for person in np.unique(groups):
        mine = groups == person
        neutral, expr = mine & (y == "neutral"), mine & (y == emotion)
        if neutral.any() and expr.any():
            diff = Xa[expr].mean(axis=0) - Xa[neutral].mean(axis=0)
            moves.append(np.linalg.norm(diff, axis=0))
    if not moves:
        return None
    return np.argsort(-np.mean(moves, axis=0), kind="stable")[:k]


def _by_frames(option: str, value, data, *, sequences: str, images: str) -> str:
    """An option whose default depends on the data: ``sequences`` for data of at least 2
    frames, ``images`` for single frames; ``sequences`` is refused on single frames."""
    frames = data.X.shape[1]
    if value is None:
        return sequences if frames >= 2 else images
    if value == sequences and frames < 2:
        raise BenchmarkInputError(
            f"--{option} {value} needs sequences of at least 2 frames; the {data.source} data "
            f"have {frames}. Received: --{option}={value}"
        )
    return value


def resolve_baselines(args, data) -> str:
    """--baselines, by default "onset" for sequences (frame 0 is neutral) and "typical"
    for single frames (where a sequence's onset is the sample itself)."""
    return _by_frames("baselines", args.baselines, data, sequences="onset", images="typical")


def resolve_features(args, data) -> str:
    """--features, by default "motion" for sequences and "coordinates" for single frames
    (a single image has no onset frame to measure motion from)."""
    return _by_frames("features", args.features, data, sequences="motion", images="coordinates")
