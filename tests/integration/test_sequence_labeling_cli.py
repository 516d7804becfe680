"""Per-step labels through `dlkit train`: the shipped running-parity recipe, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app

runner = CliRunner()
RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def test_parity_recipe_tags_every_step(workdir: Path, tracking_uri: str) -> None:
    shutil.copy(RECIPES / "sequence-tagging.yaml", workdir / "recipe.yaml")
    shutil.copytree(RECIPES / "data", workdir / "data")
    result = runner.invoke(app, ["train", "recipe.yaml", "--set", "train.epochs=10"])
    assert result.exit_code == 0, result.output
    run = next((workdir / "runs").iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    test = metrics["test"]
    # a model that ignores the inputs gets about 0.5 per step; exact parity tracking gets 1.0
    assert test["step_accuracy"] >= 0.95
    assert test["error"] == pytest.approx(1 - test["step_accuracy"])
    assert test["exact_match"] <= test["step_accuracy"] + 1e-9

    arrays = np.load(workdir / "data" / "parity.npz")
    x, y = arrays["x"][:, :, 0], arrays["y"]
    assert test["n_steps"] == (y[json_ids(run, "test")] != -1).sum()
    predictions = pd.read_parquet(run / "predictions" / "test.parquet")
    assert list(predictions.columns) == ["id", "y_true", "y_pred", "correct", "step_accuracy", "length"]
    for row in predictions.itertuples():
        length = int((y[row.id] != -1).sum())
        parity = [str(v) for v in np.cumsum(x[row.id][:length]) % 2]
        assert list(row.y_true) == parity  # labelled steps only, as class labels
        assert len(row.y_pred) == length
    assert predictions["correct"].mean() == pytest.approx(test["exact_match"])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    logged = client.search_runs([client.get_experiment_by_name("sequence-tagging").experiment_id])[0]
    assert logged.data.metrics["test_step_accuracy"] == pytest.approx(test["step_accuracy"])
    assert logged.data.params["data.task"] == "sequence_labeling"

    # diagnose reads whole sequences (a wrong step makes the sequence wrong): 1 - exact match
    diagnosed = runner.invoke(app, ["diagnose", str(run), "--human-error", "0.01", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    (diagnosis,) = json.loads(diagnosed.stdout)["runs"]
    assert diagnosis["error_name"] == "error = 1 − exact match"
    for split in ("dev", "test"):
        assert diagnosis["sets"][split]["error"] == pytest.approx(1 - metrics[split]["exact_match"])
    assert any("any of its steps is wrong" in note for note in diagnosis["run_notes"])

    # error analysis: step accuracy pooled over steps is metrics.json's, per set
    analysed = runner.invoke(app, ["analyze-errors", str(run), "--json"])
    assert analysed.exit_code == 0, analysed.output
    analysis = json.loads(analysed.stdout)
    for scores in analysis["sequence"]["sets"]:
        measured = metrics[scores["set"]]
        assert scores["position_accuracy"] == pytest.approx(measured["step_accuracy"])
        assert scores["exact_match"] == pytest.approx(measured["exact_match"])
    assert sum(r["n"] for r in analysis["sequence"]["by_length"]) == metrics["dev"]["n"]
    refused = runner.invoke(app, ["analyze-errors", str(run), "--folds", "2"])
    assert refused.exit_code == 2, refused.output
    assert "task sequence_labeling has none" in refused.output and "Traceback" not in refused.output


def json_ids(run: Path, name: str) -> np.ndarray:
    predictions = pd.read_parquet(run / "predictions" / f"{name}.parquet")
    return predictions["id"].to_numpy()


def test_model_and_label_shapes_must_agree(workdir: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(40, 5, 1))
    np.savez(workdir / "steps.npz", x=x, y=x[:, :, 0], y1=x[:, 0, 0], bad=x[:, :4, 0])
    recipe = (
        "name: r\ndata:\n  source: {type: sequence, path: steps.npz, y: %s}\n"
        "model: {type: %s}\ntrain: {epochs: 1}\n"
    )
    cases = [
        ("y", "rnn", 2, "model.output: per-step labels (task sequence_labeling) need output: sequence"),
        ("y", "mlp", 2, "model.type: per-step labels (task sequence_labeling) need a model"),
        ("y1", "rnn, output: sequence", 2, "model.output: output: sequence predicts one label per step"),
        ("bad", "rnn, output: sequence", 1, "shape (40, 4); sequence_labeling expects one label per step"),
    ]
    for i, (y, model, code, message) in enumerate(cases):
        (workdir / f"{i}.yaml").write_text(recipe % (y, model))
        result = runner.invoke(app, ["train", f"{i}.yaml", "--no-track"])
        assert result.exit_code == code, result.output
        assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_tune_trains_per_step_labels_as_train_does(workdir: Path) -> None:
    shutil.copy(RECIPES / "sequence-tagging.yaml", workdir / "recipe.yaml")
    shutil.copytree(RECIPES / "data", workdir / "data")
    with (workdir / "recipe.yaml").open("a") as f:
        f.write("tune:\n  trials: 2\n  space:\n    model.units.0: {choice: [8, 16]}\n")
    result = runner.invoke(app, ["tune", "recipe.yaml", "--no-track", "--set", "train.epochs=3"])
    assert result.exit_code == 0, result.output
    (study,) = (workdir / "runs").iterdir()
    trials = pd.read_csv(study / "trials.csv")
    assert (trials["status"] == "COMPLETED").all() and len(trials) == 2
    trial = next(p for p in (study / "trials").iterdir() if (p / "metrics.json").is_file())
    metrics = json.loads((trial / "metrics.json").read_text())
    assert {"step_accuracy", "exact_match"} <= set(metrics["dev"])
    assert "step_accuracy" in pd.read_parquet(trial / "predictions" / "dev.parquet").columns
