"""Locate, download and verify the MediaPipe Face Landmarker model bundle.

The Tasks API needs a ``face_landmarker.task`` file. :func:`resolve_face_model`
looks for it, in order:

1. an explicit ``path`` argument;
2. the ``IGSELECT_FACE_MODEL`` environment variable;
3. the igselect cache directory (``$IGSELECT_CACHE``, else the platform's user
   cache folder, e.g. ``~/.cache/igselect`` on Linux);
4. a download from Google's model storage into that cache, checked against a
   pinned sha256 and written atomically (temporary file + :func:`os.replace`),
   so an interrupted download never leaves a broken file behind.

A file given by path or by ``IGSELECT_FACE_MODEL`` may be another model version,
so it is used; but when its sha256 is not the pinned one, a warning names the
file and both hashes (a tampered or unexpected model moves the landmarks), once
per file per process. The hash is computed once per file per process
(:func:`model_sha256` remembers it by path, size and modification time), so
checking costs nothing on later calls.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path

__all__ = [
    "resolve_face_model",
    "face_model_cache_dir",
    "model_sha256",
    "FACE_MODEL_URL",
    "FACE_MODEL_SHA256",
]

FACE_MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/"
    "face_landmarker/float16/1/face_landmarker.task"
)
FACE_MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
_FILENAME = "face_landmarker.task"
_ENV_MODEL = "IGSELECT_FACE_MODEL"
_ENV_CACHE = "IGSELECT_CACHE"
_CHUNK = 1 << 16


def face_model_cache_dir() -> Path:
    """Return the igselect cache directory (not created).

    ``$IGSELECT_CACHE`` wins; otherwise the platform's user cache folder:
    ``%LOCALAPPDATA%\\igselect`` on Windows, ``~/Library/Caches/igselect`` on
    macOS, ``$XDG_CACHE_HOME/igselect`` or ``~/.cache/igselect`` elsewhere.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> face_model_cache_dir().name  # doctest: +SKIP
    'igselect'
    """
    env = os.environ.get(_ENV_CACHE)
    if env:
        return Path(env).expanduser()
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "igselect"


_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGESTS_LOCK = threading.Lock()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_sha256(path: str | os.PathLike) -> str:
    """Return the sha256 of a model file, computed once per path, size and mtime.

    Parameters
    ----------
    path : str or path-like
        Model file.

    Returns
    -------
    digest : str
        Hex sha256 of the file's bytes.

    Examples
    --------
    >>> from igselect.landmarks._model import model_sha256
    >>> model_sha256("face_landmarker.task") == FACE_MODEL_SHA256  # doctest: +SKIP
    True
    """
    resolved = Path(path).expanduser().resolve()
    st = os.stat(resolved)
    key = (str(resolved), st.st_size, st.st_mtime_ns)
    with _DIGESTS_LOCK:
        digest = _DIGESTS.get(key)
    if digest is None:
        digest = _sha256(resolved)
        with _DIGESTS_LOCK:
            _DIGESTS[key] = digest
    return digest


_WARNED: set[tuple[str, str]] = set()


def _warn_if_unknown(path: Path, source: str) -> None:
    """Warn (once per file and content per process) that a named model is not the pinned one."""
    got = model_sha256(path)
    key = (str(Path(path).resolve()), got)
    if got != FACE_MODEL_SHA256 and key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(
            f"Face Landmarker model {str(path)!r} (from {source}) has sha256 {got}, not the "
            f"pinned {FACE_MODEL_SHA256} of {FACE_MODEL_URL}. It is used as given; if you did "
            "not choose another model version on purpose, the file may be damaged or tampered "
            "with, and its landmarks will differ.",
            UserWarning,
            stacklevel=3,
        )


def _check_bundle(path: Path, source: str) -> Path:
    """Check that a user-supplied file exists and looks like a ``.task`` bundle."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Face Landmarker model not found. Received: {source}={str(path)!r}. "
            f"Pass the path of a 'face_landmarker.task' file, or unset {source} to use "
            f"the cached/downloaded copy ({FACE_MODEL_URL})."
        )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{str(path)!r} is not a MediaPipe .task bundle (not a zip archive: truncated or "
            f"wrong file). Received: {source}={str(path)!r}. Download it again from "
            f"{FACE_MODEL_URL} (sha256 {FACE_MODEL_SHA256})."
        )
    return path


def _download(url: str, dest: Path, sha256: str, verbose: int) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if verbose:
        print(f"igselect: downloading {url} -> {dest}", file=sys.stderr)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    digest = hashlib.sha256()
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (urllib.error.URLError, OSError) as exc:
            raise OSError(
                f"could not download the Face Landmarker model from {url} ({exc}). "
                f"Download it by hand and set {_ENV_MODEL}=/path/to/{_FILENAME}, "
                f"or place it at {dest}."
            ) from exc
        got = digest.hexdigest()
        if got != sha256:
            raise ValueError(
                f"downloaded Face Landmarker model has sha256 {got}, expected {sha256}; "
                f"nothing was written to {dest}. Retry, or download {url} by hand and set "
                f"{_ENV_MODEL}."
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def resolve_face_model(
    path: str | os.PathLike | None = None, *, download: bool = True, verbose: int = 0
) -> Path:
    """Return the path of a usable ``face_landmarker.task`` bundle.

    Parameters
    ----------
    path : str or path-like, default=None
        Explicit model file. Used as is (it must exist and be a ``.task``
        zip bundle). Other model versions work; a file whose sha256 is not the
        pinned :data:`FACE_MODEL_SHA256` gets a :class:`UserWarning` naming it.
    download : bool, default=True
        Whether to download the model into the cache when no other copy is
        found. With ``False`` a missing model raises :class:`FileNotFoundError`.
    verbose : int, default=0
        Print a line to stderr when downloading.

    Returns
    -------
    path : pathlib.Path
        Path of the model file.

    Warns
    -----
    UserWarning
        If ``path`` or ``$IGSELECT_FACE_MODEL`` names a file whose sha256 is not
        the pinned one (the message names the file and both hashes).

    Raises
    ------
    FileNotFoundError
        If ``path`` or ``$IGSELECT_FACE_MODEL`` names a missing file, or no
        model is cached and ``download=False``.
    ValueError
        If a file is not a ``.task`` bundle (truncated, wrong file), or the
        cached/downloaded file does not match the pinned sha256.
    OSError
        If the download fails (no network).

    Examples
    --------
    >>> from igselect.landmarks import resolve_face_model
    >>> resolve_face_model("face_landmarker.task")  # doctest: +SKIP
    PosixPath('face_landmarker.task')
    """
    if path is not None or os.environ.get(_ENV_MODEL):
        source = "model_path" if path is not None else _ENV_MODEL
        given = path if path is not None else os.environ[_ENV_MODEL]
        found = _check_bundle(Path(given).expanduser(), source)
        _warn_if_unknown(found, source)
        return found
    cached = face_model_cache_dir() / _FILENAME
    if cached.is_file():
        got = model_sha256(cached)
        if got != FACE_MODEL_SHA256:
            raise ValueError(
                f"cached Face Landmarker model {cached} has sha256 {got}, expected "
                f"{FACE_MODEL_SHA256} (truncated or corrupted). Delete it to download it "
                f"again, or set {_ENV_MODEL} to a good copy."
            )
        return cached
    if not download:
        raise FileNotFoundError(
            f"no Face Landmarker model: pass model_path=, set {_ENV_MODEL}, or place "
            f"{_FILENAME} in {cached.parent} (download: {FACE_MODEL_URL})."
        )
    return _download(FACE_MODEL_URL, cached, FACE_MODEL_SHA256, verbose)
