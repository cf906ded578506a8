"""Build the face-mesh topology data shipped in ``igselect/landmarks/data/face_mesh.json``.

It derives, from real faces, what MediaPipe does not publish for its 468-point mesh:

* the left/right mirror permutation (which landmark is the mirror image of which), and
* three geometric regions MediaPipe has no connection list for: ``forehead``,
  ``left_cheek`` and ``right_cheek``.

Method
------
1. Mean face. Landmarks of frontal neutral faces (default: the London set,
   ``igselect/datasets/data/london_landmarks.npz``, array ``neutral`` of shape
   ``(n, 2, 468)``) are aligned by generalised Procrustes analysis (translation, scale,
   rotation) and averaged.
2. Mirror permutation. The mean face is reflected (``x -> -x``) and every reflected point
   is matched to a point of the mean face by a Hungarian assignment
   (``scipy.optimize.linear_sum_assignment``) on Euclidean distances. The best reflection
   axis for that matching is then fitted (orthogonal Procrustes restricted to
   reflections), the face is rotated so that the axis is vertical and centred on it, and
   the matching is repeated until it no longer changes. The matching is symmetrised (a
   point whose partner does not point back is matched to itself, which never happens on
   real data) and points matched to themselves are the midline. The script checks that
   MediaPipe's own left/right contours map onto each other and that the tessellation is
   preserved.
3. Regions, on the mirror-symmetrised mean face (midline vertical at ``x = 0``, ``y``
   pointing down, unit RMS radius); only points outside MediaPipe's own regions (lips,
   eyes, brows, nose, face oval) are candidates, so all regions are disjoint:

   * ``forehead``: above the lower contour of the eyebrows (linearly interpolated in x
     between the brow points, extended flat beyond them);
   * cheeks: below the lowest eye-contour point by more than one eye height, not below
     the mouth corners (61, 291), and laterally outside the nose region's widest point
     (above the base of the nose, landmark 2) or outside the mouth corners (below it);
     ``x > 0`` is the subject's left (MediaPipe's convention: the subject's left eye,
     ``FACE_LANDMARKS_LEFT_EYE``, appears on the right of a non-mirrored image).

Run ``python tools/build_mesh_pairs.py`` from the repository root (add ``--images
DIR --model face_landmarker.task`` to extract landmarks with MediaPipe instead of reading
the npz).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

REPO = Path(__file__).resolve().parents[1]
DEFAULT_NPZ = REPO / "igselect" / "datasets" / "data" / "london_landmarks.npz"
OUT = REPO / "igselect" / "landmarks" / "data" / "face_mesh.json"
LOWER_BROWS = [46, 53, 52, 65, 55, 285, 295, 282, 283, 276]


def mediapipe_regions() -> dict[str, list[int]]:
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    names = {
        "lips": "LIPS",
        "left_eye": "LEFT_EYE",
        "right_eye": "RIGHT_EYE",
        "left_brow": "LEFT_EYEBROW",
        "right_brow": "RIGHT_EYEBROW",
        "nose": "NOSE",
        "face_oval": "FACE_OVAL",
    }
    out = {}
    for key, name in names.items():
        conns = getattr(C, f"FACE_LANDMARKS_{name}")
        out[key] = sorted({i for c in conns for i in (c.start, c.end)})
    edges = {tuple(sorted((c.start, c.end))) for c in C.FACE_LANDMARKS_TESSELATION}
    return out, edges


def extract(images: Path, model: Path) -> np.ndarray:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.IMAGE,
        num_faces=1,
    )
    faces = []
    with vision.FaceLandmarker.create_from_options(opts) as landmarker:
        for path in sorted(images.glob("*.jpg")):
            result = landmarker.detect(mp.Image.create_from_file(str(path)))
            if result.face_landmarks:
                pts = result.face_landmarks[0][:468]
                faces.append([[p.x for p in pts], [p.y for p in pts]])
    return np.asarray(faces, dtype=np.float64)


def _normalise(shape: np.ndarray) -> np.ndarray:
    shape = shape - shape.mean(axis=1, keepdims=True)
    return shape / np.sqrt((shape**2).sum(axis=0).mean())


def _rotate_onto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotate centred ``a`` onto centred ``b`` (no reflection)."""
    za, zb = a[0] + 1j * a[1], b[0] + 1j * b[1]
    w = np.vdot(za, zb)
    z = za * w / abs(w)
    return np.stack([z.real, z.imag])


def mean_face(faces: np.ndarray, n_iter: int = 10) -> np.ndarray:
    init = _normalise(np.mean([_normalise(f) for f in faces], axis=0))
    ref = init
    for _ in range(n_iter):
        ref = _normalise(np.mean([_rotate_onto(_normalise(f), ref) for f in faces], axis=0))
        ref = _rotate_onto(ref, init)
    return ref


