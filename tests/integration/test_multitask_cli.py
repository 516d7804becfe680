"""Multi-task through a recipe: several 0/1 target columns with missing labels, `dlkit train`."""

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
TASKS = ["has_cat", "has_dog", "has_car"]

RECIPE = """
name: tags
seed: 0
data:
  source: {type: csv, path: tags.csv, id_column: id, target: [has_cat, has_dog, has_car]}
  split: {train: 0.6, dev: 0.2, test: 0.2}
model: {type: mlp, units: [16]}
train: {epochs: 12, batch_size: 32, optimizer: {type: adam, learning_rate: 0.02}}
"""


def _tags(folder: Path, n: int = 500) -> pd.DataFrame:
    """Three tasks, each a simple rule of the features; about 30% of labels missing.

    has_car's labels are missing not at random: most of its positives are blank. Read as 0
    (instead of skipped) they would teach the model that those examples are negatives.
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4))
    frame = pd.DataFrame(x, columns=["x1", "x2", "x3", "x4"])
    frame.insert(0, "id", np.arange(1000, 1000 + n))
    frame["has_cat"] = (x[:, 0] > 0).astype(float)
    frame["has_dog"] = (x[:, 1] + x[:, 2] > 0).astype(float)
    frame["has_car"] = (x[:, 3] > 0).astype(float)
    missing = rng.random((n, 3)) < 0.3
    missing[:, 2] = (frame["has_car"].to_numpy() == 1) & (rng.random(n) < 0.7)
    for j, task in enumerate(TASKS):
        frame.loc[missing[:, j], task] = np.nan
    frame.to_csv(folder / "tags.csv", index=False)
    return frame


def test_multitask_recipe_trains_scores_and_tracks(workdir: Path, tracking_uri: str) -> None:
    frame = _tags(workdir)
    result = runner.invoke(app, ["train", str(write_recipe(workdir, RECIPE))])
    assert result.exit_code == 0, result.output
    assert "Per task (present labels only)" in result.output
    run = next((workdir / "runs").iterdir())
    assert json.loads((run / "run.json").read_text())["task"] == "multitask"

    metrics = json.loads((run / "metrics.json").read_text())
    history = pd.read_csv(run / "history.csv")
    assert np.isfinite(history["loss"]).all()
    dev = metrics["dev"]
    for task in TASKS:
        # each rule is learnt on its present labels, has_car despite most positives being blank
        assert dev[f"accuracy_{task}"] > 0.85, (task, dev)
        assert dev[f"auc_{task}"] > 0.93, (task, dev)
    assert dev["accuracy"] == pytest.approx(np.mean([dev[f"accuracy_{t}"] for t in TASKS]))
    # the masked loss Keras minimised (val_loss, inference mode) is the loss scored from predictions
    assert dev["loss"] == pytest.approx(history["val_loss"].iloc[-1], rel=1e-3)
    assert dev["accuracy"] == pytest.approx(history["val_accuracy"].iloc[-1], abs=0.02)

    predictions = pd.read_parquet(run / "predictions" / "dev.parquet")
    assert len(predictions) == dev["n"] == 100
    truth = frame.set_index("id").loc[predictions["id"]]
    for task in TASKS:
        assert {f"y_true_{task}", f"proba_{task}", f"pred_{task}"} <= set(predictions.columns)
        # missing labels stay missing, present ones are the CSV's
        np.testing.assert_array_equal(predictions[f"y_true_{task}"].isna(), truth[task].isna())
        known = truth[task].notna().to_numpy()
        np.testing.assert_array_equal(predictions[f"y_true_{task}"][known].astype(int), truth[task][known])
        right = predictions[f"pred_{task}"][known] == truth[task][known].to_numpy()
        assert right.mean() == pytest.approx(dev[f"accuracy_{task}"])
    # has_car's present positives are found: blanks read as 0 would have taught "mostly negative"
    positives = truth["has_car"].to_numpy() == 1
    assert positives.sum() >= 10
    assert predictions["pred_has_car"][positives].mean() > 0.8

    from mlflow.tracking import MlflowClient

    logged = (
        MlflowClient(tracking_uri)
        .search_runs([MlflowClient(tracking_uri).get_experiment_by_name("tags").experiment_id])[0]
        .data.metrics
    )
    assert logged["dev_accuracy_has_car"] == pytest.approx(dev["accuracy_has_car"])
    assert logged["test_auc_has_dog"] == pytest.approx(metrics["test"]["auc_has_dog"])

    from dlkit.models import load_model

    model = load_model(run / "model" / "model.keras")
    assert model.output_shape == (None, 3)

    # the masked loss's gradient, checked numerically in float64
    checked = runner.invoke(app, ["gradcheck", str(workdir / "recipe.yaml")])
    assert checked.exit_code == 0, checked.output
    assert "Overall relative difference" in checked.output and ": good" in checked.output

    # diagnose reads each task on its labelled examples: its errors are metrics.json's per task
    diagnosed = runner.invoke(app, ["diagnose", str(run), "--human-error", "0.01", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    (diagnosis,) = json.loads(diagnosed.stdout)["runs"]
    assert list(diagnosis["tasks"]) == TASKS
    for task in TASKS:
        for split in ("dev", "test"):
            measured = diagnosis["tasks"][task]["sets"][split]
            assert measured["error"] == pytest.approx(1 - metrics[split][f"accuracy_{task}"])
            assert measured["n"] == truth_counts(run, split, task)

    # error analysis reads each task as a binary classification of its labelled dev examples
    analysed = runner.invoke(app, ["analyze-errors", str(run), "--json"])
    assert analysed.exit_code == 0, analysed.output
    per_task = json.loads(analysed.stdout)["tasks"]
    for task in TASKS:
        assert per_task[task]["n"] == truth_counts(run, "dev", task)
        assert per_task[task]["error"] == pytest.approx(1 - dev[f"accuracy_{task}"])
        assert np.sum(per_task[task]["confusion"]["matrix"]) == per_task[task]["n"]
    assert (run / "reports" / "errors.html").read_text().count("Confusion matrix") == len(TASKS)
    # label issues need one class label per example: a clear refusal, exit 2
    refused = runner.invoke(app, ["analyze-errors", str(run), "--label-issues"])
    assert refused.exit_code == 2, refused.output
    assert "task multitask has none" in refused.output
    assert "Traceback" not in refused.output


def truth_counts(run: Path, split: str, task: str) -> int:
    """Examples of ``split`` labelled for ``task``."""
    return int(pd.read_parquet(run / "predictions" / f"{split}.parquet")[f"y_true_{task}"].notna().sum())


def test_bad_label_is_one_line(workdir: Path) -> None:
    frame = _tags(workdir, n=50)
    frame["has_dog"] = frame["has_dog"].astype(object)
    frame.loc[7, "has_dog"] = "maybe"
    frame.to_csv(workdir / "tags.csv", index=False)
    result = runner.invoke(app, ["train", str(write_recipe(workdir, RECIPE)), "--no-track"])
    assert result.exit_code == 1
    assert "target column 'has_dog': value 'maybe' at line 9 is not a 0/1 label" in result.output
    assert not (workdir / "runs").exists() or not any((workdir / "runs").rglob("metrics.json"))
