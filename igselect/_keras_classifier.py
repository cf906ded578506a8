"""KerasLandmarkClassifier: any Keras network on landmark sequences as a scikit-learn classifier.

A user brings a function ``build_fn(n_frames, n_landmarks, n_classes,
**build_params)`` that returns an uncompiled Keras model; the estimator does
the rest the scikit-learn way: parameters validated in ``fit``
(``_parameter_constraints``), label encoding (binary, multi-class, or
one-vs-rest with ``positive_class``), standardisation *inside* the model,
class weights, a stratified validation split with early stopping, the
compiled per-configuration epoch loop of :mod:`igselect._trainer`, and
pickling of the Keras model in its own ``.keras`` format.

The fitted ``model_`` is what the attribution code relies on: a Keras model
from *raw* landmarks ``(n, n_frames, 2, n_landmarks)`` to *probabilities*
``(n, n_classes)`` in the order of ``classes_``.

The estimator class is here; its parts are mixins in their own modules: the
build parameters and the model made from ``build_fn`` (:mod:`igselect._keras_build`),
the steps of ``fit`` (:mod:`igselect._keras_fit`) and the pickling
(:mod:`igselect._keras_pickling`).
"""

from __future__ import annotations

import time
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.validation import check_is_fitted

from igselect._keras_build import _BuildFnMixin
from igselect._keras_fit import _FitStepsMixin
from igselect._keras_pickling import _KerasPicklingMixin
from igselect._validation import (
    Interval,
    IntInterval,
    LandmarkTagsMixin,
    StrOptions,
    check_consistent_shape,
    check_landmark_array,
    check_landmark_target,
)

__all__ = ["KerasLandmarkClassifier"]

#: Samples per batch in predict_proba (memory bound, not a model parameter).
_PREDICT_BATCH = 256

