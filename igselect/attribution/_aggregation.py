"""Reduce attributions to one score per landmark."""

from __future__ import annotations

import numpy as np

__all__ = ["aggregate_landmark_scores"]


def aggregate_landmark_scores(attributions) -> np.ndarray:
    """One score per sample and landmark from the attributions of any method.

    For feature attributions (Integrated Gradients, GradientSHAP, saliency,
    input x gradient) this is the per-sample landmark importance of Di Luzio,
    Rosato & Panella (2024): the absolute attribution of the x and y
    coordinate of a landmark, summed over the ``P`` frames. Averaging the
    result over samples (and baselines) gives the global attribution mask that
    ranks the landmarks.

    Parameters
    ----------
    attributions : array-like
        One of

        - ``(n_samples, n_frames, 2, n_landmarks[, 1])``: per coordinate, as
          returned by :func:`integrated_gradients`, :func:`gradient_shap`,
          :func:`saliency` and :func:`input_x_gradient` for landmark inputs;
          ``|.|`` is summed over frames and coordinates;
        - ``(n_samples, n_frames, n_landmarks)``: per frame and landmark, as
          returned by :func:`grad_cam`; ``|.|`` is summed over frames;
        - ``(n_samples, n_landmarks)``: already per landmark, as returned by
          :func:`occlusion`; ``|.|`` is returned.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_landmarks), float64
        For 4-D input ``scores[i, l] = sum_{p, c} |attributions[i, p, c, l]|``.

    Examples
    --------
    >>> import numpy as np
    >>> ig = np.zeros((1, 3, 2, 4))
    >>> ig[0, :, 1, 2] = -1.0
    >>> aggregate_landmark_scores(ig)
    array([[0., 0., 3., 0.]])
    >>> aggregate_landmark_scores(np.ones((1, 3, 4)))  # per frame and landmark
    array([[3., 3., 3., 3.]])
    """
    arr = np.asarray(attributions, dtype=np.float64)
    if arr.ndim == 5 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 4 and arr.shape[2] == 2:
        return np.abs(arr).sum(axis=(1, 2))
    if arr.ndim == 3:
        return np.abs(arr).sum(axis=1)
    if arr.ndim == 2:
        return np.abs(arr)
    raise ValueError(
        "attributions must have shape (n_samples, n_frames, 2, n_landmarks[, 1]), "
        "(n_samples, n_frames, n_landmarks) or (n_samples, n_landmarks). "
        f"Received: attributions.shape={np.shape(attributions)}"
    )
