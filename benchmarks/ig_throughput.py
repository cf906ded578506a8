"""Integrated Gradients throughput: naive GradientTape loop vs igselect's fast engine.

Builds the paper-sized network (F=50 filters, Q=58 LSTM units, R=63 dense units,
L=468 landmarks, P=16 frames; about 10.9M parameters) with random weights, a
``standardize`` layer and non-trivial BatchNorm statistics, then computes IG for
the same inputs and baselines at the same ``n_steps`` with

- ``naive``: the TensorFlow IG tutorial, one sample at a time, its ``n_steps``
  interpolated inputs batched in one ``tf.function``-wrapped GradientTape
  through the Keras model;
- ``tape``: :func:`igselect.attribution.integrated_gradients` with
  ``engine="tape"`` (all samples x steps batched through the Keras model);
- ``fast``: the default engine for these networks (``engine="auto"``, i.e. the
  whole-path mode of :mod:`igselect.attribution._emo_path`: the exact
  piecewise-linear reformulation, about 3 dense rows per sample-frame plus
  sparse work, in compiled Numba kernels, for the conv features whose ReLU
  switches along the path), float32, and ``fast-bf16``: the same with
  ``dtype="bfloat16"`` for the dense matmuls;
- ``fast-step``: ``engine="step"``, the fast engine's per-(sample, step) mode (one
  big LSTM input projection per batch of interpolated inputs, forward + backward:
  ``2 m`` dense rows per sample-frame), float32.
- ``fast-new-net``: ``fast`` on a network it has not seen before (a clone with the
  same weights for every call), as in cross-validation, where every fold fits a new
  network: the engine is rebuilt from the weights and its forward pass checked
  against Keras; its compiled stages are shared by every network of one
  configuration, so nothing is recompiled.

The default ``--n-steps 64`` is :class:`~igselect.GlobalIGSelector`'s default.

Agreement: ``rel.err`` (max abs difference / max abs attribution) and ``l2.err``
(norm-wise) against the naive loop. IG of a ReLU network is discontinuous in
round-off: a conv feature within round-off of its kink at one node gates that
node's gradient on or off, which can move one attribution by about 1e-3 of the
largest. The whole-path engine therefore evaluates the ReLU states from the
interpolated inputs with the per-step engine's float32 arithmetic. The last
line prints the naive loop's own change when every baseline coordinate moves by
one float32 ulp: the floor below which float32 IG is not reproducible at all.

The CPU is shared, so the methods are timed in interleaved rounds and the
speed-up is the median over rounds of the per-round ratio to ``naive``.

FLOPs per gradient evaluation (forward + gradient w.r.t. the input, the weight
gradients are not needed), counting 2 FLOPs per multiply-add::

    4 * P * (2*L*F * 4*Q          # LSTM input projection, forward + backward
             + 2*L*F * kh*kw      # conv
             + Q * 4*Q)           # LSTM recurrence
    + 4 * (Q*R + R*2)             # fc1 and output

(701.8 MFLOP at paper size, 99% of it the LSTM input projection). For the
whole-path engine (``fast``) this is the *equivalent* dense work of the same quadrature
(it performs far fewer FLOPs), so its GFLOP/s can exceed the matmul rate. The
``peak`` column divides the effective rate by a plain ``tf.matmul`` rate of the
same dtype, measured in the same run on the shape of the projection.

Run ``python benchmarks/ig_throughput.py`` (about 3 minutes on 2 cores) or
``--quick`` (under a minute); ``--n-steps 256`` shows how the whole-path engine
scales with the number of steps (its cost depends mostly on the number of
switching features, not on ``n_steps``).
"""

from __future__ import annotations

import argparse
import csv
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from igselect.attribution import integrated_gradients, quadrature
from igselect.attribution._engines import resolve_engine
from igselect.network import build_emo_network


def _flops_per_eval(P, L, F, Q, R, kernel=(2, 1)) -> float:
    d = 2 * L * F
    return 4.0 * P * (d * 4 * Q + d * kernel[0] * kernel[1] + Q * 4 * Q) + 4.0 * (Q * R + R * 2)


def _make_naive_ig(model, n_steps, target=1):
    """The TF tutorial: one sample at a time, steps batched, Riemann right rule."""
    weights, alphas = quadrature("riemann_right", n_steps)
    alphas = tf.constant(alphas, tf.float32)[:, None, None, None]
    weights = tf.constant(weights, tf.float32)[:, None, None, None]

    @tf.function
    def one(x, b):
        path = b[None] + alphas * (x - b)[None]
        with tf.GradientTape() as tape:
            tape.watch(path)
            y = model(path, training=False)[:, target]
        grads = tape.gradient(y, path)
        return (x - b) * tf.reduce_sum(grads * weights, axis=0)

    def run(X, B):
        return np.stack(
            [one(tf.constant(x), tf.constant(b)).numpy() for x, b in zip(X, B, strict=True)]
        )

    return run


