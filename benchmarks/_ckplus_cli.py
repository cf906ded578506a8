"""Command line of the CK+ benchmark (see ``ckplus.py``): the options, and the
configuration they make from the chosen mode (``--tiny``, ``--quick``, ``--full``).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from _ckplus_config import CONFIGS, SELECTORS, SHOOTOUT_CLASSIFIERS, BenchmarkInputError, Config


def parse_args(argv, doc: str) -> argparse.Namespace:
    """The parsed options; ``doc`` (the main script's docstring) gives the description."""
    p = argparse.ArgumentParser(prog="benchmarks/ckplus.py", description=doc.split("\n\n")[0])
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
        + "; default both",
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


def config_from_args(args) -> Config:
    """The mode's ``Config`` with the options that override it (checked)."""
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
