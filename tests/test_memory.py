"""Memory of the attribution caches stays bounded across models and configurations (issue 13, 8).

The process-level measurement (RSS per new configuration) is
``benchmarks/memory_growth.py``; these tests check the mechanisms, cheaply.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from igselect.attribution import _emo_engine, _engines
from igselect.network import build_emo_network


def _net(n_filters=2, lstm_units=2, seed=0):
    return build_emo_network(
        n_frames=3, n_landmarks=4, n_filters=n_filters, lstm_units=lstm_units, dense_units=2,
        seed=seed,
    )  # fmt: skip


def _X():
    return np.random.default_rng(0).normal(size=(2, 3, 2, 4)).astype(np.float32)


def test_tape_engine_cache_does_not_keep_the_model_alive():
    # the cached engine held its model, the weak key of its own cache entry: never freed
    model = _net()
    eng, name = _engines.resolve_engine(model, engine="tape", dtype="float32", probe=_X())
    assert name == "tape" and model in _engines._TAPE_CACHE
    assert tuple(eng.forward(_X()).shape) == (2, 2)
    del eng
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_fast_engine_keeps_the_compiled_stages_of_a_bounded_number_of_configurations():
    _emo_engine._shared.cache_clear()
    engines = [_emo_engine._EmoEngine(_net(n_filters=2 + k)) for k in range(3)]
    first = weakref.ref(engines[0]._uv_fn.func)
    # the engines of one configuration share their compiled stages
    same = _emo_engine._EmoEngine(_net(n_filters=2, seed=5))
    assert same._uv_fn.func is engines[0]._uv_fn.func
    del same
    engines += [
        _emo_engine._EmoEngine(_net(n_filters=5 + k)) for k in range(_emo_engine._MAX_SPECS)
    ]
    info = _emo_engine._shared.cache_info()
    assert info.currsize <= _emo_engine._MAX_SPECS * _emo_engine._N_METHODS == info.maxsize
    assert first() is not None  # still used by the first engine
    del engines
    gc.collect()
    assert first() is None  # evicted from the cache and no engine holds it: freed


def test_fast_engine_does_not_xla_compile_by_default():
    # TensorFlow never frees XLA executables: ~40 MB per new configuration
    eng = _emo_engine._EmoEngine(_net())
    assert eng._uv_fn.func._jit_compile is False
    assert eng._head_grad_fn.func._jit_compile is False


def test_at_most_a_few_tape_engines_may_use_xla(monkeypatch):
    monkeypatch.setattr(_engines, "_xla_grants", [0])
    models = [_net(seed=k) for k in range(_engines._MAX_XLA_ENGINES + 2)]
    granted = [_engines._TapeEngine(m, cached=True).xla_ok for m in models]
    assert granted == [True] * _engines._MAX_XLA_ENGINES + [False, False]
    # a callable never uses XLA and does not use up a grant
    monkeypatch.setattr(_engines, "_xla_grants", [0])
    assert _engines._TapeEngine(lambda x: x).xla_ok is False
    assert _engines._xla_grants == [0]


@pytest.mark.parametrize("cached", [False, True])
def test_tape_engine_model_is_reachable_while_alive(cached):
    model = _net()
    eng = _engines._TapeEngine(model, cached=cached)
    assert eng.model is model
    out = eng.forward(_X())
    assert tuple(out.shape) == (2, 2)


def _benchmark():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "memory_growth.py"
    spec = importlib.util.spec_from_file_location("memory_growth", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_configurations_are_distinct_and_slope_is_least_squares():
    bench = _benchmark()
    configs = bench._configs(23)
    assert len(configs) == 23 and len(set(configs)) == 23
    assert bench._slope([1.0, 3.0, 5.0, 7.0]) == pytest.approx(2.0)
    assert bench._slope([5.0, 4.0, 6.0, 5.0]) == pytest.approx(0.2)


@pytest.mark.slow
def test_benchmark_runs(capsys):
    bench = _benchmark()
    assert bench.main(["--configs", "2", "--warmup", "1", "--steps", "100"]) == 0
    out = capsys.readouterr().out
    assert "GlobalIGSelector" in out and "peak_vs_n_steps" in out
