"""The loop over seeds x emotions x L x models of the CK+ benchmark (see ``ckplus.py``)."""

from __future__ import annotations

import os
import time

import numpy as np
from _ckplus_protocol import (
    MODELS,
    BenchmarkInputError,
    fit_selection,
    make_emo_pipeline,
    model_features,
    outer_split,
    run_name,
    run_remo,
    run_svm,
    run_temo,
    timing_probe,
)


def precision_at(ranking, relevant, k: int = 64) -> float:
    """Share of the top-``k`` ranked landmarks that are ground-truth relevant."""
    top = np.asarray(ranking)[:k]
    return float(np.isin(top, np.asarray(relevant)).mean())


def _selection_record(sel, emotion, seed, times, relevant, moving=None) -> dict:
    from igselect.landmarks import mesh

    rec = {
        "emotion": emotion,
        "seed": seed,
        "ranking": sel.ranking_,
        "scores": sel.scores_,
        "scores_per_baseline": sel.scores_per_baseline_,
        "baseline_labels": [str(v) for v in sel.baseline_labels_],
        "rigid_share": float(mesh.rigid_share(sel.scores_)),
        **times,
    }
    if relevant is not None:
        rec["precision_at_64"] = precision_at(sel.ranking_, relevant, 64)
        rec["n_relevant"] = len(relevant)
    if moving is not None:
        rec["precision_moving_at_64"] = precision_at(sel.ranking_, moving, 64)
        rec["n_moving"] = len(moving)
    return rec


def _meta(data, emotion, L, model, seed, tr, te):
    return {
        "source": data.source,
        "emotion": emotion,
        "L": int(L),
        "model": model,
        "seed": int(seed),
        "n_train": int(len(tr)),
        "n_test": int(len(te)),
        "n_test_positive": int(np.sum(data.y[te] == emotion)),
    }


def _ensemble_run(cfg, data, store, memory, seed, tr, te, L, verbose):
    """Fit the multi-class EmotionEnsemble from the chosen per-emotion T-EMO pipelines."""
    from sklearn.metrics import confusion_matrix

    from igselect.ensemble import EmotionEnsemble

    name = f"ensemble_L{L}_s{seed}"
    if store.get(name) is not None:
        store.reused += 1
        return
    estimators = []
    for emo in data.emotions:
        rec = store.get(run_name(emo, L, "T-EMO", seed))
        params = {k: rec[k] for k in ("F", "Q", "R")}
        estimators.append((emo, make_emo_pipeline(cfg, emo, L, memory, seed, params=params)))
    ens = EmotionEnsemble(estimators, verbose=verbose).fit(data.X[tr], data.y[tr])
    pred = ens.predict(data.X[te])
    labels = list(ens.classes_)
    store.put(
        name,
        {
            "L": int(L),
            "seed": int(seed),
            "labels": labels,
            "accuracy": float(np.mean(pred == data.y[te])),
            "confusion": confusion_matrix(data.y[te], pred, labels=labels),
            "n_test": int(len(te)),
            "fit_time_s": float(ens.fit_time_),
        },
    )


def run_all(cfg, data, store, args, *, n_total: int) -> float:
    """Run (or reuse) every run; returns this invocation's wall time in seconds."""
    from joblib import Memory
    from tqdm.auto import tqdm

    memory = Memory(str(args.out / "cache"), verbose=0)
    counts = cfg.landmark_counts
    total = cfg.seeds * len(data.emotions) * len(counts) * len(MODELS)
    bar = tqdm(total=total, desc="runs", unit="run", disable=args.no_progress)
    start = time.perf_counter()
    for seed in range(cfg.seeds):
        tr, te = outer_split(data.groups, cfg.test_size, seed)
        for emo in data.emotions:
            if not np.any(data.y[tr] == emo):
                raise BenchmarkInputError(
                    f"emotion {emo!r} has no training samples in split seed={seed}; "
                    "use more subjects or fewer emotions."
                )
            bar.set_postfix_str(f"{emo} seed={seed}")
            _one_emotion(cfg, data, store, memory, seed, emo, tr, te, n_total, bar)
        ens_l = min(counts, key=lambda v: abs(v - cfg.ensemble_landmarks))
        multi = len(data.emotions) >= 2 and set(np.unique(data.y).tolist()) == set(data.emotions)
        if multi and seed < cfg.ensemble_seeds:
            bar.set_postfix_str(f"ensemble seed={seed}")
            _ensemble_run(cfg, data, store, memory, seed, tr, te, ens_l, args.verbose)
    bar.set_postfix_str("timing probe")
    _probe_run(cfg, store, n_total)
    bar.close()
    return time.perf_counter() - start


