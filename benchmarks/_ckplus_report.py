"""results.csv, report.md and figures of the CK+ benchmark (see ``ckplus.py``)."""

from __future__ import annotations

import csv
import os
import platform
import time
from collections import Counter

import numpy as np
from _ckplus_shootout import shootout_section, write_shootout_csv, write_shootout_figure

from igselect.evaluation import beats_majority

PAPER_SIZES = (468, 234, 128, 64, 32, 16)
#: Di Luzio et al. (2024), Tables 6 (T-EMO) and 7 (R-EMO), CK+, mean accuracy at each L,
#: and the SVM baselines of Kumar et al. (2016) they compare with.
PAPER = {
    "T-EMO": {
        "anger": (0.924, 0.926, 0.905, 0.903, 0.924, 0.891),
        "disgust": (0.934, 0.964, 0.964, 0.951, 0.948, 0.925),
        "fear": (0.948, 0.971, 0.974, 0.964, 0.950, 0.919),
        "happiness": (0.986, 0.988, 0.982, 0.979, 0.981, 0.978),
        "sadness": (0.920, 0.905, 0.916, 0.914, 0.922, 0.910),
        "surprise": (0.993, 0.995, 0.995, 0.993, 0.991, 0.986),
    },
    "R-EMO": {
        "anger": (0.889, 0.874, 0.862, 0.874, 0.883, 0.866),
        "disgust": (0.941, 0.941, 0.953, 0.897, 0.905, 0.887),
        "fear": (0.934, 0.948, 0.939, 0.936, 0.924, 0.907),
        "happiness": (0.968, 0.978, 0.971, 0.957, 0.966, 0.964),
        "sadness": (0.907, 0.893, 0.893, 0.907, 0.898, 0.893),
        "surprise": (0.962, 0.981, 0.976, 0.981, 0.974, 0.974),
    },
    "SVM-linear": {
        "anger": 0.85,
        "disgust": 0.78,
        "fear": 0.95,
        "happiness": 0.97,
        "sadness": 0.75,
        "surprise": 0.99,
    },
    "SVM-rbf": {
        "anger": 0.84,
        "disgust": 0.74,
        "fear": 0.95,
        "happiness": 0.98,
        "sadness": 0.79,
        "surprise": 1.0,
    },
}
CSV_FIELDS = [
    "source",
    "emotion",
    "L",
    "model",
    "seed",
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "majority_rate",
    "n_train",
    "n_test",
    "n_test_positive",
    "fit_time_s",
    "epochs",
    "epoch_time_s",
    "first_epoch_s",
    "F",
    "Q",
    "R",
    "C",
    "gamma_scale",
    "cv_accuracy",
    "grid_time_s",
]


def _fmt(values, digits=3) -> str:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "-"
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _acc(runs, model, emo, L):
    return [r["accuracy"] for r in runs if (r["model"], r["emotion"], r["L"]) == (model, emo, L)]


def write_csv(path, runs) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in sorted(runs, key=lambda r: (r["emotion"], -r["L"], r["model"], r["seed"])):
            w.writerow({k: r.get(k, "") for k in CSV_FIELDS})


#: Mark of a cell that does not beat the majority-class rate by 2 standard errors.
CHANCE_MARK = "†"
CHANCE_NOTE = (
    f"{CHANCE_MARK}: does not beat always answering the majority class (the `majority` "
    "column: the test splits' majority-class rate) by 2 standard errors "
    "(`igselect.evaluation.beats_majority`: the larger of the seeds' standard error of "
    "accuracy - majority rate and the binomial one of the pooled test decisions)."
)


def _recs(runs, model, emo, L):
    return [r for r in runs if (r["model"], r["emotion"], r["L"]) == (model, emo, L)]


def majority_rate(runs, emo) -> float:
    """Mean over the stored runs of one emotion of the test split's majority-class rate."""
    return float(np.mean([_majority(r) for r in runs if r["emotion"] == emo]))


def _majority(rec) -> float:
    if "majority_rate" in rec:
        return float(rec["majority_rate"])
    p = rec["n_test_positive"] / rec["n_test"]
    return max(p, 1 - p)


def chance_cell(recs, key="accuracy") -> str:
    """``mean ± std`` of ``key`` over the runs, marked when accuracy is at chance."""
    text = _fmt([r.get(key, np.nan) for r in recs])
    if not recs or text == "-":
        return text
    check = beats_majority(
        [r["accuracy"] for r in recs], [_majority(r) for r in recs], [r["n_test"] for r in recs]
    )
    return text if check.beats else f"{text} {CHANCE_MARK}"


