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
from itertools import combinations
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params

from ._evaluation_estimators import BinarizedClassifier, FlattenLandmarks
from ._validation import binarize_target, check_landmark_array, check_landmark_target

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


# ----------------------------------------------------------------------------- ranking metrics
@validate_params(
    {
        "ranking": ["array-like"],
        "relevant": ["array-like"],
        "k": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def precision_at_k(ranking, relevant, k: int) -> float:
    """Share of the top-``k`` ranked landmarks that are relevant.

    Parameters
    ----------
    ranking : array-like of shape (n_landmarks,)
        Landmark indices, best first (e.g. a selector's ``ranking_``).
    relevant : array-like of int
        The ground-truth relevant landmark indices.
    k : int
        How many of the best landmarks to check (``1 <= k <= len(ranking)``).

    Returns
    -------
    precision : float
        ``|top k ∩ relevant| / k``.

    Examples
    --------
    >>> from igselect.evaluation import precision_at_k
    >>> precision_at_k([3, 1, 0, 2], relevant=[1, 2], k=2)
    0.5
    """
    ranking = np.asarray(ranking).ravel()
    if k > ranking.size:
        raise ValueError(
            f"k must be at most the length of ranking ({ranking.size}). Received: k={k}"
        )
    return float(np.isin(ranking[:k], np.asarray(relevant).ravel()).mean())


@validate_params(
    {
        "rankings": ["array-like"],
        "k": [Interval(Integral, 1, None, closed="left")],
        "n_landmarks": [Interval(Integral, 2, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def selection_stability(rankings, k: int, *, n_landmarks: int | None = None) -> Bunch:
    """Stability of the top-``k`` selection over folds or seeds.

    Averages, over all pairs of rankings, Kuncheva's consistency index (1999)
    and the Jaccard index of their top-``k`` sets. For two sets of size ``k``
    out of ``n`` landmarks sharing ``r``, Kuncheva's index is
    ``(r n - k^2) / (k (n - k))``: 1 for identical sets, about 0 for
    independent random ones (it corrects the overlap for chance, which the
    Jaccard index ``r / (2k - r)`` does not).

    Parameters
    ----------
    rankings : array-like of shape (n_rankings, n_landmarks)
        One ranking (landmark indices, best first) per fold or seed; at least 2.
    k : int
        Size of the compared selections, ``1 <= k < n_landmarks``.
    n_landmarks : int, default=None
        Total number of landmarks ``n``; default the length of the rankings.

    Returns
    -------
    stability : :class:`~sklearn.utils.Bunch`
        ``kuncheva`` and ``jaccard`` (means over pairs) and ``n_pairs``.

    Examples
    --------
    >>> from igselect.evaluation import selection_stability
    >>> s = selection_stability([[0, 1, 2, 3], [0, 2, 1, 3]], k=2)
    >>> round(s.kuncheva, 3), round(s.jaccard, 3)
    (0.0, 0.333)
    """
    tops = [np.asarray(r).ravel()[:k] for r in rankings]
    n = int(n_landmarks) if n_landmarks is not None else min(np.asarray(r).size for r in rankings)
    if len(tops) < 2:
        raise ValueError(
            f"rankings must hold at least 2 rankings. Received: {len(tops)} ranking(s)"
        )
    if not k < n:
        raise ValueError(f"k must be smaller than the number of landmarks ({n}). Received: k={k}")
    kun, jac = [], []
    for a, b in combinations(tops, 2):
        r = np.intersect1d(a, b).size
        kun.append((r * n - k * k) / (k * (n - k)))
        jac.append(r / (2 * k - r))
    return Bunch(kuncheva=float(np.mean(kun)), jaccard=float(np.mean(jac)), n_pairs=len(kun))


# ----------------------------------------------------------------------------- chance levels
def mean_se(values) -> tuple[float, float]:
    """Mean and standard error (``std(ddof=1) / sqrt(n)``; NaN for one value) of finite values.

    Examples
    --------
    >>> from igselect.evaluation import mean_se
    >>> mean_se([1.0, 2.0, 3.0])
    (2.0, 0.5773502691896258)
    """
    v = np.asarray([x for x in np.ravel(values) if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    se = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
    return float(v.mean()), se


@validate_params(
    {
        "accuracy": ["array-like"],
        "majority_rate": ["array-like"],
        "n_test": ["array-like"],
        "n_se": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def beats_majority(accuracy, majority_rate, n_test, *, n_se: float = 2.0) -> Bunch:
    """Does an accuracy beat always answering the majority class, by ``n_se`` standard errors?

    ``accuracy``, ``majority_rate`` and ``n_test`` hold one value per split
    (seed or fold). The margin is the mean of ``accuracy - majority_rate``;
    its standard error is the larger of the splits' standard error of that
    difference and the binomial one of the pooled test decisions,
    ``sqrt(p (1 - p) / sum(n_test))`` (so that a few identical splits do not
    claim zero noise).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``margin``, ``se`` and ``beats`` (``margin > n_se * se``).

    Examples
    --------
    >>> from igselect.evaluation import beats_majority
    >>> beats_majority([0.84, 0.83], [0.83, 0.83], [30, 30]).beats
    False
    >>> bool(beats_majority([1.0, 0.97], [0.83, 0.83], [30, 30]).beats)
    True
    """
    acc = np.asarray(accuracy, dtype=float).ravel()
    maj = np.asarray(majority_rate, dtype=float).ravel()
    n = np.asarray(n_test, dtype=float).ravel()
    if not acc.size == maj.size == n.size or acc.size == 0:
        raise ValueError(
            "accuracy, majority_rate and n_test need one value per split, as many of each. "
            f"Received: {acc.size}, {maj.size} and {n.size} values"
        )
    diff = acc - maj
    p = float(acc.mean())
    se_binom = np.sqrt(max(p * (1 - p), 0.25 / n.sum()) / n.sum())
    se_splits = diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else 0.0
    se = float(max(se_binom, se_splits))
    margin = float(diff.mean())
    return Bunch(margin=margin, se=se, beats=bool(margin > n_se * se))


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


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"], "y_score": ["array-like", None]},
    prefer_skip_nested_validation=True,
)
def binary_metrics(y_true, y_pred, y_score=None) -> dict:
    """Accuracy with its chance levels, for 0/1 labels (1: the positive class).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted 0/1 labels.
    y_score : array-like of shape (n_samples,), default=None
        Positive-class scores (probabilities or decision values) for ROC AUC.

    Returns
    -------
    metrics : dict
        ``accuracy``, ``balanced_accuracy`` and ``roc_auc`` (NaN when ``y_true``
        holds one class, or for ROC AUC without ``y_score``), ``majority_rate``
        (the accuracy of always answering the more frequent label),
        ``n_test`` and ``n_test_positive``.

    Examples
    --------
    >>> from igselect.evaluation import binary_metrics
    >>> m = binary_metrics([0, 0, 0, 1], [0, 0, 0, 0])
    >>> m["accuracy"], m["balanced_accuracy"], m["majority_rate"]
    (0.75, 0.5, 0.75)
    """
    y01 = np.asarray(y_true).astype(np.int64).ravel()
    pred = np.asarray(y_pred).astype(np.int64).ravel()
    both = 0 < y01.sum() < y01.size
    rate = float(y01.mean())
    auc = np.nan
    if both and y_score is not None:
        auc = float(roc_auc_score(y01, np.asarray(y_score, dtype=float).ravel()))
    return {
        "accuracy": float(np.mean(pred == y01)),
        "balanced_accuracy": float(balanced_accuracy_score(y01, pred)) if both else np.nan,
        "roc_auc": auc,
        "majority_rate": max(rate, 1.0 - rate),
        "n_test": int(y01.size),
        "n_test_positive": int(y01.sum()),
    }


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
