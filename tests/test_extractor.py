"""FaceMeshExtractor, model resolution and the time axis, on the real shared media."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import urllib.error
from pathlib import Path

import cv2
import numpy as np
import pytest

from igselect.landmarks import (
    FACE_MODEL_SHA256,
    FaceMeshExtractor,
    NoFaceError,
    _model,
    fill_missing_frames,
    resample_frames,
    resolve_face_model,
)

# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ext(face_model):
    with FaceMeshExtractor(face_model) as extractor:
        yield extractor


@pytest.fixture(scope="module")
def media(shared_dir) -> Path:
    return shared_dir / "media"


@pytest.fixture(scope="module")
def face_noface(ext, media):
    """face_noface.mov once, NaN where no face was found."""
    return ext.video(media / "face_noface.mov", missing="keep_nan")


def _frames(path: Path, indices) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    for i in range(max(indices) + 1):
        ok, frame = cap.read()
        assert ok
        if i in indices:
            frames.append(frame)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def partial_clip(media, tmp_path_factory) -> Path:
    """A short MJPG clip of real frames: 6 with a face, 4 without, 6 with a face."""
    face = _frames(media / "single_face.mp4", list(range(0, 12)))
    empty = [cv2.resize(f, (640, 360)) for f in _frames(media / "no_face.mp4", [0, 5, 10, 15])]
    path = tmp_path_factory.mktemp("clip") / "partial.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 360))
    for frame in face[:6] + empty + face[6:]:
        writer.write(frame)
    writer.release()
    return path


# -- images ---------------------------------------------------------------------------------


def test_image_single_face_in_crop_coordinates(ext, media):
    xy = ext.image(media / "single_face.jpg")
    assert xy.shape == (2, 468) and xy.dtype == np.float32
    # The crop is the landmark box grown by margin=0.25 on each side (on the image the
    # crop came from), so the face spans about 1 / 1.5 of the crop around its centre.
    extent = max(np.ptp(xy[0]), np.ptp(xy[1]))
    assert extent == pytest.approx(1 / 1.5, abs=0.04)
    assert np.allclose(xy.min(axis=1) + xy.max(axis=1), 1.0, atol=0.06)


def test_image_array_inputs_agree_with_path(ext, media):
    path = media / "single_face.jpg"
    ref = ext.image(path)
    bgr = cv2.imread(str(path))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    bgra = np.dstack([bgr, np.full(gray.shape, 128, np.uint8)])
    np.testing.assert_array_equal(ext.image(bgr), ref)
    np.testing.assert_array_equal(ext.image(bgra), ref)  # alpha channel dropped
    np.testing.assert_allclose(ext.image(gray), ref, atol=0.02)  # 2-D grayscale
    np.testing.assert_allclose(ext.image(bgr / 255.0), ref, atol=0.02)  # float in [0, 1]


def test_tiny_image_has_no_face(ext):
    assert ext.image(np.full((16, 16, 3), 200, np.uint8)) is None
    assert ext.find_faces(np.zeros((16, 16), np.uint8)).shape == (0, 4)


def test_nonface_photos_have_no_face(ext, shared_dir):
    files = sorted((shared_dir / "data" / "nonface").glob("*.jpg"))
    assert len(files) >= 6
    assert [f.name for f in files if ext.image(f) is not None] == []


def test_jellyfish_fools_bare_mediapipe_but_not_the_extractor(ext, face_model, shared_dir):
    """A bare Face Landmarker call at MediaPipe's default 0.5 thresholds reports the
    jellyfish photo as a face; the extractor (0.7 thresholds, square-tile search) does not."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    jelly = shared_dir / "data" / "nonface" / "bright-4642061_640.jpg"
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(face_model)), num_faces=2
    )
    rgb = cv2.cvtColor(cv2.imread(str(jelly)), cv2.COLOR_BGR2RGB)
    with vision.FaceLandmarker.create_from_options(options) as bare:
        result = bare.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    assert len(result.face_landmarks) == 1
    assert ext.image(jelly) is None


