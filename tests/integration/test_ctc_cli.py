"""Task ctc end to end: generated images of digit strings read left to right, through the CLI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()
GENERATOR = Path(__file__).resolve().parents[2] / "recipes" / "data" / "make_digit_strings.py"


def make_digit_strings(folder: Path, n: int, max_digits: int, width: int) -> Path:
    spec = importlib.util.spec_from_file_location("make_digit_strings", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x, y = module.make(n, max_digits=max_digits, seed=1, width=width)
    np.savez_compressed(folder / "strings.npz", x=x, y=y)
    return folder / "strings.npz"


MODEL = "model: {type: crnn, filters: [16, 32], units: 32, decoding: {method: beam, beam_width: 4}}"
RECIPE = (
    "name: strings\nseed: 0\ndata:\n  task: ctc\n  source: {type: npz, path: strings.npz}\n"
    "  split: {train: 0.7, dev: 0.15, test: 0.15}\n"
    f"{MODEL}\n"
    "train: {epochs: 10, batch_size: 16, optimizer: {type: adam, learning_rate: 1.0e-2}}\n"
    "tracking: {experiment: strings}\n"
)


@pytest.mark.slow
def test_ctc_reads_digit_strings(workdir: Path, tracking_uri: str) -> None:
    make_digit_strings(workdir, 1000, max_digits=3, width=32)
    recipe = write_recipe(workdir, RECIPE)
    trained = runner.invoke(app, ["train", str(recipe)])
    assert trained.exit_code == 0, trained.output
    (run,) = (workdir / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    print({s: (round(m["cer"], 4), round(m["exact_match"], 4)) for s, m in metrics.items() if "cer" in m})
    # a model that reads nothing has cer 1; reading the digits gets close to 0
    assert metrics["test"]["cer"] <= 0.15
    assert metrics["test"]["error"] == pytest.approx(1 - metrics["test"]["exact_match"])

    with np.load(workdir / "strings.npz") as arrays:
        labels = arrays["y"]
    frame = pd.read_parquet(run / "predictions" / "test.parquet")
    assert list(frame.columns) == ["id", "y_true", "y_pred", "cer", "correct", "length"]
    assert list(frame["y_true"]) == [str(labels[i]) for i in frame["id"]]
    assert frame["correct"].mean() == pytest.approx(metrics["test"]["exact_match"])
    # the set's cer pools edits over characters: the length-weighted mean of the examples'
    pooled = (frame["cer"] * frame["length"]).sum() / frame["length"].sum()
    assert pooled == pytest.approx(metrics["test"]["cer"])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    logged = client.search_runs([client.get_experiment_by_name("strings").experiment_id])[0]
    assert logged.data.metrics["test_cer"] == pytest.approx(metrics["test"]["cer"])
    assert logged.data.params["data.task"] == "ctc"

    diagnosed = runner.invoke(app, ["diagnose", str(run), "--human-error", "0.0", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    (diagnosis,) = json.loads(diagnosed.stdout)["runs"]
    assert diagnosis["metric"] == "cer"
    assert diagnosis["sets"]["dev"]["error"] == pytest.approx(
        pd.read_parquet(run / "predictions" / "dev.parquet")["cer"].mean()
    )

    analysed = runner.invoke(app, ["analyze-errors", str(run), "--json"])
    assert analysed.exit_code == 0, analysed.output
    sequence = json.loads(analysed.stdout)["sequence"]
    for scores in sequence["sets"]:
        assert scores["position_accuracy"] == pytest.approx(metrics[scores["set"]]["cer"])
    assert sum(r["n"] for r in sequence["by_length"]) == metrics["dev"]["n"]
    cers = [row["cer"] for row in sequence["worst"]]
    assert cers == sorted(cers, reverse=True)  # the highest error rate first
    # the character edits of each set sum to its CER's numerator
    for edits in json.loads(analysed.stdout)["ctc"]["edits"]:
        assert edits["n_edits"] == pytest.approx(metrics[edits["set"]]["cer"] * edits["n_chars"])

    # new images without labels: the saved model reads them
    with np.load(workdir / "strings.npz") as arrays:
        np.savez(workdir / "new.npz", x=arrays["x"][:20])
    predicted = runner.invoke(app, ["predict", str(run), "new.npz", "--out", "new.csv"])
    assert predicted.exit_code == 0, predicted.output
    new = pd.read_csv(workdir / "new.csv", dtype={"y_pred": str})
    assert len(new) == 20 and "y_true" not in new.columns
    assert (new["y_pred"].fillna("") == pd.Series(labels[:20]).astype(str)).mean() >= 0.7


def test_ctc_refuses_a_model_without_time_steps(workdir: Path) -> None:
    make_digit_strings(workdir, 20, max_digits=2, width=24)
    recipe = write_recipe(workdir, RECIPE.replace(MODEL, "model: {type: cnn, filters: [4]}"))
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 2, result.output
    assert "model.type: task ctc needs one prediction per time step" in result.output
    assert "Traceback" not in result.output
