"""Landmark schemes: structure, mirroring, regions, inference, the mesh -> iBUG map, plots."""

from __future__ import annotations

import copy
import pickle
from importlib import resources

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from igselect.landmarks import (
    FACE_MESH_468,
    IBUG_68,
    MEDIAPIPE_HAND_21,
    MEDIAPIPE_POSE_33,
    LandmarkAligner,
    LandmarkScheme,
    mirror,
    region_shares,
    resolve_scheme,
    rigid_share,
)
from igselect.landmarks.schemes import SCHEMES
from igselect.plotting import _edge_chains, plot_landmark_importance, plot_scores_by_region

ALL = [FACE_MESH_468, IBUG_68, MEDIAPIPE_POSE_33, MEDIAPIPE_HAND_21]
ids = pytest.mark.parametrize("scheme", ALL, ids=lambda s: s.name)


@pytest.fixture(scope="module")
def london_neutral() -> np.ndarray:
    path = resources.files("igselect.datasets").joinpath("data", "london_landmarks.npz")
    with resources.as_file(path) as p, np.load(p) as data:
        return data["neutral"].astype(np.float64)


@ids
def test_structure(scheme):
    L = scheme.n_landmarks
    assert len(scheme.names) == len(set(scheme.names)) == L
    covered = np.sort(np.concatenate(list(scheme.regions.values())))
    assert_array_equal(covered, np.arange(L))  # every point in exactly one region
    assert set(scheme.rigid_regions) <= set(scheme.regions) and scheme.rigid_regions
    assert scheme.edges.ndim == 2 and scheme.edges.shape[1] == 2
    assert 0 <= scheme.edges.min() and scheme.edges.max() < L
    assert not scheme.regions[next(iter(scheme.regions))].flags.writeable
    with pytest.raises(TypeError):
        scheme.regions["new"] = np.arange(3)
    S = scheme.canonical_shape()
    assert S.shape == (2, L)
    assert_allclose(S.mean(axis=1), 0, atol=1e-12)
    assert_allclose(np.sqrt((S**2).sum(axis=0).mean()), 1)


def test_known_counts_and_layouts():
    assert [s.n_landmarks for s in ALL] == [468, 68, 33, 21]
    assert list(IBUG_68.regions["jaw"]) == list(range(17))
    assert list(IBUG_68.regions["nose"]) == list(range(27, 36))
    assert list(IBUG_68.regions["right_eye"]) == list(range(36, 42))
    assert IBUG_68.rigid_regions == ("jaw", "nose")
    assert (
        MEDIAPIPE_POSE_33.names[0] == "nose" and MEDIAPIPE_POSE_33.names[32] == "right_foot_index"
    )
    assert MEDIAPIPE_HAND_21.names[0] == "wrist" and MEDIAPIPE_HAND_21.names[20] == "pinky_tip"
    assert MEDIAPIPE_HAND_21.mirror_pairs.shape == (0, 2)  # one hand has no left/right pairs
    assert FACE_MESH_468.mirror_pairs.shape == (220, 2)


@ids
def test_mirroring_is_an_involution(scheme):
    perm = scheme.mirror_permutation()
    assert_array_equal(perm[perm], np.arange(scheme.n_landmarks))
    X = np.random.default_rng(0).random((3, 4, 2, scheme.n_landmarks))
    assert_array_equal(mirror(mirror(X, x_center=0.0), x_center=0.0), X)
    assert_allclose(mirror(mirror(X)), X, atol=1e-12)
    Xm = mirror(X[..., None], x_center=0.0)  # trailing channel axis
    assert Xm.shape == X.shape + (1,)
    i, j = scheme.mirror_pairs[0] if len(scheme.mirror_pairs) else (0, 0)
    assert_array_equal(Xm[..., 0, j, 0], -X[..., 0, i])
    assert_array_equal(Xm[..., 1, j, 0], X[..., 1, i])


@pytest.mark.parametrize("scheme", ALL[:3], ids=lambda s: s.name)
def test_canonical_shapes_are_mirror_symmetric(scheme):
    S = scheme.canonical_shape()
    assert_allclose(mirror(S, x_center=0.0), S, atol=1e-4)
    left = np.concatenate([idx for r, idx in scheme.regions.items() if r.startswith("left")])
    assert left.size and (S[0, left] > 0).all()  # subject's left at x > 0, as in MediaPipe


