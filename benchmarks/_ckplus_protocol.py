"""Pipelines and per-run protocol of the CK+ benchmark (see ``ckplus.py``).

One *run* is one (emotion, L, model, seed) cell of the paper's Tables 6-7 (or
an SVM baseline row): the pipelines (aligner, IG or shoot-out selector, T-EMO,
R-EMO, SVMs), the subject-grouped outer split, and the fit and test of each
model on the selected landmarks. The runs are stored by ``_ckplus_store``.
"""

from __future__ import annotations

import time

import numpy as np
from _ckplus_config import ATTRIBUTION_SELECTORS, GRID_KEYS, SELECTORS, BenchmarkInputError, Config
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from igselect._validation import binarize_target
from igselect.evaluation import BinarizedClassifier, FlattenLandmarks, binary_metrics


def _aligner():
    from igselect.landmarks import LandmarkAligner

    return LandmarkAligner()


def _motion():
    from igselect.landmarks import OnsetDisplacement

    return OnsetDisplacement()


def model_features(cfg: Config, Xs_tr, Xs_te):
    """The selected, aligned landmarks as the classifiers see them (``cfg.features``)."""
    if cfg.features == "coordinates":
        return Xs_tr, Xs_te
    motion = _motion().fit(Xs_tr)
    return motion.transform(Xs_tr), motion.transform(Xs_te)


def _train_kwargs(cfg: Config) -> dict:
    return dict(
        learning_rate=cfg.learning_rate,
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        patience=cfg.patience,
        validation_fraction=cfg.validation_fraction,
        dropout=cfg.dropout,
        class_weight=cfg.class_weight,
    )


def make_selector(cfg: Config, emotion, n_landmarks: int, memory, seed: int):
    """GlobalIGSelector over a full-landmark T-EMO (the same one for T-EMO, R-EMO, SVMs)."""
    from igselect.classifier import EmoClassifier
    from igselect.selector import GlobalIGSelector

    net = {GRID_KEYS[k]: v for k, v in cfg.selector_net.items()}
    est = EmoClassifier(positive_class=emotion, random_state=seed, **net, **_train_kwargs(cfg))
    return GlobalIGSelector(
        est,
        n_landmarks=n_landmarks,
        positive_class=emotion,
        n_steps=cfg.n_steps,
        baselines=cfg.baselines,
        batch_size=cfg.ig_batch_size,
        memory=memory,
        random_state=seed,
    )


def make_emo_pipeline(cfg, emotion, n_landmarks, memory, seed, *, randomized=False, params=None):
    """Aligner -> IG selector [-> onset displacement] -> EmoClassifier (T-EMO, or R-EMO)."""
    steps = [
        ("align", _aligner()),
        ("select", make_selector(cfg, emotion, n_landmarks, memory, seed)),
    ]
    if cfg.features == "motion":
        steps.append(("motion", _motion()))
    steps.append(("clf", _emo(cfg, emotion, seed, randomized=randomized, params=params)))
    return Pipeline(steps)


def make_ranker(cfg: Config, name: str, emotion, n_landmarks: int, memory, seed: int):
    """Aligner -> one shoot-out selector (``name`` of ``SELECTORS``), ranking all landmarks."""
    from igselect import rankers

    if name == "IG":
        sel = make_selector(cfg, emotion, n_landmarks, memory, seed)
    elif name in ATTRIBUTION_SELECTORS:
        from igselect.selector import GlobalAttributionSelector

        ig = make_selector(cfg, emotion, n_landmarks, memory, seed)
        baselines = cfg.baselines
        if name == "GradientSHAP" and baselines == "onset":
            # GradientSHAP draws from a baseline distribution; "onset" gives one per
            # input, so it gets the other emotions' typical samples (the paper's IG choice).
            baselines = "typical"
        sel = GlobalAttributionSelector(
            ig.estimator,
            attribution=ATTRIBUTION_SELECTORS[name],
            n_landmarks=n_landmarks,
            positive_class=emotion,
            baselines=baselines,
            n_steps=cfg.n_steps,
            batch_size=cfg.ig_batch_size,
            memory=memory,
            random_state=seed,
        )
    elif name == "F-test":
        sel = rankers.FTestLandmarkSelector(n_landmarks, positive_class=emotion)
    elif name == "motion":
        sel = rankers.MotionLandmarkSelector(n_landmarks, positive_class=emotion)
    elif name == "SVM-weights":
        sel = rankers.LinearSVMLandmarkSelector(
            n_landmarks, positive_class=emotion, C=cfg.shootout_svm_C, random_state=seed
        )
    elif name == "random":
        sel = rankers.RandomLandmarkSelector(n_landmarks, random_state=seed)
    else:
        raise BenchmarkInputError(
            f"unknown selector {name!r}; choose from {', '.join(SELECTORS)}. Received: {name!r}"
        )
    return Pipeline([("align", _aligner()), ("select", sel)])


