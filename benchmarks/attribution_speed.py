"""Attribution speed: every method of igselect.attribution against the naive loop.

Two networks, both with random weights:

- ``emo``: the paper-sized :func:`~igselect.network.build_emo_network` (F=50
  filters, Q=58 LSTM units, R=63 dense units, L=468 landmarks, P=16 frames;
  about 10.9M parameters), with a ``standardize`` layer and non-trivial
  BatchNorm statistics, as in ``benchmarks/ig_throughput.py``. The gradient
  methods use the fast engine (IG: its whole-path mode); ``integrated_gradients
  (tape)`` is the same IG through a GradientTape on the Keras model.
- ``generic``: a non-EMO Keras network on the same input: a per-landmark
  ``Dense(8)`` embedding (named ``embed``: its output ``(P, L, 8)`` has the
  landmark axis Grad-CAM needs), a ``GRU(32)`` over the frames and a softmax.
  Every method runs on the generic compiled path (GradientTape).
- ``mlp``: two ``Dense`` layers on the flattened landmarks and a softmax (no
  landmark axis, so no Grad-CAM row); the generic path too.

For each method and network, the **naive loop** is the straightforward
``tf.function`` implementation of the same method, one sample at a time (the
TensorFlow IG tutorial: one call per sample with its ``n_steps`` interpolated
inputs batched; GradientSHAP: one call per sample with its draws batched, the
same draws as igselect's; saliency, input x gradient, Grad-CAM: one call per
sample; occlusion: one forward call per sample with its ``L`` occluded copies
batched). Both give the same numbers (``rel.err``: max abs difference / max abs
value).

``evals``: gradient evaluations (forward + backward at one input; occlusion:
forward evaluations) per run: IG ``n x n_steps``, GradientSHAP ``n x n_steps``
draws, saliency / input x gradient / Grad-CAM ``n x n_steps`` inputs (so every
gradient method does the same number of evaluations), occlusion ``n_occ x L``.
The CPU is shared, so the methods are timed in interleaved rounds and the
speed-up is the median over rounds of the per-round ratio naive / igselect,
in wall time and in process CPU time (less sensitive to other load).

Run ``python benchmarks/attribution_speed.py`` (about 5 minutes on 2 cores) or
``--quick`` (about a minute).
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
from sklearn.utils import check_random_state

from igselect.attribution import (
    grad_cam,
    gradient_shap,
    input_x_gradient,
    integrated_gradients,
    occlusion,
    quadrature,
    saliency,
)
from igselect.network import build_emo_network


# -- networks ----------------------------------------------------------------------------------
def emo_network(P, L, F, Q, R, seed):
    rng = np.random.default_rng(seed)
    mean = rng.normal(0.5, 0.1, (2, L))
    std = rng.uniform(0.05, 0.2, (2, L))
    model = build_emo_network(
        P, L, n_filters=F, lstm_units=Q, dense_units=R, seed=seed, mean=mean, std=std
    )
    bn = model.get_layer("bn")
    bn.moving_mean.assign(rng.uniform(0.0, 0.5, F).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.2, 2.0, F).astype("float32"))
    bn.gamma.assign(rng.uniform(0.5, 1.5, F).astype("float32"))
    bn.beta.assign(rng.normal(0.0, 0.1, F).astype("float32"))
    return model, mean, std


def generic_network(P, L, units, seed):
    """Per-landmark Dense embedding, GRU over frames, softmax: no EMO layers."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((P, 2, L))
    x = keras.layers.Permute((1, 3, 2))(inputs)  # (P, L, 2)
    x = keras.layers.Dense(8, activation="relu", name="embed")(x)  # (P, L, 8)
    x = keras.layers.Reshape((P, L * 8))(x)
    x = keras.layers.GRU(units, name="gru")(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="generic_gru")