def _matmul_rate(rows, depth, cols, dtype, seconds=1.0) -> float:
    a = tf.cast(tf.random.uniform((rows, depth)), dtype)
    b = tf.cast(tf.random.normal((depth, cols)), dtype)
    mm = tf.function(lambda a, b: tf.matmul(a, b))
    mm(a, b).numpy()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        mm(a, b).numpy()
        n += 1
    return 2.0 * rows * depth * cols * n / (time.perf_counter() - t0) / 1e9


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-samples", type=int, default=4)
    p.add_argument("--n-steps", type=int, default=64)
    p.add_argument("--filters", type=int, default=50)
    p.add_argument("--lstm", type=int, default=58)
    p.add_argument("--dense", type=int, default=63)
    p.add_argument("--landmarks", type=int, default=468)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    p.add_argument("--no-bf16", action="store_true", help="skip the bfloat16 engine")
    p.add_argument("--no-tape", action="store_true", help="skip the batched tape engine")
    p.add_argument("--no-step", action="store_true", help="skip the per-step fast engine")
    p.add_argument("--quick", action="store_true", help="2 samples, 16 steps, 1 round")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", default="ig_throughput.csv", help="output CSV path")
    args = p.parse_args(argv)
    if args.quick:
        args.n_samples, args.n_steps, args.rounds = 2, 16, 1

    P, L, F, Q, R = args.frames, args.landmarks, args.filters, args.lstm, args.dense
    rng = np.random.default_rng(args.seed)
    mean = rng.normal(0.5, 0.1, (2, L))
    std = rng.uniform(0.05, 0.2, (2, L))
    model = build_emo_network(
        P, L, n_filters=F, lstm_units=Q, dense_units=R, seed=args.seed, mean=mean, std=std
    )
    bn = model.get_layer("bn")
    bn.moving_mean.assign(rng.uniform(0.0, 0.5, F).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.2, 2.0, F).astype("float32"))
    bn.gamma.assign(rng.uniform(0.5, 1.5, F).astype("float32"))
    bn.beta.assign(rng.normal(0.0, 0.1, F).astype("float32"))
    shape = (args.n_samples, P, 2, L)
    X = (mean + std * rng.normal(size=shape)).astype("float32")
    B = (mean + std * rng.normal(size=shape)).astype("float32")
    n_params = model.count_params()
    flops = _flops_per_eval(P, L, F, Q, R)
    evals = args.n_samples * args.n_steps
    print(
        f"network P={P} L={L} F={F} Q={Q} R={R}: {n_params / 1e6:.2f}M parameters, "
        f"{flops / 1e6:.1f} MFLOP per gradient evaluation; {args.n_samples} samples x "
        f"{args.n_steps} steps = {evals} evaluations, {args.rounds} round(s); "
        f"TF intra-op threads: {tf.config.threading.get_intra_op_parallelism_threads()} "
        f"(0 = all {os.cpu_count()} cores)"
    )

    per = P * 2 * L * F * 3
    path_calls = resolve_engine(model, engine="fast", dtype="float32", probe=X[:1])[0]
    print(
        f"default batch size: fast (whole paths) "
        f"{path_calls.path_samples_per_call(args.n_steps, 2**29)} samples per call; "
        f"fast-step {min(1024, 2**29 // (4 * per))} interpolated inputs per call"
    )
    kw = dict(target=1, n_steps=args.n_steps, method="riemann_right")
    naive = _make_naive_ig(model, args.n_steps)
    methods = {"naive": lambda: naive(X, B)}
    if not args.no_tape:
        methods["tape"] = lambda: integrated_gradients(model, X, B, engine="tape", **kw)
    methods["fast"] = lambda: integrated_gradients(model, X, B, **kw)
    if not args.no_bf16:
        methods["fast-bf16"] = lambda: integrated_gradients(model, X, B, dtype="bfloat16", **kw)
    if not args.no_step:
        methods["fast-step"] = lambda: integrated_gradients(model, X, B, engine="step", **kw)
    # Fresh clones (same weights), built before any timing: one per call.
    clones = []
    for _ in range(args.rounds + 1):
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        clones.append(clone)
    methods["fast-new-net"] = lambda: integrated_gradients(clones.pop(), X, B, **kw)
    results, times = {}, {name: [] for name in methods}
    cpu = {name: [] for name in methods}
    for name, fn in methods.items():  # warm-up: traces, compiles, and the numbers to compare
        results[name] = fn()
    rows_mm = min(1024, evals) * P
    rates = {"float32": [], "bfloat16": []}
    for r in range(args.rounds):
        for name, fn in methods.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
        for dt in rates:
            rates[dt].append(_matmul_rate(rows_mm, 2 * L * F, 4 * Q, getattr(tf, dt)))
        print(
            f"round {r + 1}/{args.rounds}: "
            + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items())
        )
    peak = {dt: float(np.median(v)) for dt, v in rates.items()}
    ref = results["naive"]
    scale = float(np.abs(ref).max())
    # The reference's own float32 conditioning: the naive loop with every baseline
    # coordinate moved by one ulp. IG of a ReLU network jumps wherever a conv feature sits
    # within round-off of its kink at a node, so no float32 IG is stable beyond this.
    B_ulp = np.nextafter(B, np.float32(np.inf)).astype(np.float32)
    ulp = naive(X, B_ulp)
    floor = {
        "max": float(np.abs(ulp - ref).max() / scale),
        "l2": float(np.linalg.norm(ulp - ref) / np.linalg.norm(ref)),
    }
    table = []
    for name in methods:
        t = np.asarray(times[name])
        ratio = np.median(np.asarray(times["naive"]) / t)
        ratio_cpu = np.median(np.asarray(cpu["naive"]) / np.asarray(cpu[name]))
        dt = "bfloat16" if name.endswith("bf16") else "float32"
        gflops = flops * evals / float(np.median(t)) / 1e9
        table.append(
            {
                "method": name,
                "dtype": dt,
                "evals_per_s": evals / float(np.median(t)),
                "gflops": gflops,
                "frac_of_matmul": gflops / peak[dt],
                "speedup_vs_naive": float(ratio),
                "speedup_cpu_time": float(ratio_cpu),
                "max_rel_err_vs_naive": float(np.abs(results[name] - ref).max() / scale),
                "l2_rel_err_vs_naive": float(
                    np.linalg.norm(results[name] - ref) / np.linalg.norm(ref)
                ),
                "seconds_median": float(np.median(t)),
                "cpu_seconds_median": float(np.median(cpu[name])),
            }
        )
    for dt in ("float32", "bfloat16"):
        table.append(
            {
                "method": f"tf.matmul {rows_mm}x{2 * L * F}x{4 * Q}",
                "dtype": dt,
                "evals_per_s": float("nan"),
                "gflops": peak[dt],
                "frac_of_matmul": 1.0,
                "speedup_vs_naive": float("nan"),
                "speedup_cpu_time": float("nan"),
                "max_rel_err_vs_naive": float("nan"),
                "l2_rel_err_vs_naive": float("nan"),
                "seconds_median": float("nan"),
                "cpu_seconds_median": float("nan"),
            }
        )
    header = (
        f"{'method':<28}{'dtype':<10}{'evals/s':>9}{'GFLOP/s':>9}{'peak':>7}{'speedup':>9}"
        f"{'cpu-sp.':>9}{'rel.err':>10}{'l2.err':>10}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for row in table:
        print(
            f"{row['method']:<28}{row['dtype']:<10}{row['evals_per_s']:>9.1f}{row['gflops']:>9.1f}"
            f"{row['frac_of_matmul']:>7.0%}{row['speedup_vs_naive']:>8.2f}x"
            f"{row['speedup_cpu_time']:>8.2f}x"
            f"{row['max_rel_err_vs_naive']:>10.1e}{row['l2_rel_err_vs_naive']:>10.1e}"
        )
    print(
        f"{'naive, baselines +1 ulp':<38}{'(the reference own float32 conditioning)':>52}"
        f"{floor['max']:>10.1e}{floor['l2']:>10.1e}"
    )
    print(
        "\nspeedup: median over rounds of naive wall time / method wall time; cpu-sp.: the same"
        " with process CPU time (less sensitive to other load on the machine); rel.err:"
        " max |IG - IG_naive| / max |IG_naive|; l2.err: ||IG - IG_naive|| / ||IG_naive||;"
        " 'naive, baselines +1 ulp': the same errors of the naive loop itself when every"
        " baseline coordinate moves by one float32 ulp (IG of a ReLU net jumps where a feature"
        " sits within round-off of its kink at a node); peak: effective GFLOP/s / tf.matmul GFLOP/s of"
        " the same dtype; GFLOP/s of fast/fast-bf16: equivalent dense work (701.8 MFLOP per"
        " evaluation at paper size), the whole-path engine performs far fewer FLOPs."
    )
    common = {
        "n_samples": args.n_samples,
        "n_steps": args.n_steps,
        "frames": P,
        "landmarks": L,
        "filters": F,
        "lstm": Q,
        "dense": R,
        "mflop_per_eval": flops / 1e6,
        "rounds": args.rounds,
        "naive_ulp_max_rel": floor["max"],
        "naive_ulp_l2_rel": floor["l2"],
    }
    with open(args.csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*table[0], *common])
        writer.writeheader()
        for row in table:
            writer.writerow({**row, **common})
    print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
