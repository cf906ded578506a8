"""The selector shoot-out's part of the report: tables, verdicts and figure (see ``ckplus.py``).

Reads the stored ``shoot_<emotion>_<selector>_s<seed>`` records only; nothing is refitted.
"""

from __future__ import annotations

import csv

import numpy as np
from _ckplus_report_tables import CHANCE_MARK, markdown_table

from igselect.evaluation import beats_majority, mean_se, selection_stability

CSV_FIELDS = [
    "source",
    "emotion",
    "seed",
    "selector",
    "L",
    "classifier",
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "majority_rate",
    "n_test",
    "n_test_positive",
    "fit_time_s",
    "rank_time_s",
    "precision_at_64",
    "precision_moving_at_64",
]


def _cells(shoots):
    """Flatten to one dict per (emotion, seed, selector, L, classifier)."""
    for rec in shoots:
        for cell in rec["cells"]:
            yield {
                "emotion": rec["emotion"],
                "seed": rec["seed"],
                "selector": rec["selector"],
                "source": rec.get("source", ""),
                "rank_time_s": rec.get("rank_time_s"),
                "precision_at_64": rec.get("precision_at_64"),
                "precision_moving_at_64": rec.get("precision_moving_at_64"),
                **cell,
            }


def write_shootout_csv(path, shoots) -> None:
    rows = sorted(
        _cells(shoots),
        key=lambda r: (r["selector"], -r["L"], r["classifier"], r["emotion"], r["seed"]),
    )
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in CSV_FIELDS})


def _values(cells, selector, L, classifier, key="accuracy") -> dict:
    """{(emotion, seed): value} of one (selector, L, classifier)."""
    return {
        (c["emotion"], c["seed"]): c[key]
        for c in cells
        if (c["selector"], c["L"], c["classifier"]) == (selector, L, classifier)
    }


def _fmt(mean, se, digits=3) -> str:
    if not np.isfinite(mean):
        return "-"
    return f"{mean:.{digits}f}" + (f" ± {se:.{digits}f}" if np.isfinite(se) else "")


def paired_margin(cells, a, b, L, classifier) -> tuple[float, float, int]:
    """Mean of a - b over the (emotion, seed) cells both have, its SE and the count."""
    va, vb = _values(cells, a, L, classifier), _values(cells, b, L, classifier)
    diffs = [va[k] - vb[k] for k in va.keys() & vb.keys()]
    mean, se = mean_se(diffs)
    return mean, se, len(diffs)


def _in_se(mean, se) -> str:
    if not np.isfinite(se) or se == 0:
        return "standard error 0" if np.isfinite(mean) else "n/a"
    return f"{mean / se:+.1f} SE"


def verdicts(cells, selectors, counts, classifier) -> list[str]:
    """Who wins at each L, by how many standard errors, and where IG stands."""
    lines = []
    for L in counts:
        means = {s: mean_se(list(_values(cells, s, L, classifier).values()))[0] for s in selectors}
        means = {s: m for s, m in means.items() if np.isfinite(m)}
        if len(means) < 2:
            continue
        order = sorted(means, key=lambda s: -means[s])
        best, second = order[0], order[1]
        m, se, n = paired_margin(cells, best, second, L, classifier)
        text = (
            f"L={L}: **{best}** is first ({means[best]:.3f}), ahead of {second} "
            f"({means[second]:.3f}) by {m:+.3f} ({_in_se(m, se)}, paired over {n} "
            "emotion-seed cells)"
        )
        if not (np.isfinite(m) and m > 2 * (se if np.isfinite(se) else np.inf)):
            text += ": a tie within 2 SE"
        if "IG" in means and best != "IG":
            mi, sei, _ = paired_margin(cells, "IG", best, L, classifier)
            text += f"; IG ranks #{order.index('IG') + 1} ({mi:+.3f}, {_in_se(mi, sei)} vs {best})"
        for other in ("random",):
            if "IG" in means and other in means and other != best:
                mr, ser, _ = paired_margin(cells, "IG", other, L, classifier)
                text += f"; IG vs {other}: {mr:+.3f} ({_in_se(mr, ser)})"
        lines.append(text + ".")
    return lines


def _accuracy_table(cells, selectors, counts, classifier, key) -> str:
    rows = []
    for s in selectors:
        row = [s]
        for L in counts:
            vals = _values(cells, s, L, classifier, key)
            mean, se = mean_se(list(vals.values()))
            text = _fmt(mean, se)
            sub = [
                c for c in cells if (c["selector"], c["L"], c["classifier"]) == (s, L, classifier)
            ]
            if sub and text != "-":
                check = beats_majority(
                    [c["accuracy"] for c in sub],
                    [c["majority_rate"] for c in sub],
                    [c["n_test"] for c in sub],
                )
                text += "" if check.beats else f" {CHANCE_MARK}"
            row.append(text)
        rows.append(row)
    return markdown_table(["Selector"] + [f"L={L}" for L in counts], rows)