def test_mesh_to_ibug_commutes_with_mirroring():
    idx = FACE_MESH_468.to(IBUG_68)
    assert idx.shape == (68,) and np.unique(idx).size == 68
    assert_array_equal(FACE_MESH_468.mirror_permutation()[idx], idx[IBUG_68.mirror_permutation()])
    assert_array_equal(FACE_MESH_468.to(FACE_MESH_468), np.arange(468))
    with pytest.raises(ValueError, match="no correspondence from 'ibug_68'"):
        IBUG_68.to(FACE_MESH_468)


def test_mesh_to_ibug_regions_agree():
    mesh_region = FACE_MESH_468.landmark_regions(FACE_MESH_468.to(IBUG_68))
    ibug_region = IBUG_68.landmark_regions()
    expected = {"jaw": {"face_oval"}, "right_brow": {"right_brow"}, "left_brow": {"left_brow"},
                "right_eye": {"right_eye"}, "left_eye": {"left_eye"}, "outer_lips": {"lips"},
                "inner_lips": {"lips"}, "nose": {"nose", "other"}}  # fmt: skip
    for name, allowed in expected.items():
        assert set(mesh_region[ibug_region == name]) <= allowed, name


def test_mesh_to_ibug_points_sit_where_ibug_says_on_real_faces(london_neutral):
    """Checks of the 300-W layout on the 68 mapped points of 60 real London faces."""
    F = london_neutral[..., FACE_MESH_468.to(IBUG_68)]  # (60, 2, 68), image coords, y down
    x, y = F[:, 0], F[:, 1]
    assert (np.argmax(y[:, :17], axis=1) == 8).mean() >= 0.9  # chin is the jaw's lowest point
    assert (x[:, 0] < x[:, 8]).all() and (x[:, 8] < x[:, 16]).all()  # jaw runs left to right
    assert (np.diff(x[:, 36:40], axis=1) > 0).all()  # subject's right eye, outer -> inner
    assert (x[:, 39] < x[:, 42]).all() and (x[:, 42] < x[:, 45]).all()
    assert (y[:, 17:27].mean(1) < y[:, 36:48].mean(1)).all()  # brows above the eyes
    assert (y[:, 36:48].mean(1) < y[:, 30]).all() and (
        y[:, 30] < y[:, 51]
    ).all()  # eyes, nose tip, lip
    assert (np.diff(y[:, 27:31], axis=1) > 0).all()  # nose bridge runs down
    assert (x[:, 48] < x[:, 51]).all() and (x[:, 51] < x[:, 54]).all()  # mouth corners
    assert (y[:, 51] < y[:, 62]).all() and (y[:, 66] < y[:, 57]).all()  # outer lips enclose inner
    assert (y[:, 57] < y[:, 8]).all()


def test_resolve_scheme():
    for s in ALL:
        assert resolve_scheme(None, s.n_landmarks) is s
        assert resolve_scheme(s.name) is s
        assert resolve_scheme(s, s.n_landmarks) is s
    with pytest.raises(
        ValueError, match=r"cannot infer the landmark scheme from 50 landmarks.*n_landmarks=50"
    ):
        resolve_scheme(None, 50)
    with pytest.raises(ValueError, match="Received: scheme='dlib'"):
        resolve_scheme("dlib")
    with pytest.raises(ValueError, match="has 68"):
        resolve_scheme(IBUG_68, 21)
    with pytest.raises(TypeError, match="scheme must be"):
        resolve_scheme(68)
    with pytest.raises(ValueError, match=r"Received: X.shape=\(2, 50\)"):
        mirror(np.zeros((2, 50)))


@ids
def test_region_and_rigid_shares(scheme):
    scores = np.random.default_rng(1).random((2, scheme.n_landmarks))
    shares = region_shares(scores)
    assert list(shares) == list(scheme.regions)
    assert_allclose(sum(shares.values()), [1, 1])
    rigid = np.concatenate([scheme.regions[r] for r in scheme.rigid_regions])
    expected = scores[:, rigid].sum(1) / scores.sum(1)
    assert_allclose(rigid_share(scores), expected)
    assert_allclose(rigid_share(scores, scheme=scheme.name), expected)
    one = np.zeros(scheme.n_landmarks)
    one[rigid[0]] = 2.0
    assert rigid_share(one) == 1.0
    with pytest.raises(ValueError, match="regions must be"):
        rigid_share(scores, regions=("hair",))


def test_subset_scores_default_to_the_mesh_and_take_a_scheme():
    assert rigid_share([1.0, 3.0], indices=[1, 61]) == pytest.approx(0.25)  # mesh: nose, lips
    assert rigid_share([1.0, 3.0], indices=[30, 48], scheme=IBUG_68) == pytest.approx(0.25)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 67\]"):
        region_shares([1.0], indices=[100], scheme=IBUG_68)


