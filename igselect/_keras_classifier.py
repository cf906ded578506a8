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
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
import random
import tempfile
import time
import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted

from igselect._trainer import get_trainer
from igselect._validation import (
    Interval,
    IntInterval,
    InvalidParameterError,
    LandmarkTagsMixin,
    StrOptions,
    binarize_target,
    check_consistent_shape,
    check_landmark_array,
    check_landmark_target,
)

__all__ = ["KerasLandmarkClassifier"]

#: Samples per batch in predict_proba (memory bound, not a model parameter).
_PREDICT_BATCH = 256
#: Upper bound of the integer seed derived from ``random_state``.
_MAX_SEED = 2**31 - 1
#: Arguments of ``build_fn`` that the estimator fills in itself.
_SHAPE_ARGS = ("n_frames", "n_landmarks", "n_classes")

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


class KerasLandmarkClassifier(LandmarkTagsMixin, ClassifierMixin, BaseEstimator):
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

    # ------------------------------------------------------------------ params
    def _build_params(self) -> dict:
        return {name: getattr(self, name) for name in getattr(self, "_build_param_names", ())}

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of this estimator, the build parameters included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(self._build_params())
        return params

    def set_params(self, **params):
        """Set parameters, build parameters included.

        A name that is not yet a parameter becomes a build parameter when
        ``build_fn`` (the one being set, if any) takes an argument of that
        name or ``**kwargs``.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        build_fn = params.get("build_fn", getattr(self, "build_fn", None))
        known = set(self.get_params(deep=False))
        new = [k for k in params if "__" not in k and k not in known]
        if new and _accepts(build_fn, new):
            self._build_param_names = tuple(self._build_param_names) + tuple(new)
            for name in new:
                setattr(self, name, params[name])
        return super().set_params(**params)

    def _validate_params(self) -> None:
        """The declared constraints, then the names of the build parameters."""
        super()._validate_params()
        for name in getattr(self, "_build_param_names", ()):
            reserved = name in _SHAPE_ARGS or name.startswith("_") or name.endswith("_")
            if reserved or hasattr(type(self), name):
                raise InvalidParameterError(
                    f"{name!r} cannot be a build parameter: the estimator fills it in or "
                    f"has an attribute of that name. Received: {name}={getattr(self, name)!r}"
                )

    # -------------------------------------------------------------- the model
    def _call_build_fn(self, n_frames: int, n_landmarks: int, n_classes: int, seed: int):
        """``build_fn``'s model, its default initializer seeds drawn from ``seed``."""
        kwargs = self._build_params()
        if "seed" not in kwargs and _takes_argument(self.build_fn, "seed"):
            kwargs["seed"] = int(seed)
        # Keras draws the seeds of unseeded initializers and dropout layers from
        # Python's `random`; seed it for the build only, and restore its state.
        state = random.getstate()
        random.seed(int(seed))
        try:
            model = self.build_fn(n_frames, n_landmarks, n_classes, **kwargs)
        finally:
            random.setstate(state)
        import keras

        if not isinstance(model, keras.Model):
            raise TypeError(
                f"build_fn must return a keras.Model. Received: build_fn={self.build_fn!r} "
                f"returning {type(model).__name__}"
            )
        return model

    def _from_logits(self, network, X_probe: np.ndarray, n_classes: int) -> bool:
        """Whether ``network`` returns logits; also checks its output shape."""
        import tensorflow as tf

        out = np.asarray(network(tf.constant(X_probe[:32]), training=False))
        if out.shape != (min(32, X_probe.shape[0]), n_classes):
            raise ValueError(
                f"build_fn's model must return (batch, n_classes={n_classes}) outputs. "
                f"Received: output shape {out.shape} for {X_probe[:32].shape[0]} samples"
            )
        if self.output != "auto":
            return self.output == "logits"
        probabilities = np.all(out >= -1e-6) and np.allclose(out.sum(axis=1), 1.0, atol=1e-4)
        return not probabilities

    def _build_network(self, n_classes: int, seed: int, mean, std, X_probe: np.ndarray):
        """Return ``(model_, network, trainer_key, build_template, from_logits)``.

        ``network`` is the part that trains (``build_fn``'s model); ``model_``
        wraps it between the ``standardize`` layer and, for logits, a softmax.
        """
        import keras

        P, L = self.n_frames_in_, self.n_landmarks_in_
        network = self._call_build_fn(P, L, n_classes, seed)
        standardize = _standardize_layer(mean, std, L)
        probe = X_probe if standardize is None else np.asarray(standardize(X_probe))
        from_logits = self._from_logits(network, probe, n_classes)
        inputs = keras.Input(shape=(P, 2, L), name="landmarks", dtype="float32")
        x = inputs if standardize is None else standardize(inputs)
        x = network(x)
        if from_logits:
            x = keras.layers.Softmax(name="probabilities")(x)
        model = keras.Model(inputs, x, name="keras_landmark_classifier")

        def build_template():
            return self._call_build_fn(P, L, n_classes, 0)

        key = (
            ("build_fn", self.build_fn, P, L, n_classes, _hashable(self._build_params())),
            float(self.learning_rate),
            int(self.batch_size),
            from_logits,
        )
        try:
            hash(key)
        except TypeError:
            key = None  # an unhashable build_fn: a trainer of its own, not cached
        return model, network, key, build_template, from_logits

    # --------------------------------------------------------------------- fit
    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        """Set ``classes_`` and ``positive_class_``; return class indices."""
        if self.positive_class is not None:
            y_enc = binarize_target(y, self.positive_class)
            self.classes_ = np.array([0, 1])
            self.positive_class_ = self.positive_class
            return y_enc
        if self._binary_only:
            binarize_target(y, None)  # exactly two classes, or its error
        classes, y_enc = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                f"y must contain at least two classes. Received: a single class "
                f"{classes.tolist()!r}."
            )
        self.classes_ = classes
        self.positive_class_ = classes[1] if classes.shape[0] == 2 else None
        return y_enc.astype(np.int64)

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
        self._validate_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = check_landmark_array(X)
        y = check_landmark_target(y, X.shape[0])
        y_enc = self._encode_target(y)
        n_classes = int(self.classes_.shape[0])
        self.n_frames_in_, self.n_landmarks_in_ = int(X.shape[1]), int(X.shape[3])
        seed = int(check_random_state(self.random_state).randint(_MAX_SEED))
        class_w = self._class_weights(y_enc)

        X_tr, y_tr, val = self._split(X, y_enc, seed, n_classes)
        mean = std = None
        if self.standardize:
            mean = X_tr.mean(axis=(0, 1), dtype=np.float64)
            std = X_tr.std(axis=(0, 1), dtype=np.float64)
        model, network, key, template, from_logits = self._build_network(
            n_classes, seed, mean, std, X_tr
        )
        trainer = get_trainer(
            key,
            template,
            n_frames=self.n_frames_in_,
            n_landmarks=self.n_landmarks_in_,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            from_logits=from_logits,
        )
        scale = model.get_layer("standardize") if self.standardize else None
        history, epoch_times = self._train(trainer, network, scale, X_tr, y_tr, val, class_w, seed)
        self.model_ = model
        self._predict_fn = self._make_predict_fn()
        self.history_ = history
        self.n_iter_ = len(history["loss"])
        self.epoch_times_ = np.asarray(epoch_times)
        self.fit_time_ = time.perf_counter() - start
        if self.verbose:
            last = ", ".join(f"{k}={v[-1]:.4f}" for k, v in self.history_.items() if v)
            print(
                f"[{type(self).__name__}] {self._describe()}fitted on "
                f"{X.shape[0]} samples ({self.n_frames_in_} frames, {self.n_landmarks_in_} "
                f"landmarks): {self.n_iter_} epochs in {self.fit_time_:.1f} s; {last}"
            )
        return self

    def _describe(self) -> str:
        return ""

    def _class_weights(self, y_enc: np.ndarray) -> np.ndarray:
        """Per-class loss weights, indexed by the encoded label."""
        k = len(self.classes_)
        if self.class_weight is None:
            return np.ones(k)
        if isinstance(self.class_weight, str):
            return compute_class_weight("balanced", classes=np.arange(k), y=y_enc)
        unknown = [key for key in self.class_weight if not np.any(self.classes_ == key)]
        if unknown:
            raise ValueError(
                f"class_weight has keys that are not in classes_={self.classes_.tolist()!r}. "
                f"Received: class_weight={self.class_weight!r}"
            )
        weights = np.ones(k)
        for i, label in enumerate(self.classes_):
            for key, value in self.class_weight.items():
                if np.all(key == label):
                    if not (isinstance(value, numbers.Real) and value >= 0):
                        raise ValueError(
                            "class_weight values must be non-negative numbers. "
                            f"Received: class_weight={self.class_weight!r}"
                        )
                    weights[i] = float(value)
        return weights

    def _split(self, X: np.ndarray, y_enc: np.ndarray, seed: int, n_classes: int = 2):
        """Stratified train/validation split; ``val`` is None when skipped."""
        frac = float(self.validation_fraction)
        if frac == 0:
            return X, y_enc, None
        n = X.shape[0]
        n_val = math.ceil(frac * n)
        least = max(2, n_classes)
        if n_val < least or n - n_val < least or np.bincount(y_enc, minlength=n_classes).min() < 2:
            warnings.warn(
                f"Too few samples for a stratified validation split of {n} samples with "
                f"validation_fraction={frac}; training on all samples without validation "
                "or early stopping.",
                UserWarning,
                stacklevel=3,
            )
            return X, y_enc, None
        X_tr, X_val, y_tr, y_val = train_test_split(
            X, y_enc, test_size=n_val, stratify=y_enc, random_state=seed
        )
        return X_tr, y_tr, (X_val, y_val)

    def _train(self, trainer, network, scale, X_tr, y_tr, val, class_w, seed):
        """Run the epochs with early stopping; returns ``(history, epoch_times)``.

        The epochs run on the cached trainer of this configuration: it starts
        from ``network``'s initial state and the trained state is copied back
        into ``network``. Inputs are standardised here with the model's own
        ``scale`` layer (the same operation as at inference).
        """
        import tensorflow as tf

        def tensors(X, y_enc):
            X = tf.constant(X, tf.float32)
            if scale is not None:
                X = tf.cast(scale(X), tf.float32)
            return [X, tf.constant(y_enc, tf.int64), tf.constant(class_w[y_enc], tf.float32)]

        # Class weights enter the loss as per-sample weights, the validation loss
        # included, so early stopping monitors the training objective.
        args = tensors(X_tr, y_tr) + ([] if val is None else tensors(*val))
        # Own shuffling from the seed: repeatable without touching the global
        # TensorFlow / NumPy / Python seeds.
        order_rng = np.random.RandomState(seed)
        history = {"loss": [], "accuracy": []}
        if val is not None:
            history.update(val_loss=[], val_accuracy=[])
        epoch_times = []
        best, best_weights, wait = np.inf, None, 0
        with trainer.lock:
            epoch_fn = trainer.epoch_function(validated=val is not None)
            trainer.load(network)
            for epoch in range(int(self.epochs)):
                tick = time.perf_counter()
                order = tf.constant(order_rng.permutation(X_tr.shape[0]).astype(np.int32))
                logs = [float(v) for v in epoch_fn(order, *args)]
                epoch_times.append(time.perf_counter() - tick)
                for name, value in zip(history, logs, strict=True):
                    history[name].append(value)
                if self.verbose >= 2:
                    shown = " - ".join(f"{k}: {v[-1]:.4f}" for k, v in history.items())
                    print(f"Epoch {epoch + 1}/{self.epochs} - {epoch_times[-1]:.2f}s - {shown}")
                if val is None:
                    continue
                # Early stopping as keras.callbacks.EarlyStopping(monitor="val_loss",
                # patience=patience, restore_best_weights=True).
                if logs[2] < best:
                    best, best_weights, wait = logs[2], trainer.model.get_weights(), 0
                else:
                    wait += 1
                    if wait >= int(self.patience):
                        break
            trainer.store(network)
        if best_weights is not None:
            network.set_weights(best_weights)
        return history, epoch_times

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

    # ---------------------------------------------------------------- pickling
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_predict_fn", None)
        if "model_" in state:
            state["model_"] = _model_to_bytes(state["model_"])
        return state

    def __setstate__(self, state):
        state = dict(state)
        if isinstance(state.get("model_"), bytes):
            state["model_"] = _model_from_bytes(state["model_"])
        super().__setstate__(state)
        if "model_" in state:
            self._predict_fn = self._make_predict_fn()


