"""Per-item landmark cache for the dataset loaders and ``igselect extract``.

One ``.npz`` per image, sequence or video holds its raw per-frame landmarks
(NaN where no face was found) and the ``found`` mask, so the missing-frame
policy and the resampling can change without re-extracting.

**Key.** The file name carries a hash of everything the landmarks depend on:
the extractor's :meth:`cache_key` (its class, settings and model digest), the
item's name, and for each input file its path relative to the dataset root
and a BLAKE2b digest of its *bytes*. Names, sizes and modification times are
not trusted: two images swapped with ``mv`` keep both, yet never read each
other's entry. So a changed input or setting never reads a stale entry.

**Checks.** An entry is used only if it is exactly what this extractor would
write: the keys ``landmarks`` and ``found``, float32 landmarks of shape
``(T, 2, L)`` with ``T`` the item's frame count and ``L`` the extractor's
``n_landmarks``, a boolean ``found`` of shape ``(T,)``, finite landmarks where
``found`` and NaN elsewhere. Anything else (damaged, truncated, written by other
code) is a miss: it is recomputed and overwritten. Fresh results get the same
check before they are written, so a faulty extractor is named, not cached.

**Atomic writes.** Files are written to a temporary name in the same folder
and moved into place with :func:`os.replace`: an interrupted run leaves at most
a ``*.tmp`` file, which is never read. Temporary names carry the writer's
process id and host, so the next run deletes those of dead processes on this
host (and any older than a day), and resumes where the last one stopped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import socket
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

__all__: list[str] = []

_VERSION = 2
_ENTRY_KEYS = frozenset({"landmarks", "found"})
_CHUNK = 1 << 20
_STALE_AGE_S = 24 * 3600
_HOST = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host"
_TMP_TAG = re.compile(r"\.~(\d+)@([^~/]+)~[^/]*\.tmp$")
_UMASK = os.umask(0o022)  # read once (os has no getter); restored at once
os.umask(_UMASK)


# -- content digests ------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def _digest(path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """BLAKE2b-128 of a file's bytes (remembered per path, inode, size and times).

    A file moved over another (``mv``) changes its inode and ctime, so the memo
    never returns the old content's digest.
    """
    st = os.stat(path)
    return _digest(os.fspath(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def item_signature(
    name: str, files: Iterable[str | os.PathLike], root: str | os.PathLike | None
) -> list:
    """The item's name and, per input file, its relative path and content digest."""
    rows = []
    for f in files:
        rel = Path(os.path.relpath(f, root)).as_posix() if root is not None else Path(f).name
        rows.append([rel, file_digest(f)])
    return [name, rows]


def entry_path(cache_dir: Path, name: str, settings: dict, signature: list) -> Path:
    """Cache file of one item."""
    blob = json.dumps([_VERSION, settings, signature], sort_keys=True, default=str).encode()
    key = hashlib.sha256(blob).hexdigest()[:20]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]
    return Path(cache_dir) / f"{safe}-{key}.npz"


# -- entries --------------------------------------------------------------------------------


def check_entry(entry: dict, n_rows: int | None, n_landmarks: int) -> str | None:
    """Why ``entry`` is not what the extractor would write, or None when it is."""
    if set(entry) != _ENTRY_KEYS:
        return f"keys {sorted(entry)}, expected {sorted(_ENTRY_KEYS)}"
    lm, found = entry["landmarks"], entry["found"]
    if not isinstance(lm, np.ndarray) or lm.dtype != np.float32:
        return f"landmarks dtype {getattr(lm, 'dtype', type(lm))}, expected float32"
    if not isinstance(found, np.ndarray) or found.dtype != np.bool_:
        return f"found dtype {getattr(found, 'dtype', type(found))}, expected bool"
    rows = lm.shape[0] if lm.ndim == 3 and n_rows is None else n_rows
    if lm.shape != (rows, 2, n_landmarks) or not rows:
        want = f"({'T' if n_rows is None else n_rows}, 2, {n_landmarks})"
        return f"landmarks shape {lm.shape}, expected {want}"
    if found.shape != (rows,):
        return f"found shape {found.shape}, expected ({rows},)"
    flat = lm.reshape(rows, -1)
    if not np.isfinite(flat[found]).all():
        return "landmarks not finite in frames marked found"
    if not np.isnan(flat[~found]).all():
        return "landmarks not NaN in frames marked not found"
    return None


