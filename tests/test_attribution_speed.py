"""Smoke test of benchmarks/attribution_speed.py on tiny networks."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[1]
METHODS = {
    "integrated_gradients",
    "gradient_shap",
    "saliency",
    "input_x_gradient",
    "grad_cam",
    "occlusion",
}


def _run(tmp_path, *extra):
    spec = importlib.util.spec_from_file_location(
        "attribution_speed", ROOT / "benchmarks" / "attribution_speed.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "speed.csv"
    args = "--n-samples 2 --n-steps 4 --filters 2 --lstm 3 --dense 3 --landmarks 6 --frames 3"
    args += " --generic-units 3 --mlp-units 3 --rounds 1"
    bench.main([*args.split(), *extra, "--csv", str(out)])
    with open(out) as fh:
        return list(csv.DictReader(fh))


def test_attribution_speed_tiny_ig(tmp_path, capsys):
    """The default suite: IG on the EMO network and the MLP (the traces are the cost)."""
    rows = _run(tmp_path, "--models", "emo,mlp", "--methods", "integrated_gradients")
    printed = capsys.readouterr().out
    assert "speedup" in printed and "mlp" in printed
    names = {(row["model"], row["method"]) for row in rows}
    assert names == {
        ("emo", "integrated_gradients"),
        ("emo", "integrated_gradients (tape)"),
        ("mlp", "integrated_gradients"),
    }
    for row in rows:  # igselect and the naive loop compute the same numbers
        assert float(row["max_rel_err_vs_naive"]) < 1e-4, (row["model"], row["method"])
        assert float(row["evals_per_s"]) > 0 and float(row["naive_evals_per_s"]) > 0


@pytest.mark.slow
def test_attribution_speed_tiny(tmp_path):
    rows = _run(tmp_path)
    by_model = {}
    for row in rows:
        by_model.setdefault(row["model"], set()).add(row["method"])
    assert by_model["emo"] == METHODS | {"integrated_gradients (tape)"}
    assert by_model["generic"] == METHODS
    assert by_model["mlp"] == METHODS - {"grad_cam"}  # no landmark axis
    for row in rows:  # igselect and the naive loop compute the same numbers
        assert float(row["max_rel_err_vs_naive"]) < 1e-4, (row["model"], row["method"])
        assert float(row["evals_per_s"]) > 0 and float(row["naive_evals_per_s"]) > 0
    ig = next(r for r in rows if r["model"] == "emo" and r["method"] == "integrated_gradients")
    assert ig["evals"] == "8" and ig["n_steps"] == "4"
