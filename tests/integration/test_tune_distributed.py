"""keras-tuner's chief/worker mode: a chief and two workers on localhost, one `mlflow server` (SQL)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import running, write_recipe

RECIPE = """
name: distributed
seed: 0
data:
  source: {type: sklearn, name: digits}
  split: {train: 0.6, dev: 0.2, test: 0.2}
model: {type: mlp, units: [8]}
train: {epochs: 1, batch_size: 128}
tune:
  trials: 2       # one per worker: enough for a trial run twice or lost to show
  space:
    train.optimizer.learning_rate: {log: [1.0e-3, 1.0e-1]}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_chief_and_two_workers_record_every_trial_once(workdir: Path, migrated_store: Path) -> None:
    import shutil

    shutil.copy(migrated_store, workdir / "server.db")
    mlflow_port, oracle_port = _free_port(), _free_port()
    uri = f"http://127.0.0.1:{mlflow_port}"
    procs: list[subprocess.Popen[str]] = []
    # on leaving, whatever happens: the tuners ended first, then the server, each with its children
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            running(
                [
                    *(
                        sys.executable,
                        "-m",
                        "mlflow",
                        "server",
                        "--backend-store-uri",
                        f"sqlite:///{workdir / 'server.db'}",
                    ),
                    *("--host", "127.0.0.1", "--port", str(mlflow_port), "--workers", "1"),
                ],
                cwd=workdir,
                # no job runner (its consumers, each a Python process importing MLflow, compete
                # with the tuners for the CPUs): dlkit submits no server jobs, only runs
                env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stop_timeout=30,
            )
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{uri}/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)
        recipe = write_recipe(workdir, RECIPE)
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
        oracle = f"127.0.0.1:{oracle_port}"
        study = workdir / "study"
        base = [sys.executable, "-m", "dlkit", "tune"]
        commands = [
            [*base, str(recipe), "--chief", "--study", str(study), "--oracle", oracle],
            [*base, "--worker", "1", "--study", str(study), "--oracle", oracle],
            [*base, "--worker", "2", "--study", str(study), "--oracle", oracle],
        ]
        for command in commands:
            procs.append(
                stack.enter_context(
                    running(
                        command,
                        cwd=workdir,
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                    )
                )
            )
        outputs = [p.communicate(timeout=300)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outputs

        table = pd.read_csv(study / "trials.csv")
        assert sorted(table["trial"]) == [f"r1-t{i}" for i in range(2)]
        assert (table["status"] == "COMPLETED").all()
        assert set(table["tuner"]) <= {"worker1", "worker2"}

        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("distributed")
        runs = client.search_runs([experiment.experiment_id])
        trials = [r for r in runs if r.data.tags.get("dlkit.kind") == "trial"]
        assert sorted(r.data.tags["dlkit.trial"] for r in trials) == [f"r1-t{i}" for i in range(2)]
        [round_run] = [r for r in runs if r.data.tags.get("dlkit.kind") == "round"]
        assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {round_run.info.run_id}
        assert {r.info.status for r in runs} == {"FINISHED"}
        assert "Best: trial" in outputs[0]
