"""
==================================================
The semi-synthetic FACS expression dataset
==================================================

CK+ cannot be redistributed, so igselect ships a CK+-like stand-in:
:func:`~igselect.datasets.make_expression_sequences`. It is **semi-synthetic**:
the faces are real (the 60 neutral faces of the Face Research Lab London Set,
as MediaPipe landmarks), the motion is synthetic. Each sequence moves one face
from neutral to the apex of an emotion, built from the EMFACS action-unit (AU)
prototypes, e.g. happiness = AU6 (cheek raiser) + AU12 (lip corner puller).
The smile is the mean *real* smile of the 60 London subjects; the other AUs are
hand-built displacement fields.

Because the ground truth is known (which landmarks each emotion moves), the
dataset lets us check that an attribution method finds the right landmarks.

Face geometry: Face Research Lab London Set, DeBruine & Jones (2017),
doi:10.6084/m9.figshare.5047666.v5, CC BY 4.0.
"""

# %%
# Generate the data
# -----------------
# One sequence per (subject, emotion): 60 subjects x 6 emotions, 16 frames of
# 468 landmarks, coordinates normalised to a 300x300 face crop.
import matplotlib.pyplot as plt
import numpy as np

from igselect.datasets import make_expression_sequences
from igselect.plotting import plot_landmark_importance, plot_scores_by_region

ds = make_expression_sequences(60, random_state=0)
print(ds.data.shape, ds.data.dtype)
print(ds.DESCR.splitlines()[3])
print({e: len(idx) for e, idx in ds.relevant_landmarks.items()})

# %%
# What each emotion moves
# -----------------------
# Arrows show the nominal apex displacement of every landmark (exaggerated 3x)
# on the canonical face (face size: the RMS distance of the landmarks from
# their centroid); circles mark the ground-truth ``relevant_landmarks``, the
# core of each of the emotion's action units (the landmarks it moves by at
# least half of its largest displacement). ``moving_landmarks`` holds the
# stricter absolute cut (summed apex displacement above 0.03 face sizes).
face = ds.reference_face
fig, axes = plt.subplots(2, 3, figsize=(10, 8), layout="constrained")
for ax, emotion in zip(axes.ravel(), ds.target_names, strict=True):
    field = sum(ds.au_fields[au] for au in ds.prototypes[emotion])
    plot_landmark_importance(ds.relevant_landmarks[emotion], face=face, ax=ax)
    ax.quiver(*face, *field, angles="xy", scale_units="xy", scale=1 / 3, width=0.004,
              color="#c0392b", zorder=5)  # fmt: skip
    ax.set_title(f"{emotion}: AU" + "+".join(au[2:] for au in ds.prototypes[emotion]))
fig.suptitle("Synthetic FACS motion on the mean London face")
plt.show()

# %%
# One subject, six sequences
# --------------------------
# Head pose, scale and position vary from sequence to sequence, as in real
# video, so we first align every frame to the mean face with a Procrustes
# :class:`~igselect.landmarks.aligner.LandmarkAligner` (unit face size). The
# arrows go from the neutral frame to the apex frame (not exaggerated):
# expression moves landmarks by a few percent of the face size, no more than
# the shape differences between two people.
from igselect.landmarks.aligner import LandmarkAligner

aligned = LandmarkAligner().fit_transform(ds.data)
subject = ds.subject == "synth_000"
fig, axes = plt.subplots(1, 6, figsize=(15, 3.4), layout="constrained")
for ax, X, emotion in zip(axes, aligned[subject], ds.target[subject], strict=True):
    plot_landmark_importance(np.array([], dtype=int), face=X[0], ax=ax, title=emotion)
    d = X[-1] - X[0]
    ax.quiver(*X[0], *d, angles="xy", scale_units="xy", scale=1, width=0.005, color="#c0392b")
plt.show()

# %%
# Timing
# ------
# Onset and apex vary by subject and sequence; frame 0 is always neutral. The
# curves show, per frame, the mean displacement from frame 0 of each
# emotion's relevant landmarks (aligned, in face sizes). They do not start
# at exactly 0 because of landmark noise and a slow emotion-independent
# shape drift.
t = np.arange(ds.data.shape[1])
fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
for emotion in ds.target_names:
    X = aligned[ds.target == emotion][..., ds.relevant_landmarks[emotion]]
    move = np.sqrt(((X - X[:, :1]) ** 2).sum(2)).mean(axis=(0, 2))
    ax.plot(t, move, marker="o", ms=3, label=emotion)
ax.set_xlabel("frame")
ax.set_ylabel("mean displacement (face sizes)")
ax.legend(fontsize="small", frameon=False)
plt.show()

# %%
# Ground truth by region
# ----------------------
# The apex displacement of happiness is concentrated on the lips and cheeks;
# the rigid regions (nose, face outline, forehead) get little of it.
plot_scores_by_region(ds.peak_displacement["happiness"], title="happiness")
plt.show()

# %%
# How hard is it?
# ---------------
# A linear SVM on the aligned apex frame, one emotion against the rest, with
# subject-grouped cross-validation. The task is learnable but not trivial.
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

apex = aligned[:, -1].reshape(len(ds.data), -1)
for emotion in ds.target_names:
    clf = make_pipeline(StandardScaler(), LinearSVC(C=0.01, class_weight="balanced"))
    acc = cross_val_score(
        clf, apex, ds.target == emotion, groups=ds.subject, cv=GroupKFold(5),
        scoring="balanced_accuracy",
    )  # fmt: skip
    print(f"{emotion:>10s}: balanced accuracy {acc.mean():.3f} +- {acc.std():.3f}")