def _accuracy_section(runs, emotions, counts, model, title) -> str:
    parts = []
    for key in ("accuracy", "balanced_accuracy"):
        rows = []
        for emo in emotions:
            cells = [chance_cell(_recs(runs, model, emo, L), key) for L in counts]
            rows.append([emo, f"{majority_rate(runs, emo):.3f}", *cells])
        means = [
            np.nanmean(
                [np.mean([r.get(key, np.nan) for r in _recs(runs, model, e, L)]) for e in emotions]
            )
            for L in counts
        ]
        rows.append(["**mean**", ""] + [f"**{m:.3f}**" for m in means])
        head = f"### {title}" if key == "accuracy" else f"{title}, **balanced accuracy**:"
        parts.append(
            head + "\n\n" + _table(["Emotion", "majority"] + [str(L) for L in counts], rows)
        )
    return "\n\n".join(parts) + "\n\n" + CHANCE_NOTE


def _hyper_section(runs, emotions, counts, n_seeds) -> str:
    parts = []
    for i, L in enumerate(counts, 1):
        rows = []
        for emo in emotions:
            recs = [r for r in runs if (r["model"], r["emotion"], r["L"]) == ("T-EMO", emo, L)]
            row = [emo]
            for k in ("F", "Q", "R"):
                ((val, n),) = Counter(r[k] for r in recs).most_common(1) or [("-", 0)]
                row.append(f"{val} ({n}/{len(recs)})")
            rows.append(row)
        parts.append(
            f"**Table {i} analogue: T-EMO hyperparameters chosen with {L} landmarks** "
            f"(most frequent choice over {n_seeds} seeds, count)\n\n"
            + _table(["Emotion", "Conv filters (F)", "LSTM units (Q)", "FC1 neurons (R)"], rows)
        )
    return "\n\n".join(parts)


def _summary_section(runs, emotions, counts, models) -> str:
    rows = []
    for model in models:
        per_l = [np.mean([np.mean(_acc(runs, model, e, L)) for e in emotions]) for L in counts]
        best = np.mean([max(np.mean(_acc(runs, model, e, L)) for L in counts) for e in emotions])
        rows.append([model] + [f"{v:.3f}" for v in per_l] + [f"{best:.3f}"])
    text = _table(["Model"] + [f"L={L}" for L in counts] + ["best L per emotion"], rows)
    sel = [L for L in counts if L < max(counts)] or list(counts)
    t_sel = np.mean([max(np.mean(_acc(runs, "T-EMO", e, L)) for L in sel) for e in emotions])
    verdict = []
    for svm in ("SVM-linear", "SVM-rbf"):
        s = np.mean([max(np.mean(_acc(runs, svm, e, L)) for L in counts) for e in emotions])
        word = "beats" if t_sel > s else "does NOT beat"
        verdict.append(
            f"T-EMO with selection (best L < {max(counts)}: {t_sel:.3f}) {word} "
            f"{svm} (best L: {s:.3f}) on average over emotions."
        )
    # The same comparison at each fixed L (nothing picked on the test splits).
    for L in sel:
        t = np.mean([np.mean(_acc(runs, "T-EMO", e, L)) for e in emotions])
        others = {
            svm: np.mean([np.mean(_acc(runs, svm, e, L)) for e in emotions])
            for svm in ("SVM-linear", "SVM-rbf")
        }
        beaten = [svm for svm, v in others.items() if t > v]
        word = (
            "beats both SVMs"
            if len(beaten) == 2
            else (f"beats only {beaten[0]}" if beaten else "beats neither SVM")
        )
        verdict.append(
            f"At L={L} (no choice on the test splits): T-EMO {t:.3f} {word} (linear "
            f"{others['SVM-linear']:.3f}, RBF {others['SVM-rbf']:.3f})."
        )
    n_dec = sum(r["n_test"] for r in runs if (r["model"], r["L"]) == ("T-EMO", counts[0]))
    p = np.mean([r["accuracy"] for r in runs])
    noise = (
        f"Each cell of this table averages {n_dec} test decisions (all emotions and seeds); "
        f"at an accuracy of {p:.2f} the binomial standard error of such a mean is about "
        f"{np.sqrt(p * (1 - p) / max(n_dec, 1)):.3f}, and one test sequence of one emotion "
        f"and seed moves it by {1 / max(n_dec, 1):.4f}. Differences of that order are noise."
    )
    return (
        'Mean accuracy over emotions. "best L per emotion" picks each emotion\'s best L '
        "on the test splits (as the paper's discussion does), so it is optimistic for every "
        "model alike. Unlike the paper, whose SVM figures come from another study's own "
        "features, the SVMs here get the same aligned, IG-selected landmarks as the nets, "
        "and their C (and RBF gamma) are tuned on the inner folds of every training split; "
        "the nets' F, Q, R are tuned on the same folds only where the grid has more than "
        "one point (see Tables 1-5).\n\n"
        + text
        + "\n\n"
        + "\n".join(f"- {v}" for v in verdict)
        + "\n\n"
        + noise
    )


