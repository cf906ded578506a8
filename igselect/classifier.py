"""EmoClassifier: the scikit-learn estimator around the T-EMO / R-EMO network.

:class:`EmoClassifier` wraps :func:`igselect.network.build_emo_network` in the
scikit-learn classifier API: parameters are validated in :meth:`fit`, fitted
state lives in attributes with a trailing underscore, and a fitted estimator
pickles (the Keras model travels in its native ``.keras`` format).
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted

from igselect._trainer import get_trainer
from igselect._validation import (
    _check_int,
    binarize_target,
    check_consistent_shape,
    check_landmark_array,
    check_landmark_target,
)
from igselect.network import _as_kernel, build_emo_network

__all__ = ["EmoClassifier"]

#: Samples per batch in predict_proba (memory bound, not a model parameter).
_PREDICT_BATCH = 256
#: Upper bound of the integer seed derived from ``random_state``.
_MAX_SEED = 2**31 - 1


def _check_fraction(value, name: str, *, high: float, low_inclusive: bool = True) -> float:
    """Validate a real number in ``[0, high)`` (``(0, high)`` if not ``low_inclusive``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value >= 0 if low_inclusive else value > 0) and value < high
    if not ok:
        bracket = "[" if low_inclusive else "("
        raise ValueError(
            f"{name} must be a float in {bracket}0, {high}). Received: {name}={value!r}"
        )
    return float(value)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False. Received: {name}={value!r}")
    return bool(value)


