"""scikit-learn's estimator checks for igselect's N-D landmark estimators.

igselect's estimators take X of shape ``(n_samples, n_frames, 2, n_landmarks)``
and say so in their tags (``LandmarkTagsMixin``: ``two_d_array=False``). With
that honest tag, ``parametrize_with_checks`` generates no check but
``check_estimator_cloneable``. This module runs the whole suite anyway:

* the checks that feed no data (cloning, ``get_params``/``set_params``,
  ``repr``, tags, mixin order, no work in ``__init__``) and, when the
  estimator declares ``_parameter_constraints``, ``check_param_validation``
  run on the estimator itself;
* every other check runs on a *2-D view*: a subclass that differs from the
  estimator only in claiming ``two_d_array=True``. A check that then fails
  **because the estimator rejected the 2-D X** (igselect's ValueError naming
  ``X.ndim``, anywhere in the exception chain) is reported as xfail, with
  the N-D test that covers the same property when one is given in
  ``covered_by``. Any other failure is a real failure, and a check that
  passes passes; so there is no list of expected failures to go stale.

Usage (in ``tests/test_estimator_checks.py``)::

    from _sklearn_checks import parametrize_nd_checks

    @parametrize_nd_checks([LandmarkAligner(), OnsetDisplacement()])
    def test_sklearn_checks(estimator, check):
        check(estimator)
"""

from __future__ import annotations

import re
import warnings
from functools import partial

import pytest
from sklearn.exceptions import SkipTestWarning
from sklearn.utils.estimator_checks import check_param_validation, estimator_checks_generator

__all__ = ["DATA_FREE_CHECKS", "parametrize_nd_checks", "rejects_2d", "two_d_view"]

#: Checks that feed no X; they run on the estimator itself, honest tags and all.
DATA_FREE_CHECKS = frozenset(
    {
        "check_estimator_cloneable",
        "check_estimator_tags_renamed",
        "check_valid_tag_types",
        "check_estimator_repr",
        "check_no_attributes_set_in_init",
        "check_do_not_raise_errors_in_init_or_set_params",
        "check_mixin_order",
        "check_parameters_default_constructible",
        "check_get_params_invariance",
        "check_set_params",
    }
)

# igselect's check_landmark_array: "... Received: X.ndim=2, X.shape=(20, 5)"
_NDIM_REJECTION = re.compile(r"\bX\.ndim=[0-3]\b")

_FITS_2D = (
    "feeds 2-D X of shape (n_samples, n_features); the estimator takes landmark "
    "sequences (n_samples, n_frames, 2, n_landmarks) and rejects it (ValueError naming X.ndim)"
)

_VIEWS: dict[type, type] = {}


def two_d_view(estimator):
    """Return a copy of ``estimator`` whose class claims ``two_d_array=True``.

    The view's class is a subclass named ``<Name>As2D`` registered in this
    module (so it clones and pickles); it changes nothing but that tag.
    """
    cls = type(estimator)
    view_cls = _VIEWS.get(cls)
    if view_cls is None:

        def __sklearn_tags__(self):
            tags = super(view_cls, self).__sklearn_tags__()
            tags.input_tags.two_d_array = True
            return tags

        name = f"{cls.__name__}As2D"
        view_cls = type(name, (cls,), {"__sklearn_tags__": __sklearn_tags__})
        view_cls.__module__ = __name__
        view_cls.__qualname__ = name
        globals()[name] = view_cls
        _VIEWS[cls] = view_cls
    return view_cls(**estimator.get_params(deep=False))


def rejects_2d(exc: BaseException | None) -> bool:
    """True if ``exc`` or an exception in its chain is igselect's N-D rejection of X."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ValueError) and _NDIM_REJECTION.search(str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _check_name(check) -> str:
    func = check.func if isinstance(check, partial) else check
    return func.__name__


def _check_id(estimator, check) -> str:
    name = _check_name(check)
    kwargs = check.keywords if isinstance(check, partial) else {}
    if kwargs:
        name += "(" + ",".join(f"{k}={v}" for k, v in sorted(kwargs.items())) + ")"
    return f"{type(estimator).__name__}-{name}"


def _xfail_if_2d_rejected(check, reason: str):
    """Wrap ``check`` so that a failure caused by the 2-D X rejection is an xfail."""

    def run(estimator):
        try:
            check(estimator)
        except Exception as exc:
            if rejects_2d(exc):
                pytest.xfail(reason)
            raise

    run.func = check.func if isinstance(check, partial) else check
    run.keywords = check.keywords if isinstance(check, partial) else {}
    return run


def nd_checks(estimator, *, covered_by: dict[str, str] | None = None):
    """Yield ``pytest.param(estimator, check)`` for every check of one N-D estimator.

    Parameters
    ----------
    estimator : estimator instance
        Tagged ``two_d_array=False`` (see ``igselect._validation.LandmarkTagsMixin``).
    covered_by : dict of str to str, optional
        ``{check_name: "test_file.py::test_name"}``: the N-D test that checks the
        same property; it is quoted in the xfail reason.
    """
    covered_by = covered_by or {}
    view = two_d_view(estimator)
    honest = set(DATA_FREE_CHECKS)
    if hasattr(estimator, "_parameter_constraints"):
        # parameters are validated before X, so this check needs no valid data
        honest.add("check_param_validation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)
        generated = list(estimator_checks_generator(view, legacy=True))
    if "check_param_validation" in honest:
        # scikit-learn does not generate it for third-party estimators; it checks that
        # every parameter has a constraint and that a bad value fails in fit
        check = partial(check_param_validation, type(estimator).__name__)
        yield pytest.param(estimator, check, id=_check_id(estimator, check))
    for instance, check in generated:
        name = _check_name(check)
        if name in honest:
            target = type(estimator)(**instance.get_params(deep=False))
            check = partial(check.func, type(estimator).__name__, *check.args[1:], **check.keywords)
            yield pytest.param(target, check, id=_check_id(target, check))
            continue
        reason = f"{name} {_FITS_2D}"
        if name in covered_by:
            reason += f" (N-D equivalent: {covered_by[name]})"
        yield pytest.param(
            instance, _xfail_if_2d_rejected(check, reason), id=_check_id(instance, check)
        )


def parametrize_nd_checks(estimators, *, covered_by: dict[str, str] | None = None):
    """``pytest.mark.parametrize("estimator, check", ...)`` over all N-D checks.

    Parameters
    ----------
    estimators : list of estimator instances
    covered_by : dict of str to str, optional
        Passed to :func:`nd_checks` for every estimator.
    """
    params = [p for est in estimators for p in nd_checks(est, covered_by=covered_by)]
    return pytest.mark.parametrize("estimator, check", params)
