"""Integrated Gradients for landmark sequences.

- :func:`integrated_gradients`: batched, compiled IG with completeness deltas
  and a fast engine for :func:`~igselect.network.build_emo_network` models.
- :func:`quadrature`: the quadrature rules (Riemann left/right/middle,
  trapezoid, Gauss-Legendre) of the path integral.
- :func:`aggregate_landmark_scores`: ``|IG|`` summed over frames and
  coordinates, one score per landmark.
"""

from ._aggregation import aggregate_landmark_scores
from ._emo_recognise import recognise_emo_network
from ._integrated_gradients import integrated_gradients
from ._quadrature import QUADRATURE_METHODS, quadrature

__all__ = [
    "QUADRATURE_METHODS",
    "aggregate_landmark_scores",
    "integrated_gradients",
    "quadrature",
    "recognise_emo_network",
]
