"""Tests for igselect.landmarks.mesh: regions, mirror pairs, mirroring, rigid share."""

from __future__ import annotations

import ast
import importlib.util
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from igselect.landmarks import mesh
from igselect.landmarks.aligner import LandmarkAligner

EXPECTED_NAMES = (
    "lips",
    "left_eye",
    "right_eye",
    "left_brow",
    "right_brow",
    "nose",
    "face_oval",
    "left_cheek",
    "right_cheek",
    "forehead",
    "mouth_corners",
)
MP_NAMES = {
    "lips": "LIPS",
    "left_eye": "LEFT_EYE",
    "right_eye": "RIGHT_EYE",
    "left_brow": "LEFT_EYEBROW",
    "right_brow": "RIGHT_EYEBROW",
    "nose": "NOSE",
    "face_oval": "FACE_OVAL",
}


@pytest.fixture(scope="module")
def london():
    path = resources.files("igselect.datasets").joinpath("data", "london_landmarks.npz")
    with resources.as_file(path) as p, np.load(p) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def connections() -> dict[str, list[tuple[int, int]]]:
    """MediaPipe's ``FaceLandmarksConnections`` lists, read from the installed source.

    The module is parsed rather than imported: importing MediaPipe imports TensorFlow
    (about 20 s here), and the lists are plain literals.
    """
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        pytest.skip("mediapipe is not installed")
    source = Path(spec.origin).parent / "tasks" / "python" / "vision" / "face_landmarker.py"
    tree = ast.parse(source.read_text())
    cls = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name == "FaceLandmarksConnections"
    )
    out = {}
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.List):
            name = node.target.id.removeprefix("FACE_LANDMARKS_")
            out[name] = [(c.args[0].value, c.args[1].value) for c in node.value.elts]
    return out


# ------------------------------------------------------------------------- regions
def test_region_names_are_exact():
    assert tuple(mesh.REGIONS) == EXPECTED_NAMES
    assert mesh.REGION_NAMES == EXPECTED_NAMES
    assert "mouth_corners" not in mesh.REGION_PRIORITY
    assert set(mesh.RIGID_REGIONS) <= set(mesh.REGIONS)


def test_regions_are_sorted_valid_and_read_only():
    for name, idx in mesh.REGIONS.items():
        assert idx.size > 0, name
        assert idx.dtype.kind == "i"
        assert idx.min() >= 0 and idx.max() < 468
        assert_array_equal(idx, np.unique(idx))
        with pytest.raises(ValueError):
            idx[0] = 1
    assert_array_equal(mesh.REGIONS["mouth_corners"], [61, 291])


def test_regions_are_disjoint_except_mouth_corners():
    seen = np.zeros(468, dtype=int)
    for name in mesh.REGION_PRIORITY:
        seen[mesh.REGIONS[name]] += 1
    assert seen.max() == 1
    assert set(mesh.REGIONS["mouth_corners"]) <= set(mesh.REGIONS["lips"])


def test_mediapipe_regions_match_installed_mediapipe(connections):
    for name, mp_name in MP_NAMES.items():
        expected = sorted({i for pair in connections[mp_name] for i in pair})
        assert mesh.REGIONS[name].tolist() == expected, name


def test_geometric_regions_lie_where_their_names_say():
    x, y = mesh.mean_shape()  # midline x = 0, y down, subject's left at x > 0
    R = mesh.REGIONS
    assert np.all(x[R["left_eye"]] > 0) and np.all(x[R["right_eye"]] < 0)
    assert np.all(x[R["left_cheek"]] > 0) and np.all(x[R["right_cheek"]] < 0)
    brows = np.r_[R["left_brow"], R["right_brow"]]
    assert y[R["forehead"]].max() < y[brows].max()  # above the lowest brow point
    for side in ("left", "right"):
        cheek = R[f"{side}_cheek"]
        assert y[cheek].min() > y[R[f"{side}_eye"]].max()  # below the eye
        assert y[cheek].max() <= y[[61, 291]].mean() + 1e-9  # not below the mouth corners
        assert np.abs(x[cheek]).min() > np.abs(x[R["nose"]]).max()  # beside the nose
    assert len(R["left_cheek"]) == len(R["right_cheek"]) >= 10
    assert len(R["forehead"]) >= 6


