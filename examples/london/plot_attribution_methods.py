"""
===========================================================
Six attribution methods on real smiles, and one explanation
===========================================================

The Face Research Lab London Set has a neutral and a smiling photo of each of
60 people. This example trains one aligner -> EmoClassifier network on all of
them, ranks the 468 landmarks with every built-in attribution method of
:class:`~igselect.GlobalAttributionSelector` (the selector's memory trains the
network once; only the attribution changes), and compares each method's top 64
with the 64 landmarks that really move most between each person's neutral and
smiling photo. It then saves a fitted pipeline and draws an explanation of one
smiling photo and of one video frame with ``igselect explain``.

It uses the landmarks shipped with igselect (``london_landmarks.npz``, extracted
from the photos with :class:`~igselect.landmarks.FaceMeshExtractor`); the
pictures need the shared data folder (``$IGSELECT_DATA``, default ``../shared``
beside the repository) and ``face_landmarker.task`` (``$IGSELECT_FACE_MODEL``).
Run with ``--seeds 0 1 2`` to average the table over networks.
"""

# %%
# Data and the landmarks that move in real smiles
# -----------------------------------------------
import argparse
import os
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.pipeline import Pipeline

from igselect import EmoClassifier, GlobalAttributionSelector
from igselect._global_attribution import ATTRIBUTIONS
from igselect.attribution import bias_report
from igselect.landmarks import LandmarkAligner
from igselect.landmarks.mesh import REGIONS

parser = argparse.ArgumentParser()
parser.add_argument("--seeds", type=int, nargs="+", default=[0])
parser.add_argument("--images", type=Path, default=None, help="folder for the two overlays")
args, _ = parser.parse_known_args()

london = np.load(
    Path(__file__).resolve().parents[2] / "igselect/datasets/data/london_landmarks.npz"
)
X = np.concatenate([london["neutral"], london["smiling"]])[:, None].astype(np.float32)
y = np.array(["neutral"] * 60 + ["smiling"] * 60)
aligned = LandmarkAligner().fit_transform(X)
moves = np.linalg.norm(aligned[60:, 0] - aligned[:60, 0], axis=1).mean(axis=0)  # (468,)
movers = np.argsort(-moves)[:64]
lips_cheeks = np.concatenate([REGIONS["lips"], REGIONS["left_cheek"], REGIONS["right_cheek"]])
print(
    f"lips+cheeks hold {lips_cheeks.size}/468 landmarks ({lips_cheeks.size / 468:.2f}) and "
    f"{np.isin(movers, lips_cheeks).mean():.2f} of the 64 movers; a random 64 overlaps the "
    f"movers by {64 / 468:.2f} on average"
)

# %%
# Every method on the same network
# --------------------------------
net = dict(n_filters=8, lstm_units=16, dense_units=16, learning_rate=3e-3, epochs=60)
# Every method with its default baselines ("auto"), and the three configurations that were the
# default before: input x gradient against zeros, occlusion against one typical sample per class,
# and Grad-CAM with its channel weights averaged over the conv's two coordinate rows too.
configs = {m: (m, "auto", None) for m in ATTRIBUTIONS}
configs["input_x_gradient (zeros, old default)"] = ("input_x_gradient", "zeros", None)
configs["occlusion (typical, old default)"] = ("occlusion", "typical", None)
configs["grad_cam (frames and rows pooled, old)"] = (
    "grad_cam",
    "auto",
    {"pooling": "frames_and_rows"},
)
rows = {name: [] for name in configs}
memory = joblib.Memory(tempfile.mkdtemp(prefix="igselect_london_"), verbose=0)
train_seconds = []


def no_attribution(estimator, X, y, positive_class):
    """Only to train (and cache) the network before timing the methods."""
    return np.zeros(X.shape[3])


for seed in args.seeds:
    start = time.perf_counter()
    GlobalAttributionSelector(
        EmoClassifier(**net),
        attribution=no_attribution,
        positive_class="smiling",
        memory=memory,
        random_state=seed,
    ).fit(aligned, y)
    train_seconds.append(time.perf_counter() - start)
    for name, (method, baselines, params) in configs.items():
        selector = GlobalAttributionSelector(
            EmoClassifier(**net),
            attribution=method,
            attribution_params=params,
            baselines=baselines,
            n_landmarks=64,
            positive_class="smiling",
            n_steps=32,
            memory=memory,
            random_state=seed,
        )
        start = time.perf_counter()
        selector.fit(aligned, y)
        seconds = time.perf_counter() - start
        top = selector.ranking_[:64]
        report = bias_report(selector)
        mass = sum(report.region_shares[r] for r in ("lips", "left_cheek", "right_cheek"))
        rows[name].append(
            [
                np.isin(top, lips_cheeks).mean(),
                mass,
                np.isin(top, movers).mean(),
                report.rigid_ratio,
                seconds,
            ]
        )

print(
    f"\n{len(args.seeds)} network(s), seeds {args.seeds}: mean (sd over seeds); training "
    f"{np.mean(train_seconds):.1f} s per network, then attribution time per method"
)
print(
    "| method | top-64 in lips+cheeks | attribution mass on lips+cheeks | "
    "top-64 overlap with the 64 movers | rigid share / uniform | seconds |"
)
print("|---|---|---|---|---|---|")
for method, values in rows.items():
    m, sd = np.mean(values, axis=0), np.std(values, axis=0)
    cells = " | ".join(f"{a:.2f} ({b:.2f})" for a, b in zip(m[:4], sd[:4], strict=True))
    print(f"| {method} | {cells} | {m[4]:.1f} |")

# %%
# One explanation, drawn on the face
# ----------------------------------
# A fitted pipeline saved with joblib is all ``igselect explain`` needs.
if args.images is not None:
    from igselect.cli import main

    pipe = Pipeline(
        [
            ("align", LandmarkAligner()),
            (
                "select",
                GlobalAttributionSelector(
                    EmoClassifier(**net),
                    n_landmarks=64,
                    positive_class="smiling",
                    n_steps=32,
                    random_state=0,
                ),
            ),
            ("clf", EmoClassifier(positive_class="smiling", random_state=0, **net)),
        ]
    ).fit(X, y)
    saved = Path(tempfile.mkdtemp()) / "london_pipeline.joblib"
    joblib.dump(pipe, saved)
    shared = Path(os.environ.get("IGSELECT_DATA", Path(__file__).resolve().parents[3] / "shared"))
    args.images.mkdir(parents=True, exist_ok=True)
    photo = shared / "data/london/smiling" / f"{london['subject'][0]}.jpg"
    main(
        [
            "explain",
            str(photo),
            "--model",
            str(saved),
            "-o",
            str(args.images / "explain_london.png"),
        ]
    )
    video = shared / "media/single_face.mp4"
    main(
        ["explain", str(video), "--model", str(saved), "-o", str(args.images / "explain_video.png")]
    )
