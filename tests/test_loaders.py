"""load_ckplus and load_image_folder on real photos and video frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from igselect.datasets import load_ckplus, load_image_folder
from igselect.landmarks import FaceMeshExtractor

DATA = Path(__file__).resolve().parents[1] / "igselect" / "datasets" / "data"


class _Counter:
    """Counts calls of a FaceMeshExtractor method (in-process extraction, n_jobs=1)."""

    def __init__(self, monkeypatch, name: str):
        self.calls = 0
        original = getattr(FaceMeshExtractor, name)

        def wrapped(ext, *args, **kwargs):
            self.calls += 1
            return original(ext, *args, **kwargs)

        monkeypatch.setattr(FaceMeshExtractor, name, wrapped)


# -- CK+ ------------------------------------------------------------------------------------


def _write_seq(root: Path, subject: str, seq: str, frames: list[np.ndarray], code=None):
    folder = root / "cohn-kanade-images" / subject / seq
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"{subject}_{seq}_{i:08d}.png"), frame)
    emotion = root / "Emotion" / subject / seq
    emotion.mkdir(parents=True)
    if code is not None:
        text = f"   {code:.7e}\n"
        (emotion / f"{subject}_{seq}_{len(frames):08d}_emotion.txt").write_text(text)


@pytest.fixture(scope="module")
def ckplus_root(shared_dir, tmp_path_factory) -> Path:
    """A CK+-layout tree of real frames: 3 usable, 1 contempt, 1 unlabelled, 1 without face."""
    root = tmp_path_factory.mktemp("ckplus") / "CK+"
    london = shared_dir / "data" / "london"
    nonface = sorted((shared_dir / "data" / "nonface").glob("*.jpg"))

    def photo(kind, sid):
        return cv2.imread(str(london / kind / f"{sid}.jpg"))

    cap = cv2.VideoCapture(str(shared_dir / "media" / "single_face.mp4"))
    video = [cap.read()[1] for _ in range(25)]
    cap.release()
    _write_seq(root, "S010", "001", video[::8], code=5)  # 4 frames, happiness
    _write_seq(root, "S010", "002", [photo("neutral", "001")] * 2 + [photo("smiling", "001")], 5)
    _write_seq(root, "S011", "001", [photo("neutral", "002"), photo("smiling", "002")], code=2)
    _write_seq(root, "S011", "002", [photo("neutral", "003"), photo("smiling", "003")])
    _write_seq(root, "S012", "001", [cv2.imread(str(f)) for f in nonface[:3]], code=1)
    face_gap = [photo("neutral", "004"), cv2.imread(str(nonface[0])), photo("smiling", "004")]
    _write_seq(root, "S012", "002", face_gap, code=7)  # surprise, middle frame has no face
    return root


def test_ckplus_labels_subjects_and_skips(ckplus_root, face_model, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    ck = load_ckplus(ckplus_root, n_frames=5, cache_dir=cache, model_path=face_model)
    assert ck.data.shape == (3, 5, 2, 468) and ck.data.dtype == np.float32
    assert np.isfinite(ck.data).all()
    assert list(ck.target) == ["happiness", "happiness", "surprise"]
    assert list(ck.subject) == ["S010", "S010", "S012"]
    assert list(ck.sequence) == ["S010_001", "S010_002", "S012_002"]
    assert list(ck.frames_total) == [4, 3, 3] and list(ck.frames_missing) == [0, 0, 1]
    assert (ck.n_skipped_unlabelled, ck.n_skipped_contempt, ck.n_skipped_noface) == (1, 1, 1)
    assert dict(ck.skipped) == {
        "S011_001": "contempt",
        "S011_002": "no emotion label",
        "S012_001": "no face found",
    }
    assert ck.landmark_names[:2] == ["landmark_0", "landmark_1"] and len(ck.landmark_names) == 468
    assert "CK+" in ck.DESCR and not ck.mirrored.any()
    # The gap frame of S012_002 is interpolated: the middle of 5 output frames is the
    # middle of 3 input frames, i.e. halfway between neutral and smiling.
    np.testing.assert_allclose(ck.data[2, 2], (ck.data[2, 0] + ck.data[2, 4]) / 2, atol=1e-6)

    # A second load reads the cache: no extraction at all, identical arrays.
    counter = _Counter(monkeypatch, "sequence")
    again = load_ckplus(ckplus_root, n_frames=5, cache_dir=cache, model_path=face_model)
    assert counter.calls == 0
    np.testing.assert_array_equal(again.data, ck.data)
    # Contempt was never extracted; including it extracts exactly that one sequence.
    with_contempt = load_ckplus(
        ckplus_root, n_frames=5, include_contempt=True, cache_dir=cache, model_path=face_model
    )
    assert counter.calls == 1
    assert "contempt" in set(with_contempt.target) and len(with_contempt.target) == 4
    X, y = load_ckplus(
        ckplus_root, n_frames=5, cache_dir=cache, model_path=face_model, return_X_y=True
    )
    assert X.shape == (3, 5, 2, 468) and list(y) == list(ck.target)
    assert counter.calls == 1


def test_ckplus_cache_ignores_stale_tmp_and_repairs_damage(
    ckplus_root, face_model, tmp_path, monkeypatch
):
    cache = tmp_path / "cache"
    ref = load_ckplus(ckplus_root, n_frames=4, cache_dir=cache, model_path=face_model)
    entries = sorted(cache.glob("*.npz"))
    assert len(entries) == 4  # 3 kept + the no-face sequence, whose result is cached too
    # An interrupted write leaves only a *.tmp file: it must never be read.
    (cache / (entries[0].name + ".abc123.tmp")).write_bytes(b"half-written")
    # A damaged entry (truncated by something else) is recomputed and rewritten.
    entries[1].write_bytes(entries[1].read_bytes()[:50])
    counter = _Counter(monkeypatch, "sequence")
    again = load_ckplus(ckplus_root, n_frames=4, cache_dir=cache, model_path=face_model)
    assert counter.calls == 1
    np.testing.assert_allclose(again.data, ref.data, atol=1e-6)
    assert np.load(entries[1])["found"].any()


def test_ckplus_mirror(ckplus_root, face_model, tmp_path):
    from igselect.landmarks.mesh import mirror

    ck = load_ckplus(ckplus_root, n_frames=3, mirror=True, model_path=face_model,
                     cache_dir=tmp_path)  # fmt: skip
    assert ck.data.shape == (6, 3, 2, 468)
    np.testing.assert_array_equal(ck.mirrored, [False] * 3 + [True] * 3)
    np.testing.assert_allclose(ck.data[3:], mirror(ck.data[:3]), atol=1e-6)
    assert list(ck.subject[3:]) == list(ck.subject[:3])
    assert list(ck.target[3:]) == list(ck.target[:3])


def test_ckplus_bad_roots(ckplus_root, tmp_path, face_model):
    with pytest.raises(FileNotFoundError, match="cohn-kanade-images"):
        load_ckplus(tmp_path, model_path=face_model)
    with pytest.raises(FileNotFoundError, match="root="):
        load_ckplus(tmp_path / "absent", model_path=face_model)
    root = tmp_path / "ck"
    shutil.copytree(ckplus_root / "cohn-kanade-images", root / "cohn-kanade-images")
    with pytest.raises(FileNotFoundError, match="Emotion"):
        load_ckplus(root, model_path=face_model)
    (root / "Emotion" / "S010" / "001").mkdir(parents=True)
    bad = root / "Emotion" / "S010" / "001" / "S010_001_00000004_emotion.txt"
    bad.write_text("happy\n")
    with pytest.raises(ValueError, match="S010_001_00000004_emotion.txt"):
        load_ckplus(root, model_path=face_model)
    with pytest.raises(ValueError, match="n_frames=0"):
        load_ckplus(ckplus_root, n_frames=0, model_path=face_model)


# -- image folders --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def london(shared_dir, face_model):
    return load_image_folder(shared_dir / "data" / "london", model_path=face_model)


def test_london_all_faces_found(london):
    assert london.data.shape == (120, 1, 2, 468) and london.data.dtype == np.float32
    assert london.n_noface == 0 and london.skipped == []
    assert london.target_names == ["neutral", "smiling"]
    assert list(london.target).count("smiling") == 60
    assert list(london.subject[:3]) == ["001", "002", "003"]
    # Each subject appears once per label: grouped CV keeps a person on one side.
    ids, counts = np.unique(london.subject, return_counts=True)
    assert len(ids) == 60 and set(counts) == {2}
    assert london.files[0].endswith("neutral/001.jpg")


def test_shipped_london_landmarks_match_the_extractor(london):
    """igselect/datasets/data/london_landmarks.npz is what tools/extract_london.py writes."""
    shipped = np.load(DATA / "london_landmarks.npz")
    assert shipped["neutral"].shape == (60, 2, 468) and shipped["neutral"].dtype == np.float32
    assert list(shipped["subject"]) == list(london.subject[:60])
    np.testing.assert_allclose(shipped["neutral"], london.data[:60, 0], atol=1e-5)
    np.testing.assert_allclose(shipped["smiling"], london.data[60:, 0], atol=1e-5)
    # Smiling moves the mouth corners (61, 291) much more than the typical landmark.
    move = np.linalg.norm(shipped["smiling"] - shipped["neutral"], axis=1).mean(axis=0)
    assert move[[61, 291]].min() > 2 * np.median(move)
    assert "CC BY 4.0" in (DATA / "ATTRIBUTION.md").read_text()


@pytest.fixture
def small_folder(shared_dir, tmp_path) -> Path:
    root = tmp_path / "photos"
    pose = sorted((shared_dir / "data" / "pose").glob("*.jpg"))
    for label, files in (("a", pose[:2]), ("b", pose[2:])):
        (root / label).mkdir(parents=True)
        for i, f in enumerate(files):
            shutil.copy(f, root / label / f"P{i}_{f.name}")
    return root


def test_image_folder_parallel_and_cache(small_folder, face_model, tmp_path, monkeypatch):
    serial = load_image_folder(small_folder, model_path=face_model, cache_dir=tmp_path / "c")
    assert serial.data.shape == (4, 1, 2, 468)
    assert list(serial.subject) == ["P0", "P1", "P0", "P1"]
    assert list(serial.target) == ["a", "a", "b", "b"]
    parallel = load_image_folder(small_folder, model_path=face_model, n_jobs=2)
    np.testing.assert_allclose(parallel.data, serial.data, atol=1e-6)
    counter = _Counter(monkeypatch, "image")
    cached = load_image_folder(small_folder, model_path=face_model, cache_dir=tmp_path / "c")
    assert counter.calls == 0
    np.testing.assert_array_equal(cached.data, serial.data)
    named = load_image_folder(
        small_folder, model_path=face_model, subject_pattern=r"_lisa(\d)", cache_dir=tmp_path / "c"
    )
    assert list(named.subject) == ["1", "2", "3", "4"]
    with pytest.raises(ValueError, match="subject_pattern"):
        load_image_folder(small_folder, model_path=face_model, subject_pattern=r"lisa")


def test_image_folder_without_faces(small_folder, shared_dir, face_model):
    jelly = shared_dir / "data" / "nonface" / "bright-4642061_640.jpg"
    shutil.copy(jelly, small_folder / "b" / "J0_jelly.jpg")
    with pytest.raises(ValueError, match="J0_jelly.jpg"):
        load_image_folder(small_folder, model_path=face_model)
    kept = load_image_folder(small_folder, model_path=face_model, missing="skip")
    assert kept.data.shape == (4, 1, 2, 468) and kept.n_noface == 1
    assert kept.skipped[0].endswith("J0_jelly.jpg")


def test_image_folder_bad_input(tmp_path, face_model):
    with pytest.raises(FileNotFoundError, match="root="):
        load_image_folder(tmp_path / "absent", model_path=face_model)
    (tmp_path / "empty" / "label").mkdir(parents=True)
    (tmp_path / "empty" / "label" / "notes.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match="no images"):
        load_image_folder(tmp_path / "empty", model_path=face_model)
    with pytest.raises(ValueError, match="missing='drop'"):
        load_image_folder(tmp_path / "empty", missing="drop", model_path=face_model)
