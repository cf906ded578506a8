"""Pipelines and per-run protocol of the CK+ benchmark (see ``ckplus.py``).

One *run* is one (emotion, L, model, seed) cell of the paper's Tables 6-7 (or
an SVM baseline row). Every run is stored as one JSON file in ``<out>/runs/``,
written atomically, so an interrupted benchmark continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from igselect._validation import binarize_target
from igselect.evaluation import BinarizedClassifier, FlattenLandmarks, binary_metrics

MODELS = ("T-EMO", "R-EMO", "SVM-linear", "SVM-rbf")


class BenchmarkInputError(Exception):
    """Bad input data or options; ``main`` prints it and returns exit status 2."""


GRID_KEYS = {"F": "n_filters", "Q": "lstm_units", "R": "dense_units"}


@dataclass
class Config:
    """Every knob of one benchmark mode (``--tiny``, ``--quick``, ``--full``)."""

    mode: str
    landmark_counts: tuple[int, ...]
    seeds: int
    n_subjects: int  # built-in data only
    n_frames: int  # built-in data and CK+
    epochs: int
    patience: int
    learning_rate: float
    batch_size: int
    grid: dict = field(default_factory=dict)  # {"F": [...], "Q": [...], "R": [...]}
    selector_net: dict = field(default_factory=dict)  # F, Q, R of the full-landmark T-EMO
    svm_C: tuple[float, ...] = (0.1, 1.0, 10.0)
    inner_folds: int = 3
    test_size: float = 0.15
    n_steps: int = 32
    ig_batch_size: int | None = 512
    # IG baselines of the selector: "onset" (each sequence's own frame 0 repeated, for
    # onset-to-apex sequences: CK+ and the built-in data) or the paper's "typical".
    baselines: str = "onset"
    # What the classifiers (T-EMO, R-EMO, SVMs) see after selection: "motion", each kept
    # landmark's displacement from the sequence's onset frame (OnsetDisplacement), or
    # "coordinates", the aligned positions themselves (the paper's input). The selector's
    # network always sees aligned coordinates, as in the paper.
    features: str = "motion"
    ensemble_landmarks: int = 64
    ensemble_seeds: int = 1  # the 6-class ensemble is fitted for the first seeds only
    dropout: float = 0.2
    # Share of each net's training data held out for early stopping (the paper's 10%).
    # 0 trains for exactly ``epochs`` epochs: on a few dozen subjects the held-out
    # part is a handful of samples and early stopping follows its noise.
    validation_fraction: float = 0.1
    # One-vs-rest sets are imbalanced (1 positive emotion : 5 others, as the paper
    # notes); unweighted nets on small data then sit at the majority rate.
    class_weight: str | None = "balanced"
    # RBF SVM: gamma grid as multiples of sklearn's "scale" (1 / n_features on
    # standardised features), searched jointly with C.
    svm_gamma: tuple[float, ...] = (1.0,)
    # Timing probe: T-EMO and R-EMO epochs on one fixed synthetic batch at each L
    # (net size of ``selector_net``), where compute, not per-call overhead, dominates.
    timing_probe: dict = field(
        default_factory=lambda: {"n_samples": 256, "n_frames": 16, "epochs": 4}
    )
    # The selector shoot-out: every selector ranks once per (emotion, seed) on the
    # training split; each classifier is fitted on its top L for every L below.
    shootout_counts: tuple[int, ...] = (468, 64, 16, 8, 4, 2)
    shootout_selectors: tuple[str, ...] = ()
    shootout_classifiers: tuple[str, ...] = ("SVM-linear",)
    shootout_svm_C: float = 0.1

    def key(self, source: str) -> str:
        """Hash of the settings a run depends on, and of the data source.

        Cached runs are reused only on a match. The number of seeds, the list of
        L values and the ensemble seeds are left out: each run is stored per
        (emotion, L, model, seed), so adding seeds or L values reuses the others.
        """
        settings = asdict(self)
        for name in (
            "mode",
            "seeds",
            "landmark_counts",
            "ensemble_seeds",
            "shootout_counts",
            "shootout_selectors",
            "shootout_classifiers",
        ):
            settings.pop(name)
        blob = json.dumps({"config": settings, "source": source}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]


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


#: Attribution selectors of the shoot-out (name -> GlobalAttributionSelector's attribution);
#: all share the full-landmark network of the (emotion, seed) through the joblib cache.
ATTRIBUTION_SELECTORS = {
    "IG": "integrated_gradients",
    "GradientSHAP": "gradient_shap",
    "Grad-CAM": "grad_cam",
    "occlusion": "occlusion",
    "saliency": "saliency",
    "InputXGradient": "input_x_gradient",
}
#: Cheap rankings of the shoot-out (igselect.rankers): no network.
CHEAP_SELECTORS = ("F-test", "motion", "SVM-weights", "random")
SELECTORS = (*ATTRIBUTION_SELECTORS, *CHEAP_SELECTORS)
SHOOTOUT_CLASSIFIERS = ("SVM-linear", "T-EMO")


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


# ----------------------------------------------------------------------------- run store
class RunStore:
    """One JSON per run in ``<out>/runs``; only runs with the current config key count."""

    def __init__(self, out: Path, key: str):
        self.dir = Path(out) / "runs"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.reused = 0

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def get(self, name: str):
        p = self.path(name)
        if not p.is_file():
            return None
        try:
            rec = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return rec if rec.get("config_key") == self.key else None

    def put(self, name: str, record: dict) -> dict:
        record = {**record, "config_key": self.key}
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, default=_jsonable)
        os.replace(tmp, self.path(name))  # atomic: a killed run leaves no half file
        return record

    def all(self, prefix: str) -> list[dict]:
        out = []
        for p in sorted(self.dir.glob(f"{prefix}*.json")):
            rec = self.get(p.stem)
            if rec is not None:
                out.append(rec)
        return out


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def run_name(emotion, n_landmarks, model, seed) -> str:
    return f"run_{emotion}_L{n_landmarks}_{model}_s{seed}"


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


def run_temo(cfg, emotion, Xs_tr, y_tr, g_tr, Xs_te, y_te, seed) -> dict:
    """Grid-search F, Q, R on the training split (GroupKFold), refit, test.

    ``Xs_*`` are the aligned landmarks already cut to the top L of the selector
    fitted on the whole training split: the inner folds reuse that selection.
    """
    grid = {GRID_KEYS[k]: list(v) for k, v in cfg.grid.items()}
    n_cand = int(np.prod([len(v) for v in grid.values()])) if grid else 1
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
