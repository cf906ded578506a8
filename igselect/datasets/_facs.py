"""FACS action units as displacement fields over the 468-point MediaPipe face mesh.

Each action unit (AU) of the Facial Action Coding System is modelled as a
static displacement field of shape ``(2, 468)``: how far, and in which
direction, every landmark moves when the AU is at its apex. Fields live in a
*canonical face frame*:

* the reference face is the Generalised Procrustes mean of the 60 real
  neutral faces of the Face Research Lab London Set (see
  :func:`reference_face`), centred on its centroid, rotated so that the outer
  eye corners (landmarks 33 and 263) are level, x to the image right and y
  downward as in image coordinates;
* it is scaled to unit *face size*: the root-mean-square distance of the 468
  landmarks from their centroid (the Procrustes size). The face is about 3.4
  face units tall (forehead landmark 10 to chin 152) and the outer eye
  corners are about 1.9 apart.

All magnitudes below are in face units. For scale: in the real London smiles
the lip corners move by 0.15 and the average landmark by 0.04, while two
different people's aligned neutral faces differ by about 0.04 per landmark.

The smile (AU6 + AU12) is **estimated from real data**: the mean displacement
smiling - neutral of the 60 London subjects, each smiling face aligned onto the
same person's neutral face on landmarks that do not move with expression
(forehead and nasal bridge), and shrunk towards zero where it is not
consistent across subjects. The other AUs are hand-built from their FACS
description: Gaussian falloff around anchor landmarks of the face region the
muscle acts on, restricted to that region by a smooth gate.

References
----------
P. Ekman, W. V. Friesen and J. C. Hager, *Facial Action Coding System*, 2002.
Emotion prototypes follow EMFACS (Friesen & Ekman, 1983) as used for CK+.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

__all__ = ["AU_DESCRIPTIONS", "EMOTION_PROTOTYPES", "action_unit_fields", "reference_face"]

N_LANDMARKS = 468

#: FACS names of the action units that the emotion prototypes use.
AU_DESCRIPTIONS: dict[str, str] = {
    "AU1": "inner brow raiser (frontalis, pars medialis)",
    "AU2": "outer brow raiser (frontalis, pars lateralis)",
    "AU4": "brow lowerer (corrugator, depressor supercilii)",
    "AU5": "upper lid raiser (levator palpebrae superioris)",
    "AU6": "cheek raiser (orbicularis oculi, pars orbitalis)",
    "AU7": "lid tightener (orbicularis oculi, pars palpebralis)",
    "AU9": "nose wrinkler (levator labii superioris alaeque nasi)",
    "AU12": "lip corner puller (zygomaticus major)",
    "AU15": "lip corner depressor (depressor anguli oris)",
    "AU16": "lower lip depressor (depressor labii inferioris)",
    "AU20": "lip stretcher (risorius, platysma)",
    "AU23": "lip tightener (orbicularis oris)",
    "AU26": "jaw drop (masseter relaxed, temporalis)",
}

#: EMFACS prototypes: the AUs whose combination displays each basic emotion.
EMOTION_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "anger": ("AU4", "AU5", "AU7", "AU23"),
    "disgust": ("AU9", "AU15", "AU16"),
    "fear": ("AU1", "AU2", "AU4", "AU5", "AU7", "AU20", "AU26"),
    "happiness": ("AU6", "AU12"),
    "sadness": ("AU1", "AU4", "AU15"),
    "surprise": ("AU1", "AU2", "AU5", "AU26"),
}

_LONDON = Path(__file__).parent / "data" / "london_landmarks.npz"

# Fixed MediaPipe face-mesh topology (indices; "right" = the subject's right,
# which is on the image left).
_STABLE = (10, 151, 9, 8, 108, 337, 109, 338, 67, 297, 69, 299, 104, 333, 168, 6, 197, 195, 5)
_LIP_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291,
              375, 321, 405, 314, 17, 84, 181, 91, 146)  # fmt: skip
_LIP_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
_LIP_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
_BROW_LOWER = (46, 53, 52, 65, 55, 276, 283, 282, 295, 285)
_BROW_INNER = (107, 66, 55, 65, 336, 296, 285, 295)
_BROW_OUTER = (70, 63, 46, 53, 300, 293, 276, 283)
_BROW_MID = (105, 52, 334, 282)
_UPPER_LID = (159, 158, 160, 386, 385, 387)
_LOWER_LID = (145, 144, 153, 374, 373, 380)
_LIP_CORNERS = (61, 291, 78, 308)
_ALAR = (48, 64, 98, 129, 278, 294, 327, 358)
_UPPER_LIP_MID = (0, 37, 267, 13, 82, 312)
_LOWER_LIP_MID = (17, 84, 314, 14, 87, 317, 181, 405)


def _similarity(src: np.ndarray, dst: np.ndarray, idx=None) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``(s, R, t)`` with ``s R src + t ~ dst`` (2 x L arrays).

    Closed form of the 2-D Procrustes problem: with the centred shapes as complex
    numbers ``a`` and ``b``, ``s exp(i theta) = sum(conj(a) b) / sum(|a|^2)``.
    """
    sel = slice(None) if idx is None else np.asarray(idx)
    a, b = src[:, sel], dst[:, sel]
    ma, mb = a.mean(1, keepdims=True), b.mean(1, keepdims=True)
    za = (a[0] - ma[0]) + 1j * (a[1] - ma[1])
    zb = (b[0] - mb[0]) + 1j * (b[1] - mb[1])
    z = np.vdot(za, zb) / np.vdot(za, za).real
    scale = float(abs(z))
    c, s = z.real / scale, z.imag / scale
    rot = np.array([[c, -s], [s, c]])
    return scale, rot, mb - scale * rot @ ma


