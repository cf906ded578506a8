"""Computation behind :class:`~igselect.selector.GlobalIGSelector`.

The training on all landmarks that the selectors cache with
``joblib.Memory``, the multi-baseline IG scores (cached through
:mod:`._global_attribution`), the baseline strategies (one baseline per
other class, every sample of the other classes, single baselines, or each
input's own onset), and the resolution of ``n_landmarks``. Private: the API
is the selector.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances

from ._validation import Interval, IntInterval, RealNotInt

__all__: list[str] = []


#: What ``n_landmarks`` (or the value its callable returns) may be: a count or a fraction.
_N_COUNT = IntInterval(1)
_N_FRACTION = Interval(RealNotInt, 0, 1, closed="right")
#: The ``_parameter_constraints`` entry of every landmark selector's ``n_landmarks``.
N_LANDMARKS_CONSTRAINT = [_N_COUNT, _N_FRACTION, callable]


def _resolve_n_landmarks(n_landmarks, n_in: int) -> int:
    """Turn the ``n_landmarks`` parameter into a count in ``[1, n_in]``.

    ``n_landmarks`` itself is checked by the estimators' ``_parameter_constraints``;
    this checks what a callable returns and the bound ``n_in`` that only the data give.
    """
    value = n_landmarks(n_in) if callable(n_landmarks) else n_landmarks
    if _N_COUNT.is_satisfied_by(value):
        count = int(value)
    elif callable(n_landmarks):
        raise ValueError(
            f"The n_landmarks callable must return an int >= 1. Received: n_landmarks={value!r}"
        )
    elif _N_FRACTION.is_satisfied_by(value):
        count = max(1, int(value * n_in))  # floor, as RFE's n_features_to_select
    else:
        raise ValueError(
            f"n_landmarks must be {_N_COUNT}, {_N_FRACTION} or a callable returning an int. "
            f"Received: n_landmarks={value!r}"
        )
    if count > n_in:
        raise ValueError(
            f"n_landmarks must be between 1 and the number of input landmarks ({n_in}). "
            f"Received: n_landmarks={value!r}"
        )
    return count


def _params_key(estimator):
    """A clone-stable, hashable summary of an estimator's configuration."""
    if not hasattr(estimator, "get_params"):
        return estimator
    params = estimator.get_params(deep=False)
    return (
        f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        sorted((name, _params_key(value)) for name, value in params.items()),
    )


def _fitted_key(estimator):
    """Key of a prefit estimator: its configuration and its weights."""
    model = getattr(estimator, "model_", None)
    weights = model.get_weights() if hasattr(model, "get_weights") else estimator
    return _params_key(estimator), weights, getattr(estimator, "classes_", None)


def _standardized(X: np.ndarray) -> np.ndarray:
    """Flatten samples after per-coordinate standardisation over samples and frames."""
    mean = X.mean(axis=(0, 1), keepdims=True)
    std = X.std(axis=(0, 1), keepdims=True)
    return ((X - mean) / np.where(std > 1e-12, std, 1.0)).reshape(X.shape[0], -1)


def _medoid(Z: np.ndarray) -> int:
    """Index of the row minimising its summed Euclidean distance to the others."""
    return int(np.argmin(pairwise_distances(Z).sum(axis=1)))


def _predict_column(model, X: np.ndarray, column: int, batch_size: int | None) -> np.ndarray:
    """``model(X)[:, column]`` in batches, without Keras' predict machinery."""
    step = batch_size or 256
    out = [
        np.asarray(model(X[i : i + step], training=False))[:, column]
        for i in range(0, len(X), step)
    ]
    return np.concatenate(out).astype(np.float64)


def _make_baselines(strategy, X, y, complement, model, column, batch_size):
    """Return ``(baselines (k, P, 2, L), labels (k,), indices (k,))``."""
    if isinstance(strategy, str) and strategy == "others":
        picks = np.flatnonzero(np.isin(y, np.asarray(complement, dtype=y.dtype)))
        return X[picks], np.asarray(y[picks], dtype=object), picks
    if isinstance(strategy, str) and strategy in ("typical", "confident"):
        Z = _standardized(X) if strategy == "typical" else None
        picks = []
        for label in complement:
            rows = np.flatnonzero(y == label)
            if strategy == "typical":
                picks.append(rows[_medoid(Z[rows])])
            else:
                picks.append(rows[np.argmin(_predict_column(model, X[rows], column, batch_size))])
        picks = np.asarray(picks, dtype=np.int64)
        return X[picks], np.asarray(complement, dtype=object), picks
    if isinstance(strategy, str) and strategy == "zeros":
        base = np.zeros((1,) + X.shape[1:], dtype=X.dtype)
        return base, np.asarray(["zeros"], dtype=object), np.asarray([-1])
    if isinstance(strategy, str) and strategy == "mean":
        base = X.mean(axis=0, keepdims=True)
        return base, np.asarray(["mean"], dtype=object), np.asarray([-1])
    base = np.asarray(strategy, dtype=X.dtype)  # validated array, (k, P, 2, L)
    labels = np.asarray([f"array_{j}" for j in range(base.shape[0])], dtype=object)
    return base, labels, np.full(base.shape[0], -1, dtype=np.int64)


