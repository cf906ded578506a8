"""The independent units (emotion, seed) of the CK+ benchmark and the whole run (see ``ckplus.py``).

One *unit* is one emotion and one seed: the IG selection on the training split,
T-EMO, R-EMO and both SVMs at every L of the paper tables, and the selector
shoot-out. Units share nothing but the run store (one JSON file per finished
run, written atomically) and the joblib cache, so they run serially, on local
processes (``--jobs N``) or on a Dask cluster (``--scheduler ADDRESS``), with
the same results (``_ckplus_dispatch``); a unit whose process died is redone
from its last stored run. The multi-class ensembles and the timing probe follow the units.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
from _ckplus_config import MODELS, BenchmarkInputError
from _ckplus_dispatch import dispatch, one_thread_per_unit
from _ckplus_protocol import (
    fit_selection,
    grid_size,
    make_emo_pipeline,
    make_ranker,
    make_shootout_classifier,
    model_features,
    outer_split,
    run_remo,
    run_svm,
    run_temo,
    timing_probe,
)
from _ckplus_store import RunStore, run_name

from igselect.evaluation import evaluate_selection, precision_at_k


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
        rec["precision_at_64"] = precision_at_k(sel.ranking_, relevant, 64)
        rec["n_relevant"] = len(relevant)
    if moving is not None:
        rec["precision_moving_at_64"] = precision_at_k(sel.ranking_, moving, 64)
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


def fig2_target(emotions) -> str:
    """The emotion of Fig. 2 (the IG path): surprise, as in the paper, when present."""
    return "surprise" if "surprise" in emotions else emotions[0]


# ----------------------------------------------------------------------------- one unit
def run_unit(cfg, data, out, key, seed, emo, n_total, quiet=True) -> dict:
    """Every run of one (emotion, seed); returns how many were reused and how many made.

    Top-level and self-contained (it opens the run store and the cache itself),
    so that joblib can ship it to another process or a Dask worker.
    """
    from joblib import Memory

    from igselect._console import quiet_native_logs

    with quiet_native_logs(enabled=quiet):  # a fresh worker process imports TF here
        import tensorflow  # noqa: F401
    one_thread_per_unit()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
    # joblib.Memory's hint that hashing a call's arguments (the data) took over 0.5 s: a
    # performance note for the cache's users, timed by the machine's load, not a result
    warnings.filterwarnings("ignore", message="Persisting input arguments took")
    store = RunStore(out, key)
    memory = Memory(str(Path(out) / "cache"), verbose=0)
    tr, te = outer_split(data.groups, cfg.test_size, seed)
    made = _one_emotion(cfg, data, store, memory, seed, emo, tr, te, n_total)
    made += _shootout(cfg, data, store, memory, seed, emo, tr, te, n_total)
    if seed == 0 and emo == fig2_target(data.emotions):
        made += _ig_path_record(cfg, data, store, memory, emo, tr, n_total)
    return {"reused": store.reused, "made": made, "emotion": emo, "seed": seed}


def unit_size(cfg, data) -> int:
    """Stored runs per unit (for the progress bar)."""
    return len(cfg.landmark_counts) * len(MODELS) + len(cfg.shootout_selectors)


def _one_emotion(cfg, data, store, memory, seed, emo, tr, te, n_total) -> int:
    """Selection on the training split, then T-EMO, R-EMO and both SVMs at every L."""
    names = {(L, m): run_name(emo, L, m, seed) for L in cfg.landmark_counts for m in MODELS}
    sel_name = f"select_{emo}_s{seed}"
    pending = [k for k, n in names.items() if store.get(n) is None]
    store.reused += len(names) - len(pending)
    if store.get(sel_name) is not None:
        store.reused += 1
        if not pending:
            return 0
    X_tr, y_tr, g_tr, X_te, y_te = data.X[tr], data.y[tr], data.groups[tr], data.X[te], data.y[te]
    # Fitted once per (emotion, seed) on the whole training split (joblib-cached); every
    # model and every L below, and the inner folds of their grid searches, reuse it.
    pipe, times = fit_selection(cfg, emo, X_tr, y_tr, memory, seed, n_total)
    align, sel = pipe.named_steps["align"], pipe.named_steps["select"]
    made = 0
    if store.get(sel_name) is None:
        rel = None if data.relevant is None else data.relevant.get(emo)
        moving = None if data.moving is None else data.moving.get(emo)
        store.put(sel_name, _selection_record(sel, emo, seed, times, rel, moving))
        made += 1
    Xa_tr, Xa_te = align.transform(X_tr), align.transform(X_te)
    for L in cfg.landmark_counts:
        if not any(k[0] == L for k in pending):
            continue
        sel.set_params(n_landmarks=int(L))
        Xs_tr, Xs_te = model_features(cfg, sel.transform(Xa_tr), sel.transform(Xa_te))
        rec_t = store.get(names[L, "T-EMO"])
        if rec_t is None:
            rec = run_temo(cfg, emo, Xs_tr, y_tr, g_tr, Xs_te, y_te, seed)
            meta = _meta(data, emo, L, "T-EMO", seed, tr, te)
            rec_t = store.put(names[L, "T-EMO"], {**meta, **rec})
            made += 1
        if store.get(names[L, "R-EMO"]) is None:
            params = {k: rec_t[k] for k in ("F", "Q", "R")}
            rec = run_remo(cfg, emo, Xs_tr, y_tr, Xs_te, y_te, seed, params)
            store.put(names[L, "R-EMO"], {**_meta(data, emo, L, "R-EMO", seed, tr, te), **rec})
            made += 1
        for kind in ("linear", "rbf"):
            model = f"SVM-{kind}"
            if store.get(names[L, model]) is None:
                rec = run_svm(cfg, kind, emo, Xs_tr, y_tr, g_tr, Xs_te, y_te)
                store.put(names[L, model], {**_meta(data, emo, L, model, seed, tr, te), **rec})
                made += 1
    return made


def shootout_counts(cfg, n_total) -> list[int]:
    return sorted({min(int(L), n_total) for L in cfg.shootout_counts}, reverse=True)


def _shootout(cfg, data, store, memory, seed, emo, tr, te, n_total) -> int:
    """Every shoot-out selector ranks once on the training split; classifiers at every L.

    One :func:`evaluate_selection` call for all the selectors not yet stored, so
    that its T-EMO networks of one L train side by side. T-EMO at L = all
    landmarks is the same pipeline for every selector (no landmark is dropped)
    and, with a single grid point, the main table's T-EMO run at that L: its
    record is reused rather than refitted.
    """
    counts = shootout_counts(cfg, n_total)
    wanted = {(L, c) for L in counts for c in cfg.shootout_classifiers}
    names = []
    for name in cfg.shootout_selectors:
        rec = store.get(f"shoot_{emo}_{name}_s{seed}")
        if rec is not None and wanted <= {(c["L"], c["classifier"]) for c in rec["cells"]}:
            store.reused += 1
        else:
            names.append(name)
    if not names:
        return 0
    classifiers = {c: make_shootout_classifier(cfg, c, emo, seed) for c in cfg.shootout_classifiers}
    main_run = _main_table_temo(cfg, store, emo, n_total, seed)
    records = evaluate_selection(
        data.X,
        data.y,
        selectors={name: make_ranker(cfg, name, emo, n_total, memory, seed) for name in names},
        classifiers=classifiers,
        landmark_counts=counts,
        cv=[(tr, te)],
        positive_class=emo,
        features=cfg.features,
        classifier_counts=(
            None if main_run is None else {"T-EMO": [L for L in counts if L != n_total]}
        ),
    )
    for name in names:
        mine = [r for r in records if r["selector"] == name]
        cells = [
            {k: r[k] for k in r if k not in ("ranking", "rank_time_s", "selector", "split")}
            for r in mine
        ]
        if main_run is not None:
            cells.append(main_run)
        record = _shoot_record(data, store, emo, seed, name, mine, cells)
        store.put(f"shoot_{emo}_{name}_s{seed}", record)
    return len(names)


#: What a shoot-out cell takes from a main-table run.
_CELL_KEYS = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "majority_rate",
    "n_test",
    "n_test_positive",
    "n_train",
    "fit_time_s",
)


def _main_table_temo(cfg, store, emo, n_total, seed):
    """The main table's T-EMO run at L = all landmarks, when it is the shoot-out's T-EMO."""
    if "T-EMO" not in cfg.shootout_classifiers or n_total not in cfg.landmark_counts:
        return None
    if grid_size(cfg) != 1:
        return None  # the main table grid-searched F, Q, R: another network
    name = run_name(emo, n_total, "T-EMO", seed)
    rec = store.get(name)
    if rec is None:
        return None
    return {**{k: rec[k] for k in _CELL_KEYS}, "L": n_total, "classifier": "T-EMO", "run": name}


def _shoot_record(data, store, emo, seed, name, records, cells) -> dict:
    ranking = records[0]["ranking"]
    rank_time = float(records[0]["rank_time_s"])
    if name == "IG":  # the paper selection already attributed (its scores are cached)
        sel = store.get(f"select_{emo}_s{seed}") or {}
        rank_time = float(sel.get("ig_time_s", np.nan))
    out = {
        "emotion": emo,
        "seed": int(seed),
        "selector": name,
        "source": data.source,
        "rank_time_s": rank_time,
        "ranking": ranking,
        "cells": cells,
    }
    for field, truth in (
        ("precision_at_64", data.relevant),
        ("precision_moving_at_64", data.moving),
    ):
        if truth is not None and emo in truth and len(ranking) > 64:
            out[field] = precision_at_k(ranking, truth[emo], 64)
    return out


def _ig_path_record(cfg, data, store, memory, target, tr, n_total) -> int:
    """Fig. 2's data: P(target) along the IG path of one typical sample (stored; the
    report only draws it)."""
    if store.get("fig2_ig_path") is not None:
        store.reused += 1
        return 0
    pipe, _ = fit_selection(cfg, target, data.X[tr], data.y[tr], memory, 0, n_total)
    sel = pipe.named_steps["select"]
    Xa = pipe.named_steps["align"].transform(data.X[tr])
    labels = [str(v) for v in sel.baseline_labels_]
    pick = next((k for k in ("sadness", "happiness", "neutral") if k in labels), labels[0])
    # A typical, correctly classified sample: the median-probability one among the
    # target's training samples that the full-landmark network calls positive.
    pos = Xa[data.y[tr] == target]
    p = sel.estimator_.predict_proba(pos)[:, 1]
    good = np.flatnonzero(p >= 0.5) if np.any(p >= 0.5) else np.arange(p.size)
    x = pos[good[np.argsort(p[good])[good.size // 2]]]
    baseline = np.asarray(sel.baselines_)[labels.index(pick)]
    if pick == "onset":  # the sample's own onset, not another sample's
        baseline = np.repeat(x[:1], x.shape[0], axis=0)
    n_steps = max(cfg.n_steps, 20)
    alphas = np.linspace(0.0, 1.0, n_steps + 1, dtype=np.float32)
    path = baseline[None] + alphas[:, None, None, None] * (x - baseline)[None]
    proba = sel.estimator_.predict_proba(path)[:, 1]
    store.put(
        "fig2_ig_path",
        {"target": target, "baseline": pick, "n_steps": n_steps, "proba": proba, "x": x},
    )
    return 1


# ----------------------------------------------------------------------------- all units
def run_all(cfg, data, store, args, *, n_total: int) -> float:
    """Run (or reuse) every unit, then the ensembles and the timing probe; returns wall s."""
    from functools import partial

    from joblib import Memory
    from tqdm.auto import tqdm

    one_thread_per_unit()  # the serial units, the ensembles and the probe run here
    memory = Memory(str(args.out / "cache"), verbose=0)
    splits = {seed: outer_split(data.groups, cfg.test_size, seed) for seed in range(cfg.seeds)}
    for seed, (tr, _) in splits.items():
        for emo in data.emotions:
            if not np.any(data.y[tr] == emo):
                raise BenchmarkInputError(
                    f"emotion {emo!r} has no training samples in split seed={seed}; "
                    "use more subjects or fewer emotions."
                )
    per_unit = unit_size(cfg, data)
    out = Path(args.out).absolute()  # a worker's working folder may differ
    units = [
        partial(run_unit, cfg, data, out, store.key, seed, emo, n_total, not args.verbose)
        for seed in range(cfg.seeds)
        for emo in data.emotions
    ]
    bar = tqdm(total=len(units) * per_unit, desc="runs", unit="run", disable=args.no_progress)
    start = time.perf_counter()
    for result in dispatch(units, args, data):
        store.reused += result["reused"]
        bar.update(per_unit)
        bar.set_postfix_str(f"done {result['emotion']} seed={result['seed']}")
    counts = cfg.landmark_counts
    ens_l = min(counts, key=lambda v: abs(v - cfg.ensemble_landmarks))
    multi = len(data.emotions) >= 2 and set(np.unique(data.y).tolist()) == set(data.emotions)
    for seed in range(min(cfg.seeds, cfg.ensemble_seeds) if multi else 0):
        bar.set_postfix_str(f"ensemble seed={seed}")
        tr, te = splits[seed]
        _ensemble_run(cfg, data, store, memory, seed, tr, te, ens_l, args.verbose)
    bar.set_postfix_str("timing probe")
    _probe_run(cfg, store, n_total)
    bar.close()
    return time.perf_counter() - start


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
