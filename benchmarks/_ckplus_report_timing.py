"""The timing section of the CK+ benchmark's report (see ``ckplus.py``): fit time, time
per epoch and first epoch of every model at every L, the R-EMO / T-EMO and L / L_max
ratios of fits paired by (emotion, seed), and the fixed-batch timing probe.
"""

from __future__ import annotations

import os

import numpy as np
from _ckplus_report_tables import fmt_mean_std, markdown_table


def paired_ratio(runs, num, den) -> tuple[float, int]:
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
    table = markdown_table(
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


def timing_section(runs, selections, counts, probe=None) -> str:
    """Fit and epoch times of every model and L, their paired ratios, IG's time and
    the timing probe."""
    rows = []
    for model in ("T-EMO", "R-EMO"):
        for L in counts:
            recs = [r for r in runs if (r["model"], r["L"]) == (model, L)]
            rows.append(
                [
                    model,
                    L,
                    fmt_mean_std([r["fit_time_s"] for r in recs], 2),
                    fmt_mean_std([r["epochs"] for r in recs], 1),
                    fmt_mean_std([r["epoch_time_s"] for r in recs], 4),
                    fmt_mean_std([r.get("first_epoch_s", np.nan) for r in recs], 3),
                ]
            )
    for model in ("SVM-linear", "SVM-rbf"):
        grid = "C" if model == "SVM-linear" else "C, gamma"
        for L in counts:
            recs = [r for r in runs if (r["model"], r["L"]) == (model, L)]
            rows.append(
                [f"{model} (grid over {grid})", L, fmt_mean_std([r["fit_time_s"] for r in recs], 2)]
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
        + markdown_table(
            ["Model", "L", "fit time (s)", "epochs", "time per epoch (s)", "first epoch (s)"],
            rows,
        )
    )
    ratios = _ratio_lines(lambda num, den: paired_ratio(runs, num, den), counts, "time per epoch")
    ig = [s["ig_time_s"] for s in selections]
    net = [s["selector_net_fit_s"] for s in selections]
    ratios.append(
        "- Global IG per emotion (the emotion's training samples x their IG baselines): "
        f"{fmt_mean_std(ig, 2)} s; full-landmark T-EMO training for the selector: "
        f"{fmt_mean_std(net, 2)} s"
    )
    parts = [text, "\n".join(ratios)]
    if probe:
        parts.append(_probe_section(probe, counts))
    return "\n\n".join(parts)
