"""
==========================================================
Per-emotion landmark selection and a multi-class ensemble
==========================================================

This example walks through the method of Di Luzio, Rosato & Panella (2024) on
the built-in **semi-synthetic** FACS dataset (real neutral faces, synthetic
action-unit motion; CK+ itself cannot be redistributed):

1. one binary pipeline per emotion: Procrustes alignment, a
   :class:`~igselect.GlobalIGSelector` that trains a T-EMO network on all 468
   landmarks and ranks them by dataset-level, multi-baseline Integrated
   Gradients, and a small :class:`~igselect.EmoClassifier` on the motion of the
   top landmarks (their displacement from the sequence's neutral first frame,
   :class:`~igselect.landmarks.OnsetDisplacement`);
2. the landmark ranking drawn on the face (the paper's Fig. 3) and the
   probability along one IG path (Fig. 2);
3. an :class:`~igselect.EmotionEnsemble` that merges the binary pipelines,
   each with its own landmark subset, into one multi-class classifier.

The networks are tiny so that the example runs in about a minute on a laptop
CPU; ``benchmarks/ckplus.py`` runs the full protocol.
"""

# %%
# Data
# ----
# Three emotions, 20 subjects, 4 frames per sequence. ``relevant_landmarks``
# is the ground truth: the core landmarks of the emotion's action units.
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from joblib import Memory
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from igselect import EmoClassifier, EmotionEnsemble, GlobalIGSelector
from igselect.datasets import make_expression_sequences
from igselect.evaluation import (
    BinarizedClassifier,
    FlattenLandmarks,
    evaluate_selection,
    mean_se,
    precision_at_k,
)
from igselect.landmarks import LandmarkAligner, OnsetDisplacement
from igselect.plotting import plot_ig_path, plot_landmark_importance, plot_selection_grid
from igselect.rankers import FTestLandmarkSelector, MotionLandmarkSelector, RandomLandmarkSelector

emotions = ["happiness", "sadness", "surprise"]
data = make_expression_sequences(n_subjects=20, n_frames=4, emotions=emotions, random_state=0)
X, y, groups = data.data, data.target, data.subject
train, test = next(GroupShuffleSplit(test_size=0.25, random_state=0).split(X, y, groups))
print(X.shape, "test subjects:", len(set(groups[test].tolist())), "of", len(set(groups.tolist())))

# %%
# One binary pipeline per emotion
# -------------------------------
# The selector's ``memory`` caches the full-landmark training and the IG
# scores, so the ensemble below reuses them instead of computing them again.
memory = Memory(tempfile.mkdtemp(prefix="igselect_example_"), verbose=0)
net = dict(n_filters=4, lstm_units=8, dense_units=8, learning_rate=3e-3, epochs=25, patience=5)


def emotion_pipeline(emotion, n_landmarks=64):
    selector = GlobalIGSelector(
        EmoClassifier(**net),
        n_landmarks=n_landmarks,
        positive_class=emotion,
        n_steps=32,
        memory=memory,
        random_state=0,
    )
    clf = EmoClassifier(positive_class=emotion, random_state=0, **net)
    return Pipeline(
        [
            ("align", LandmarkAligner()),
            ("select", selector),
            ("motion", OnsetDisplacement()),
            ("clf", clf),
        ]
    )


surprise = emotion_pipeline("surprise").fit(X[train], y[train])
print(f"surprise vs rest, top-64 landmarks: test accuracy {surprise.score(X[test], y[test]):.2f}")

# %%
# Which landmarks did IG pick?
# ----------------------------
# The scores (left) and the top-64 landmarks (right). On this dataset we know
# the truth, so we can count how many of the top 64 really move in surprise.
selector = surprise.named_steps["select"]
top64 = selector.ranking_[:64]
precision = precision_at_k(selector.ranking_, data.relevant_landmarks["surprise"], 64)
print(f"top-64 precision vs the ground-truth landmarks: {precision:.2f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 4))
plot_landmark_importance(selector.scores_, ax=axes[0], title="surprise: global IG score")
plot_landmark_importance(top64, ax=axes[1], title="top 64", colorbar=False)
plt.show()

# %%
# The paper's Fig. 3: one face per number of kept landmarks.
fig = plot_selection_grid(selector, sizes=(468, 128, 64, 16), ncols=4, title="surprise")
fig  # noqa: B018  (displays in Jupyter; plot_selection_grid returns a Figure)

# %%
# The paper's Fig. 2: the probability of "surprise" along the straight path from
# a typical sadness sample (the baseline) to a surprise sample. IG integrates the
# gradient of this curve.
Xa = surprise.named_steps["align"].transform(X[train])
x = Xa[np.flatnonzero(y[train] == "surprise")[0]]
labels = list(selector.baseline_labels_)
baseline = selector.baselines_[labels.index("sadness")]
ax = plot_ig_path(selector.estimator_, x, baseline)
ax.set_title("surprise sample, sadness baseline")
plt.show()

# %%
# A multi-class classifier from the binary pipelines
# --------------------------------------------------
# Each pipeline keeps its own landmark subset; the ensemble predicts the emotion
# whose binary network is most confident.
ensemble = EmotionEnsemble([(e, emotion_pipeline(e)) for e in emotions])
ensemble.fit(X[train], y[train])
print(f"{len(emotions)}-class accuracy: {ensemble.score(X[test], y[test]):.2f}")
ConfusionMatrixDisplay.from_predictions(y[test], ensemble.predict(X[test]), labels=emotions)
plt.show()

# %%
# Is IG worth it? A small shoot-out
# ---------------------------------
# :func:`igselect.evaluation.evaluate_selection` fits every selector once on the
# training split, then a linear SVM on its top L landmarks for every L. The
# cheap rankings of :mod:`igselect.rankers` need no network; IG reuses the
# network cached above. ``majority_rate`` is what always answering "not
# surprise" scores: an accuracy is only informative above it.
align = LandmarkAligner()
svm = make_pipeline(
    FlattenLandmarks(),
    StandardScaler(),
    BinarizedClassifier(LinearSVC(C=0.1, class_weight="balanced"), positive_class="surprise"),
)
records = evaluate_selection(
    X,
    y,
    selectors={
        "IG": Pipeline([("align", align), ("select", emotion_pipeline("surprise")[1])]),
        "F-test": Pipeline(
            [("align", align), ("select", FTestLandmarkSelector(positive_class="surprise"))]
        ),
        "motion": Pipeline(
            [("align", align), ("select", MotionLandmarkSelector(positive_class="surprise"))]
        ),
        "random": Pipeline([("align", align), ("select", RandomLandmarkSelector(random_state=0))]),
    },
    classifiers={"linear SVM": svm},
    landmark_counts=[64, 8, 2],
    cv=[(train, test)],
    positive_class="surprise",
    features="motion",
)
print("majority rate of the test split:", f"{records[0]['majority_rate']:.2f}")
for name in ("IG", "F-test", "motion", "random"):
    accs = [f"L={r['L']}: {r['accuracy']:.2f}" for r in records if r["selector"] == name]
    print(
        f"{name:>7}",
        ", ".join(accs),
        f"(ranked in {mean_se([r['rank_time_s'] for r in records if r['selector'] == name])[0]:.2f} s)",
    )