def load_entry(path: Path, n_rows: int | None, n_landmarks: int) -> dict | None:
    """Arrays of a cache file, or None when absent, unreadable or not a valid entry."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            entry = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None  # damaged by something else: recompute
    if check_entry(entry, n_rows, n_landmarks) is not None:
        return None  # not what this extractor writes: recompute and overwrite
    return entry


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def remove_stale_temps(folder: Path, prefix: str = "") -> list[Path]:
    """Delete ``prefix*.tmp`` files left in ``folder`` by dead writers; return them.

    A temporary file is stale when its writer (process id and host in its name)
    was on this host and is gone, or when it is older than a day.
    """
    removed: list[Path] = []
    try:
        candidates = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    except OSError:
        return removed
    now = time.time()
    for p in candidates:
        if not p.name.startswith(prefix):
            continue
        tag = _TMP_TAG.search(p.name)
        try:
            old = now - p.stat().st_mtime > _STALE_AGE_S
        except OSError:
            continue
        dead = (
            tag is not None
            and os.name == "posix"
            and tag.group(2) == _HOST
            and not _pid_alive(int(tag.group(1)))
        )
        if dead or old:
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def temp_prefix(path: Path) -> str:
    """Prefix of this process's temporary files for ``path`` (see :func:`remove_stale_temps`)."""
    return f"{Path(path).name}.~{os.getpid()}@{_HOST}~"


def write_atomic(path: Path, write: Callable) -> None:
    """Write ``path`` through ``write(binary_file)``, atomically.

    The bytes go to a temporary file in the same folder, named after the
    writer's process, which replaces ``path`` only when complete; on any error
    the temporary file is removed and ``path`` is left as it was. I/O errors
    are raised as :class:`OSError` naming ``path``.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OSError(exc.errno, f"could not write {str(path)!r}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def save_entry(path: Path, **arrays) -> None:
    """Write a cache file atomically (temporary file in the same folder + os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda fh: np.savez(fh, **arrays))


# -- the cached extraction ------------------------------------------------------------------


def _no_face(n: int, n_landmarks: int) -> dict:
    return {
        "landmarks": np.full((n, 2, n_landmarks), np.nan, dtype=np.float32),
        "found": np.zeros(n, dtype=bool),
    }


def extractor_factory(extractor: Callable | None, model_path) -> Callable:
    """The extractor factory of a loader: ``extractor``, or MediaPipe's face mesh.

    ``extractor`` is a zero-argument callable returning a new extractor (a class
    or a :func:`functools.partial`; see :mod:`igselect.landmarks._parallel` for
    what an extractor provides); ``model_path`` configures the default one only.
    """
    if extractor is None:
        from igselect.landmarks import FaceMeshExtractor, resolve_face_model

        return functools.partial(FaceMeshExtractor, resolve_face_model(model_path))
    if not callable(extractor):
        raise TypeError(
            "extractor must be a callable that returns a new landmark extractor (a class or "
            f"a functools.partial). Received: extractor={extractor!r}"
        )
    if model_path is not None:
        raise ValueError(
            "model_path configures the default MediaPipe extractor; pass the model to your "
            f"own extractor instead. Received: extractor={extractor!r}, "
            f"model_path={str(model_path)!r}"
        )
    return extractor


