"""Resumable training: interrupted after k epochs and resumed, a run ends exactly where an
uninterrupted one does (optimizer state, schedule position, shuffling and dropout RNG restored),
in the same run directory and MLflow run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app
from dlkit.training.spec import EarlyStoppingSpec
from tests.conftest import write_recipe

runner = CliRunner()
pytestmark = pytest.mark.slow

# dropout (RNG), momentum (optimizer state), a plateau schedule that halves the rate every epoch
# after the first (min_delta too large to improve: state) and early stopping that
# does not trigger (state): everything a resumed run must carry on
RECIPE = """
name: resume-digits
seed: 3
data:
  source: {type: sklearn, name: digits}
  split: {train: 0.5, dev: 0.25, test: 0.25}
model: {type: mlp, units: [16], dropout: 0.3}
train:
  epochs: 4
  batch_size: 128
  optimizer: {type: sgd, learning_rate: 0.05, momentum: 0.9}
  schedule: {type: reduce_on_plateau, patience: 1, factor: 0.5, min_delta: 10.0}
  early_stopping: {patience: 10}
  deterministic: true
"""


def _interrupt_after(k: int):
    def on_epoch(event) -> None:
        if event.epoch == k:
            raise KeyboardInterrupt

    return on_epoch


def _recipe(workdir: Path, folder: str):
    return api.load_recipe(write_recipe(workdir, RECIPE), [f"tracking.runs_dir={workdir / folder}"])


def test_resumed_run_matches_uninterrupted_run(workdir: Path) -> None:
    full = api.train(_recipe(workdir, "a"), track=False)
    assert [h["lr"] for h in full.history] == pytest.approx([0.05, 0.05, 0.025, 0.0125])

    with pytest.raises(KeyboardInterrupt):
        api.train(_recipe(workdir, "b"), track=False, on_epoch=_interrupt_after(2))
    (run_dir,) = (workdir / "b").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "KILLED"
    assert json.loads((run_dir / "checkpoints" / "state.json").read_text())["epoch"] == 2

    seen: list[int] = []
    resumed = api.resume(run_dir, on_epoch=lambda e: seen.append(e.epoch))
    assert seen == [3, 4] and resumed.initial_epoch == 2
    assert resumed.run_dir == run_dir
    assert resumed.history == full.history  # every epoch's losses, metrics and learning rate
    assert resumed.metrics == full.metrics
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "FINISHED" and info["epochs_run"] == 4
    assert info["resumes"][0]["from_epoch"] == 2
    assert len(pd.read_csv(run_dir / "history.csv")) == 4


def test_cli_resume_keeps_the_mlflow_run(tracking_uri: str, workdir: Path) -> None:
    from mlflow.tracking import MlflowClient

    recipe = _recipe(workdir, "runs")
    with pytest.raises(KeyboardInterrupt):
        api.train(recipe, on_epoch=_interrupt_after(1))
    (run_dir,) = (workdir / "runs").iterdir()
    run_id = json.loads((run_dir / "run.json").read_text())["run_id"]
    client = MlflowClient(tracking_uri=tracking_uri)
    assert client.get_run(run_id).info.status == "KILLED"

    # a finished epoch count cannot be exceeded by anything but train.epochs
    bad = runner.invoke(app, ["train", "--resume", str(run_dir), "--set", "train.batch_size=8"])
    assert bad.exit_code == 2
    assert "a resumed run can only change train.epochs (got train.batch_size)" in bad.output

    # a run missing from the store is refused before run.json changes or anything trains
    info_path = run_dir / "run.json"
    kept = info_path.read_text()
    info_path.write_text(json.dumps({**json.loads(kept), "run_id": "0" * 32}))
    gone = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert gone.exit_code != 0 and "0" * 32 in gone.output, gone.output
    assert "Traceback" not in gone.output
    after = json.loads(info_path.read_text())
    assert after["status"] == "KILLED" and "resumes" not in after
    info_path.write_text(kept)

    result = runner.invoke(app, ["train", "--resume", run_dir.name, "--set", "train.epochs=3"])
    assert result.exit_code == 0, result.output
    assert "resumed after epoch 1" in result.output
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["dlkit.resumed_from_epoch"] == "1"
    assert [m.step for m in client.get_metric_history(run_id, "val_loss")] == [0, 1, 2]
    assert "dev_error" in run.data.metrics
    assert len(client.search_runs([run.info.experiment_id])) == 1

    again = runner.invoke(app, ["train", "--resume", str(run_dir), "--set", "train.epochs=3"])
    assert again.exit_code == 2
    assert "has completed 3 of 3 epochs: nothing to resume" in again.output


def test_resume_needs_a_completed_epoch(workdir: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        api.train(_recipe(workdir, "runs"), track=False, on_epoch=_interrupt_after(1))
    (run_dir,) = (workdir / "runs").iterdir()
    for name in ("state.json", "last.keras"):
        (run_dir / "checkpoints" / name).unlink()
    result = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert result.exit_code == 2
    assert "no completed epoch to resume from" in result.output
    both = runner.invoke(app, ["train", "x.yaml", "--resume", str(run_dir)])
    assert both.exit_code == 2 and "give a RECIPE, or --resume RUN (not both)" in both.output


def test_early_stopping_restores_the_best_epoch_and_cannot_be_resumed(workdir: Path) -> None:
    # min_delta larger than any change: epoch 1 stays the best, patience 1 stops after epoch 2
    recipe = _recipe(workdir, "runs")
    recipe.train.schedule = None
    recipe.train.early_stopping = EarlyStoppingSpec(patience=1, min_delta=10.0)
    result = api.train(recipe, track=False)
    assert result.stopped_early and result.epochs_run == 2 and len(result.history) == 2
    # the model kept is epoch 1's: its dev loss is epoch 1's val_loss, not epoch 2's
    assert result.metrics["dev"]["loss"] == pytest.approx(result.history[0]["val_loss"], rel=1e-4)
    assert result.metrics["dev"]["loss"] != pytest.approx(result.history[1]["val_loss"], rel=1e-4)
    state = json.loads((result.run_dir / "checkpoints" / "state.json").read_text())
    assert state["best"] == {
        "monitor": "val_loss",
        "value": pytest.approx(result.history[0]["val_loss"]),
        "epoch": 1,
    }

    refused = runner.invoke(app, ["train", "--resume", str(result.run_dir), "--set", "train.epochs=9"])
    assert refused.exit_code == 2
    assert "stopped early at epoch 2: nothing to resume" in refused.output