def test_pose_photos_found(ext, shared_dir):
    files = sorted((shared_dir / "data" / "pose").glob("*.jpg"))
    assert len(files) == 4
    for f in files:
        xy = ext.image(f)
        assert xy is not None, f.name
        assert np.all((xy > -0.05) & (xy < 1.05))


def test_multi_face_largest_is_chosen(ext, media, face_model):
    path = media / "multi_face.jpg"
    boxes = ext.find_faces(path)
    assert len(boxes) >= 2
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    xy, (x0, y0, side) = ext.image(path, return_crop=True)
    assert xy.shape == (2, 468)
    centre = np.array([x0 + side / 2, y0 + side / 2])
    box_centres = np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
    chosen = int(np.argmin(np.linalg.norm(box_centres - centre, axis=1)))
    assert chosen == int(np.argmax(areas))
    assert areas[chosen] > np.sort(areas)[-2]  # strictly the larger face
    # The landmarks, mapped back to pixels, lie on that face.
    px = np.array([x0, y0])[:, None] + xy * side
    b = boxes[chosen]
    assert b[0] - 5 <= px[0].min() and px[0].max() <= b[2] + 5
    # Another rule picks another face.
    with FaceMeshExtractor(face_model, select="center") as central:
        _, crop = central.image(path, return_crop=True)
    assert crop != (x0, y0, side)


# -- videos ---------------------------------------------------------------------------------


def test_video_single_face_every_frame(ext, media):
    res = ext.video(media / "single_face.mp4")
    assert res.n_frames_total == 72 and res.landmarks.shape == (72, 2, 468)
    assert res.found.all() and res.n_missing == 0 and res.found_fraction == 1.0
    assert res.fps == pytest.approx(30.0)
    assert np.isfinite(res.landmarks).all() and res.landmarks.dtype == np.float32
    # Tracked crops stay on the face: every frame's mesh is centred in its crop.
    centres = res.landmarks.mean(axis=2)
    assert np.all(np.abs(centres - 0.5) < 0.12)
    # Resampling to a fixed length keeps the end frames.
    short = resample_frames(res.landmarks, 16)
    assert short.shape == (16, 2, 468)
    np.testing.assert_array_equal(short[[0, -1]], res.landmarks[[0, -1]])


def test_video_without_face_raises(ext, media):
    with pytest.raises(NoFaceError, match="no face in this video"):
        ext.video(media / "no_face.mp4")
    assert issubclass(NoFaceError, ValueError)


def test_face_noface_found_fraction_and_policies(face_noface):
    res = face_noface
    assert res.n_frames_total == 169
    assert 0.2 < res.found_fraction < 0.8  # the face is there only part of the time
    assert res.n_missing == int((~res.found).sum()) > 0
    nan_rows = np.isnan(res.landmarks).any(axis=(1, 2))
    np.testing.assert_array_equal(nan_rows, ~res.found)  # keep_nan: NaN exactly when missing
    filled = fill_missing_frames(res.landmarks, "interpolate")
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[res.found], res.landmarks[res.found])


def test_missing_policies_on_partial_clip(ext, partial_clip):
    res = ext.video(partial_clip, missing="keep_nan")
    assert res.n_frames_total == 16
    expected = np.r_[np.ones(6), np.zeros(4), np.ones(6)].astype(bool)
    np.testing.assert_array_equal(res.found, expected)
    filled = ext.video(partial_clip, missing="interpolate").landmarks
    assert np.isfinite(filled).all()
    # The gap is the straight line between the frames on either side of it.
    w = 2 / 5
    np.testing.assert_allclose(filled[7], (1 - w) * filled[5] + w * filled[10], atol=1e-6)
    with pytest.raises(ValueError, match="no face found in 4 of 16 frames"):
        ext.video(partial_clip, missing="raise")
    assert ext.video(partial_clip, n_frames=8).landmarks.shape == (8, 2, 468)


def test_sequence_of_images_matches_video_protocol(ext, media):
    frames = _frames(media / "single_face.mp4", [0, 1, 2, 3])
    res = ext.sequence(frames, n_frames=6, name="four")
    assert res.landmarks.shape == (6, 2, 468) and res.found.all() and res.path == "four"


