"""Smoke test of benchmarks/ig_throughput.py on a tiny network."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[1]


def test_ig_throughput_tiny(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "ig_throughput", ROOT / "benchmarks" / "ig_throughput.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "ig.csv"
    args = "--n-samples 2 --n-steps 6 --filters 3 --lstm 4 --dense 4 --landmarks 10"
    bench.main([*args.split(), "--frames", "3", "--rounds", "1", "--csv", str(out)])
    printed = capsys.readouterr().out
    assert "speedup" in printed
    with open(out) as fh:
        rows = {row["method"]: row for row in csv.DictReader(fh)}
    assert {"naive", "tape", "fast", "fast-bf16", "fast-step", "fast-new-net"} <= set(rows)
    # the float32 engines agree with the naive loop
    for name in ("tape", "fast", "fast-step", "fast-new-net"):
        assert float(rows[name]["max_rel_err_vs_naive"]) < 1e-4, name
    assert float(rows["fast-bf16"]["max_rel_err_vs_naive"]) < 5e-2
    assert float(rows["fast"]["evals_per_s"]) > 0
    assert rows["naive"]["n_steps"] == "6"
    assert float(rows["naive"]["naive_ulp_l2_rel"]) >= 0
    assert float(rows["fast"]["l2_rel_err_vs_naive"]) < 1e-4
