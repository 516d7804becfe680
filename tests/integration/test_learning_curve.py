"""`dlkit diagnose --learning-curve`: planted data where more data helps, and where it cannot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

pytestmark = pytest.mark.slow
runner = CliRunner()

RECIPE = """
name: curve
seed: 0
data:
  source: {{type: csv, path: data.csv, target: y}}
  split: {{train: 0.6, dev: 0.4, test: 0.0}}
model: {{type: mlp, units: []}}
train: {{epochs: {epochs}, batch_size: 32, optimizer: {{type: adam, learning_rate: 0.02}}}}
targets: {{human_error: 0.0}}
"""


def _write(folder: Path, x: np.ndarray, y: np.ndarray) -> None:
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame["y"] = y.astype(int)
    frame.to_csv(folder / "data.csv", index=False)


def _curve(folder: Path, epochs: int, extra: list[str]) -> dict:
    write_recipe(folder, RECIPE.format(epochs=epochs))
    trained = runner.invoke(app, ["train", "recipe.yaml", *extra])
    assert trained.exit_code == 0, trained.output
    (run,) = [p for p in (folder / "runs").iterdir() if not p.name.startswith(".")]
    out = runner.invoke(
        app, ["diagnose", str(run), "--json", "--no-report", "--learning-curve", "--fractions", "0.1,0.3,1"]
    )
    assert out.exit_code == 0, out.output
    curve = json.loads(out.stdout)["runs"][0]["learning_curve"]
    assert (run / "reports" / "learning_curve.png").stat().st_size > 1000
    return curve | {"run": str(run)}


def test_many_features_few_examples_more_data_helps(tracking_uri: str, workdir: Path) -> None:
    # logistic regression on 60 features: its error shrinks roughly like features / examples
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 60))
    _write(workdir, x, x @ rng.normal(size=60) > 0)
    curve = _curve(workdir, epochs=40, extra=[])
    points = curve["points"]
    assert [p["n_train"] for p in points] == [180, 540, 1800]
    assert len({p["n_dev"] for p in points}) == 1  # one dev set for every point
    assert points[0]["dev_error"] > points[-1]["dev_error"]
    assert curve["more_data_helps"] is True

    # each point is a child run of the diagnosed run; the plot is logged to it
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    parent_id = json.loads((Path(curve["run"]) / "run.json").read_text())["run_id"]
    runs = client.search_runs([client.get_run(parent_id).info.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent_id]
    assert sorted(int(r.data.params["data.n_train"]) for r in children) == [180, 540, 1800]
    logged = {a.path for a in client.list_artifacts(parent_id, "reports")}
    assert "reports/learning_curve.png" in logged


def test_linear_model_on_a_disc_is_bias_not_data(workdir: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(2000, 2))
    _write(workdir, x, (x**2).sum(axis=1) < 0.5)
    curve = _curve(workdir, epochs=15, extra=["--no-track"])
    assert curve["more_data_helps"] is False
    assert "the problem is bias" in curve["reading"]
