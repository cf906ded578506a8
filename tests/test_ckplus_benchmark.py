"""End-to-end tests of the main job, benchmarks/ckplus.py (tiny configuration)."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EMOTIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")


def _load(name: str, filename: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ckplus = _load("igselect_bench_ckplus", "ckplus.py")


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
            assert int(r["F"]) == 2
    report = (out / "report.md").read_text()
    assert "SYNTHETIC" in report
    for needle in (
        "Table 6 analogue",
        "Table 7 analogue",
        "Linear SVM",
        "RBF SVM",
        "time per epoch",
        "EmotionEnsemble",
        "rigid-region share",
        "top-64 precision",
    ):
        assert needle in report, needle
    for fig in ("fig3_happiness.png", "fig3_surprise.png", "fig2_ig_path.png"):
        assert (out / fig).stat().st_size > 1000, fig


def test_tiny_resume_reuses_cached_runs(tiny_run, capsys):
    out, _ = tiny_run
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    # 16 runs + 2 selections + 1 ensemble
    assert len(stamps) == 19
    before = (out / "results.csv").read_text()
    assert ckplus.main(["--tiny", "--out", str(out), "--no-progress"]) == 0
    assert "19 cached runs reused" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")} == stamps
    assert (out / "results.csv").read_text() == before


def test_runs_of_another_configuration_are_not_reused(tiny_run):
    import json

    out, _ = tiny_run
    key = json.loads(next((out / "runs").glob("run_*.json")).read_text())["config_key"]
    assert len(ckplus.RunStore(out, key).all("run_")) == 16
    other = ckplus.CONFIGS["quick"].key("the same data")  # a different mode: a new key
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


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--landmarks", "0,16"], ["--landmarks", "a"]])
def test_bad_options(tmp_path, capsys, argv):
    assert ckplus.main(["--tiny", "--out", str(tmp_path), *argv]) == 2
    assert "Received" in capsys.readouterr().err


def test_precision_at():
    from _ckplus_runner import precision_at

    ranking = np.arange(100)
    assert precision_at(ranking, np.arange(32), 64) == 0.5
    assert precision_at(ranking[::-1], np.arange(32), 64) == 0.0


# ------------------------------------------------------------------ ground truth (must show)
@pytest.fixture(scope="module")
def facs_data():
    from igselect.datasets import make_expression_sequences

    return make_expression_sequences(n_subjects=24, n_frames=4, random_state=0)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_top64_beats_chance_on_ground_truth(facs_data, emotion):
    """On the built-in dataset, each emotion's top-64 landmarks beat a random pick.

    Same code path as the main job (aligner -> GlobalIGSelector over a full-landmark
    T-EMO with balanced class weights), on a small configuration. A random ranking
    hits the ground truth at the chance rate ``len(relevant) / 468``; a reversed
    or uninformative ranking fails.

    Known gap (issue "The main job"): the target of precision >= 0.7 is NOT met on
    this configuration. Measured (24 subjects, 4 frames, seed 0): anger 0.55,
    disgust 0.34, fear 0.63, happiness 0.52, sadness 0.45, surprise >= 0.7. The
    paper's other-emotion baselines also credit the landmarks that the *baseline*
    emotion moves, and the dataset's non-expressive shape drift is as large as the
    weaker action units.
    """
    from _ckplus_protocol import Config, fit_selection
    from _ckplus_runner import precision_at

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
        selector_net={"F": 4, "Q": 8, "R": 8},
        n_steps=16,
    )
    d = facs_data
    pipe, _ = fit_selection(cfg, emotion, d.data, d.target, None, 0, 468)
    ranking = pipe.named_steps["select"].ranking_
    relevant = d.relevant_landmarks[emotion]
    precision = precision_at(ranking, relevant, 64)
    chance = len(relevant) / 468
    assert precision > chance, (emotion, precision, chance)
