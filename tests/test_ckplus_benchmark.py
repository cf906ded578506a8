"""End-to-end tests of the main job, benchmarks/ckplus.py (tiny configuration)."""

from __future__ import annotations

import csv
import importlib.util
import shutil
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from igselect.evaluation import precision_at_k

ROOT = Path(__file__).resolve().parents[1]
EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")


def _load(name: str, filename: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ckplus = _load("igselect_bench_ckplus", "ckplus.py")
_ckplus_config = sys.modules["_ckplus_config"]  # ckplus.py put benchmarks/ on sys.path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One --tiny run (2 emotions x L {468, 16} x 4 models x 1 seed)."""
    out = tmp_path_factory.mktemp("tiny")
    rc = ckplus.main(["--tiny", "--out", str(out), "--no-progress"])
    return out, rc


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_tiny_writes_report_csv_and_figures(tiny_run):
    out, rc = tiny_run
    assert rc == 0
    rows = _rows(out / "results.csv")
    assert len(rows) == 2 * 2 * 4  # emotions x L x models, one seed
    assert {r["model"] for r in rows} == {"T-EMO", "R-EMO", "SVM-linear", "SVM-rbf"}
    assert {r["L"] for r in rows} == {"468", "16"}
    assert {r["source"] for r in rows} == {"synthetic"}
    for r in rows:
        assert 0.0 <= float(r["accuracy"]) <= 1.0
        if r["model"].endswith("EMO"):
            assert int(r["epochs"]) >= 1
            assert float(r["epoch_time_s"]) > 0
            assert float(r["first_epoch_s"]) > 0
            assert int(r["F"]) == 2
        if r["model"] == "SVM-rbf":
            assert float(r["gamma_scale"]) > 0
    report = (out / "report.md").read_text()
    assert "SYNTHETIC" in report
    for needle in (
        "Table 6 analogue",
        "Table 7 analogue",
        "Linear SVM",
        "RBF SVM",
        "time per epoch",
        "R-EMO / T-EMO time per epoch at L=468",
        "T-EMO time per epoch, L=16 / L=468",
        "Timing probe on a fixed synthetic batch",
        "R-EMO / T-EMO probe time per epoch at L=468",
        "EmotionEnsemble",
        "rigid-region share",
        "top-64 precision",
        "Classifier input: motion.",
    ):
        assert needle in report, needle
    for fig in ("fig3_happiness.png", "fig3_surprise.png", "fig2_ig_path.png", "fig_shootout.png"):
        assert (out / fig).stat().st_size > 1000, fig
    for r in rows:  # chance levels next to every accuracy
        assert 0.5 <= float(r["majority_rate"]) <= 1.0
        assert r["balanced_accuracy"] != ""
    for needle in ("majority", "balanced accuracy", "Selector shoot-out", "Who wins", "Kuncheva"):
        assert needle in report, needle
    shoot = _rows(out / "shootout.csv")
    # 2 emotions x 3 selectors (IG, F-test, random) x L {468, 16, 2} x (linear SVM, T-EMO)
    assert len(shoot) == 2 * 3 * 3 * 2
    assert {r["classifier"] for r in shoot} == {"SVM-linear", "T-EMO"}
    main = {(r["emotion"], r["L"]): r for r in rows if r["model"] == "T-EMO"}
    for r in shoot:
        if r["classifier"] != "T-EMO":
            continue
        # at L=468 every selector keeps every landmark: the main table's T-EMO run itself;
        # IG's T-EMO at L=16 is the main table's pipeline too, but trained side by side
        # with the other selectors' networks (stacked weights): the same accuracy
        if r["L"] == "468" or (r["selector"], r["L"]) == ("IG", "16"):
            m = main[r["emotion"], r["L"]]
            assert (r["accuracy"], r["roc_auc"]) == (m["accuracy"], m["roc_auc"]), r
    assert {r["selector"] for r in shoot} == {"IG", "F-test", "random"}
    assert {r["L"] for r in shoot} == {"468", "16", "2"}
    for r in shoot:
        assert 0.0 <= float(r["accuracy"]) <= 1.0 and float(r["precision_at_64"]) >= 0
    # the shoot-out's IG at L=468 and 16 is the paper table's selection: same ranking
    ig = {r["emotion"]: r for r in shoot if (r["selector"], r["L"]) == ("IG", "16")}
    assert set(ig) == {"happiness", "surprise"}


def test_tiny_resume_reuses_cached_runs(tiny_run, capsys):
    out, _ = tiny_run
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    # 16 runs + 2 selections + 6 shoot-out records + 1 ensemble + the timing probe + Fig. 2
    assert len(stamps) == 27
    before = (out / "results.csv").read_text()
    assert ckplus.main(["--tiny", "--out", str(out), "--no-progress"]) == 0
    assert "27 cached runs reused" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")} == stamps
    assert (out / "results.csv").read_text() == before


def test_runs_of_another_configuration_are_not_reused(tiny_run):
    import json

    out, _ = tiny_run
    key = json.loads(next((out / "runs").glob("run_*.json")).read_text())["config_key"]
    assert len(ckplus.RunStore(out, key).all("run_")) == 16
    other = _ckplus_config.CONFIGS["quick"].key("the same data")  # a different mode: a new key
    assert other != key
    assert ckplus.RunStore(out, other).all("run_") == []


def test_bad_ckplus_path_is_a_clean_error(tmp_path, capsys):
    bogus = tmp_path / "not_ckplus"
    (bogus / "something").mkdir(parents=True)
    rc = ckplus.main(["--tiny", "--ckplus", str(bogus), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "--ckplus" in err and str(bogus) in err
    assert "cohn-kanade-images" in err or "Emotion" in err  # names what is missing
    assert "Traceback" not in err


def test_missing_ckplus_path_is_a_clean_error(tmp_path, capsys):
    rc = ckplus.main(["--tiny", "--ckplus", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert rc == 2
    assert "nope" in capsys.readouterr().err


def test_emotion_without_samples_is_named(tmp_path, capsys):
    rc = ckplus.main(["--tiny", "--emotions", "happiness,contempt", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "'contempt'" in err and "no samples" in err
    assert not (tmp_path / "runs").exists()


def test_tiny_on_real_photos(tmp_path, shared_dir, face_model, capsys):
    """--images: 8 London people, neutral vs smiling, one frame each (typical baselines,
    coordinates as classifier input); --features motion is refused for single frames."""
    faces = tmp_path / "faces"
    for label in ("neutral", "smiling"):
        (faces / label).mkdir(parents=True)
        for i in range(1, 9):
            name = f"{i:03d}.jpg"
            shutil.copyfile(shared_dir / "data" / "london" / label / name, faces / label / name)
    argv = ["--tiny", "--images", str(faces), "--face-model", str(face_model), "--no-progress"]
    out = tmp_path / "out"
    assert ckplus.main([*argv, "--out", str(out)]) == 0
    rows = _rows(out / "results.csv")
    assert {r["source"] for r in rows} == {"images"}
    assert {r["model"] for r in rows} == {"T-EMO", "R-EMO", "SVM-linear", "SVM-rbf"}
    assert {r["emotion"] for r in rows} == {"smiling"}
    report = (out / "report.md").read_text()
    assert "SYNTHETIC" not in report
    assert "Classifier input: the aligned landmark positions" in report
    assert "'typical' baselines" in report
    capsys.readouterr()
    assert ckplus.main([*argv, "--out", str(out), "--features", "motion"]) == 2
    assert "--features motion needs sequences of at least 2 frames" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--landmarks", "0,16"], ["--landmarks", "a"]])
def test_bad_options(tmp_path, capsys, argv):
    assert ckplus.main(["--tiny", "--out", str(tmp_path), *argv]) == 2
    assert "Received" in capsys.readouterr().err


# ------------------------------------------------------------------ ground truth (must show)
ANGER_GAP = (
    "known gap of the absolute cut: against the landmarks whose summed apex displacement "
    "exceeds 0.03 face sizes (moving_landmarks), anger's top-64 precision is 0.55-0.61 "
    "(seeds 0-3). Only 65 landmarks of anger pass that cut, mostly its brows (AU4): its "
    "lid and lip tighteners (AU7, AU23) peak at 0.034-0.035 and keep 8-9 landmarks each, "
    "and the network ranks the eyelids and the rings around the eyes (AU5/AU7, 0.015-0.03) "
    "above part of the brows. Against the AU cores (relevant_landmarks) anger reaches 0.86-0.92."
)


@pytest.fixture(scope="module")
def facs_data():
    from igselect.datasets import make_expression_sequences

    return make_expression_sequences(n_subjects=24, n_frames=4, random_state=0)


@pytest.fixture(scope="module")
def ground_truth_ranking(facs_data):
    """Fit the main job's selection for one emotion (once per module); return its ranking."""
    from _ckplus_config import Config
    from _ckplus_protocol import fit_selection

    cfg = Config(
        mode="test",
        landmark_counts=(468,),
        seeds=1,
        n_subjects=24,
        n_frames=4,
        epochs=25,
        patience=5,
        learning_rate=3e-3,
        batch_size=16,
        selector_net={"F": 8, "Q": 16, "R": 16},
        n_steps=16,
        baselines="onset",
    )
    rankings = {}

    def ranking(emotion):
        if emotion not in rankings:
            d = facs_data
            with warnings.catch_warnings():  # 16 steps: residual up to ~18%, ranking stable
                warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
                pipe, _ = fit_selection(cfg, emotion, d.data, d.target, None, 0, 468)
            rankings[emotion] = pipe.named_steps["select"].ranking_
        return rankings[emotion]

    return ranking


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_top64_hits_ground_truth(facs_data, ground_truth_ranking, emotion):
    """Must show: on the built-in dataset, each emotion's top-64 landmarks hit its
    ground-truth relevant landmarks with precision >= 0.7 (small configuration).

    Same code path as the main job (aligner -> GlobalIGSelector over a full-landmark
    T-EMO with balanced class weights) with its default IG baselines for sequences,
    "onset" (each sequence's own first frame repeated), on 24 subjects x 4 frames, a
    T-EMO with F=8, Q=16, R=16 and 16 IG steps. The ground truth is the dataset's
    ``relevant_landmarks``: the core landmarks of the emotion's action units (moved by
    at least half of the AU's own largest displacement).

    Measured top-64 precision (the dataset's and the network's ``random_state`` both
    set to the seed):

    ===============  =====  =======  =====  =========  =======  ========
    seed             anger  disgust  fear   happiness  sadness  surprise
    ===============  =====  =======  =====  =========  =======  ========
    0 (this test)    0.92   0.98     0.98   0.92       1.00     0.86
    1                0.92   0.97     0.98   0.92       0.97     0.78
    2                0.91   1.00     0.94   0.83       0.97     0.86
    3                0.86   0.94     0.88   0.94       0.95     0.80
    ===============  =====  =======  =====  =========  =======  ========
    """
    precision = precision_at_k(
        ground_truth_ranking(emotion), facs_data.relevant_landmarks[emotion], 64
    )
    assert precision >= 0.7, (emotion, precision)


@pytest.mark.parametrize(
    "emotion",
    [
        pytest.param(e, marks=pytest.mark.xfail(reason=ANGER_GAP, strict=True))
        if e == "anger"
        else e
        for e in EMOTIONS
    ],
)
def test_top64_hits_moving_landmarks(facs_data, ground_truth_ranking, emotion):
    """The same selection against the absolute cut, ``moving_landmarks`` (summed
    nominal apex displacement > 0.03 face sizes), the ground truth of earlier versions.

    ===============  =====  =======  =====  =========  =======  ========
    seed             anger  disgust  fear   happiness  sadness  surprise
    ===============  =====  =======  =====  =========  =======  ========
    0 (this test)    0.61   0.92     0.98   1.00       0.97     0.92
    1                0.59   0.91     1.00   0.98       0.94     0.81
    2                0.55   0.95     0.95   0.95       0.95     0.89
    3                0.56   0.88     0.94   1.00       0.89     0.83
    0, "typical"     0.48   0.55     0.94   0.75       0.73     0.58
    ===============  =====  =======  =====  =========  =======  ========

    Anger falls short (see ``ANGER_GAP``; it is marked xfail, not hidden). The last
    row uses the paper's "typical" baselines (the medoids of the other emotions):
    they make ``x - b`` hold the *baseline* emotion's motion too, so IG also credits
    the landmarks that the baseline emotions move.
    """
    precision = precision_at_k(
        ground_truth_ranking(emotion), facs_data.moving_landmarks[emotion], 64
    )
    assert precision >= 0.7, (emotion, precision)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_top64_is_far_from_chance_and_stays_on_moving_landmarks(
    facs_data, ground_truth_ranking, emotion
):
    """A random top 64 would fail the must-show (chance is |ground truth| / 468, at most
    0.45 for fear), and almost all of the selected 64 move by at least 0.015 face sizes."""
    relevant = facs_data.relevant_landmarks[emotion]
    rng = np.random.default_rng(0)
    random_precision = [precision_at_k(rng.permutation(468), relevant, 64) for _ in range(200)]
    assert np.quantile(random_precision, 0.99) < 0.7, (emotion, len(relevant))
    ranking = ground_truth_ranking(emotion)
    assert precision_at_k(ranking, relevant, 64) > np.max(random_precision), emotion
    moving = facs_data.peak_displacement[emotion][ranking[:64]] > 0.015
    assert moving.mean() >= 0.85, (emotion, moving.mean())


@pytest.mark.parametrize(
    "option, sequences, images, bad",
    [("baselines", "onset", "typical", "zeros"), ("features", "motion", "coordinates", "speed")],
)
def test_options_default_by_frames(option, sequences, images, bad):
    """--baselines / --features: one default for sequences, another for single frames;
    the sequence default needs P >= 2."""
    from types import SimpleNamespace

    import _ckplus_data
    from _ckplus_config import BenchmarkInputError

    pick = getattr(_ckplus_data, f"resolve_{option}")
    seq = _ckplus_data.Data(np.zeros((2, 4, 2, 3)), None, None, [], "synthetic", "")
    photo = _ckplus_data.Data(np.zeros((2, 1, 2, 3)), None, None, [], "images", "")
    assert pick(SimpleNamespace(**{option: None}), seq) == sequences
    assert pick(SimpleNamespace(**{option: None}), photo) == images
    assert pick(SimpleNamespace(**{option: images}), seq) == images
    with pytest.raises(BenchmarkInputError, match=f"have 1. Received: --{option}={sequences}"):
        pick(SimpleNamespace(**{option: sequences}), photo)
    with pytest.raises(SystemExit) as exc:  # argparse: not a choice
        ckplus.main(["--tiny", f"--{option}", bad])
    assert exc.value.code == 2


def test_motion_features_are_onset_displacements_of_the_selection():
    """The classifiers' input in the default mode: each selected landmark's motion."""
    from _ckplus_config import Config
    from _ckplus_protocol import make_emo_pipeline, model_features

    rng = np.random.default_rng(0)
    Xs_tr, Xs_te = rng.normal(size=(5, 3, 2, 4)), rng.normal(size=(2, 3, 2, 4))
    cfg = Config(
        mode="t",
        landmark_counts=(4,),
        seeds=1,
        n_subjects=2,
        n_frames=3,
        epochs=1,
        patience=1,
        learning_rate=1e-3,
        batch_size=4,
    )
    assert cfg.features == "motion"
    M_tr, M_te = model_features(cfg, Xs_tr, Xs_te)
    np.testing.assert_allclose(M_te, Xs_te - Xs_te[:, :1], atol=1e-6)
    assert M_tr.shape == Xs_tr.shape and np.all(M_tr[:, 0] == 0)
    coords = replace(cfg, features="coordinates")
    assert model_features(coords, Xs_tr, Xs_te)[1] is Xs_te
    steps = [name for name, _ in make_emo_pipeline(cfg, "anger", 4, None, 0).steps]
    assert steps == ["align", "select", "motion", "clf"]
    steps = [name for name, _ in make_emo_pipeline(coords, "anger", 4, None, 0).steps]
    assert steps == ["align", "select", "clf"]


def test_paired_epoch_time_ratios():
    """Ratios pair fits of the same (emotion, seed); unpaired runs are ignored."""
    from _ckplus_report_timing import paired_ratio

    runs = [
        {"model": m, "L": L, "emotion": e, "seed": 0, "epoch_time_s": t}
        for m, L, e, t in [
            ("T-EMO", 468, "anger", 1.0),
            ("R-EMO", 468, "anger", 0.5),
            ("T-EMO", 468, "fear", 2.0),
            ("R-EMO", 468, "fear", 1.6),
            ("T-EMO", 64, "anger", 0.25),
            ("R-EMO", 64, "sadness", 9.0),  # no T-EMO partner
        ]
    ]
    ratio, n = paired_ratio(runs, ("R-EMO", 468), ("T-EMO", 468))
    assert n == 2 and ratio == pytest.approx(np.median([0.5, 0.8]))
    assert paired_ratio(runs, ("T-EMO", 64), ("T-EMO", 468)) == (0.25, 1)
    ratio, n = paired_ratio(runs, ("R-EMO", 64), ("T-EMO", 64))
    assert n == 0 and np.isnan(ratio)


# ------------------------------------------------------------------ chance levels in the report
def test_report_marks_an_uninformative_emotion():
    """A planted uninformative emotion (accuracy = its majority rate, every seed) is marked;
    an informative one is not; the table gives the majority rate and balanced accuracy."""
    import _ckplus_report_tables as tables

    runs = []
    for seed in range(3):
        for emo, acc, bal in (("happiness", 1.0, 1.0), ("sadness", 25 / 30, 0.5)):
            runs.append(
                {
                    "model": "T-EMO",
                    "emotion": emo,
                    "L": 16,
                    "seed": seed,
                    "accuracy": acc,
                    "balanced_accuracy": bal,
                    "majority_rate": 25 / 30,
                    "n_test": 30,
                    "n_test_positive": 5,
                }
            )
    text = tables.accuracy_section(runs, ["happiness", "sadness"], [16], "T-EMO", "T")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("|")}
    assert tables.CHANCE_MARK not in rows["happiness"]
    assert tables.CHANCE_MARK in rows["sadness"]
    assert "0.833" in rows["sadness"]  # the majority column
    assert "balanced accuracy" in text and "0.500" in text


def test_shootout_verdict_names_winner_and_margin_in_se():
    import _ckplus_shootout as shootout

    cells = [
        {
            "emotion": e,
            "seed": s,
            "selector": sel,
            "L": 2,
            "classifier": "SVM-linear",
            "accuracy": a,
        }
        for e in ("anger", "fear")
        for s in range(3)
        for sel, a in (("IG", 0.95 + 0.01 * s), ("random", 0.80 + 0.02 * s))
    ]
    (line,) = shootout.verdicts(cells, ["IG", "random"], [2], "SVM-linear")
    m, se, n = shootout.paired_margin(cells, "IG", "random", 2, "SVM-linear")
    assert n == 6 and m == pytest.approx(0.14)  # 0.15 - 0.01 * seed
    assert "**IG** is first" in line and f"{m / se:+.1f} SE" in line and "tie" not in line


# ------------------------------------------------------------------ scale-out
def test_dask_scheduler_and_local_jobs_equal_the_serial_run(tiny_run, tmp_path):
    """--scheduler: a LocalCluster of 2 worker processes runs the tiny configuration's
    (emotion, seed) units through joblib's Dask backend; --jobs 2 runs them on local
    processes; both give the serial run's accuracies (at L=16, with the F-test shoot-out,
    to keep the test short).

    Cost: 40 s on 2 cores at a load average of 3 (214 s at a load average of 9): each
    worker process imports TensorFlow and trains its unit's network. It stays in the
    default suite so that CI runs the Dask path."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    serial_out, _ = tiny_run
    few = ["--tiny", "--no-progress", "--landmarks", "16", "--selectors", "F-test"]

    def accuracies(out):
        key = ("emotion", "L", "model", "seed")
        return {
            tuple(r[k] for k in key): r["accuracy"]
            for r in _rows(out / "results.csv")
            if r["L"] == "16"
        }

    def shoot(out):
        key = ("emotion", "selector", "L", "seed")
        return {
            tuple(r[k] for k in key): r["accuracy"]
            for r in _rows(out / "shootout.csv")
            if r["selector"] == "F-test"
        }

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        out = tmp_path / "dask"
        assert ckplus.main([*few, "--out", str(out), "--scheduler", cluster.scheduler_address]) == 0
    assert len(accuracies(out)) == 2 * 4
    assert accuracies(out) == accuracies(serial_out)
    assert shoot(out) == shoot(serial_out) and len(shoot(out)) == 2 * 3
    jobs_out = tmp_path / "jobs"
    assert ckplus.main([*few, "--out", str(jobs_out), "--jobs", "2"]) == 0
    assert accuracies(jobs_out) == accuracies(serial_out)


_BLOCK_IGSELECT = """
import sys


class _Block:  # a worker environment without igselect
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "igselect":
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, _Block())
for name in [m for m in sys.modules if m.split(".")[0] == "igselect"]:
    del sys.modules[name]
"""


def test_dask_worker_that_cannot_load_a_unit_fails_the_run(tmp_path, capsys, monkeypatch):
    """--scheduler with a worker that cannot import igselect stops at once, naming the
    scheduler, the worker and its error (it used to hang: the worker died reading the
    task). Without the test task per worker, the unit's own task fails just as promptly.

    Cost: 6 s on 2 cores (one worker process, which fails before importing TensorFlow)."""
    pytest.importorskip("distributed")
    import threading

    from distributed import LocalCluster

    block = tmp_path / "block_igselect.py"
    block.write_text(_BLOCK_IGSELECT)
    argv = ["--tiny", "--no-progress", "--landmarks", "16", "--selectors", "none"]
    result = {}

    def run(out, address):
        result.clear()
        try:
            result["rc"] = ckplus.main([*argv, "--out", str(out), "--scheduler", address])
        except Exception as exc:
            result["exc"] = exc

    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,  # 2 slots: joblib runs a 1-slot cluster in-process
        processes=True,
        dashboard_address=None,
        preload=[str(block)],
    ) as cluster:
        address = cluster.scheduler_address
        worker = next(iter(cluster.workers.values())).worker_address
        thread = threading.Thread(target=run, args=(tmp_path / "probe", address), daemon=True)
        thread.start()
        thread.join(60)
        assert not thread.is_alive(), "the run hangs"
        assert result == {"rc": 2}
        err = capsys.readouterr().err
        assert f"error: the Dask cluster at {address} cannot run" in err
        assert f"worker {worker}: ModuleNotFoundError: No module named 'igselect'" in err

        monkeypatch.setattr(sys.modules["_ckplus_dispatch"], "probe_workers", lambda *a: 1)
        thread = threading.Thread(target=run, args=(tmp_path / "unit", address), daemon=True)
        thread.start()
        thread.join(60)
        assert not thread.is_alive(), "the run hangs without the test task"
    exc = result["exc"]
    assert isinstance(exc, RuntimeError)
    assert str(exc).startswith(f"a unit failed on the Dask cluster at {address}: ModuleNotFound")


# ------------------------------------------------------------------ IG vs random (must show)
@pytest.mark.slow
def test_ig_beats_random_at_two_landmarks():
    """Must show: at L = 2, IG's mean accuracy over emotions beats the random ranking's
    by more than 3 standard errors (built-in data: 30 subjects, 4 frames, onset motion,
    linear SVM, 3 subject-grouped splits; random drawn 5 times per split and averaged;
    the SE is that of the paired (emotion, split) differences)."""
    from _ckplus_protocol import make_ranker, make_shootout_classifier
    from sklearn.model_selection import GroupShuffleSplit

    from igselect.datasets import make_expression_sequences
    from igselect.evaluation import evaluate_selection, mean_se

    cfg = _ckplus_config.CONFIGS["quick"]
    emotions = ("anger", "sadness", "happiness")
    ds = make_expression_sequences(
        n_subjects=30, n_frames=4, emotions=list(EMOTIONS), random_state=0
    )
    cv = list(GroupShuffleSplit(3, test_size=0.3, random_state=0).split(ds.data, groups=ds.subject))
    diffs = []
    for emo in emotions:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Integrated Gradients did not converge")
            common = dict(
                classifiers={"svm": make_shootout_classifier(cfg, "SVM-linear", emo, 0)},
                landmark_counts=[2],
                cv=cv,
                positive_class=emo,
                features="motion",
            )
            ig = evaluate_selection(
                ds.data,
                ds.target,
                selectors={"IG": make_ranker(cfg, "IG", emo, 468, None, 0)},
                **common,
            )
            rnd = evaluate_selection(
                ds.data,
                ds.target,
                selectors={
                    f"r{i}": make_ranker(cfg, "random", emo, 468, None, i) for i in range(5)
                },
                **common,
            )
        for split in range(3):
            r = np.mean([q["accuracy"] for q in rnd if q["split"] == split])
            diffs.append([q["accuracy"] for q in ig if q["split"] == split][0] - r)
    mean, se = mean_se(diffs)
    print(
        f"IG - random at L=2: {mean:+.3f} ± {se:.3f} ({mean / se:.1f} SE) over {len(diffs)} cells"
    )
    assert mean > 3 * se, (mean, se, diffs)