def _probe_run(cfg, store, n_total):
    """The fixed-batch timing probe (stored like a run, so a resumed run reuses it)."""
    rec = store.get("timing_probe")
    wanted = {min(L, n_total) for L in cfg.landmark_counts}
    if rec is not None and {r["L"] for r in rec["rows"]} == wanted:
        store.reused += 1
        return
    load_before = os.getloadavg()[0]
    rows = timing_probe(cfg, n_total)
    store.put(
        "timing_probe",
        {"rows": rows, "loadavg_1min": [load_before, os.getloadavg()[0]]},
    )


def _one_emotion(cfg, data, store, memory, seed, emo, tr, te, n_total, bar):
    """Selection on the training split, then T-EMO, R-EMO and both SVMs at every L."""
    names = {(L, m): run_name(emo, L, m, seed) for L in cfg.landmark_counts for m in MODELS}
    sel_name = f"select_{emo}_s{seed}"
    pending = [k for k, n in names.items() if store.get(n) is None]
    store.reused += len(names) - len(pending)
    bar.update(len(names) - len(pending))
    if store.get(sel_name) is not None:
        store.reused += 1
        if not pending:
            return
    X_tr, y_tr, g_tr, X_te, y_te = data.X[tr], data.y[tr], data.groups[tr], data.X[te], data.y[te]
    # Fitted once per (emotion, seed) on the whole training split (joblib-cached); every
    # model and every L below, and the inner folds of their grid searches, reuse it.
    pipe, times = fit_selection(cfg, emo, X_tr, y_tr, memory, seed, n_total)
    align, sel = pipe.named_steps["align"], pipe.named_steps["select"]
    if store.get(sel_name) is None:
        rel = None if data.relevant is None else data.relevant.get(emo)
        moving = None if data.moving is None else data.moving.get(emo)
        store.put(sel_name, _selection_record(sel, emo, seed, times, rel, moving))
    Xa_tr, Xa_te = align.transform(X_tr), align.transform(X_te)
    for L in cfg.landmark_counts:
        if not any(k[0] == L for k in pending):
            continue
        sel.set_params(n_landmarks=int(L))
        Xs_tr, Xs_te = model_features(cfg, sel.transform(Xa_tr), sel.transform(Xa_te))
        rec_t = store.get(names[L, "T-EMO"])
        if rec_t is None:
            rec = run_temo(cfg, emo, Xs_tr, y_tr, g_tr, Xs_te, y_te, seed)
            rec_t = store.put(
                names[L, "T-EMO"], {**_meta(data, emo, L, "T-EMO", seed, tr, te), **rec}
            )
            bar.update(1)
        if store.get(names[L, "R-EMO"]) is None:
            params = {k: rec_t[k] for k in ("F", "Q", "R")}
            rec = run_remo(cfg, emo, Xs_tr, y_tr, Xs_te, y_te, seed, params)
            store.put(names[L, "R-EMO"], {**_meta(data, emo, L, "R-EMO", seed, tr, te), **rec})
            bar.update(1)
        for kind in ("linear", "rbf"):
            model = f"SVM-{kind}"
            if store.get(names[L, model]) is None:
                rec = run_svm(cfg, kind, emo, Xs_tr, y_tr, g_tr, Xs_te, y_te)
                store.put(names[L, model], {**_meta(data, emo, L, model, seed, tr, te), **rec})
                bar.update(1)