# -- bad input ------------------------------------------------------------------------------


def test_bad_video_files(ext, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        ext.video(tmp_path / "missing.mp4")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(20_000))
    with pytest.raises(ValueError, match="corrupt.mp4"):
        ext.video(corrupt)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(ValueError, match="empty.mp4"):
        ext.video(empty)


def test_bad_image_inputs(ext, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        ext.image(tmp_path / "nope.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="broken.jpg"):
        ext.image(broken)
    with pytest.raises(ValueError, match="shape"):
        ext.image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="dtype"):
        ext.image(np.zeros((4, 4), np.int64))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"crop_size": 8}, r"'crop_size' parameter of FaceMeshExtractor .*Got 8 "),
        ({"margin": -1}, r"'margin' parameter .*\[0.0, 2.0\]. Got -1 "),
        ({"min_face_confidence": 1.5}, r"'min_face_confidence' .*Got 1.5 "),
        ({"select": "first"}, r"'select' .*Got 'first' "),
        ({"max_faces": 0}, r"'max_faces' parameter .*Got 0 "),
        ({"missing": "drop"}, r"'missing' .*Got 'drop' "),
    ],
)
def test_parameter_validation(face_model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        FaceMeshExtractor(face_model, **kwargs)


def test_close_and_reopen(face_model, media):
    ext = FaceMeshExtractor(face_model)
    with ext:
        assert ext.image(media / "single_face.jpg") is not None
        assert ext._landmarkers  # opened lazily
    assert not ext._landmarkers  # closed on exit
    assert ext.image(media / "single_face.jpg") is not None  # reopens
    ext.close()


def test_unclosed_extractor_exits_cleanly(face_model, media):
    code = (
        "from igselect.landmarks import FaceMeshExtractor\n"
        f"e = FaceMeshExtractor({str(face_model)!r})\n"
        f"assert e.image({str(media / 'single_face.jpg')!r}) is not None\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "TypeError" not in proc.stderr


# -- model resolution -----------------------------------------------------------------------


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv("IGSELECT_FACE_MODEL", raising=False)
    monkeypatch.setenv("IGSELECT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_resolve_order(face_model, no_env, monkeypatch, tmp_path):
    assert resolve_face_model(face_model) == face_model
    monkeypatch.setenv("IGSELECT_FACE_MODEL", str(face_model))
    assert resolve_face_model() == face_model
    monkeypatch.delenv("IGSELECT_FACE_MODEL")
    with pytest.raises(FileNotFoundError, match="IGSELECT_FACE_MODEL"):
        resolve_face_model(download=False)
    no_env.mkdir()
    cached = no_env / "face_landmarker.task"
    cached.write_bytes(face_model.read_bytes())
    assert resolve_face_model(download=False) == cached


def test_bad_model_files(face_model, no_env, monkeypatch, tmp_path):
    with pytest.raises(FileNotFoundError, match="model_path="):
        resolve_face_model(tmp_path / "absent.task")
    monkeypatch.setenv("IGSELECT_FACE_MODEL", str(tmp_path / "absent.task"))
    with pytest.raises(FileNotFoundError, match="IGSELECT_FACE_MODEL"):
        resolve_face_model()
    monkeypatch.delenv("IGSELECT_FACE_MODEL")
    truncated = tmp_path / "truncated.task"
    truncated.write_bytes(face_model.read_bytes()[:100_000])
    with pytest.raises(ValueError, match="truncated"):
        FaceMeshExtractor(truncated)
    no_env.mkdir()
    (no_env / "face_landmarker.task").write_bytes(face_model.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ValueError, match="Delete it"):
        resolve_face_model()


class _FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_download_checks_hash_and_writes_atomically(face_model, no_env, monkeypatch):
    payload = face_model.read_bytes()
    assert hashlib.sha256(payload).hexdigest() == FACE_MODEL_SHA256
    calls = []

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return _FakeResponse(payload)

    monkeypatch.setattr(_model.urllib.request, "urlopen", fake_urlopen)
    path = resolve_face_model()
    assert calls == [_model.FACE_MODEL_URL]
    assert path == no_env / "face_landmarker.task" and path.read_bytes() == payload
    assert resolve_face_model() == path and len(calls) == 1  # cached now
    assert [p.name for p in no_env.iterdir()] == ["face_landmarker.task"]


def test_download_with_wrong_hash_leaves_nothing(no_env, monkeypatch):
    monkeypatch.setattr(
        _model.urllib.request, "urlopen", lambda url, timeout=None: _FakeResponse(b"x" * 1000)
    )
    with pytest.raises(ValueError, match="expected 64184e22"):
        resolve_face_model()
    assert list(no_env.iterdir()) == []  # no partial file, no .tmp


def test_download_without_network_says_what_to_do(no_env, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(_model.urllib.request, "urlopen", offline)
    with pytest.raises(OSError, match="IGSELECT_FACE_MODEL"):
        resolve_face_model()


# -- time axis ------------------------------------------------------------------------------


def test_resample_frames_linear_up_and_down():
    ramp = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 2, 3), np.float32)
    np.testing.assert_allclose(resample_frames(ramp, 9)[:, 0, 0], np.arange(9) / 2)
    np.testing.assert_allclose(resample_frames(ramp, 3)[:, 1, 2], [0, 2, 4])
    np.testing.assert_allclose(resample_frames(ramp, 2)[:, 0, 0], [0, 4])
    assert resample_frames(ramp, 4).dtype == np.float32
    one = np.full((1, 2, 3), 7.0)
    np.testing.assert_array_equal(resample_frames(one, 4), np.full((4, 2, 3), 7.0))
    batch = np.stack([ramp, 2 * ramp])
    out = resample_frames(batch, 9)
    assert out.shape == (2, 9, 2, 3)
    np.testing.assert_allclose(out[1, :, 0, 0], np.arange(9))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_resample_frames_rejects_bad_n_frames(bad):
    match = rf"The 'n_frames' parameter of resample_frames must be an int .* Got {bad} instead"
    with pytest.raises(ValueError, match=match):
        resample_frames(np.zeros((3, 2, 4)), bad)


def test_resample_frames_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"seq.shape=\(3, 2\)"):
        resample_frames(np.zeros((3, 2)), 4)


def test_fill_missing_frames_policies():
    seq = np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan])[:, None, None] * np.ones((6, 2, 2))
    np.testing.assert_allclose(fill_missing_frames(seq)[:, 0, 0], [1, 1, 2, 3, 4, 4])
    kept = fill_missing_frames(seq, "keep_nan")
    np.testing.assert_array_equal(np.isnan(kept), np.isnan(seq))
    with pytest.raises(ValueError, match="no face found in 4 of 6 frames of clip"):
        fill_missing_frames(seq, "raise", name="clip")
    with pytest.raises(ValueError, match="any of the 2 frames"):
        fill_missing_frames(np.full((2, 2, 2), np.nan))
    with pytest.raises(ValueError, match="'missing' parameter of fill_missing_frames .*Got 'zero'"):
        fill_missing_frames(seq, "zero")


# -- the extraction protocol ----------------------------------------------------------------


def test_protocol_scheme_and_cache_key(face_model):
    ext = FaceMeshExtractor(face_model)
    from igselect.landmarks.schemes import FACE_MESH_468

    assert ext.scheme is FACE_MESH_468 and ext.n_landmarks == FACE_MESH_468.n_landmarks == 468
    key = ext.cache_key()
    assert (
        key["scheme"] == "face_mesh_468"
        and key["model_sha256"] == FACE_MODEL_SHA256
        and key["crop_size"] == 300
    )
    assert key["extractor"] == "igselect.landmarks.extractor.FaceMeshExtractor"
    assert FaceMeshExtractor(face_model, crop_size=256).cache_key()["crop_size"] == 256
    # missing and verbose change no raw landmark: they stay out of the key
    assert FaceMeshExtractor(face_model, missing="raise", verbose=1).cache_key() == key