def mlp_network(P, L, units, seed):
    """Dense layers on the flattened landmarks (no landmark axis: no Grad-CAM)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((P, 2, L))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="generic_mlp")


# -- the naive loops ---------------------------------------------------------------------------
def _tape_grad(model, inputs, target):
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = model(inputs, training=False)[:, target]
    return tape.gradient(y, inputs)


def naive_ig(model, n_steps, target=1):
    """The TF tutorial: one sample at a time, its steps batched, right Riemann rule."""
    weights, alphas = quadrature("riemann_right", n_steps)
    alphas = tf.constant(alphas, tf.float32)[:, None, None, None]
    weights = tf.constant(weights, tf.float32)[:, None, None, None]

    @tf.function
    def one(x, b):
        grads = _tape_grad(model, b[None] + alphas * (x - b)[None], target)
        return (x - b) * tf.reduce_sum(grads * weights, axis=0)

    return lambda X, B: np.stack([one(x, b).numpy() for x, b in zip(X, B, strict=True)])


def naive_gradient_shap(model, n_draws, random_state, target=1):
    """One sample at a time, its draws batched; the same draws as gradient_shap."""

    @tf.function
    def one(x, b, a):
        grads = _tape_grad(model, b + a[:, None, None, None] * (x[None] - b), target)
        return tf.reduce_mean((x[None] - b) * grads, axis=0)

    def run(X, pool):
        rng = check_random_state(random_state)
        picks = rng.randint(pool.shape[0], size=len(X) * n_draws)
        alphas = rng.uniform(0.0, 1.0, size=len(X) * n_draws).astype(np.float32)
        out = []
        for i, x in enumerate(X):
            sl = slice(i * n_draws, (i + 1) * n_draws)
            out.append(one(x, pool[picks[sl]], alphas[sl]).numpy())
        return np.stack(out)

    return run


def naive_gradient(model, target=1):
    @tf.function
    def one(x):
        return _tape_grad(model, x[None], target)[0]

    return lambda X: np.stack([one(x).numpy() for x in X])


def naive_grad_cam(model, layer, target=1):
    """One sample at a time; weights pooled over the frames (grad_cam's default pooling)."""
    sub = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])

    @tf.function
    def one(x):
        with tf.GradientTape() as tape:
            acts, out = sub(x[None], training=False)
            y = out[:, target]
        grads = tape.gradient(y, acts)
        if acts.shape.rank == 5:  # EMO conv: (1, P, 2, L, F); each row keeps its weights
            w = tf.reduce_mean(grads, axis=1, keepdims=True)
            return tf.nn.relu(tf.reduce_sum(w * acts, axis=(2, 4)))[0]
        w = tf.reduce_mean(grads, axis=1, keepdims=True)  # (1, P, L, C)
        return tf.nn.relu(tf.reduce_sum(w * acts, axis=-1))[0]

    return lambda X: np.stack([one(x).numpy() for x in X])


def naive_occlusion(model, base, target=1):
    """One forward call per sample, its L occluded copies batched."""
    fwd = tf.function(lambda x: model(x, training=False))

    def run(X):
        L = X.shape[-1]
        out = []
        for x in X:
            copies = np.repeat(x[None], L, axis=0)
            idx = np.arange(L)
            copies[idx, :, :, idx] = base[0, :, :, idx]
            f_x = fwd(x[None]).numpy()[0, target]
            out.append(f_x - fwd(copies).numpy()[:, target])
        return np.stack(out)

    return run


