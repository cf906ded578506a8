"""Configuration of the CK+ benchmark (see ``ckplus.py``): every knob of a run, the
three modes (``--tiny``, ``--quick``, ``--full``) and the names the options accept.

``Config.key`` hashes the settings a stored run depends on; the run store reuses a
run only under the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

MODELS = ("T-EMO", "R-EMO", "SVM-linear", "SVM-rbf")
#: Downstream classifiers of the selector shoot-out.
SHOOTOUT_CLASSIFIERS = ("SVM-linear", "T-EMO")


class BenchmarkInputError(Exception):
    """Bad input data or options; ``main`` prints it and returns exit status 2."""


GRID_KEYS = {"F": "n_filters", "Q": "lstm_units", "R": "dense_units"}


@dataclass
class Config:
    """Every knob of one benchmark mode (``--tiny``, ``--quick``, ``--full``)."""

    mode: str
    landmark_counts: tuple[int, ...]
    seeds: int
    n_subjects: int  # built-in data only
    n_frames: int  # built-in data and CK+
    epochs: int
    patience: int
    learning_rate: float
    batch_size: int
    grid: dict = field(default_factory=dict)  # {"F": [...], "Q": [...], "R": [...]}
    selector_net: dict = field(default_factory=dict)  # F, Q, R of the full-landmark T-EMO
    svm_C: tuple[float, ...] = (0.1, 1.0, 10.0)
    inner_folds: int = 3
    test_size: float = 0.15
    n_steps: int = 32
    ig_batch_size: int | None = 512
    # IG baselines of the selector: "onset" (each sequence's own frame 0 repeated, for
    # onset-to-apex sequences: CK+ and the built-in data) or the paper's "typical".
    baselines: str = "onset"
    # What the classifiers (T-EMO, R-EMO, SVMs) see after selection: "motion", each kept
    # landmark's displacement from the sequence's onset frame (OnsetDisplacement), or
    # "coordinates", the aligned positions themselves (the paper's input). The selector's
    # network always sees aligned coordinates, as in the paper.
    features: str = "motion"
    ensemble_landmarks: int = 64
    ensemble_seeds: int = 1  # the 6-class ensemble is fitted for the first seeds only
    dropout: float = 0.2
    # Share of each net's training data held out for early stopping (the paper's 10%).
    # 0 trains for exactly ``epochs`` epochs: on a few dozen subjects the held-out
    # part is a handful of samples and early stopping follows its noise.
    validation_fraction: float = 0.1
    # One-vs-rest sets are imbalanced (1 positive emotion : 5 others, as the paper
    # notes); unweighted nets on small data then sit at the majority rate.
    class_weight: str | None = "balanced"
    # RBF SVM: gamma grid as multiples of sklearn's "scale" (1 / n_features on
    # standardised features), searched jointly with C.
    svm_gamma: tuple[float, ...] = (1.0,)
    # Timing probe: T-EMO and R-EMO epochs on one fixed synthetic batch at each L
    # (net size of ``selector_net``), where compute, not per-call overhead, dominates.
    timing_probe: dict = field(
        default_factory=lambda: {"n_samples": 256, "n_frames": 16, "epochs": 4}
    )
    # The selector shoot-out: every selector ranks once per (emotion, seed) on the
    # training split; each classifier is fitted on its top L for every L below.
    shootout_counts: tuple[int, ...] = (468, 64, 16, 8, 4, 2)
    shootout_selectors: tuple[str, ...] = ()
    shootout_classifiers: tuple[str, ...] = SHOOTOUT_CLASSIFIERS
    shootout_svm_C: float = 0.1

    def key(self, source: str) -> str:
        """Hash of the settings a run depends on, and of the data source.

        Cached runs are reused only on a match. The number of seeds, the list of
        L values and the ensemble seeds are left out: each run is stored per
        (emotion, L, model, seed), so adding seeds or L values reuses the others.
        """
        settings = asdict(self)
        for name in (
            "mode",
            "seeds",
            "landmark_counts",
            "ensemble_seeds",
            "shootout_counts",
            "shootout_selectors",
            "shootout_classifiers",
        ):
            settings.pop(name)
        blob = json.dumps({"config": settings, "source": source}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]


#: Attribution selectors of the shoot-out (name -> GlobalAttributionSelector's attribution);
#: all share the full-landmark network of the (emotion, seed) through the joblib cache.
ATTRIBUTION_SELECTORS = {
    "IG": "integrated_gradients",
    "GradientSHAP": "gradient_shap",
    "Grad-CAM": "grad_cam",
    "occlusion": "occlusion",
    "saliency": "saliency",
    "InputXGradient": "input_x_gradient",
}
#: Cheap rankings of the shoot-out (igselect.rankers): no network.
CHEAP_SELECTORS = ("F-test", "motion", "SVM-weights", "random")
SELECTORS = (*ATTRIBUTION_SELECTORS, *CHEAP_SELECTORS)


PAPER_LANDMARKS = (468, 234, 128, 64, 32, 16)
QUICK_SELECTORS = (
    "IG",
    "GradientSHAP",
    "Grad-CAM",
    "occlusion",
    "F-test",
    "motion",
    "SVM-weights",
    "random",
)

CONFIGS = {
    "tiny": Config(
        mode="tiny",
        landmark_counts=(468, 16),
        seeds=1,
        n_subjects=10,
        n_frames=4,
        epochs=2,
        patience=2,
        learning_rate=3e-3,
        batch_size=16,
        grid={"F": [2], "Q": [4], "R": [4]},
        selector_net={"F": 2, "Q": 4, "R": 4},
        svm_C=(1.0,),
        inner_folds=2,
        test_size=0.3,
        n_steps=8,
        ensemble_landmarks=16,
        timing_probe={"n_samples": 32, "n_frames": 4, "epochs": 2},
        shootout_counts=(468, 16, 2),
        shootout_selectors=("IG", "F-test", "random"),
    ),
    "quick": Config(
        mode="quick",
        landmark_counts=(468, 64, 16),
        seeds=3,  # 5 test subjects (30 sequences) per seed: one seed alone is too noisy
        n_subjects=30,
        n_frames=4,
        epochs=50,
        patience=4,  # unused: no validation split (validation_fraction=0)
        learning_rate=1e-3,
        batch_size=16,
        validation_fraction=0.0,
        grid={"F": [8], "Q": [16], "R": [16]},
        selector_net={"F": 8, "Q": 16, "R": 16},
        svm_C=(0.01, 0.1, 1.0),
        svm_gamma=(0.1, 1.0, 10.0),
        inner_folds=2,
        test_size=0.15,
        n_steps=32,
        ensemble_landmarks=64,
        shootout_selectors=QUICK_SELECTORS,
    ),
    "full": Config(
        mode="full",
        landmark_counts=PAPER_LANDMARKS,
        seeds=10,
        n_subjects=100,
        n_frames=16,
        epochs=200,
        patience=15,
        learning_rate=1e-4,  # the paper's Adam learning rate
        batch_size=16,
        grid={"F": [16, 25, 39, 50], "Q": [31, 51, 68], "R": [34, 54, 74]},
        selector_net={"F": 50, "Q": 58, "R": 63},
        svm_C=(0.001, 0.01, 0.1, 1.0, 10.0),
        svm_gamma=(0.1, 1.0, 10.0),
        inner_folds=3,
        test_size=0.15,
        n_steps=64,
        ensemble_landmarks=64,
        ensemble_seeds=10,
        shootout_selectors=QUICK_SELECTORS,
    ),
}