def _paired_ratio(runs, num, den) -> tuple[float, int]:
    """Median over (emotion, seed) of epoch_time(num) / epoch_time(den), and the count.

    ``num`` and ``den`` are (model, L) pairs; each ratio pairs two fits of the same
    emotion and seed, run minutes apart in the same process.
    """

    def times(model, L):
        return {
            (r["emotion"], r["seed"]): r["epoch_time_s"]
            for r in runs
            if (r["model"], r["L"]) == (model, L) and np.isfinite(r.get("epoch_time_s", np.nan))
        }

    a, b = times(*num), times(*den)
    ratios = [a[k] / b[k] for k in a.keys() & b.keys() if b[k] > 0]
    return (float(np.median(ratios)) if ratios else np.nan), len(ratios)


def _ratio_lines(ratio, counts, what) -> list[str]:
    """Bullet lines of the R-EMO / T-EMO and L / L_max ratios; ``ratio(num, den)``."""
    hi = max(counts)
    lines = []
    for L in counts:
        r, n = ratio(("R-EMO", L), ("T-EMO", L))
        lines.append(
            f"- R-EMO / T-EMO {what} at L={L}: **{r:.2f}**" + (f" ({n} pairs)" if n else "")
        )
    for model in ("T-EMO", "R-EMO"):
        for L in counts:
            if L == hi:
                continue
            r, n = ratio((model, L), (model, hi))
            lines.append(
                f"- {model} {what}, L={L} / L={hi}: **{r:.2f}**" + (f" ({n} pairs)" if n else "")
            )
    return lines


def _probe_section(probe, counts) -> str:
    if not probe:
        return ""
    rows = probe["rows"]
    by = {(r["model"], r["L"]): r for r in rows}
    r0 = rows[0]
    table = _table(
        ["Model", "L", "time per epoch (s)", "first epoch (s)", "epochs timed"],
        [
            [
                r["model"],
                r["L"],
                f"{r['epoch_time_s']:.4f}",
                f"{r['first_epoch_s']:.3f}",
                r["n_epochs_timed"],
            ]
            for r in rows
        ],
    )

    def ratio(num, den):
        return by[num]["epoch_time_s"] / by[den]["epoch_time_s"], 0

    load = probe.get("loadavg_1min", [np.nan, np.nan])
    return (
        f"**Timing probe on a fixed synthetic batch** (random numbers, timing only, nothing "
        f"is learned; same process, run after the benchmark): {r0['n_samples']} samples x "
        f"{r0['n_frames']} frames, F={r0.get('n_filters')} Q={r0.get('lstm_units')} "
        f"R={r0.get('dense_units')}, batch {r0.get('batch_size')}"
        + ". Each configuration is fitted twice, in turn; its time per epoch is the median "
        f"of the epochs after each fit's first. 1-minute load average before/after: "
        f"{load[0]:.1f}/{load[1]:.1f} on {os.cpu_count()} CPU(s).\n\n"
        + table
        + "\n\n"
        + "\n".join(
            _ratio_lines(ratio, [L for L in counts if ("T-EMO", L) in by], "probe time per epoch")
        )
    )


