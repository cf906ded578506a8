"""Cheap landmark rankings: scikit-learn selectors on the landmark axis.

Each selector scores every landmark of ``(n, P, 2, L)`` data without training a
network, ranks the landmarks by that score and keeps the ``n_landmarks`` best,
with the same interface as :class:`~igselect.GlobalIGSelector` (``scores_``,
``ranking_``, ``n_landmarks`` changeable after ``fit``), so that they plug into
the same :class:`~sklearn.pipeline.Pipeline` and into
:func:`igselect.evaluation.evaluate_selection`. They are the baselines an
attribution-driven selection has to beat:

- :class:`FTestLandmarkSelector`: univariate, the ANOVA F statistic of every
  coordinate (as ``SelectKBest(f_classif)``), max over coordinates and frames;
- :class:`MotionLandmarkSelector`: how much a landmark moves;
- :class:`LinearSVMLandmarkSelector`: the absolute weights of a linear SVM,
  summed per landmark;
- :class:`RandomLandmarkSelector`: a seeded random ranking (chance).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import f_classif
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils import check_random_state

from ._global_ig import N_LANDMARKS_CONSTRAINT, _resolve_n_landmarks
from ._landmark_selector import RankedLandmarkSelectorMixin
from ._validation import (
    Interval,
    LandmarkTagsMixin,
    binarize_target,
    check_landmark_array,
    check_landmark_target,
)

__all__ = [
    "FTestLandmarkSelector",
    "LinearSVMLandmarkSelector",
    "MotionLandmarkSelector",
    "RandomLandmarkSelector",
]


class _RankingSelector(LandmarkTagsMixin, RankedLandmarkSelectorMixin, BaseEstimator):
    """Shared ``fit``: score the landmarks (``_score``), rank them, cut at ``n_landmarks``."""

    _parameter_constraints: dict = {"n_landmarks": N_LANDMARKS_CONSTRAINT}
    _needs_y = True

    def fit(self, X, y=None):
        """Score and rank the landmarks.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Landmark sequences (or single frames, ``n_frames=1``).
        y : array-like of shape (n_samples,)
            Class labels (multi-class with ``positive_class`` set, or binary).

        Returns
        -------
        self : estimator
            The fitted selector.
        """
        self._validate_params()
        X = check_landmark_array(X, dtype=np.float64)
        if self._needs_y or y is not None:
            if y is None:
                raise ValueError(f"{type(self).__name__} needs y. Received: y=None")
            y = check_landmark_target(y, X.shape[0])
        _resolve_n_landmarks(self.n_landmarks, X.shape[3])
        scores = np.asarray(self._score(X, y), dtype=float)
        self.scores_ = np.nan_to_num(scores, nan=0.0, posinf=0.0, neginf=0.0)
        self.ranking_ = np.argsort(-self.scores_, kind="stable")
        self.n_frames_in_ = X.shape[1]
        self.n_landmarks_in_ = X.shape[3]
        return self

    def _positive(self, y) -> np.ndarray:
        return binarize_target(y, getattr(self, "positive_class", None))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self._needs_y
        return tags


_ATTRIBUTES_DOC = """
    Attributes
    ----------
    scores_ : ndarray of shape (n_landmarks_in_,)
        Score of every landmark (higher is better).
    ranking_ : ndarray of shape (n_landmarks_in_,)
        Landmark indices, best first (``argsort(-scores_)``, stable).
    n_landmarks_ : int
        The resolved number of selected landmarks (follows ``n_landmarks``).
    n_landmarks_in_, n_frames_in_ : int
        Input landmark and frame counts seen in ``fit``.
