"""Dataset-level landmark scores for every attribution method of the selector.

:class:`~igselect.selector.GlobalAttributionSelector` trains once (cached by
:func:`~igselect._global_ig._fit_full_estimator`), then calls
:func:`_global_attribution_scores` (cached too): it finds the positive
class's output column from the fitted estimator's ``classes_``, then runs the
chosen method on the inputs (the positive class's training samples, or all)
and reduces the attributions to one score per landmark:

- ``"integrated_gradients"``: the paper's multi-baseline IG
  (:func:`~igselect._global_ig._global_ig_scores`), one row per baseline;
- ``"gradient_shap"``: expected gradients with the baselines as the
  reference distribution, one row;
- ``"occlusion"``: the probability drop when a landmark takes the value it
  has in a baseline, one row per baseline (needs only ``predict_proba``);
- ``"input_x_gradient"``: ``(x - b) * dF/dx``, one gradient per input and one
  row per baseline (with ``"onset"`` one baseline per input, one row);
- ``"saliency"``, ``"grad_cam"``: no baseline, one row;
- a callable ``f(estimator, X, y, positive_class) -> (L,)``: one row.

The score of a landmark is the mean over the inputs of
:func:`~igselect.attribution.aggregate_landmark_scores` (absolute values
summed over frames and coordinates). Private: the API is the selector.
"""

from __future__ import annotations

import numpy as np

from ._global_ig import _global_ig_scores, _make_baselines, _onset_baselines

__all__: list[str] = []

#: Built-in attribution methods, by the name of their function in igselect.attribution.
ATTRIBUTIONS = (
    "integrated_gradients",
    "gradient_shap",
    "saliency",
    "input_x_gradient",
    "grad_cam",
    "occlusion",
)
#: Methods that compare each input with baselines (the others ignore ``baselines``).
BASELINE_METHODS = ("integrated_gradients", "gradient_shap", "occlusion", "input_x_gradient")
#: What ``baselines="auto"`` means per method. IG and GradientSHAP contrast each input
#: with the other classes (the paper's typical samples); occlusion and input x gradient
#: need the value that stands for "no information" about a landmark, its mean position.
AUTO_BASELINES = {
    "integrated_gradients": "typical",
    "gradient_shap": "typical",
    "occlusion": "mean",
    "input_x_gradient": "mean",
}


def _positive_label(estimator, positive_class, *, binarised: bool):
    """The label of the positive class in the fitted estimator's ``classes_``.

    The estimator saw 0/1 labels (1 = positive) when the selector binarised
    ``y`` for it (``binarised``) or when it binarises itself
    (``positive_class`` set); otherwise its classes are the original labels.
    """
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    if binarised or params.get("positive_class") is not None:
        return 1
    return positive_class


def _positive_column(estimator, positive_class, *, binarised: bool) -> int:
    """Output column of the positive class: its position in ``estimator.classes_``."""
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise TypeError(
            "The selector takes the positive class's output column from the fitted "
            "estimator's `classes_`, which this estimator does not have. "
            f"Received: estimator={estimator!r}"
        )
    classes = np.asarray(classes)
    label = _positive_label(estimator, positive_class, binarised=binarised)
    where = np.flatnonzero(classes == label)
    if where.size == 0 and not binarised and set(classes.tolist()) == {0, 1}:
        where = np.flatnonzero(classes == 1)  # a prefit estimator trained on 0/1 labels
    if where.size != 1:
        raise ValueError(
            f"The positive class {label!r} is not in the fitted estimator's classes_ "
            f"{classes.tolist()!r}. Received: positive_class={positive_class!r}"
        )
    return int(where[0])


def _keras_model(estimator, attribution: str):
    model = getattr(estimator, "model_", None)
    if model is None:
        raise TypeError(
            f"attribution={attribution!r} needs an estimator exposing its fitted Keras model "
            "as `model_` (as EmoClassifier and KerasLandmarkClassifier do); only "
            "'occlusion' and a callable work from predictions alone. "
            f"Received: estimator={estimator!r}"
        )
    return model


def _no_baselines(X):
    return {
        "baselines": np.empty((0,) + X.shape[1:], dtype=X.dtype),
        "baseline_labels": np.empty(0, dtype=object),
        "baseline_indices": np.empty(0, dtype=np.int64),
    }


def _one_row(scores, X, **extra):
    return {
        "scores_per_baseline": np.asarray(scores, np.float64)[None],
        **_no_baselines(X),
        **extra,
    }


def _mean_scores(attributions) -> np.ndarray:
    from . import attribution as attr

    return np.asarray(attr.aggregate_landmark_scores(attributions), np.float64).mean(axis=0)


