"""Shared pytest configuration and fixtures.

Data-dependent tests use the ``shared_dir`` and ``face_model`` fixtures.
They skip when the files are missing, unless ``IGSELECT_REQUIRE_DATA=1``
(as CI sets), in which case they fail so nothing hides.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

_REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow test: use --runslow to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


def _missing(what: str):
    if os.environ.get("IGSELECT_REQUIRE_DATA") == "1":
        pytest.fail(f"{what} is missing and IGSELECT_REQUIRE_DATA=1")
    pytest.skip(f"{what} is missing (set IGSELECT_DATA / IGSELECT_FACE_MODEL)")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``shared/`` folder: ``$IGSELECT_DATA`` or ``../shared`` beside the repo."""
    root = Path(os.environ.get("IGSELECT_DATA", _REPO.parent / "shared"))
    if not (root / "data").is_dir() or not (root / "media").is_dir():
        _missing(f"shared data folder {root}")
    return root


@pytest.fixture(scope="session")
def face_model(shared_dir) -> Path:
    """Path of the MediaPipe ``face_landmarker.task`` bundle."""
    path = Path(
        os.environ.get("IGSELECT_FACE_MODEL", shared_dir / "models" / "face_landmarker.task")
    )
    if not path.is_file():
        _missing(f"face model {path}")
    return path


@pytest.fixture(autouse=True)
def _reset_keras_session():
    """Keep Keras' global name counters from growing across tests (no costly gc pass)."""
    yield
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session(free_memory=False)
