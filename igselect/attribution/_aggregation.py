"""Reduce Integrated Gradients attributions to one score per landmark."""

from __future__ import annotations

import numpy as np

__all__ = ["aggregate_landmark_scores"]


def aggregate_landmark_scores(attributions) -> np.ndarray:
    """Sum ``|IG|`` over frames and coordinates: one score per sample and landmark.

    This is the per-sample landmark importance of Di Luzio, Rosato & Panella
    (2024): the absolute attribution of the x and y coordinate of a landmark,
    summed over the ``P`` frames. Averaging the result over samples (and
    baselines) gives the global attribution mask that ranks the landmarks.

    Parameters
    ----------
    attributions : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
        Attributions as returned by :func:`integrated_gradients` for landmark
        inputs.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_landmarks), float64
        ``scores[i, l] = sum_{p, c} |attributions[i, p, c, l]|``.

    Examples
    --------
    >>> import numpy as np
    >>> ig = np.zeros((1, 3, 2, 4))
    >>> ig[0, :, 1, 2] = -1.0
    >>> aggregate_landmark_scores(ig)
    array([[0., 0., 3., 0.]])
    """
    arr = np.asarray(attributions, dtype=np.float64)
    if arr.ndim == 5 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 4 or arr.shape[2] != 2:
        raise ValueError(
            "attributions must have shape (n_samples, n_frames, 2, n_landmarks[, 1]). "
            f"Received: attributions.shape={np.shape(attributions)}"
        )
    return np.abs(arr).sum(axis=(1, 2))