def extract_cached(
    factory: Callable,
    items: list[tuple[str, object, list[Path]]],
    *,
    method: str,
    cache_dir: str | os.PathLike | None,
    root: str | os.PathLike | None = None,
    n_jobs: int | None = 1,
    verbose: int = 0,
    desc: str = "extracting",
) -> list:
    """Raw landmarks of each item, from the cache where possible.

    Parameters
    ----------
    factory : callable
        Returns a new extractor (see :mod:`igselect.landmarks._parallel`).
    items : list of (name, input, files)
        ``input`` is an image path (``method="image"``), a list of frame paths
        (``"sequence"``) or a video path (``"video"``); ``files`` are the input
        files whose contents key the cache.
    method : {"image", "sequence", "video"}
        Extractor method to call (sequences and videos with ``missing="keep_nan"``
        and no resampling: the cache holds every decoded frame).
    cache_dir : path or None
        Cache folder; None extracts everything and caches nothing.
    root : path, default=None
        Dataset root: files are keyed by their path relative to it (by their
        base name when None).
    n_jobs, verbose, desc
        As in :func:`~igselect.landmarks._parallel.extract_many`.

    Returns
    -------
    results : list
        Per item, a dict with ``landmarks`` ``(T, 2, L)`` float32, NaN where no
        face was found, and ``found`` ``(T,)`` bool; or the exception (other
        than "no face") that the input raised.
    """
    from igselect.landmarks._parallel import extract_many
    from igselect.landmarks.extractor import NoFaceError

    if method not in ("image", "sequence", "video"):
        raise ValueError(
            f"method must be 'image', 'sequence' or 'video'. Received: method={method!r}"
        )
    with factory() as probe:
        n_landmarks = int(getattr(probe, "n_landmarks", None) or probe.scheme.n_landmarks)
        settings = probe.cache_key() if cache_dir is not None else None
        label = type(probe).__name__

    def n_rows(i: int) -> int | None:
        if method == "image":
            return 1
        return len(items[i][1]) if method == "sequence" else None  # a video: any length

    results: list = [None] * len(items)
    paths: list[Path | None] = [None] * len(items)
    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        if cache_dir.is_dir():
            remove_stale_temps(cache_dir)
        for i, (name, _, files) in enumerate(items):
            paths[i] = entry_path(cache_dir, name, settings, item_signature(name, files, root))
            results[i] = load_entry(paths[i], n_rows(i), n_landmarks)
    todo = [i for i, r in enumerate(results) if r is None]

    def to_entry(i: int, res) -> dict | Exception:
        if isinstance(res, NoFaceError) or res is None:
            n = n_rows(i) if n_rows(i) is not None else getattr(res, "n_frames", None)
            if not n:
                return res if res is not None else NoFaceError("no face", None)
            entry = _no_face(n, n_landmarks)
        elif isinstance(res, Exception):
            return res
        elif method == "image":
            entry = {
                "landmarks": np.asarray(res, dtype=np.float32)[None],
                "found": np.ones(1, dtype=bool),
            }
        else:
            entry = {
                "landmarks": np.asarray(res.landmarks, dtype=np.float32),
                "found": np.asarray(res.found, dtype=bool),
            }
        why = check_entry(entry, n_rows(i), n_landmarks)
        if why is not None:
            return ValueError(f"{label} returned a bad result for {items[i][0]!r}: {why}")
        if paths[i] is not None:
            save_entry(paths[i], **entry)
        return entry

    def on_result(j: int, res) -> None:
        i = todo[j]
        results[i] = to_entry(i, res)

    if todo:
        if method == "sequence":
            inputs = [(items[i][0], items[i][1]) for i in todo]
        else:
            inputs = [items[i][1] for i in todo]
        extract_many(
            factory,
            inputs,
            method=method,
            kwargs={} if method == "image" else {"missing": "keep_nan"},
            n_jobs=n_jobs,
            verbose=verbose,
            desc=desc,
            on_result=on_result,
        )
    return results
