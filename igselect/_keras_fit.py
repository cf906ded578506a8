"""The steps of :meth:`KerasLandmarkClassifier.fit <igselect.KerasLandmarkClassifier.fit>`.

What happens before the epochs (``_prepare_fit``: validation of the
parameters and inputs, the seed, the standardisation statistics and the
network) and after them (``_finish_fit``: the fitted attributes), shared by
:meth:`~igselect.KerasLandmarkClassifier.fit` and by the stacked fits of
:mod:`igselect._stacked_fit`; label encoding (every label a class, or
one-vs-rest with ``positive_class``), the per-class loss weights, the
stratified validation split (skipped with a warning when the data are too
small for it) and the epoch loop on the cached trainer of
:mod:`igselect._trainer`, with early stopping on the class-weighted validation
loss and the best epoch's weights restored.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from typing import NamedTuple

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight

from igselect._validation import binarize_target, check_landmark_array, check_landmark_target

__all__: list[str] = []

#: Upper bound of the integer seed derived from ``random_state``.
_MAX_SEED = 2**31 - 1


class _PreparedFit(NamedTuple):
    """What :meth:`KerasLandmarkClassifier._prepare_fit` hands to the epoch loop."""

    model: object  # model_: standardize -> network [-> softmax]
    network: object  # the part that trains (build_fn's model)
    scale: object  # the standardize layer, or None
    trainer_key: object
    build_template: object
    from_logits: bool
    X_train: np.ndarray
    y_train: np.ndarray  # class indices
    validation: tuple | None  # (X_val, y_val) or None
    class_weights: np.ndarray  # per class index
    seed: int
    n_samples: int  # passed to fit


class _FitStepsMixin:
    """Target encoding, class weights, validation split and epoch loop (a mixin)."""

    def _prepare_fit(self, X, y) -> _PreparedFit:
        """Everything :meth:`fit` does before the epochs (shared with stacked fits)."""
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
        scale = model.get_layer("standardize") if self.standardize else None
        return _PreparedFit(
            model,
            network,
            scale,
            key,
            template,
            from_logits,
            X_tr,
            y_tr,
            val,
            class_w,
            seed,
            int(X.shape[0]),
        )

    def _fit_prepared(self, prepared: _PreparedFit, start: float):
        """The epochs on this configuration's cached trainer, then the fitted attributes."""
        from igselect._trainer import get_trainer

        trainer = get_trainer(
            prepared.trainer_key,
            prepared.build_template,
            n_frames=self.n_frames_in_,
            n_landmarks=self.n_landmarks_in_,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            from_logits=prepared.from_logits,
        )
        history, epoch_times = self._train(
            trainer,
            prepared.network,
            prepared.scale,
            prepared.X_train,
            prepared.y_train,
            prepared.validation,
            prepared.class_weights,
            prepared.seed,
        )
        return self._finish_fit(prepared.model, history, epoch_times, start, prepared.n_samples)

    def _finish_fit(self, model, history: dict, epoch_times, start: float, n_samples: int):
        """Everything :meth:`fit` does after the epochs; returns ``self``."""
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
                f"{n_samples} samples "
                f"({self.n_frames_in_} frames, {self.n_landmarks_in_} "
                f"landmarks): {self.n_iter_} epochs in {self.fit_time_:.1f} s; {last}"
            )
        return self

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
