"""The run directory: everything later commands need, in plain files (no TensorFlow to read).

Layout (``runs/<run name>/``)::

    run.json                 status, ids, task, classes, split sizes, data hash, tracking location
    recipe.yaml              the resolved recipe (every default written out)
    split/manifest.parquet   one row per example: id, set, input_hash, dev_part (with eyeball)
    split/summary.json       sizes and class counts per set, the rule that chose the fractions
    model/model.keras        the trained model, normalisation included (takes raw inputs)
    predictions/<set>.parquet  per example, inference mode: id, y_true, y_pred, correct,
                             confidence, loss, proba_<k> (class index k), metadata columns
    metrics.json             per set: n, loss, accuracy and error (or mse, mae)
    history.csv              per epoch: Keras logs and the learning rate
    checkpoints/             last.keras (every epoch) and best.keras (kept locally)

The same tree (less checkpoints) is logged to MLflow as the run's artifacts.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dlkit.errors import RunNotFoundError

RUN_FILE = "run.json"


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)


@dataclass(frozen=True)
class RunDir:
    """Paths and readers for one run directory."""

    path: Path

    @property
    def info_path(self) -> Path:
        return self.path / RUN_FILE

    @property
    def recipe_path(self) -> Path:
        return self.path / "recipe.yaml"

    @property
    def manifest_path(self) -> Path:
        return self.path / "split" / "manifest.parquet"

    @property
    def split_summary_path(self) -> Path:
        return self.path / "split" / "summary.json"

    @property
    def model_path(self) -> Path:
        return self.path / "model" / "model.keras"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def history_path(self) -> Path:
        return self.path / "history.csv"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def predictions_path(self, split: str) -> Path:
        return self.path / "predictions" / f"{split}.parquet"

    def info(self) -> dict[str, Any]:
        return dict(json.loads(self.info_path.read_text(encoding="utf-8")))

    def update_info(self, **fields: Any) -> None:
        info = self.info() if self.info_path.exists() else {}
        info.update(fields)
        write_json(self.info_path, info)

    def metrics(self) -> dict[str, dict[str, float]]:
        return dict(json.loads(self.metrics_path.read_text(encoding="utf-8")))

    def manifest(self) -> pd.DataFrame:
        return pd.read_parquet(self.manifest_path)

    def predictions(self, split: str) -> pd.DataFrame:
        return pd.read_parquet(self.predictions_path(split))

    def splits_with_predictions(self) -> list[str]:
        from dlkit.data.split import SPLITS

        return [s for s in SPLITS if self.predictions_path(s).exists()]

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Open an existing run directory.

        Raises:
            RunNotFoundError: ``path`` has no run.json.
        """
        run = cls(Path(path))
        if not run.info_path.is_file():
            raise RunNotFoundError(f"{path}: not a dlkit run directory (no {RUN_FILE})")
        return run
