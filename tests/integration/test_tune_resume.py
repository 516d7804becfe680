"""A study interrupted with Ctrl-C (a real SIGINT to a real process) resumes: no trial lost or repeated.

The interrupted study is also the suite's real ``dlkit tune`` process: its MLflow records are
made by the tracking writer process, and the study itself never imports MLflow.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import WATCHED_DLKIT, running, write_recipe

RECIPE = """
name: resumable
seed: 0
data:
  source: {type: sklearn, name: digits}
  split: {train: 0.6, dev: 0.2, test: 0.2}
model: {type: mlp, units: [16]}
train: {epochs: 4, batch_size: 64}
tune:
  trials: 4
  space:
    train.optimizer.learning_rate: {log: [1.0e-3, 1.0e-1]}
"""


def _completed(study: Path) -> int:
    done = 0
    for path in study.glob("trials/*/trial.json"):
        with contextlib.suppress(json.JSONDecodeError, KeyError):
            done += json.loads(path.read_text())["status"] == "COMPLETED"
    return done


@pytest.mark.slow
def test_interrupted_study_resumes_without_duplicates_or_losses(workdir: Path, tracking_uri: str) -> None:
    recipe = write_recipe(workdir, RECIPE)
    study = workdir / "study"
    with running(
        [sys.executable, "-c", WATCHED_DLKIT, "tune", str(recipe), "--study", str(study)],
        cwd=workdir,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        deadline = time.monotonic() + 120
        while _completed(study) < 1 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        time.sleep(0.5)  # into the next trial
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    # the study (its folder, named by --study) and the exact command that continues it
    assert "interrupted: study study stopped, marked KILLED" in out
    assert "continue it with: dlkit tune --resume study" in out
    info = json.loads((study / "study.json").read_text())
    assert info["status"] == "KILLED"
    before = _completed(study)
    assert 1 <= before < 4
    assert "mlflow imported: False" in out

    from mlflow.tracking import MlflowClient

    # everything queued before Ctrl-C was written by the writer process before the study left
    client = MlflowClient(tracking_uri=tracking_uri)
    [study_run] = client.search_runs(
        [client.get_experiment_by_name("resumable").experiment_id], "tags.`dlkit.kind` = 'study'"
    )
    assert study_run.info.status == "KILLED" and study_run.info.run_id == info["run_id"]
    trial_runs = client.search_runs([study_run.info.experiment_id], "tags.`dlkit.kind` = 'trial'")
    finished = [r for r in trial_runs if r.info.status == "FINISHED"]
    assert len(finished) == before and all("dev_accuracy" in r.data.metrics for r in finished)
    assert {r.info.status for r in trial_runs} <= {"FINISHED", "KILLED"}

    result = CliRunner().invoke(app, ["tune", "--resume", str(study)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(study / "trials.csv")
    assert sorted(table["trial"]) == ["r1-t0", "r1-t1", "r1-t2", "r1-t3"]
    assert (table["status"] == "COMPLETED").all()
    assert json.loads((study / "study.json").read_text())["status"] == "FINISHED"

    experiment = client.get_experiment_by_name("resumable")
    runs = client.search_runs([experiment.experiment_id])
    trials = [r for r in runs if r.data.tags.get("dlkit.kind") == "trial"]
    assert sorted(r.data.tags["dlkit.trial"] for r in trials) == ["r1-t0", "r1-t1", "r1-t2", "r1-t3"]
    assert {r.info.status for r in trials} == {"FINISHED"}
    assert [r.info.status for r in runs if r.data.tags.get("dlkit.kind") == "study"] == ["FINISHED"]
    # completed trials kept their values: the table's values are the ones their runs logged
    for run in trials:
        row = table[table["trial"] == run.data.tags["dlkit.trial"]].iloc[0]
        assert float(run.data.params["train.optimizer.learning_rate"]) == pytest.approx(
            row["train.optimizer.learning_rate"]
        )
