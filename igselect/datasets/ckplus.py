"""Loader for the Extended Cohn-Kanade (CK+) dataset, from its own folder layout.

CK+ cannot be redistributed; you need your own copy. The loader reads the
documented layout::

    ROOT/cohn-kanade-images/S005/001/S005_001_00000001.png ...
    ROOT/Emotion/S005/001/S005_001_00000011_emotion.txt

Only the peak frame of a labelled sequence has an emotion file, holding one
float code: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy,
6 sadness, 7 surprise. Each labelled sequence's frames are run through
:class:`~igselect.landmarks.FaceMeshExtractor` as one tracked sequence and
resampled to ``n_frames`` frames. A sequence with a frame that cannot be
decoded (a corrupt or truncated PNG) is left out with a warning, not the
whole dataset.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._cache import extract_cached, extractor_factory

__all__ = ["load_ckplus", "CKPLUS_EMOTIONS"]

CKPLUS_EMOTIONS = {
    1: "anger",
    2: "contempt",
    3: "disgust",
    4: "fear",
    5: "happiness",
    6: "sadness",
    7: "surprise",
}
_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def _find_dirs(root: Path) -> tuple[Path, Path]:
    if not root.is_dir():
        raise FileNotFoundError(f"CK+ root is not a folder. Received: root={str(root)!r}")
    for base in (root, root / "extended-cohn-kanade-images", root / "CK+"):
        images = base / "cohn-kanade-images"
        if images.is_dir():
            break
    else:
        raise FileNotFoundError(
            f"no 'cohn-kanade-images' folder under {str(root)!r}: root must be the CK+ folder "
            "that holds cohn-kanade-images/ and Emotion/"
        )
    for emotion in (root / "Emotion", root / "Emotion_labels" / "Emotion", base / "Emotion"):
        if emotion.is_dir():
            return images, emotion
    raise FileNotFoundError(
        f"no 'Emotion' folder under {str(root)!r} (CK+ emotion labels: "
        "Emotion/S005/001/S005_001_00000011_emotion.txt)"
    )


def _read_code(path: Path) -> int:
    try:
        text = path.read_bytes().decode("ascii").split()
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"malformed CK+ emotion file {str(path)!r}: byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start} is not text (expected one number, e.g. '5.0000000e+00')"
        ) from None
    try:
        code = float(text[0])
    except (IndexError, ValueError):
        raise ValueError(f"malformed CK+ emotion file {str(path)!r}: {text[:3]!r}") from None
    if code != int(code) or not 0 <= code <= 7:
        raise ValueError(f"CK+ emotion code must be an integer 0-7 in {str(path)!r}. Got {code}")
    return int(code)


def _unreadable_sequences(items: list, results: list) -> dict[str, str]:
    """Sequence name -> decoding error of each sequence with a frame that cannot be decoded.

    Warns once, naming them. Any other failure of the extractor (a bad model, a
    bad result, a bug) is raised as a :class:`ValueError`, as before.
    """
    from igselect.landmarks import UnreadableInputError

    failed = [(items[i][0], r) for i, r in enumerate(results) if isinstance(r, Exception)]
    other = [
        (name, exc) for name, exc in failed if not isinstance(exc, UnreadableInputError | OSError)
    ]
    if other:
        raise ValueError(
            f"{len(other)} CK+ sequence(s) could not be read, e.g. {other[0][0]}: {other[0][1]}"
        ) from other[0][1]
    if failed:
        names = [name for name, _ in failed]
        warnings.warn(
            f"{len(failed)} of {len(items)} CK+ sequences have a frame that could not be decoded "
            f"(corrupt or not an image) and are left out: {names[:5]}"
            f"{' ...' if len(names) > 5 else ''}; e.g. {failed[0][0]}: {failed[0][1]}",
            UserWarning,
            stacklevel=3,  # the caller of load_ckplus
        )
    return {name: str(exc) for name, exc in failed}


def _describe(
    n: int, n_frames: int, counts: dict, skips: dict, mirror: bool, n_landmarks: int, extractor
) -> str:
    source = "MediaPipe face-mesh" if extractor is None else f"{extractor!r}"
    lines = [
        f"CK+ (Extended Cohn-Kanade) facial expression sequences as {source} landmarks.",
        "",
        f"{n} samples{' (half of them mirrored copies)' if mirror else ''}, each "
        f"({n_frames}, 2, {n_landmarks}): x and y of {n_landmarks} landmarks in {n_frames} "
        "frames resampled linearly in time from onset (neutral) to peak"
        + (", normalised to a 300x300 grayscale face crop." if extractor is None else "."),
        "Classes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ".",
        "Skipped sequences: " + ", ".join(f"{k} {v}" for k, v in skips.items()) + ".",
        "",
        "Lucey et al. (2010), 'The Extended Cohn-Kanade Dataset (CK+)', CVPR Workshops. The data "
        "must be obtained from its owners; it is not distributed with igselect.",
    ]
    return "\n".join(lines)


def load_ckplus(
    root: str | os.PathLike,
    *,
    n_frames: int = 16,
    include_contempt: bool = False,
    mirror: bool = False,
    missing: str = "interpolate",
    cache_dir: str | os.PathLike | None = None,
    n_jobs: int | None = 1,
    verbose: int = 0,
    return_X_y: bool = False,
    model_path: str | os.PathLike | None = None,
    extractor: Callable | None = None,
):
    """Load CK+ labelled sequences as landmark sequences.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``cohn-kanade-images/`` and ``Emotion/``.
    n_frames : int, default=16
        Frames per sequence after linear resampling in time.
    include_contempt : bool, default=False
        Keep contempt sequences (the paper drops them).
    mirror : bool, default=False
        Append a mirrored copy of every sample
        (:func:`igselect.landmarks.mesh.mirror`: x flipped, left/right
        landmarks swapped), with the same label and subject.
    missing : {"interpolate", "keep_nan", "raise"}, default="interpolate"
        Policy for frames without a face (see
        :func:`~igselect.landmarks.fill_missing_frames`). Sequences with no face
        at all are skipped and counted in ``n_skipped_noface``. Sequences with a
        frame that cannot be decoded (corrupt, truncated, or not an image despite
        the extension) are always left out, whatever ``missing`` says: they are
        listed in ``unreadable``, counted in ``n_unreadable`` and named in a
        :class:`UserWarning`, and the other sequences are loaded.
    cache_dir : str or path-like, default=None
        Folder for one ``.npz`` per sequence (raw per-frame landmarks), written
        atomically; a second call, or a run resumed after an interruption, reads
        them instead of extracting again.
    n_jobs : int, default=1
        Parallel extraction workers (joblib; threads unless a backend is set with
        ``joblib.parallel_config``); each opens its own extractor.
    verbose : int, default=0
        Show a progress bar.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of the Bunch.
    model_path : str or path-like, default=None
        Face Landmarker bundle (see :func:`~igselect.landmarks.resolve_face_model`).
    extractor : callable, default=None
        Another landmark extractor: a zero-argument callable (a class or a
        :func:`functools.partial`) that returns a new extractor, with a
        ``sequence(paths, missing="keep_nan")`` method returning a
        :class:`~igselect.landmarks.VideoLandmarks`-like result (see
        :func:`~igselect.datasets.load_image_folder` for the rest of the
        protocol). ``None`` means ``FaceMeshExtractor(model_path)``. With
        ``mirror=True`` the landmark scheme is inferred from L (468, 68, 33
        or 21 landmarks).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` float32 (n, n_frames, 2, L), L = 468 with the default extractor; ``target`` emotion names;
        ``subject`` (``"S005"``) and ``sequence`` (``"S005_001"``) ids;
        ``mirrored`` bool; ``frames_total`` and ``frames_missing`` per sample;
        ``target_names``; ``landmark_names``; ``n_skipped_unlabelled``,
        ``n_skipped_contempt``, ``n_skipped_noface``; ``n_unreadable`` and
        ``unreadable`` (sequences with a frame that could not be decoded);
        ``skipped`` (list of ``(sequence, reason)`` for every sequence left out,
        the reason being ``"no emotion label"``, ``"contempt"``, ``"no face
        found"`` or the decoding error); ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a CK+ folder (names what is missing).
    ValueError
        If an emotion file is malformed, the extractor fails on a sequence for
        another reason than an undecodable frame, or no labelled, readable
        sequence with a face remains.

    Warns
    -----
    UserWarning
        If some sequences have a frame that cannot be decoded; they are left out
        and listed in ``unreadable``.

    Examples
    --------
    >>> from igselect.datasets import load_ckplus
    >>> ck = load_ckplus("~/data/CK+", cache_dir="~/.cache/igselect/ckplus")  # doctest: +SKIP
    >>> ck.data.shape, sorted(set(ck.target))  # doctest: +SKIP
    ((327, 16, 2, 468), ['anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise'])
    """
    from igselect.landmarks import fill_missing_frames, resample_frames

    factory = extractor_factory(extractor, model_path)
    images_dir, emotion_dir = _find_dirs(Path(root).expanduser())
    resample_frames(np.zeros((1, 2, 1)), n_frames)  # validates n_frames before any work
    items, labels, skipped = [], [], []
    skips = {"unlabelled": 0, "contempt": 0, "noface": 0, "unreadable": 0}
    for subj_dir in sorted(p for p in images_dir.iterdir() if p.is_dir()):
        for seq_dir in sorted(p for p in subj_dir.iterdir() if p.is_dir()):
            name = f"{subj_dir.name}_{seq_dir.name}"
            frames = sorted(
                p for p in seq_dir.iterdir() if p.suffix.lower() in _IMAGE_EXT and p.is_file()
            )
            label_files = sorted((emotion_dir / subj_dir.name / seq_dir.name).glob("*_emotion.txt"))
            if not frames:
                continue
            code = _read_code(label_files[-1]) if label_files else 0
            if code == 0:
                skips["unlabelled"] += 1
                skipped.append((name, "no emotion label"))
                continue
            if code == 2 and not include_contempt:
                skips["contempt"] += 1
                skipped.append((name, "contempt"))
                continue
            items.append((name, frames, frames))
            labels.append((subj_dir.name, CKPLUS_EMOTIONS[code]))
    if not items and not skipped:
        raise FileNotFoundError(f"no image sequences under {str(images_dir)!r}")

    results = extract_cached(
        factory,
        items,
        method="sequence",
        root=images_dir,
        cache_dir=None if cache_dir is None else Path(cache_dir).expanduser(),
        n_jobs=n_jobs,
        verbose=verbose,
        desc="CK+ sequences",
    )
    unreadable = _unreadable_sequences(items, results)
    data, target, subject, sequence, total, lost = [], [], [], [], [], []
    for (name, _, _), (subj, emotion), res in zip(items, labels, results, strict=True):
        if name in unreadable:
            skips["unreadable"] += 1
            skipped.append((name, unreadable[name]))
            continue
        found = res["found"]
        if not found.any():
            skips["noface"] += 1
            skipped.append((name, "no face found"))
            continue
        seq = fill_missing_frames(res["landmarks"], missing, name=name)
        data.append(resample_frames(seq, n_frames))
        target.append(emotion)
        subject.append(subj)
        sequence.append(name)
        total.append(found.size)
        lost.append(int((~found).sum()))
    if not data:
        raise ValueError(
            f"no labelled CK+ sequence with a face under {str(root)!r} (skipped: "
            f"{skips['unlabelled']} unlabelled, {skips['contempt']} contempt, "
            f"{skips['noface']} without a face, {skips['unreadable']} unreadable)"
        )
    X = np.stack(data).astype(np.float32)
    n_orig = len(X)
    mirrored = np.zeros(n_orig, dtype=bool)
    if mirror:
        from igselect.landmarks import mirror as mirror_landmarks

        X = np.concatenate([X, np.asarray(mirror_landmarks(X), dtype=np.float32)])
        mirrored = np.r_[mirrored, np.ones(n_orig, dtype=bool)]
        target, subject, sequence = target * 2, subject * 2, sequence * 2
        total, lost = total * 2, lost * 2
    y = np.array(target, dtype=object)
    if return_X_y:
        return X, y
    counts = {c: int((y == c).sum()) for c in np.unique(y)}
    return Bunch(
        data=X,
        target=y,
        subject=np.array(subject, dtype=object),
        sequence=np.array(sequence, dtype=object),
        mirrored=mirrored,
        frames_total=np.array(total, dtype=int),
        frames_missing=np.array(lost, dtype=int),
        target_names=sorted(counts),
        landmark_names=[f"landmark_{i}" for i in range(X.shape[-1])],
        n_skipped_unlabelled=skips["unlabelled"],
        n_skipped_contempt=skips["contempt"],
        n_skipped_noface=skips["noface"],
        skipped=skipped,
        n_unreadable=len(unreadable),
        unreadable=list(unreadable),
        DESCR=_describe(len(X), n_frames, counts, skips, mirror, X.shape[-1], extractor),
    )
