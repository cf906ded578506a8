"""A multi-class emotion classifier built from binary one-vs-rest pipelines.

Each emotion has its own binary pipeline (typically aligner -> IG selector ->
:class:`~igselect.EmoClassifier`), and therefore its own landmark subset.
:class:`EmotionEnsemble` fits every pipeline on the same multi-class labels
(each pipeline binarises them for its own ``positive_class``) and predicts the
emotion whose pipeline is most confident. Di Luzio et al. (2024) note that
per-emotion landmark subsets prevented them from merging the binary networks
into one six-class classifier; this class is that merge.
"""

from __future__ import annotations

import numbers
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import ClassifierMixin, clone
from sklearn.utils import Bunch
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from ._validation import Integral, check_landmark_target

__all__ = ["EmotionEnsemble"]


def _fit_one(name, estimator, X, y, verbose):
    start = time.perf_counter()
    fitted = clone(estimator).fit(X, y)
    if verbose:
        print(f"[EmotionEnsemble] fitted {name!r} in {time.perf_counter() - start:.1f} s")
    return fitted


def _positive_column(name, estimator) -> int:
    """Index of the column of ``estimator.predict_proba`` that scores ``name``."""
    classes = np.asarray(getattr(estimator, "classes_", [])).tolist()
    if name in classes:
        return classes.index(name)
    if len(classes) == 2 and {int(c) for c in classes if isinstance(c, numbers.Integral)} == {
        0,
        1,
    }:
        return classes.index(1)
    raise ValueError(
        f"Cannot tell which predict_proba column of the estimator for {name!r} is the "
        f"positive class: its classes_ are {classes!r}. Each estimator must be binary with "
        f"classes_ [0, 1] (1 = the emotion, as EmoClassifier(positive_class=...) does) or "
        f"have the emotion name among its classes_."
    )


