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


def _evaluate_one(X, y01, y, split, train, test, name, selector, classifiers, counts, features):
    sel = clone(selector)
    _final_step(sel).set_params(n_landmarks=max(counts))  # fit validates it against L
    start = time.perf_counter()
    sel.fit(X[train], y[train])
    rank_time = time.perf_counter() - start
    final = _final_step(sel)
    ranking = np.asarray(final.ranking_)
    records = []
    for L in counts:
        final.set_params(n_landmarks=int(L))
        Xs_tr, Xs_te = sel.transform(X[train]), sel.transform(X[test])
        feat = _features(features)
        if feat is not None:
            Xs_tr, Xs_te = feat.fit_transform(Xs_tr), feat.transform(Xs_te)
        for cname, clf in classifiers.items():
            start = time.perf_counter()
            fitted = clone(clf).fit(Xs_tr, y[train])
            fit_time = time.perf_counter() - start
            records.append(
                {
                    "split": int(split),
                    "selector": name,
                    "L": int(L),
                    "classifier": cname,
                    **_metrics(fitted, Xs_te, y01[test]),
                    "n_train": int(len(train)),
                    "fit_time_s": fit_time,
                    "rank_time_s": rank_time,
                    "ranking": ranking,
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
    n_jobs : int, default=None
        Parallel (split, selector) pairs, through :mod:`joblib` (``-1``: all CPUs;
        inside ``joblib.parallel_config(backend="dask")``, a Dask cluster).

    Returns
    -------
    records : list of dict
        One per (split, selector, L, classifier): ``split``, ``selector``, ``L``,
        ``classifier``, ``accuracy``, ``balanced_accuracy``, ``roc_auc`` (NaN when
        the test part holds one class), ``majority_rate`` (of the test part),
        ``n_test``, ``n_test_positive``, ``n_train``, ``fit_time_s`` (the
        classifier's), ``rank_time_s`` (the selector's fit) and ``ranking``.

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
    y01 = binarize_target(y, positive_class)
    splits = list(check_cv(cv, y, classifier=True).split(X, y, groups))
    jobs = (
        delayed(_evaluate_one)(X, y01, y, i, tr, te, name, sel, classifiers, counts, features)
        for i, (tr, te) in enumerate(splits)
        for name, sel in selectors.items()
    )
    return [rec for part in Parallel(n_jobs=n_jobs)(jobs) for rec in part]
