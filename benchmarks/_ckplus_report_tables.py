"""Markdown tables of the CK+ benchmark's report (see ``ckplus.py``): accuracy per
emotion and L with the majority-class rate and chance marks (Tables 6-7 and the
SVM rows), the chosen hyperparameters (Tables 1-5), the summary over emotions,
and the paper's own values for reference.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

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


def fmt_mean_std(values, digits=3) -> str:
    """``mean ± std`` of the finite values, or "-" when there are none."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "-"
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def markdown_table(header, rows) -> str:
    """A Markdown table of ``header`` and ``rows`` (cells go through ``str``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _acc(runs, model, emo, L):
    return [r["accuracy"] for r in runs if (r["model"], r["emotion"], r["L"]) == (model, emo, L)]


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
    text = fmt_mean_std([r.get(key, np.nan) for r in recs])
    if not recs or text == "-":
        return text
    check = beats_majority(
        [r["accuracy"] for r in recs], [_majority(r) for r in recs], [r["n_test"] for r in recs]
    )
    return text if check.beats else f"{text} {CHANCE_MARK}"


def accuracy_section(runs, emotions, counts, model, title) -> str:
    """Accuracy and balanced accuracy of ``model`` per emotion and L, with the
    majority-class rate and the chance marks (Tables 6-7 and the SVM rows)."""
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
            head + "\n\n" + markdown_table(["Emotion", "majority"] + [str(L) for L in counts], rows)
        )
    return "\n\n".join(parts) + "\n\n" + CHANCE_NOTE


def hyper_section(runs, emotions, counts, n_seeds) -> str:
    """T-EMO's most frequent F, Q, R per emotion at each L (Tables 1-5)."""
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
            + markdown_table(
                ["Emotion", "Conv filters (F)", "LSTM units (Q)", "FC1 neurons (R)"], rows
            )
        )
    return "\n\n".join(parts)


def summary_section(runs, emotions, counts, models) -> str:
    """Mean accuracy over emotions per model and L, and whether T-EMO beats the SVMs."""
    rows = []
    for model in models:
        per_l = [np.mean([np.mean(_acc(runs, model, e, L)) for e in emotions]) for L in counts]
        best = np.mean([max(np.mean(_acc(runs, model, e, L)) for L in counts) for e in emotions])
        rows.append([model] + [f"{v:.3f}" for v in per_l] + [f"{best:.3f}"])
    text = markdown_table(["Model"] + [f"L={L}" for L in counts] + ["best L per emotion"], rows)
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


def paper_section(emotions) -> str:
    """The paper's CK+ values (Tables 6-7, the SVMs of Section 4), for reference."""
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
        + markdown_table(head + ["lin. SVM", "RBF SVM"], rows)
        + "\n"
    )