def _fit_full_estimator(X, y, *, estimator_key, positive_class, estimator):
    """Train ``estimator`` on all landmarks; cached by the selector's ``memory``.

    ``estimator`` is left out of the cache key; ``estimator_key`` (its class
    and parameters) stands for it.
    """
    del estimator_key  # only part of the cache key
    if "positive_class" in estimator.get_params(deep=False):
        return estimator.fit(X, y)  # it binarises the multi-class y itself
    return estimator.fit(X, (y == positive_class).astype(np.int64))


def _global_ig_scores(
    X, y, rows, *, complement, baselines, n_steps, method, batch_size, model, column, verbose
):
    """Baselines and multi-baseline IG landmark scores of a fitted Keras model.

    ``rows`` are the inputs to attribute, ``column`` the output column of the
    positive class (from the estimator's ``classes_``). The selector caches
    the result through
    :func:`~igselect._global_attribution._global_attribution_scores`.
    """
    from tqdm.auto import tqdm

    from .attribution import aggregate_landmark_scores

    X_in = X[rows]
    if isinstance(baselines, str) and baselines == "onset":
        return _onset_ig_scores(model, X_in, rows, column, n_steps, method, batch_size, verbose)
    base, labels, indices = _make_baselines(baselines, X, y, complement, model, column, batch_size)
    f_x = _predict_column(model, X_in, column, batch_size)
    f_b = _predict_column(model, base, column, batch_size)
    scores = np.empty((base.shape[0], X.shape[3]))
    deltas = np.empty((base.shape[0], X_in.shape[0]))
    steps_used = np.empty(base.shape[0], dtype=np.int64)
    bar = tqdm(range(base.shape[0]), desc="IG per baseline", disable=not verbose, leave=False)
    for j in bar:
        attributions, delta, steps_used[j] = _integrate(
            model, X_in, base[j : j + 1], column, n_steps, method, batch_size
        )
        scores[j] = np.asarray(aggregate_landmark_scores(attributions), np.float64).mean(axis=0)
        deltas[j] = np.asarray(delta, dtype=np.float64)
    return {
        "scores_per_baseline": scores,
        "deltas": deltas,
        "n_steps": steps_used,
        "gaps": np.abs(f_x[None, :] - f_b[:, None]),
        "baselines": base,
        "baseline_labels": labels,
        "baseline_indices": indices,
    }


def _integrate(model, X_in, base, column, n_steps, method, batch_size, verbose=0):
    """``(attributions, deltas, n_steps)`` of ``X_in`` against ``base`` (one or one per input)."""
    from .attribution import integrated_gradients

    return integrated_gradients(
        model,
        X_in,
        base,
        target=column,
        n_steps=n_steps,
        method=method,
        batch_size=batch_size,
        return_deltas=True,
        return_n_steps=True,
        verbose=verbose,
    )


def _onset_baselines(X: np.ndarray) -> np.ndarray:
    """Each sequence's own first frame, repeated over all its frames."""
    return np.ascontiguousarray(np.broadcast_to(X[:, :1], X.shape))


def _onset_ig_scores(model, X_in, rows, column, n_steps, method, batch_size, verbose):
    """IG of every input against its own onset baseline (``baselines="onset"``).

    One baseline per input, used for that input only: the per-baseline rows
    (scores, deltas, gaps) are per input, with one input per baseline.
    """
    from .attribution import aggregate_landmark_scores

    base = _onset_baselines(X_in)
    attributions, delta, steps = _integrate(
        model, X_in, base, column, n_steps, method, batch_size, verbose
    )
    f_x = _predict_column(model, X_in, column, batch_size)
    f_b = _predict_column(model, base, column, batch_size)
    n_in = X_in.shape[0]
    return {
        "scores_per_baseline": np.asarray(aggregate_landmark_scores(attributions), np.float64),
        "deltas": np.asarray(delta, dtype=np.float64).reshape(n_in, 1),
        "n_steps": np.full(n_in, steps, dtype=np.int64),
        "gaps": np.abs(f_x - f_b).reshape(n_in, 1),
        "baselines": base,
        "baseline_labels": np.full(n_in, "onset", dtype=object),
        "baseline_indices": np.asarray(rows, dtype=np.int64),
    }
