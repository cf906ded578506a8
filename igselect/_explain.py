"""``igselect explain``: one prediction of a fitted pipeline, drawn on the face.

:func:`explain` loads a pipeline saved with :func:`joblib.dump` (for example
aligner -> :class:`~igselect.GlobalAttributionSelector` -> classifier),
extracts the landmarks of a photo or a video, predicts, attributes the
prediction to the landmarks with one method, and writes the per-landmark
attributions as a heatmap over the photo (or one frame of the video) with the
predicted probability in the title.

How the pipeline is taken apart: the steps before the selector transform the
landmarks (they are applied as they are), the selector keeps its landmarks,
and the final classifier's Keras ``model_`` is attributed on what it sees.
The scores of the kept landmarks are put back in their place among the 468
(the others get 0), so the heatmap shows only the landmarks the model uses.
The baselines of IG, GradientSHAP, occlusion and input x gradient are the
selector's fitted ``baselines_`` (for example one per other class with
"typical", the mean training sequence with "mean"), run through the same
steps; without a selector, zeros (occlusion: the mean position, i.e. the
input itself for one sample, so give a selector). Occlusion needs only ``predict_proba``, so it also explains pipelines
without a Keras model (e.g. an SVM).

Errors the user can fix (a missing input, an unreadable model file, no face)
raise :class:`ExplainError` with a message; the command line prints it and
exits with status 1, without a traceback.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._global_attribution import ATTRIBUTIONS

__all__: list[str] = []

#: The methods ``--method`` takes: the selector's built-in attributions.
METHODS = ATTRIBUTIONS
_VIDEO_EXTENSIONS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


class ExplainError(ValueError):
    """A problem with the inputs of ``igselect explain`` that the user can fix."""


def _load_model(path: Path):
    import joblib

    if not path.is_file():
        raise ExplainError(f"model file not found: {str(path)!r}")
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling raises anything from EOFError to KeyError
        raise ExplainError(
            f"cannot load a fitted model from {str(path)!r} ({type(exc).__name__}: {exc}); "
            "save one with joblib.dump(pipeline, path)"
        ) from None
    if not hasattr(model, "predict_proba"):
        raise ExplainError(
            f"{str(path)!r} holds a {type(model).__name__}, not a fitted classifier with "
            "predict_proba (e.g. a Pipeline ending in EmoClassifier)"
        )
    return model


def _split_pipeline(model):
    """``(pre_steps, selector or None, classifier)`` of a Pipeline (or a lone classifier)."""
    steps = [step for _, step in getattr(model, "steps", [("clf", model)])]
    steps = [s for s in steps if s is not None and s != "passthrough"]
    classifier, before = steps[-1], steps[:-1]
    where = [i for i, s in enumerate(before) if hasattr(s, "get_support")]
    if not where:
        return before, None, classifier, []
    i = where[-1]
    return before[:i], before[i], classifier, before[i + 1 :]


def _apply(steps, X):
    for step in steps:
        X = step.transform(X)
    return X


def _n_frames(selector, classifier) -> int | None:
    for est in (selector, classifier):
        n = getattr(est, "n_frames_in_", None)
        if n is not None:
            return int(n)
    return None


def _read_frame(path: Path, index: int | None) -> tuple[np.ndarray, int, int]:
    """BGR frame ``index`` (default: the middle one) of a video, its index and the count."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if total <= 0:
            raise ExplainError(f"cannot read frames from the video {str(path)!r}")
        index = total // 2 if index is None else index
        if not 0 <= index < total:
            raise ExplainError(f"--frame must be in [0, {total}). Received: frame={index}")
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = cap.read()
    finally:
        cap.release()
    if not ok:
        raise ExplainError(f"cannot decode frame {index} of {str(path)!r}")
    return bgr, index, total


def _landmarks(path: Path, face_model, n_frames: int | None, frame: int | None):
    """``(X (1, P, 2, 468) crop-normalised, pixels (2, 468), rgb image, description)``."""
    from .landmarks import FaceMeshExtractor
    from .landmarks import _geometry as geo

    is_video = path.suffix.lower() in _VIDEO_EXTENSIONS
    with FaceMeshExtractor(face_model) as ext:
        if is_video:
            bgr, index, total = _read_frame(path, frame)
        else:
            try:
                bgr = geo.read_bgr(path)
            except Exception as exc:
                raise ExplainError(f"cannot read the image {str(path)!r}: {exc}") from None
        uv, crop = ext.image(bgr, return_crop=True)
        if uv is None:
            what = f"frame {index} of {str(path)!r}" if is_video else str(path)
            raise ExplainError(f"no face found in {what}")
        pixels = geo.crop_to_frame(uv, crop)
        if is_video and n_frames not in (None, 1):
            seq = ext.video(path, n_frames=n_frames).landmarks
            X = seq[None]
            where = f"{n_frames} frames of {total}; drawn on frame {index}"
        else:
            if n_frames not in (None, 1):
                raise ExplainError(
                    f"the model was trained on sequences of {n_frames} frames; give a video, "
                    f"not the single image {str(path)!r}"
                )
            X = uv[None, None].astype(np.float32)
            where = f"frame {index} of {total}" if is_video else "image"
    return X, pixels, bgr[..., ::-1], where


