"""Quadrature rules for the Integrated Gradients path integral.

Integrated Gradients approximates, for every input feature ``i``,

.. math::

    \\mathrm{IG}_i(x) = (x_i - b_i) \\int_0^1
        \\frac{\\partial F(b + \\alpha (x - b))}{\\partial x_i} \\, d\\alpha
    \\approx (x_i - b_i) \\sum_{k=1}^{m} w_k
        \\frac{\\partial F(b + \\alpha_k (x - b))}{\\partial x_i}.

:func:`quadrature` returns the weights ``w_k`` (``step_sizes``) and nodes
``alpha_k`` of the rule, in the style of captum's
``captum.attr._utils.approximation_methods``.
"""

from __future__ import annotations

import functools

import numpy as np

from .._validation import IntInterval, StrOptions, validate_params

__all__ = ["quadrature", "QUADRATURE_METHODS"]

#: Largest ``n_steps`` of the Gauss-Legendre rule (a dense eigenproblem of that size).
MAX_GAUSS_LEGENDRE_STEPS = 2048

#: Names accepted by :func:`quadrature`.
QUADRATURE_METHODS = (
    "riemann_right",
    "riemann_left",
    "riemann_middle",
    "riemann_trapezoid",
    "gausslegendre",
)


#: Constraints of the quadrature parameters, shared with :func:`integrated_gradients`.
_QUADRATURE_CONSTRAINTS = {
    "method": [StrOptions(set(QUADRATURE_METHODS))],
    "n_steps": [IntInterval(1)],
}


@validate_params(_QUADRATURE_CONSTRAINTS, prefer_skip_nested_validation=True)
def quadrature(method: str = "riemann_right", n_steps: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Return the weights and nodes of a quadrature rule on ``[0, 1]``.

    Parameters
    ----------
    method : {"riemann_right", "riemann_left", "riemann_middle", \
"riemann_trapezoid", "gausslegendre"}, default="riemann_right"
        The rule.

        - ``"riemann_right"``: ``alpha_k = k / m`` for ``k = 1..m``, weights
          ``1 / m``. This is eq. (2) of Di Luzio, Rosato & Panella (2024) and
          of Sundararajan et al. (2017).
        - ``"riemann_left"``: ``alpha_k = (k - 1) / m``, weights ``1 / m``.
        - ``"riemann_middle"``: ``alpha_k = (k - 1/2) / m``, weights ``1 / m``.
        - ``"riemann_trapezoid"``: ``m`` equally spaced nodes from 0 to 1
          (``m >= 2``), weights ``1 / (m - 1)`` with half weight at both ends.
        - ``"gausslegendre"``: Gauss-Legendre nodes and weights
          (:func:`numpy.polynomial.legendre.leggauss`) mapped from
          ``[-1, 1]`` to ``[0, 1]``; exact for polynomials of degree up to
          ``2m - 1``, hence the fastest to converge on smooth paths.
    n_steps : int, default=50
        Number of nodes ``m`` (``>= 1``; ``>= 2`` for the trapezoid rule;
        ``<= 2048`` for Gauss-Legendre, whose nodes come from a dense
        ``m x m`` eigenproblem).

    Returns
    -------
    step_sizes : ndarray of shape (n_steps,), float64
        Weights ``w_k``; they sum to 1.
    alphas : ndarray of shape (n_steps,), float64
        Nodes ``alpha_k`` in ``[0, 1]``, increasing.

    Raises
    ------
    ValueError
        If ``method`` is unknown or ``n_steps`` is not a positive integer
        (:class:`~sklearn.utils._param_validation.InvalidParameterError`), or
        ``n_steps`` is 1 for the trapezoid rule or exceeds 2048 for Gauss-Legendre.

    Examples
    --------
    >>> step_sizes, alphas = quadrature("riemann_right", 4)
    >>> alphas
    array([0.25, 0.5 , 0.75, 1.  ])
    >>> step_sizes
    array([0.25, 0.25, 0.25, 0.25])
    >>> w, a = quadrature("gausslegendre", 3)
    >>> round(float(np.sum(w * a**5)), 12)  # exact for degree <= 5: 1/6
    0.166666666667
    """
    m = _check_method_steps(method, n_steps)
    return _nodes(method, m, 0, m)


def _check_method_steps(method: str, n_steps: int) -> int:
    """The rules that join ``method`` and ``n_steps`` (each already validated on its own
    by :data:`_QUADRATURE_CONSTRAINTS`); return ``n_steps`` as an int."""
    m = int(n_steps)
    if method == "riemann_trapezoid" and m < 2:
        raise ValueError(
            "method='riemann_trapezoid' needs n_steps >= 2 (both ends of the path). "
            f"Received: n_steps={n_steps!r}"
        )
    if method == "gausslegendre" and m > MAX_GAUSS_LEGENDRE_STEPS:
        raise ValueError(
            f"method='gausslegendre' supports n_steps <= {MAX_GAUSS_LEGENDRE_STEPS} (its nodes "
            "come from a dense n_steps x n_steps eigenproblem); use a Riemann rule for more "
            f"steps. Received: n_steps={n_steps!r}"
        )
    return m


@functools.lru_cache(maxsize=4)
def _gauss_legendre(m: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(m)
    return 0.5 * weights, 0.5 * (nodes + 1.0)


def _nodes_at(method: str, m: int, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights and nodes number ``k`` (an int array, 0-based) of the ``m``-node rule."""
    if method == "gausslegendre":
        if m > MAX_GAUSS_LEGENDRE_STEPS:
            raise ValueError(
                f"method='gausslegendre' supports n_steps <= {MAX_GAUSS_LEGENDRE_STEPS}. "
                f"Received: n_steps={m}"
            )
        weights, alphas = _gauss_legendre(m)
        return weights[k], alphas[k]
    k = np.asarray(k, dtype=np.float64)
    if method == "riemann_trapezoid":
        alphas = k / (m - 1)
        step_sizes = np.full(k.shape, 1.0 / (m - 1))
        step_sizes[(k == 0) | (k == m - 1)] *= 0.5
        return step_sizes, alphas
    offset = {"riemann_right": 1.0, "riemann_left": 0.0, "riemann_middle": 0.5}[method]
    return np.full(k.shape, 1.0 / m), (k + offset) / m


def _nodes(method: str, m: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and nodes ``k = start .. stop - 1`` of the ``m``-node rule (validated)."""
    return _nodes_at(method, m, np.arange(start, stop))


def quadrature_chunks(method: str, n_steps: int, chunk: int):
    """Yield ``(step_sizes, alphas)`` of the rule in consecutive chunks of ``chunk`` nodes.

    Memory is bounded by ``chunk`` (Gauss-Legendre: by ``n_steps <= 2048``),
    not by ``n_steps``: the streamed form of :func:`quadrature`.
    """
    m = _check_method_steps(method, n_steps)
    for start in range(0, m, chunk):
        yield _nodes(method, m, start, min(start + chunk, m))