def _timing_section(runs, selections, counts, probe=None) -> str:
    rows = []
    for model in ("T-EMO", "R-EMO"):
        for L in counts:
            recs = [r for r in runs if (r["model"], r["L"]) == (model, L)]
            rows.append(
                [
                    model,
                    L,
                    _fmt([r["fit_time_s"] for r in recs], 2),
                    _fmt([r["epochs"] for r in recs], 1),
                    _fmt([r["epoch_time_s"] for r in recs], 4),
                    _fmt([r.get("first_epoch_s", np.nan) for r in recs], 3),
                ]
            )
    for model in ("SVM-linear", "SVM-rbf"):
        grid = "C" if model == "SVM-linear" else "C, gamma"
        for L in counts:
            recs = [r for r in runs if (r["model"], r["L"]) == (model, L)]
            rows.append(
                [f"{model} (grid over {grid})", L, _fmt([r["fit_time_s"] for r in recs], 2)]
                + ["-"] * 3
            )
    text = (
        "Time per epoch is the compute time of one training epoch of the final fit (its "
        "mini-batch steps and validation pass, one compiled call): the median over the "
        "fit's epochs after the first, which can include tracing the compiled epoch "
        "(the first fit of each network configuration in the process). The fit time "
        "also includes building the network. Wall times depend on the other load on "
        "the machine; the ratios below pair fits of the same emotion and seed, run "
        "minutes apart in the same process.\n\n"
        + _table(
            ["Model", "L", "fit time (s)", "epochs", "time per epoch (s)", "first epoch (s)"],
            rows,
        )
    )
    ratios = _ratio_lines(lambda num, den: _paired_ratio(runs, num, den), counts, "time per epoch")
    ig = [s["ig_time_s"] for s in selections]
    net = [s["selector_net_fit_s"] for s in selections]
    ratios.append(
        "- Global IG per emotion (the emotion's training samples x their IG baselines): "
        f"{_fmt(ig, 2)} s; full-landmark T-EMO training for the selector: "
        f"{_fmt(net, 2)} s"
    )
    parts = [text, "\n".join(ratios)]
    if probe:
        parts.append(_probe_section(probe, counts))
    return "\n\n".join(parts)


def _ensemble_section(ensembles) -> str:
    if not ensembles:
        return "Not run (needs at least two emotions and no label without an estimator)."
    labels = ensembles[0]["labels"]
    conf = np.sum([np.asarray(e["confusion"]) for e in ensembles], axis=0)
    rows = [[lab] + [int(v) for v in conf[i]] for i, lab in enumerate(labels)]
    return (
        f"EmotionEnsemble of the per-emotion T-EMO pipelines (each with its own top-"
        f"{ensembles[0]['L']} landmarks and chosen F, Q, R); argmax of the positive-class "
        f"probabilities. {len(labels)}-class accuracy: "
        f"**{_fmt([e['accuracy'] for e in ensembles])}** over {len(ensembles)} seeds "
        f"(chance {1 / len(labels):.3f}).\n\nConfusion matrix, summed over seeds (rows true, "
        "columns predicted):\n\n" + _table(["true \\ pred"] + labels, rows)
    )


def _attribution_section(selections, emotions) -> str:
    from igselect.landmarks import mesh

    uniform = sum(len(mesh.REGIONS[r]) for r in mesh.RIGID_REGIONS) / mesh.N_LANDMARKS
    has_gt = any("precision_at_64" in s for s in selections)
    rows = []
    for emo in emotions:
        recs = [s for s in selections if s["emotion"] == emo]
        row = [
            emo,
            _fmt([s["rigid_share"] for s in recs]),
            _fmt([s.get("relative_delta", np.nan) for s in recs]),
        ]
        if has_gt:
            row += [
                _fmt([s.get("precision_at_64", np.nan) for s in recs]),
                recs[0].get("n_relevant", "-") if recs else "-",
                _fmt([s.get("precision_moving_at_64", np.nan) for s in recs]),
                recs[0].get("n_moving", "-") if recs else "-",
            ]
        rows.append(row)
    header = ["Emotion", "rigid-region share of attribution", "IG completeness residual"]
    gt_text = ""
    if has_gt:
        header += [
            "top-64 precision vs ground truth",
            "# ground-truth landmarks",
            "top-64 precision vs moving > 0.03",
            "# moving > 0.03",
        ]
        gt_text = (
            " Ground truth (`relevant_landmarks`): the core landmarks of the emotion's action "
            "units, those that one of its AUs moves by at least half of that AU's largest "
            "displacement. The last two columns use the landmarks whose summed apex "
            "displacement exceeds 0.03 face sizes (`moving_landmarks`), a cut that keeps "
            "little of weak AUs such as AU7 and AU23 of anger."
        )
    return (
        f"Rigid regions: {', '.join(mesh.RIGID_REGIONS)} (they barely move with expression; "
        f"uniform attribution would give {uniform:.3f}). A high share is a bias warning: the "
        "network leans on face shape or framing, not on the expression. The completeness "
        "residual is the median |sum IG - (F(x) - F(baseline))| / |F(x) - F(baseline)|."
        + gt_text
        + "\n\n"
        + _table(header, rows)
    )