def make_shootout_classifier(cfg: Config, name: str, emotion, seed: int):
    """The shoot-out's downstream classifiers: a fixed-C linear SVM, or T-EMO (grid's first F, Q, R)."""
    if name == "T-EMO":
        return _emo(cfg, emotion, seed)
    svm = LinearSVC(C=cfg.shootout_svm_C, dual="auto", max_iter=5000, class_weight=cfg.class_weight)
    return Pipeline(
        [
            ("flatten", FlattenLandmarks()),
            ("scale", StandardScaler()),
            ("svm", BinarizedClassifier(svm, positive_class=emotion)),
        ]
    )


def outer_split(groups, test_size: float, seed: int):
    """Subject-grouped train/test indices for one seed (shared by all emotions)."""
    gss = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    return next(gss.split(np.zeros(len(groups)), groups=groups))


# ----------------------------------------------------------------------------- the runs
def fit_selection(cfg, emotion, X_tr, y_tr, memory, seed, n_total):
    """Fit aligner + selector on the training split; returns the fitted pipeline and times."""
    pipe = Pipeline(
        [("align", _aligner()), ("select", make_selector(cfg, emotion, n_total, memory, seed))]
    )
    start = time.perf_counter()
    pipe.fit(X_tr, y_tr)
    total = time.perf_counter() - start
    sel = pipe.named_steps["select"]
    net_time = float(getattr(sel.estimator_, "fit_time_", np.nan))
    # A joblib.Memory hit returns in well under the recorded training time.
    cached = total < net_time
    return pipe, {
        "selector_time_s": np.nan if cached else total,
        "selector_net_fit_s": net_time,
        "ig_time_s": np.nan if cached else max(total - net_time, 0.0),
        "selector_epochs": int(getattr(sel.estimator_, "n_iter_", 0)),
        "relative_delta": float(getattr(sel, "relative_delta_", np.nan)),
    }


def _inner_cv(cfg, groups):
    n = min(cfg.inner_folds, len(np.unique(groups)))
    return GroupKFold(n_splits=max(n, 2))


def _emo(cfg, emotion, seed, randomized=False, params=None):
    from igselect.classifier import EmoClassifier

    net = {GRID_KEYS[k]: v[0] for k, v in cfg.grid.items()}
    net.update({GRID_KEYS[k]: v for k, v in (params or {}).items()})
    return EmoClassifier(
        positive_class=emotion,
        randomized=randomized,
        random_state=seed,
        **net,
        **_train_kwargs(cfg),
    )


def _clf_record(clf, X_te, y_te, emotion) -> dict:
    proba = clf.predict_proba(X_te)[:, 1]
    y01 = binarize_target(y_te, emotion)
    epochs = int(getattr(clf, "n_iter_", 0))
    times = np.asarray(clf.epoch_times_, dtype=float)
    return {
        **binary_metrics(y01, proba >= 0.5, proba),
        "fit_time_s": float(clf.fit_time_),
        "epochs": epochs,
        # Compute time per epoch: the median epoch after the first (the first one may
        # include tracing and optimising the compiled epoch function).
        "epoch_time_s": float(np.median(times[1:] if times.size > 1 else times)),
        "first_epoch_s": float(times[0]),
        "F": int(clf.n_filters),
        "Q": int(clf.lstm_units),
        "R": int(clf.dense_units),
        "proba": proba,
    }


def grid_size(cfg: Config) -> int:
    """Candidates of T-EMO's F, Q, R grid (1: no search, the single network is fitted)."""
    return int(np.prod([len(v) for v in cfg.grid.values()]))


def run_temo(cfg, emotion, Xs_tr, y_tr, g_tr, Xs_te, y_te, seed) -> dict:
    """Grid-search F, Q, R on the training split (GroupKFold), refit, test.

    ``Xs_*`` are the aligned landmarks already cut to the top L of the selector
    fitted on the whole training split: the inner folds reuse that selection.
    """
    grid = {GRID_KEYS[k]: list(v) for k, v in cfg.grid.items()}
    n_cand = grid_size(cfg)
    start = time.perf_counter()
    clf = _emo(cfg, emotion, seed)
    if n_cand > 1:
        search = GridSearchCV(clf, grid, cv=_inner_cv(cfg, g_tr), error_score="raise")
        search.fit(Xs_tr, y_tr, groups=g_tr)
        clf, cv_score = search.best_estimator_, float(search.best_score_)
    else:
        clf.fit(Xs_tr, y_tr)
        cv_score = np.nan
    rec = _clf_record(clf, Xs_te, y_te, emotion)
    rec.update(grid_time_s=time.perf_counter() - start, cv_accuracy=cv_score, n_candidates=n_cand)
    return rec


