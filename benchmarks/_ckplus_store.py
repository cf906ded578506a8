"""The resumable run store of the CK+ benchmark (see ``ckplus.py``).

One JSON file per finished run in ``<out>/runs/``, written atomically (a killed
run leaves no half file), so an interrupted benchmark continues where it
stopped and several processes or Dask workers can write at once. A stored run
counts only under the configuration key it was made with (``Config.key``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np


class RunStore:
    """One JSON per run in ``<out>/runs``; only runs with the current config key count."""

    def __init__(self, out: Path, key: str):
        self.dir = Path(out) / "runs"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.reused = 0

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def get(self, name: str):
        p = self.path(name)
        if not p.is_file():
            return None
        try:
            rec = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return rec if rec.get("config_key") == self.key else None

    def put(self, name: str, record: dict) -> dict:
        record = {**record, "config_key": self.key}
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, default=_jsonable)
        os.replace(tmp, self.path(name))  # atomic: a killed run leaves no half file
        return record

    def all(self, prefix: str) -> list[dict]:
        out = []
        for p in sorted(self.dir.glob(f"{prefix}*.json")):
            rec = self.get(p.stem)
            if rec is not None:
                out.append(rec)
        return out


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def run_name(emotion, n_landmarks, model, seed) -> str:
    return f"run_{emotion}_L{n_landmarks}_{model}_s{seed}"
