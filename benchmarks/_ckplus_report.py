"""results.csv, report.md and figures of the CK+ benchmark (see ``ckplus.py``).

The report reads the stored runs only (it never refits): its header, the
ensemble and attribution sections and the figures are here; the accuracy and
hyperparameter tables in ``_ckplus_report_tables``, the timing section in
``_ckplus_report_timing`` and the shoot-out in ``_ckplus_shootout``.
"""

from __future__ import annotations

import csv
import os
import platform
import time

import numpy as np
from _ckplus_report_tables import (
    PAPER_SIZES,
    accuracy_section,
    fmt_mean_std,
    hyper_section,
    markdown_table,
    paper_section,
    summary_section,
)
from _ckplus_report_timing import timing_section
from _ckplus_shootout import shootout_section, write_shootout_csv, write_shootout_figure

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


def write_csv(path, runs) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in sorted(runs, key=lambda r: (r["emotion"], -r["L"], r["model"], r["seed"])):
            w.writerow({k: r.get(k, "") for k in CSV_FIELDS})


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
        f"**{fmt_mean_std([e['accuracy'] for e in ensembles])}** over {len(ensembles)} seeds "
        f"(chance {1 / len(labels):.3f}).\n\nConfusion matrix, summed over seeds (rows true, "
        "columns predicted):\n\n" + markdown_table(["true \\ pred"] + labels, rows)
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
            fmt_mean_std([s["rigid_share"] for s in recs]),
            fmt_mean_std([s.get("relative_delta", np.nan) for s in recs]),
        ]
        if has_gt:
            row += [
                fmt_mean_std([s.get("precision_at_64", np.nan) for s in recs]),
                recs[0].get("n_relevant", "-") if recs else "-",
                fmt_mean_std([s.get("precision_moving_at_64", np.nan) for s in recs]),
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
        + markdown_table(header, rows)
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
        hyper_section(runs, emotions, counts, cfg.seeds),
        "",
        "## Tables 6-7: binary accuracy (mean ± std over seeds)",
        "",
        accuracy_section(runs, emotions, counts, "T-EMO", "Table 6 analogue: T-EMO"),
        "",
        accuracy_section(runs, emotions, counts, "R-EMO", "Table 7 analogue: R-EMO"),
        "",
        accuracy_section(
            runs,
            emotions,
            counts,
            "SVM-linear",
            "Linear SVM (same aligned, selected landmarks, same splits)",
        ),
        "",
        accuracy_section(runs, emotions, counts, "SVM-rbf", "RBF SVM (same landmarks, splits)"),
        "",
        "## Summary",
        "",
        summary_section(runs, emotions, counts, models),
        "",
        "## Training and attribution time (same run)",
        "",
        timing_section(runs, selections, counts, store.get("timing_probe")),
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
        paper_section(emotions),
    ]
    (out / "report.md").write_text("\n".join(lines))
