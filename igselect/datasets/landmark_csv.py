"""Loaders for landmark tracks you already have: OpenFace 2 CSVs and plain wide CSVs.

Both read one CSV per sequence, laid out like :func:`load_image_folder`'s photos::

    root/<label>/<name>.csv        e.g. root/happiness/S005_001.csv

and return the same :class:`~sklearn.utils.Bunch` as :func:`load_ckplus`. A CSV holds one
row per frame and one column per coordinate, ``x_0 .. x_{L-1}`` then ``y_0 .. y_{L-1}``
(any column order; names may carry spaces, as OpenFace writes ``", x_0"``). Frames
without landmarks are NaN until the ``missing`` policy of
:func:`~igselect.landmarks.fill_missing_frames` fills or flags them, and sequences are
then resampled linearly in time to ``n_frames`` (:func:`~igselect.landmarks.resample_frames`),
exactly as for extracted landmarks.

Coordinates are returned as they are in the file, with no normalisation: OpenFace
writes pixels of the video frame, while MediaPipe output is normalised to the face crop.
Put :class:`~igselect.landmarks.LandmarkAligner` first in the pipeline; it removes
position, scale and in-plane rotation, so pixel and normalised data end up comparable.
"""

from __future__ import annotations

import os
import re
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from igselect.landmarks._time import MISSING_POLICIES, fill_missing_frames, resample_frames
from igselect.landmarks.schemes import SCHEMES, LandmarkScheme, resolve_scheme

__all__ = ["load_landmark_csv", "load_openface_csv"]

_DEFAULT_SUBJECT = r"^([^_\-.]+)"
_COORD = re.compile(r"^([xy])_(\d+)$")

_COMMON_CONSTRAINTS = {
    "root": [str, os.PathLike],
    "subject_pattern": [str],
    "n_frames": [Interval(Integral, 1, None, closed="left"), None],
    "missing": [StrOptions(set(MISSING_POLICIES))],
    "return_X_y": ["boolean"],
}


def _read_table(path: Path) -> tuple[list[str], np.ndarray]:
    """Header (stripped names) and the body as a 2-D array of stripped strings."""
    import csv

    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"empty CSV file {str(path)!r}: no header and no rows")
    header = [name.strip() for name in rows[0]]
    if len(rows) == 1:
        raise ValueError(f"CSV file {str(path)!r} has a header but no frames (rows)")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(
                f"ragged CSV file {str(path)!r}: row {line} has {len(row)} fields but the "
                f"header has {len(header)}"
            )
    body = np.char.strip(np.array(rows[1:], dtype=str))
    return header, body


def _column_values(body: np.ndarray, cols: list[int], header, path: Path) -> np.ndarray:
    cells = body[:, cols]
    cells = np.where(cells == "", "nan", cells)
    try:
        return cells.astype(np.float64)
    except ValueError:
        for j, col in enumerate(cols):
            for i, cell in enumerate(cells[:, j]):
                try:
                    float(cell)
                except ValueError:
                    raise ValueError(
                        f"non-numeric value {str(cell)!r} in column {header[col]!r}, row {i + 2} of "
                        f"{str(path)!r}"
                    ) from None
        raise


