"""Tests for igselect.landmarks.aligner.LandmarkAligner (Procrustes alignment)."""

from __future__ import annotations

import pickle
from importlib import resources

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from igselect.landmarks import mesh
from igselect.landmarks.aligner import LandmarkAligner


@pytest.fixture(scope="module")
def london():
    path = resources.files("igselect.datasets").joinpath("data", "london_landmarks.npz")
    with resources.as_file(path) as p, np.load(p) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def pose_faces(shared_dir, face_model):
    """(4, 2, 468) landmarks of the four ``pose/lisa*.jpg`` photos of one person."""
    from igselect.landmarks import FaceMeshExtractor

    with FaceMeshExtractor(face_model) as extractor:
        faces = [
            extractor.image(shared_dir / "data" / "pose" / f"lisa{i}.jpg") for i in range(1, 5)
        ]
    assert all(f is not None for f in faces)
    return np.stack(faces)


def _bad(param: str, expected: str, got: str) -> str:
    """Pattern of scikit-learn's InvalidParameterError for LandmarkAligner."""
    return rf"The '{param}' parameter of LandmarkAligner must be {expected}\. Got {got} instead"


def _rotation(degrees: float) -> np.ndarray:
    t = np.deg2rad(degrees)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def _mean_dist(a, b):
    """Mean landmark distance over the last axis of (..., 2, L) arrays."""
    return np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-2).mean(axis=-1)


# scikit-learn's estimator checks for LandmarkAligner: tests/test_estimator_checks.py


def test_fitted_reference_is_normalised_and_upright(london):
    aligner = LandmarkAligner().fit(london["neutral"][:, None])
    ref = aligner.reference_
    assert ref.shape == (2, 468) and aligner.n_landmarks_in_ == 468
    assert 1 <= aligner.n_iter_ <= aligner.max_iter
    assert_allclose(ref.mean(axis=1), 0, atol=1e-12)
    assert_allclose(np.sqrt((ref**2).sum(axis=0).mean()), 1)
    # orientation of the data is kept: upright, subject's left eye on the right of the image
    assert ref[1, 10] < 0 < ref[1, 152] and ref[0, 263] > 0 > ref[0, 33]
    # the reference is close to the shipped mean face (same faces, mirror-symmetrised there)
    assert _mean_dist(ref, mesh.mean_shape()) < 0.02


@pytest.mark.parametrize("factor", [0.5, 2.0])
@pytest.mark.parametrize("degrees", [0.0, 20.0, -35.0])
def test_similarity_transform_is_removed(london, factor, degrees):
    face = london["neutral"][7].astype(np.float64)
    moved = factor * _rotation(degrees) @ face + np.array([[0.3], [-0.2]])
    aligner = LandmarkAligner().fit(london["neutral"][:, None])
    A = aligner.transform(np.stack([face, moved])[None])[0]
    assert_allclose(A[1], A[0], atol=2e-6)
    assert_allclose(A.mean(axis=-1), 0, atol=1e-6)


def test_explicit_reference_recovers_the_face(london):
    face = london["neutral"][3].astype(np.float64)
    centred = face - face.mean(axis=1, keepdims=True)
    moved = 0.5 * _rotation(20) @ face + 0.1
    aligner = LandmarkAligner(reference=face).fit(moved[None, None])
    assert aligner.n_iter_ == 0
    assert_allclose(aligner.reference_, centred, atol=1e-12)  # centred, scale kept
    assert_allclose(aligner.transform(moved[None, None])[0, 0], centred, atol=1e-6)


def test_mean_reference_is_invariant_to_pose(london):
    faces = london["neutral"][:20].astype(np.float64)
    rng = np.random.default_rng(0)
    moved = np.stack(
        [
            rng.uniform(0.5, 2) * _rotation(rng.uniform(-30, 30)) @ f + rng.normal(size=(2, 1))
            for f in faces
        ]
    )
    ref_a = LandmarkAligner().fit(faces[:, None]).reference_
    ref_b = LandmarkAligner().fit(moved[:, None]).reference_
    # same mean shape up to a rotation (the mean orientation of the input differs)
    b_on_a = LandmarkAligner(reference=ref_a).fit(ref_b[None, None]).transform(ref_b[None, None])
    assert _mean_dist(b_on_a[0, 0], ref_a) < 1e-4