def mirror_permutation(shape: np.ndarray, n_iter: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(perm, shape)`` with ``shape`` rotated so its symmetry axis is ``x = 0``."""
    shape = shape.copy()
    flip = np.diag([-1.0, 1.0])
    perm = None
    for _ in range(n_iter):
        _, new = linear_sum_assignment(cdist((flip @ shape).T, shape.T))
        # best reflection M with M @ shape ~ shape[:, perm] (both centred)
        mu = shape.mean(axis=1, keepdims=True)
        u, _, vt = np.linalg.svd((shape[:, new] - mu) @ (shape - mu).T)
        if np.linalg.det(u @ vt) > 0:
            u[:, -1] *= -1
        w, v = np.linalg.eigh(u @ vt)
        axis = v[:, np.argmax(w)]
        axis = axis if axis[1] >= 0 else -axis  # the axis points along +y
        ang = np.arctan2(axis[0], axis[1])
        rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
        shape = rot @ shape
        shape[0] -= 0.5 * (shape[0] + shape[0, new]).mean()
        if perm is not None and np.array_equal(new, perm):
            break
        perm = new
    ident = np.arange(perm.size)
    perm = np.where(perm[perm] == ident, perm, ident)  # symmetrise: only mutual pairs
    return perm, shape


def geometric_regions(sym: np.ndarray, mp_regions: dict[str, list[int]]) -> dict[str, list[int]]:
    x, y = sym
    used = set().union(*mp_regions.values())
    free = np.array([i for i in range(sym.shape[1]) if i not in used])
    order = np.argsort(x[LOWER_BROWS])
    brows = np.asarray(LOWER_BROWS)[order]
    forehead = free[y[free] < np.interp(x[free], x[brows], y[brows])]
    eyes = mp_regions["left_eye"] + mp_regions["right_eye"]
    eye_low = y[eyes].max()
    eye_height = np.ptp(y[mp_regions["left_eye"]])
    nose_x = np.abs(x[mp_regions["nose"]]).max()
    corner_x, corner_y = np.abs(x[[61, 291]]).mean(), y[[61, 291]].mean()
    lateral = np.where(y[free] < y[2], nose_x, corner_x)
    cheek = free[
        (y[free] > eye_low + eye_height) & (y[free] <= corner_y) & (np.abs(x[free]) > lateral)
    ]
    return {
        "forehead": sorted(int(i) for i in forehead),
        "left_cheek": sorted(int(i) for i in cheek[x[cheek] > 0]),
        "right_cheek": sorted(int(i) for i in cheek[x[cheek] < 0]),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--landmarks", type=Path, default=DEFAULT_NPZ)
    parser.add_argument("--images", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.images is not None:
        faces, source = extract(args.images, args.model), f"MediaPipe on {args.images.name}/"
    else:
        faces, source = np.load(args.landmarks)["neutral"].astype(np.float64), args.landmarks.name
    mp_regions, edges = mediapipe_regions()

    perm, shape = mirror_permutation(mean_face(faces))
    if shape[1, 152] < shape[1, 10]:  # chin above forehead: turn upright (y down)
        shape = -shape
    if shape[0, 263] < 0:  # MediaPipe's left eye must be on +x
        raise RuntimeError("unexpected orientation of the mean face")
    flipped = np.diag([-1.0, 1.0]) @ shape
    sym = 0.5 * (shape + flipped[:, perm])
    regions = geometric_regions(sym, mp_regions)

    midline = np.flatnonzero(perm == np.arange(perm.size))
    resid = np.linalg.norm(flipped[:, perm] - shape, axis=0)
    kept = sum(tuple(sorted((perm[a], perm[b]))) in edges for a, b in edges)
    print(f"faces: {len(faces)} from {source}")
    print(f"midline (fixed) points: {midline.size}, pairs: {(perm.size - midline.size) // 2}")
    print(f"max |x| of midline points: {np.abs(shape[0, midline]).max():.4f} (RMS radius 1)")
    print(f"mirror residual: mean {resid.mean():.4f}, max {resid.max():.4f}")
    print(f"tessellation edges preserved: {kept}/{len(edges)}")
    for a, b in [("left_eye", "right_eye"), ("left_brow", "right_brow")]:
        ok = sorted(perm[mp_regions[a]].tolist()) == mp_regions[b]
        print(f"{a} -> {b}: {'exact' if ok else 'MISMATCH'}")
    for name, idx in regions.items():
        print(f"{name}: {len(idx)} points")
    if sorted(perm[regions["left_cheek"]].tolist()) != regions["right_cheek"]:
        raise RuntimeError("cheek regions are not mirror images")

    data = {
        "description": "MediaPipe 468-point face mesh: mirror permutation, geometric regions "
        "and symmetrised mean neutral face. Generated by tools/build_mesh_pairs.py.",
        "source": source,
        "credit": "Derived from landmarks of the Face Research Lab London Set, DeBruine, L. & "
        "Jones, B. (2017), figshare, doi:10.6084/m9.figshare.5047666.v5, CC BY 4.0.",
        "n_faces": len(faces),
        "mirror_permutation": perm.tolist(),
        "regions": regions,
        "mean_shape": np.round(sym, 5).tolist(),
    }
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
