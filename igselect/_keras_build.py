"""The user's ``build_fn`` inside :class:`~igselect.KerasLandmarkClassifier`.

Its build parameters (keyword arguments of the estimator that ``get_params``,
``set_params`` and ``clone`` treat as parameters, checked by name), and the
fitted model made from it: ``build_fn`` called with Keras' initializer seeds drawn
from ``random_state``, the output detected as probabilities or logits, the
``standardize`` layer in front and, for logits, a softmax behind, and the key of
the compiled trainer of :mod:`igselect._trainer` for this configuration.
"""

from __future__ import annotations

import inspect
import random

import numpy as np

from igselect._validation import InvalidParameterError

__all__: list[str] = []

#: Arguments of ``build_fn`` that the estimator fills in itself.
_SHAPE_ARGS = ("n_frames", "n_landmarks", "n_classes")


class _BuildFnMixin:
    """Build parameters and the model built from ``build_fn`` (a mixin of the estimator)."""

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