"""

_N_LANDMARKS_DOC = """n_landmarks : int, float or callable, default=64
        How many landmarks to keep: an int in ``[1, L]``, a float in ``(0, 1]``
        (a fraction of L, floored) or a callable ``f(L) -> int``; changing it
        after ``fit`` changes ``transform`` without refitting."""

_POSITIVE_DOC = """positive_class : label, default=None
        The class against the rest; ``None`` needs binary ``y`` (the larger
        label is positive)."""


class FTestLandmarkSelector(_RankingSelector):
    __doc__ = f"""Rank landmarks by the univariate ANOVA F-test of their coordinates.

    Every coordinate of every frame is one feature, scored by
    :func:`sklearn.feature_selection.f_classif` against ``y == positive_class``
    (as ``SelectKBest(f_classif)`` does); a landmark's score is the largest F
    over its two coordinates and its frames (constant features score 0).

    Parameters
    ----------
    {_N_LANDMARKS_DOC}
    {_POSITIVE_DOC}
    {_ATTRIBUTES_DOC}
    Examples
    --------
    >>> from igselect.datasets import make_landmark_sequences
    >>> from igselect.rankers import FTestLandmarkSelector
    >>> ds = make_landmark_sequences(n_samples=40, random_state=0)
    >>> sel = FTestLandmarkSelector(n_landmarks=4, positive_class="class_0").fit(ds.data, ds.target)
    >>> sorted(sel.ranking_[:4].tolist()) == ds.informative["class_0"].tolist()
    True
    """

    _parameter_constraints = {
        **_RankingSelector._parameter_constraints,
        "positive_class": "no_validation",
    }

    def __init__(self, n_landmarks=64, *, positive_class=None):
        self.n_landmarks = n_landmarks
        self.positive_class = positive_class

    def _score(self, X, y):
        n, P, _, L = X.shape
        flat = X.reshape(n, -1)
        constant = np.ptp(flat, axis=0) == 0
        F = np.zeros(flat.shape[1])
        if not constant.all():
            with np.errstate(divide="ignore", invalid="ignore"):
                F[~constant] = f_classif(flat[:, ~constant], self._positive(y))[0]
        return np.nan_to_num(F).reshape(P, 2, L).max(axis=(0, 1))


class MotionLandmarkSelector(_RankingSelector):
    __doc__ = f"""Rank landmarks by how much they move.

    For sequences (``n_frames >= 2``) a landmark's score is its mean
    displacement (Euclidean, in the input's units) from the sequence's onset
    frame, averaged over the frames after the onset and over the samples of
    ``positive_class`` (all samples if ``positive_class`` is None). For single
    images (``n_frames == 1``), where nothing moves within a sample, it is the
    landmark's variance over the training set (x and y variances summed, all
    samples). No labels are needed beyond ``positive_class``.

    Parameters
    ----------
    {_N_LANDMARKS_DOC}
    positive_class : label, default=None
        Average the motion over this class's samples only; ``None`` uses all.
    {_ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from igselect.rankers import MotionLandmarkSelector
    >>> X = np.zeros((2, 3, 2, 4)); X[:, 2, 0, 1] = 0.5  # landmark 1 moves at the last frame
    >>> MotionLandmarkSelector(n_landmarks=1).fit(X).get_support(indices=True)
    array([1])
    """

    _parameter_constraints = {
        **_RankingSelector._parameter_constraints,
        "positive_class": "no_validation",
    }
    _needs_y = False

    def __init__(self, n_landmarks=64, *, positive_class=None):
        self.n_landmarks = n_landmarks
        self.positive_class = positive_class

    def _score(self, X, y):
        if self.positive_class is not None:
            if y is None:
                raise ValueError(
                    "positive_class is set, so fit needs y. "
                    f"Received: positive_class={self.positive_class!r}, y=None"
                )
            X = X[self._positive(y) == 1]
        if X.shape[1] == 1:
            return X[:, 0].var(axis=0).sum(axis=0)
        motion = np.linalg.norm(X[:, 1:] - X[:, :1], axis=2)  # (n, P - 1, L)
        return motion.mean(axis=(0, 1))


class LinearSVMLandmarkSelector(_RankingSelector):
    __doc__ = f"""Rank landmarks by the absolute weights of a linear SVM, summed per landmark.

    A :class:`~sklearn.svm.LinearSVC` (balanced class weights) is trained on the
    standardised, flattened coordinates against ``y == positive_class``; a
    landmark's score is ``sum |w|`` over its coordinates and frames.

    Parameters
    ----------
    {_N_LANDMARKS_DOC}
    {_POSITIVE_DOC}
    C : float, default=0.1
        Inverse regularisation strength of the SVM.
    random_state : int or None, default=None
        Seed of the SVM's coordinate descent.
    {_ATTRIBUTES_DOC}
    Examples
    --------
    >>> from igselect.datasets import make_landmark_sequences
    >>> from igselect.rankers import LinearSVMLandmarkSelector
    >>> ds = make_landmark_sequences(n_samples=40, random_state=0)
    >>> sel = LinearSVMLandmarkSelector(4, positive_class="class_0").fit(ds.data, ds.target)
    >>> sel.transform(ds.data).shape
    (40, 8, 2, 4)
    """

    _parameter_constraints = {
        **_RankingSelector._parameter_constraints,
        "positive_class": "no_validation",
        "C": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_landmarks=64, *, positive_class=None, C=0.1, random_state=None):
        self.n_landmarks = n_landmarks
        self.positive_class = positive_class
        self.C = C
        self.random_state = random_state

    def _score(self, X, y):
        n, P, _, L = X.shape
        flat = StandardScaler().fit_transform(X.reshape(n, -1))
        svm = LinearSVC(
            C=self.C,
            dual="auto",
            max_iter=5000,
            class_weight="balanced",
            random_state=self.random_state,
        ).fit(flat, self._positive(y))
        return np.abs(svm.coef_[0]).reshape(P, 2, L).sum(axis=(0, 1))


class RandomLandmarkSelector(_RankingSelector):
    __doc__ = f"""A seeded random ranking of the landmarks: the chance baseline.

    Parameters
    ----------
    {_N_LANDMARKS_DOC}
    random_state : int, RandomState instance or None, default=None
        Seed of the ranking; the same seed gives the same ranking.
    {_ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from igselect.rankers import RandomLandmarkSelector
    >>> X = np.zeros((3, 2, 2, 10))
    >>> a = RandomLandmarkSelector(3, random_state=0).fit(X).ranking_
    >>> b = RandomLandmarkSelector(3, random_state=0).fit(X).ranking_
    >>> bool((a == b).all())
    True
    """

    _parameter_constraints = {
        **_RankingSelector._parameter_constraints,
        "random_state": ["random_state"],
    }
    _needs_y = False

    def __init__(self, n_landmarks=64, *, random_state=None):
        self.n_landmarks = n_landmarks
        self.random_state = random_state

    def _score(self, X, y):
        rng = check_random_state(self.random_state)
        return rng.permutation(X.shape[3]).astype(float)
