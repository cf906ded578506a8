"""Selector mixin acting on the landmark axis of ``(n, P, 2, L)`` arrays.

The N-D counterpart of scikit-learn's
:class:`~sklearn.feature_selection.SelectorMixin`: a subclass implements one
method, ``_get_support_mask()``, and gets :meth:`get_support`,
:meth:`transform`, :meth:`inverse_transform` and
:meth:`get_feature_names_out` along the *last* (landmark) axis.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._global_ig import _resolve_n_landmarks
from ._validation import check_consistent_shape, check_landmark_array

__all__ = ["LandmarkSelectorMixin", "RankedLandmarkSelectorMixin"]


def _as_landmarks(X, name: str = "X") -> tuple[np.ndarray, bool]:
    """Validate ``X``; return ``(X4, had_channel)``, keeping a floating dtype."""
    dtype = getattr(X, "dtype", None)
    dtype = dtype if dtype is not None and np.dtype(dtype).kind == "f" else np.float32
    had_channel = np.ndim(X) == 5 and np.shape(X)[-1] == 1
    # check_landmark_array rejects sparse and complex input with explicit messages.
    return check_landmark_array(X, name=name, dtype=dtype), had_channel


class LandmarkSelectorMixin(TransformerMixin):
    """Transformer mixin selecting landmarks given a support mask.

    Subclasses set ``n_landmarks_in_`` and ``n_frames_in_`` in ``fit`` and
    implement ``_get_support_mask``.
    """

    @abstractmethod
    def _get_support_mask(self) -> np.ndarray:
        """Boolean mask of shape (n_landmarks_in_,), True for kept landmarks."""

    def get_support(self, indices: bool = False) -> np.ndarray:
        """Get a mask, or the integer indices, of the selected landmarks.

        Parameters
        ----------
        indices : bool, default=False
            If True, return the sorted indices of the selected landmarks
            instead of a boolean mask.

        Returns
        -------
        support : ndarray
            Boolean array of shape (n_landmarks_in_,), or int array of shape
            (n_selected,) if ``indices`` is True.
        """
        mask = self._get_support_mask()
        return np.flatnonzero(mask) if indices else mask

    def transform(self, X) -> np.ndarray:
        """Keep the selected landmarks, in their original index order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_landmarks_in_[, 1])
            Landmark sequences with the frame and landmark counts seen in fit.

        Returns
        -------
        X_r : ndarray of shape (n_samples, n_frames, 2, n_selected[, 1])
            The selected landmarks; a trailing channel axis is kept. Floating
            inputs keep their dtype, others become float32.
        """
        check_is_fitted(self)
        X, had_channel = _as_landmarks(X)
        check_consistent_shape(
            X, self.n_frames_in_, self.n_landmarks_in_, where=type(self).__name__
        )
        Xt = X[..., self.get_support(indices=True)]
        return Xt[..., None] if had_channel else Xt

    def inverse_transform(self, X) -> np.ndarray:
        """Put the selected landmarks back in place, zeros elsewhere.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_frames, 2, n_selected[, 1])
            Output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_frames, 2, n_landmarks_in_[, 1])
            ``X`` with all-zero landmarks where :meth:`transform` dropped some.
        """
        check_is_fitted(self)
        X, had_channel = _as_landmarks(X)
        support = self.get_support(indices=True)
        if X.shape[3] != support.size or X.shape[1] != self.n_frames_in_:
            raise ValueError(
                f"X must have {self.n_frames_in_} frames and {support.size} landmarks (the "
                f"selected ones). Received: X.shape={X.shape}"
            )
        Xt = np.zeros(X.shape[:3] + (self.n_landmarks_in_,), dtype=X.dtype)
        Xt[..., support] = X
        return Xt[..., None] if had_channel else Xt

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the selected landmarks.

        Parameters
        ----------
        input_features : array-like of str, optional
            One name per input landmark. Default ``["landmark_0", ...,
            "landmark_{L-1}"]``, where the number is the landmark index.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The names of the selected landmarks, in index order.
        """
        check_is_fitted(self)
        if input_features is None:
            names = np.asarray([f"landmark_{i}" for i in range(self.n_landmarks_in_)], dtype=object)
        else:
            names = np.asarray(input_features, dtype=object)
            if names.shape != (self.n_landmarks_in_,):
                raise ValueError(
                    f"input_features must hold one name per landmark ({self.n_landmarks_in_}). "
                    f"Received: len(input_features)={names.size}"
                )
        return names[self.get_support()]


class RankedLandmarkSelectorMixin(LandmarkSelectorMixin):
    """Selector mixin keeping the ``n_landmarks`` best of a fitted ``ranking_``.

    Subclasses set ``scores_``, ``ranking_`` (best first) and
    ``n_landmarks_in_`` in ``fit`` and have an ``n_landmarks`` parameter; the
    cut is resolved from the current ``n_landmarks`` at every call, so
    changing it after ``fit`` needs no refit.
    """

    @property
    def n_landmarks_(self) -> int:
        """Number of selected landmarks, resolved from the current ``n_landmarks``."""
        if not hasattr(self, "scores_"):
            raise AttributeError("n_landmarks_ is only available after fit.")
        return _resolve_n_landmarks(self.n_landmarks, self.n_landmarks_in_)

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "scores_")
        mask = np.zeros(self.n_landmarks_in_, dtype=bool)
        mask[self.ranking_[: self.n_landmarks_]] = True
        return mask
