"""Task trigger_word end to end on the shipped clips: split, train, diagnose, analyze-errors, predict."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[2] / "recipes" / "data"
STEP = 4 * 32 / 4000  # stride x frame_step / sample_rate: 32 ms a step
MODEL = "model: {type: conv_gru, filters: 16, kernel_size: 15, strides: 4, units: [16], dropout: 0.0}"
RECIPE = f"""
name: triggers
seed: 0
data:
  source: {{type: wav, path: {SHIPPED / "triggers"}, sample_rate: 4000, frame_length: 128, frame_step: 32,
            stride: 4, window: 4}}
  split: {{train: 0.6, dev: 0.2, test: 0.2}}
{MODEL}
train: {{epochs: 20, batch_size: 8, optimizer: {{type: adam, learning_rate: 1.0e-2}}}}
tracking: {{experiment: triggers}}
"""


def _make_clips(folder: Path, n: int, seed: int) -> list[list[float]]:
    spec = importlib.util.spec_from_file_location("make_triggers", SHIPPED / "make_triggers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make(folder, n=n, seed=seed)


@pytest.mark.slow
def test_trigger_word_finds_the_planted_triggers(workdir: Path, tracking_uri: str) -> None:
    recipe = write_recipe(workdir, RECIPE)
    split = runner.invoke(app, ["split", str(recipe), "--json"])
    assert split.exit_code == 0, split.output
    summary = json.loads(split.stdout)
    assert summary["task"] == "trigger_word" and summary["n_examples"] == 120
    labels = pd.read_csv(SHIPPED / "triggers" / "labels.csv", dtype=str, keep_default_na=False)
    planted = {
        f: [float(e) for e in ends.split(";") if e]
        for f, ends in zip(labels["file"], labels["trigger_ends"], strict=True)
    }
    assert sum(s["triggers"] for s in summary["sets"].values()) == sum(len(e) for e in planted.values())

    trained = runner.invoke(app, ["train", str(recipe)])
    assert trained.exit_code == 0, trained.output
    (run,) = (workdir / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    print(
        {
            s: {k: round(m[k], 4) for k in ("f1", "precision", "recall", "accuracy")}
            for s, m in metrics.items()
        }
    )
    dev = metrics["dev"]
    assert dev["f1"] >= 0.8
    assert dev["error"] == pytest.approx(1 - dev["f1"])
    # the point of the metric: never firing is right on over 90% of the steps, and finds nothing
    assert dev["baseline_accuracy"] > 0.9 and dev["baseline_f1"] == 0.0

    frame = pd.read_parquet(run / "predictions" / "dev.parquet")
    assert list(frame.columns) == [
        "id", "y_true", "y_pred", "triggers", "detections", "missed", "false_detections",
        "correct", "f1", "step_accuracy", "length", "loss",
    ]  # fmt: skip
    for name, starts in zip(frame["id"], frame["y_true"], strict=True):
        # a trigger's labels start the step after it ends
        expected = [(math.floor(end / STEP + 1e-9) + 1) * STEP for end in planted[name]]
        np.testing.assert_allclose(starts, expected, atol=1e-3)
    assert (
        frame["missed"].sum() == dev["missed"] and frame["false_detections"].sum() == dev["false_detections"]
    )
    assert frame["detections"].mean() == pytest.approx(dev["detections_per_clip"])
    assert frame["triggers"].sum() >= frame["missed"].sum()

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    logged = client.search_runs([client.get_experiment_by_name("triggers").experiment_id])[0]
    assert logged.data.metrics["dev_f1"] == pytest.approx(dev["f1"])
    assert logged.data.params["data.task"] == "trigger_word"

    diagnosed = runner.invoke(app, ["diagnose", str(run), "--human-error", "0.0", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    (diagnosis,) = json.loads(diagnosed.stdout)["runs"]
    assert diagnosis["metric"] == "f1"
    assert diagnosis["sets"]["dev"]["error"] == pytest.approx((1 - frame["f1"]).mean())

    analysed = runner.invoke(app, ["analyze-errors", str(run), "--json"])
    assert analysed.exit_code == 0, analysed.output
    analysis = json.loads(analysed.stdout)
    assert analysis["n_errors"] == int((~frame["correct"]).sum())  # a miss or a false detection
    sequence = analysis["sequence"]
    assert sum(r["n"] for r in sequence["by_length"]) == len(frame)  # by planted triggers per clip

    # new clips without labels: the saved model says when their triggers ended
    ends = _make_clips(workdir / "new", n=12, seed=7)
    (workdir / "new" / "labels.csv").unlink()
    predicted = runner.invoke(app, ["predict", str(run), "new", "--out", "new.parquet"])
    assert predicted.exit_code == 0, predicted.output
    new = pd.read_parquet(workdir / "new.parquet")
    assert len(new) == 12 and "y_true" not in new.columns and "missed" not in new.columns
    found = [
        any(abs(t - end) <= 3 * STEP for t in times)
        for times, clip_ends in zip(new["y_pred"], ends, strict=True)
        for end in clip_ends
    ]
    assert np.mean(found) >= 0.8, (list(new["y_pred"]), ends)


def test_a_model_without_steps_or_of_another_stride_is_refused(workdir: Path) -> None:
    text = RECIPE.replace(str(SHIPPED / "triggers"), "clips")
    clips = workdir / "clips"
    clips.mkdir()
    _make_clips(clips, n=4, seed=0)
    for model, message in (
        (
            "model: {type: mlp, units: [4]}",
            "model.type: task trigger_word needs one prediction per time step",
        ),
        (
            "model: {type: conv_gru, filters: 4, strides: 2, units: [4]}",
            "model.strides: the model gives one step per 2 spectrogram frame(s), but the labels are one "
            "per 4",
        ),
    ):
        recipe = write_recipe(workdir, text.replace(MODEL, model))
        result = runner.invoke(app, ["train", str(recipe), "--no-track"])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split())
        assert "Traceback" not in result.output
