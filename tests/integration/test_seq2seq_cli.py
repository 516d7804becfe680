"""seq2seq through `dlkit train`: the shipped string-reversal recipe, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.recipe.loader import load_recipe
from dlkit.tasks import task_for
from dlkit.tuning.study import direction_of

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
        "bleu",
        "length",
    ]
    assert (predictions["y_true"] == predictions["input"].map(lambda s: s[::-1])).all()
    assert predictions["correct"].mean() == pytest.approx(metrics["test"]["exact_match"])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    logged = client.search_runs([client.get_experiment_by_name("reverse-seq2seq").experiment_id])[0]
    assert logged.data.metrics["test_exact_match"] == pytest.approx(metrics["test"]["exact_match"])
    assert logged.data.metrics["test_bleu"] == pytest.approx(metrics["test"]["bleu"])

    # corpus BLEU on the characters, as sacrebleu computes it on the same tokens
    sacrebleu = pytest.importorskip("sacrebleu")
    for split in ("dev", "test"):
        frame = pd.read_parquet(run / "predictions" / f"{split}.parquet")
        expected = sacrebleu.corpus_bleu(
            [" ".join(s) for s in frame["y_pred"]],
            [[" ".join(s) for s in frame["y_true"]]],
            tokenize="none",
            smooth_method="none",
        )
        assert metrics[split]["bleu"] * 100 == pytest.approx(expected.score, abs=1e-6)
    assert 0.5 < metrics["test"]["bleu"] <= 1
    # metrics.optimize: bleu reads each example's error as 1 - its sentence BLEU, maximised in tune
    task = task_for("seq2seq")
    np.testing.assert_allclose(task.example_errors(predictions, "bleu"), 1 - predictions["bleu"])
    assert direction_of("bleu", "seq2seq") == "max"
    assert load_recipe(workdir / "recipe.yaml", ["metrics.optimize=bleu"]).metrics.optimize == "bleu"

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
    # BLEU against the reference length: each length's mean sentence BLEU
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    for row in analysis["sequence"]["by_length"]:
        assert row["bleu"] == pytest.approx(dev.loc[dev["length"] == int(row["length"]), "bleu"].mean())
    # attention of the worst and best dev examples: one row per output token (and the end), summing to 1
    maps = analysis["sequence"]["attention"]
    assert maps and {m["label"] for m in maps} <= {"worst", "best"}
    for m in maps:
        weights = np.asarray(m["weights"])
        assert weights.shape == (len(m["target"]), len(m["source"]))
        np.testing.assert_allclose(weights.sum(axis=1), 1, atol=1e-3)
    best = next(m for m in maps if m["label"] == "best")
    # reversing: the first output token is the last input token, where the decoder should look
    assert int(np.argmax(best["weights"][0])) == len(best["source"]) - 1
    page = (run / "reports" / "errors.html").read_text()
    assert "Attention of chosen dev examples" in page and page.count("<rect") >= sum(
        np.asarray(m["weights"]).size for m in maps
    )
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