# -- timing ------------------------------------------------------------------------------------
def _time(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _rel_err(ours, ref) -> float:
    return float(np.abs(np.asarray(ours) - ref).max() / max(np.abs(ref).max(), 1e-30))


def bench_model(label, model, X, B, pool, X_points, X_occ, args, layer):
    """Rows of the table for one network."""
    n, m = X.shape[0], args.n_steps
    base = X_occ.mean(axis=(0, 1), keepdims=True)
    kw = dict(target=1)
    n_ig, n_shap = naive_ig(model, m), naive_gradient_shap(model, m, 0)
    n_grad, n_cam, n_occ = (
        naive_gradient(model),
        naive_grad_cam(model, layer) if layer else None,
        naive_occlusion(model, base),
    )
    cases = {  # name: (evals, kind, igselect, naive)
        "integrated_gradients": (
            n * m,
            "gradient",
            lambda: integrated_gradients(model, X, B, n_steps=m, **kw),
            lambda: n_ig(X, B),
        ),
        "gradient_shap": (
            n * m,
            "gradient",
            lambda: gradient_shap(model, X, pool, n_samples=m, random_state=0, **kw),
            lambda: n_shap(X, pool),
        ),
        "saliency": (
            len(X_points),
            "gradient",
            lambda: saliency(model, X_points, **kw),
            lambda: np.abs(n_grad(X_points)),
        ),
        "input_x_gradient": (
            len(X_points),
            "gradient",
            lambda: input_x_gradient(model, X_points, **kw),
            lambda: X_points * n_grad(X_points),
        ),
        "grad_cam": (  # (removed below for networks without a landmark axis)
            len(X_points),
            "gradient",
            lambda: grad_cam(model, X_points, layer=layer, **kw),
            lambda: n_cam(X_points),
        ),
        "occlusion": (
            X_occ.shape[0] * X_occ.shape[-1],
            "forward",
            lambda: occlusion(model, X_occ, **kw),
            lambda: n_occ(X_occ),
        ),
    }
    if label == "emo" and not args.no_tape:
        cases["integrated_gradients (tape)"] = (
            n * m,
            "gradient",
            lambda: integrated_gradients(model, X, B, n_steps=m, engine="tape", **kw),
            cases["integrated_gradients"][3],
        )
    if layer is None:
        del cases["grad_cam"]
    if args.methods:
        keep = {name.strip() for name in args.methods.split(",")}
        cases = {k: v for k, v in cases.items() if k.split(" ")[0] in keep}
    errs = {}
    for name, (_, _, ours, naive) in cases.items():  # warm-up: traces, compiles, agreement
        errs[name] = _rel_err(ours(), naive())
    times = {name: {"ours": [], "naive": []} for name in cases}
    for r in range(args.rounds):
        for name, (_, _, ours, naive) in cases.items():
            times[name]["naive"].append(_time(naive))
            times[name]["ours"].append(_time(ours))
        print(f"{label} round {r + 1}/{args.rounds} done", flush=True)
    rows = []
    for name, (evals, kind, _, _) in cases.items():
        ours_t = np.asarray(times[name]["ours"])  # (rounds, [wall, cpu])
        naive_t = np.asarray(times[name]["naive"])
        rows.append(
            {
                "model": label,
                "method": name,
                "kind": kind,
                "evals": evals,
                "evals_per_s": evals / float(np.median(ours_t[:, 0])),
                "naive_evals_per_s": evals / float(np.median(naive_t[:, 0])),
                "speedup": float(np.median(naive_t[:, 0] / ours_t[:, 0])),
                "speedup_cpu": float(np.median(naive_t[:, 1] / ours_t[:, 1])),
                "max_rel_err_vs_naive": errs[name],
                "seconds_median": float(np.median(ours_t[:, 0])),
                "naive_seconds_median": float(np.median(naive_t[:, 0])),
            }
        )
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-samples", type=int, default=4, help="samples for IG and GradientSHAP")
    p.add_argument("--n-steps", type=int, default=64, help="IG steps and GradientSHAP draws")
    p.add_argument("--filters", type=int, default=50)
    p.add_argument("--lstm", type=int, default=58)
    p.add_argument("--dense", type=int, default=63)
    p.add_argument("--landmarks", type=int, default=468)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--generic-units", type=int, default=32, help="GRU units of the generic net")
    p.add_argument("--occlusion-samples", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    p.add_argument("--mlp-units", type=int, default=64, help="units of the MLP's dense layers")
    p.add_argument("--models", default="emo,generic,mlp", help="comma-separated: emo, generic, mlp")
    p.add_argument("--methods", default="", help="comma-separated subset (default: all)")
    p.add_argument("--no-tape", action="store_true", help="skip IG through the tape on emo")
    p.add_argument("--quick", action="store_true", help="2 samples, 16 steps, 1 round")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv", default="attribution_speed.csv", help="output CSV path")
    args = p.parse_args(argv)
    if args.quick:
        args.n_samples, args.n_steps, args.rounds = 2, 16, 1

    P, L, F, Q, R = args.frames, args.landmarks, args.filters, args.lstm, args.dense
    emo, mean, std = emo_network(P, L, F, Q, R, args.seed)
    rng = np.random.default_rng(args.seed)

    def draw(k):
        return (mean + std * rng.normal(size=(k, P, 2, L))).astype("float32")

    X, B, pool = draw(args.n_samples), draw(args.n_samples), draw(8)
    X_points, X_occ = draw(args.n_samples * args.n_steps), draw(args.occlusion_samples)
    print(
        f"paper-sized EMO network P={P} L={L} F={F} Q={Q} R={R}: "
        f"{emo.count_params() / 1e6:.2f}M parameters; {args.n_samples} samples x "
        f"{args.n_steps} steps/draws; {args.rounds} round(s); TF intra-op threads: "
        f"{tf.config.threading.get_intra_op_parallelism_threads()} (0 = all {os.cpu_count()})"
    )
    table = []
    models = [name.strip() for name in args.models.split(",")]
    if "emo" in models:
        table += bench_model("emo", emo, X, B, pool, X_points, X_occ, args, "conv")
    if "generic" in models:
        gen = generic_network(P, L, args.generic_units, args.seed)
        print(
            f"generic network (embed + GRU({args.generic_units})): {gen.count_params()} parameters"
        )
        table += bench_model("generic", gen, X, B, pool, X_points, X_occ, args, "embed")
    if "mlp" in models:
        mlp = mlp_network(P, L, args.mlp_units, args.seed)
        print(f"mlp network (2 x Dense({args.mlp_units})): {mlp.count_params()} parameters")
        table += bench_model("mlp", mlp, X, B, pool, X_points, X_occ, args, None)

    header = (
        f"{'model':<9}{'method':<30}{'evals':>7}{'igselect/s':>12}{'naive/s':>10}"
        f"{'speedup':>9}{'cpu-sp.':>9}{'rel.err':>10}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for row in table:
        unit = "" if row["kind"] == "gradient" else " (fwd)"
        print(
            f"{row['model']:<9}{row['method'] + unit:<30}{row['evals']:>7}"
            f"{row['evals_per_s']:>12.1f}{row['naive_evals_per_s']:>10.1f}"
            f"{row['speedup']:>8.2f}x{row['speedup_cpu']:>8.2f}x{row['max_rel_err_vs_naive']:>10.1e}"
        )
    print(
        "\nevals: gradient evaluations per run (occlusion: forward evaluations); igselect/s and "
        "naive/s: evaluations per second (median wall time over rounds); speedup: median over "
        "rounds of naive wall time / igselect wall time; cpu-sp.: the same with process CPU "
        "time; rel.err: max |igselect - naive| / max |naive|."
    )
    common = {
        "n_samples": args.n_samples,
        "n_steps": args.n_steps,
        "frames": P,
        "landmarks": L,
        "filters": F,
        "lstm": Q,
        "dense": R,
        "generic_units": args.generic_units,
        "rounds": args.rounds,
    }
    with open(args.csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*table[0], *common])
        writer.writeheader()
        for row in table:
            writer.writerow({**row, **common})
    print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