def _positive(classifier, proba: np.ndarray):
    """``(column, label)`` explained: the positive class of a binarising classifier,
    else the predicted class."""
    classes = np.asarray(classifier.classes_)
    positive = getattr(classifier, "positive_class", None)
    if positive is not None and set(classes.tolist()) == {0, 1}:
        return int(np.flatnonzero(classes == 1)[0]), positive
    column = int(np.argmax(proba))
    return column, classes[column]


def _baselines(selector, pre, mid, X_in):
    base = getattr(selector, "baselines_", None) if selector is not None else None
    if base is None or len(base) == 0 or base.shape[1:] != X_in.shape[1:]:
        return None
    return _apply(mid, selector.transform(base))


def _attribute(method, classifier, Xt, base, column, n_steps):
    from . import attribution as attr

    model = getattr(classifier, "model_", None)
    if model is None and method != "occlusion":
        raise ExplainError(
            f"--method {method} needs a classifier exposing a Keras model_ (as EmoClassifier "
            f"does); this pipeline ends in a {type(classifier).__name__}. Use --method occlusion."
        )
    if base is None and method in ("integrated_gradients", "gradient_shap"):
        base = np.zeros_like(Xt)
    if method == "integrated_gradients":
        out = [
            attr.integrated_gradients(model, Xt, b[None], target=column, n_steps=n_steps)
            for b in base
        ]
        return np.mean([attr.aggregate_landmark_scores(a)[0] for a in out], axis=0)
    if method == "gradient_shap":
        a = attr.gradient_shap(model, Xt, base, target=column, n_samples=64, random_state=0)
        return attr.aggregate_landmark_scores(a)[0]
    if method == "input_x_gradient" and base is not None:
        from .attribution._saliency import _per_baseline_scores

        return _per_baseline_scores(model, Xt, base, column).mean(axis=0)[0]
    if method == "occlusion":
        target = model if model is not None else classifier.predict_proba
        bases = ["mean"] if base is None else list(base)
        scores = [attr.occlusion(target, Xt, baseline=b, target=column) for b in bases]
        return np.mean([attr.aggregate_landmark_scores(s)[0] for s in scores], axis=0)
    return attr.aggregate_landmark_scores(getattr(attr, method)(model, Xt, target=column))[0]


def explain(
    input_path,
    model_path,
    output,
    *,
    method: str = "integrated_gradients",
    face_model=None,
    frame: int | None = None,
    n_steps: int = 64,
) -> Bunch:  # noqa: F821 - imported inside
    """Explain one prediction of a saved pipeline; write the heatmap to ``output``.

    Returns a Bunch with ``label`` (the class explained), ``probability``,
    ``scores`` (468,), ``landmarks`` (2, 468) in pixels and ``output``.
    """
    import matplotlib
    from sklearn.utils import Bunch

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .plotting import plot_attribution_on_face

    if method not in METHODS:
        raise ExplainError(f"method must be one of {METHODS}. Received: method={method!r}")
    input_path, output = Path(input_path), Path(output)
    if not input_path.is_file():
        raise ExplainError(f"input not found: {str(input_path)!r}")
    model = _load_model(Path(model_path))
    pre, selector, classifier, mid = _split_pipeline(model)
    X, pixels, rgb, where = _landmarks(
        input_path, face_model, _n_frames(selector, classifier), frame
    )
    proba = np.asarray(model.predict_proba(X))[0]
    column, label = _positive(classifier, proba)
    X_in = _apply(pre, X)
    Xt = _apply(mid, selector.transform(X_in)) if selector is not None else X_in
    base = _baselines(selector, pre, mid, X_in)
    kept = _attribute(method, classifier, Xt, base, column, n_steps)
    scores = np.zeros(X.shape[3])
    if selector is not None:
        scores[selector.get_support(indices=True)] = kept
    else:
        scores[:] = kept
    fig, ax = plt.subplots(figsize=(6, 6.4))
    title = f"P({label}) = {proba[column]:.2f}\n{method.replace('_', ' ')}, {where}"
    plot_attribution_on_face(rgb, pixels, scores, ax=ax, title=title)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return Bunch(
        label=label,
        probability=float(proba[column]),
        scores=scores,
        landmarks=pixels,
        output=output,
    )
