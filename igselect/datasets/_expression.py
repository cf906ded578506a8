"""Semi-synthetic CK+-like expression sequences: real face geometry, FACS motion.

:func:`make_expression_sequences` is igselect's built-in stand-in for CK+
(whose licence forbids redistribution). Identities are the real neutral faces
of the Face Research Lab London Set; the motion is synthetic, built from the
EMFACS action-unit prototypes of :mod:`igselect.datasets._facs`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._validation import Interval, IntInterval, Real, validate_params
from ._facs import (
    AU_DESCRIPTIONS,
    EMOTION_PROTOTYPES,
    _canonical,
    _fields,
    _load_london,
    _similarity,
)

__all__ = ["make_expression_sequences", "EMOTIONS"]

#: The six basic emotions of CK+ (contempt dropped), in the order igselect uses.
EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")

_N_REAL = 60
_DRIFT_LENGTH = 0.3
_N_FOURIER = 256

_DESCR = """\
Semi-synthetic expression sequences (igselect.datasets.make_expression_sequences)
---------------------------------------------------------------------------------

SYNTHETIC MOTION ON REAL FACE GEOMETRY. This is not CK+ and not recorded video:
no person made these expressions. It is a CK+-like stand-in generated on the fly.

* {n_samples} sequences = {n_subjects} subjects x {n_emotions} emotions ({emotions}),
  each {n_frames} frames of the 468 MediaPipe face-mesh landmarks, shape
  (n_frames, 2, 468), float32, coordinates normalised to a 300x300 face crop.
  Frame 0 is the neutral face, the last frame the apex of the expression.
* Identities: {n_real} real neutral faces of the Face Research Lab London Set
  (MediaPipe landmarks){pca_note}.
* Motion: EMFACS prototypes (happiness AU6+12, sadness AU1+4+15, surprise
  AU1+2+5+26, fear AU1+2+4+5+7+20+26, anger AU4+5+7+23, disgust AU9+15+16).
  The smile (AU6+AU12) is the mean real smile of the 60 London subjects; the
  other AUs are hand-built displacement fields (see ``au_fields``). Apex
  intensity varies by subject (lognormal, sd 0.25) and sequence (sd 0.15),
  each AU's weight by subject and sequence; onset and apex timing vary.
* Nuisance: in-plane head-pose jitter (rotation, scale, translation, std
  {pose_jitter} in radians / log-scale / face sizes, drifting over the
  sequence), an emotion-independent shape drift at {shape_drift} times the
  real between-photo variability of the London set (0.25: the size of the
  non-expressive change within one real second of video), and i.i.d. landmark
  noise of std {noise} face sizes per frame (the MediaPipe frame-to-frame
  jitter measured on real video).
* Ground truth: ``relevant_landmarks[emotion]`` lists the core landmarks of the
  emotion's action units: those that one of its AUs moves by at least
  {fraction} of that AU's own largest displacement. ``moving_landmarks[emotion]``
  lists those whose summed nominal apex displacement exceeds {threshold} face
  sizes (weak AUs such as AU7 and AU23 barely reach it).
* Groups: ``subject`` (ids ``synth_000`` ...) for subject-grouped CV.

