"""Image geometry for the extractor: input coercion, tiles, face boxes, crops.

Pure NumPy/OpenCV helpers, no MediaPipe, so they are cheap to test. Boxes are
``(x0, y0, x1, y1)`` in pixels of the full frame; a crop is a square
``(x0, y0, side)`` with integer corner and side.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

__all__: list[str] = []


class UnreadableInputError(ValueError):
    """An input file could not be decoded (corrupt, empty, or not an image or video)."""


def _decode_with_pillow(path: Path) -> np.ndarray | None:
    """First frame of an image file via Pillow, as BGR ``uint8``; None if it cannot read it.

    OpenCV decodes neither GIF (the format of the Yale face database, among others) nor
    Pillow's rarer formats; Pillow comes with matplotlib.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.seek(0)
            rgb = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return np.ascontiguousarray(rgb[:, :, ::-1])


def read_bgr(image) -> np.ndarray:
    """Return a contiguous ``uint8`` BGR image from a path or an array.

    Files are decoded by OpenCV, or by Pillow where OpenCV cannot (GIF, ...; the
    first frame of an animation). Arrays may be 2-D gray, ``(H, W, 1)``, BGR
    ``(H, W, 3)`` (as ``cv2.imread`` returns) or BGRA ``(H, W, 4)`` (alpha dropped).
    ``uint16`` is scaled to 8 bit and floats are taken to lie in ``[0, 1]``.
    """
    if isinstance(image, str | os.PathLike):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"image file not found. Received: image={str(path)!r}")
        # imdecode(fromfile) copes with non-ASCII paths on every platform.
        data = np.fromfile(str(path), dtype=np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if img is None and data.size:
            img = _decode_with_pillow(path)  # GIF and other formats OpenCV lacks
        if img is None:
            raise UnreadableInputError(
                f"could not decode {str(path)!r} as an image (corrupt or not an image)"
            )
        return img
    arr = np.asarray(image)
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype.kind == "f":
        arr = np.clip(np.nan_to_num(arr) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise ValueError(
            f"image arrays must be uint8, uint16 or float in [0, 1]. Received: dtype={arr.dtype}"
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    elif not (arr.ndim == 3 and arr.shape[2] == 3):
        raise ValueError(
            "image must be (H, W) gray, (H, W, 3) BGR or (H, W, 4) BGRA. "
            f"Received: shape={arr.shape}"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"image is empty. Received: shape={arr.shape}")
    return np.ascontiguousarray(arr)


def square_tiles(height: int, width: int) -> list[tuple[int, int, int]]:
    """Square tiles ``(x0, y0, side)`` covering a frame, stepping at most half a side.

    MediaPipe's face detector letterboxes its input to a square, so on a wide
    frame faces shrink by the aspect ratio. Square tiles of the short side keep
    full resolution; a step of at most half a side puts every face smaller than
    half the short side wholly inside some tile. A near-square frame is one tile.
    """
    side, long = min(height, width), max(height, width)
    if long <= 1.15 * side:
        return [(0, 0, -1)]  # the whole frame, letterboxed by MediaPipe
    n = math.ceil(2 * long / side) - 1
    starts = np.linspace(0, long - side, n).round().astype(int)
    if width >= height:
        return [(int(s), 0, side) for s in starts]
    return [(0, int(s), side) for s in starts]


def landmark_box(xy: np.ndarray) -> np.ndarray:
    """Bounding box ``(x0, y0, x1, y1)`` of ``(2, L)`` pixel coordinates."""
    return np.array([xy[0].min(), xy[1].min(), xy[0].max(), xy[1].max()], dtype=np.float64)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def dedupe_boxes(boxes: list[np.ndarray], interior: list[float], iou: float = 0.4) -> list:
    """Drop boxes that overlap a kept box; prefer boxes farther from their tile edge."""
    order = np.argsort(interior)[::-1]
    kept: list[np.ndarray] = []
    for i in order:
        if all(box_iou(boxes[i], k) <= iou for k in kept):
            kept.append(boxes[i])
    return kept


def select_box(boxes: list[np.ndarray], height: int, width: int, rule: str) -> np.ndarray:
    """Pick one face box: ``"largest"`` area or closest to the frame ``"center"``."""
    if rule == "largest":
        areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
        return boxes[int(np.argmax(areas))]
    centre = np.array([width / 2.0, height / 2.0])
    dists = [np.hypot(*(np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]) - centre)) for b in boxes]
    return boxes[int(np.argmin(dists))]


def crop_square(box: np.ndarray, margin: float) -> tuple[int, int, int]:
    """Square crop ``(x0, y0, side)`` around a box, its longer side grown by ``margin`` each way."""
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    side = max(box[2] - box[0], box[3] - box[1]) * (1.0 + 2.0 * margin)
    side = max(int(round(side)), 8)
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side


def cut_crop(bgr: np.ndarray, crop: tuple[int, int, int], size: int, grayscale: bool) -> np.ndarray:
    """Cut a square crop (zero-padded at the frame border), resize it, return RGB ``uint8``.

    With ``grayscale=True`` the crop is converted to gray and given as three
    equal channels (MediaPipe's face model takes RGB input only).
    """
    x0, y0, side = crop
    h, w = bgr.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if (sx0, sy0, sx1, sy1) == (x0, y0, x0 + side, y0 + side):
        out = bgr[y0 : y0 + side, x0 : x0 + side]  # inside the frame: a view, no copy
    else:
        out = np.zeros((side, side, 3), dtype=np.uint8)
        if sx1 > sx0 and sy1 > sy0:
            out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = bgr[sy0:sy1, sx0:sx1]
    # INTER_AREA only where bilinear would alias (shrinking by more than 2x).
    interp = cv2.INTER_AREA if side > 2 * size else cv2.INTER_LINEAR
    out = cv2.resize(out, (size, size), interpolation=interp)
    if grayscale:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2RGB)
        return out
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def crop_to_frame(uv: np.ndarray, crop: tuple[int, int, int]) -> np.ndarray:
    """Map ``(2, L)`` crop-normalised coordinates to frame pixels."""
    x0, y0, side = crop
    return np.stack([x0 + uv[0] * side, y0 + uv[1] * side])