def _paper_section(emotions) -> str:
    rows = []
    for emo in emotions:
        if emo in PAPER["T-EMO"]:
            rows.append(
                [
                    emo,
                    *(f"{v:.3f}" for v in PAPER["T-EMO"][emo]),
                    *(f"{v:.3f}" for v in PAPER["R-EMO"][emo]),
                    PAPER["SVM-linear"][emo],
                    PAPER["SVM-rbf"][emo],
                ]
            )
    if not rows:
        return ""
    head = ["Emotion"] + [f"T {L}" for L in PAPER_SIZES] + [f"R {L}" for L in PAPER_SIZES]
    return (
        "## Paper values (CK+, Tables 6-7 and the SVMs of Section 4), for reference\n\n"
        + _table(head + ["lin. SVM", "RBF SVM"], rows)
        + "\n"
    )


def write_figures(out, cfg, data, store, emotions) -> list[str]:
    """fig3_<emotion>.png (selected landmarks per L) and fig2_ig_path.png, from stored runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from igselect import plotting

    made = []
    n_total = data.X.shape[3]
    sizes = [s for s in PAPER_SIZES if s <= n_total]
    for emo in emotions:
        sel = store.get(f"select_{emo}_s0")
        fig = plotting.plot_selection_grid(
            np.asarray(sel["ranking"]),
            sizes=sizes,
            title=f"{emo}: top-L landmarks by global IG ({data.source} data, seed 0)",
        )
        fig.savefig(out / f"fig3_{emo}.png", dpi=80)
        plt.close(fig)
        made.append(f"fig3_{emo}.png")
    # Fig. 2: probability of the target class along the IG path, one sample, one baseline
    # (computed and stored by the run; drawn here from the stored probabilities).
    path = store.get("fig2_ig_path")
    if path is not None:
        proba = np.asarray(path["proba"], dtype=float)
        x = np.asarray(path["x"], dtype=np.float32)
        target, pick = path["target"], path["baseline"]

        def stored(batch):
            return np.stack([1 - proba[: len(batch)], proba[: len(batch)]], axis=1)

        fig, ax = plt.subplots(figsize=(5, 3.5))
        plotting.plot_ig_path(stored, x, x, ax=ax, n_steps=int(path["n_steps"]))
        ax.set_ylabel(f"P({target}) from the {target} network")
        ax.set_title(f"{target} sample, {pick} baseline ({data.source} data)")
        fig.savefig(out / "fig2_ig_path.png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        made.append("fig2_ig_path.png")
    return made


def _schedule_text(cfg) -> str:
    """How long the nets train (and why), for the report's header."""
    if cfg.validation_fraction:
        return (
            f"<= {cfg.epochs} epochs with early stopping on {cfg.validation_fraction:.0%} of "
            f"each training set (patience {cfg.patience}, best weights restored)"
        )
    return (
        f"a fixed {cfg.epochs} epochs without a validation split (on a few dozen subjects "
        "a 10% split is a handful of samples and early stopping on it followed their "
        "noise; learning rate and epochs were chosen by grouped cross-validation on a "
        "separate development draw of the built-in data, never on these test splits)"
    )


def _stored_seconds(runs, selections, ensembles) -> float:
    def val(rec, *keys):
        for k in keys:
            v = rec.get(k)
            if v is not None and np.isfinite(v):
                return float(v)
        return 0.0

    return (
        sum(val(r, "grid_time_s", "fit_time_s") for r in runs)
        + sum(val(s, "selector_time_s") for s in selections)
        + sum(val(e, "fit_time_s") for e in ensembles)
    )


