"""load_ckplus and load_image_folder on real photos and video frames."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from igselect.datasets import (
    load_ckplus,
    load_image_folder,
    load_landmark_csv,
    load_openface_csv,
)
from igselect.landmarks import (
    FACE_MESH_468,
    IBUG_68,
    MEDIAPIPE_HAND_21,
    FaceMeshExtractor,
    LandmarkAligner,
)

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
    with pytest.raises(ValueError, match="'n_frames' parameter.* Got 0 instead"):
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
    with pytest.raises(ValueError, match="'missing' parameter of load_image_folder.* Got 'drop'"):
        load_image_folder(tmp_path / "empty", missing="drop", model_path=face_model)


def _folder_with_corrupt_files(shared_dir: Path, root: Path) -> Path:
    """Two real London photos, a file of random bytes named .jpg and a truncated JPEG."""
    london = shared_dir / "data" / "london"
    for label in ("neutral", "smiling"):
        (root / label).mkdir(parents=True)
        shutil.copy(london / label / "001.jpg", root / label / "001.jpg")
    rng = np.random.default_rng(0)
    (root / "smiling" / "bad.jpg").write_bytes(rng.integers(0, 256, 2000, np.uint8).tobytes())
    whole = (london / "neutral" / "003.jpg").read_bytes()
    (root / "neutral" / "003_cut.jpg").write_bytes(whole[: len(whole) // 2])
    return root


def test_image_folder_leaves_out_unreadable_files(shared_dir, face_model, tmp_path):
    root = _folder_with_corrupt_files(shared_dir, tmp_path / "photos")
    with pytest.warns(UserWarning, match=r"2 of 4 images could not be decoded.*003_cut\.jpg"):
        faces = load_image_folder(root, model_path=face_model)  # missing="raise": faces only
    assert faces.data.shape == (2, 1, 2, 468)
    assert [Path(f).name for f in faces.files] == ["001.jpg", "001.jpg"]
    assert list(faces.target) == ["neutral", "smiling"]
    assert faces.n_unreadable == 2 and faces.n_noface == 0
    assert [Path(f).name for f in faces.unreadable] == ["003_cut.jpg", "bad.jpg"]
    for path in (root / "neutral", root / "smiling" / "001.jpg"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="0 without a face, 1 unread"):
        load_image_folder(root, model_path=face_model)  # only bad.jpg is left


def test_image_folder_reads_gif_and_extensionless_images(small_folder, face_model, tmp_path):
    from PIL import Image

    root = tmp_path / "gif"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        photo = sorted((small_folder / label).iterdir())[0]
        with Image.open(photo) as im:  # 8-bit grey GIF: what the grayscale extractor sees
            im.convert("L").save(root / label / f"{photo.stem}.gif")
    with Image.open(sorted((small_folder / "b").iterdir())[0]) as im:
        im.convert("L").save(root / "b" / "P7_yale.happy", format="GIF")  # Yale-style name
    (root / "b" / "notes.txt").write_text("not an image")
    gif = load_image_folder(root, model_path=face_model)
    assert [Path(f).name for f in gif.files] == ["P0_lisa1.gif", "P0_lisa3.gif", "P7_yale.happy"]
    jpg = load_image_folder(small_folder, model_path=face_model)
    np.testing.assert_allclose(gif.data[0], jpg.data[0], atol=0.01)  # 1% of the face crop
    np.testing.assert_allclose(gif.data[1], jpg.data[2], atol=0.01)
    np.testing.assert_array_equal(gif.data[2], gif.data[1])


# -- landmark CSVs: OpenFace 2 and plain wide files ------------------------------------------
FIXTURES = Path(__file__).resolve().parent / "data"
_AU_R = ["01", "02", "04", "05", "06", "07", "09", "10", "12", "14", "15", "17", "20", "23", "25",
         "26", "45"]  # fmt: skip
_AU_C = _AU_R[:-1] + ["28", "45"]


def _openface_header() -> list[str]:
    """The columns of OpenFace 2.2 FeatureExtraction, in its order."""
    eye = [f"eye_lmk_{c}_{i}" for c in "xyXYZ" for i in range(56)]
    shape = ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"] + [f"p_{i}" for i in range(34)]
    return [
        "frame", "face_id", "timestamp", "confidence", "success",
        *[f"gaze_{e}_{c}" for e in (0, 1) for c in "xyz"], "gaze_angle_x", "gaze_angle_y",
        *eye, *[f"pose_{k}" for k in ("Tx", "Ty", "Tz", "Rx", "Ry", "Rz")],
        *[f"{c}_{i}" for c in "xyXYZ" for i in range(68)], *shape,
        *[f"AU{a}_r" for a in _AU_R], *[f"AU{a}_c" for a in _AU_C],
    ]  # fmt: skip


def _write_openface(path: Path, xy: np.ndarray, success, confidence) -> None:
    """One FeatureExtraction CSV: ``xy`` (T, 2, 68) pixels; failed rows get zeros, as OpenFace."""
    header = _openface_header()
    col = {name: i for i, name in enumerate(header)}
    rows = np.zeros((len(xy), len(header)))
    rows[:, col["frame"]] = np.arange(1, len(xy) + 1)
    rows[:, col["timestamp"]] = np.arange(len(xy)) / 30.0
    rows[:, col["confidence"]] = confidence
    rows[:, col["success"]] = success
    ok = np.asarray(success, dtype=bool)
    rows[ok, col["x_0"] : col["x_0"] + 68] = xy[ok, 0]
    rows[ok, col["y_0"] : col["y_0"] + 68] = xy[ok, 1]
    rows[ok, col["X_0"] : col["X_0"] + 68] = xy[ok, 0] * 0.5  # 3-D columns must be ignored
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [", ".join(header)] + [", ".join(f"{v:.3f}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def openface_root(tmp_path_factory):
    """OpenFace CSVs of real MediaPipe landmarks mapped to iBUG 68 (see tests/data/)."""
    root = tmp_path_factory.mktemp("openface")
    idx = FACE_MESH_468.to(IBUG_68)
    video = np.load(FIXTURES / "single_face_ibug68.npz")["xy"]  # (72, 2, 68) pixels
    ok = np.ones(24)
    a, b = ok.copy(), ok.copy()
    a[[5, 6]] = 0  # two frames OpenFace lost
    conf_b = np.full(24, 0.97)
    conf_b[10] = 0.3  # tracked, but not confidently
    _write_openface(root / "talking" / "S1_a.csv", video[:24], a, 0.97 * a)
    _write_openface(root / "talking" / "S1_b.csv", video[24:48], b, conf_b)
    _write_openface(root / "talking" / "S1_c.csv", video[48:], ok, 0.97)
    london = np.load(DATA / "london_landmarks.npz")
    for label in ("neutral", "smiling"):
        # crop-normalised photo landmarks -> pixels of the 300 px crop, 90 px into the photo
        faces = 90.0 + 300.0 * london[label][:24][..., idx].astype(np.float64)
        for subject, face in zip(london["subject"][:24], faces, strict=True):
            seq = np.stack([face, face, face])  # FaceLandmarkImg-like: the photo, 3 rows
            _write_openface(
                root / label / f"{subject}_{label}.csv", seq, [1, 0, 1], [0.95, 0, 0.95]
            )
    return root


def test_openface_shapes_labels_and_missing_counts(openface_root):
    of = load_openface_csv(openface_root, n_frames=24)
    assert of.data.shape == (51, 24, 2, 68) and of.data.dtype == np.float32
    assert of.scheme is IBUG_68 and of.landmark_names[:2] == ["jaw_0", "jaw_1"]
    assert of.target_names == ["neutral", "smiling", "talking"]
    assert list(of.target).count("smiling") == 24 and list(of.target).count("talking") == 3
    assert list(of.subject[:2]) == ["001", "002"] and list(of.subject[-3:]) == ["S1"] * 3
    assert list(of.sequence[-3:]) == ["S1_a", "S1_b", "S1_c"]
    assert of.frames_missing[-3:].tolist() == [2, 1, 0]  # success == 0 twice; confidence 0.3
    assert of.frames_total[-3:].tolist() == [24, 24, 24]
    assert set(of.frames_missing[:48]) == {1} and set(of.frames_total[:48]) == {3}
    video = np.load(FIXTURES / "single_face_ibug68.npz")["xy"]
    np.testing.assert_allclose(of.data[-1], video[48:], atol=1e-3)  # files hold 3 decimals
    filled = of.data[-3]
    np.testing.assert_allclose(filled[5], (2 * video[4] + video[7]) / 3, atol=1e-3)
    np.testing.assert_allclose(filled[6], (video[4] + 2 * video[7]) / 3, atol=1e-3)
    assert np.abs(filled[5]).min() > 100  # the zeros OpenFace wrote were not used
    idx = FACE_MESH_468.to(IBUG_68)
    photo = 90 + 300 * np.load(DATA / "london_landmarks.npz")["neutral"][0][:, idx]
    np.testing.assert_allclose(of.data[0], np.broadcast_to(photo, (24, 2, 68)), atol=1e-3)


def test_openface_policies(openface_root, tmp_path):
    lenient = load_openface_csv(openface_root, min_confidence=0.2, n_frames=4)
    assert lenient.frames_missing[-3:].tolist() == [2, 0, 0] and lenient.data.shape[1] == 4
    with pytest.raises(ValueError, match="the first sequence has 3"):
        load_openface_csv(openface_root, n_frames=None)  # photos have 3 rows, videos 24
    talking = tmp_path / "talking_only"
    shutil.copytree(openface_root / "talking", talking / "talking")
    X, _ = load_openface_csv(talking, missing="keep_nan", n_frames=None, return_X_y=True)
    assert X.shape == (3, 24, 2, 68)
    assert np.isnan(X[0, [5, 6]]).all() and np.isnan(X[1, 10]).all()
    assert np.isfinite(X[0, [4, 7]]).all() and np.isfinite(X[2]).all()
    with pytest.raises(ValueError, match=r"2 of 24 frames of .*S1_a\.csv"):
        load_openface_csv(talking, missing="raise")
    # a file whose every frame failed is skipped and listed
    _write_openface(talking / "talking" / "S2_lost.csv", X[2], np.zeros(24), 0.0)
    some = load_openface_csv(talking)
    assert some.n_skipped_noface == 1 and some.skipped[0][0].endswith("S2_lost.csv")
    assert len(some.data) == 3


def test_openface_pipeline_with_ibug_scheme(openface_root):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    from igselect.evaluation import FlattenLandmarks
    from igselect.plotting import plot_landmark_importance
    from igselect.rankers import FTestLandmarkSelector

    of = load_openface_csv(openface_root, n_frames=2)
    keep = of.target != "talking"
    X, y, groups = of.data[keep], of.target[keep], of.subject[keep]
    pipe = make_pipeline(
        LandmarkAligner(scheme=IBUG_68),
        FTestLandmarkSelector(n_landmarks=8, positive_class="smiling"),
        FlattenLandmarks(),
        LogisticRegression(max_iter=1000),
    )
    acc = cross_val_score(pipe, X, y, groups=groups, cv=GroupKFold(4))
    assert acc.mean() >= 0.75, acc  # chance 0.5; measured 0.875 (photos of other people)
    pipe.fit(X, y)
    assert pipe[0].scheme_ is IBUG_68 and pipe[0].reference_.shape == (2, 68)
    selector = pipe[1]
    # a smile pulls the mouth corners (iBUG 48, 54 outer; 60, 64 inner) first
    assert set(selector.ranking_[:4].tolist()) == {48, 54, 60, 64}, selector.ranking_
    top = IBUG_68.landmark_regions(selector.ranking_[:8])
    assert set(top) <= {"outer_lips", "inner_lips"}, top
    ax = plot_landmark_importance(selector.scores_, n_landmarks=8, scheme=IBUG_68, title="smile")
    assert len(ax.lines) == 9  # jaw, brows, nose bridge and base, eyes, outer and inner lips
    assert len(ax.collections[0].get_offsets()) == 68
    assert len(ax.collections[-1].get_offsets()) == 8


def _write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_bad_csvs_are_named(tmp_path):
    good = "frame,x_0,x_1,y_0,y_1\n1,0.1,0.2,0.3,0.4\n2,0.1,0.2,0.3,0.5\n"
    cases = {
        "no_landmarks.csv": ("frame, confidence, success\n1, 0.9, 1\n", "no landmark columns"),
        "ragged.csv": ("frame,x_0,x_1,y_0,y_1\n1,0.1,0.2,0.3,0.4\n2,0.1,0.2\n", "ragged CSV"),
        "empty.csv": ("", "empty CSV"),
        "header_only.csv": ("frame,x_0,y_0\n", "no frames"),
        "text.csv": ("frame,x_0,y_0\n1,abc,0.2\n", "non-numeric value 'abc' in column 'x_0'"),
        "gap.csv": ("frame,x_0,x_2,y_0,y_2\n1,1,2,3,4\n", "must be x_0 .. x_1"),
    }
    for name, (text, match) in cases.items():
        root = tmp_path / name.removesuffix(".csv")
        _write_csv(root / "a" / "S1_ok.csv", good)
        _write_csv(root / "a" / f"S2_{name}", text)
        with pytest.raises(ValueError, match=match) as info:
            load_landmark_csv(root)
        assert f"S2_{name}" in str(info.value), name
        with pytest.raises(ValueError, match=match):
            load_openface_csv(root)
    (tmp_path / "no_csv" / "a").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no .csv files"):
        load_landmark_csv(tmp_path / "no_csv")
    with pytest.raises(FileNotFoundError, match="root="):
        load_landmark_csv(tmp_path / "absent")


def test_bad_loader_parameters_are_named(tmp_path):
    with pytest.raises(ValueError, match="'n_frames' parameter of load_openface_csv.* Got 0"):
        load_openface_csv(tmp_path, n_frames=0)
    with pytest.raises(ValueError, match="'min_confidence' parameter.* Got 1.5"):
        load_openface_csv(tmp_path, min_confidence=1.5)
    with pytest.raises(ValueError, match="'missing' parameter of load_landmark_csv.* Got 'drop'"):
        load_landmark_csv(tmp_path, missing="drop")
    with pytest.raises(ValueError, match="'scheme' parameter"):
        load_landmark_csv(tmp_path, scheme="dlib")


def test_landmark_csv_any_scheme(tmp_path):
    rng = np.random.default_rng(0)
    for label in ("wave", "point"):
        for s in range(3):
            xy = rng.random((5, 2, 21))
            cells = [[str(t)] + [f"{v:.6f}" for v in xy[t].ravel()] for t in range(5)]
            if label == "wave" and s == 0:
                cells[2][3] = ""  # x_2 of frame 2 missing -> the frame is missing
            header = ["frame", *[f"x_{i}" for i in range(21)], *[f"y_{i}" for i in range(21)]]
            text = "\n".join(",".join(r) for r in [header, *cells])
            _write_csv(tmp_path / "hands" / label / f"P{s}_take.csv", text)
    hands = load_landmark_csv(tmp_path / "hands", n_frames=5)
    assert hands.data.shape == (6, 5, 2, 21) and hands.scheme is MEDIAPIPE_HAND_21
    assert hands.landmark_names[0] == "wrist" and hands.target_names == ["point", "wave"]
    assert hands.frames_missing.tolist() == [0, 0, 0, 1, 0, 0]
    assert np.isfinite(hands.data).all()
    with pytest.raises(ValueError, match="has 68"):
        load_landmark_csv(tmp_path / "hands", scheme=IBUG_68)
    X, y = load_landmark_csv(tmp_path / "hands", scheme="mediapipe_hand_21", return_X_y=True)
    assert X.shape == (6, 16, 2, 21) and list(y[:3]) == ["point"] * 3
    # an unknown layout loads without a scheme
    _write_csv(tmp_path / "five" / "a" / "x1.csv", "x_0,x_1,x_2,y_0,y_1,y_2\n1,2,3,4,5,6\n")
    five = load_landmark_csv(tmp_path / "five", n_frames=1)
    assert five.scheme is None and five.landmark_names == ["landmark_0", "landmark_1", "landmark_2"]
    np.testing.assert_array_equal(five.data[0, 0], [[1, 2, 3], [4, 5, 6]])


# -- CK+ sequences with a frame that cannot be decoded ---------------------------------------


def _toy_ckplus(root: Path, sequences: dict) -> Path:
    """A CK+ tree of toy frames (see tests/_toy_extractor.py): name -> (frame bytes, code)."""
    for name, (frames, code) in sequences.items():
        subject, seq = name.split("_")
        folder = root / "cohn-kanade-images" / subject / seq
        folder.mkdir(parents=True)
        for i, payload in enumerate(frames, start=1):
            (folder / f"{name}_{i:08d}.png").write_bytes(payload)
        labels = root / "Emotion" / subject / seq
        labels.mkdir(parents=True)
        if code is not None:
            (labels / f"{name}_{len(frames):08d}_emotion.txt").write_text(f"{code:.7e}\n")
    return root


def test_ckplus_leaves_out_sequences_with_undecodable_frames(
    tmp_path, face_model, monkeypatch, capsys
):
    import warnings

    from _toy_extractor import N_TOY, ToyExtractor, toy_landmarks

    import igselect.landmarks
    from igselect.cli import main

    monkeypatch.setattr(igselect.landmarks, "FaceMeshExtractor", ToyExtractor)
    good = [b"face a1", b"face a2", b"face a3"]
    root = _toy_ckplus(
        tmp_path / "ck",
        {
            "S001_001": (good, 5),
            "S001_002": ([b"face b1", b"bad PNG", b"face b3"], 7),  # one corrupt frame
            "S002_001": ([b"face c1", b"face c2", b"face c3"], 1),
            "S002_002": ([b"bad", b"bad"], None),  # unlabelled: never read, not unreadable
        },
    )
    msg = r"1 of 3 CK\+ sequences have a frame that could not be decoded.*\['S001_002'\]"
    with pytest.warns(UserWarning, match=msg + r".*S001_002_00000002\.png"):
        ck = load_ckplus(root, n_frames=3, cache_dir=tmp_path / "cache", model_path=face_model)
    assert ck.data.shape == (2, 3, 2, N_TOY)
    np.testing.assert_array_equal(ck.data[0], np.stack([toy_landmarks(b) for b in good]))
    assert list(ck.sequence) == ["S001_001", "S002_001"]
    assert list(ck.target) == ["happiness", "anger"]
    assert ck.n_unreadable == 1 and ck.unreadable == ["S001_002"]
    assert (ck.n_skipped_unlabelled, ck.n_skipped_noface) == (1, 0)
    reasons = dict(ck.skipped)
    assert reasons["S002_002"] == "no emotion label"
    assert "could not decode" in reasons["S001_002"] and "00000002.png" in reasons["S001_002"]
    assert "unreadable 1" in ck.DESCR

    # igselect extract ROOT counts it as unreadable and names it, without the warning.
    out = tmp_path / "ck.npz"
    argv = ["extract", str(root), "-o", str(out), "--frames", "3", "--model", str(face_model)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(argv) == 0
    assert not [w for w in caught if "CK+ sequences" in str(w.message)]
    captured = capsys.readouterr()
    assert "inputs: 3  faces found: 2  no face: 0  unreadable: 1  errors: 0" in captured.out
    assert "1 unlabelled, 0 contempt, 0 without a face, 1 unreadable" in captured.out
    assert "  unreadable: S001_002" in captured.out
    assert "igselect: S001_002: could not decode" in captured.err
    with np.load(out) as saved:
        assert list(saved["files"]) == ["S001_001", "S002_001"]
        np.testing.assert_array_equal(saved["data"], ck.data)

    # Nothing readable left: a clear error, after the warning.
    for name in ("S001_001", "S002_001"):
        shutil.rmtree(root / "cohn-kanade-images" / name[:4] / name[5:])
    with (
        pytest.warns(UserWarning, match=r"1 of 1 CK\+"),
        pytest.raises(
            ValueError, match=r"1 unlabelled, 0 contempt, 0 without a face, 1 unreadable\)"
        ),
    ):
        load_ckplus(root, n_frames=3, model_path=face_model)


def test_ckplus_other_extractor_failures_still_raise(tmp_path, face_model, monkeypatch):
    from _toy_extractor import ToyExtractor

    import igselect.landmarks

    class BrokenExtractor(ToyExtractor):
        def sequence(self, frames, *args, **kwargs):
            frames = list(frames)
            if Path(frames[0]).read_bytes() == b"boom":
                raise ValueError("the landmarker returned garbage")  # not UnreadableInputError
            return super().sequence(frames, *args, **kwargs)

    monkeypatch.setattr(igselect.landmarks, "FaceMeshExtractor", BrokenExtractor)
    root = _toy_ckplus(
        tmp_path / "ck",
        {
            "S001_001": ([b"face a1", b"face a2"], 5),
            "S001_002": ([b"face b1", b"bad"], 5),  # unreadable: would only be left out
            "S001_003": ([b"boom", b"face c2"], 5),  # a failure, not a corrupt frame
        },
    )
    msg = r"1 CK\+ sequence\(s\) could not be read, e.g. S001_003: the landmarker returned"
    with pytest.raises(ValueError, match=msg):
        load_ckplus(root, n_frames=2, model_path=face_model)


def test_ckplus_corrupt_png_with_mediapipe(shared_dir, face_model, tmp_path):
    """A truncated PNG frame in a real sequence: that sequence is left out, the other loads."""
    london = shared_dir / "data" / "london"
    frames = [cv2.imread(str(london / kind / "001.jpg")) for kind in ("neutral", "smiling")]
    root = tmp_path / "CK+"
    _write_seq(root, "S001", "001", frames, code=5)
    _write_seq(root, "S001", "002", frames, code=6)
    cut = root / "cohn-kanade-images" / "S001" / "002" / "S001_002_00000002.png"
    cut.write_bytes(cut.read_bytes()[:5000])
    with pytest.warns(UserWarning, match=r"1 of 2 CK\+ sequences .*\['S001_002'\]"):
        ck = load_ckplus(root, n_frames=2, model_path=face_model)
    assert ck.data.shape == (1, 2, 2, 468) and np.isfinite(ck.data).all()
    assert list(ck.sequence) == ["S001_001"] and list(ck.target) == ["happiness"]
    assert ck.unreadable == ["S001_002"] and ck.n_unreadable == 1
    assert str(cut) in dict(ck.skipped)["S001_002"]


# -- another landmark extractor through the loaders' extractor= --------------------------------
def test_loaders_take_another_extractor(tmp_path):
    """extractor= puts any extractor behind load_image_folder and load_ckplus (no MediaPipe)."""
    import functools

    from _toy_extractor import N_TOY, ToyExtractor, toy_landmarks

    photos = tmp_path / "photos"
    for label, payloads in {"neutral": [b"face n1", b"face n2"], "smiling": [b"face s1"]}.items():
        (photos / label).mkdir(parents=True)
        for i, payload in enumerate(payloads, start=1):
            (photos / label / f"{i:03d}.png").write_bytes(payload)
    ToyExtractor.calls = 0
    cache = tmp_path / "cache"
    folder = load_image_folder(photos, extractor=ToyExtractor, cache_dir=cache)
    assert folder.data.shape == (3, 1, 2, N_TOY) and ToyExtractor.calls == 3
    np.testing.assert_array_equal(folder.data[2, 0], toy_landmarks(b"face s1"))
    assert "(n, 1, 2, 5)" in folder.DESCR and "MediaPipe" not in folder.DESCR
    again = load_image_folder(photos, extractor=ToyExtractor, cache_dir=cache)
    assert ToyExtractor.calls == 3  # read from the cache
    np.testing.assert_array_equal(again.data, folder.data)
    # other settings are another cache key: extracted again, never read stale
    shifted = load_image_folder(
        photos, extractor=functools.partial(ToyExtractor, offset=1.0), cache_dir=cache
    )
    assert ToyExtractor.calls == 6
    np.testing.assert_allclose(shifted.data, folder.data + 1.0)

    root = _toy_ckplus(tmp_path / "ck", {"S001_001": ([b"face a1", b"face a2"], 5)})
    ck = load_ckplus(root, n_frames=2, extractor=functools.partial(ToyExtractor, offset=0.5))
    expected = np.stack([toy_landmarks(b"face a1"), toy_landmarks(b"face a2")]) + 0.5
    np.testing.assert_allclose(ck.data[0], expected)
    assert f"(2, 2, {N_TOY})" in ck.DESCR and "MediaPipe" not in ck.DESCR

    with pytest.raises(ValueError, match=r"'extractor' parameter .*Got 'toy'"):
        load_image_folder(photos, extractor="toy")
    with pytest.raises(TypeError, match="Received: extractor='toy'"):
        load_ckplus(root, extractor="toy")
    with pytest.raises(ValueError, match="model_path configures the default"):
        load_ckplus(root, extractor=ToyExtractor, model_path="face_landmarker.task")