def test_scheme_validation():
    with pytest.raises(ValueError, match="cover every landmark"):
        LandmarkScheme("t", ["a", "b", "c"], {"r": [0, 1]})
    with pytest.raises(ValueError, match="shared with another region"):
        LandmarkScheme("t", ["a", "b"], {"r": [0, 1], "s": [1]})
    with pytest.raises(ValueError, match="mirror_pairs"):
        LandmarkScheme("t", ["a", "b", "c"], {"r": [0, 1, 2]}, mirror_pairs=[(0, 1), (1, 2)])
    with pytest.raises(ValueError, match="rigid_regions"):
        LandmarkScheme("t", ["a"], {"r": [0]}, rigid_regions=("s",))
    with pytest.raises(ValueError, match="unique"):
        LandmarkScheme("t", ["a", "a"], {"r": [0, 1]})
    custom = LandmarkScheme("t", ["a", "b", "c"], {"r": [0, 1, 2]}, mirror_pairs=[(0, 2)])
    assert_array_equal(mirror(np.arange(6.0).reshape(2, 3), x_center=0, scheme=custom),
                       [[-2.0, -1.0, -0.0], [5.0, 4.0, 3.0]])  # fmt: skip
    with pytest.raises(ValueError, match="no canonical shape"):
        custom.canonical_shape()


def test_builtins_are_values_that_survive_copy_pickle_and_clone():
    for s in ALL:
        assert copy.deepcopy(s) is s and pickle.loads(pickle.dumps(s)) is s
    assert clone(LandmarkAligner(scheme=IBUG_68)).scheme is IBUG_68
    assert set(SCHEMES) == {s.name for s in ALL}
    custom = LandmarkScheme("tri", ["l", "r", "top"], {"base": [0, 1], "apex": [2]},
                            rigid_regions=("base",), mirror_pairs=[(0, 1)], edges=[(0, 2)],
                            canonical_shape=[[-1, 1, 0], [1, 1, -1]])  # fmt: skip
    back = pickle.loads(pickle.dumps(LandmarkAligner(scheme=custom))).scheme
    assert back.name == "tri" and back.names == custom.names and back.rigid_regions == ("base",)
    assert_array_equal(back.mirror_permutation(), [1, 0, 2])
    assert_array_equal(back.edges, [[0, 2]])
    assert_allclose(back.canonical_shape(), custom.canonical_shape())
    assert {k: v.tolist() for k, v in back.regions.items()} == {"base": [0, 1], "apex": [2]}


@ids
def test_aligner_canonical_reference(scheme):
    S = scheme.canonical_shape()
    theta = np.deg2rad(25)
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = 40.0 * R @ S + np.array([[300.0], [200.0]])  # pixels, rotated and shifted
    X = np.stack([S, moved])[None]
    aligner = LandmarkAligner(reference="canonical").fit(X)
    assert aligner.scheme_ is scheme and aligner.n_iter_ == 0
    assert_allclose(aligner.transform(X)[0], np.stack([S, S]), atol=1e-5)


def test_aligner_scheme_errors():
    X = np.random.default_rng(0).random((2, 3, 2, 50))
    with pytest.raises(ValueError, match="cannot infer the landmark scheme from 50"):
        LandmarkAligner(reference="canonical").fit(X)
    with pytest.raises(ValueError, match="has 68"):
        LandmarkAligner(scheme=IBUG_68).fit(X)
    assert LandmarkAligner().fit(X).scheme_ is None  # any L still aligns to its mean


@ids
def test_plots_draw_every_scheme(scheme):
    scores = np.random.default_rng(2).random(scheme.n_landmarks)
    ax = plot_landmark_importance(scores, n_landmarks=5, scheme=scheme)
    assert len(ax.lines) == len(_edge_chains(scheme.edges)) > 0  # the scheme's drawing edges
    assert len(ax.collections[0].get_offsets()) == scheme.n_landmarks  # grey dots
    assert len(ax.collections[-1].get_offsets()) == 5  # circled best five
    assert_allclose(ax.collections[0].get_offsets().T, scheme.canonical_shape())
    ax = plot_landmark_importance(scores)  # scheme inferred from L
    assert len(ax.lines) == len(_edge_chains(scheme.edges))
    ax = plot_scores_by_region(scores)
    assert len(ax.patches) == len(scheme.regions)
    orange = [p for p in ax.patches if p.get_facecolor() == to_rgba("#e08a2c")]
    assert len(orange) == len(scheme.rigid_regions)
