"""Evaluate landmark selections: ranking metrics, chance levels and the per-L protocol.

The protocol of Di Luzio et al. (2024), generalised to any selector: fit a
selector once per cross-validation split, then for every landmark count L
keep its top L landmarks and fit every downstream classifier on them
(:func:`evaluate_selection`). The ranking metrics compare selections with a
ground truth (:func:`precision_at_k`) or with each other across splits and
seeds (:func:`selection_stability`); :func:`beats_majority` says whether an
accuracy is above the majority-class rate of an imbalanced one-vs-rest task.
:class:`FlattenLandmarks` and :class:`BinarizedClassifier` put scikit-learn
classifiers (e.g. an SVM) behind a landmark selector.
"""

from __future__ import annotations

import hashlib
import time
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline

from ._evaluation_estimators import BinarizedClassifier, FlattenLandmarks
from ._evaluation_metrics import (
    beats_majority,
    binary_metrics,
    mean_se,
    precision_at_k,
    selection_stability,
)
from ._validation import (
    HasMethods,
    StrOptions,
    binarize_target,
    check_landmark_array,
    check_landmark_target,
    validate_params,
)

__all__ = [
    "BinarizedClassifier",
    "FlattenLandmarks",
    "beats_majority",
    "binary_metrics",
    "evaluate_selection",
    "mean_se",
    "precision_at_k",
    "selection_stability",
]


# ----------------------------------------------------------------------------- the protocol
def _final_step(selector):
    return selector.steps[-1][1] if isinstance(selector, Pipeline) else selector


def _features(features):
    if isinstance(features, str):
        if features == "coordinates":
            return None
        from .landmarks import OnsetDisplacement

        return OnsetDisplacement()
    return clone(features)


def _scores(clf, X):
    """Positive-class scores for ROC AUC (decision function, probability, or labels)."""
    if hasattr(clf, "decision_function"):
        s = np.asarray(clf.decision_function(X))
        return s if s.ndim == 1 else s[:, -1]
    if hasattr(clf, "predict_proba"):
        return np.asarray(clf.predict_proba(X))[:, 1]
    return (clf.predict(X) == clf.classes_[1]).astype(float)


def _metrics(clf, X_te, y01) -> dict:
    pred = np.asarray(clf.predict(X_te) == clf.classes_[1])
    return binary_metrics(y01, pred, _scores(clf, X_te))


def _select(X, y, train, test, selector, counts, features) -> dict:
    """Fit one selector on the training part; its ranking and its inputs at every L."""
    sel = clone(selector)
    _final_step(sel).set_params(n_landmarks=max(counts))  # fit validates it against L
    start = time.perf_counter()
    sel.fit(X[train], y[train])
    rank_time = time.perf_counter() - start
    final = _final_step(sel)
    inputs = {}
    for L in counts:
        final.set_params(n_landmarks=int(L))
        Xs_tr, Xs_te = sel.transform(X[train]), sel.transform(X[test])
        feat = _features(features)
        if feat is not None:
            Xs_tr, Xs_te = feat.fit_transform(Xs_tr), feat.transform(Xs_te)
        inputs[int(L)] = (Xs_tr, Xs_te)
    return {"ranking": np.asarray(final.ranking_), "rank_time_s": rank_time, "inputs": inputs}


def _fit_classifiers(clf, X_trains, y_train) -> tuple[list, list]:
    """One fitted clone of ``clf`` per distinct training input, and each one's fit time.

    Selectors that keep the same landmarks give the same input, which is
    fitted once. EMO networks of one configuration are trained side by side
    (:func:`~igselect._stacked_fit.fit_emo_stack`); any other classifier is
    fitted on its own.
    """
    from ._stacked_fit import _stackable, fit_emo_stack

    keys = [hashlib.sha1(np.ascontiguousarray(Xt).view(np.uint8)).hexdigest() for Xt in X_trains]
    unique = list(dict.fromkeys(keys))
    inputs = [X_trains[keys.index(k)] for k in unique]
    estimators = [clone(clf) for _ in unique]
    if _stackable(estimators, inputs):
        start = time.perf_counter()
        fitted = fit_emo_stack(estimators, inputs, y_train)
        times = [(time.perf_counter() - start) / len(unique)] * len(unique)
    else:
        fitted, times = [], []
        for est, Xt in zip(estimators, inputs, strict=True):
            start = time.perf_counter()
            fitted.append(est.fit(Xt, y_train))
            times.append(time.perf_counter() - start)
    by_key = dict(zip(unique, zip(fitted, times, strict=True), strict=True))
    return [by_key[k][0] for k in keys], [by_key[k][1] for k in keys]