def _standardize_layer(mean, std, n_landmarks: int):
    """The ``standardize`` Normalization layer, or None without statistics."""
    if mean is None:
        return None
    from keras import layers

    mean = np.asarray(mean, dtype=np.float32).reshape(2, n_landmarks)
    std = np.asarray(std, np.float32).reshape(2, n_landmarks)
    std = np.where(std > 1e-12, std, 1.0).astype(np.float32)
    return layers.Normalization(axis=(-2, -1), mean=mean, variance=std**2, name="standardize")


def _signature(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None


def _takes_argument(fn, name: str) -> bool:
    params = _signature(fn)
    return params is not None and name in params and name not in _SHAPE_ARGS


def _accepts(fn, names) -> bool:
    """Whether ``fn`` takes every argument in ``names`` (by name or ``**kwargs``)."""
    params = _signature(fn)
    if params is None:
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    return all(_takes_argument(fn, name) for name in names)


def _hashable(params: dict):
    """A hashable stand-in for the build parameters (joblib's hash if need be)."""
    items = tuple(sorted(params.items()))
    try:
        hash(items)
        return items
    except TypeError:
        import joblib

        return ("joblib", joblib.hash(items))


def _model_to_bytes(model) -> bytes:
    """Serialise a Keras model to the bytes of a native ``.keras`` file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def _model_from_bytes(data: bytes):
    """Inverse of :func:`_model_to_bytes`."""
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        return keras.models.load_model(path)
