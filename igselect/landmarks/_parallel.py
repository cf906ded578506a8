"""Run a :class:`FaceMeshExtractor` over many inputs, optionally in parallel (joblib).

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

__all__ = ["extract_many"]


def _call(ext, kind: str, item, kwargs: dict):
    if kind == "image":
        return ext.image(item)
    if kind == "video":
        return ext.video(item, **kwargs)
    if kind == "sequence":
        name, frames = item
        return ext.sequence(frames, name=name, **kwargs)
    raise ValueError(f"kind must be 'image', 'video' or 'sequence'. Received: kind={kind!r}")


def _safe_call(ext, kind: str, item, kwargs: dict):
    try:
        return _call(ext, kind, item, kwargs)
    except (ValueError, OSError) as exc:  # NoFaceError, undecodable or missing file
        return exc


def _run_chunk(kind: str, items: Sequence, params: dict, kwargs: dict) -> list:
    from .extractor import FaceMeshExtractor

    with FaceMeshExtractor(**params) as ext:
        return [_safe_call(ext, kind, item, kwargs) for item in items]


def extract_many(
    kind: str,
    items: Sequence,
    *,
    params: dict | None = None,
    kwargs: dict | None = None,
    n_jobs: int | None = 1,
    verbose: int = 0,
    desc: str = "extracting",
    on_result: Callable[[int, Any], None] | None = None,
) -> list:
    """Extract landmarks from every item, in order.

    Parameters
    ----------
    kind : {"image", "video", "sequence"}
        Extractor method to call. ``"sequence"`` items are ``(name, frames)``.
    items : sequence
        Inputs (paths, arrays, or ``(name, frames)`` pairs).
    params : dict, default=None
        Keyword arguments of :class:`FaceMeshExtractor` (``model_path`` should
        already be resolved so workers do not each look for it).
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
        One entry per item: the method's return value, or the exception it raised.
    """
    from joblib import Parallel, delayed, effective_n_jobs
    from tqdm.auto import tqdm

    params = dict(params or {})
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
            from .extractor import FaceMeshExtractor

            with FaceMeshExtractor(**params) as ext:
                for item in items:
                    emit(_safe_call(ext, kind, item, kwargs))
            return results
        size = max(1, math.ceil(n / (workers * 4)))
        chunks = [items[i : i + size] for i in range(0, n, size)]
        stream = Parallel(n_jobs=workers, prefer="threads", return_as="generator")(
            delayed(_run_chunk)(kind, chunk, params, kwargs) for chunk in chunks
        )
        for chunk_results in stream:
            for result in chunk_results:
                emit(result)
        return results
    finally:
        bar.close()
