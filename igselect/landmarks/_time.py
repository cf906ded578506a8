"""Time axis of landmark sequences: resampling and missing-frame policies.

A sequence is ``(T, 2, L)`` (frames, coordinates, landmarks); a batch is
``(n, T, 2, L)``. Frames where no face was found are NaN until a policy of
:func:`fill_missing_frames` decides what happens to them.
"""

from __future__ import annotations

import numpy as np

from igselect._validation import IntInterval, StrOptions, validate_params

__all__ = ["resample_frames", "fill_missing_frames", "MISSING_POLICIES"]

MISSING_POLICIES = ("interpolate", "keep_nan", "raise")


def _time_axis(arr: np.ndarray, name: str) -> int:
    if arr.ndim == 3:
        return 0
    if arr.ndim == 4:
        return 1
    raise ValueError(
        f"{name} must be (n_frames, 2, n_landmarks) or (n_samples, n_frames, 2, n_landmarks). "
        f"Received: {name}.shape={arr.shape}"
    )


@validate_params(
    {"seq": ["array-like"], "n_frames": [IntInterval(1)]}, prefer_skip_nested_validation=True
)
def resample_frames(seq, n_frames: int) -> np.ndarray:
    """Resample a landmark sequence to ``n_frames`` frames by linear interpolation in time.

    The first and last frames are kept; the output frames are evenly spaced
    between them. Works for up- and down-sampling; a single-frame sequence is
    repeated. NaN frames stay NaN wherever they take part in an interpolation.

    Parameters
    ----------
    seq : array-like of shape (T, 2, L) or (n_samples, T, 2, L)
        Sequence (time on axis 0) or batch of sequences (time on axis 1).
    n_frames : int
        Number of output frames, at least 1.

    Returns
    -------
    out : ndarray of shape (n_frames, 2, L) or (n_samples, n_frames, 2, L)
        Same floating dtype as ``seq`` (float32 for integer input).

    Examples
    --------
    >>> import numpy as np
    >>> seq = np.arange(3, dtype=np.float32).reshape(3, 1, 1) * np.ones((3, 2, 4), np.float32)
    >>> resample_frames(seq, 5)[:, 0, 0]
    array([0. , 0.5, 1. , 1.5, 2. ], dtype=float32)
    """
    arr = np.asarray(seq)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    axis = _time_axis(arr, "seq")
    t_in = arr.shape[axis]
    if t_in == 0:
        raise ValueError(f"seq has no frames. Received: seq.shape={arr.shape}")
    if t_in == 1:
        return np.repeat(arr, n_frames, axis=axis)
    pos = np.linspace(0.0, t_in - 1.0, n_frames)
    i0 = np.clip(np.floor(pos).astype(int), 0, t_in - 2)
    w = (pos - i0).astype(arr.dtype)
    shape = [1] * arr.ndim
    shape[axis] = n_frames
    w = w.reshape(shape)
    a = np.take(arr, i0, axis=axis)
    b = np.take(arr, i0 + 1, axis=axis)
    # Exact copies where the weight is 0 or 1, so NaN neighbours do not leak.
    out = np.where(w == 0, a, np.where(w == 1, b, a * (1 - w) + b * w))
    return out.astype(arr.dtype, copy=False)


@validate_params(
    {"seq": ["array-like"], "missing": [StrOptions(set(MISSING_POLICIES))], "name": [str]},
    prefer_skip_nested_validation=True,
)
def fill_missing_frames(seq, missing: str = "interpolate", *, name: str = "sequence") -> np.ndarray:
    """Apply a missing-frame policy to a ``(T, 2, L)`` sequence whose missing frames are NaN.

    Parameters
    ----------
    seq : array-like of shape (T, 2, L)
        Landmarks, NaN in the frames where no face was found.
    missing : {"interpolate", "keep_nan", "raise"}, default="interpolate"
        ``"interpolate"`` fills each missing frame linearly in time from the
        nearest found frames on both sides (frames before the first / after the
        last found frame copy it); ``"keep_nan"`` returns the NaNs unchanged;
        ``"raise"`` raises :class:`ValueError` if any frame is missing.
    name : str, default="sequence"
        Name of the sequence in error messages (e.g. a file path).

    Returns
    -------
    out : ndarray of shape (T, 2, L)

    Raises
    ------
    ValueError
        With ``missing="raise"`` and a missing frame, or when every frame is
        missing and the policy is ``"interpolate"``.

    Examples
    --------
    >>> import numpy as np
    >>> seq = np.array([0.0, np.nan, 2.0, np.nan])[:, None, None] * np.ones((4, 2, 3))
    >>> fill_missing_frames(seq)[:, 0, 0]
    array([0., 1., 2., 2.])
    """
    arr = np.array(seq, dtype=np.result_type(np.asarray(seq).dtype, np.float32), copy=True)
    if arr.ndim != 3:
        raise ValueError(f"seq must be one sequence (T, 2, L). Received: seq.shape={arr.shape}")
    lost = np.isnan(arr).reshape(arr.shape[0], -1).any(axis=1)
    if not lost.any() or missing == "keep_nan":
        return arr
    idx = np.flatnonzero(lost)
    if missing == "raise":
        raise ValueError(
            f"no face found in {idx.size} of {arr.shape[0]} frames of {name} "
            f"(first missing frames: {idx[:10].tolist()}). Use missing='interpolate' or "
            "'keep_nan' to accept them."
        )
    good = np.flatnonzero(~lost)
    if good.size == 0:
        raise ValueError(f"no face found in any of the {arr.shape[0]} frames of {name}")
    # Nearest found frame on each side; outside the found range both are the edge frame.
    pos = np.searchsorted(good, idx)
    left = good[np.clip(pos - 1, 0, good.size - 1)]
    right = good[np.clip(pos, 0, good.size - 1)]
    span = np.where(right > left, right - left, 1)
    w = np.where(right > left, (idx - left) / span, 0.0).astype(arr.dtype)[:, None, None]
    arr[idx] = arr[left] * (1 - w) + arr[right] * w
    return arr