def test_expression_survives_alignment(london):
    X = np.stack([london["neutral"], london["smiling"]], axis=1)  # (60 subjects, 2 frames)
    A = LandmarkAligner().fit_transform(X)
    disp = np.linalg.norm(A[:, 1] - A[:, 0], axis=1)  # (60, 468), RMS-radius units
    corners = disp[:, mesh.REGIONS["mouth_corners"]].mean(axis=1)
    nose = disp[:, mesh.REGIONS["nose"]].mean(axis=1)
    # measured: median 0.118 (corners) vs 0.036 (nose); corners > nose for 58 of 60
    assert np.median(corners) > 0.05
    assert np.median(corners) > 2.5 * np.median(nose)
    assert np.mean(corners > nose) >= 0.9


def test_scale_false_keeps_size_and_removes_rotation(london):
    face = london["neutral"][5].astype(np.float64)
    centred = face - face.mean(axis=1, keepdims=True)
    aligner = LandmarkAligner(scale=False).fit(london["neutral"][:, None])
    A = aligner.transform(np.stack([face, 2 * _rotation(25) @ face + 1.0])[None])[0]
    assert_allclose(A[1], 2 * A[0], atol=1e-5)  # rotation removed, size kept
    rms = np.sqrt((A**2).sum(axis=1).mean(axis=-1))
    assert_allclose(rms, np.array([1, 2]) * np.sqrt((centred**2).sum(axis=0).mean()), rtol=1e-5)


def test_rotation_false_keeps_orientation(london):
    face = london["neutral"][5].astype(np.float64)
    tilted = _rotation(25) @ face
    centred = tilted - tilted.mean(axis=1, keepdims=True)
    A = LandmarkAligner(rotation=False).fit(london["neutral"][:, None])
    out = A.transform(tilted[None, None])[0, 0]
    s = (out * centred).sum() / (centred**2).sum()  # least-squares scale
    assert s > 0
    assert_allclose(out, s * centred, atol=1e-6)  # a positive multiple: not rotated
    both_off = LandmarkAligner(scale=False, rotation=False).fit(london["neutral"][:, None])
    assert_allclose(both_off.transform(tilted[None, None])[0, 0], centred, atol=1e-6)


def test_frames_are_aligned_independently(london):
    X = np.stack([london["neutral"], london["smiling"]], axis=1)[:10]
    aligner = LandmarkAligner().fit(X)
    full = aligner.transform(X)
    assert full.dtype == np.float32 and full.shape == X.shape
    assert_array_equal(aligner.transform(X[3:4, 1:2]), full[3:4, 1:2])
    assert_array_equal(aligner.transform(X[..., None]), full)  # channel axis accepted


def test_landmark_subset(london):
    keep = np.sort(np.random.default_rng(1).choice(468, 64, replace=False))
    X = london["neutral"][:, None][..., keep]
    aligner = LandmarkAligner().fit(X)
    assert aligner.reference_.shape == (2, 64) and aligner.n_landmarks_in_ == 64
    assert aligner.transform(X).shape == X.shape
    with pytest.raises(ValueError, match=r"fitted with 64 landmarks. Received: X.shape"):
        aligner.transform(london["neutral"][:, None])