def _global_attribution_scores(
    X,
    y,
    *,
    estimator_key,
    attribution,
    attribution_params,
    positive_class,
    binarised,
    complement,
    baselines,
    inputs,
    n_steps,
    method,
    batch_size,
    random_state,
    estimator,
    verbose,
):
    """Landmark scores (one row per baseline) of a fitted estimator.

    Cached by the selector's ``memory``. ``estimator`` (fitted) and
    ``verbose`` are left out of the cache key; ``estimator_key`` (the
    training key, or the weights of a prefit estimator) stands for it.
    """
    from . import attribution as attr

    del estimator_key  # only part of the cache key
    params = dict(attribution_params or {})
    if callable(attribution):
        scores = np.asarray(attribution(estimator, X, y, positive_class), dtype=np.float64)
        if scores.shape != (X.shape[3],):
            raise ValueError(
                "The attribution callable must return one score per landmark, of shape "
                f"({X.shape[3]},). Received: an array of shape {scores.shape}"
            )
        return _one_row(scores, X)
    column = _positive_column(estimator, positive_class, binarised=binarised)
    rows = np.flatnonzero(y == positive_class) if inputs == "positive" else np.arange(len(X))
    X_in = X[rows]
    if attribution == "integrated_gradients":
        model = _keras_model(estimator, attribution)
        return _global_ig_scores(
            X,
            y,
            rows,
            complement=complement,
            baselines=baselines,
            n_steps=n_steps,
            method=method,
            batch_size=batch_size,
            model=model,
            column=column,
            verbose=verbose,
        )
    if attribution == "occlusion":
        model = getattr(estimator, "model_", None)
        target = model if model is not None else estimator.predict_proba
        base, labels, indices, per_row = _baseline_rows(
            baselines, X, y, rows, complement, model, column, batch_size
        )
        per_base = np.stack(
            [
                _mean_scores(
                    attr.occlusion(
                        target, X_in, baseline=b, target=column, batch_size=batch_size, **params
                    )
                )
                for b in per_row
            ]
        )
        return _rows(per_base, base, labels, indices)
    model = _keras_model(estimator, attribution)
    if attribution == "input_x_gradient":
        return _input_x_gradient_scores(
            model, X, y, rows, baselines, complement, column, batch_size, params
        )
    if attribution == "gradient_shap":
        base, labels, indices = _make_baselines(
            baselines, X, y, complement, model, column, batch_size
        )
        params.setdefault("random_state", random_state)
        params.setdefault("verbose", verbose)
        scores = _mean_scores(
            attr.gradient_shap(model, X_in, base, target=column, batch_size=batch_size, **params)
        )
        return _rows(scores[None], base, labels, indices)
    function = getattr(attr, attribution)  # saliency, grad_cam
    scores = _mean_scores(function(model, X_in, target=column, batch_size=batch_size, **params))
    return _one_row(scores, X)


def _input_x_gradient_scores(model, X, y, rows, baselines, complement, column, batch_size, params):
    """``(x - b) * dF/dx`` for every baseline ``b``, from one gradient per input."""
    from .attribution._saliency import _per_baseline_scores

    if params:
        raise TypeError(
            "input_x_gradient takes no attribution_params (its baselines come from the "
            f"selector's `baselines`). Received: attribution_params={params!r}"
        )
    base, labels, indices, per_row = _baseline_rows(
        baselines, X, y, rows, complement, model, column, batch_size
    )
    scores = _per_baseline_scores(model, X[rows], per_row, column, batch_size)
    return _rows(scores.astype(np.float64).mean(axis=1), base, labels, indices)


def _baseline_rows(baselines, X, y, rows, complement, model, column, batch_size):
    """``(baselines, labels, indices, per_row)`` of occlusion and input x gradient.

    ``per_row`` holds what each score row compares the inputs with: every
    baseline in turn, or with ``"onset"`` all of them at once (one per input).
    """
    if isinstance(baselines, str) and baselines == "onset":
        base = _onset_baselines(X[rows])
        labels = np.full(len(rows), "onset", dtype=object)
        return base, labels, np.asarray(rows, dtype=np.int64), [base]
    base, labels, indices = _make_baselines(baselines, X, y, complement, model, column, batch_size)
    return base, labels, indices, base


def _rows(scores_per_baseline, base, labels, indices) -> dict:
    return {
        "scores_per_baseline": scores_per_baseline,
        "baselines": base,
        "baseline_labels": labels,
        "baseline_indices": indices,
    }
