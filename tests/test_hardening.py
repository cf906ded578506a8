"""Hardening of the extraction side (issue 13): caches, the CLI's output, the model's hash.

Each test reproduces one defect of the probe and failed before the fix.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from igselect.cli import main
from igselect.datasets import load_ckplus, load_image_folder
from igselect.landmarks import FACE_MODEL_SHA256, FaceMeshExtractor, resolve_face_model

_REPO = Path(__file__).resolve().parents[1]


class _Counter:
    """Counts calls of a FaceMeshExtractor method (in-process extraction, n_jobs=1)."""

    def __init__(self, monkeypatch, name: str):
        self.calls = 0
        original = getattr(FaceMeshExtractor, name)

        def wrapped(ext, *args, **kwargs):
            self.calls += 1
            return original(ext, *args, **kwargs)

        monkeypatch.setattr(FaceMeshExtractor, name, wrapped)


@pytest.fixture
def two_bmp_faces(shared_dir, tmp_path) -> Path:
    """Two different people as BMP files of the same size and modification time."""
    root = tmp_path / "photos"
    (root / "a").mkdir(parents=True)
    for name, sid in (("P0_x.bmp", "001"), ("P1_y.bmp", "002")):
        img = cv2.imread(str(shared_dir / "data" / "london" / "neutral" / f"{sid}.jpg"))
        cv2.imwrite(str(root / "a" / name), img)
    for f in (root / "a").iterdir():
        os.utime(f, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert len({f.stat().st_size for f in (root / "a").iterdir()}) == 1
    return root


# -- defect 1: cache entries are checked against what the extractor would write -------------


def test_cache_entry_of_wrong_shape_or_nan_is_recomputed(two_bmp_faces, face_model, tmp_path):
    cache = tmp_path / "cache"
    ref = load_image_folder(two_bmp_faces, cache_dir=cache, model_path=face_model)
    entries = sorted(cache.glob("*.npz"))
    assert len(entries) == 2
    # Readable, but of the wrong shape: (2, 2, 468) for one image.
    np.savez(entries[0], landmarks=np.zeros((2, 2, 468), np.float32), found=np.ones(2, bool))
    # Readable and of the right shape, but NaN landmarks that claim a face was found.
    np.savez(entries[1], landmarks=np.full((1, 2, 468), np.nan, np.float32), found=np.ones(1, bool))
    again = load_image_folder(two_bmp_faces, cache_dir=cache, model_path=face_model)
    np.testing.assert_array_equal(again.data, ref.data)
    with np.load(entries[0]) as fixed:  # rewritten with the good entry
        assert fixed["landmarks"].shape == (1, 2, 468) and np.isfinite(fixed["landmarks"]).all()


# -- defect 2: entries are keyed on content and relative path --------------------------------


def test_swapped_images_of_same_size_and_mtime_do_not_swap_landmarks(
    two_bmp_faces, face_model, tmp_path
):
    cache = tmp_path / "cache"
    before = load_image_folder(two_bmp_faces, cache_dir=cache, model_path=face_model)
    a, b = two_bmp_faces / "a" / "P0_x.bmp", two_bmp_faces / "a" / "P1_y.bmp"
    tmp = a.with_suffix(".swap")
    shutil.move(a, tmp)  # mv keeps size and mtime: only the content moved
    shutil.move(b, a)
    shutil.move(tmp, b)
    after = load_image_folder(two_bmp_faces, cache_dir=cache, model_path=face_model)
    np.testing.assert_array_equal(after.data[0], before.data[1])
    np.testing.assert_array_equal(after.data[1], before.data[0])


# -- defect 3: the CLI's output is written atomically, after a writability check -------------


def test_extract_checks_output_before_extracting(
    shared_dir, face_model, tmp_path, monkeypatch, capsys
):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    out = blocker / "out.npz"
    counter = _Counter(monkeypatch, "image")
    image = shared_dir / "media" / "single_face.jpg"
    assert main(["extract", str(image), "-o", str(out), "--model", str(face_model)]) == 1
    assert counter.calls == 0  # refused before any extraction work
    assert str(out.parent) in capsys.readouterr().err
    args = ["extract", str(image), "-o", str(tmp_path / "o.npz"), "--model", str(face_model)]
    assert main([*args, "--cache-dir", str(blocker / "cache")]) == 1
    assert counter.calls == 0 and "cache folder" in capsys.readouterr().err


def test_failed_write_keeps_previous_output_and_names_it(shared_dir, face_model, tmp_path):
    out = tmp_path / "faces.npz"
    sentinel = b"previous good output"
    out.write_bytes(sentinel)
    images = [shared_dir / "media" / "single_face.jpg", shared_dir / "data" / "pose" / "lisa1.jpg"]
    code = (  # the toy extractor (tests/_toy_extractor.py) spares the MediaPipe start-up
        "import resource, sys\n"
        "import _toy_extractor\n"
        "from igselect.cli import main\n"
        "_toy_extractor._patch()\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (256, 256))\n"  # as `ulimit -f` does
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["extract", *map(str, images), "-o", str(out), "--model", str(face_model)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    run = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, env=env
    )
    assert run.returncode == 1, run.stderr
    assert str(out) in run.stderr and "File too large" in run.stderr
    assert out.read_bytes() == sentinel  # the previous good output survives
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces.npz"]  # no temp file left


# -- defect 4: argument validation and an honest summary -------------------------------------


@pytest.mark.parametrize(
    "extra", [["--frames", "0"], ["--frames", "-3"], ["--jobs", "0"], ["--frames", "x"]]
)
def test_extract_rejects_bad_arguments_with_usage(extra, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["extract", "face.jpg", "-o", str(tmp_path / "o.npz"), *extra])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and extra[0] in err
    assert not (tmp_path / "o.npz").exists()


def test_extract_counts_unreadable_noface_and_errors(shared_dir, face_model, tmp_path, capsys):
    fake = tmp_path / "notes.jpg"
    fake.write_text("a text file named .jpg")
    jelly = shared_dir / "data" / "nonface" / "bright-4642061_640.jpg"
    face = shared_dir / "media" / "single_face.jpg"
    out = tmp_path / "o.npz"
    args = ["extract", str(face), str(jelly), str(fake), "-o", str(out)]
    assert main([*args, "--model", str(face_model)]) == 0
    printed = capsys.readouterr().out
    assert "inputs: 3  faces found: 1  no face: 1  unreadable: 1  errors: 0" in printed
    assert "unreadable: " + str(fake) in printed and "no face: " + str(jelly) in printed


def test_extract_missing_raise_counts_as_error(shared_dir, face_model, tmp_path, capsys):
    clip = shared_dir / "media" / "face_noface.mov"
    args = ["extract", str(clip), "-o", str(tmp_path / "o.npz"), "--missing", "raise"]
    assert main([*args, "--frames", "4", "--model", str(face_model)]) == 1
    captured = capsys.readouterr()
    assert "faces found: 0  no face: 0  unreadable: 0  errors: 1" in captured.err
    assert "error: " + str(clip) in captured.err
    assert "no face found in any" not in captured.err  # the old, misleading summary


# -- defect 7: a model file with an unknown hash is named in a warning -----------------------


def test_model_with_unknown_hash_warns(face_model, tmp_path, monkeypatch):
    monkeypatch.delenv("IGSELECT_FACE_MODEL", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_face_model(face_model) == face_model  # the pinned file: silent
    tampered = tmp_path / "face_landmarker.task"
    payload = bytearray(face_model.read_bytes())
    payload[len(payload) // 2] ^= 0xFF  # one byte inside the bundle: still a zip
    tampered.write_bytes(bytes(payload))
    with pytest.warns(UserWarning, match=str(tampered)) as record:
        resolve_face_model(tampered)
    message = str(record[0].message)
    assert FACE_MODEL_SHA256 in message
    import hashlib

    assert hashlib.sha256(bytes(payload)).hexdigest() in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_face_model(tampered)  # once per file per process: the extractors stay quiet
    payload[len(payload) // 3] ^= 0xFF
    other = tmp_path / "other.task"
    other.write_bytes(bytes(payload))
    monkeypatch.setenv("IGSELECT_FACE_MODEL", str(other))
    with pytest.warns(UserWarning, match="IGSELECT_FACE_MODEL"):
        resolve_face_model()


# -- also mend: CK+ emotion file with non-UTF-8 bytes ----------------------------------------


def test_ckplus_non_utf8_emotion_file_is_named(tmp_path, face_model):
    frames = tmp_path / "ck" / "cohn-kanade-images" / "S001" / "001"
    frames.mkdir(parents=True)
    cv2.imwrite(str(frames / "S001_001_00000001.png"), np.zeros((8, 8, 3), np.uint8))
    labels = tmp_path / "ck" / "Emotion" / "S001" / "001"
    labels.mkdir(parents=True)
    bad = labels / "S001_001_00000001_emotion.txt"
    bad.write_bytes(b"\xff\xfe   5.0000000e+00\n")
    with pytest.raises(ValueError, match="S001_001_00000001_emotion.txt"):
        load_ckplus(tmp_path / "ck", model_path=face_model)


# -- kill -9 with the real extractor (the default tests use the toy one: tests/test_cache.py) --


def _kill_after_entries(cmd: list[str], cache: Path, n: int) -> None:
    from test_cache import _kill_when

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, lambda: len(list(cache.rglob("*.npz"))) >= n, timeout=300)


def _leftovers(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_kill_9_real_extract_and_load_ckplus_then_resume(shared_dir, face_model, tmp_path):
    london = shared_dir / "data" / "london"
    # igselect extract on a folder of 10 real photos
    photos = tmp_path / "photos"
    for kind in ("neutral", "smiling"):
        (photos / kind).mkdir(parents=True)
        for sid in ("001", "002", "003", "004", "005"):
            shutil.copy(london / kind / f"{sid}.jpg", photos / kind / f"{sid}.jpg")
    cache, out = tmp_path / "cache", tmp_path / "out.npz"
    cmd = [sys.executable, "-m", "igselect", "extract", str(photos), "-o", str(out)]
    cmd += ["--model", str(face_model), "--cache-dir", str(cache)]
    _kill_after_entries(cmd, cache, 2)
    assert 2 <= len(list(cache.rglob("*.npz"))) < 10 and not out.exists()
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    assert (
        main(["extract", str(photos), "-o", str(tmp_path / "ref.npz"), "--model", str(face_model)])
        == 0
    )
    with np.load(out) as got, np.load(tmp_path / "ref.npz") as want:
        assert got["data"].shape == (10, 1, 2, 468)
        np.testing.assert_array_equal(got["data"], want["data"])
        np.testing.assert_array_equal(got["files"], want["files"])
        np.testing.assert_array_equal(got["target"], want["target"])
    assert _leftovers(cache, tmp_path) == []

    # load_ckplus(cache_dir=...) on 6 sequences of real frames
    root = tmp_path / "ck"
    for s, sid in enumerate(("001", "002", "003", "004", "005", "006")):
        frames = root / "cohn-kanade-images" / "S001" / f"{s:03d}"
        labels = root / "Emotion" / "S001" / f"{s:03d}"
        frames.mkdir(parents=True)
        labels.mkdir(parents=True)
        for t, kind in enumerate(("neutral", "neutral", "smiling")):
            shutil.copy(london / kind / f"{sid}.jpg", frames / f"S001_{s:03d}_{t:08d}.jpg")
        (labels / f"S001_{s:03d}_00000003_emotion.txt").write_text("5.0\n")
    ck_cache, ck_out = tmp_path / "ck_cache", tmp_path / "ck.npz"
    code = (
        "import sys, numpy as np\n"
        "from igselect.datasets import load_ckplus\n"
        "ck = load_ckplus(sys.argv[1], n_frames=3, cache_dir=sys.argv[2], model_path=sys.argv[4])\n"
        "np.savez(sys.argv[3], data=ck.data, sequence=ck.sequence.astype(str))\n"
    )
    cmd = [sys.executable, "-c", code, str(root), str(ck_cache), str(ck_out), str(face_model)]
    _kill_after_entries(cmd, ck_cache, 2)
    assert 2 <= len(list(ck_cache.glob("*.npz"))) < 6 and not ck_out.exists()
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    want = load_ckplus(root, n_frames=3, model_path=face_model)
    with np.load(ck_out) as got:
        assert got["data"].shape == (6, 3, 2, 468)
        np.testing.assert_array_equal(got["data"], want.data)
        np.testing.assert_array_equal(got["sequence"], want.sequence.astype(str))
    assert _leftovers(ck_cache, tmp_path) == []


def test_model_hash_is_computed_once_per_file_version(face_model, tmp_path, monkeypatch):
    from igselect.landmarks import _model

    calls = []
    original = _model._sha256
    monkeypatch.setattr(_model, "_sha256", lambda p: calls.append(p) or original(p))
    copy = tmp_path / "copy.task"
    copy.write_bytes(face_model.read_bytes())
    for _ in range(3):
        assert _model.model_sha256(copy) == FACE_MODEL_SHA256
        FaceMeshExtractor(copy).cache_key()
    assert len(calls) == 1
    os.utime(copy, ns=(0, 10**18))  # a new modification time: hashed again
    assert _model.model_sha256(copy) == FACE_MODEL_SHA256 and len(calls) == 2
