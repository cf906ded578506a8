"""Tests of the semi-synthetic FACS expression sequences."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from igselect.datasets._expression import EMOTIONS, make_expression_sequences
from igselect.datasets._facs import (
    AU_DESCRIPTIONS,
    EMOTION_PROTOTYPES,
    _load_london,
    action_unit_fields,
    reference_face,
)
from igselect.landmarks import mesh

QUIET = dict(noise=0.0, pose_jitter=0.0, shape_drift=0.0)


@pytest.fixture(scope="module")
def small():
    return make_expression_sequences(6, n_frames=5, random_state=0)


def test_shapes_dtypes_labels_subjects(small):
    assert small.data.shape == (36, 5, 2, 468)
    assert small.data.dtype == np.float32
    assert_array_equal(np.unique(small.target, return_counts=True)[1], [6] * 6)
    assert set(small.target) == set(EMOTIONS)
    assert_array_equal(small.target_names, EMOTIONS)
    assert sorted(set(small.subject)) == [f"synth_{i:03d}" for i in range(6)]
    for s in set(small.subject):  # one sequence per (subject, emotion)
        assert sorted(small.target[small.subject == s]) == sorted(EMOTIONS)
    # normalised to the face crop, like extracted landmarks
    assert 0.05 < small.data.min() and small.data.max() < 0.95
    assert all(i.startswith("london_") for i in small.identity)
    assert small.apex_gain.shape == (36,)


def test_emotion_subset_and_many_subjects():
    ds = make_expression_sequences(63, n_frames=2, emotions=["happiness"], random_state=1)
    assert ds.data.shape == (63, 2, 2, 468)
    assert set(ds.target) == {"happiness"}
    assert (ds.identity == "sampled").sum() == 3
    assert len(set(ds.identity) - {"sampled"}) == 60
    # PCA identities are new faces: not equal to any real neutral face
    new = ds.data[ds.identity == "sampled", 0]
    assert np.abs(new - new[:1]).max() > 1e-3
    assert "PCA" in ds.DESCR


def test_random_state_determinism():
    a = make_expression_sequences(3, n_frames=4, random_state=7)
    b = make_expression_sequences(3, n_frames=4, random_state=7)
    c = make_expression_sequences(3, n_frames=4, random_state=8)
    assert_array_equal(a.data, b.data)
    assert_array_equal(a.identity, b.identity)
    assert np.abs(a.data - c.data).max() > 1e-3


def test_frame0_is_the_real_neutral_face_and_last_frame_moves():
    ds = make_expression_sequences(4, n_frames=6, **QUIET, random_state=0)
    neutral = _load_london()["neutral"]
    for X, ident in zip(ds.data, ds.identity, strict=True):
        assert_allclose(X[0], neutral[int(ident[-3:]) - 1], atol=1e-6)
    size = np.sqrt(((neutral - neutral.mean(-1, keepdims=True)) ** 2).sum(1).mean(-1)).mean()
    moved = np.sqrt(((ds.data[:, -1] - ds.data[:, 0]) ** 2).sum(1)).max(-1) / size
    assert moved.min() > 0.04  # every apex moves some landmark by > 4% of the face size


def test_frame0_close_to_neutral_with_default_nuisance():
    ds = make_expression_sequences(4, n_frames=8, random_state=0)
    d = ds.data.astype(float)
    first = np.sqrt(((d[:, 1] - d[:, 0]) ** 2).sum(1)).mean()
    last = np.sqrt(((d[:, -1] - d[:, 0]) ** 2).sum(1)).mean()
    assert last > 5 * first


def test_default_shape_drift_is_within_sequence_sized():
    """On landmarks that no emotion moves, frame 0 -> apex changes by about what one
    real second of video shows (0.008-0.017 face sizes rms, see ``shape_drift``), not
    by the between-photo variability of ``shape_drift=1``."""
    from igselect.landmarks.aligner import LandmarkAligner

    def still_change(**kw):
        ds = make_expression_sequences(20, n_frames=4, random_state=0, **kw)
        still = np.max(list(ds.peak_displacement.values()), axis=0) < 0.005
        A = LandmarkAligner().fit_transform(ds.data)[..., still]
        return np.median(np.sqrt(((A[:, -1] - A[:, 0]) ** 2).sum(1).mean(-1)))

    default = still_change()
    assert 0.008 < default < 0.02, default
    assert still_change(shape_drift=1.0) > 2.5 * default
    assert still_change(shape_drift=0.0) < default  # noise and alignment remain


def test_relevant_landmarks_follow_facs(small):
    rel = {e: set(v.tolist()) for e, v in small.relevant_landmarks.items()}
    lips = set(mesh.REGIONS["lips"].tolist())
    brows = set(mesh.REGIONS["left_brow"].tolist()) | set(mesh.REGIONS["right_brow"].tolist())
    nose = set(mesh.REGIONS["nose"].tolist())
    for e, idx in small.relevant_landmarks.items():
        assert_array_equal(idx, np.sort(idx))
        # each AU's core: at least half of that AU's largest displacement
        cores = [np.hypot(*small.au_fields[a]) for a in small.prototypes[e]]
        expected = np.any([c >= 0.5 * c.max() for c in cores], axis=0)
        assert_array_equal(idx, np.flatnonzero(expected))
        moving = small.moving_landmarks[e]
        assert_array_equal(moving, np.flatnonzero(small.peak_displacement[e] > 0.03))
    # happiness: lip corners (AU12) and lips, not the brows
    assert {61, 291} <= rel["happiness"]
    assert len(rel["happiness"] & lips) >= 20
    assert not rel["happiness"] & brows
    # surprise: brows (AU1+2) and lower lip / jaw (AU26)
    assert brows <= rel["surprise"]
    assert {14, 17, 152} <= rel["surprise"]
    # sadness: inner brows (AU1+4) and lip corners (AU15)
    assert {107, 336, 55, 285, 61, 291} <= rel["sadness"]
    # disgust: nose wings and upper lip (AU9), lower lip (AU16)
    assert len(rel["disgust"] & nose) >= 5 and {48, 278, 0, 17} <= rel["disgust"]
    assert not rel["disgust"] & brows - {107, 336, 55, 285}
    # anger: brows lowered (AU4), lids (AU5/7), lips pressed (AU23)
    assert {107, 336, 159, 145, 0, 17} <= rel["anger"]
    eyes = set(mesh.REGIONS["left_eye"].tolist()) | set(mesh.REGIONS["right_eye"].tolist())
    assert len(rel["anger"] & lips) >= 15 and len(rel["anger"] & eyes) >= 15
    # the absolute cut keeps little of the weak AUs of anger (AU7, AU23)
    moving = set(small.moving_landmarks["anger"].tolist())
    assert len(moving & lips) < len(rel["anger"] & lips) / 2


def test_ground_truth_is_scale_free_and_fraction_one_keeps_each_peak():
    weak = make_expression_sequences(2, n_frames=2, intensity=0.3, random_state=0)
    full = make_expression_sequences(2, n_frames=2, random_state=0)
    for e in EMOTIONS:
        assert_array_equal(weak.relevant_landmarks[e], full.relevant_landmarks[e])
        assert len(weak.moving_landmarks[e]) == len(full.moving_landmarks[e])  # nominal
    peaks = make_expression_sequences(2, n_frames=2, relevant_fraction=1.0, random_state=0)
    for e in EMOTIONS:
        argmax = {int(np.argmax(np.hypot(*full.au_fields[a]))) for a in full.prototypes[e]}
        top = set(peaks.relevant_landmarks[e].tolist())
        assert argmax <= top <= set(full.relevant_landmarks[e].tolist())
        assert len(top) <= 3 * len(full.prototypes[e])  # each AU's peak (and its ties)


def test_estimated_smile_moves_mouth_corners_out_and_up():
    fields = action_unit_fields()
    ref = reference_face()
    smile = fields["AU6"] + fields["AU12"]
    # 61 is the subject's right corner (image left, x < 0); y points down
    assert ref[0, 61] < 0 < ref[0, 291]
    assert smile[0, 61] < -0.03 and smile[0, 291] > 0.03
    assert smile[1, 61] < -0.05 and smile[1, 291] < -0.05
    corner = np.hypot(*smile[:, [61, 291]]).min()
    assert 0.08 < corner < 0.3  # realistic: about 4% of the face height
    assert np.hypot(*smile).mean() < 0.06
    # AU6 is the upper (cheek) part, AU12 the mouth part
    assert np.hypot(*fields["AU6"][:, [61, 291]]).max() < 0.3 * corner


def test_fields_and_prototypes_are_consistent():
    fields = action_unit_fields()
    assert set(fields) == set(AU_DESCRIPTIONS)
    assert {a for aus in EMOTION_PROTOTYPES.values() for a in aus} <= set(fields)
    for name, f in fields.items():
        assert f.shape == (2, 468)
        peak = np.hypot(*f).max()
        assert 0.02 < peak <= 0.15, name
    # the hand-built fields are left-right symmetric (x flips, y stays)
    perm = mesh.mirror_permutation()
    for name in ("AU1", "AU4", "AU15", "AU20", "AU26"):
        f = fields[name]
        assert_allclose(f[0, perm], -f[0], atol=0.02)
        assert_allclose(f[1, perm], f[1], atol=0.02)


def test_descr_and_docstring_say_synthetic(small):
    assert "synthetic" in small.DESCR.lower()
    assert "London" in small.DESCR and "CC BY 4.0" in small.DESCR
    assert "synthetic" in make_expression_sequences.__doc__.lower()


def _bad(param: str, got: str) -> str:
    """Pattern of scikit-learn's InvalidParameterError for make_expression_sequences."""
    return rf"The '{param}' parameter of make_expression_sequences must be .*\. Got {got} instead"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_subjects": 0}, _bad("n_subjects", "0")),
        ({"n_frames": 1}, _bad("n_frames", "1")),
        ({"n_frames": True}, _bad("n_frames", "True")),
        ({"emotions": ("joy",)}, "emotions.*Received"),
        ({"emotions": ()}, "emotions.*Received"),
        ({"emotions": ("anger", "anger")}, "emotions.*Received"),
        ({"emotions": 3}, _bad("emotions", "3")),
        ({"intensity": 0.0}, _bad("intensity", "0.0")),
        ({"noise": -1.0}, _bad("noise", "-1.0")),
        ({"pose_jitter": float("nan")}, _bad("pose_jitter", "nan")),
        ({"shape_drift": -0.1}, _bad("shape_drift", "-0.1")),
        ({"moving_threshold": 0}, _bad("moving_threshold", "0")),
        ({"relevant_fraction": 0}, _bad("relevant_fraction", "0")),
        ({"relevant_fraction": 1.5}, r"range \(0(\.0)?, 1(\.0)?\]\. Got 1.5 instead"),
    ],
)
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_expression_sequences(**{"n_subjects": 2, **kwargs})


def test_linear_svm_well_above_chance_but_not_perfect():
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from igselect.landmarks.aligner import LandmarkAligner

    ds = make_expression_sequences(40, n_frames=2, random_state=0)
    last = LandmarkAligner().fit_transform(ds.data[:, -1:]).reshape(len(ds.data), -1)
    scores = {}
    for emotion in ("happiness", "sadness"):
        y = (ds.target == emotion).astype(int)
        clf = make_pipeline(StandardScaler(), LinearSVC(C=0.01, class_weight="balanced"))
        cv = GroupKFold(4)
        acc = cross_val_score(clf, last, y, groups=ds.subject, cv=cv, scoring="balanced_accuracy")
        scores[emotion] = acc.mean()
    assert scores["happiness"] > 0.7 and scores["sadness"] > 0.7
    assert min(scores.values()) < 0.99
