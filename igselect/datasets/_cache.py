"""Per-item landmark cache for the dataset loaders.

One ``.npz`` per image or sequence holds its raw per-frame landmarks (NaN where
no face was found) and the ``found`` mask, so the missing-frame policy and the
resampling can change without re-extracting. The file name carries a hash of
everything the landmarks depend on (extractor settings, model file, input
files' names, sizes and modification times), so a changed input or setting
never reads a stale entry. Files are written to a temporary name and moved
into place with :func:`os.replace`: an interrupted run leaves at most a
``*.tmp`` file, which is never read, and the next run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__: list[str] = []

_VERSION = 1
_EXTRACTOR_KEYS = ("crop_size", "grayscale", "margin", "min_face_confidence", "select", "max_faces")


def file_signature(paths: Iterable[Path]) -> list:
    """Name, size and modification time of each file."""
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([Path(p).name, st.st_size, st.st_mtime_ns])
    return out


def model_digest(model_path: Path) -> str:
    """sha256 of the model file (the cache must not mix models)."""
    digest = hashlib.sha256()
    with open(model_path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def settings_key(params: dict, model_sha: str) -> dict:
    """The extraction settings that change landmarks."""
    from igselect.landmarks.extractor import FaceMeshExtractor

    defaults = {
        k: v.default
        for k, v in inspect.signature(FaceMeshExtractor).parameters.items()
        if k in _EXTRACTOR_KEYS
    }
    return {"v": _VERSION, "model": model_sha, **{k: params.get(k, defaults[k]) for k in defaults}}


def entry_path(cache_dir: Path, name: str, settings: dict, signature: list) -> Path:
    """Cache file of one item."""
    blob = json.dumps([settings, signature], sort_keys=True, default=str).encode()
    key = hashlib.sha256(blob).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]
    return Path(cache_dir) / f"{safe}-{key}.npz"


def load_entry(path: Path) -> dict | None:
    """Arrays of a cache file, or None when it is absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            entry = {k: data[k] for k in ("landmarks", "found")}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None  # damaged by something else: recompute
    return entry


def save_entry(path: Path, **arrays) -> None:
    """Write a cache file atomically (temporary file in the same folder + os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def extract_cached(
    kind: str,
    items: list[tuple[str, object, list[Path]]],
    *,
    params: dict,
    cache_dir: str | os.PathLike | None,
    n_jobs: int | None,
    verbose: int,
    desc: str,
) -> list:
    """Raw landmarks of each item, from the cache where possible.

    ``items`` are ``(name, input, files)``: ``input`` is an image path
    (``kind="image"``) or a list of frame paths (``kind="sequence"``), ``files``
    the files whose signature keys the cache. Each result is a dict with
    ``landmarks`` (T, 2, 468) float32, NaN where no face was found, and
    ``found`` (T,) bool; or the exception (other than "no face") that the
    input raised.
    """
    from igselect.landmarks._parallel import extract_many
    from igselect.landmarks.extractor import N_MESH_LANDMARKS, NoFaceError

    results: list = [None] * len(items)
    paths: list[Path | None] = [None] * len(items)
    if cache_dir is not None:
        settings = settings_key(params, model_digest(Path(params["model_path"])))
        for i, (name, _, files) in enumerate(items):
            paths[i] = entry_path(Path(cache_dir), name, settings, file_signature(files))
            results[i] = load_entry(paths[i])
    todo = [i for i, r in enumerate(results) if r is None]

    def to_entry(i: int, res) -> dict | Exception:
        n = len(items[i][1]) if kind == "sequence" else 1
        if isinstance(res, NoFaceError) or res is None:
            entry = {
                "landmarks": np.full((n, 2, N_MESH_LANDMARKS), np.nan, dtype=np.float32),
                "found": np.zeros(n, dtype=bool),
            }
        elif isinstance(res, Exception):
            return res
        elif kind == "image":
            entry = {"landmarks": res[None].astype(np.float32), "found": np.ones(1, dtype=bool)}
        else:
            entry = {"landmarks": res.landmarks.astype(np.float32), "found": res.found}
        if paths[i] is not None:
            save_entry(paths[i], **entry)
        return entry

    def on_result(j: int, res) -> None:
        i = todo[j]
        results[i] = to_entry(i, res)

    if todo:
        if kind == "image":
            inputs = [items[i][1] for i in todo]
            kwargs = {}
        else:
            inputs = [(items[i][0], items[i][1]) for i in todo]
            kwargs = {"missing": "keep_nan"}
        extract_many(
            kind,
            inputs,
            params=params,
            kwargs=kwargs,
            n_jobs=n_jobs,
            verbose=verbose,
            desc=desc,
            on_result=on_result,
        )
    return results
