"""``train.strategy: multi_worker`` with two real ``dlkit train`` processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import running, write_recipe

pytestmark = pytest.mark.slow

# 341 training rows in batches of 32: every worker trains on 16 rows of each global batch
RECIPE = """
name: mw-cancer
seed: 0
data: {source: {type: sklearn, name: breast_cancer}}
model: {type: mlp, units: [16]}
train:
  epochs: 3
  batch_size: 32
  optimizer: {type: adam, learning_rate: 0.01}
  strategy: multi_worker
"""


def _free_ports(n: int) -> list[int]:
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def _only(folder: Path) -> Path:
    (item,) = list(folder.iterdir())
    return item


def test_two_workers_train_as_one_and_only_the_chief_records(workdir: Path, tracking_uri: str) -> None:
    from dlkit import api

    recipe = write_recipe(workdir, RECIPE)
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    outputs = []
    with ExitStack() as stack:
        procs = []
        for index in (0, 1):
            folder = workdir / f"task{index}"
            folder.mkdir()
            config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
            env = {**os.environ, "TF_CONFIG": json.dumps(config), "DLKIT_WORKER_TIMEOUT_S": "120"}
            cmd = [sys.executable, "-m", "dlkit", "train", str(recipe)]
            procs.append(
                stack.enter_context(
                    running(
                        cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                    )
                )
            )
        # meanwhile, the same recipe on one worker in this process: the same global batch, epochs
        # and seed (it uses the CPU the two workers leave idle while they wait on each other)
        one = api.train(
            api.load_recipe(recipe, ["train.strategy=default", f"tracking.runs_dir={workdir / 'one'}"]),
            track=False,
        )
        for proc in procs:  # a hang fails the test; `running` ends both processes whatever happens
            outputs.append(proc.communicate(timeout=300)[0])
    chief, worker = procs
    assert chief.returncode == 0, outputs[0]
    assert worker.returncode == 0, outputs[1]
    assert "Training as worker 1 of 2: the chief writes the run" in outputs[1]
    assert "as worker 1 of 2; the chief evaluates and records the run" in outputs[1]
    assert not (workdir / "task1" / "runs").exists()  # the worker wrote nothing

    run_dir = _only(workdir / "task0" / "runs")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "FINISHED" and info["epochs_run"] == 3
    assert info["runtime"]["strategy"] == "multi_worker" and info["runtime"]["replicas"] == 2
    assert (run_dir / "checkpoints" / "last.keras").is_file() and (
        run_dir / "model" / "model.keras"
    ).is_file()
    client = MlflowClient(tracking_uri=tracking_uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [r.info.run_id for r in runs] == [info["run_id"]]
    assert runs[0].info.status == "FINISHED"

    metrics = json.loads((run_dir / "metrics.json").read_text())
    # two workers average two half-batch gradients (the last, odd batch of an epoch split 11/10):
    # the same training up to rounding, so within one dev example of 114
    assert abs(metrics["dev"]["accuracy"] - one.metrics["dev"]["accuracy"]) <= 1 / 114 + 1e-9
    history = (run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 3
    assert metrics["dev"]["loss"] == pytest.approx(one.metrics["dev"]["loss"], rel=0.01)
