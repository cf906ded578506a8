"""The extraction seam and the landmark cache, with a toy extractor (no MediaPipe).

Also the kill -9 resume tests of ``igselect extract`` and ``load_ckplus``.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _toy_extractor import N_TOY, ToyExtractor, toy_landmarks

import igselect.landmarks
from igselect.cli import main
from igselect.datasets import load_ckplus
from igselect.datasets._cache import (
    extract_cached,
    file_digest,
    remove_stale_temps,
    write_atomic,
)
from igselect.landmarks import UnreadableInputError
from igselect.landmarks._parallel import extract_many

_TOY_SCRIPT = Path(__file__).with_name("_toy_extractor.py")


@pytest.fixture
def files(tmp_path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for i, payload in enumerate([b"face one", b"face two", b"noface", b"bad bytes", b"face 3"]):
        p = folder / f"f{i}.img"
        p.write_bytes(payload)
        paths.append(p)
    return paths


@pytest.fixture(autouse=True)
def _reset_calls():
    ToyExtractor.calls = 0


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_extract_many_takes_a_factory(files, n_jobs):
    res = extract_many(functools.partial(ToyExtractor, offset=1.0), files, n_jobs=n_jobs)
    assert len(res) == 5 and ToyExtractor.calls == 5
    np.testing.assert_array_equal(res[0], toy_landmarks(b"face one") + 1.0)
    np.testing.assert_array_equal(res[4], toy_landmarks(b"face 3") + 1.0)
    assert res[2] is None and isinstance(res[3], UnreadableInputError)
    seq = extract_many(ToyExtractor, [("s", files[:3])], method="sequence")[0]
    assert seq.landmarks.shape == (3, 2, N_TOY) and list(seq.found) == [True, True, False]
    with pytest.raises(ValueError, match="method='frame'"):
        extract_many(ToyExtractor, files, method="frame")
    with pytest.raises(TypeError, match="factory"):
        extract_many("image", files)


def _items(paths):
    return [(p.name, p, [p]) for p in paths]


def test_toy_extractor_through_the_cache(files, tmp_path):
    cache = tmp_path / "cache"
    factory = functools.partial(ToyExtractor, offset=0.5)
    first = extract_cached(factory, _items(files), method="image", cache_dir=cache, root=None)
    assert ToyExtractor.calls == 5
    np.testing.assert_array_equal(first[0]["landmarks"][0], toy_landmarks(b"face one") + 0.5)
    assert not first[2]["found"].any() and np.isnan(first[2]["landmarks"]).all()
    assert isinstance(first[3], UnreadableInputError)  # returned, not cached
    assert len(list(cache.glob("*.npz"))) == 4
    again = extract_cached(factory, _items(files), method="image", cache_dir=cache)
    assert ToyExtractor.calls == 6  # only the unreadable file is tried again
    for a, b in zip(first[:3], again[:3], strict=True):
        np.testing.assert_array_equal(a["landmarks"], b["landmarks"])
    # The extractor's cache_key is in the key: other settings never read these entries.
    other = functools.partial(ToyExtractor, offset=2.0)
    moved = extract_cached(other, _items(files), method="image", cache_dir=cache)
    assert ToyExtractor.calls == 11
    np.testing.assert_array_equal(moved[0]["landmarks"][0], toy_landmarks(b"face one") + 2.0)


def test_cache_keys_on_content_and_relative_path(files, tmp_path):
    cache = tmp_path / "cache"
    root = files[0].parent
    before = extract_cached(ToyExtractor, _items(files[:2]), method="image", cache_dir=cache)
    st = files[0].stat()
    files[0].write_bytes(b"face two")  # same size, same mtime: only the content changed
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns))
    after = extract_cached(ToyExtractor, _items(files[:2]), method="image", cache_dir=cache)
    np.testing.assert_array_equal(after[0]["landmarks"], before[1]["landmarks"])
    assert ToyExtractor.calls == 3
    # The relative path is part of the key: one file seen from two roots has two entries.
    item = [("x", files[1], [files[1]])]
    extract_cached(ToyExtractor, item, method="image", cache_dir=cache, root=root)
    extract_cached(ToyExtractor, item, method="image", cache_dir=cache, root=root.parent)
    assert ToyExtractor.calls == 5
    assert file_digest(files[0]) == file_digest(files[1])


def test_bad_entries_are_misses_and_bad_results_are_named(files, tmp_path):
    cache = tmp_path / "cache"
    good = extract_cached(ToyExtractor, _items(files[:1]), method="image", cache_dir=cache)
    (entry,) = cache.glob("*.npz")
    bad_entries = [
        {"landmarks": np.zeros((2, 2, N_TOY), np.float32), "found": np.ones(2, bool)},
        {"landmarks": np.zeros((1, 2, N_TOY), np.float64), "found": np.ones(1, bool)},
        {"landmarks": np.full((1, 2, N_TOY), np.nan, np.float32), "found": np.ones(1, bool)},
        {"landmarks": np.zeros((1, 2, N_TOY), np.float32), "found": np.zeros(1, bool)},
        {"landmarks": np.zeros((1, 2, 468), np.float32), "found": np.ones(1, bool)},
        {"landmarks": np.zeros((1, 2, N_TOY), np.float32)},
        {**good[0], "extra": np.zeros(1)},
    ]
    for n, arrays in enumerate(bad_entries, start=2):
        np.savez(entry, **arrays)
        again = extract_cached(ToyExtractor, _items(files[:1]), method="image", cache_dir=cache)
        np.testing.assert_array_equal(again[0]["landmarks"], good[0]["landmarks"])
        assert ToyExtractor.calls == n, arrays.keys()
    faulty = functools.partial(ToyExtractor, bad_shape=True, offset=9.0)
    (res,) = extract_cached(faulty, _items(files[:1]), method="image", cache_dir=cache)
    assert isinstance(res, ValueError) and "ToyExtractor" in str(res) and "f0.img" in str(res)
    assert len(list(cache.glob("*.npz"))) == 1  # the faulty result was not cached


def test_sequences_through_the_cache(files, tmp_path):
    cache = tmp_path / "cache"
    items = [("seq", files[:3], files[:3]), ("none", [files[2]] * 2, [files[2]] * 2)]
    res = extract_cached(ToyExtractor, items, method="sequence", cache_dir=cache)
    assert res[0]["landmarks"].shape == (3, 2, N_TOY) and list(res[0]["found"]) == [1, 1, 0]
    assert res[1]["landmarks"].shape == (2, 2, N_TOY) and not res[1]["found"].any()
    again = extract_cached(ToyExtractor, items, method="sequence", cache_dir=cache)
    assert ToyExtractor.calls == 2
    np.testing.assert_array_equal(again[0]["landmarks"], res[0]["landmarks"])
    # An entry with the right frame shape but the wrong number of frames is a miss.
    (entry,) = [p for p in cache.glob("seq-*.npz")]
    np.savez(entry, landmarks=res[0]["landmarks"][:2], found=res[0]["found"][:2])
    extract_cached(ToyExtractor, items, method="sequence", cache_dir=cache)
    assert ToyExtractor.calls == 3


def test_stale_temp_files(tmp_path):
    from igselect.datasets import _cache

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = _cache._HOST
    left = tmp_path / f"a.npz.~{dead.pid}@{host}~x1.tmp"
    live = tmp_path / f"a.npz.~{os.getpid()}@{host}~x2.tmp"
    other_host = tmp_path / f"a.npz.~{dead.pid}@elsewhere~x3.tmp"
    untagged = tmp_path / "a.npz.abc.tmp"
    ancient = tmp_path / "b.npz.abc.tmp"
    for p in (left, live, other_host, untagged, ancient):
        p.write_bytes(b"x")
    os.utime(ancient, (time.time() - 3 * 86400, time.time() - 3 * 86400))
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted([left.name, ancient.name])
    assert live.exists() and other_host.exists() and untagged.exists()


def test_write_atomic_keeps_the_old_file_on_error(tmp_path):
    out = tmp_path / "out.bin"
    out.write_bytes(b"good")

    def half(fh):
        fh.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="out.bin.*No space left"):
        write_atomic(out, half)
    assert out.read_bytes() == b"good" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]
    write_atomic(out, lambda fh: fh.write(b"new"))
    assert out.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["out.bin"]


# -- kill -9, then resume --------------------------------------------------------------------


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds (fail if it ends first)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run wrote no cache entry in time"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _toy_run(args, delay: float, **popen):
    env = {**os.environ, "TOY_DELAY": str(delay)}
    return subprocess.Popen(
        [sys.executable, str(_TOY_SCRIPT), *map(str, args)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **popen,
    )


def _temps(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob("*") if p.name.endswith((".tmp", ".probe"))]


def test_kill_9_during_extract_then_resume(tmp_path, face_model, monkeypatch):
    photos = tmp_path / "photos" / "a"
    photos.mkdir(parents=True)
    for i in range(12):
        (photos / f"p{i:02d}.img.png").write_bytes(b"face %d" % i)
    cache, out, ref = tmp_path / "cache", tmp_path / "out" / "faces.npz", tmp_path / "ref.npz"
    base = ["cli", "extract", tmp_path / "photos", "--model", face_model]
    proc = _toy_run([*base, "-o", out, "--cache-dir", cache], delay=0.3)
    _kill_when(proc, lambda: len(list(cache.rglob("*.npz"))) >= 3)
    n_done = len(list(cache.rglob("*.npz")))
    assert 3 <= n_done < 12 and not out.exists()
    rerun = _toy_run([*base, "-o", out, "--cache-dir", cache], delay=0.0)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    monkeypatch.setattr(igselect.landmarks, "FaceMeshExtractor", ToyExtractor)
    assert main([str(a) for a in base[1:]] + ["-o", str(ref)]) == 0  # uninterrupted, no cache
    with np.load(out) as got, np.load(ref) as want:
        assert got["data"].shape == (12, 1, 2, N_TOY)
        for key in ("data", "files", "target", "subject"):
            np.testing.assert_array_equal(got[key], want[key])
    assert _temps(cache, out.parent, tmp_path) == []


def test_kill_9_during_load_ckplus_then_resume(tmp_path, face_model, monkeypatch):
    root = tmp_path / "ck"
    for s in range(8):
        frames = root / "cohn-kanade-images" / "S001" / f"{s:03d}"
        labels = root / "Emotion" / "S001" / f"{s:03d}"
        frames.mkdir(parents=True)
        labels.mkdir(parents=True)
        for t in range(3):
            (frames / f"S001_{s:03d}_{t:08d}.png").write_bytes(b"face %d %d" % (s, t))
        (labels / f"S001_{s:03d}_00000003_emotion.txt").write_text("5.0\n")
    cache, out = tmp_path / "cache", tmp_path / "out.npz"
    proc = _toy_run(["ckplus", root, cache, out, face_model], delay=0.15)
    _kill_when(proc, lambda: len(list(cache.glob("*.npz"))) >= 2)
    assert 2 <= len(list(cache.glob("*.npz"))) < 8 and not out.exists()
    rerun = _toy_run(["ckplus", root, cache, out, face_model], delay=0.0)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    monkeypatch.setattr(igselect.landmarks, "FaceMeshExtractor", ToyExtractor)
    want = load_ckplus(root, n_frames=3, model_path=face_model)  # uninterrupted, no cache
    with np.load(out) as got:
        assert got["data"].shape == (8, 3, 2, N_TOY)
        np.testing.assert_array_equal(got["data"], want.data)
        np.testing.assert_array_equal(got["sequence"], want.sequence.astype(str))
    assert _temps(cache, tmp_path) == []