def test_landmark_regions_and_region_of():
    names = mesh.landmark_regions()
    assert names.shape == (468,)
    assert set(names) <= {*mesh.REGION_PRIORITY, "other"}
    for name in mesh.REGION_PRIORITY:
        assert_array_equal(np.flatnonzero(names == name), mesh.REGIONS[name])
    assert mesh.landmark_regions([61, 1, 263, 33, 151, 152]).tolist() == [
        "lips",
        "nose",
        "left_eye",
        "right_eye",
        "forehead",
        "face_oval",
    ]
    assert mesh.region_of(200) == "other"  # the chin is no region
    assert all(mesh.region_of(i) == names[i] for i in (0, 50, 280, 467))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 467\]"):
        mesh.region_of(468)
    with pytest.raises(ValueError, match="1-D array of integers"):
        mesh.landmark_regions([0.5])


def test_landmark_names():
    assert mesh.landmark_names()[:2] == ["landmark_0", "landmark_1"]
    assert len(mesh.landmark_names()) == 468
    assert mesh.landmark_names(np.array([7, 300])) == ["landmark_7", "landmark_300"]


# ----------------------------------------------------------------- mirror permutation
def test_mirror_permutation_is_an_involution():
    perm = mesh.mirror_permutation()
    assert perm.shape == (468,) and perm.dtype.kind == "i"
    assert_array_equal(np.sort(perm), np.arange(468))
    assert_array_equal(perm[perm], np.arange(468))
    perm[0] = 5  # a copy: the module's constant is untouched
    assert mesh.mirror_permutation()[0] == 0


def test_midline_and_pairs_partition_the_mesh():
    perm = mesh.mirror_permutation()
    assert_array_equal(mesh.MIDLINE, np.flatnonzero(perm == np.arange(468)))
    pairs = mesh.MIRROR_PAIRS
    assert pairs.shape == (220, 2) and mesh.MIDLINE.size == 28
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert_array_equal(perm[pairs[:, 0]], pairs[:, 1])
    assert_array_equal(np.sort(np.r_[pairs.ravel(), mesh.MIDLINE]), np.arange(468))
    # well-known midline points: lip centres, nose tip, top of the forehead, chin
    assert {0, 1, 4, 10, 13, 14, 17, 152, 168} <= set(mesh.MIDLINE.tolist())
    # the midline lies on the symmetry axis of the mean face
    assert np.abs(mesh.mean_shape()[0, mesh.MIDLINE]).max() < 1e-4


@pytest.mark.parametrize(
    "left, right",
    [("left_eye", "right_eye"), ("left_brow", "right_brow"), ("left_cheek", "right_cheek")],
)
def test_left_regions_map_onto_right_regions(left, right):
    perm = mesh.mirror_permutation()
    assert_array_equal(np.sort(perm[mesh.REGIONS[left]]), mesh.REGIONS[right])
    assert_array_equal(np.sort(perm[mesh.REGIONS[right]]), mesh.REGIONS[left])


@pytest.mark.parametrize("name", ["lips", "nose", "face_oval", "forehead", "mouth_corners"])
def test_central_regions_map_onto_themselves(name):
    perm = mesh.mirror_permutation()
    assert_array_equal(np.sort(perm[mesh.REGIONS[name]]), mesh.REGIONS[name])


def test_mirror_permutation_preserves_mediapipe_tessellation(connections):
    perm = mesh.mirror_permutation()
    edges = {tuple(sorted(pair)) for pair in connections["TESSELATION"]}
    assert len(edges) > 1300
    kept = sum(tuple(sorted((perm[a], perm[b]))) in edges for a, b in edges)
    # 1316 of 1322: three quads of the mesh have their diagonal drawn asymmetrically.
    assert kept / len(edges) > 0.99


# ------------------------------------------------------------------------- mirror()
@pytest.mark.parametrize(
    "shape", [(2, 468), (5, 2, 468), (3, 4, 2, 468), (3, 4, 2, 468, 1), (2, 3, 4, 2, 468)]
)
def test_mirror_shapes_and_double_mirror(shape):
    X = np.random.default_rng(0).random(shape, dtype=np.float32)
    Xm = mesh.mirror(X)
    assert Xm.shape == X.shape and Xm.dtype == np.float32
    assert not np.allclose(Xm, X)
    assert_allclose(mesh.mirror(Xm), X, rtol=0, atol=1e-7)
    assert_array_equal(mesh.mirror(mesh.mirror(X, x_center=0.0), x_center=0.0), X)  # bit-exact