def _ranking_table(shoots, selectors, source) -> str:
    has_gt = any("precision_at_64" in r for r in shoots)
    has_moving = any("precision_moving_at_64" in r for r in shoots)
    rows = []
    for s in selectors:
        recs = [r for r in shoots if r["selector"] == s]
        row = [s]
        if has_gt:
            row.append(_fmt(*mean_se([r.get("precision_at_64", np.nan) for r in recs]), 2))
        if has_moving:
            row.append(_fmt(*mean_se([r.get("precision_moving_at_64", np.nan) for r in recs]), 2))
        kun, jac = [], []
        for emo in sorted({r["emotion"] for r in recs}):
            rankings = [r["ranking"] for r in recs if r["emotion"] == emo]
            if len(rankings) >= 2 and len(rankings[0]) > 64:
                st = selection_stability(rankings, 64)
                kun.append(st.kuncheva)
                jac.append(st.jaccard)
        row += [_fmt(*mean_se(kun), 2), _fmt(*mean_se(jac), 2)]
        row.append(_fmt(*mean_se([r.get("rank_time_s", np.nan) for r in recs]), 2))
        rows.append(row)
    head = ["Selector"]
    if has_gt:
        head.append("top-64 precision vs ground truth")
    if has_moving:
        head.append(
            "top-64 overlap with the 64 most-moving landmarks"
            if source == "images"
            else "top-64 precision vs moving > 0.03"
        )
    head += ["stability across seeds: Kuncheva (top 64)", "Jaccard (top 64)", "seconds to rank"]
    return markdown_table(head, rows)


def shootout_section(shoots, cfg, data) -> str:
    """The shoot-out's tables and verdicts, in words."""
    cells = list(_cells(shoots))
    selectors = [s for s in cfg.shootout_selectors if any(r["selector"] == s for r in shoots)]
    counts = sorted({c["L"] for c in cells}, reverse=True)
    classifiers = [k for k in cfg.shootout_classifiers if any(c["classifier"] == k for c in cells)]
    n_cells = len({(r["emotion"], r["seed"]) for r in shoots})
    majority = {
        emo: np.mean([c["majority_rate"] for c in cells if c["emotion"] == emo])
        for emo in data.emotions
    }
    parts = [
        f"Every selector ranks the landmarks once per (emotion, seed) on the training split "
        f"({n_cells} emotion-seed cells); the same downstream classifiers are then fitted on "
        f"its top L landmarks at every L and scored on the test split. Cells: mean ± standard "
        "error over the emotion-seed cells. The gradient methods (IG, GradientSHAP, Grad-CAM, "
        "occlusion, ...) attribute the same full-landmark T-EMO network, trained once per "
        "(emotion, seed) and shared through the cache; their 'seconds to rank' exclude that "
        "training. The linear SVM of the shoot-out has a fixed C="
        f"{cfg.shootout_svm_C} (no inner grid search), "
        + (
            "and T-EMO the grid's first F, Q, R with the main table's training settings. "
            "At each L the selectors' T-EMO networks train side by side in one compiled loop "
            "(stacked weights; each ends as its own fit would, to rounding), and at L = all "
            "landmarks, where every selector keeps the same input, the cell is the main "
            "table's T-EMO run when the grid has a single point (the same pipeline)."
            if "T-EMO" in classifiers
            else "and T-EMO is left out of this run (`--shootout-classifiers SVM-linear`)."
        ),
        "Majority-class rate of the test splits per emotion: "
        + ", ".join(f"{e} {m:.3f}" for e, m in majority.items())
        + f". {CHANCE_MARK}: not above the majority rate by 2 standard errors.",
    ]
    for clf in classifiers:
        parts.append(
            f"**{clf}: accuracy**\n\n" + _accuracy_table(cells, selectors, counts, clf, "accuracy")
        )
        parts.append(
            f"**{clf}: balanced accuracy**\n\n"
            + _accuracy_table(cells, selectors, counts, clf, "balanced_accuracy")
        )
        parts.append(
            f"**Who wins ({clf} accuracy)**\n\n"
            + "\n".join(f"- {v}" for v in verdicts(cells, selectors, counts, clf))
        )
    parts.append("**The rankings themselves**\n\n" + _ranking_table(shoots, selectors, data.source))
    parts.append("![fig_shootout.png](fig_shootout.png)")
    return "\n\n".join(parts)


def write_shootout_figure(out, shoots, source) -> str:
    """fig_shootout.png: accuracy against L, one line per selector, error bars = SE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = list(_cells(shoots))
    classifiers = sorted({c["classifier"] for c in cells})
    selectors = list(dict.fromkeys(r["selector"] for r in shoots))
    counts = sorted({c["L"] for c in cells})
    fig, axes = plt.subplots(
        1, len(classifiers), figsize=(5.5 * len(classifiers), 4), squeeze=False
    )
    for ax, clf in zip(axes[0], classifiers, strict=True):
        for i, s in enumerate(selectors):
            stats = [mean_se(list(_values(cells, s, L, clf).values())) for L in counts]
            m = np.array([v[0] for v in stats])
            se = np.nan_to_num(np.array([v[1] for v in stats]))
            shift = 1 + 0.03 * (i - len(selectors) / 2)  # keep error bars apart
            style = "-" if s in ("IG", "random") else "--"
            ax.errorbar(
                np.array(counts) * shift, m, yerr=se, marker="o", ms=3, capsize=2, ls=style, label=s
            )
        ax.set_xscale("log")
        ax.set_xticks(counts, [str(L) for L in counts])
        ax.set_xlabel("L (landmarks kept)")
        ax.set_ylabel("accuracy (mean ± SE over emotions, seeds)")
        ax.set_title(f"{clf} on the top-L landmarks ({source} data)")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "fig_shootout.png", dpi=90)
    plt.close(fig)
    return "fig_shootout.png"
