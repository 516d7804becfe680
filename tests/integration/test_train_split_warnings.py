"""``dlkit train`` shows what the split checks found, and records it on the run and in MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()

RECIPE = """
name: copies
seed: 0
data:
  source: {type: csv, path: copies.csv, target: label}
model: {type: mlp, units: [4]}
train: {epochs: 1, batch_size: 32}
"""


@pytest.mark.slow
def test_train_shows_and_records_the_split_warnings(workdir: Path, tracking_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40).round(4), "b": rng.normal(size=40).round(4)})
    frame["label"] = rng.choice(["x", "y"], 40)
    # one record entered 8 times, in a table without an id column
    frame = pd.concat([frame, pd.DataFrame({"a": [9.5] * 8, "b": [-9.5] * 8, "label": ["x"] * 8})])
    frame.to_csv(workdir / "copies.csv", index=False)
    result = runner.invoke(app, ["train", str(write_recipe(workdir, RECIPE))])
    assert result.exit_code == 0, result.output
    [run] = [p for p in (workdir / "runs").iterdir()]

    # the known answer, from the sets the copies went to: each copy outside train repeats a train row
    manifest = pd.read_parquet(run / "split" / "manifest.parquet")
    sets = manifest["set"].astype(str).to_numpy()[40:]
    assert (sets == "train").any() and (sets != "train").any()
    n_held = int((sets != "train").sum())
    message = (
        f"{n_held} train-dev/dev/test row(s) have feature values identical to a train row: "
        f"{n_held} with the same target, 0 with a different target (the table has no id column: "
        f"the whole row repeats in {n_held})"
    )
    assert f"warning: {message}" in " ".join(result.output.split())

    info = json.loads((run / "run.json").read_text())
    assert [(w["code"], w["message"]) for w in info["split_warnings"]] == [("repeated_rows", message)]
    summary = json.loads((run / "split" / "summary.json").read_text())
    assert summary["warnings"] == info["split_warnings"]
    tags = MlflowClient(tracking_uri).get_run(info["run_id"]).data.tags
    assert tags["dlkit.split_warnings"] == "repeated_rows"
