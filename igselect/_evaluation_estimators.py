"""The two small estimators of :mod:`igselect.evaluation`: flattening and one-vs-rest."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._validation import HasMethods, binarize_target

__all__ = ["BinarizedClassifier", "FlattenLandmarks"]


class FlattenLandmarks(TransformerMixin, BaseEstimator):
    """Flatten landmark arrays ``(n, P, 2, L)`` to ``(n, P * 2 * L)`` for scikit-learn models.

    Stateless apart from the input shape, which ``transform`` checks. 2-D input
    passes through unchanged (so the transformer also works on already flat
    features); any other number of dimensions >= 2 is flattened after the first
    axis, in C order (frame, then coordinate, then landmark).

    Attributes
    ----------
    input_shape_ : tuple of int
        The shape of one sample seen in ``fit``, e.g. ``(P, 2, L)``.
    n_features_in_ : int
        ``input_shape_[0]``, as scikit-learn counts features of N-D input.

    Examples
    --------
    >>> import numpy as np
    >>> from igselect.evaluation import FlattenLandmarks
    >>> FlattenLandmarks().fit_transform(np.zeros((5, 4, 2, 3))).shape
    (5, 24)
    """

    _parameter_constraints: dict = {}

    def fit(self, X, y=None):
        """Record the shape of one sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Landmark arrays, e.g. (n_samples, n_frames, 2, n_landmarks).
        y : None
            Ignored.

        Returns
        -------
        self : FlattenLandmarks
        """
        X = validate_data(self, X, allow_nd=True, reset=True)
        self.input_shape_ = tuple(X.shape[1:])
        return self

    def transform(self, X) -> np.ndarray:
        """Flatten every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, *input_shape_)

        Returns
        -------
        X_flat : ndarray of shape (n_samples, prod(input_shape_))
        """
        check_is_fitted(self)
        X = validate_data(self, X, allow_nd=True, reset=False)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, but FlattenLandmarks was fitted "
                f"on samples of shape {self.input_shape_}. Received: X.shape={X.shape}"
            )
        return X.reshape(X.shape[0], -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags


def _estimator_has(name):
    def check(self):
        return hasattr(getattr(self, "estimator_", self.estimator), name)

    return check


class BinarizedClassifier(ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on ``y == positive_class`` (one-vs-rest).

    A selector earlier in a Pipeline may need the multi-class ``y`` (its
    baselines come from the other classes); this wrapper gives a binary
    scikit-learn classifier the same one-vs-rest task as
    ``EmoClassifier(positive_class=...)``. ``classes_`` is ``[0, 1]``, 1 the
    positive class; ``score`` is the accuracy on the binarised labels.

    Parameters
    ----------
    estimator : classifier
        A scikit-learn classifier, cloned in ``fit``.
    positive_class : label, default=None
        The positive class; ``None`` needs binary ``y`` (the larger label).

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from igselect.evaluation import BinarizedClassifier
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1], [2.0], [2.1]])
    >>> y = np.array(["a", "a", "b", "b", "c", "c"])
    >>> clf = BinarizedClassifier(LogisticRegression(), positive_class="c").fit(X, y)
    >>> clf.predict([[0.0], [2.2]]).tolist()
    [0, 1]
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "positive_class": "no_validation",
    }

    def __init__(self, estimator=None, positive_class=None):
        self.estimator = estimator
        self.positive_class = positive_class

    def fit(self, X, y, **fit_params):
        """Fit the clone of ``estimator`` on the binarised labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : BinarizedClassifier
        """
        self._validate_params()
        y01 = binarize_target(y, self.positive_class)
        self.estimator_ = clone(self.estimator).fit(X, y01, **fit_params)
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X) -> np.ndarray:
        """0/1 predictions (1: ``positive_class``)."""
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X) -> np.ndarray:
        """The estimator's decision function (positive favours the positive class)."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X) -> np.ndarray:
        """The estimator's probabilities of ``[0, 1]``."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy against ``y == positive_class``."""
        y01 = binarize_target(check_array(y, ensure_2d=False, dtype=None), self.positive_class)
        hit = self.predict(X) == y01
        return float(np.average(hit, weights=sample_weight))
