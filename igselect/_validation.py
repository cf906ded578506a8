"""Input and parameter validation shared by every igselect estimator.

The landmark layout is ``(n_samples, n_frames, 2, n_landmarks)``: x and y
coordinates of each landmark in each frame, landmarks on the last axis.
A trailing channel axis of size 1 is also accepted and dropped.

Usage (for estimators and public functions)
-------------------------------------------
* **Estimators** mix in :class:`LandmarkTagsMixin` (left of the sklearn
  mixins) so their tags say that X is neither 2-D nor 3-D, declare every
  ``__init__`` parameter in ``_parameter_constraints`` and call
  ``self._validate_params()`` first thing in ``fit`` (the mixin's version ends
  each message in ``Received: name=value``; others call
  :func:`validate_estimator_params`)::

      class MyTransformer(LandmarkTagsMixin, TransformerMixin, BaseEstimator):
          _parameter_constraints = {
              "n_iter": [IntInterval(1)],            # int >= 1, bool rejected
              "tol": [Interval(Real, 0, None, closed="neither")],
              "method": [StrOptions({"a", "b"})],
              "random_state": ["random_state"],
          }

          def fit(self, X, y=None):
              self._validate_params()   # InvalidParameterError names param and value
              X = check_landmark_array(X)
              ...

  A subclass extends its parent's dict: ``{**Parent._parameter_constraints,
  "extra": [...]}``. Cross-parameter rules (``a <= b``) stay hand-written.
* **Public functions** use ``@validate_params({...},
  prefer_skip_nested_validation=True)`` with the same constraint objects
  (a dict shared by several functions, e.g. ``attribution._gradients.
  GRADIENT_CONSTRAINTS``, is merged with ``{**shared, ...}``). Do not put it
  on per-batch helpers: it costs microseconds per call.
* **Other classes** (not estimators, e.g. ``FaceMeshExtractor``) call
  ``validate_parameter_constraints(self._parameter_constraints, {...},
  caller_name=type(self).__name__)`` in ``__init__``.
* A non-negative number without ``bool`` (``Interval(Real, ...)`` accepts
  ``True``): ``[Interval(RealNotInt, 0, np.inf, closed="left"), IntInterval(0)]``.
* :class:`sklearn.utils._param_validation.InvalidParameterError` subclasses
  ``ValueError`` and ``TypeError``; its message reads ``The 'n_iter' parameter
  of MyTransformer must be an int in the range [1, inf). Got 0 instead.``
* Tests run scikit-learn's estimator checks through
  ``tests/_sklearn_checks.py`` (add the estimator to
  ``tests/test_estimator_checks.py``).

sklearn's constraint classes live in a private module; they are imported here
only, so a move in scikit-learn touches this one file.
"""

from __future__ import annotations

import numbers
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)

__all__ = [
    "check_landmark_array",
    "check_landmark_target",
    "binarize_target",
    "resolve_positive_class",
    "check_consistent_shape",
    "LandmarkTagsMixin",
    "IntInterval",
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "Integral",
    "Real",
    "RealNotInt",
    "validate_params",
    "validate_parameter_constraints",
    "validate_estimator_params",
]


class LandmarkTagsMixin:
    """Tags of an estimator whose X is ``(n_samples, n_frames, 2, n_landmarks)``.

    Put it left of scikit-learn's mixins. It says that X is neither 2-D nor
    3-D (so scikit-learn's generic checks, which feed 2-D data, do not apply
    as such; see ``tests/_sklearn_checks.py``) and not sparse. Set other tags
    (``non_deterministic``, ``preserves_dtype``...) in the estimator itself.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator, TransformerMixin
    >>> from sklearn.utils import get_tags
    >>> class Shift(LandmarkTagsMixin, TransformerMixin, BaseEstimator):
    ...     pass
    >>> get_tags(Shift()).input_tags.two_d_array
    False
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = False
        tags.input_tags.sparse = False
        return tags

    def _validate_params(self) -> None:
        """scikit-learn's check of ``_parameter_constraints``, ending in "Received: name=value"."""
        validate_estimator_params(self)


