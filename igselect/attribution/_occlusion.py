"""Occlusion: the drop in the target probability when landmarks are hidden.

Model-agnostic (Zeiler & Fergus, 2014): it needs predictions only, so it works
for a Keras model, a callable on arrays or any fitted estimator with
``predict_proba`` (an SVM pipeline included). A landmark, or a group of
landmarks such as a mesh region, is replaced by its baseline in every frame,
and the attribution is ``F(x) - F(x with the group occluded)``.

Networks built by :func:`~igselect.network.build_emo_network` (with a
``(kh, 1)`` conv kernel) take a faster, exact route: hiding a landmark changes
only its own block of the LSTM input, so every occluded copy's input projection
is the sample's plus one small per-landmark delta, and only the recurrence and
the dense head run per copy (:mod:`igselect.attribution._emo_occlusion`).
Everything else is predicted copy by copy, in fixed-shape batches.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_landmark_array, validate_params
from ._gradients import GRADIENT_CONSTRAINTS, _padded

__all__ = ["occlusion"]


def _predictor(model, probe: np.ndarray):
    """A function ``(batch, P, 2, L) float32 -> (batch, n_outputs)`` NumPy array."""
    net = _keras_model(model)
    if net is not None:
        # the gradient core's compiled forward (the fast engine's for EMO networks),
        # cached with the model: no retracing across calls
        from ._engines import resolve_engine
        from ._gradients import _runner_for

        channel = len(net.input_shape) == 5
        feed = probe[..., None] if channel else probe
        eng, _ = resolve_engine(net, engine="auto", dtype="float32", probe=feed[:2])
        forward = _runner_for(eng, 0).forward
        return lambda x: forward(x[..., None] if channel else x).numpy()
    if hasattr(model, "predict_proba"):
        return lambda x: np.asarray(model.predict_proba(x))
    if hasattr(model, "model_"):  # an estimator whose model_ is a plain callable
        return _predictor(model.model_, probe)
    if callable(model):
        return lambda x: np.asarray(model(x))
    raise TypeError(
        "model_or_predict_proba must be a keras.Model, a fitted estimator with predict_proba "
        f"(or model_), or a callable on arrays. Received: an object of type {type(model).__name__}"
    )


def _keras_model(model):
    """The Keras model to run: ``model`` itself, or the ``model_`` of an estimator without
    ``predict_proba``; None for estimators with ``predict_proba`` and plain callables."""
    import keras

    if isinstance(model, keras.Model):
        return model
    if not hasattr(model, "predict_proba") and hasattr(model, "model_"):
        return _keras_model(model.model_)
    return None


def _emo_drops(model, arr, base, members, target: int, batch_size: int | None):
    """The drops ``(n, n_groups)`` by the EMO landmark-delta path, or None where it does
    not apply (see :mod:`igselect.attribution._emo_occlusion`)."""
    from . import _emo_occlusion
    from ._emo_recognise import recognise_emo_network
    from ._engines import resolve_engine

    net = _keras_model(model)
    if net is None or recognise_emo_network(net) is not None:
        return None
    # the fast engine, cached with the model and checked once against its Keras forward pass
    eng, name = resolve_engine(net, engine="auto", dtype="float32", probe=arr[:2])
    if name != "fast" or not _emo_occlusion.supports(eng):
        return None
    if target >= eng.n_outputs:
        raise ValueError(
            f"target must index a column of the predicted probabilities of shape "
            f"({arr.shape[0]}, {eng.n_outputs}). Received: target={target!r}"
        )
    return _emo_occlusion.occlusion_drops(eng, arr, base, members, target, batch_size)


def _groups(groups, L: int) -> list[np.ndarray]:
    """The landmark indices of every group."""
    if groups is None:
        return [np.array([i]) for i in range(L)]
    if isinstance(groups, dict):
        out = []
        seen = np.zeros(L, bool)
        for name, idx in groups.items():
            idx = np.asarray(idx).ravel()
            if idx.size == 0 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= L:
                raise ValueError(
                    f"groups[{name!r}] must hold landmark indices in [0, {L}). "
                    f"Received: groups[{name!r}]={idx.tolist()!r}"
                )
            if seen[idx].any():
                raise ValueError(
                    f"groups must not overlap; landmark {int(idx[seen[idx]][0])} is in more than "
                    f"one group. Received: groups[{name!r}]={idx.tolist()!r}"
                )
            seen[idx] = True
            out.append(idx)
        return out
    ids = np.asarray(groups)
    if ids.shape != (L,) or ids.dtype.kind not in "iu":
        raise ValueError(
            f"groups must be None, a dict name -> landmark indices, or an int array of shape "
            f"(n_landmarks,)=({L},) of group ids. Received: groups with shape {ids.shape} and "
            f"dtype {ids.dtype}"
        )
    return [np.flatnonzero(ids == g) for g in np.unique(ids)]


def _baseline(baseline, X: np.ndarray) -> np.ndarray:
    """Baseline as ``(1 or n, P, 2, L)``."""
    n, P, _, L = X.shape
    if isinstance(baseline, str):
        if baseline != "mean":
            raise ValueError(
                f"baseline must be 'mean' or an array. Received: baseline={baseline!r}"
            )
        return X.mean(axis=(0, 1), keepdims=True).repeat(P, axis=1)
    base = np.asarray(baseline, dtype=np.float32)
    for shape in ((2, L), (P, 2, L), (1, P, 2, L), (n, P, 2, L)):
        if base.shape == shape:
            if not np.isfinite(base).all():
                raise ValueError("baseline contains NaN or infinite values.")
            rows = base.shape[0] if base.ndim == 4 else 1
            return np.broadcast_to(base, (rows, P, 2, L))
    raise ValueError(
        f"baseline must be 'mean' or an array of shape (2, L), (P, 2, L), (1, P, 2, L) or "
        f"(n, P, 2, L) = (2, {L}), ({P}, 2, {L}) or ({n}, {P}, 2, {L}). "
        f"Received: baseline.shape={base.shape}"
    )


@validate_params(GRADIENT_CONSTRAINTS, prefer_skip_nested_validation=True)
def occlusion(
    model_or_predict_proba,
    X,
    *,
    baseline="mean",
    groups=None,
    target: int = 1,
    batch_size: int | None = None,
) -> np.ndarray:
    """Occlusion attribution per landmark: the drop in ``F`` when it is hidden.

    ``scores[i, l] = F(x_i) - F(x_i with the group of l replaced by the baseline
    in every frame)``, ``F`` the ``target`` column of the predicted
    probabilities. Positive: hiding the landmark lowers the target probability.

    Parameters
    ----------
    model_or_predict_proba : keras.Model, fitted estimator or callable
        A Keras model, any fitted estimator with ``predict_proba`` on landmark
        arrays (for example a :class:`~sklearn.pipeline.Pipeline` ending in an
        SVM with ``probability=True``), an estimator with a Keras ``model_``,
        or a callable mapping a float32 array ``(batch, P, 2, L)`` to
        ``(batch, n_outputs)``.
    X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
        Landmark sequences.
    baseline : "mean" or array-like, default="mean"
        What an occluded landmark becomes. ``"mean"``: its mean position over
        the samples and frames of ``X``. An array of shape ``(2, L)`` (a
        position per landmark, the same in every frame), ``(P, 2, L)`` or
        ``(1 or n, P, 2, L)`` (per frame, per sample).
    groups : None, array-like of shape (n_landmarks,) or dict, default=None
        ``None``: every landmark alone. An int array of group ids per landmark,
        or a dict ``name -> landmark indices`` (non-overlapping; landmarks in no
        group get 0): each group is occluded as a whole.
    target : int, default=1
        Column of the predicted probabilities.
    batch_size : int, optional
        Occluded inputs per prediction call (bounds peak memory); default 256.
        For a ``build_emo_network`` model it caps the samples per call at
        ``batch_size // n_groups`` (at least one sample and all its groups);
        by default as many samples as keep the per-landmark tensors under
        128 MiB.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_landmarks), float64
        Every landmark of a group receives the whole group's drop (the same
        value, not a share of it), so a ranking of landmarks ranks the groups.

    Examples
    --------
    >>> import numpy as np
    >>> def f(x):  # reads landmark 2's x coordinate only
    ...     p = 1 / (1 + np.exp(-x[:, :, 0, 2].sum(1)))
    ...     return np.stack([1 - p, p], axis=1)
    >>> X = np.zeros((1, 2, 2, 4)); X[0, :, 0, 2] = 1.0
    >>> occlusion(f, X, baseline=np.zeros((2, 4))).round(3)
    array([[0.   , 0.   , 0.381, 0.   ]])
    """
    target = int(target)
    arr = check_landmark_array(X)
    n, P, _, L = arr.shape
    base = _baseline(baseline, arr)
    members = _groups(groups, L)
    drops = _emo_drops(model_or_predict_proba, arr, base, members, target, batch_size)
    if drops is not None:
        scores = np.zeros((n, L), np.float64)
        for g, idx in enumerate(members):  # every landmark of a group gets its group's drop
            scores[:, idx] = drops[:, g : g + 1]
        return scores
    batch_size = 256 if batch_size is None else int(batch_size)
    items = n * len(members)
    calls = -(-items // batch_size)
    batch_size = -(-items // calls)  # balanced batches: little padding
    raw = _predictor(model_or_predict_proba, arr)
    predict = _fixed_shape(raw, batch_size)
    full = np.asarray(raw(arr[: min(n, batch_size)]))
    if full.ndim != 2 or target >= full.shape[1]:
        raise ValueError(
            f"target must index a column of the predicted probabilities of shape "
            f"{tuple(full.shape)}. Received: target={target!r}"
        )
    f_x = np.concatenate(
        [full[:, target]]
        + [
            np.asarray(raw(arr[i : i + batch_size]))[:, target]
            for i in range(batch_size, n, batch_size)
        ]
    ).astype(np.float64)
    n_groups = len(members)
    member_of = np.zeros((n_groups, L), bool)  # which landmarks each group hides
    for g, idx in enumerate(members):
        member_of[g, idx] = True
    scores = np.zeros((n, L), np.float64)
    for start in range(0, items, batch_size):
        stop = min(start + batch_size, items)
        sample, group = np.divmod(np.arange(start, stop), n_groups)
        b = base[sample if base.shape[0] > 1 else np.zeros_like(sample)]
        hidden = member_of[group][:, None, None, :]  # (rows, 1, 1, L)
        occluded = np.where(hidden, b, arr[sample])
        drop = f_x[sample] - np.asarray(predict(occluded))[:, target]
        # groups do not overlap: each landmark gets its own group's drop, once
        np.add.at(scores, sample, drop[:, None] * member_of[group])
    return scores


def _fixed_shape(predict, size: int):
    """``predict`` on batches padded to ``size`` rows (one trace for compiled models)."""

    def run(x):
        rows = x.shape[0]
        if rows == size or rows == 0:
            return np.asarray(predict(x))
        if rows < size:
            return np.asarray(predict(_padded(x, size)))[:rows]
        return np.concatenate([run(x[i : i + size]) for i in range(0, rows, size)])

    return run