Credit: face geometry from the Face Research Lab London Set, DeBruine, L. &
Jones, B. (2017), figshare, doi:10.6084/m9.figshare.5047666.v5, CC BY 4.0.
"""


def _check_emotions(emotions) -> tuple[str, ...]:
    if isinstance(emotions, str):
        emotions = (emotions,)
    emotions = tuple(emotions)
    unknown = [e for e in emotions if e not in EMOTION_PROTOTYPES]
    if not emotions or unknown or len(set(emotions)) != len(emotions):
        raise ValueError(
            f"emotions must be distinct names among {sorted(EMOTION_PROTOTYPES)}. "
            f"Received: emotions={emotions!r}"
        )
    return emotions


def _identities(n_subjects: int, rng: np.random.RandomState):
    """Neutral faces in crop coordinates, their canonical->crop linear map, and sources."""
    canon = _canonical()
    ref = canon["reference"]
    neutral = _load_london()["neutral"].astype(np.float64)
    maps = [_similarity(ref, x) for x in neutral]  # canonical -> crop, per real face
    order = rng.permutation(_N_REAL)
    n_real = min(n_subjects, _N_REAL)
    faces = [neutral[i] for i in order[:n_real]]
    lin = [maps[i][0] * maps[i][1] for i in order[:n_real]]
    source = [f"london_{i + 1:03d}" for i in order[:n_real]]
    n_new = n_subjects - n_real
    if n_new:
        # New identities: a Gaussian with the sample covariance of the 60 aligned real
        # shapes (rank 59), placed in the crop like a randomly chosen real face.
        resid = (canon["aligned"] - ref).reshape(_N_REAL, -1)
        resid = resid - resid.mean(0)
        coef = rng.standard_normal((n_new, _N_REAL)) / np.sqrt(_N_REAL - 1)
        shapes = canon["aligned"].mean(0) + (coef @ resid).reshape(n_new, 2, -1)
        for shape, j in zip(shapes, rng.randint(_N_REAL, size=n_new), strict=True):
            s, r, t = maps[j]
            faces.append(s * r @ shape + t)
            lin.append(s * r)
            source.append("sampled")
    return np.stack(faces), np.stack(lin), np.asarray(source)


@functools.lru_cache(maxsize=1)
def _drift_basis() -> np.ndarray:
    """Rows whose standard-normal combinations sample the shape drift, (n_rows, 2 * 468).

    Two parts of equal rms: the real between-photo variability of the London
    set (each subject's smile minus the mean smile; combinations of the 60
    centred residuals have exactly their sample covariance), and a smooth
    Gaussian random field (squared-exponential kernel, length 0.3 face sizes,
    256 fixed random Fourier features) that stands for the variability a
    60-face sample cannot resolve.
    """
    canon = _canonical()
    resid = canon["smile"] - canon["smile"].mean(0)
    n = len(resid)
    real = resid.reshape(n, -1) / np.sqrt(n - 1)
    rms = np.sqrt((resid**2).sum(1).mean())  # per landmark, both coordinates
    ref = canon["reference"]
    fourier = np.random.RandomState(0)  # a fixed basis, not the caller's randomness
    omega = fourier.standard_normal((_N_FOURIER, 2)) / _DRIFT_LENGTH
    phase = fourier.uniform(0, 2 * np.pi, _N_FOURIER)
    smooth = np.cos(omega @ ref + phase[:, None]) * (rms / np.sqrt(_N_FOURIER))
    zeros = np.zeros_like(smooth)
    return np.concatenate([real, np.hstack([smooth, zeros]), np.hstack([zeros, smooth])])


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _rotation_scale(theta: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.exp(log_scale)[..., None, None] * np.stack(
        [np.stack([c, -s], -1), np.stack([s, c], -1)], -2
    )


_POSITIVE = Interval(Real, 0, None, closed="neither")
_NON_NEGATIVE = Interval(Real, 0, None, closed="left")


@validate_params(
    {
        "n_subjects": [IntInterval(1)],
        "n_frames": [IntInterval(2)],
        "emotions": [str, "array-like"],
        "intensity": [_POSITIVE],
        "noise": [_NON_NEGATIVE],
        "pose_jitter": [_NON_NEGATIVE],
        "shape_drift": [_NON_NEGATIVE],
        "relevant_fraction": [Interval(Real, 0, 1, closed="right")],
        "moving_threshold": [_POSITIVE],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_expression_sequences(
    n_subjects: int = 60,
    *,
    n_frames: int = 16,
    emotions: Sequence[str] = EMOTIONS,
    intensity: float = 1.0,
    noise: float = 0.002,
    pose_jitter: float = 0.02,
    shape_drift: float = 0.25,
    relevant_fraction: float = 0.5,
    moving_threshold: float = 0.03,
    random_state=None,
) -> Bunch:
    """Generate semi-synthetic CK+-like expression sequences (real faces, synthetic motion).

    One sequence per (subject, emotion) moves a real neutral face (frame 0) to
    the apex of a FACS-prototype expression (last frame). Face geometry comes
    from the 60 real neutral faces of the Face Research Lab London Set; the
    motion is **synthetic**, the sum of action-unit displacement fields
    (:func:`~igselect.datasets._facs.action_unit_fields`) of the emotion's
    EMFACS prototype. The smile is the mean real London smile; the other AUs
    are hand-built from their FACS description.

    Magnitudes are realistic, so the task is not trivial: the smile moves the
    lip corners by 0.13 and the average landmark by 0.04 face sizes (face size:
    RMS distance of the landmarks from their centroid, about 0.3 of the face
    height), as much as two people's neutral faces differ.

    Parameters
    ----------
    n_subjects : int, default=60
        Number of subjects. Up to 60 are distinct real London identities (a
        random subset when fewer); beyond 60, new identities are sampled from
        a Gaussian shape model of the 60 aligned real neutral shapes (their
        mean and sample covariance: a PCA model with all 59 components, so
        new faces are random combinations of the real ones' deviations from
        the mean) and placed in the crop like a random real face.
    n_frames : int, default=16
        Frames per sequence (at least 2).
    emotions : sequence of str, default=EMOTIONS
        Emotions to generate, among "anger", "disgust", "fear", "happiness",
        "sadness", "surprise".
    intensity : float, default=1.0
        Global factor on every apex displacement.
    noise : float, default=0.002
        Standard deviation of the i.i.d. Gaussian noise added to each
        coordinate of each landmark in each frame, in face sizes. The default
        is the MediaPipe jitter measured on ``single_face.mp4`` (72 frames):
        the median over landmarks of the second-difference noise estimate
        ``std(x[t+1] - 2 x[t] + x[t-1]) / sqrt(6)`` after similarity
        alignment is 0.0021 face sizes when every frame is detected on its own
        (IMAGE mode, as for CK+'s separate frames) and 0.0009 with VIDEO-mode
        tracking. At the shipped crop scale 0.002 face sizes is about
        0.0004 of the crop width (0.12 px of 300).
    pose_jitter : float, default=0.02
        Head-pose nuisance per sequence: standard deviation of the in-plane
        rotation (radians, 0.02 is 1.1 degrees), of the log-scale, and of the
        translation (face sizes) at frame 0; each drifts smoothly over the
        sequence by a further random amount of half that size.
    shape_drift : float, default=0.25
        Scale of an emotion-independent shape change that builds up smoothly
        over each sequence: out-of-plane head motion and fitting error that a
        similarity alignment cannot remove. Its basis is half the 59
        principal components of the real between-photo residuals of the
        London set (each subject's smile minus the mean smile) and half a
        smooth Gaussian random field (length 0.3 face sizes) of the same rms.
        At 1.0 the apex drift is 0.063 face sizes rms per landmark (its real
        half alone, 0.047, is the variability between two *separate photos*
        of a person, which also differ in how each person smiles): larger
        than the weaker action units (AU7, AU23: 0.035). A CK+ sequence is
        one person filmed for about a second, so its non-expressive change is
        much smaller: on
        ``single_face.mp4`` (30 fps, similarity-aligned, unit face size) the
        rms per-landmark change between frames 0.3 to 1.3 s apart, while the
        expression is held, is 0.008 face sizes (median; at most 0.017),
        landmark noise included. The default 0.25 (0.016 at the apex) sits at
        the top of that range. A linear SVM on single aligned frames still
        separates neutral from apex happiness imperfectly, as on the real
        London photos (subject-grouped 5-fold accuracy 0.93 with 60 subjects,
        ``random_state=0`` and ``C=0.01``; 0.90 at 1.0, 0.96 at 0; 0.875 on
        the real photos), because identity differences dominate single
        frames.
    relevant_fraction : float, default=0.5
        Defines the ground truth ``relevant_landmarks``: a landmark is relevant
        to an emotion when one of the emotion's action units moves it by at
        least this fraction of that unit's largest displacement (0.5: the
        unit's region at half its maximum). Each AU counts with its own core,
        however weak the AU, and the set does not depend on ``intensity``.
    moving_threshold : float, default=0.03
        Nominal apex displacement (face sizes) of the emotion, all its AUs
        summed, above which a landmark is listed in ``moving_landmarks``; 0.03
        is 15 times the default noise and a fifth of the smile's lip-corner
        movement. This absolute cut favours strong AUs: AU7 (lid tightener)
        and AU23 (lip tightener), which peak at 0.034 and 0.035, keep only 8
        and 9 landmarks above it, so anger's set (65 landmarks) is mostly its
        brows.
    random_state : int, RandomState instance or None, default=None
        Seed of identities, intensities, timing, pose and noise.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With fields

        - ``data``: float32 ndarray (n_subjects * len(emotions), n_frames, 2, 468),
          subject-major (all emotions of ``synth_000`` first).
        - ``target``: ndarray of emotion names.
        - ``subject``: ndarray of subject ids ``"synth_000"`` ... (groups for CV).
        - ``identity``: source of each sequence's face (``"london_017"`` or
          ``"sampled"``).
        - ``apex_gain``: realised intensity factor of each sequence.
        - ``relevant_landmarks``: dict emotion -> sorted indices of the core
          landmarks of its action units (see ``relevant_fraction``; ground truth).
        - ``moving_landmarks``: dict emotion -> sorted indices of the landmarks
          whose nominal apex displacement exceeds ``moving_threshold``.
        - ``peak_displacement``: dict emotion -> (468,) nominal apex displacement
          in face sizes.
        - ``au_fields``: dict AU -> (2, 468) apex displacement in the canonical frame.
        - ``au_descriptions``, ``prototypes``: FACS names, EMFACS AU sets.
        - ``reference_face``: (2, 468) canonical neutral face (unit face size).
        - ``target_names``: the emotions, ``DESCR``: description and credit.

    Notes
    -----
    Per subject, an apex gain (lognormal, sd 0.25), an onset time
    (uniform over 5-35% of the sequence) and a weight for every AU (lognormal,
    sd 0.2) are drawn; per sequence they are perturbed again (sd 0.15, 0.05 and
    0.15). The expression follows a smoothstep from onset to apex (70-100% of
    the sequence) and holds there; frame 0 is always neutral apart from pose
    and noise. The fields are applied in each face's own frame (the similarity
    that maps the canonical face onto it).

    Examples
    --------
    >>> ds = make_expression_sequences(10, random_state=0)
    >>> ds.data.shape, ds.data.dtype
    ((60, 16, 2, 468), dtype('float32'))
    >>> ds.target[:2].tolist(), str(ds.subject[0])
    (['anger', 'disgust'], 'synth_000')
    >>> {61, 291} <= set(ds.relevant_landmarks["happiness"].tolist())  # lip corners
    True
    """
    emotions = _check_emotions(emotions)
    rng = check_random_state(random_state)

    fields = _fields()
    au_names = list(AU_DESCRIPTIONS)
    basis = np.stack([fields[a] for a in au_names])  # (n_au, 2, L)
    member = np.array([[a in EMOTION_PROTOTYPES[e] for a in au_names] for e in emotions], float)

    faces, lin, source = _identities(n_subjects, rng)
    n_emo, n_seq = len(emotions), n_subjects * len(emotions)
    subj = np.repeat(np.arange(n_subjects), n_emo)
    emo = np.tile(np.arange(n_emo), n_subjects)

    # apex gain and AU weights: subject style x sequence variation
    gain = intensity * np.exp(
        0.25 * rng.standard_normal(n_subjects)[subj] + 0.15 * rng.standard_normal(n_seq)
    )
    style = np.exp(0.2 * rng.standard_normal((n_subjects, len(au_names))))[subj]
    weights = member[emo] * style * np.exp(0.15 * rng.standard_normal((n_seq, len(au_names))))
    canon_disp = np.einsum("sa,acl->scl", weights * gain[:, None], basis)
    disp = np.einsum("sij,sjl->sil", lin[subj], canon_disp)  # into each face's frame

    # emotion-independent shape drift (see shape_drift), in each face's frame
    resid = _drift_basis()
    coef = rng.standard_normal((n_seq, len(resid)))
    drift_canon = shape_drift * (coef @ resid).reshape(n_seq, 2, -1)
    drift_disp = np.einsum("sij,sjl->sil", lin[subj], drift_canon)

    # timing: onset -> apex smoothstep, frame 0 always neutral
    onset = np.clip(rng.uniform(0.05, 0.35, n_subjects)[subj] + 0.05 * rng.randn(n_seq), 0, 0.5)
    apex = rng.uniform(0.7, 1.0, n_seq)
    t = np.linspace(0.0, 1.0, n_frames)
    profile = _smoothstep((t - onset[:, None]) / (apex - onset)[:, None])  # (n_seq, P)
    ease = np.broadcast_to(_smoothstep(t), (n_seq, n_frames))
    centre = faces[subj].mean(-1)  # (n_seq, 2)
    size = np.sqrt(np.abs(np.linalg.det(lin)))[subj]  # face size in crop units

    # head pose: similarity about the face centre, drifting smoothly over frames
    def pose(scale, *shape):
        start = scale * rng.standard_normal((n_seq, *shape))
        end = 0.5 * scale * rng.standard_normal((n_seq, *shape))
        return start[:, None] + end[:, None] * ease.reshape(n_seq, n_frames, *([1] * len(shape)))

    a = _rotation_scale(pose(pose_jitter), pose(pose_jitter))  # (n_seq, P, 2, 2)
    shift = pose(pose_jitter, 2) * size[:, None, None] + centre[:, None]  # (n_seq, P, 2)

    # Frame t is A_t (face + profile_t * disp + ease_t * drift) + shift_t: one batched
    # matmul of per-frame coefficients (n_seq, P, 2, 7) with per-sequence rows (n_seq, 7, L).
    rows = np.concatenate(
        [faces[subj] - centre[..., None], disp, drift_disp, np.ones((n_seq, 1, faces.shape[-1]))],
        axis=1,
    )
    terms = np.stack([np.ones_like(profile), profile, ease], -1)  # (n_seq, P, 3)
    coef = (a[..., None, :] * terms[:, :, None, :, None]).reshape(n_seq, n_frames, 2, 6)
    coef = np.concatenate([coef, shift[..., None]], -1)
    X = np.matmul(
        coef.reshape(n_seq, 2 * n_frames, 7).astype(np.float32), rows.astype(np.float32)
    ).reshape(n_seq, n_frames, 2, -1)
    gen = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
    jitter = gen.standard_normal(X.shape, dtype=np.float32)
    X += jitter * (noise * size).astype(np.float32)[:, None, None, None]

    nominal = {e: np.tensordot(member[k], basis, 1) for k, e in enumerate(emotions)}
    peak = {e: np.sqrt((f**2).sum(0)) for e, f in nominal.items()}
    moving = {e: np.flatnonzero(p > moving_threshold) for e, p in peak.items()}
    au_size = np.sqrt((basis**2).sum(1))  # (n_au, L)
    core = au_size >= relevant_fraction * au_size.max(1, keepdims=True)
    relevant = {e: np.flatnonzero(core[member[k] > 0].any(0)) for k, e in enumerate(emotions)}
    n_unique = len(set(source) - {"sampled"})
    descr = _DESCR.format(
        n_samples=n_seq,
        n_subjects=n_subjects,
        n_emotions=n_emo,
        emotions=", ".join(emotions),
        n_frames=n_frames,
        n_real=n_unique,
        pca_note=(
            f", plus {n_subjects - n_unique} identities sampled from a Gaussian "
            "(PCA) shape model of them"
            if n_subjects > n_unique
            else ""
        ),
        pose_jitter=pose_jitter,
        noise=noise,
        shape_drift=shape_drift,
        fraction=relevant_fraction,
        threshold=moving_threshold,
    )
    return Bunch(
        data=X,
        target=np.asarray(emotions)[emo],
        subject=np.array([f"synth_{i:03d}" for i in subj]),
        identity=source[subj],
        apex_gain=gain,
        relevant_landmarks=relevant,
        moving_landmarks=moving,
        peak_displacement=peak,
        au_fields={a: fields[a].copy() for a in au_names},
        au_descriptions=dict(AU_DESCRIPTIONS),
        prototypes={e: EMOTION_PROTOTYPES[e] for e in emotions},
        reference_face=_canonical()["reference"].copy(),
        target_names=np.asarray(emotions),
        DESCR=descr,
    )
