"""Landmark motion relative to the onset of each sequence (a scikit-learn transformer).

A posed-expression sequence such as CK+'s starts from the neutral face and ends at the
apex. Subtracting the onset frame from every frame leaves the motion and removes the
person's face shape, which otherwise varies between people about as much as the
expression moves the landmarks.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from igselect._validation import (
    IntInterval,
    LandmarkTagsMixin,
    check_consistent_shape,
    check_landmark_array,
)

__all__ = ["OnsetDisplacement"]


class OnsetDisplacement(LandmarkTagsMixin, TransformerMixin, BaseEstimator):
    """Replace each frame by its displacement from the sequence's onset (neutral) face.

    Frame ``t`` of a sequence becomes ``X[t] - mean(X[:n_onset_frames])``: the mean of
    the first ``n_onset_frames`` frames is the sequence's own neutral face, so the output
    keeps only how the landmarks moved. The shape is unchanged (the onset frames become
    close to zero), so the transformer drops into a Pipeline in front of
    :class:`~igselect.GlobalIGSelector` and :class:`~igselect.EmoClassifier` without
    other changes. It is stateless: :meth:`fit` only checks the input.

    Use it after :class:`~igselect.landmarks.LandmarkAligner`, so that head motion is
    removed before the subtraction, and only on sequences that start neutral (CK+,
    :func:`~igselect.datasets.make_expression_sequences`). Single images have no onset
    frame; they raise.

    Parameters
    ----------
    n_onset_frames : int, default=1
        Number of leading frames averaged into the neutral face. More than one
        averages out landmark jitter, provided the expression has not started yet.

    Attributes
    ----------
    n_landmarks_in_ : int
        Number of landmarks seen in :meth:`fit`.

    See Also
    --------
    igselect.landmarks.LandmarkAligner : Remove head position, size and roll first.

    Notes
    -----
    With this input, :class:`~igselect.GlobalIGSelector`'s ``baselines="onset"`` (each
    sequence's first frame repeated) is the all-zero "no motion" baseline. The main job
    (``benchmarks/ckplus.py``) places it after the selector instead, so that IG ranks
    landmarks with a network on aligned positions: on the built-in data a selector
    network trained on standardised motion ranked the landmarks worse (user guide,
    section 8).

    Input is ``(n_samples, n_frames, 2, n_landmarks)`` (a trailing channel axis of size 1
    is accepted and dropped); the output is float32 of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((1, 3, 2, 4), np.float32)
    >>> X[0, :, 0, 1] = [0.5, 0.6, 0.8]             # landmark 1 moves right
    >>> D = OnsetDisplacement().fit_transform(X)
    >>> [round(float(v), 2) for v in D[0, :, 0, 1]]
    [0.0, 0.1, 0.3]
    """

    _parameter_constraints: dict = {"n_onset_frames": [IntInterval(1)]}

    def __init__(self, n_onset_frames: int = 1):
        self.n_onset_frames = n_onset_frames

    def _check(self, X) -> np.ndarray:
        self._validate_params()
        n_onset = self.n_onset_frames
        X = check_landmark_array(X)
        if X.shape[1] <= n_onset:
            raise ValueError(
                f"OnsetDisplacement needs more frames than n_onset_frames={n_onset}; X has "
                f"{X.shape[1]} frame(s) per sample (single images have no onset frame). "
                f"Received: X.shape={X.shape}"
            )
        return X

    def fit(self, X, y=None):
        """Check ``X`` and record its landmark count.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Landmark sequences, each starting from the neutral face.
        y : None
            Ignored.

        Returns
        -------
        self : OnsetDisplacement
        """
        self.n_landmarks_in_ = self._check(X).shape[-1]
        return self

    def transform(self, X):
        """Subtract each sequence's onset face from all its frames.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
            Landmark sequences with the landmark count seen in :meth:`fit`.

        Returns
        -------
        X_motion : ndarray of shape (n_samples, n_frames, 2, n_landmarks), float32
            Displacement of every landmark from its onset position.
        """
        check_is_fitted(self, "n_landmarks_in_")
        X = self._check(X)
        check_consistent_shape(X, None, self.n_landmarks_in_, where=type(self).__name__)
        onset = X[:, : self.n_onset_frames].mean(axis=1, keepdims=True, dtype=np.float64)
        return (X - onset).astype(np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.requires_fit = True
        return tags
