"""Input validation shared by every igselect estimator.

The landmark layout is ``(n_samples, n_frames, 2, n_landmarks)``: x and y
coordinates of each landmark in each frame, landmarks on the last axis.
A trailing channel axis of size 1 is also accepted and dropped.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_landmark_array",
    "check_landmark_target",
    "binarize_target",
    "check_consistent_shape",
]


def check_landmark_array(X, *, name: str = "X", dtype=np.float32) -> np.ndarray:
    """Validate a landmark array and return it as ``(n, P, 2, L)`` ``dtype``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_frames, 2, n_landmarks[, 1])
        Landmark sequences.
    name : str, default="X"
        Name used in error messages.
    dtype : numpy dtype, default=np.float32
        Output dtype.

    Returns
    -------
    X : ndarray of shape (n_samples, n_frames, 2, n_landmarks)

    Raises
    ------
    TypeError
        If ``X`` is a sparse matrix.
    ValueError
        If the array is complex, has the wrong number of dimensions, a
        coordinate axis that is not of size 2, no samples, or NaN/inf values.

    Examples
    --------
    >>> import numpy as np
    >>> check_landmark_array(np.zeros((3, 4, 2, 5, 1))).shape
    (3, 4, 2, 5)
    """
    if hasattr(X, "tocsr") or hasattr(X, "todense"):  # scipy.sparse, without importing it
        raise TypeError(
            f"Sparse input is not supported; {name} must be a dense array of shape "
            f"(n_samples, n_frames, 2, n_landmarks). Received: {name} of type {type(X).__name__}"
        )
    if np.iscomplexobj(X):
        raise ValueError(
            f"Complex data not supported; {name} must hold real landmark coordinates. "
            f"Received: {name}.dtype={np.asarray(X).dtype}"
        )
    try:
        arr = np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a numeric array of shape (n_samples, n_frames, 2, n_landmarks); "
            f"conversion to {np.dtype(dtype).name} failed: {exc}"
        ) from exc
    if arr.ndim == 5 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 4:
        raise ValueError(
            f"{name} must have shape (n_samples, n_frames, 2, n_landmarks) or "
            f"(n_samples, n_frames, 2, n_landmarks, 1). Received: {name}.ndim={arr.ndim}, "
            f"{name}.shape={arr.shape}"
        )
    if arr.shape[2] != 2:
        raise ValueError(
            f"{name} axis 2 must hold the x and y coordinates (size 2). "
            f"Received: {name}.shape={arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has 0 samples. Received: {name}.shape={arr.shape}")
    if arr.shape[1] == 0 or arr.shape[3] == 0:
        raise ValueError(
            f"{name} must have at least one frame and one landmark. Received: {name}.shape={arr.shape}"
        )
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        n_bad = int((~finite).sum())
        raise ValueError(
            f"{name} contains {n_bad} NaN or infinite value(s); the first is at index "
            f"{tuple(int(i) for i in bad)} (value {arr[tuple(bad)]}). Fill missing frames "
            "first, e.g. with FaceMeshExtractor(missing='interpolate')."
        )
    return np.ascontiguousarray(arr)


def check_landmark_target(y, n_samples: int, *, name: str = "y") -> np.ndarray:
    """Validate a 1-D label vector of length ``n_samples``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D. Received: {name}.shape={y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X and {name} have inconsistent numbers of samples: X has {n_samples}, "
            f"{name} has {y.shape[0]}."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinite labels.")
    return y


def binarize_target(y, positive_class=None, *, name: str = "y") -> np.ndarray:
    """Return 0/1 integer labels; 1 marks ``positive_class``.

    With ``positive_class=None``, ``y`` must hold exactly two classes and the
    larger one (in sorted order, as :class:`~sklearn.preprocessing.LabelEncoder`
    sorts) is the positive class.

    Examples
    --------
    >>> binarize_target(["fear", "joy", "fear"], positive_class="fear")
    array([1, 0, 1])
    """
    y = np.asarray(y)
    classes = np.unique(y)
    if classes.shape[0] < 2:
        raise ValueError(
            f"{name} must contain at least two classes. Received: a single class "
            f"{classes.tolist()!r}."
        )
    if positive_class is None:
        if classes.shape[0] != 2:
            raise ValueError(
                f"{name} has {classes.shape[0]} classes {classes.tolist()!r}; set "
                "positive_class to binarise multi-class labels. Received: positive_class=None"
            )
        return (y == classes[1]).astype(np.int64)
    if not np.any(y == positive_class):
        raise ValueError(
            f"positive_class is not one of the labels in {name}. "
            f"Received: positive_class={positive_class!r}; labels are {classes.tolist()!r}."
        )
    return (y == positive_class).astype(np.int64)


def check_consistent_shape(
    X: np.ndarray, n_frames: int | None, n_landmarks: int, *, where: str
) -> None:
    """Raise if ``X`` does not have the frame/landmark counts seen in ``fit``.

    ``n_frames=None`` accepts any number of frames (transformers that work frame by frame).
    """
    if n_frames is None:
        if X.shape[3] != n_landmarks:
            raise ValueError(
                f"X has {X.shape[3]} landmarks, but {where} was fitted with {n_landmarks} "
                f"landmarks. Received: X.shape={X.shape}"
            )
        return
    if X.shape[1] != n_frames or X.shape[3] != n_landmarks:
        raise ValueError(
            f"X has {X.shape[1]} frames and {X.shape[3]} landmarks, but {where} was fitted "
            f"with {n_frames} frames and {n_landmarks} landmarks. Received: X.shape={X.shape}"
        )


def _check_int(value, name: str, *, min_value: int = 1) -> int:
    """Validate an integer parameter (not bool) ``>= min_value``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < min_value:
        raise ValueError(f"{name} must be an integer >= {min_value}. Received: {name}={value!r}")
    return int(value)