def validate_estimator_params(estimator) -> None:
    """Check ``estimator``'s parameters against its ``_parameter_constraints``.

    The same check as scikit-learn's ``BaseEstimator._validate_params``, one
    parameter at a time, so that the :class:`InvalidParameterError` ends in
    ``Received: name=value`` like igselect's other errors. Constraints of
    parameters the estimator does not have are skipped (a subclass may drop one).

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> class Est(BaseEstimator):
    ...     _parameter_constraints = {"n": [IntInterval(1)]}
    ...     def __init__(self, n=1):
    ...         self.n = n
    >>> validate_estimator_params(Est(n=0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'n' parameter ... Received: n=0
    """
    params = estimator.get_params(deep=False)
    for name, constraints in estimator._parameter_constraints.items():
        if name not in params:
            continue
        try:
            validate_parameter_constraints(
                {name: constraints}, {name: params[name]}, caller_name=type(estimator).__name__
            )
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{exc} Received: {name}={params[name]!r}") from None


class IntInterval(Interval):
    """:class:`~sklearn.utils._param_validation.Interval` of integers without ``bool``.

    ``Interval(Integral, 1, None)`` accepts ``True`` (``bool`` is an
    ``Integral``); a count given as ``True`` is almost always a mistake, so
    this constraint rejects it. ``right=None`` means no upper bound; ``closed``
    defaults to ``"left"`` then, and to ``"both"`` when ``right`` is given.

    Examples
    --------
    >>> IntInterval(1).is_satisfied_by(3), IntInterval(1).is_satisfied_by(True)
    (True, False)
    >>> str(IntInterval(0))
    'an int in the range [0, inf)'
    """

    def __init__(self, left, right=None, *, closed=None):
        if closed is None:
            closed = "left" if right is None else "both"
        super().__init__(Integral, left, right, closed=closed)

    def is_satisfied_by(self, val):
        if isinstance(val, bool | np.bool_):
            return False
        return super().is_satisfied_by(val)


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
        If ``X`` is ragged (sequences of different shapes) or complex, has the
        wrong number of dimensions, a coordinate axis that is not of size 2, no
        samples, or NaN/inf values.

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
    try:
        raw = np.asarray(X)
    except ValueError as exc:
        ragged = _ragged_position(X, name)
        if ragged is None:
            raise ValueError(
                f"{name} must be a numeric array of shape (n_samples, n_frames, 2, "
                f"n_landmarks); numpy could not convert it: {exc}"
            ) from exc
        raise ValueError(ragged) from None
    if raw.dtype == object and raw.ndim < 4:
        ragged = _ragged_position(X, name)
        if ragged is not None:
            raise ValueError(ragged)
    if np.iscomplexobj(raw):
        raise ValueError(
            f"Complex data not supported; {name} must hold real landmark coordinates. "
            f"Received: {name}.dtype={raw.dtype}"
        )
    try:
        arr = raw.astype(dtype, copy=False)
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


_AXIS_NAMES = ("samples", "frames", "coordinates", "landmarks", "channels")


def _length(item) -> int | None:
    return len(item) if isinstance(item, list | tuple | np.ndarray) else None


def _ragged_position(X, name: str) -> str | None:
    """Describe where the nested sequences ``X`` stop being rectangular, or None."""
    level = [((), X)]
    for depth in range(len(_AXIS_NAMES)):
        lengths = [_length(item) for _, item in level]
        if all(n is None for n in lengths):
            return None
        for (index, _), n in zip(level, lengths, strict=True):
            if n != lengths[0]:
                axis = _AXIS_NAMES[depth]
                first = name + "".join(f"[{k}]" for k in level[0][0])
                other = name + "".join(f"[{k}]" for k in index)
                return (
                    f"{name} is ragged: {first} {_count(lengths[0], axis)} but {other} "
                    f"{_count(n, axis)}. Every sample must have the same shape "
                    "(n_frames, 2, n_landmarks); resample or pad the sequences to one "
                    "length first."
                )
        level = [((*index, k), sub) for index, item in level for k, sub in enumerate(item)]
    return None


