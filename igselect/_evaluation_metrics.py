"""Ranking and chance-level metrics of :mod:`igselect.evaluation` (re-exported there)."""

from __future__ import annotations

from itertools import combinations
from numbers import Integral, Real

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.utils import Bunch

from ._validation import Interval, validate_params

__all__ = ["beats_majority", "binary_metrics", "mean_se", "precision_at_k", "selection_stability"]


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
