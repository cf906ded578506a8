"""Run a landmark extractor over many inputs, optionally in parallel (joblib).

The extraction seam: :func:`extract_many` (and the loaders' cache on top of it)
takes an extractor *factory*, a picklable callable that returns a fresh
extractor, e.g. ``functools.partial(FaceMeshExtractor, model_path)``. Nothing
here names a particular extractor, so another one (dlib, OpenFace, a body-pose
model) plugs in without an edit of shared code. An extractor is

- a context manager (``with factory() as ext:`` closes its resources);
- ``scheme``: its landmark scheme (a
  :class:`~igselect.landmarks.schemes.LandmarkScheme` or its name), and
  ``n_landmarks``: the number of landmarks per frame (optional when ``scheme``
  is a scheme object, which knows it);
- ``cache_key()``: a JSON-serialisable dict of everything its output depends
  on (settings, a digest of its model file);
- the methods the loaders call: ``image(path)`` -> ``(2, L)`` array or None
  when no face is found, ``sequence(frames, name=..., missing=...)`` and
  ``video(path, n_frames=..., missing=...)`` -> a result with ``landmarks``
  ``(T, 2, L)`` and ``found`` ``(T,)``, raising :class:`NoFaceError` when no
  frame has a face.

Each joblib task takes a chunk of inputs and opens its own extractor (a
MediaPipe graph is neither picklable nor shareable between workers), so the
~0.1 s start-up of a landmarker is paid once per chunk, not per file.

Workers are threads by default: MediaPipe runs each landmarker's graph in
native code through ctypes, which releases the GIL, so threads run inference
in parallel without the cost of process workers (each of which must import
MediaPipe and OpenCV: tens of seconds on a loaded machine). Choose processes
with ``joblib.parallel_config(backend="loky")``. Failures on one input
(no face, undecodable file) are returned in its place, not raised, so one bad
file does not lose a long run; the caller decides what to do with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["extract_many", "EXTRACTOR_METHODS"]

#: Extractor methods :func:`extract_many` can call; ``"sequence"`` items are ``(name, frames)``.
EXTRACTOR_METHODS = ("image", "video", "sequence")


def _call(ext, method: str, item, kwargs: dict):
    if method == "sequence":
        name, frames = item
        return ext.sequence(frames, name=name, **kwargs)
    return getattr(ext, method)(item, **kwargs)


def _safe_call(ext, method: str, item, kwargs: dict):
    try:
        return _call(ext, method, item, kwargs)
    except (ValueError, OSError) as exc:  # NoFaceError, undecodable or missing file
        return exc


def _run_chunk(factory: Callable, method: str, items: Sequence, kwargs: dict) -> list:
    with factory() as ext:
        return [_safe_call(ext, method, item, kwargs) for item in items]


def extract_many(
    factory: Callable[[], Any],
    items: Sequence,
    *,
    method: str = "image",
    kwargs: dict | None = None,
    n_jobs: int | None = 1,
    verbose: int = 0,
    desc: str = "extracting",
    on_result: Callable[[int, Any], None] | None = None,
) -> list:
    """Extract landmarks from every item, in order.

    Parameters
    ----------
    factory : callable
        Returns a new extractor (see the module docstring), e.g.
        ``functools.partial(FaceMeshExtractor, model_path)``; one is opened per
        worker chunk. It must pickle for process workers (a ``partial`` of a
        class does; resolve model paths before, so workers do not each look).
    items : sequence
        Inputs (paths, arrays, or ``(name, frames)`` pairs for ``"sequence"``).
    method : {"image", "video", "sequence"}, default="image"
        Extractor method to call on each item.
    kwargs : dict, default=None
        Keyword arguments of the method (e.g. ``n_frames``, ``missing``).
    n_jobs : int, default=1
        Number of joblib workers (``-1``: all cores; ``1``: in this process).
        Threads unless a joblib backend is set with ``joblib.parallel_config``.
    verbose : int, default=0
        Show a tqdm progress bar.
    desc : str
        Progress bar label.
    on_result : callable, default=None
        ``on_result(index, result)`` is called as each result arrives (used to
        write per-item caches as soon as possible).

    Returns
    -------
    results : list
        One entry per item: the method's return value, or the exception
        (:class:`ValueError` or :class:`OSError`) it raised.

    Examples
    --------
    >>> from functools import partial
    >>> from igselect.landmarks import FaceMeshExtractor
    >>> factory = partial(FaceMeshExtractor, "face_landmarker.task")
    >>> extract_many(factory, ["a.jpg", "b.jpg"], n_jobs=2)  # doctest: +SKIP
    [array(...), None]
    """
    from joblib import Parallel, delayed, effective_n_jobs
    from tqdm.auto import tqdm

    if method not in EXTRACTOR_METHODS:
        raise ValueError(f"method must be one of {EXTRACTOR_METHODS}. Received: method={method!r}")
    if not callable(factory):
        raise TypeError(
            "factory must be a callable returning an extractor, e.g. "
            f"functools.partial(FaceMeshExtractor, model_path). Received: factory={factory!r}"
        )
    kwargs = dict(kwargs or {})
    n = len(items)
    if n == 0:
        return []
    workers = min(effective_n_jobs(n_jobs), n)
    bar = tqdm(total=n, desc=desc, disable=not verbose, leave=False)
    results: list = []

    def emit(result) -> None:
        results.append(result)
        if on_result is not None:
            on_result(len(results) - 1, result)
        bar.update(1)

    try:
        if workers <= 1:
            with factory() as ext:
                for item in items:
                    emit(_safe_call(ext, method, item, kwargs))
            return results
        size = max(1, math.ceil(n / (workers * 4)))
        chunks = [items[i : i + size] for i in range(0, n, size)]
        stream = Parallel(n_jobs=workers, prefer="threads", return_as="generator")(
            delayed(_run_chunk)(factory, method, chunk, kwargs) for chunk in chunks
        )
        for chunk_results in stream:
            for result in chunk_results:
                emit(result)
        return results
    finally:
        bar.close()
