"""Process memory per new network configuration, and the selector's peak against ``n_steps``.

Two measurements, each in fresh subprocesses so that they do not share state:

1. **Growth per configuration.** A loop fits a new configuration each time, as a
   grid search over the filters F, LSTM units Q and dense units R does: first
   :class:`~igselect.EmoClassifier` alone, then :class:`~igselect.GlobalIGSelector`
   (which trains the same classifier and then runs Integrated Gradients). After
   ``--warmup`` configurations (TensorFlow's one-time costs), the resident set
   size (RSS, after ``gc.collect()``) is read after every fit; the table gives
   the growth per configuration over the next ``--configs`` configurations
   (least-squares slope of RSS against the configuration index, and the plain
   ``(last - first) / n``). Nothing is cleared between fits: no
   ``keras.backend.clear_session()``, no cache reset, as in a user's loop.
2. **Peak RSS against n_steps.** One subprocess per point fits a selector on a
   tiny network (8 samples, 4 frames, 12 landmarks) with ``batch_size=1`` and
   the given ``n_steps``, and reports its peak RSS (``ru_maxrss``) and time.

Target (issue 13): under 3 MB per configuration after the warm-up, and a peak
that is flat in ``n_steps``.

Run ``python benchmarks/memory_growth.py`` (about 30 minutes on a loaded 2-core machine:
the 1e6 and 2e6 points take 6-10 minutes each; ``--part growth`` or ``--part peak``
runs one half) or ``--quick`` (8 configurations, steps up to 1e5).
``--csv PATH`` also writes the rows as CSV (always printed).
Linux only (``/proc/self/statm``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import subprocess
import sys
import time

_PAGE = os.sysconf("SC_PAGE_SIZE")
_MB = 2**20


# ----------------------------------------------------------------------------- workers
def _rss_mb() -> float:
    import gc

    gc.collect()
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE / _MB


def _configs(n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct (F, Q, R): filters, LSTM units, dense units (all small)."""
    out = []
    for f in range(2, 8):
        for q in range(2, 10):
            for r in range(2, 6):
                out.append((f, q, r))
    step = max(1, len(out) // n)
    return out[::step][:n]


def _tiny_data(n_samples: int, n_frames: int, n_landmarks: int):
    from igselect.datasets import make_landmark_sequences

    return make_landmark_sequences(
        n_samples=n_samples,
        n_frames=n_frames,
        n_landmarks=n_landmarks,
        n_classes=2,
        n_informative=2,
        random_state=0,
        return_X_y=True,
    )


def _worker_growth(kind: str, warmup: int, n_configs: int) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    from igselect import EmoClassifier, GlobalIGSelector

    X, y = _tiny_data(16, 4, 12)
    rss, seconds = [], []
    for k, (f, q, r) in enumerate(_configs(warmup + n_configs)):
        clf = EmoClassifier(
            n_filters=f,
            lstm_units=q,
            dense_units=r,
            epochs=2,
            validation_fraction=0,
            random_state=k,
        )
        start = time.perf_counter()
        if kind == "classifier":
            est = clf.fit(X, y)
        else:
            est = GlobalIGSelector(clf, n_landmarks=4, n_steps=16).fit(X, y)
        seconds.append(time.perf_counter() - start)
        del est, clf
        rss.append(_rss_mb())
    return {"rss": rss, "seconds": seconds}


def _worker_peak(n_steps: int) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    from igselect import EmoClassifier, GlobalIGSelector

    X, y = _tiny_data(8, 4, 12)
    clf = EmoClassifier(
        n_filters=2, lstm_units=2, dense_units=2, epochs=1, validation_fraction=0, random_state=0
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    sel = GlobalIGSelector(clf, n_landmarks=4, n_steps=n_steps, batch_size=1).fit(X, y)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"peak": peak, "before_fit": before, "seconds": seconds, "ok": bool(sel.scores_.size)}


# ----------------------------------------------------------------------------- driver
def _run(args: list[str]) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _slope(values: list[float]) -> float:
    n = len(values)
    mx = (n - 1) / 2
    my = sum(values) / n
    num = sum((i - mx) * (v - my) for i, v in enumerate(values))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=int, default=20, help="configurations measured")
    parser.add_argument("--warmup", type=int, default=3, help="configurations not measured")
    parser.add_argument(
        "--steps",
        default="1000,10000,100000,1000000,2000000",
        help="comma-separated n_steps of the peak measurement",
    )
    parser.add_argument("--quick", action="store_true", help="8 configurations, steps to 1e5")
    parser.add_argument(
        "--part", choices=("all", "growth", "peak"), default="all", help="what to measure"
    )
    parser.add_argument("--csv", help="also write the rows to this CSV file")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.worker[0] == "growth":
            out = _worker_growth(args.worker[1], int(args.worker[2]), int(args.worker[3]))
        else:
            out = _worker_peak(int(float(args.worker[1])))
        print(json.dumps(out))
        return 0

    if args.quick:
        args.configs, args.steps = 8, "1000,10000,100000"
    rows = []
    if args.part != "peak":
        _growth_table(args, rows)
    if args.part != "growth":
        _peak_table(args, rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    print("\nCSV\n" + buf.getvalue(), end="")
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            fh.write(buf.getvalue())
    return 0


def _growth_table(args, rows: list) -> None:
    print(f"RSS growth per new configuration ({args.warmup} warm-up, {args.configs} measured)")
    print(
        f"{'estimator':<18}{'slope MB/config':>17}{'(last-first)/n':>16}{'RSS end MB':>12}"
        f"{'s/fit':>8}",
        flush=True,
    )
    for kind in ("classifier", "selector"):
        res = _run(["growth", kind, str(args.warmup), str(args.configs)])
        measured = res["rss"][args.warmup - 1 :] if args.warmup else [res["rss"][0]] + res["rss"]
        slope = _slope(measured[1:])
        plain = (measured[-1] - measured[0]) / (len(measured) - 1)
        secs = sum(res["seconds"][args.warmup :]) / args.configs
        name = "EmoClassifier" if kind == "classifier" else "GlobalIGSelector"
        print(
            f"{name:<18}{slope:>17.2f}{plain:>16.2f}{measured[-1]:>12.0f}{secs:>8.2f}", flush=True
        )
        rows.append(
            {
                "measure": "growth_per_config",
                "estimator": name,
                "n_steps": "",
                "mb_per_config_slope": round(slope, 3),
                "mb_per_config_plain": round(plain, 3),
                "rss_mb": round(measured[-1], 1),
                "seconds": round(secs, 3),
            }
        )


def _peak_table(args, rows: list) -> None:
    print("\nPeak RSS of GlobalIGSelector.fit against n_steps (batch_size=1; 8 x 4 x 2 x 12)")
    print(f"{'n_steps':>10}{'peak MB':>10}{'before fit MB':>14}{'seconds':>10}")
    for steps in [int(float(s)) for s in args.steps.split(",")]:
        res = _run(["peak", str(steps)])
        print(
            f"{steps:>10}{res['peak']:>10.0f}{res['before_fit']:>14.0f}{res['seconds']:>10.1f}",
            flush=True,
        )
        rows.append(
            {
                "measure": "peak_vs_n_steps",
                "estimator": "GlobalIGSelector",
                "n_steps": steps,
                "mb_per_config_slope": "",
                "mb_per_config_plain": "",
                "rss_mb": round(res["peak"], 1),
                "seconds": round(res["seconds"], 2),
            }
        )


if __name__ == "__main__":
    sys.exit(main())
