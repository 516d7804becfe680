"""seq2seq through `dlkit train`: the shipped string-reversal recipe, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app

runner = CliRunner()
RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.mark.slow
def test_reverse_recipe_learns_reversal(workdir: Path, tracking_uri: str) -> None:
    shutil.copy(RECIPES / "reverse-seq2seq.yaml", workdir / "recipe.yaml")
    shutil.copytree(RECIPES / "data", workdir / "data")
    result = runner.invoke(app, ["train", "recipe.yaml", "--set", "train.epochs=7"])
    assert result.exit_code == 0, result.output
    run = next((workdir / "runs").iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["exact_match"] >= 0.9
    assert metrics["test"]["error"] == pytest.approx(1 - metrics["test"]["exact_match"])
    assert metrics["test"]["token_accuracy"] >= metrics["test"]["exact_match"] - 1e-9
    predictions = pd.read_parquet(run / "predictions" / "test.parquet")
    assert list(predictions.columns) == [
        "id",
        "input",
        "y_true",
        "y_pred",
        "correct",
        "token_accuracy",
        "length",
    ]
    assert (predictions["y_true"] == predictions["input"].map(lambda s: s[::-1])).all()
    assert predictions["correct"].mean() == pytest.approx(metrics["test"]["exact_match"])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    logged = client.search_runs([client.get_experiment_by_name("reverse-seq2seq").experiment_id])[0]
    assert logged.data.metrics["test_exact_match"] == pytest.approx(metrics["test"]["exact_match"])

    # diagnose reads whole decoded sequences: its error is 1 - exact match, as metrics.json's
    diagnosed = runner.invoke(app, ["diagnose", str(run), "--human-error", "0.01", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    (diagnosis,) = json.loads(diagnosed.stdout)["runs"]
    assert diagnosis["error_name"] == "error = 1 − exact match"
    for split in ("dev", "test"):
        assert diagnosis["sets"][split]["error"] == pytest.approx(1 - metrics[split]["exact_match"])

    # error analysis: exact match against token accuracy per set, the wrong decodings worst first
    analysed = runner.invoke(app, ["analyze-errors", str(run), "--json"])
    assert analysed.exit_code == 0, analysed.output
    analysis = json.loads(analysed.stdout)
    scores = {s["set"]: s for s in analysis["sequence"]["sets"]}
    for split in ("train", "dev", "test"):
        assert scores[split]["exact_match"] == pytest.approx(metrics[split]["exact_match"])
    assert analysis["error"] == pytest.approx(1 - metrics["dev"]["exact_match"])
    worst = [w["token_accuracy"] for w in analysis["sequence"]["worst"]]
    assert worst == sorted(worst) and all(w < 1 for w in worst)
    assert analysis["n_sampled"] == analysis["n_errors"] == len(pd.read_csv(run / "analysis" / "errors.csv"))
    refused = runner.invoke(app, ["analyze-errors", str(run), "--label-issues"])
    assert refused.exit_code == 2, refused.output
    assert "task seq2seq has none" in refused.output and "Traceback" not in refused.output


def test_missing_column_and_wrong_model_are_one_line(workdir: Path) -> None:
    pd.DataFrame({"text": ["abc", "cde"] * 10, "reversed": ["cba", "edc"] * 10}).to_csv(
        workdir / "pairs.csv", index=False
    )
    recipe = (
        "name: r\ndata:\n  source: {type: text_pairs, path: pairs.csv, input: text, output: %s}\n"
        "model: {type: %s}\ntrain: {epochs: 1}\n"
    )
    (workdir / "a.yaml").write_text(recipe % ("reverse", "seq2seq"))
    result = runner.invoke(app, ["train", "a.yaml", "--no-track"])
    assert result.exit_code == 1, result.output  # a data error (the project's exit code for those)
    assert "output column 'reverse'" in result.output and "Traceback" not in result.output
    (workdir / "b.yaml").write_text(recipe % ("reversed", "mlp"))
    result = runner.invoke(app, ["train", "b.yaml", "--no-track"])
    assert result.exit_code == 2, result.output
    assert "model.type: the seq2seq task" in result.output and "Traceback" not in result.output