#: Constraints of the training parameters shared by every Keras estimator here.
_TRAINING_CONSTRAINTS: dict = {
    "positive_class": "no_validation",  # any label; checked against y in fit
    "standardize": ["boolean"],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [IntInterval(1)],
    "epochs": [IntInterval(1)],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "patience": [IntInterval(0)],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


class KerasLandmarkClassifier(
    _BuildFnMixin,
    _FitStepsMixin,
    _KerasPicklingMixin,
    LandmarkTagsMixin,
    ClassifierMixin,
    BaseEstimator,
):
    """Any Keras network on landmark sequences, as a scikit-learn classifier.

    Parameters
    ----------
    build_fn : callable
        ``build_fn(n_frames, n_landmarks, n_classes, **build_params)`` returns
        an uncompiled :class:`keras.Model` mapping ``(batch, n_frames, 2,
        n_landmarks)`` to ``(batch, n_classes)`` probabilities or logits (see
        ``output``). Any architecture. If it has a ``seed`` argument, it
        receives an int drawn from ``random_state``. It must be importable
        (a module-level function) for a fitted estimator to unpickle in
        another process.
    epochs : int, default=50
        Maximum number of epochs.
    batch_size : int, default=16
        Mini-batch size.
    learning_rate : float, default=1e-3
        Adam learning rate.
    validation_fraction : float, default=0.1
        Fraction of the training data held out, by a stratified split, to
        monitor the (class-weighted) ``val_loss`` for early stopping. 0
        disables validation and early stopping. They are also skipped, with a
        :class:`UserWarning`, when the data are too small for a stratified
        split (a class with a single sample, or fewer held-out or remaining
        samples than classes).
    patience : int, default=10
        Epochs without improvement of ``val_loss`` before training stops; the
        weights of the best epoch are restored.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss. A dict maps labels of
        ``classes_`` to weights; "balanced" uses ``n_samples / (n_classes *
        np.bincount(y))``.
    standardize : bool, default=True
        Standardise each coordinate of each landmark with the mean and
        standard deviation of the training data (over samples and frames),
        in a ``standardize`` layer inside ``model_``, so that attributions
        refer to raw landmarks.
    positive_class : label or None, default=None
        None: every label of ``y`` is a class. Otherwise ``y`` is binarised
        as ``y == positive_class`` (one-vs-rest); ``classes_`` is then
        ``[0, 1]`` with 1 the positive class, and :meth:`score` binarises
        ``y`` the same way, so a Pipeline can be given the multi-class ``y``.
    output : {"auto", "probabilities", "logits"}, default="auto"
        What ``build_fn``'s model returns. With "logits" (or "auto" finding
        outputs that are not probabilities) the loss is computed from logits
        and ``model_`` ends in a softmax layer named ``probabilities``.
        "auto" takes the untrained network's outputs on the first training
        samples as probabilities when they are non-negative and every row
        sums to 1.
    random_state : int, RandomState instance or None, default=None
        Seeds the network (its ``seed`` argument, if any, and Keras' default
        initializer seeds, drawn from Python's ``random`` during the build
        only: its global state is restored), the validation split and the
        shuffling. An int makes :meth:`fit` repeatable on the CPU.
    verbose : int or bool, default=0
        0 is silent, 1 prints one line per fit, 2 also one line per epoch.
    **build_params
        Passed to ``build_fn`` by name. They are parameters of the estimator
        (``get_params``, ``set_params``, ``clone``), so a grid search can tune
        them as ``clf__units``. ``set_params`` also accepts a name that
        ``build_fn`` takes but that was not given here.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted labels, or ``[0, 1]`` when ``positive_class`` is set.
    positive_class_ : label or None
        ``positive_class``; for two classes without it, ``classes_[1]``;
        None for more than two classes.
    model_ : keras.Model
        The trained network: raw landmark coordinates ``(batch, n_frames, 2,
        n_landmarks)`` in, probabilities ``(batch, n_classes)`` out, column
        ``j`` for ``classes_[j]``. Its ``standardize`` layer (if any) comes
        first, so gradients are with respect to raw coordinates.
    history_ : dict of str to list of float
        Per-epoch ``loss`` and ``accuracy`` (training batches, training
        mode), plus ``val_loss`` and ``val_accuracy`` when a validation set
        was used.
    n_iter_ : int
        Number of epochs run.
    epoch_times_ : ndarray of shape (n_iter_,)
        Wall-clock seconds of each epoch; the first includes tracing.
    n_frames_in_, n_landmarks_in_ : int
        P and L seen in :meth:`fit`.
    fit_time_ : float
        Wall-clock duration of :meth:`fit` in seconds.

    See Also
    --------
    igselect.EmoClassifier : The paper's network as a configuration of this
        estimator.
    igselect.GlobalIGSelector : Ranks landmarks by Integrated Gradients of a
        fitted classifier.

    Notes
    -----
    The epochs run on a compiled trainer cached per configuration (build_fn,
    build parameters, shapes, learning rate, batch size); see
    :mod:`igselect._trainer`. ``build_fn`` must therefore build the same
    architecture whenever it is called with the same arguments.

    Examples
    --------
    >>> import keras, numpy as np
    >>> from igselect import KerasLandmarkClassifier
    >>> def gru(n_frames, n_landmarks, n_classes, units=8):
    ...     inputs = keras.Input((n_frames, 2, n_landmarks))
    ...     x = keras.layers.Reshape((n_frames, 2 * n_landmarks))(inputs)
    ...     x = keras.layers.GRU(units)(x)
    ...     return keras.Model(inputs, keras.layers.Dense(n_classes)(x))
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 4, 2, 6)).astype("float32")
    >>> y = np.repeat(["a", "b", "c"], 10)
    >>> clf = KerasLandmarkClassifier(gru, epochs=2, units=4, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.get_params()["units"]
    ((2, 3), 4)
    """

    _parameter_constraints: dict = {
        "build_fn": [callable],
        "output": [StrOptions({"auto", "probabilities", "logits"})],
        **_TRAINING_CONSTRAINTS,
    }
    #: True for estimators whose network has two outputs (EmoClassifier).
    _binary_only = False

    def __init__(
        self,
        build_fn=None,
        *,
        epochs: int = 50,
        batch_size: int = 16,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        patience: int = 10,
        class_weight=None,
        standardize: bool = True,
        positive_class=None,
        output: str = "auto",
        random_state=None,
        verbose: int = 0,
        **build_params,
    ):
        self.build_fn = build_fn
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.standardize = standardize
        self.positive_class = positive_class
        self.output = output
        self.random_state = random_state
        self.verbose = verbose
        self._build_param_names = tuple(build_params)
        for name, value in build_params.items():
            setattr(self, name, value)

    # --------------------------------------------------------------------- fit
    def fit(self, X, y):
        """Train the network on landmark sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Raw landmark coordinates. A trailing channel axis of size 1 is
            dropped.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        start = time.perf_counter()
        return self._fit_prepared(self._prepare_fit(X, y), start)

    def _describe(self) -> str:
        return ""

    # ----------------------------------------------------------------- predict
    def _check_predict_input(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = check_landmark_array(X)
        check_consistent_shape(
            X, self.n_frames_in_, self.n_landmarks_in_, where=type(self).__name__
        )
        return X

    def _make_predict_fn(self):
        """Inference-mode call of ``model_``, created in :meth:`fit` and :meth:`__setstate__`.

        Predicting thus never changes the estimator's ``__dict__``. The model is
        called eagerly: a ``tf.function`` per fitted model would cost a trace per
        fit (and trigger TensorFlow's retracing warning in grid searches).
        """
        model = self.model_

        def predict_fn(x):
            return model(x, training=False)

        return predict_fn

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """Outputs of ``model_``, in batches of ``_PREDICT_BATCH`` samples."""
        import tensorflow as tf

        fn = self._predict_fn
        out = [
            np.asarray(fn(tf.constant(X[i : i + _PREDICT_BATCH])))
            for i in range(0, X.shape[0], _PREDICT_BATCH)
        ]
        return np.concatenate(out, axis=0)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Raw landmark coordinates with the frame and landmark counts seen
            in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Column ``j`` is the probability of ``classes_[j]``.
        """
        X = self._check_predict_input(X)
        return self._forward(X).astype(np.float64)

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of ``classes_[1]`` (two classes) or log-probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Raw landmark coordinates.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes ``log p1 - log p0`` (positive values favour
            ``classes_[1]``); otherwise ``log p`` per class.
        """
        proba = np.clip(self.predict_proba(X), np.finfo(np.float32).tiny, None)
        if proba.shape[1] == 2:
            return np.log(proba[:, 1]) - np.log(proba[:, 0])
        return np.log(proba)

    def predict(self, X) -> np.ndarray:
        """Predicted labels, taken from ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Raw landmark coordinates.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The most probable class (the first one on ties).
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on ``(X, y)``.

        When ``positive_class`` is set, ``y`` holds the original (possibly
        multi-class) labels and is binarised as ``y == positive_class``
        before comparing, so the multi-class ``y`` of a Pipeline scores
        correctly; ``y`` need not contain the positive class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Raw landmark coordinates.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy.
        """
        y_pred = self.predict(X)
        y = check_landmark_target(y, y_pred.shape[0])
        if self.positive_class is not None:
            y = (y == self.positive_class).astype(np.int64)
        return float(accuracy_score(y, y_pred, sample_weight=sample_weight))

    # ---------------------------------------------------------------- sklearn
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = not self._binary_only
        tags.non_deterministic = False
        return tags
