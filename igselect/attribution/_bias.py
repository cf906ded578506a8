"""A shortcut check: how much attribution falls on regions that do not move with expression.

Grad-CAM and GradientSHAP studies of face-expression CNNs found models leaning
on parts of the image that carry no expression (hair, the face outline). On
landmarks the same shortcut shows up as attribution on the *rigid* regions
(nose, face oval, forehead), for example when one class was filmed closer or
framed differently. :func:`bias_report` compares the share of the
attribution on each mesh region with the share uniform attribution would
give (the region's share of the landmarks) and flags the scores when the
rigid regions get well over their uniform share.

The flag rule was fixed before any measurement: flag when the rigid share is
at least ``threshold`` (default 2) times the uniform rigid share. A model that
reads expressions spends its attribution on the moving regions (lips,
cheeks, eyes, brows), so its rigid share should sit *below* uniform; twice
uniform (0.31 for the 468-point mesh, whose rigid regions hold 15.4% of the
landmarks) means the rigid regions are attended to far more than even
uninformative, evenly spread attribution would, which is the signature of a
framing or head-shape shortcut.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from .._validation import Interval, IntInterval, RealNotInt, validate_params

__all__ = ["bias_report"]

#: Flag when the rigid share is at least this many times the uniform rigid share.
DEFAULT_THRESHOLD = 2.0


def _mesh_kwargs(scheme) -> dict:
    return {} if scheme is None else {"scheme": scheme}


@validate_params(
    # a positive number, bool rejected
    {"threshold": [Interval(RealNotInt, 0, None, closed="neither"), IntInterval(1)]},
    prefer_skip_nested_validation=True,
)
def bias_report(
    selector_or_scores, *, indices=None, scheme=None, threshold: float = DEFAULT_THRESHOLD
) -> Bunch:
    """Share of the attribution on each face region and on the rigid regions.

    Parameters
    ----------
    selector_or_scores : fitted selector or array-like of shape (..., n_landmarks)
        A fitted :class:`~igselect.GlobalAttributionSelector` (its
        ``scores_`` are used) or attribution scores per landmark (absolute
        values are used; leading axes, e.g. one row per class, are kept).
    indices : array-like of int, default=None
        Mesh index of each score, when the scores cover a subset of the
        landmarks; ``None`` means all landmarks of the scheme.
    scheme : LandmarkScheme, default=None
        The landmark scheme whose regions and rigid regions are used (e.g.
        ``igselect.landmarks.IBUG_68``: jaw and nose); ``None`` infers it from
        the number of landmarks, as :func:`igselect.landmarks.region_shares`
        does (468: the MediaPipe face mesh).
    threshold : float, default=2.0
        Flag when ``rigid_share >= threshold * uniform_rigid_share``.

    Returns
    -------
    report : :class:`~sklearn.utils.Bunch`
        - ``region_shares``: dict region -> share of the total absolute
          attribution (the regions partition the landmarks; shares sum to 1);
        - ``uniform_shares``: dict region -> its share of the landmarks (what
          uniform attribution gives);
        - ``rigid_share``, ``uniform_rigid_share``: the same for the rigid
          regions together;
        - ``rigid_ratio``: ``rigid_share / uniform_rigid_share``;
        - ``threshold``; ``flagged``: ``rigid_ratio >= threshold`` (bool, or a
          bool array for stacked scores).

    See Also
    --------
    igselect.landmarks.mesh.region_shares, igselect.landmarks.mesh.rigid_share

    Examples
    --------
    >>> import numpy as np
    >>> from igselect.attribution import bias_report
    >>> from igselect.landmarks.mesh import REGIONS
    >>> scores = np.ones(468)
    >>> scores[REGIONS["face_oval"]] = 10.0  # a model that reads the face outline
    >>> report = bias_report(scores)
    >>> round(report.uniform_rigid_share, 3), bool(report.flagged)
    (0.154, True)
    >>> bool(bias_report(np.ones(468)).flagged)
    False
    """
    from ..landmarks.mesh import region_shares, rigid_share

    scores = getattr(selector_or_scores, "scores_", selector_or_scores)
    if hasattr(selector_or_scores, "get_params") and not hasattr(selector_or_scores, "scores_"):
        raise ValueError(
            "bias_report needs a fitted selector (with scores_) or an array of scores. "
            f"Received: an unfitted {type(selector_or_scores).__name__}"
        )
    scores = np.asarray(scores, dtype=np.float64)
    kw = _mesh_kwargs(scheme)
    shares = region_shares(scores, indices, **kw)
    uniform = region_shares(np.ones(scores.shape[-1]), indices, **kw)
    rigid = rigid_share(scores, indices, **kw)
    uniform_rigid = float(rigid_share(np.ones(scores.shape[-1]), indices, **kw))
    if uniform_rigid <= 0:
        raise ValueError(
            "None of the scored landmarks lies in a rigid region, so the rigid share is "
            f"undefined. Received: indices={indices!r}"
        )
    ratio = np.asarray(rigid) / uniform_rigid
    flagged = ratio >= threshold
    return Bunch(
        region_shares=shares,
        uniform_shares={k: float(v) for k, v in uniform.items()},
        rigid_share=rigid,
        uniform_rigid_share=uniform_rigid,
        rigid_ratio=float(ratio) if ratio.ndim == 0 else ratio,
        threshold=float(threshold),
        flagged=bool(flagged) if flagged.ndim == 0 else flagged,
    )