def _read_landmarks(path: Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``(T, 2, L)`` float64 landmarks of one CSV, plus its header and body."""
    header, body = _read_table(path)
    found: dict[str, dict[int, int]] = {"x": {}, "y": {}}
    for col, name in enumerate(header):
        match = _COORD.match(name)
        if match:
            found[match[1]][int(match[2])] = col
    n = len(found["x"])
    if not n:
        raise ValueError(
            f"no landmark columns in {str(path)!r}: expected x_0 .. x_<L-1> and y_0 .. y_<L-1>. "
            f"Received: columns {header[:8]}{' ...' if len(header) > 8 else ''}"
        )
    if sorted(found["x"]) != list(range(n)) or sorted(found["y"]) != list(range(n)):
        raise ValueError(
            f"the landmark columns of {str(path)!r} must be x_0 .. x_{n - 1} and y_0 .. y_{n - 1}. "
            f"Received: {len(found['x'])} x and {len(found['y'])} y columns"
        )
    x = _column_values(body, [found["x"][i] for i in range(n)], header, path)
    y = _column_values(body, [found["y"][i] for i in range(n)], header, path)
    return np.stack([x, y], axis=1), header, body


def _column(header, body, name: str, path: Path) -> np.ndarray | None:
    if name not in header:
        return None
    return _column_values(body, [header.index(name)], header, path)[:, 0]


def _find_files(root, subject_pattern: str) -> tuple[list[Path], list[str], list[str]]:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"CSV folder not found. Received: root={str(root)!r}")
    pattern = re.compile(subject_pattern)
    files, labels, subjects = [], [], []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(label_dir.glob("*.csv")):
            match = pattern.search(f.name)
            if match is None or not match.groups():
                raise ValueError(
                    f"file name {f.name!r} does not match subject_pattern={subject_pattern!r} "
                    "(or the pattern has no group)"
                )
            files.append(f)
            labels.append(label_dir.name)
            subjects.append(match.group(1))
    if not files:
        raise FileNotFoundError(
            f"no .csv files in label subfolders of {str(root)!r}; expected root/<label>/<name>.csv"
        )
    return files, labels, subjects


def _load(root, *, read, subject_pattern, n_frames, missing, scheme, return_X_y, what):
    """Shared loop: read every file, apply the missing policy, resample, stack."""
    files, labels, subjects = _find_files(root, subject_pattern)
    data, keep, total, lost, skipped = [], [], [], [], []
    n_landmarks = None
    for k, path in enumerate(files):
        seq, bad = read(path)  # (T, 2, L) and a (T,) mask of missing frames
        if n_landmarks is None:
            n_landmarks = seq.shape[-1]
            if scheme is not None or n_landmarks in {s.n_landmarks for s in SCHEMES.values()}:
                scheme = resolve_scheme(scheme, n_landmarks, received=f"{str(path)!r}")
        elif seq.shape[-1] != n_landmarks:
            raise ValueError(
                f"{str(path)!r} has {seq.shape[-1]} landmarks but {str(files[0])!r} has "
                f"{n_landmarks}; every file of one data set must use the same scheme"
            )
        bad = bad | np.isnan(seq).reshape(len(seq), -1).any(axis=1)
        if bad.all():
            skipped.append((str(path), "no valid frame"))
            continue
        seq[bad] = np.nan
        seq = fill_missing_frames(seq, missing, name=str(path))
        if n_frames is not None:
            seq = resample_frames(seq, n_frames)
        elif data and len(seq) != len(data[0]):
            raise ValueError(
                f"{str(path)!r} has {len(seq)} frames but the first sequence has "
                f"{len(data[0])}; set n_frames to resample them to one length"
            )
        data.append(seq)
        keep.append(k)
        total.append(len(bad))
        lost.append(int(bad.sum()))
    if not data:
        raise ValueError(f"no CSV under {str(root)!r} has a valid frame (skipped: {len(skipped)})")
    X = np.stack(data).astype(np.float32)
    y = np.array([labels[k] for k in keep], dtype=object)
    if return_X_y:
        return X, y
    names = list(scheme.names) if scheme is not None else None
    return Bunch(
        data=X,
        target=y,
        subject=np.array([subjects[k] for k in keep], dtype=object),
        sequence=np.array([files[k].stem for k in keep], dtype=object),
        files=[str(files[k]) for k in keep],
        frames_total=np.array(total, dtype=int),
        frames_missing=np.array(lost, dtype=int),
        target_names=sorted(set(y)),
        landmark_names=names or [f"landmark_{i}" for i in range(n_landmarks)],
        scheme=scheme,
        n_skipped_noface=len(skipped),
        skipped=skipped,
        DESCR=(
            f"{len(X)} {what} from {str(root)!r}, each {X.shape[1:]} (frames, x/y, "
            f"{n_landmarks} landmarks{f' of {scheme.name}' if scheme is not None else ''}), "
            "coordinates as in the files (not normalised). "
            f"Labels: {sorted(set(y))}. Missing frames: {sum(lost)} of {sum(total)}; "
            f"sequences without a valid frame: {len(skipped)}."
        ),
    )


@validate_params(
    {**_COMMON_CONSTRAINTS, "scheme": [None, StrOptions(set(SCHEMES)), LandmarkScheme]},
    prefer_skip_nested_validation=True,
)
def load_landmark_csv(
    root: str | os.PathLike,
    *,
    subject_pattern: str = _DEFAULT_SUBJECT,
    n_frames: int | None = 16,
    missing: str = "interpolate",
    scheme: LandmarkScheme | str | None = None,
    return_X_y: bool = False,
):
    """Load landmark sequences from plain wide CSVs, ``root/<label>/<name>.csv``.

    Each file holds one sequence: a header, then one row per frame with the columns
    ``x_0 .. x_{L-1}`` and ``y_0 .. y_{L-1}`` (other columns, e.g. ``frame``, are
    ignored; rows are taken in file order). An empty or ``NaN`` cell makes its frame
    missing. Any landmark scheme works; every file must have the same ``L``.

    Parameters
    ----------
    root : str or path-like
        Folder with one subfolder per label.
    subject_pattern : str, default=r"^([^_\\-.]+)"
        Regular expression searched in each file name; its first group is the subject
        id (as in :func:`load_image_folder`).
    n_frames : int or None, default=16
        Frames per sequence after linear resampling in time; ``None`` keeps the files'
        frames (then every file must have as many).
    missing : {"interpolate", "keep_nan", "raise"}, default="interpolate"
        Policy for missing frames (:func:`~igselect.landmarks.fill_missing_frames`).
        Sequences without any valid frame are skipped and listed in ``skipped``.
    scheme : LandmarkScheme, str or None, default=None
        Landmark scheme of the files; ``None`` infers it from ``L`` where it is
        unambiguous (468, 68, 33, 21) and leaves it ``None`` otherwise.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of the Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` float32 ``(n, n_frames, 2, L)`` in the files' units; ``target``
        (folder names); ``subject``; ``sequence`` (file stems); ``files``;
        ``frames_total`` and ``frames_missing`` per sequence; ``target_names``;
        ``landmark_names`` (the scheme's); ``scheme``; ``n_skipped_noface`` and
        ``skipped``; ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder or holds no CSV in label subfolders.
    ValueError
        If a CSV is empty, ragged, has no ``x_<i>``/``y_<i>`` columns or a non-numeric
        cell (the message names the file), or the files disagree on ``L``.

    Examples
    --------
    >>> from igselect.datasets import load_landmark_csv
    >>> hands = load_landmark_csv("my_gestures/", n_frames=32)  # doctest: +SKIP
    >>> hands.data.shape, hands.scheme.name  # doctest: +SKIP
    ((240, 32, 2, 21), 'mediapipe_hand_21')
    """

    def read(path):
        seq, _, _ = _read_landmarks(path)
        return seq, np.zeros(len(seq), dtype=bool)

    return _load(
        root,
        read=read,
        subject_pattern=subject_pattern,
        n_frames=n_frames,
        missing=missing,
        scheme=scheme,
        return_X_y=return_X_y,
        what="landmark CSV sequences",
    )


@validate_params(
    {**_COMMON_CONSTRAINTS, "min_confidence": [Interval(Real, 0, 1, closed="both")]},
    prefer_skip_nested_validation=True,
)
def load_openface_csv(
    root: str | os.PathLike,
    *,
    subject_pattern: str = _DEFAULT_SUBJECT,
    n_frames: int | None = 16,
    missing: str = "interpolate",
    min_confidence: float = 0.8,
    return_X_y: bool = False,
):
    """Load OpenFace 2 ``FeatureExtraction`` CSVs, ``root/<label>/<name>.csv``.

    OpenFace writes one row per frame: ``frame, face_id, timestamp, confidence,
    success``, gaze, head pose, then the 2-D landmarks ``x_0 .. x_67, y_0 .. y_67`` in
    pixels (the iBUG 68-point scheme, :data:`~igselect.landmarks.IBUG_68`), then 3-D
    landmarks ``X_*``, shape parameters and action units, which are ignored. Column
    names may carry a leading space (``", x_0"``). A frame is missing when ``success``
    is 0 or ``confidence`` is below ``min_confidence``.

    Parameters
    ----------
    root : str or path-like
        Folder with one subfolder per label.
    subject_pattern : str, default=r"^([^_\\-.]+)"
        Regular expression searched in each file name; its first group is the subject.
    n_frames : int or None, default=16
        Frames per sequence after linear resampling in time (``None``: keep them).
    missing : {"interpolate", "keep_nan", "raise"}, default="interpolate"
        Policy for missing frames (:func:`~igselect.landmarks.fill_missing_frames`).
        Sequences without any valid frame are skipped and listed in ``skipped``.
    min_confidence : float in [0, 1], default=0.8
        Frames whose OpenFace ``confidence`` is lower are missing (OpenDBM, for one,
        discards OpenFace frames below 0.8).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of the Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        As :func:`load_landmark_csv`: ``data`` float32 ``(n, n_frames, 2, 68)`` in
        pixels, ``target``, ``subject``, ``sequence``, ``files``, ``frames_total``,
        ``frames_missing``, ``scheme`` (``IBUG_68``), ...

    Raises
    ------
    ValueError
        As :func:`load_landmark_csv`, and if a file tracks several faces
        (``face_id``; FeatureExtraction tracks one).

    Examples
    --------
    >>> from igselect.datasets import load_openface_csv
    >>> of = load_openface_csv("openface_out/", n_frames=16)  # doctest: +SKIP
    >>> of.data.shape, of.scheme.name, int(of.frames_missing.sum())  # doctest: +SKIP
    ((120, 16, 2, 68), 'ibug_68', 37)
    """

    def read(path):
        seq, header, body = _read_landmarks(path)
        bad = np.zeros(len(seq), dtype=bool)
        face_id = _column(header, body, "face_id", path)
        if face_id is not None and np.unique(face_id[~np.isnan(face_id)]).size > 1:
            raise ValueError(
                f"{str(path)!r} tracks several faces (face_id {np.unique(face_id).tolist()}); "
                "igselect reads one face per file, as FeatureExtraction writes"
            )
        success = _column(header, body, "success", path)
        if success is not None:
            bad |= ~(success > 0)
        confidence = _column(header, body, "confidence", path)
        if confidence is not None:
            bad |= ~(confidence >= min_confidence)
        return seq, bad

    return _load(
        root,
        read=read,
        subject_pattern=subject_pattern,
        n_frames=n_frames,
        missing=missing,
        scheme=None,
        return_X_y=return_X_y,
        what="OpenFace 2 sequences",
    )
