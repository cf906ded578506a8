"""Small synthetic landmark sequences with planted informative landmarks.

:func:`make_landmark_sequences` is the ``make_classification`` of igselect:
a tiny, fully known problem for tests, examples and sanity checks of the
attribution-based selection. It is not meant to look like real faces.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._validation import Interval, IntInterval, Real, validate_params

__all__ = ["make_landmark_sequences"]

_DESCR = """\
Synthetic landmark sequences (igselect.datasets.make_landmark_sequences)
-----------------------------------------------------------------------

SYNTHETIC DATA, generated on the fly; no real faces are involved.

Each sample is a sequence of {n_frames} frames of {n_landmarks} 2-D landmarks,
shape (n_frames, 2, n_landmarks), float32. A fixed base point cloud in
[0.1, 0.9]^2 plays the neutral face; every one of the {n_subjects} subjects
adds its own static offset (std {subject_scale}) to it. Each of the
{n_classes} classes owns {n_informative} planted landmarks (disjoint between
classes), listed in ``informative``. In a sample of class c the planted
landmarks of c move along a fixed class-specific unit direction, with a
displacement ramping linearly from 0 at frame 0 to {amplitude} (times a
per-sample intensity in [0.75, 1.25]) at the last frame. Every landmark of
every frame gets i.i.d. Gaussian noise of std {noise}. The landmarks of the
other classes stay at rest, so only the planted landmarks of a class tell it
apart from the rest.
"""


@validate_params(
    {
        "n_samples": [IntInterval(1)],
        "n_frames": [IntInterval(2)],
        "n_landmarks": [IntInterval(1)],
        "n_classes": [IntInterval(2)],
        "n_informative": [IntInterval(1)],
        "noise": [Interval(Real, 0, None, closed="left")],
        "amplitude": [Interval(Real, 0, None, closed="neither")],
        "n_subjects": [IntInterval(1), None],
        "subject_scale": [Interval(Real, 0, None, closed="left")],
        "class_names": ["array-like", None],
        "shuffle": ["boolean"],
        "return_X_y": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_landmark_sequences(
    n_samples: int = 120,
    n_frames: int = 8,
    n_landmarks: int = 40,
    n_classes: int = 4,
    n_informative: int = 4,
    *,
    noise: float = 0.02,
    amplitude: float = 0.1,
    n_subjects: int | None = None,
    subject_scale: float = 0.02,
    class_names=None,
    shuffle: bool = True,
    return_X_y: bool = False,
    random_state=None,
):
    """Generate labelled landmark sequences with planted informative landmarks.

    Each class owns ``n_informative`` landmarks (disjoint between classes)
    that move, over the frames, in a class-specific direction; all other
    landmarks only carry noise. A classifier for class ``c`` against the
    rest can therefore only rely on the planted landmarks of ``c`` (their
    motion) and of the other classes (their rest), and an attribution
    method should rank the planted landmarks of ``c`` first.

    Parameters
    ----------
    n_samples : int, default=120
        Number of sequences. Classes are balanced (they differ by at most one
        sample).
    n_frames : int, default=8
        Frames per sequence, P (>= 2).
    n_landmarks : int, default=40
        Landmarks per frame, L.
    n_classes : int, default=4
        Number of classes (>= 2).
    n_informative : int, default=4
        Planted landmarks per class; ``n_classes * n_informative`` must not
        exceed ``n_landmarks``.
    noise : float, default=0.02
        Std of the i.i.d. Gaussian noise added to every coordinate of every
        frame (coordinates live in roughly [0, 1]).
    amplitude : float, default=0.1
        Length of the displacement of a planted landmark at the last frame.
    n_subjects : int, optional
        Number of subjects. Default ``max(1, n_samples // n_classes)``.
        Samples are dealt out to subjects so that each subject shows the
        classes in turn (subject ``s`` gets samples ``s, s + n_subjects, ...``
        of the class-ordered list), which keeps grouped folds balanced.
    subject_scale : float, default=0.02
        Std of the static per-subject offset of every landmark.
    class_names : sequence of str, optional
        Names of the classes. Default ``["class_0", "class_1", ...]``.
    shuffle : bool, default=True
        Shuffle the samples. If False, samples are ordered by class.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random here (geometry, planted landmarks, noise).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With fields

        - ``data``: float32 array of shape (n_samples, n_frames, 2, n_landmarks);
        - ``target``: array of shape (n_samples,) of class names;
        - ``subject``: int array of shape (n_samples,), the subject ids for
          grouped cross-validation;
        - ``target_names``: the class names;
        - ``informative``: dict class name -> sorted int array of its planted
          landmark indices;
        - ``directions``: float array (n_classes, n_informative, 2), the unit
          direction of each planted landmark's motion;
        - ``base_shape``: float32 array (2, n_landmarks), the neutral cloud;
        - ``DESCR``: a description.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from igselect.datasets import make_landmark_sequences
    >>> ds = make_landmark_sequences(n_samples=20, random_state=0)
    >>> ds.data.shape, ds.target.shape
    ((20, 8, 2, 40), (20,))
    >>> ds.target_names.tolist()
    ['class_0', 'class_1', 'class_2', 'class_3']
    >>> ds.informative["class_0"].shape  # the planted landmarks of class_0
    (4,)
    """
    if n_classes * n_informative > n_landmarks:
        raise ValueError(
            "n_classes * n_informative must not exceed n_landmarks (planted landmarks are "
            f"disjoint between classes). Received: n_classes={n_classes}, "
            f"n_informative={n_informative}, n_landmarks={n_landmarks}"
        )
    if n_samples < n_classes:
        raise ValueError(
            f"n_samples must be at least n_classes={n_classes}. Received: n_samples={n_samples}"
        )
    if n_subjects is None:
        n_subjects = max(1, n_samples // n_classes)
    if class_names is None:
        class_names = [f"class_{k}" for k in range(n_classes)]
    class_names = np.asarray(list(class_names))
    if class_names.shape != (n_classes,) or np.unique(class_names).size != n_classes:
        raise ValueError(
            f"class_names must hold {n_classes} distinct names. "
            f"Received: class_names={class_names.tolist()!r}"
        )
    rng = check_random_state(random_state)

    base = rng.uniform(0.1, 0.9, size=(2, n_landmarks))
    planted = rng.permutation(n_landmarks)[: n_classes * n_informative]
    planted = np.sort(planted.reshape(n_classes, n_informative), axis=1)
    angles = rng.uniform(0.0, 2.0 * np.pi, size=(n_classes, n_informative))
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=-1)  # (C, I, 2)
    subject_offsets = rng.normal(0.0, subject_scale, size=(n_subjects, 2, n_landmarks))

    labels = np.arange(n_samples) % n_classes  # balanced, class-interleaved
    labels = np.sort(labels, kind="stable")
    subject = np.arange(n_samples) % n_subjects
    ramp = np.linspace(0.0, 1.0, n_frames)  # 0 at the first frame, 1 at the last

    X = np.empty((n_samples, n_frames, 2, n_landmarks))
    X[:] = base + subject_offsets[subject][:, None]
    intensity = rng.uniform(0.75, 1.25, size=n_samples)
    for c in range(n_classes):
        rows = labels == c
        # (n_c, P, 2, I): ramp x intensity x direction of each planted landmark.
        motion = (
            amplitude
            * intensity[rows, None, None, None]
            * ramp[None, :, None, None]
            * directions[c].T[None, None]
        )
        X[np.ix_(rows, np.arange(n_frames), [0, 1], planted[c])] += motion
    X += rng.normal(0.0, noise, size=X.shape)

    target = class_names[labels]
    if shuffle:
        order = rng.permutation(n_samples)
        X, target, subject = X[order], target[order], subject[order]

    data = np.ascontiguousarray(X, dtype=np.float32)
    if return_X_y:
        return data, target
    descr = _DESCR.format(
        n_frames=n_frames,
        n_landmarks=n_landmarks,
        n_subjects=n_subjects,
        subject_scale=subject_scale,
        n_classes=n_classes,
        n_informative=n_informative,
        amplitude=amplitude,
        noise=noise,
    )
    return Bunch(
        data=data,
        target=target,
        subject=subject.astype(np.int64),
        target_names=class_names,
        informative={str(name): planted[c].copy() for c, name in enumerate(class_names)},
        directions=directions,
        base_shape=base.astype(np.float32),
        DESCR=descr,
    )