class EmotionEnsemble(ClassifierMixin, _BaseComposition):
    """Multi-class classifier from one binary (one-vs-rest) estimator per emotion.

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        One ``(emotion_name, estimator)`` pair per emotion. Each estimator (usually
        a :class:`~sklearn.pipeline.Pipeline` ending in
        ``EmoClassifier(positive_class=emotion_name)``) must accept the
        multi-class ``y`` in ``fit`` and binarise it for its own emotion, and must
        implement ``predict_proba``. Its positive-class column is column ``1``
        when its ``classes_`` is ``[0, 1]``, otherwise the column whose class
        equals ``emotion_name``. Names must be unique and present in ``y``.
    n_jobs : int or None, default=None
        Number of estimators fitted in parallel with joblib (``None`` means 1,
        ``-1`` all cores). Prediction is sequential.
    verbose : int, default=0
        If > 0, print one line per fitted estimator.

    Attributes
    ----------
    classes_ : ndarray of shape (n_emotions,)
        The emotion names, **in the order given** in ``estimators`` (not sorted);
        the columns of :meth:`predict_proba` follow this order.
    estimators_ : list of estimators
        The fitted clones, in the same order.
    named_estimators_ : :class:`~sklearn.utils.Bunch`
        The fitted clones by emotion name.
    fit_time_ : float
        Wall time of :meth:`fit`, in seconds.

    See Also
    --------
    igselect.GlobalIGSelector : the per-emotion landmark selector.
    sklearn.multiclass.OneVsRestClassifier : the same idea with one shared estimator.

    Notes
    -----
    The scores are one-vs-rest: each binary model was trained separately, so the
    positive-class probabilities of one sample need not sum to one.
    :meth:`predict_proba` normalises them to sum to one per sample; they are
    *normalised one-vs-rest scores*, not calibrated multi-class probabilities.
    :meth:`decision_function` returns the raw, unnormalised scores. Samples whose
    label has no estimator (e.g. ``"neutral"``) can be used in ``fit`` as
    negatives for every emotion, but are never predicted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> flat = FunctionTransformer(lambda X: np.reshape(X, (len(X), -1)))
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["anger", "joy", "fear"], 10)
    >>> X = rng.normal(size=(30, 2, 2, 5)) + (y == "joy")[:, None, None, None]
    >>> ens = EmotionEnsemble([(e, make_pipeline(flat, LogisticRegression())) for e in
    ...                        ["anger", "joy", "fear"]])
    >>> ens.fit(X, y).predict_proba(X).shape
    (30, 3)
    """

    # the structure of ``estimators`` (pairs, unique names, predict_proba) is
    # checked by _validate_estimators
    _parameter_constraints: dict = {
        "estimators": [list, tuple],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimators, *, n_jobs=None, verbose=0):
        self.estimators = estimators
        self.n_jobs = n_jobs
        self.verbose = verbose

    def get_params(self, deep=True):
        """Get parameters, including ``<emotion>__<param>`` of each estimator."""
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters, including ``<emotion>__<param>`` of each estimator."""
        self._set_params("estimators", **params)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.non_deterministic = True
        return tags

    def _validate_estimators(self):
        estimators = self.estimators
        if not isinstance(estimators, list | tuple) or len(estimators) == 0:
            raise ValueError(
                "estimators must be a non-empty list of (emotion_name, estimator) tuples. "
                f"Received: estimators={estimators!r}"
            )
        for item in estimators:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise ValueError(
                    "estimators must be a list of (emotion_name, estimator) tuples. "
                    f"Received an item {item!r}"
                )
            name, est = item
            if not (hasattr(est, "fit") and hasattr(est, "predict_proba")):
                raise TypeError(
                    f"The estimator for {name!r} must implement fit and predict_proba. "
                    f"Received: {type(est).__name__}"
                )
        names = [name for name, _ in estimators]
        seen, dup = set(), []
        for name in names:
            if name in seen:
                dup.append(name)
            seen.add(name)
        if dup:
            raise ValueError(
                f"Emotion names in estimators must be unique. Received duplicates: {sorted(set(dup))!r}"
            )
        return names, [est for _, est in estimators]

    def fit(self, X, y):
        """Fit a clone of every binary estimator on the multi-class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data, e.g. landmark sequences ``(n_samples, n_frames, 2, n_landmarks)``.
        y : array-like of shape (n_samples,)
            Multi-class labels (emotion names). Every emotion name in
            ``estimators`` must occur in ``y``.

        Returns
        -------
        self : EmotionEnsemble
        """
        self._validate_params()
        names, estimators = self._validate_estimators()
        y = check_landmark_target(y, len(X))
        labels = np.unique(y)
        missing = [n for n in names if n not in set(labels.tolist())]
        if missing:
            raise ValueError(
                f"Emotion(s) {missing!r} in estimators do not occur in y; labels in y are "
                f"{labels.tolist()!r}."
            )
        extra = [lab for lab in labels.tolist() if lab not in set(names)]
        if extra:
            warnings.warn(
                f"Labels {extra!r} in y have no estimator; they are used as negatives only "
                "and will never be predicted.",
                UserWarning,
                stacklevel=2,
            )
        start = time.perf_counter()
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(name, est, X, y, self.verbose)
            for name, est in zip(names, estimators, strict=True)
        )
        self.classes_ = np.asarray(names)
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_, strict=True)))
        self._columns = [
            _positive_column(n, e) for n, e in zip(names, self.estimators_, strict=True)
        ]
        self.fit_time_ = time.perf_counter() - start
        return self

    def decision_function(self, X) -> np.ndarray:
        """Raw one-vs-rest scores: each estimator's positive-class probability.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_emotions)
            Column ``k`` is the probability that the binary model of
            ``classes_[k]`` gives its emotion; rows need not sum to one.
        """
        check_is_fitted(self, "estimators_")
        cols = [
            np.asarray(est.predict_proba(X))[:, c]
            for est, c in zip(self.estimators_, self._columns, strict=True)
        ]
        return np.stack(cols, axis=1).astype(np.float64)

    def predict_proba(self, X) -> np.ndarray:
        """Normalised one-vs-rest scores (rows sum to one).

        Each row of :meth:`decision_function` divided by its sum (uniform when
        every binary model gives 0). See the Notes of the class.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_emotions)
        """
        scores = self.decision_function(X)
        total = scores.sum(axis=1, keepdims=True)
        uniform = np.full_like(scores, 1.0 / scores.shape[1])
        safe = np.where(total > 0, total, 1.0)
        return np.where(total > 0, scores / safe, uniform)

    def predict(self, X) -> np.ndarray:
        """Predict the emotion whose binary model gives the highest probability.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Ties go to the emotion listed first.
        """
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]