def run_remo(cfg, emotion, Xs_tr, y_tr, Xs_te, y_te, seed, params) -> dict:
    """R-EMO with T-EMO's chosen F, Q, R (the paper grid-searched T-EMO only)."""
    start = time.perf_counter()
    clf = _emo(cfg, emotion, seed, randomized=True, params=params).fit(Xs_tr, y_tr)
    rec = _clf_record(clf, Xs_te, y_te, emotion)
    rec.update(grid_time_s=time.perf_counter() - start)
    return rec


def run_svm(cfg, kind, emotion, Xs_tr, y_tr, g_tr, Xs_te, y_te) -> dict:
    """Linear / RBF SVM on the same aligned, selected landmarks; C by inner GroupKFold."""
    svm = (
        LinearSVC(dual="auto", max_iter=5000, class_weight=cfg.class_weight)
        if kind == "linear"
        else SVC(kernel="rbf", class_weight=cfg.class_weight)
    )
    pipe = Pipeline(
        [
            ("flatten", FlattenLandmarks()),
            ("scale", StandardScaler()),
            ("svm", BinarizedClassifier(svm, positive_class=emotion)),
        ]
    )
    start = time.perf_counter()
    grid = {"svm__estimator__C": list(cfg.svm_C)}
    n_features = int(np.prod(np.shape(Xs_tr)[1:]))
    if kind == "rbf":  # "scale" is 1 / (n_features * X.var()), and X.var() = 1 here
        grid["svm__estimator__gamma"] = [g / n_features for g in cfg.svm_gamma]
    search = GridSearchCV(pipe, grid, cv=_inner_cv(cfg, g_tr), error_score="raise")
    search.fit(Xs_tr, y_tr, groups=g_tr)
    best = search.best_params_
    y01 = binarize_target(y_te, emotion)
    return {
        **binary_metrics(y01, search.predict(Xs_te), search.decision_function(Xs_te)),
        "fit_time_s": time.perf_counter() - start,
        "C": float(best["svm__estimator__C"]),
        "gamma_scale": float(best.get("svm__estimator__gamma", np.nan) * n_features),
        "cv_accuracy": float(search.best_score_),
        "n_candidates": int(np.prod([len(v) for v in grid.values()])),
    }


def timing_probe(cfg: Config, n_landmarks: int, seed: int = 0) -> list[dict]:
    """Training time per epoch of T-EMO and R-EMO on one fixed synthetic batch, at each L.

    Random landmarks and labels (timing only; nothing is learned), ``cfg.timing_probe``
    samples and frames, the ``selector_net`` size and the benchmark's batch size.
    Every configuration is fitted twice, in turn, and each fit's epochs after the
    first are timed; the median of those is its time per epoch. Both the
    R-EMO / T-EMO and the L ratios therefore come from the same process and the
    same minutes, which matters on a shared machine.
    """
    from igselect.classifier import EmoClassifier

    probe = cfg.timing_probe
    n, frames = int(probe["n_samples"]), int(probe["n_frames"])
    rng = np.random.default_rng(seed)
    X = (0.5 + 0.1 * rng.standard_normal((n, frames, 2, n_landmarks))).astype(np.float32)
    y = np.arange(n) % 2
    net = {GRID_KEYS[k]: v for k, v in cfg.selector_net.items()}
    configs = [
        (model, int(L))
        for L in sorted({min(L, n_landmarks) for L in cfg.landmark_counts}, reverse=True)
        for model in ("T-EMO", "R-EMO")
    ]
    times = {c: [] for c in configs}
    first = {}
    for _ in range(2):
        for model, L in configs:
            clf = EmoClassifier(
                randomized=model == "R-EMO",
                epochs=max(int(probe["epochs"]), 2),
                validation_fraction=0.0,
                learning_rate=cfg.learning_rate,
                batch_size=cfg.batch_size,
                dropout=cfg.dropout,
                random_state=seed,
                **net,
            ).fit(X[..., :L], y)
            first.setdefault((model, L), float(clf.epoch_times_[0]))
            times[model, L].extend(clf.epoch_times_[1:].tolist())
    return [
        {
            "model": model,
            "L": L,
            "n_samples": n,
            "n_frames": frames,
            "batch_size": int(cfg.batch_size),
            **{k: int(v) for k, v in net.items()},
            "epoch_time_s": float(np.median(times[model, L])),
            "n_epochs_timed": len(times[model, L]),
            "first_epoch_s": first[model, L],
        }
        for model, L in configs
    ]
