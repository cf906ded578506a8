"""
=============================================
Which landmarks tell a smile? Real faces
=============================================

The Face Research Lab London Set has a neutral and a smiling photo of each of
60 people: a real, subtle (closed-mouth) neutral-vs-happiness task. This
example extracts the 468 MediaPipe landmarks of every photo, trains the
aligner -> :class:`~igselect.GlobalIGSelector` -> :class:`~igselect.EmoClassifier`
pipeline on one frame per sample (``P = 1``), compares it with a linear SVM on
the same landmarks, and checks the IG ranking against the landmarks that
really move when these people smile.

It needs the shared data folder (``$IGSELECT_DATA``, default ``../shared``
beside the repository) and the MediaPipe model ``face_landmarker.task``.
"""

# %%
# Landmarks of the photos
# -----------------------
# ``load_image_folder`` reads ``root/<label>/<file>``; the subject id is the
# file name (``001.jpg`` in both folders), so splits can be grouped by person.
# The landmarks are cached in igselect's per-user cache folder (``$IGSELECT_CACHE``,
# else e.g. ``~/.cache/igselect``), keyed on each photo's content.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

from igselect import EmoClassifier, GlobalIGSelector
from igselect.datasets import load_image_folder
from igselect.landmarks import LandmarkAligner, face_model_cache_dir
from igselect.plotting import plot_landmark_importance

try:
    _here = Path(__file__).resolve().parents[3]
except NameError:  # interactive session
    _here = Path.cwd().parent
shared = Path(os.environ.get("IGSELECT_DATA", _here / "shared"))
model = shared / "models" / "face_landmarker.task"
faces = load_image_folder(
    shared / "data" / "london",
    cache_dir=face_model_cache_dir() / "london",
    model_path=model if model.is_file() else None,
)
X, y, groups = faces.data, faces.target, faces.subject
labels, counts = np.unique(y, return_counts=True)
print(X.shape, dict(zip(labels.tolist(), counts.tolist(), strict=True)))

# %%
# Where do real smiles move the face?
# -----------------------------------
# Align every face, then average each person's smiling - neutral displacement.
# The 64 landmarks that move most are our reference "ground truth".
aligned = LandmarkAligner().fit_transform(X)[:, 0]  # (n, 2, 468)
people = np.intersect1d(groups[y == "neutral"], groups[y == "smiling"])
moves = np.mean(
    [
        np.linalg.norm(
            aligned[(groups == p) & (y == "smiling")][0]
            - aligned[(groups == p) & (y == "neutral")][0],
            axis=0,
        )
        for p in people
    ],
    axis=0,
)
movers = np.argsort(-moves)[:64]

# %%
# The IG pipeline and a linear SVM
# --------------------------------
# One subject-grouped split: a quarter of the people are never seen in training.
train, test = next(GroupShuffleSplit(test_size=0.25, random_state=0).split(X, y, groups))
net = dict(n_filters=8, lstm_units=16, dense_units=16, learning_rate=3e-3, epochs=60)
pipe = Pipeline(
    [
        ("align", LandmarkAligner()),
        (
            "select",
            GlobalIGSelector(
                EmoClassifier(**net),
                n_landmarks=64,
                positive_class="smiling",
                n_steps=32,
                random_state=0,
            ),
        ),
        ("clf", EmoClassifier(positive_class="smiling", random_state=0, **net)),
    ]
)
pipe.fit(X[train], y[train])
selector = pipe.named_steps["select"]

flat = FunctionTransformer(lambda Z: Z.reshape(len(Z), -1))
svm = make_pipeline(LandmarkAligner(), flat, StandardScaler(), LinearSVC(C=0.01))
svm.fit(X[train], y[train])
print(f"IG top-64 + EmoClassifier: test accuracy {pipe.score(X[test], y[test]):.2f}")
print(f"linear SVM, all 468 landmarks: test accuracy {svm.score(X[test], y[test]):.2f}")
overlap = np.isin(selector.ranking_[:64], movers).mean()
print(f"IG top-64 that are among the 64 landmarks moving most in real smiles: {overlap:.2f}")

# %%
# Left: the global IG score of every landmark (training photos only). Right:
# the 64 landmarks that move most in real smiles. Both concentrate on the mouth
# corners and the cheeks.
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
plot_landmark_importance(selector.scores_, ax=axes[0], title="global IG score")
plot_landmark_importance(
    movers, ax=axes[1], title="64 largest real smile movements", colorbar=False
)
plt.show()