def test_pipeline_clone_and_pickle(london):
    X = np.concatenate([london["neutral"], london["smiling"]])[:, None]
    y = np.r_[np.zeros(60), np.ones(60)]
    groups = np.r_[london["subject"], london["subject"]]
    flatten = FunctionTransformer(np.reshape, kw_args={"shape": (-1, 2 * 468)})
    pipe = make_pipeline(LandmarkAligner(), flatten, StandardScaler(), LogisticRegression())
    scores = cross_val_score(pipe, X, y, groups=groups, cv=GroupKFold(3))
    assert scores.mean() > 0.75  # neutral vs smiling, subject-grouped; chance is 0.5

    aligner = LandmarkAligner(scale=False, max_iter=3)
    cloned = clone(aligner)
    assert cloned.get_params() == aligner.get_params()
    assert cloned.set_params(rotation=False).rotation is False
    fitted = LandmarkAligner().fit(X)
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.reference_, fitted.reference_)
    assert_array_equal(restored.transform(X), fitted.transform(X))
    assert not hasattr(clone(fitted), "reference_")


def test_tags():
    tags = LandmarkAligner().__sklearn_tags__()
    assert tags.input_tags.two_d_array is False
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert tags.requires_fit


@pytest.mark.parametrize(
    "params, match",
    [
        ({"reference": "median"}, _bad("reference", r"a str among \{.*'mean'.*\}.*", "'median'")),
        ({"reference": np.zeros((2, 5))}, r"reference must have shape \(2, 468\)"),
        ({"reference": np.zeros((2, 468))}, "zero size"),
        ({"scale": 1}, _bad("scale", "an instance of 'bool'.*", "1")),
        ({"rotation": "yes"}, _bad("rotation", ".*bool.*", "'yes'")),
        ({"max_iter": 0}, _bad("max_iter", r"an int in the range \[1, inf\)", "0")),
        ({"max_iter": True}, _bad("max_iter", r"an int in the range \[1, inf\)", "True")),
        ({"tol": -1.0}, _bad("tol", r"a float in the range \[0(\.0)?, inf\)", "-1.0")),
    ],
)
def test_bad_parameters(london, params, match):
    # the parameter errors are scikit-learn's InvalidParameterError (a ValueError)
    with pytest.raises(ValueError, match=match):
        LandmarkAligner(**params).fit(london["neutral"][:2, None])


def test_bad_input(london):
    X = london["neutral"][:4, None].copy()
    with pytest.raises(NotFittedError):
        LandmarkAligner().transform(X)
    with pytest.raises(ValueError, match="ndim=3"):
        LandmarkAligner().fit(X[:, 0])
    X[1, 0, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LandmarkAligner().fit(X)
    flat = london["neutral"][:4, None].copy()
    flat[2, 0] = 0.5
    with pytest.raises(ValueError, match=r"all coincide .*X\[2, 0\]"):
        LandmarkAligner().fit(flat)
    # centring alone works on a degenerate frame
    out = LandmarkAligner(scale=False, rotation=False).fit(flat).transform(flat)
    assert_array_equal(out[2, 0], 0)


# Last: extraction imports MediaPipe, hence TensorFlow, which slows every later teardown.
def test_photos_of_one_person_align_to_nearly_one_shape(pose_faces, london):
    """lisa1-4: varying size, position and in-plane rotation (lisa3 is tilted ~20 deg)."""
    aligner = LandmarkAligner().fit(london["neutral"][:, None])
    A = aligner.transform(pose_faces[None])[0]
    N = aligner.transform(london["neutral"][:, None])[:, 0]
    for i in range(4):
        others = np.mean([_mean_dist(A[i], A[j]) for j in range(4) if j != i])
        to_london = _mean_dist(A[i][None], N)
        # measured: 0.029-0.053 RMS radii (lisa1 is a close-up with perspective distortion)
        assert others < 0.06
        # the same person is closer to herself than to almost any of 60 other people
        assert np.mean(to_london < others) <= 0.05
    # without rotation the tilted photo stays far from the others
    A_norot = LandmarkAligner(rotation=False).fit(london["neutral"][:, None])
    A_norot = A_norot.transform(pose_faces[None])[0]
    tilted = np.mean([_mean_dist(A[2], A[j]) for j in (0, 1, 3)])
    tilted_norot = np.mean([_mean_dist(A_norot[2], A_norot[j]) for j in (0, 1, 3)])
    assert tilted_norot > 5 * tilted
