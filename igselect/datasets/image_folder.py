"""Loader for a folder of photos, one subfolder per label (e.g. the London Set)."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from ._cache import extract_cached, extractor_factory

__all__ = ["load_image_folder"]

# What cv2.imread decodes (its documented formats) ...
_OPENCV_EXTENSIONS = (
    ".bmp", ".dib", ".jpeg", ".jpg", ".jpe", ".jp2", ".png", ".webp", ".avif", ".pbm", ".pgm",
    ".ppm", ".pxm", ".pnm", ".pfm", ".sr", ".ras", ".tiff", ".tif", ".exr", ".hdr", ".pic",
)  # fmt: skip
# ... and Pillow formats without a real decoder here (stubs, video, PostScript).
_PILLOW_SKIP = {"MPEG", "EPS", "PDF", "WMF", "BUFR", "GRIB", "HDF5"}
# Files without an image extension are read when their content is one of these formats
# (strong magic numbers), e.g. the Yale database's "subject01.happy", a GIF.
_SNIFFED_FORMATS = {"GIF", "PNG", "JPEG", "BMP", "TIFF", "WEBP", "PPM"}
_DEFAULT_SUBJECT = r"^([^_\-.]+)"


def _image_extensions() -> tuple[str, ...]:
    from PIL import Image

    Image.init()
    pillow = {
        ext.lower()
        for ext, fmt in Image.registered_extensions().items()
        if fmt in Image.OPEN and fmt not in _PILLOW_SKIP
    }
    return tuple(sorted(set(_OPENCV_EXTENSIONS) | pillow))


#: File extensions read as images: every still-image format of OpenCV or Pillow.
IMAGE_EXTENSIONS = _image_extensions()


def _is_image(path: Path) -> bool:
    """Known image extension, or (no such extension) image content Pillow recognises."""
    if not path.is_file() or path.name.startswith("."):
        return False
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.format in _SNIFFED_FORMATS
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False


def _unreadable_files(items: list, results: list) -> list[str]:
    """Paths of the files that could not be decoded, after a warning that names them.

    Any other failure of the extractor (a bad model, a bug) is raised.
    """
    from igselect.landmarks import UnreadableInputError

    failed = [(str(items[i][1]), r) for i, r in enumerate(results) if isinstance(r, Exception)]
    for _, exc in failed:
        if not isinstance(exc, UnreadableInputError | OSError):
            raise exc
    if failed:
        names = [name for name, _ in failed]
        warnings.warn(
            f"{len(failed)} of {len(items)} images could not be decoded (corrupt or not an "
            f"image) and are left out: {names[:5]}{' ...' if len(names) > 5 else ''}",
            UserWarning,
            stacklevel=4,  # the caller of load_image_folder (through validate_params)
        )
    return [name for name, _ in failed]


@validate_params(
    {
        "root": [str, os.PathLike],
        "subject_pattern": [str],
        "missing": [StrOptions({"raise", "skip"})],
        "cache_dir": [str, os.PathLike, None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "return_X_y": ["boolean"],
        "model_path": [str, os.PathLike, None],
        "extractor": [callable, None],
    },
    prefer_skip_nested_validation=True,
)
def load_image_folder(
    root: str | os.PathLike,
    *,
    subject_pattern: str = _DEFAULT_SUBJECT,
    missing: str = "raise",
    cache_dir: str | os.PathLike | None = None,
    n_jobs: int | None = 1,
    verbose: int = 0,
    return_X_y: bool = False,
    model_path: str | os.PathLike | None = None,
    extractor: Callable | None = None,
):
    """Load landmarks of labelled photos: ``root/<label>/<file>``, one photo per sample.

    Each photo gives one one-frame sample ``(1, 2, 468)`` from
    :meth:`FaceMeshExtractor.image <igselect.landmarks.FaceMeshExtractor.image>`.
    Every still-image format that OpenCV or Pillow reads is accepted
    (:data:`IMAGE_EXTENSIONS`: JPEG, PNG, GIF, TIFF, WebP, PGM ...; the first frame of
    an animation). A file without an image extension is read when its content is a
    GIF, PNG, JPEG, BMP, TIFF, WebP or PPM image, as the Yale face database's
    ``subject01.happy`` (a GIF); other files are ignored.

    Parameters
    ----------
    root : str or path-like
        Folder with one subfolder per label (``neutral/``, ``smiling/`` ...).
    subject_pattern : str, default=r"^([^_\\-.]+)"
        Regular expression searched in each file name; its first group is the
        subject id. The default takes the name up to the first ``_``, ``-`` or
        ``.``: ``001.jpg`` -> ``"001"``, ``S12_happy_3.png`` -> ``"S12"``.
    missing : {"raise", "skip"}, default="raise"
        Photos without a face: raise a :class:`ValueError` that lists them, or
        leave them out (listed in ``skipped``, counted in ``n_noface``).
        Files that cannot be decoded (corrupt, truncated, or not an image despite
        the extension) are always left out, whatever ``missing`` says: they are
        listed in ``unreadable``, counted in ``n_unreadable`` and named in a
        :class:`UserWarning`, and the other photos are extracted.
    cache_dir : str or path-like, default=None
        Folder for one small ``.npz`` per photo, written atomically and reused.
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
        :func:`functools.partial`) that returns a new extractor, called once
        per worker. The extractor is a context manager with an ``image(path)``
        method returning ``(2, L)`` landmarks or ``None`` (no face), and
        ``scheme``, ``n_landmarks`` and ``cache_key()`` (the cache's key: its
        class, settings and model); :class:`~igselect.landmarks.FaceMeshExtractor`
        is the reference. ``None`` means ``FaceMeshExtractor(model_path)``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` float32 (n, 1, 2, L), L = 468 with the default extractor; ``target`` (folder names);
        ``subject``; ``files``; ``target_names``; ``landmark_names``;
        ``n_noface`` and ``skipped`` (files without a face); ``n_unreadable``
        and ``unreadable`` (files that could not be decoded); ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder or holds no images in label subfolders.
    ValueError
        If a file name does not match ``subject_pattern``, a photo has no face
        and ``missing="raise"``, or no photo could be decoded and shows a face.

    Warns
    -----
    UserWarning
        If some files cannot be decoded; they are left out and listed in
        ``unreadable``.

    Examples
    --------
    >>> from igselect.datasets import load_image_folder
    >>> london = load_image_folder("shared/data/london")  # doctest: +SKIP
    >>> london.data.shape, sorted(set(london.target))  # doctest: +SKIP
    ((120, 1, 2, 468), ['neutral', 'smiling'])
    """
    factory = extractor_factory(extractor, model_path)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found. Received: root={str(root)!r}")
    pattern = re.compile(subject_pattern)
    items, labels, subjects = [], [], []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(label_dir.iterdir()):
            if not _is_image(f):
                continue
            match = pattern.search(f.name)
            if match is None or not match.groups():
                raise ValueError(
                    f"file name {f.name!r} does not match subject_pattern={subject_pattern!r} "
                    "(or the pattern has no group)"
                )
            items.append((f"{label_dir.name}_{f.name}", f, [f]))
            labels.append(label_dir.name)
            subjects.append(match.group(1))
    if not items:
        raise FileNotFoundError(
            f"no images (files that OpenCV or Pillow read) in label subfolders of {str(root)!r}; "
            "expected root/<label>/<image>"
        )
    results = extract_cached(
        factory,
        items,
        method="image",
        root=root,
        cache_dir=None if cache_dir is None else Path(cache_dir).expanduser(),
        n_jobs=n_jobs,
        verbose=verbose,
        desc="images",
    )
    unreadable = _unreadable_files(items, results)
    noface = [
        str(items[i][1])
        for i, r in enumerate(results)
        if not isinstance(r, Exception) and not r["found"].all()
    ]
    if noface and missing == "raise":
        raise ValueError(
            f"no face found in {len(noface)} of {len(items)} images: {noface[:5]}"
            f"{' ...' if len(noface) > 5 else ''}. Use missing='skip' to leave them out."
        )
    keep = [i for i, r in enumerate(results) if not isinstance(r, Exception) and r["found"].all()]
    if not keep:
        raise ValueError(
            f"no face found in any of the {len(items)} images under {str(root)!r} "
            f"({len(noface)} without a face, {len(unreadable)} unreadable)"
        )
    X = np.stack([results[i]["landmarks"] for i in keep]).astype(np.float32)
    y = np.array([labels[i] for i in keep], dtype=object)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        subject=np.array([subjects[i] for i in keep], dtype=object),
        files=[str(items[i][1]) for i in keep],
        target_names=sorted(set(y)),
        landmark_names=[f"landmark_{i}" for i in range(X.shape[-1])],
        n_noface=len(noface),
        skipped=noface,
        n_unreadable=len(unreadable),
        unreadable=unreadable,
        DESCR=(
            f"{len(X)} photos from {str(root)!r} as "
            + (
                "MediaPipe face-mesh landmarks, one frame each (n, 1, 2, 468), normalised to a "
                "300x300 grayscale face crop. "
                if extractor is None
                else f"landmarks of {extractor!r}, one frame each (n, 1, 2, {X.shape[-1]}). "
            )
            + f"Labels: {sorted(set(y))}. Photos without a face: {len(noface)}. "
            f"Unreadable files: {len(unreadable)}."
        ),
    )
