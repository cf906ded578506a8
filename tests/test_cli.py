"""The ``igselect extract`` command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from igselect.cli import main


def test_import_is_light():
    code = (
        "import sys, igselect.cli\n"
        "heavy = [m for m in ('mediapipe', 'cv2', 'tensorflow', 'keras', 'sklearn') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_m_help():
    out = subprocess.run(
        [sys.executable, "-m", "igselect", "extract", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--frames" in out.stdout and "cohn-kanade-images" in out.stdout


def test_extract_images(shared_dir, face_model, tmp_path, capsys):
    jelly = shared_dir / "data" / "nonface" / "bright-4642061_640.jpg"
    images = [shared_dir / "media" / "single_face.jpg", shared_dir / "data" / "pose" / "lisa1.jpg"]
    out = tmp_path / "faces.npz"
    args = ["extract", *map(str, images), str(jelly), "-o", str(out), "--model", str(face_model)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "inputs: 3  faces found: 2  no face: 1" in printed and "bright-4642061" in printed
    with np.load(out) as data:
        assert data["data"].shape == (2, 1, 2, 468) and data["data"].dtype == np.float32
        assert [f.rsplit("/", 1)[-1] for f in data["files"]] == ["single_face.jpg", "lisa1.jpg"]


def test_extract_video_and_image(shared_dir, face_model, tmp_path, capsys):
    media = shared_dir / "media"
    out = tmp_path / "mixed"  # .npz is added
    args = [
        "extract",
        str(media / "single_face.mp4"),
        str(media / "no_face.mp4"),
        str(media / "single_face.jpg"),
        "-o",
        str(out),
        "--frames",
        "8",
        "--model",
        str(face_model),
    ]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "inputs: 3  faces found: 2" in captured.out
    assert "video frames: 167  frames missing: 95" in captured.out  # 72 + 95, none in no_face
    assert "no face in this video" in captured.err
    with np.load(out.with_suffix(".npz")) as data:
        assert data["data"].shape == (2, 8, 2, 468)
        still = data["data"][list(data["files"]).index(str(media / "single_face.jpg"))]
        np.testing.assert_array_equal(still, np.repeat(still[:1], 8, axis=0))


def test_extract_bad_path(tmp_path, face_model, capsys):
    missing = tmp_path / "nothing.mp4"
    assert (
        main(["extract", str(missing), "-o", str(tmp_path / "o.npz"), "--model", str(face_model)])
        == 1
    )
    assert "nothing.mp4" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_extract_ckplus_root(shared_dir, face_model, tmp_path, capsys):
    import cv2

    london = shared_dir / "data" / "london"
    for seq, code in (("001", 5), ("002", None)):
        frames = tmp_path / "ck" / "cohn-kanade-images" / "S001" / seq
        frames.mkdir(parents=True)
        for i, kind in enumerate(("neutral", "smiling"), start=1):
            img = cv2.imread(str(london / kind / f"00{i}.jpg"))
            cv2.imwrite(str(frames / f"S001_{seq}_{i:08d}.png"), img)
        labels = tmp_path / "ck" / "Emotion" / "S001" / seq
        labels.mkdir(parents=True)
        if code is not None:
            (labels / f"S001_{seq}_00000002_emotion.txt").write_text(f"{code:.7e}\n")
    out = tmp_path / "ck.npz"
    args = ["extract", str(tmp_path / "ck"), "-o", str(out), "--frames", "4"]
    assert main([*args, "--model", str(face_model)]) == 0
    assert "inputs: 1  faces found: 1" in capsys.readouterr().out
    with np.load(out) as data:
        assert data["data"].shape == (1, 4, 2, 468)
        assert list(data["target"]) == ["happiness"] and list(data["subject"]) == ["S001"]
        assert list(data["files"]) == ["S001_001"]


def test_extract_cache_dir_is_reused(shared_dir, face_model, tmp_path, monkeypatch, capsys):
    from igselect.landmarks import FaceMeshExtractor

    image = shared_dir / "media" / "single_face.jpg"
    cache = tmp_path / "cache"
    args = ["extract", str(image), "--model", str(face_model), "--cache-dir", str(cache)]
    assert main([*args, "-o", str(tmp_path / "a.npz")]) == 0
    assert len(list(cache.rglob("*.npz"))) == 1
    calls = []
    original = FaceMeshExtractor.image
    monkeypatch.setattr(
        FaceMeshExtractor, "image", lambda ext, *a, **k: calls.append(1) or original(ext, *a, **k)
    )
    assert main([*args, "-o", str(tmp_path / "b.npz")]) == 0
    assert calls == []  # read from the cache
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        np.testing.assert_array_equal(a["data"], b["data"])
    assert (
        "inputs: 1  faces found: 1  no face: 0  unreadable: 0  errors: 0" in capsys.readouterr().out
    )


def test_extract_folder_counts_unreadable_files(shared_dir, face_model, tmp_path, capsys):
    london = shared_dir / "data" / "london"
    root = tmp_path / "photos"
    for label in ("neutral", "smiling"):
        (root / label).mkdir(parents=True)
        (root / label / "001.jpg").write_bytes((london / label / "001.jpg").read_bytes())
    (root / "smiling" / "bad.jpg").write_bytes(np.random.default_rng(0).bytes(2000))
    out = tmp_path / "faces.npz"
    assert main(["extract", str(root), "-o", str(out), "--model", str(face_model)]) == 0
    captured = capsys.readouterr()
    assert "inputs: 3  faces found: 2  no face: 0  unreadable: 1  errors: 0" in captured.out
    assert f"  unreadable: {root / 'smiling' / 'bad.jpg'}" in captured.out
    assert f"igselect: {root / 'smiling' / 'bad.jpg'}: could not decode" in captured.err
    with np.load(out) as data:
        assert data["data"].shape == (2, 1, 2, 468)
        assert list(data["target"]) == ["neutral", "smiling"]
