"""Attribution methods for landmark sequences.

Gradient methods share one batched, compiled gradient core (:mod:`._gradients`)
and use the fast engine for :func:`~igselect.network.build_emo_network` models:

- :func:`integrated_gradients`: batched, compiled IG with completeness deltas.
- :func:`gradient_shap`: expected gradients over a baseline distribution.
- :func:`saliency` (``|dF/dx|``) and :func:`input_x_gradient` (``x * dF/dx``).
- :func:`grad_cam`: Grad-CAM per frame and landmark on a layer with a landmark axis.
- :func:`occlusion`: model-agnostic, the drop in probability when landmarks are hidden.
- :func:`aggregate_landmark_scores`: one score per landmark from any of them.
- :func:`bias_report`: the share of attribution on each mesh region and the rigid regions.
- :func:`quadrature`: the quadrature rules (Riemann left/right/middle,
  trapezoid, Gauss-Legendre) of the IG path integral.
"""

from ._aggregation import aggregate_landmark_scores
from ._bias import bias_report
from ._emo_recognise import recognise_emo_network
from ._grad_cam import grad_cam
from ._gradient_shap import gradient_shap
from ._integrated_gradients import integrated_gradients
from ._occlusion import occlusion
from ._quadrature import QUADRATURE_METHODS, quadrature
from ._saliency import input_x_gradient, saliency

__all__ = [
    "QUADRATURE_METHODS",
    "aggregate_landmark_scores",
    "bias_report",
    "grad_cam",
    "gradient_shap",
    "input_x_gradient",
    "integrated_gradients",
    "occlusion",
    "quadrature",
    "recognise_emo_network",
    "saliency",
]
