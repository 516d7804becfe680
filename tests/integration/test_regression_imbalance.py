"""Regression on a target in the tens of thousands (standardised to learn, original units
everywhere a user looks, beside the train mean's error) and class weights on a planted 95/5
imbalance, end to end through `dlkit train` with a real MLflow store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()
pytestmark = pytest.mark.slow

REGRESSION = """
name: price
seed: 0
data:
  source: {{type: csv, path: {path}, target: price}}
  task: regression
  split: {{train: 0.6, dev: 0.2, test: 0.2}}
model: {{type: mlp, units: [16]}}
train: {{epochs: {epochs}, batch_size: 32, optimizer: {{learning_rate: {lr}}}}}
tracking: {{uri: "{uri}", runs_dir: {runs}}}
"""


def _price_table(path: Path, *, useful: bool, n: int = 240) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    signal = 5000 * (x[:, 0] + 0.5 * x[:, 1]) if useful else 0.0
    price = 20000 + signal + 1000 * rng.normal(size=n)
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "price": price}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def price_run(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path):
    """One tracked 6-epoch run on a table whose target is about 2e4 ± 5e3."""
    folder = tmp_path_factory.mktemp("price")
    shutil.copy(migrated_store, folder / "mlflow.db")
    _price_table(folder / "price.csv", useful=True)
    text = REGRESSION.format(
        path=folder / "price.csv",
        epochs=6,
        lr=0.01,
        uri=f"sqlite:///{folder / 'mlflow.db'}",
        runs=folder / "runs",
    )
    recipe = api.load_recipe(write_recipe(folder, text))
    return api.train(recipe), folder


def test_the_model_learns_a_standardised_target(price_run) -> None:
    result, _ = price_run
    first = result.history[0]
    # mean squared error of a standardised target: near 1 at the start (about 2.5e7 unscaled)
    assert 0.2 < first["loss"] < 3
    assert first["val_mae"] > 500  # the compiled MAE is in the target's units
    assert result.history[-1]["loss"] < first["loss"]


def test_predictions_metrics_and_the_saved_model_are_in_the_targets_units(price_run) -> None:
    import keras

    result, folder = price_run
    dev = pd.read_parquet(result.run_dir / "predictions" / "dev.parquet")
    table = pd.read_csv(folder / "price.csv")
    assert dev["y_true"].to_numpy() == pytest.approx(table["price"].to_numpy()[dev["id"]])
    assert 10_000 < dev["y_pred"].mean() < 30_000
    metrics = json.loads((result.run_dir / "metrics.json").read_text())["dev"]
    rmse = float(np.sqrt(((dev["y_pred"] - dev["y_true"]) ** 2).mean()))
    assert metrics["rmse"] == pytest.approx(rmse)
    train_mean = (
        table["price"]
        .to_numpy()[pd.read_parquet(result.run_dir / "predictions" / "train.parquet")["id"]]
        .mean()
    )
    assert metrics["baseline_rmse"] == pytest.approx(
        float(np.sqrt(((dev["y_true"] - train_mean) ** 2).mean()))
    )
    assert metrics["rmse"] < 0.7 * metrics["baseline_rmse"] and metrics["r2"] > 0.5
    assert {"mae", "rmse", "r2", "baseline_mae"} <= set(metrics)
    model = keras.saving.load_model(result.run_dir / "model" / "model.keras", compile=False)
    x = table[["a", "b", "c"]].to_numpy(dtype="float32")[dev["id"]]
    assert model.predict(x, verbose=0)[:, 0] == pytest.approx(dev["y_pred"].to_numpy(), rel=1e-4)
    assert result.warnings == []


def test_baseline_and_r2_are_logged_to_mlflow(price_run) -> None:
    from mlflow.tracking import MlflowClient

    result, _ = price_run
    logged = MlflowClient(tracking_uri=result.tracking_uri).get_run(result.run_id).data.metrics
    assert logged["dev_baseline_rmse"] == pytest.approx(result.metrics["dev"]["baseline_rmse"])
    assert logged["test_r2"] == pytest.approx(result.metrics["test"]["r2"])


def test_useless_features_are_warned_worse_than_the_mean(workdir: Path) -> None:
    _price_table(workdir / "noise.csv", useful=False, n=60)
    # a wide network on 36 rows of noise fits the noise: worse on dev than the train mean
    text = REGRESSION.format(path=workdir / "noise.csv", epochs=30, lr=0.02, uri="", runs=workdir / "runs")
    text = (
        text.replace('uri: "", ', "")
        .replace("units: [16]", "units: [64, 64]")
        .replace("batch_size: 32", "batch_size: 8")
    )
    result = runner.invoke(app, ["train", str(write_recipe(workdir, text)), "--no-track"])
    assert result.exit_code == 0, result.output
    assert "no better than always predicting the train mean" in result.output
    assert "It beats the mean on train only: it fits noise" in result.output
    (run_dir,) = (workdir / "runs").iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert "worse_than_baseline" in [w["code"] for w in info["warnings"]]
    metrics = json.loads((run_dir / "metrics.json").read_text())["dev"]
    assert metrics["rmse"] >= metrics["baseline_rmse"]


IMBALANCED = """
name: rare
seed: 0
data:
  source: {{type: csv, path: {path}, target: label}}
  split: {{train: 0.6, dev: 0.2, test: 0.2}}
model: {{type: mlp, units: []}}
train: {{epochs: 4, batch_size: 64, optimizer: {{learning_rate: 0.05}}{weights}}}
metrics: {{optimize: balanced_accuracy}}
tracking: {{runs_dir: {runs}}}
"""


def test_balanced_class_weight_raises_minority_recall(workdir: Path, tracking_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    rng = np.random.default_rng(0)
    rare = rng.random(1000) < 0.05
    x = rng.normal(size=(1000, 2)) + np.outer(rare, [2.0, 0.0])
    table = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(rare, "rare", "common")})
    table.to_csv(workdir / "rare.csv", index=False)
    recalls, results = [], []
    for weights in ("", ", class_weight: balanced"):
        text = IMBALANCED.format(path=workdir / "rare.csv", weights=weights, runs=workdir / "runs")
        result = api.train(api.load_recipe(write_recipe(workdir, text)))
        frames = [
            pd.read_parquet(result.run_dir / "predictions" / f"{s}.parquet") for s in ("train", "dev", "test")
        ]
        both = pd.concat(frames)
        minority = both[both["y_true"] == "rare"]
        recalls.append(float((minority["y_pred"] == "rare").mean()))
        results.append(result)
    assert recalls[1] > recalls[0] + 0.2, recalls
    weighted = results[1]
    assert weighted.metrics["dev"]["balanced_accuracy"] > results[0].metrics["dev"]["balanced_accuracy"]
    assert {"macro_f1", "roc_auc"} <= set(weighted.metrics["dev"])
    params = MlflowClient(tracking_uri=tracking_uri).get_run(weighted.run_id).data.params
    assert params["train.weighted_loss"] == "class_weight balanced"
    n_train = 600
    n_rare = int(
        (pd.read_parquet(weighted.run_dir / "predictions" / "train.parquet")["y_true"] == "rare").sum()
    )
    assert float(params["train.applied_class_weight.rare"]) == pytest.approx(n_train / (2 * n_rare), rel=1e-4)
