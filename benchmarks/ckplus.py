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
whose worker died is redone from its last stored run. Before a Dask run, one
test task per worker loads a unit and looks at ``--out``; a worker that cannot
(igselect missing, say) stops the run at once with its error (exit status 2).

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

import logging
import sys
import warnings
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _ckplus_report as report
import _ckplus_runner as runner
from _ckplus_cli import config_from_args, parse_args  # noqa: I001
from _ckplus_config import MODELS, BenchmarkInputError
from _ckplus_data import load_data, resolve_baselines, resolve_features
from _ckplus_store import RunStore

from igselect._console import quiet_native_logs


def main(argv=None) -> int:
    """Run the benchmark; returns the exit status (0 ok, 2 bad input)."""
    args = parse_args(argv, __doc__)
    try:
        cfg = config_from_args(args)
        # TensorFlow's and MediaPipe's native start-up lines (oneDNN, cudart, absl,
        # XNNPACK) are printed at import and when the face landmarker starts.
        with quiet_native_logs(enabled=not args.verbose):
            import tensorflow  # noqa: F401

            data = load_data(args, cfg)
        cfg = replace(
            cfg, baselines=resolve_baselines(args, data), features=resolve_features(args, data)
        )
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