def write_all(out, cfg, data, store, *, models, wall_s) -> None:
    """Write results.csv, report.md and the figures from the stored runs."""
    emotions = list(data.emotions)
    counts = list(cfg.landmark_counts)

    def wanted(rec):  # only this invocation's seeds, emotions and L values
        return (
            rec.get("seed", 0) < cfg.seeds
            and rec.get("emotion", emotions[0]) in emotions
            and rec.get("L", counts[0]) in counts
        )

    runs = [r for r in store.all("run_") if wanted(r)]
    selections = [r for r in store.all("select_") if wanted(r)]
    ensembles = [r for r in store.all("ensemble_") if wanted(r)]
    shoots = [
        r
        for r in store.all("shoot_")
        if wanted({**r, "L": counts[0]}) and r["selector"] in cfg.shootout_selectors
    ]
    write_csv(out / "results.csv", runs)
    write_shootout_csv(out / "shootout.csv", shoots)
    figures = write_figures(out, cfg, data, store, emotions)
    if shoots:
        figures.append(write_shootout_figure(out, shoots, data.source))
    banner = ("**Data: SYNTHETIC.** " if data.source == "synthetic" else "**Data:** ") + (
        data.description
    )
    lines = [
        "# igselect benchmark: Di Luzio et al. (2024), Tables 1-7 and Figs. 2-3",
        "",
        banner,
        "",
        f"Mode `{cfg.mode}`: {data.X.shape[0]} samples of shape {tuple(data.X.shape[1:])}, "
        f"{cfg.seeds} seed(s) with subject-grouped train/test splits (test {cfg.test_size:.0%} "
        f"of subjects), grid F={cfg.grid.get('F')} Q={cfg.grid.get('Q')} R={cfg.grid.get('R')} "
        f"by {cfg.inner_folds}-fold GroupKFold on the training split, Adam lr="
        f"{cfg.learning_rate}, batch {cfg.batch_size}, {_schedule_text(cfg)}; SVMs: "
        f"C in {list(cfg.svm_C)} (and RBF gamma in {list(cfg.svm_gamma)} x 'scale') by "
        "the same inner folds, on the same standardised features. "
        f"IG {cfg.n_steps} right-Riemann steps, "
        + (
            "'onset' baselines (each sequence's own first frame repeated over all frames). "
            if cfg.baselines == "onset"
            else "'typical' baselines of the other classes (the paper's). "
        )
        + (
            "**Classifier input: motion.** After selection, T-EMO, R-EMO and both SVMs see "
            "each kept landmark's displacement from the sequence's onset frame "
            "(`OnsetDisplacement`), not its position; the paper fed positions "
            "(`--features coordinates`). The selector's network sees aligned positions. "
            if cfg.features == "motion"
            else "Classifier input: the aligned landmark positions (the paper's input). "
        )
        + "Landmarks are ranked by the T-EMO (full-landmark) "
        "attributions for T-EMO, R-EMO and both SVMs alike; the selection is fitted once per "
        "(emotion, seed) on the whole training split and reused by the grid search's inner "
        "folds (so their CV scores are slightly optimistic; the test split is never seen). "
        f"Compute stored in the runs (fits, grid searches, selections, ensembles): "
        f"{_stored_seconds(runs, selections, ensembles):.0f} s; "
        f"this invocation: {wall_s:.0f} s wall time on {os.cpu_count()} CPU(s) "
        f"({platform.machine()}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{len(runs)} runs.",
        "",
        "## Selector shoot-out: is IG worth it?",
        "",
        shootout_section(shoots, cfg, data) if shoots else "Not run (`--selectors none`).",
        "",
        "## Tables 1-5: hyperparameters chosen by the grid search",
        "",
        _hyper_section(runs, emotions, counts, cfg.seeds),
        "",
        "## Tables 6-7: binary accuracy (mean ± std over seeds)",
        "",
        _accuracy_section(runs, emotions, counts, "T-EMO", "Table 6 analogue: T-EMO"),
        "",
        _accuracy_section(runs, emotions, counts, "R-EMO", "Table 7 analogue: R-EMO"),
        "",
        _accuracy_section(
            runs,
            emotions,
            counts,
            "SVM-linear",
            "Linear SVM (same aligned, selected landmarks, same splits)",
        ),
        "",
        _accuracy_section(runs, emotions, counts, "SVM-rbf", "RBF SVM (same landmarks, splits)"),
        "",
        "## Summary",
        "",
        _summary_section(runs, emotions, counts, models),
        "",
        "## Training and attribution time (same run)",
        "",
        _timing_section(runs, selections, counts, store.get("timing_probe")),
        "",
        f"## {len(emotions)}-class EmotionEnsemble" if ensembles else "## EmotionEnsemble",
        "",
        _ensemble_section(ensembles),
        "",
        "## Attribution: rigid-region share (bias indicator)"
        + (" and ground truth" if data.relevant else ""),
        "",
        _attribution_section(selections, emotions),
        "",
        "## Figures",
        "",
        *[f"![{f}]({f})" for f in figures],
        "",
        _paper_section(emotions),
    ]
    (out / "report.md").write_text("\n".join(lines))