def _evaluate_split(X, y, y01, split, train, test, selections, classifiers, counts) -> list:
    """Every classifier at each of its L values on one split's selections.

    ``counts`` is ``(all L values, {classifier name: its L values})``.
    """
    records = []
    counts, per_classifier = counts
    for L in counts:
        names = list(selections)
        for cname, clf in classifiers.items():
            if L not in per_classifier[cname]:
                continue
            X_trains = [selections[name]["inputs"][L][0] for name in names]
            fitted, times = _fit_classifiers(clf, X_trains, y[train])
            for name, model, fit_time in zip(names, fitted, times, strict=True):
                sel = selections[name]
                records.append(
                    {
                        "split": int(split),
                        "selector": name,
                        "L": int(L),
                        "classifier": cname,
                        **_metrics(model, sel["inputs"][L][1], y01[test]),
                        "n_train": int(len(train)),
                        "fit_time_s": fit_time,
                        "rank_time_s": sel["rank_time_s"],
                        "ranking": sel["ranking"],
                    }
                )
    return records


@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "groups": ["array-like", None],
        "selectors": [dict],
        "classifiers": [dict],
        "landmark_counts": ["array-like"],
        "cv": ["cv_object"],
        "positive_class": "no_validation",
        "features": [StrOptions({"coordinates", "motion"}), HasMethods(["fit", "transform"])],
        "classifier_counts": [dict, None],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def evaluate_selection(
    X,
    y,
    groups=None,
    *,
    selectors: dict,
    classifiers: dict,
    landmark_counts,
    cv,
    positive_class=None,
    features="coordinates",
    classifier_counts: dict | None = None,
    n_jobs: int | None = None,
) -> list[dict]:
    """Cross-validate landmark selectors by the accuracy of classifiers on their top L.

    For every split of ``cv`` and every selector, the selector is fitted once
    on the training part (multi-class ``y``); then, for every L of
    ``landmark_counts``, its ``n_landmarks`` is set to L (no refit), the top L
    landmarks of both parts are kept, optionally turned into ``features``, and
    every classifier is fitted on the training part and scored on the test
    part against ``y == positive_class``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_frames, 2, n_landmarks)
        Landmark sequences.
    y : array-like of shape (n_samples,)
        Labels (multi-class with ``positive_class``, or binary).
    groups : array-like of shape (n_samples,), default=None
        Group labels (subjects) for grouped splitters such as ``GroupKFold``.
    selectors : dict of str -> estimator
        Landmark selectors (``n_landmarks`` parameter, ``ranking_`` attribute,
        e.g. :class:`~igselect.GlobalIGSelector` or :mod:`igselect.rankers`),
        or Pipelines ending in one (e.g. an aligner, then the selector). Cloned.
    classifiers : dict of str -> classifier
        Binary classifiers of the selected landmarks; ``classes_[1]`` must be the
        positive class (e.g. ``EmoClassifier(positive_class=...)``, or a
        Pipeline of :class:`FlattenLandmarks` and :class:`BinarizedClassifier`).
    landmark_counts : array-like of int
        The L values, each in ``[1, n_landmarks]``.
    cv : int, cross-validation generator or iterable of (train, test)
        Splitting strategy, as in :func:`~sklearn.model_selection.cross_validate`.
    positive_class : label, default=None
        The class the metrics score; ``None`` needs binary ``y`` (larger label).
    features : {"coordinates", "motion"} or transformer, default="coordinates"
        What the classifiers see of the kept landmarks: their coordinates,
        their motion from the onset frame
        (:class:`~igselect.landmarks.OnsetDisplacement`), or the output of a
        transformer fitted on the training part.
    classifier_counts : dict of str -> array-like of int, default=None
        The L values at which to fit a classifier, for the classifiers that
        should skip some of ``landmark_counts`` (for example an expensive
        network at the largest L); each must be among ``landmark_counts``.
        Classifiers not named are fitted at every L.
    n_jobs : int, default=None
        Parallel (split, selector) pairs for the selectors, then parallel
        splits for the classifiers, through :mod:`joblib` (``-1``: all CPUs;
        inside ``joblib.parallel_config(backend="dask")``, a Dask cluster).

    Returns
    -------
    records : list of dict
        One per (split, selector, L, classifier): ``split``, ``selector``, ``L``,
        ``classifier``, ``accuracy``, ``balanced_accuracy``, ``roc_auc`` (NaN when
        the test part holds one class), ``majority_rate`` (of the test part),
        ``n_test``, ``n_test_positive``, ``n_train``, ``fit_time_s`` (the
        classifier's fit; see the notes), ``rank_time_s`` (the selector's fit)
        and ``ranking``.

    Notes
    -----
    Selectors that keep the same landmarks (all of them at the largest L)
    give a classifier the same input; it is fitted once and its record is
    repeated. :class:`~igselect.EmoClassifier` networks of one configuration
    with no validation split are trained side by side, one network per
    selector, in one compiled loop with stacked weights: each network ends as
    its own ``fit`` would leave it (the same initial weights, mini-batch order,
    dropout masks and Adam updates, up to floating-point rounding), at a
    fraction of the time. ``fit_time_s`` is then the shared fit's time divided
    by the number of networks in it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from igselect.datasets import make_landmark_sequences
    >>> from igselect.evaluation import BinarizedClassifier, FlattenLandmarks, evaluate_selection
    >>> from igselect.rankers import FTestLandmarkSelector, RandomLandmarkSelector
    >>> ds = make_landmark_sequences(n_samples=40, n_landmarks=16, random_state=0)
    >>> clf = make_pipeline(FlattenLandmarks(), BinarizedClassifier(LogisticRegression(),
    ...                     positive_class="class_0"))
    >>> recs = evaluate_selection(ds.data, ds.target, selectors={
    ...     "F-test": FTestLandmarkSelector(positive_class="class_0"),
    ...     "random": RandomLandmarkSelector(random_state=0)},
    ...     classifiers={"logistic": clf}, landmark_counts=[16, 2], cv=2,
    ...     positive_class="class_0")
    >>> len(recs), sorted(recs[0])[:3]
    (8, ['L', 'accuracy', 'balanced_accuracy'])
    """
    X = check_landmark_array(X)
    y = check_landmark_target(y, X.shape[0])
    counts = [int(v) for v in np.ravel(landmark_counts)]
    if not counts or min(counts) < 1 or max(counts) > X.shape[3]:
        raise ValueError(
            f"landmark_counts must be ints in [1, {X.shape[3]}] (the landmarks in X). "
            f"Received: landmark_counts={list(np.ravel(landmark_counts))!r}"
        )
    if not selectors or not classifiers:
        raise ValueError(
            "selectors and classifiers must each name at least one estimator. "
            f"Received: {len(selectors)} selector(s), {len(classifiers)} classifier(s)"
        )
    per_classifier = {name: counts for name in classifiers}
    for name, values in (classifier_counts or {}).items():
        wanted = [int(v) for v in np.ravel(values)]
        if name not in classifiers or not set(wanted) <= set(counts):
            raise ValueError(
                "classifier_counts must map names of classifiers to some of landmark_counts "
                f"{counts!r}. Received: classifier_counts={classifier_counts!r}"
            )
        per_classifier[name] = wanted
    y01 = binarize_target(y, positive_class)
    splits = list(check_cv(cv, y, classifier=True).split(X, y, groups))
    pairs = [(i, name) for i in range(len(splits)) for name in selectors]
    fitted = Parallel(n_jobs=n_jobs)(
        delayed(_select)(X, y, *splits[i], selectors[name], counts, features) for i, name in pairs
    )
    selections = [{} for _ in splits]
    for (i, name), sel in zip(pairs, fitted, strict=True):
        selections[i][name] = sel
    parts = Parallel(n_jobs=n_jobs)(
        delayed(_evaluate_split)(
            X, y, y01, i, tr, te, selections[i], classifiers, (counts, per_classifier)
        )
        for i, (tr, te) in enumerate(splits)
    )
    order = {name: k for k, name in enumerate(selectors)}
    records = [rec for part in parts for rec in part]
    return sorted(records, key=lambda r: (r["split"], order[r["selector"]]))