def _count(n, axis: str) -> str:
    return "is a scalar" if n is None else f"has {n} {axis}"


def check_landmark_target(y, n_samples: int, *, name: str = "y") -> np.ndarray:
    """Validate a 1-D label vector of length ``n_samples``.

    Labels must be all numbers or all strings, without missing values
    (``None`` or NaN): ``[1, "1"]`` would otherwise be one class or two
    depending on how the array was built.

    Examples
    --------
    >>> check_landmark_target(["joy", "fear"], 2)
    array(['joy', 'fear'], dtype='<U4')
    >>> check_landmark_target([1, None], 2)
    Traceback (most recent call last):
    ...
    ValueError: y contains 1 missing label(s) (None or NaN); the first is y[1]. ...
    """
    raw = y
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
    _check_label_values(y, name, raw=raw)
    return y


def _label_kind(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, str | np.str_ | bytes):
        return "string"
    if isinstance(value, numbers.Number | np.number | np.bool_):
        if isinstance(value, numbers.Real) and not np.isfinite(float(value)):
            return "missing"
        return "number"
    return type(value).__name__


def _check_label_values(y: np.ndarray, name: str, *, raw=None) -> None:
    """Raise if labels are missing, non-finite, of mixed kinds or unorderable."""
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            first = int(np.flatnonzero(~np.isfinite(y))[0])
            raise ValueError(
                f"{name} contains NaN or infinite labels; the first is {name}[{first}]="
                f"{float(y[first])}."
            )
        return
    if y.dtype.kind in "US" and isinstance(raw, list | tuple):
        # np.asarray([1, "1"]) silently turns the number into a string
        values = list(raw)
    elif y.dtype == object:
        values = y.tolist()
    else:
        return
    kinds = [_label_kind(v) for v in values]
    if "missing" in kinds:
        first = kinds.index("missing")
        raise ValueError(
            f"{name} contains {kinds.count('missing')} missing label(s) (None or NaN); "
            f"the first is {name}[{first}]. Drop those samples or give them a label."
        )
    found = sorted(set(kinds))
    if len(found) > 1:
        examples = ", ".join(f"{name}[{kinds.index(k)}]={values[kinds.index(k)]!r}" for k in found)
        raise ValueError(
            f"{name} mixes label types ({' and '.join(found)}): {examples}. Use one type "
            "for every label, e.g. all strings or all integers."
        )
    try:
        np.unique(y)
    except TypeError as exc:
        raise ValueError(
            f"{name} holds labels that cannot be sorted ({exc}); use strings or numbers."
        ) from exc


def resolve_positive_class(y, positive_class=None, *, name: str = "y"):
    """Return the positive label: ``positive_class``, or the larger of two classes.

    With ``positive_class=None``, ``y`` must hold exactly two classes and the
    larger one (in sorted order, as :class:`~sklearn.preprocessing.LabelEncoder`
    sorts) is the positive class; otherwise ``positive_class`` must occur in ``y``.

    Examples
    --------
    >>> str(resolve_positive_class(["fear", "joy", "fear"]))
    'joy'
    """
    raw = y
    y = np.asarray(y)
    _check_label_values(y, name, raw=raw)
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
                "positive_class to the class to score against the rest. "
                "Received: positive_class=None"
            )
        return classes[1]
    if not np.any(y == positive_class):
        raise ValueError(
            f"positive_class is not one of the labels in {name}. "
            f"Received: positive_class={positive_class!r}; labels are {classes.tolist()!r}."
        )
    return positive_class


def binarize_target(y, positive_class=None, *, name: str = "y") -> np.ndarray:
    """Return 0/1 integer labels; 1 marks ``positive_class``.

    The positive class is resolved by :func:`resolve_positive_class`.

    Examples
    --------
    >>> binarize_target(["fear", "joy", "fear"], positive_class="fear")
    array([1, 0, 1])
    """
    positive = resolve_positive_class(y, positive_class, name=name)
    return (np.asarray(y) == positive).astype(np.int64)


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
