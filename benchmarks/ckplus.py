"""The main job: reproduce Di Luzio, Rosato & Panella (2024), Tables 1-7 and Figs. 2-3.

For every emotion, seed and landmark count L, the script fits

    LandmarkAligner -> GlobalIGSelector(T-EMO on all landmarks, top L)
        [-> OnsetDisplacement] -> EmoClassifier

as T-EMO (F, Q, R grid-searched on the training split with subject-grouped
inner folds, as the paper's Tables 1-5) and as R-EMO (same F, Q, R, frozen
random conv filters), plus a linear and an RBF SVM on the *same* aligned and
selected landmarks, on the same subject-grouped train/test split. For
sequences the classifiers see, by default, each kept landmark's motion from the
sequence's onset frame (``--features motion``); ``--features coordinates`` gives
them the aligned positions, the paper's input (always so for single images).
The selector's network sees aligned coordinates in both cases. Landmark
selection always uses the T-EMO attributions (the paper's choice), for R-EMO
and the SVMs too. Its IG baselines are, by default for sequences, each
sequence's own onset frame repeated (``--baselines onset``: IG then attributes
the expression motion itself) and, for single images, the paper's "typical"
sample of every other emotion (``--baselines typical``). It then writes
``results.csv`` (one row per run), ``report.md`` (Tables 1-7, SVM rows,
timings, the 6-class EmotionEnsemble, the rigid-region attribution share) and
``fig2_ig_path.png`` / ``fig3_<emotion>.png``.

The **selector shoot-out** (``--selectors``; quick default: IG, GradientSHAP,
Grad-CAM, occlusion, and the cheap F-test, motion, SVM-weights and random
rankings of ``igselect.rankers``) asks whether IG is worth it: every selector
ranks once per (emotion, seed) on the training split (the gradient methods
share the trained full-landmark network through the cache), the linear SVM
(and T-EMO with ``--shootout-classifiers SVM-linear,T-EMO``) is fitted on its
top L for L in 468, 64, 16, 8, 4, 2, and the report gives accuracy and
balanced accuracy (mean ± SE), who wins at each L by how many SE, top-64
precision against the ground truth (built-in data) or the overlap with the
most-moving landmarks (image folders), stability across seeds and seconds to
rank (``shootout.csv``, ``fig_shootout.png``). Every accuracy table gives the
majority-class rate and marks a cell that does not beat it by 2 SE.

Scale-out: the (emotion, seed) units are independent; ``--jobs N`` runs them
on N local processes and ``--scheduler ADDRESS`` on a dask.distributed
cluster (joblib's Dask backend). The results equal a serial run's; the run
store takes one atomic file per run, so several writers are safe and a unit
whose worker died is redone from its last stored run.

Data: ``--ckplus PATH`` (or ``$IGSELECT_CKPLUS``) reads a CK+ tree; ``--images
DIR`` an image folder of real faces (e.g. ``../shared/data/london``: neutral vs
smiling, one frame per sample); otherwise the built-in **semi-synthetic** FACS
dataset (``make_expression_sequences``), which says so everywhere.

Modes: ``--quick`` (default; 3 seeds, about 10 minutes on 2 cores), ``--full`` (the paper's
protocol: six L values, 10 seeds, a larger grid; hours), ``--tiny`` (CI smoke
test, 1-2 CPU-minutes). Finished runs are kept as JSON files in ``<out>/runs``
and the IG selections in a joblib cache (``<out>/cache``), so an interrupted
run continues where it stopped.

Usage (from the repository root)::

    python benchmarks/ckplus.py                      # quick, built-in synthetic data
    python benchmarks/ckplus.py --jobs 2             # (emotion, seed) units on 2 processes
    python benchmarks/ckplus.py --scheduler tcp://HOST:8786   # on a Dask cluster
    python benchmarks/ckplus.py --ckplus ~/data/CK+ --full
    python benchmarks/ckplus.py --images ../shared/data/london --out benchmark_results/london
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _ckplus_report as report
import _ckplus_runner as runner
import numpy as np
from _ckplus_protocol import (  # noqa: I001
    MODELS,
    SELECTORS,
    SHOOTOUT_CLASSIFIERS,
    BenchmarkInputError,
    Config,
    RunStore,
)

from igselect._console import quiet_native_logs

EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
PAPER_LANDMARKS = (468, 234, 128, 64, 32, 16)
QUICK_SELECTORS = (
    "IG",
    "GradientSHAP",
    "Grad-CAM",
    "occlusion",
    "F-test",
    "motion",
    "SVM-weights",
    "random",
)

CONFIGS = {
    "tiny": Config(
        mode="tiny",
        landmark_counts=(468, 16),
        seeds=1,
        n_subjects=10,
        n_frames=4,
        epochs=2,
        patience=2,
        learning_rate=3e-3,
        batch_size=16,
        grid={"F": [2], "Q": [4], "R": [4]},
        selector_net={"F": 2, "Q": 4, "R": 4},
        svm_C=(1.0,),
        inner_folds=2,
        test_size=0.3,
        n_steps=8,
        ensemble_landmarks=16,
        timing_probe={"n_samples": 32, "n_frames": 4, "epochs": 2},
        shootout_counts=(468, 16, 2),
        shootout_selectors=("IG", "F-test", "random"),
    ),
    "quick": Config(
        mode="quick",
        landmark_counts=(468, 64, 16),
        seeds=3,  # 5 test subjects (30 sequences) per seed: one seed alone is too noisy
        n_subjects=30,
        n_frames=4,
        epochs=50,
        patience=4,  # unused: no validation split (validation_fraction=0)
        learning_rate=1e-3,
        batch_size=16,
        validation_fraction=0.0,
        grid={"F": [8], "Q": [16], "R": [16]},
        selector_net={"F": 8, "Q": 16, "R": 16},
        svm_C=(0.01, 0.1, 1.0),
        svm_gamma=(0.1, 1.0, 10.0),
        inner_folds=2,
        test_size=0.15,
        n_steps=32,
        ensemble_landmarks=64,
        shootout_selectors=QUICK_SELECTORS,
    ),
    "full": Config(
        mode="full",
        landmark_counts=PAPER_LANDMARKS,
        seeds=10,
        n_subjects=100,
        n_frames=16,
        epochs=200,
        patience=15,
        learning_rate=1e-4,  # the paper's Adam learning rate
        batch_size=16,
        grid={"F": [16, 25, 39, 50], "Q": [31, 51, 68], "R": [34, 54, 74]},
        selector_net={"F": 50, "Q": 58, "R": 63},
        svm_C=(0.001, 0.01, 0.1, 1.0, 10.0),
        svm_gamma=(0.1, 1.0, 10.0),
        inner_folds=3,
        test_size=0.15,
        n_steps=64,
        ensemble_landmarks=64,
        ensemble_seeds=10,
        shootout_selectors=QUICK_SELECTORS,
        shootout_classifiers=("SVM-linear", "T-EMO"),
    ),
}


@dataclass
class Data:
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


def _parse(argv):
    p = argparse.ArgumentParser(prog="benchmarks/ckplus.py", description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group()
    for name, text in [
        ("quick", "reduced protocol: 3 seeds, L in {468, 64, 16}, shoot-out, ~10 min (default)"),
        ("full", "the paper's protocol (hours)"),
        ("tiny", "CI smoke configuration (1-2 CPU-minutes)"),
    ]:
        mode.add_argument(f"--{name}", dest="mode", action="store_const", const=name, help=text)
    mode.add_argument("--smoke", dest="mode", action="store_const", const="tiny", help="= --tiny")
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--ckplus",
        type=Path,
        default=os.environ.get("IGSELECT_CKPLUS"),
        help="CK+ root (cohn-kanade-images/, Emotion/); default $IGSELECT_CKPLUS",
    )
    src.add_argument("--images", type=Path, help="image folder of faces, one subfolder per label")
    p.add_argument("--out", type=Path, default=Path("benchmark_results/ckplus"))
    p.add_argument(
        "--face-model",
        type=Path,
        help="face_landmarker.task for --ckplus/--images "
        "(default: $IGSELECT_FACE_MODEL or the user cache)",
    )
    p.add_argument("--seeds", type=int, help="number of seeds (splits); default by mode")
    p.add_argument("--emotions", help="comma-separated emotions; default all six (tiny: two)")
    p.add_argument("--landmarks", help="comma-separated L values; default by mode")
    p.add_argument(
        "--baselines",
        choices=("onset", "typical"),
        help="IG baselines of the selection: 'onset' (each sequence's own first frame "
        "repeated; default for sequences) or the paper's 'typical' (a medoid of every "
        "other emotion; default for single images)",
    )
    p.add_argument(
        "--features",
        choices=("motion", "coordinates"),
        help="what the classifiers see after selection: 'motion' (each kept landmark's "
        "displacement from the sequence's onset frame; default for sequences) or "
        "'coordinates' (the aligned positions, the paper's input; default for single images)",
    )
    p.add_argument(
        "--selectors",
        help="comma-separated shoot-out selectors, from " + ", ".join(SELECTORS) + "; "
        "'none' for no shoot-out; default by mode (quick: IG, GradientSHAP, Grad-CAM, "
        "occlusion, F-test, motion, SVM-weights, random)",
    )
    p.add_argument(
        "--shootout-classifiers",
        help="comma-separated downstream classifiers of the shoot-out, from "
        + ", ".join(SHOOTOUT_CLASSIFIERS)
        + "; default SVM-linear (full mode: both)",
    )
    par = p.add_mutually_exclusive_group()
    par.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="run the independent (emotion, seed) units on N local processes",
    )
    par.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the (emotion, seed) units on an existing dask.distributed cluster, e.g. "
        "tcp://10.0.0.5:8786 (needs the 'distributed' extra; --out must be a folder "
        "every worker can write)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--verbose",
        "-v",
        action="count",
        default=0,
        help="also show TensorFlow's and MediaPipe's native log lines; ensemble progress",
    )
    args = p.parse_args(argv)
    args.mode = args.mode or "quick"
    return args


def _config(args) -> Config:
    cfg = CONFIGS[args.mode]
    if args.seeds is not None:
        if args.seeds < 1:
            raise BenchmarkInputError(f"--seeds must be >= 1. Received: --seeds={args.seeds}")
        cfg = replace(cfg, seeds=args.seeds)
    if args.landmarks:
        try:
            counts = tuple(int(v) for v in args.landmarks.split(","))
        except ValueError:
            counts = ()
        if not counts or min(counts) < 1:
            raise BenchmarkInputError(
                f"--landmarks must be comma-separated positive ints. "
                f"Received: --landmarks={args.landmarks!r}"
            )
        cfg = replace(cfg, landmark_counts=counts)
    if args.jobs < 1:
        raise BenchmarkInputError(f"--jobs must be >= 1. Received: --jobs={args.jobs}")
    if args.selectors is not None:
        names = [v.strip() for v in args.selectors.split(",") if v.strip()]
        names = [] if names == ["none"] else names
        bad = [v for v in names if v not in SELECTORS]
        if bad:
            raise BenchmarkInputError(
                f"--selectors must name selectors from {', '.join(SELECTORS)} (or 'none'). "
                f"Received: --selectors={args.selectors!r}"
            )
        cfg = replace(cfg, shootout_selectors=tuple(names))
    if args.shootout_classifiers is not None:
        names = [v.strip() for v in args.shootout_classifiers.split(",") if v.strip()]
        if not names or any(v not in SHOOTOUT_CLASSIFIERS for v in names):
            raise BenchmarkInputError(
                f"--shootout-classifiers must name classifiers from "
                f"{', '.join(SHOOTOUT_CLASSIFIERS)}. "
                f"Received: --shootout-classifiers={args.shootout_classifiers!r}"
            )
        cfg = replace(cfg, shootout_classifiers=tuple(names))
    return cfg


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


def _baselines(args, data) -> str:
    """--baselines, by default "onset" for sequences (frame 0 is neutral) and "typical"
    for single frames (where a sequence's onset is the sample itself)."""
    return _by_frames("baselines", args.baselines, data, sequences="onset", images="typical")


def _features(args, data) -> str:
    """--features, by default "motion" for sequences and "coordinates" for single frames
    (a single image has no onset frame to measure motion from)."""
    return _by_frames("features", args.features, data, sequences="motion", images="coordinates")


def main(argv=None) -> int:
    """Run the benchmark; returns the exit status (0 ok, 2 bad input)."""
    args = _parse(argv)
    try:
        cfg = _config(args)
        # TensorFlow's and MediaPipe's native start-up lines (oneDNN, cudart, absl,
        # XNNPACK) are printed at import and when the face landmarker starts.
        with quiet_native_logs(enabled=not args.verbose):
            import tensorflow  # noqa: F401

            data = load_data(args, cfg)
        cfg = replace(cfg, baselines=_baselines(args, data), features=_features(args, data))
    except BenchmarkInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n_total = data.X.shape[3]
    counts = tuple(sorted({min(L, n_total) for L in cfg.landmark_counts}, reverse=True))
    cfg = replace(cfg, landmark_counts=counts)
    args.out.mkdir(parents=True, exist_ok=True)
    if data.source == "synthetic":
        print(
            "No --ckplus path given: running on the built-in SEMI-SYNTHETIC FACS dataset "
            "(make_expression_sequences). Results are not CK+ results."
        )
    print(
        f"[ckplus] mode={cfg.mode} data={data.source}: {data.X.shape[0]} samples "
        f"{data.X.shape[1:]} emotions={data.emotions} L={list(counts)} seeds={cfg.seeds} "
        f"baselines={cfg.baselines} features={cfg.features} out={args.out}"
    )
    store = RunStore(args.out, cfg.key(data.description))
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices
    # Convergence of IG is recorded per selection (relative_delta) and shown in the report.
    warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
    try:
        timer = runner.run_all(cfg, data, store, args, n_total=n_total)
    except BenchmarkInputError as exc:  # e.g. a Dask cluster whose workers cannot run a unit
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report.write_all(args.out, cfg, data, store, models=MODELS, wall_s=timer)
    print(
        f"[ckplus] {store.reused} cached runs reused; wall time {timer:.0f} s; "
        f"report: {args.out / 'report.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
