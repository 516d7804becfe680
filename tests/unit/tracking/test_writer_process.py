"""The tracking writer process: its errors reach the caller as the one line they would be in this
process, and a caller killed mid-run leaves its run KILLED with every write it queued."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dlkit.errors import TrackingError
from dlkit.tracking.queued import WRITER_ENV, QueuedStore
from tests.conftest import REPO, running


def test_a_store_error_in_the_writer_process_reaches_the_caller_as_one_line(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv(WRITER_ENV, "process")
    client = MlflowClient(tracking_uri=tracking_uri)
    client.delete_experiment(client.create_experiment("gone"))
    store = QueuedStore.open(tracking_uri)
    try:
        assert not store.in_process
        run = store.start_run("exp", "run", {"dlkit.recipe": "x"})
        store.log_params(run, {"lr": 0.01})
        store.log_params(run, {"lr": 0.02})  # MLflow refuses a changed param
        store.log_metrics(run, {"loss": 1.0}, step=3)
        with pytest.raises(TrackingError) as info:
            store.flush()
        assert info.value.message.startswith(f"tracking store {tracking_uri}: run {run}: log params: ")
        assert "Changing param values is not allowed" in info.value.message
        with pytest.raises(TrackingError) as info:  # a hint comes back too
            store.start_run("gone", "run", {})
        assert info.value.message == f"tracking store {tracking_uri}: experiment 'gone' is deleted"
        assert info.value.hint == "restore it in MLflow, or set tracking.experiment to another name"
        store.finish(run, "FAILED")
    finally:
        store.close()
    logged = client.get_run(run)
    assert logged.data.params == {"lr": "0.01"} and logged.data.tags["dlkit.recipe"] == "x"
    assert [(m.step, m.value) for m in client.get_metric_history(run, "loss")] == [(3, 1.0)]
    assert logged.info.status == "FAILED"


# a caller that starts a run, queues ten epochs' metrics and a tag, says its run id and waits to
# be killed; it never ends the run
CALLER = textwrap.dedent(
    """
    import sys, time
    from dlkit.tracking.queued import QueuedStore

    store = QueuedStore.open(sys.argv[1])
    run = store.start_run("exp", "killed", {})
    for step in range(10):
        store.log_metrics(run, {"loss": 1.0 / (step + 1)}, step=step)
    store.set_tags(run, {"dlkit.last": "queued"})
    print(run, flush=True)
    time.sleep(60)
    """
)


def test_a_caller_killed_mid_run_leaves_its_run_killed_with_every_queued_write(
    tracking_uri: str, workdir: Path
) -> None:
    from mlflow.tracking import MlflowClient

    env = {**os.environ, "PYTHONPATH": str(REPO), WRITER_ENV: "process"}
    cmd = [sys.executable, "-c", CALLER, tracking_uri]
    client = MlflowClient(tracking_uri=tracking_uri)
    with running(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        run = proc.stdout.readline().strip()
        assert run, f"the caller ended (exit {proc.wait()}) before starting its run"
        os.kill(proc.pid, signal.SIGKILL)  # the caller alone: its writer lives on
        proc.wait()
        deadline = time.monotonic() + 60
        while client.get_run(run).info.status == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.2)
    logged = client.get_run(run)
    assert logged.info.status == "KILLED" and logged.info.end_time is not None
    assert [m.step for m in client.get_metric_history(run, "loss")] == list(range(10))
    assert logged.data.tags["dlkit.last"] == "queued"