def _load_london() -> dict[str, np.ndarray]:
    if not _LONDON.is_file():
        raise FileNotFoundError(
            f"The packaged London landmark file is missing: {_LONDON}. Reinstall igselect."
        )
    with np.load(_LONDON) as data:
        return {k: np.asarray(data[k]) for k in ("neutral", "smiling")}


@functools.lru_cache(maxsize=1)
def _canonical() -> dict[str, np.ndarray]:
    """GPA of the London neutral faces, and the raw per-subject smile displacements."""
    london = _load_london()
    neutral = london["neutral"].astype(np.float64)
    smiling = london["smiling"].astype(np.float64)
    ref = neutral.mean(0)
    for _ in range(6):
        aligned = np.stack([s * r @ x + t for x in neutral for s, r, t in [_similarity(x, ref)]])
        ref = aligned.mean(0)
        ref -= ref.mean(1, keepdims=True)
        ref /= np.sqrt((ref**2).sum(0).mean())
        eye = ref[:, 263] - ref[:, 33]
        c, s = eye / np.linalg.norm(eye)
        ref = np.array([[c, s], [-s, c]]) @ ref  # outer eye corners level
    aligned = np.stack([s * r @ x + t for x in neutral for s, r, t in [_similarity(x, ref)]])
    smile = []
    for x, y in zip(neutral, smiling, strict=True):
        s1, r1, t1 = _similarity(y, x, _STABLE)  # smile onto the same person's neutral face
        s2, r2, _ = _similarity(x, ref)  # that person's frame -> canonical frame
        smile.append(s2 * r2 @ (s1 * r1 @ y + t1 - x))
    return {"reference": ref, "aligned": aligned, "smile": np.stack(smile)}


def reference_face() -> np.ndarray:
    """Canonical neutral face: GPA mean of the 60 London neutral faces.

    Returns
    -------
    face : ndarray of shape (2, 468)
        Centred, unit face size (RMS distance from the centroid), eyes level,
        y pointing down.

    Examples
    --------
    >>> face = reference_face()
    >>> face.shape, bool(face[1, 10] < 0 < face[1, 152])  # forehead up, chin down
    ((2, 468), True)
    """
    return _canonical()["reference"].copy()


