"""igselect: attribution-driven landmark selection in the scikit-learn style.

The heavy dependencies (TensorFlow, MediaPipe) are imported lazily, the first
time one of the names below is used, so that ``import igselect`` and the
command-line interface start quickly.

Examples
--------
>>> from igselect import EmoClassifier, GlobalIGSelector  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "EmoClassifier": "igselect.classifier",
    "KerasLandmarkClassifier": "igselect.classifier",
    "GlobalAttributionSelector": "igselect.selector",
    "GlobalIGSelector": "igselect.selector",
    "EmotionEnsemble": "igselect.ensemble",
    "build_emo_network": "igselect.network",
    "integrated_gradients": "igselect.attribution",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'igselect' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