def test_mirror_flips_x_and_swaps_landmarks():
    X = np.random.default_rng(1).random((2, 2, 468))
    Xm = mesh.mirror(X)
    assert_allclose(Xm[:, 0, 263], 1 - X[:, 0, 33])  # left eye corner <- right eye corner
    assert_allclose(Xm[:, 1, 263], X[:, 1, 33])
    assert_allclose(Xm[:, 0, 1], 1 - X[:, 0, 1])  # the nose tip stays itself
    assert_allclose(mesh.mirror(X, x_center=0.0)[:, 0, 263], -X[:, 0, 33])
    own = mesh.mirror(X, x_center=None)  # about each face's own mean x: stays in place
    assert_allclose(own[:, 0].mean(axis=-1), X[:, 0].mean(axis=-1))
    assert mesh.mirror(np.ones((2, 468), dtype=int)).dtype == np.float64


def test_mirror_errors():
    with pytest.raises(ValueError, match=r"Received: X.shape=\(2, 467\)"):
        mesh.mirror(np.zeros((2, 467)))
    with pytest.raises(ValueError, match="Received: X.shape"):
        mesh.mirror(np.zeros((468, 2)))
    with pytest.raises(ValueError, match="x_center"):
        mesh.mirror(np.zeros((2, 468)), x_center=np.nan)
    with pytest.raises(ValueError, match="numeric"):
        mesh.mirror(np.full((2, 468), "a"))


def test_mean_shape_is_mirror_symmetric():
    S = mesh.mean_shape()
    assert_allclose(mesh.mirror(S, x_center=0.0), S, atol=2e-5)
    assert_allclose(S.mean(axis=1), 0, atol=1e-4)
    assert_allclose(np.sqrt((S**2).sum(axis=0).mean()), 1, atol=1e-2)


def test_mirrored_real_faces_match_the_original(london):
    """A mirrored London face, aligned to the original, lands on it; a plain flip does not."""
    faces = london["neutral"].astype(np.float64)
    aligner = LandmarkAligner().fit(faces[:, None])
    plain = faces.copy()
    plain[:, 0] = 1 - plain[:, 0]
    A = aligner.transform(np.stack([faces, mesh.mirror(faces), plain], axis=1))
    height = np.linalg.norm(A[:, 0, :, 10] - A[:, 0, :, 152], axis=-1)  # forehead-chin
    resid = np.linalg.norm(A[:, 1] - A[:, 0], axis=1).mean(axis=1) / height
    resid_plain = np.linalg.norm(A[:, 2] - A[:, 0], axis=1).mean(axis=1) / height
    # measured: median 0.7 %, max 1.5 % of the face height; plain flip about 28 %
    assert resid.max() < 0.02
    assert resid_plain.min() > 10 * resid.max()


# ----------------------------------------------------------------- shares / bias indicator
def test_rigid_share_on_known_scores():
    scores = np.zeros(468)
    scores[[1, 10, 151]] = 1.0  # nose, face_oval, forehead
    scores[61] = -1.0  # lips; the sign does not matter
    assert mesh.rigid_share(scores) == pytest.approx(0.75)
    assert mesh.rigid_share(scores, regions=("lips",)) == pytest.approx(0.25)
    assert mesh.rigid_share(np.zeros(468)) == 0.0
    uniform = mesh.rigid_share(np.ones(468))
    n_rigid = sum(len(mesh.REGIONS[r]) for r in mesh.RIGID_REGIONS)
    assert uniform == pytest.approx(n_rigid / 468)
    rows = mesh.rigid_share(np.stack([scores, np.ones(468)]))
    assert_allclose(rows, [0.75, uniform])
    # a selected subset: scores for landmarks [1, 61, 200] only
    assert mesh.rigid_share([2.0, 1.0, 1.0], indices=[1, 61, 200]) == pytest.approx(0.5)


def test_region_shares_partition_attribution():
    scores = np.random.default_rng(2).random((3, 468))
    shares = mesh.region_shares(scores)
    assert set(shares) == {*mesh.REGION_PRIORITY, "other"}
    assert_allclose(sum(shares.values()), np.ones(3))
    expected = scores[:, mesh.REGIONS["nose"]].sum(axis=1) / scores.sum(axis=1)
    assert_allclose(shares["nose"], expected)


def test_share_errors():
    with pytest.raises(ValueError, match=r"Received: scores.shape=\(467,\)"):
        mesh.rigid_share(np.ones(467))
    with pytest.raises(ValueError, match="regions must be"):
        mesh.rigid_share(np.ones(468), regions=("hair",))
    with pytest.raises(ValueError, match="regions must be"):
        mesh.rigid_share(np.ones(468), regions="nose")
    with pytest.raises(ValueError, match="NaN"):
        mesh.region_shares(np.full(468, np.nan))
