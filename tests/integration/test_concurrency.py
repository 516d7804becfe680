"""Several trainings started at once on one new SQLite store: every run is recorded whole.

MLflow creates a new store's tables on first use, without a lock; two processes doing it at once
used to crash one of them ("table runs already exists", "Online migration expected to match one
row") and lose its run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from dlkit.tracking.mlflow_tracker import default_uri
from tests.conftest import REPO, running, write_recipe

pytestmark = pytest.mark.slow

IRIS = """
name: iris-at-once
seed: 0
data:
  source: {type: sklearn, name: iris}
  split: {train: 0.6, dev: 0.2, test: 0.2}
model: {type: mlp, units: [8]}
train: {epochs: 1, batch_size: 32, optimizer: {type: adam, learning_rate: 0.01}}
"""


def test_trainings_started_at_once_on_a_new_store_are_all_recorded(workdir: Path) -> None:
    from mlflow.tracking import MlflowClient

    # four racing on the migration (a pair was tested too: four race harder, and include it)
    n = 4
    recipe = write_recipe(workdir, IRIS)
    db = workdir / "new" / "mlflow.db"  # not created yet: the first process to open it migrates it
    uri = f"sqlite:///{db}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI": uri}
    cmd = [sys.executable, "-m", "dlkit", "train", str(recipe)]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    with ExitStack() as stack:
        procs = [stack.enter_context(running(cmd, cwd=workdir, env=env, **pipes)) for _ in range(n)]
        outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out
        assert "Traceback" not in out

    run_dirs = sorted((workdir / "runs").iterdir())
    assert len(run_dirs) == n  # one folder each, even when started in the same second
    infos = [json.loads((d / "run.json").read_text()) for d in run_dirs]
    assert all(info["status"] == "FINISHED" for info in infos)
    client = MlflowClient(tracking_uri=uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "iris-at-once"]
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_id for r in runs) == sorted(info["run_id"] for info in infos)
    for run in runs:
        assert run.info.status == "FINISHED"
        assert "test_error" in run.data.metrics and "val_loss" in run.data.metrics
        with default_uri(uri):  # MLflow lists a logged model's files through its default store
            assert "model/model.keras" in {a.path for a in client.list_artifacts(run.info.run_id, "model")}