def _estimated_smile(t0: float = 3.0) -> np.ndarray:
    """Mean London smile displacement, shrunk by ``t^2 / (t^2 + t0^2)`` (t: its t-statistic)."""
    d = _canonical()["smile"]
    mean = d.mean(0)
    se = d.std(0, ddof=1) / np.sqrt(len(d))
    t2 = (mean**2).sum(0) / np.maximum((se**2).sum(0), 1e-12)
    return mean * (t2 / (t2 + t0**2))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test; points (2, n), polygon (2, m)."""
    x, y = points
    px, py = polygon
    qx, qy = np.roll(px, -1), np.roll(py, -1)
    crosses = ((py[:, None] > y) != (qy[:, None] > y)) & (
        x < (qx - px)[:, None] * (y - py[:, None]) / (qy - py + 1e-12)[:, None] + px[:, None]
    )
    return crosses.sum(0) % 2 == 1


def _pull(ref, anchors, dx, dy, sigma, gate) -> np.ndarray:
    """Gaussian falloff around ``anchors``; dx points away from the midline, dy downward.

    The direction is the weighted mean of the anchors' pulls (so mirror-symmetric
    pulls cancel on the midline) and the magnitude falls off with the distance
    to the nearest anchor, so the displacement never exceeds ``hypot(dx, dy)``.
    """
    anchors = np.asarray(anchors)
    pa = ref[:, anchors]  # (2, A)
    d2 = ((ref[:, :, None] - pa[:, None, :]) ** 2).sum(0)  # (L, A)
    w = np.exp(-d2 / (2 * sigma**2))
    vec = np.stack([np.sign(pa[0]) * dx, np.full(len(anchors), dy)])  # (2, A)
    field = (w @ vec.T).T / np.maximum(w.sum(1), 1e-300) * w.max(1)
    return field * gate


@functools.lru_cache(maxsize=1)
def _fields() -> dict[str, np.ndarray]:
    ref = _canonical()["reference"]
    x, y = ref
    ymean = lambda idx: ref[1, list(idx)].mean()  # noqa: E731
    # horizontal bands between facial features (soft gates, width ~0.03-0.05)
    brow_band = _sigmoid((0.5 * (ymean(_BROW_LOWER) + ymean(_UPPER_LID)) - y) / 0.03)
    eye_y = 0.5 * (ymean(_UPPER_LID) + ymean(_LOWER_LID))
    upper_lid = (1 - brow_band) * _sigmoid((eye_y - y) / 0.02)
    lower_lid = _sigmoid((y - eye_y) / 0.02) * _sigmoid((ymean(_LOWER_LID) + 0.15 - y) / 0.03)
    mouth_band = _sigmoid((y - ref[1, 2] - 0.05) / 0.04)  # below the subnasale (landmark 2)
    # lips: inside the outer lip contour; lower lip below the inner lip midline
    lips = _inside(ref, ref[:, list(_LIP_OUTER)]) | np.isin(np.arange(len(x)), _LIP_OUTER)
    inner = 0.5 * (ref[:, list(_LIP_INNER_UPPER)] + ref[:, list(_LIP_INNER_LOWER)])
    order = np.argsort(inner[0])
    mid_y = np.interp(x, inner[0, order], inner[1, order])
    lower = lips & (y > mid_y + 0.005)
    lower[list(_LIP_INNER_LOWER[1:-1])] = True
    lower[list(_LIP_INNER_UPPER)] = False
    upper_lip = lips & ~lower
    red = np.clip(np.abs(y - mid_y) / 0.1, 0.0, 1.0)  # the lip red narrows, its inner edge stays
    y_corners = ref[1, [61, 291]].mean()
    below_mouth = np.where(lips, lower, _sigmoid((y - y_corners - 0.05) / 0.05))

    smile = _estimated_smile()
    cheek_part = _sigmoid((0.5 * (ref[1, 1] + ref[1, 0]) - y) / 0.08)
    fields = {
        "AU1": _pull(ref, _BROW_INNER, 0.0, -0.10, 0.30, brow_band),
        "AU2": _pull(ref, _BROW_OUTER, 0.0, -0.10, 0.30, brow_band),
        "AU4": _pull(ref, _BROW_INNER + _BROW_MID, -0.04, 0.06, 0.30, brow_band),
        "AU5": _pull(ref, _UPPER_LID, 0.0, -0.05, 0.15, upper_lid),
        "AU6": smile * cheek_part,
        "AU7": _pull(ref, _LOWER_LID, 0.0, -0.035, 0.15, lower_lid)
        + _pull(ref, _UPPER_LID, 0.0, 0.01, 0.12, upper_lid),
        "AU9": _pull(ref, _ALAR, 0.0, -0.05, 0.20, _sigmoid((y - eye_y - 0.2) / 0.05))
        + _pull(ref, _UPPER_LIP_MID, 0.0, -0.03, 0.20, mouth_band * ~lower)
        + _pull(ref, _BROW_INNER[::2], 0.0, 0.03, 0.20, brow_band),
        "AU12": smile * (1 - cheek_part),
        "AU15": _pull(ref, _LIP_CORNERS, 0.02, 0.07, 0.20, mouth_band),
        "AU16": _pull(ref, _LOWER_LIP_MID, 0.0, 0.06, 0.25, below_mouth),
        "AU20": _pull(ref, _LIP_CORNERS, 0.08, 0.01, 0.25, mouth_band),
        "AU23": _pull(ref, (37, 0, 267), 0.0, 0.03, 0.15, upper_lip * red)
        + _pull(ref, (84, 17, 314), 0.0, -0.035, 0.15, lower * red)
        + _pull(ref, _LIP_CORNERS, -0.03, 0.0, 0.15, mouth_band),
    }
    # AU26: the jaw rotates open; the chin moves most, the jaw angles little.
    jaw = below_mouth * np.exp(-0.5 * (x / 0.9) ** 2)
    fields["AU26"] = np.stack([np.zeros_like(x), 0.14 * jaw])
    for f in fields.values():
        f.setflags(write=False)
    return fields


def action_unit_fields() -> dict[str, np.ndarray]:
    """Apex displacement field of every action unit in :data:`AU_DESCRIPTIONS`.

    Returns
    -------
    fields : dict of str to ndarray of shape (2, 468)
        Displacements in face units in the canonical frame of
        :func:`reference_face` (y down; negative y moves up).

    Notes
    -----
    Peak displacements (face units; face size = RMS landmark radius):

    ======  =====================================================  ======
    AU      anchors and direction                                  peak
    ======  =====================================================  ======
    AU1     inner brow (107, 66, 55, 336, ...) up                  0.10
    AU2     outer brow (70, 63, 46, 300, ...) up                   0.10
    AU4     inner/middle brow down 0.06 and inward 0.04            0.07
    AU5     upper lid (159, 386) up                                0.05
    AU6     cheeks and lower lids: London smile, upper part        ~0.07
    AU7     lower lid (145, 374) up 0.035, upper lid down 0.01     0.035
    AU9     nose wings up 0.05, upper lip up 0.03, inner brow      0.05
            down 0.03
    AU12    lip corners (61, 291): London smile, lower part        ~0.15
    AU15    lip corners down 0.07, outward 0.02                    0.07
    AU16    lower lip (17, 14, 84, 314) down                       0.06
    AU20    lip corners outward 0.08, down 0.01                    0.08
    AU23    lips thin (upper down 0.03, lower up 0.035), corners   0.035
            inward 0.03
    AU26    jaw and lower lip down, chin most                      0.14
    ======  =====================================================  ======

    Examples
    --------
    >>> fields = action_unit_fields()
    >>> dx, dy = fields["AU12"][:, 61]  # the subject's right lip corner (image left)
    >>> bool(dx < 0 and dy < 0)  # moves outward and up
    True
    """
    return {k: v.copy() for k, v in _fields().items()}