class EmoClassifier(ClassifierMixin, BaseEstimator):
    """Binary Conv2D + LSTM classifier of landmark sequences (T-EMO / R-EMO).

    One network of Di Luzio, Rosato & Panella (2024) per emotion: a per-frame
    Conv2D with ``n_filters`` filters and ReLU, BatchNorm, Flatten, an LSTM
    with ``lstm_units`` units, Dropout, a ReLU Dense layer with
    ``dense_units`` units and a 2-way softmax (see
    :func:`~igselect.network.build_emo_network`).

    Parameters
    ----------
    n_filters : int, default=32
        F, the number of conv filters.
    lstm_units : int, default=32
        Q, the LSTM width.
    dense_units : int, default=32
        R, the width of the ReLU layer FC1.
    kernel_size : int or (int, int), default=(2, 1)
        Conv kernel over each ``(2, n_landmarks)`` frame; the default combines
        the x and y of one landmark (see
        :data:`igselect.network.DEFAULT_KERNEL_SIZE`).
    dropout : float, default=0.2
        Dropout rate after the LSTM, in ``[0, 1)``.
    randomized : bool, default=False
        False trains every layer (T-EMO); True keeps the conv filters at their
        random initial values (R-EMO, the paper's fast variant).
    positive_class : label or None, default=None
        None: ``y`` must hold exactly two labels and the larger one (sorted
        order) is the positive class. Otherwise ``y`` may be multi-class and
        is binarised as ``y == positive_class`` (one-vs-rest);
        ``classes_`` is then ``[0, 1]`` with 1 the positive class, and
        :meth:`score` binarises ``y`` the same way, so a Pipeline can be
        given the multi-class ``y``.
    standardize : bool, default=True
        Standardise each coordinate of each landmark with the mean and
        standard deviation of the training data (over samples and frames),
        inside the Keras model (see Notes).
    learning_rate : float, default=1e-4
        Adam learning rate (the paper's value; small data sets usually need a
        larger one, e.g. 1e-3 to 1e-2).
    batch_size : int, default=16
        Mini-batch size.
    epochs : int, default=50
        Maximum number of epochs.
    validation_fraction : float, default=0.1
        Fraction of the training data held out, by a stratified split, to
        monitor the (class-weighted) ``val_loss`` for early stopping. 0
        disables validation and early stopping. They are also skipped, with a :class:`UserWarning`,
        when the data are too small for a stratified split (fewer than 2
        held-out or 2 remaining samples, or a class with a single sample).
    patience : int, default=10
        Epochs without improvement of ``val_loss`` before training stops;
        the weights of the best epoch are restored.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss. A dict maps the labels of
        ``classes_`` to weights; "balanced" uses
        ``n_samples / (2 * np.bincount(y))``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisers, the dropout masks, the validation
        split and the shuffling of the mini-batches. An int makes
        :meth:`fit` repeatable on the CPU. No global seed (NumPy, Python,
        TensorFlow) is set or changed.
    verbose : int or bool, default=0
        0 (False) is silent, 1 (True) prints one line per fit with its
        duration and final losses, 2 also prints Keras' one-line-per-epoch
        log.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The labels: the two labels of ``y``, or ``[0, 1]`` when
        ``positive_class`` is set. Column 1 of :meth:`predict_proba` is
        ``classes_[1]``, the positive class.
    positive_class_ : label
        The positive class in terms of the original ``y``.
    model_ : keras.Model
        The trained network: raw landmark coordinates
        ``(batch, n_frames, 2, n_landmarks)`` in, softmax ``(batch, 2)`` out.
        Standardisation is its first layer, so gradients (and Integrated
        Gradients) are with respect to raw coordinates.
    history_ : dict of str to list of float
        Per-epoch ``loss`` (the class-weighted training loss, averaged over
        the epoch's mini-batches) and ``accuracy`` (on the training batches,
        in training mode), plus ``val_loss`` (class-weighted) and
        ``val_accuracy`` at the end of each epoch when a validation set was
        used.
    n_iter_ : int
        Number of epochs run (fewer than ``epochs`` after early stopping).
    epoch_times_ : ndarray of shape (n_iter_,)
        Wall-clock seconds of each epoch (its training steps and validation).
        The first one includes tracing and optimising the compiled epoch
        function, so the compute time per epoch is best read as the median
        of ``epoch_times_[1:]``.
    n_frames_in_ : int
        Number of frames P seen in :meth:`fit`.
    n_landmarks_in_ : int
        Number of landmarks L seen in :meth:`fit`.
    fit_time_ : float
        Wall-clock duration of :meth:`fit` in seconds.

    See Also
    --------
    igselect.network.build_emo_network : The Keras network itself.
    igselect.GlobalIGSelector : Ranks landmarks by Integrated Gradients of
        this classifier.

    Notes
    -----
    **T-EMO vs R-EMO.** T-EMO trains every layer. R-EMO freezes the conv
    filters at their seeded random initial values, so only BatchNorm, the
    LSTM and the dense layers learn; the paper reports similar accuracy at a
    lower training cost.

    **Loss.** The output is a 2-column softmax. The loss is sparse
    categorical cross-entropy on 0/1 labels, which equals binary
    cross-entropy on the positive-class probability.

    **Why standardise inside the model.** An expression moves landmarks by
    only about 3% of the face radius, much less than faces differ between
    people. On the London neutral/smile faces a small Conv2D+LSTM on raw
    coordinates scored at chance (0.50); per-face centring and scaling plus
    per-coordinate standardisation reached 0.83-0.89. Faces are best
    aligned beforehand (e.g. by a Procrustes transformer); this estimator
    then standardises each coordinate with training statistics. Doing so in
    a Keras ``Normalization`` layer, rather than in a separate transformer,
    keeps ``model_`` a function of raw coordinates, so attributions refer to
    raw landmarks.

    **Training loop.** Each epoch is one call of a compiled ``tf.function``
    that runs all of its mini-batch steps (Adam on the class-weighted sparse
    categorical cross-entropy) and the validation pass; early stopping
    follows ``keras.callbacks.EarlyStopping(monitor="val_loss",
    restore_best_weights=True)``. On the few hundred samples of a facial
    expression data set, Keras' ``Model.fit`` spent most of an epoch outside
    the computation (one graph call per step, a separate ``evaluate`` run per
    epoch), so the time per epoch hardly depended on the network size; here
    it does. The compiled epoch belongs to a trainer that is cached per
    network configuration and reused by later fits of the same
    configuration (each fit copies its freshly initialised network in and
    the trained one out), so a grid search or a benchmark traces each
    configuration once instead of once per fit. ``model_`` is left
    uncompiled.

    **Repeatability.** With an int ``random_state``, fitting twice on the
    CPU gives the same predictions. GPU kernels (cuDNN LSTM) are not
    guaranteed bit-repeatable.

    **Pickling.** ``pickle`` and ``joblib`` store ``model_`` as the bytes of
    a native ``.keras`` file; unpickling loads it with
    :func:`keras.models.load_model`.

    Examples
    --------
    >>> import numpy as np
    >>> from igselect import EmoClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 4, 2, 10)).astype("float32")
    >>> y = np.repeat(["happy", "sad"], 20)
    >>> X[y == "happy", :, 1, :3] += 1.0
    >>> clf = EmoClassifier(n_filters=4, lstm_units=8, dense_units=8, epochs=20,
    ...                     learning_rate=1e-2, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['happy', 'sad'], dtype='<U5')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(
        self,
        n_filters: int = 32,
        lstm_units: int = 32,
        dense_units: int = 32,
        kernel_size=(2, 1),
        dropout: float = 0.2,
        randomized: bool = False,
        positive_class=None,
        standardize: bool = True,
        learning_rate: float = 1e-4,
        batch_size: int = 16,
        epochs: int = 50,
        validation_fraction: float = 0.1,
        patience: int = 10,
        class_weight=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.n_filters = n_filters
        self.lstm_units = lstm_units
        self.dense_units = dense_units
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.randomized = randomized
        self.positive_class = positive_class
        self.standardize = standardize
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ params
    def _validate_params(self) -> None:
        for name in ("n_filters", "lstm_units", "dense_units", "batch_size", "epochs"):
            _check_int(getattr(self, name), name)
        _check_int(self.patience, "patience", min_value=0)
        if not isinstance(self.verbose, bool):
            _check_int(self.verbose, "verbose", min_value=0)
        _as_kernel(self.kernel_size)
        _check_fraction(self.dropout, "dropout", high=1.0)
        _check_fraction(self.validation_fraction, "validation_fraction", high=1.0)
        _check_bool(self.randomized, "randomized")
        _check_bool(self.standardize, "standardize")
        lr = self.learning_rate
        if (
            isinstance(lr, bool)
            or not isinstance(lr, numbers.Real)
            or not math.isfinite(lr)
            or lr <= 0
        ):
            raise ValueError(
                f"learning_rate must be a positive float. Received: learning_rate={lr!r}"
            )
        cw = self.class_weight
        if not (cw is None or isinstance(cw, dict) or (isinstance(cw, str) and cw == "balanced")):
            raise ValueError(
                "class_weight must be None, 'balanced' or a dict mapping labels to weights. "
                f"Received: class_weight={cw!r}"
            )
        try:
            check_random_state(self.random_state)
        except ValueError as exc:
            raise ValueError(
                "random_state must be None, an int or a numpy RandomState. "
                f"Received: random_state={self.random_state!r}"
            ) from exc

    def _class_weights(self, y01: np.ndarray) -> np.ndarray:
        """Per-class loss weights, indexed by the 0/1 label."""
        if self.class_weight is None:
            return np.ones(2)
        if isinstance(self.class_weight, str):
            return compute_class_weight("balanced", classes=np.array([0, 1]), y=y01)
        unknown = [k for k in self.class_weight if not np.any(self.classes_ == k)]
        if unknown:
            raise ValueError(
                f"class_weight has keys that are not in classes_={self.classes_.tolist()!r}. "
                f"Received: class_weight={self.class_weight!r}"
            )
        weights = np.ones(2)
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

    # --------------------------------------------------------------------- fit
    def fit(self, X, y):
        """Train the network on landmark sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Raw landmark coordinates. A trailing channel axis of size 1 is
            dropped.
        y : array-like of shape (n_samples,)
            Labels: exactly two classes, or any number of classes when
            ``positive_class`` is set.

        Returns
        -------
        self : EmoClassifier
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
        y01 = binarize_target(y, self.positive_class)
        if self.positive_class is None:
            self.classes_ = np.unique(y)
            self.positive_class_ = self.classes_[1]
        else:
            self.classes_ = np.array([0, 1])
            self.positive_class_ = self.positive_class
        self.n_frames_in_, self.n_landmarks_in_ = int(X.shape[1]), int(X.shape[3])
        seed = int(check_random_state(self.random_state).randint(_MAX_SEED))
        class_w = self._class_weights(y01)

        X_tr, y_tr, val = self._split(X, y01, seed)
        mean = std = None
        if self.standardize:
            mean = X_tr.mean(axis=(0, 1), dtype=np.float64)
            std = X_tr.std(axis=(0, 1), dtype=np.float64)
        build_kwargs = dict(
            n_frames=self.n_frames_in_,
            n_landmarks=self.n_landmarks_in_,
            n_filters=int(self.n_filters),
            lstm_units=int(self.lstm_units),
            dense_units=int(self.dense_units),
            kernel_size=_as_kernel(self.kernel_size),
            dropout=float(self.dropout),
            randomized=bool(self.randomized),
        )
        model = build_emo_network(**build_kwargs, seed=seed, mean=mean, std=std)
        history, epoch_times = self._train(model, build_kwargs, X_tr, y_tr, val, class_w, seed)
        self.model_ = model
        self._predict_fn = self._make_predict_fn()
        self.history_ = history
        self.n_iter_ = len(history["loss"])
        self.epoch_times_ = np.asarray(epoch_times)
        self.fit_time_ = time.perf_counter() - start
        if self.verbose:
            last = ", ".join(f"{k}={v[-1]:.4f}" for k, v in self.history_.items() if v)
            print(
                f"[EmoClassifier] {'R-EMO' if self.randomized else 'T-EMO'} fitted on "
                f"{X.shape[0]} samples ({self.n_frames_in_} frames, {self.n_landmarks_in_} "
                f"landmarks): {self.n_iter_} epochs in {self.fit_time_:.1f} s; {last}"
            )
        return self

    def _train(self, model, build_kwargs, X_tr, y_tr, val, class_w, seed):
        """Run the epochs with early stopping; returns ``(history, epoch_times)``.

        The epochs run on the cached trainer of this network configuration
        (:mod:`igselect._trainer`): it starts from ``model``'s initial state
        and the trained state is copied back into ``model``.
        """
        import tensorflow as tf

        key = (
            tuple(sorted(build_kwargs.items())),
            float(self.learning_rate),
            int(self.batch_size),
        )
        trainer = get_trainer(
            key, build_kwargs, learning_rate=self.learning_rate, batch_size=self.batch_size
        )
        # The template has no standardisation layer: standardise here, with the
        # model's own layer (the same operation as at inference).
        scale = model.get_layer("standardize") if self.standardize else (lambda x: x)

        def tensors(X, y01):
            X = tf.cast(scale(tf.constant(X, tf.float32)), tf.float32)
            return [X, tf.constant(y01, tf.int64), tf.constant(class_w[y01], tf.float32)]

        # Class weights enter the loss as per-sample weights, the validation loss
        # included, so early stopping monitors the training objective.
        args = tensors(X_tr, y_tr) + ([] if val is None else tensors(*val))
        epoch_fn = trainer.train_epoch if val is None else trainer.train_epoch_validated
        # Own shuffling from the seed: repeatable without touching the global
        # TensorFlow / NumPy / Python seeds.
        order_rng = np.random.RandomState(seed)
        history = {"loss": [], "accuracy": []}
        if val is not None:
            history.update(val_loss=[], val_accuracy=[])
        epoch_times = []
        best, best_weights, wait = np.inf, None, 0
        with trainer.lock:
            trainer.load(model)
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
            trainer.store(model)
        if best_weights is not None:
            model.set_weights(best_weights)
        return history, epoch_times

    def _split(self, X: np.ndarray, y01: np.ndarray, seed: int):
        """Stratified train/validation split; ``val`` is None when skipped."""
        frac = float(self.validation_fraction)
        if frac == 0:
            return X, y01, None
        n = X.shape[0]
        n_val = math.ceil(frac * n)
        if n_val < 2 or n - n_val < 2 or np.bincount(y01, minlength=2).min() < 2:
            warnings.warn(
                f"Too few samples for a stratified validation split of {n} samples with "
                f"validation_fraction={frac}; training on all samples without validation "
                "or early stopping.",
                UserWarning,
                stacklevel=3,
            )
            return X, y01, None
        X_tr, X_val, y_tr, y_val = train_test_split(
            X, y01, test_size=n_val, stratify=y01, random_state=seed
        )
        return X_tr, y_tr, (X_val, y_val)

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
        fit (and trigger TensorFlow's retracing warning in grid searches), while
        inference time is dominated by the LSTM input projection either way.
        """
        model = self.model_

        def predict_fn(x):
            return model(x, training=False)

        return predict_fn

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """Softmax outputs of ``model_``, in batches of ``_PREDICT_BATCH`` samples."""
        import tensorflow as tf

        fn = self._predict_fn
        out = [
            fn(tf.constant(X[i : i + _PREDICT_BATCH])).numpy()
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
        proba : ndarray of shape (n_samples, 2)
            Column ``j`` is the probability of ``classes_[j]``; column 1 is
            the positive class.
        """
        X = self._check_predict_input(X)
        return self._forward(X).astype(np.float64)

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the positive class, ``log p1 - log p0``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Raw landmark coordinates.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Positive values favour ``classes_[1]``.
        """
        proba = np.clip(self.predict_proba(X), np.finfo(np.float32).tiny, None)
        return np.log(proba[:, 1]) - np.log(proba[:, 0])

    def predict(self, X) -> np.ndarray:
        """Predicted labels, taken from ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Raw landmark coordinates.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            ``classes_[1]`` where its probability exceeds 0.5, else ``classes_[0]``.
        """
        proba = self.predict_proba(X)
        return self.classes_[(proba[:, 1] > proba[:, 0]).astype(int)]

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
        # X is (n_samples, n_frames, 2, n_landmarks): neither 2-D nor 3-D.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = False
        return tags

    # ---------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
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
