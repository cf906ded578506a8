"""Pickling of :class:`~igselect.KerasLandmarkClassifier` through Keras' own format.

A Keras model does not pickle reliably, so the fitted ``model_`` travels as the
bytes of a native ``.keras`` file and is loaded back on unpickling; the eager
predict function is dropped and made again by the estimator's
``_make_predict_fn``. ``clone``, ``joblib.dump`` and process-based workers rely on
this.
"""

from __future__ import annotations

import os
import tempfile

__all__: list[str] = []


class _KerasPicklingMixin:
    """``__getstate__``/``__setstate__`` that carry ``model_`` as ``.keras`` bytes."""

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
