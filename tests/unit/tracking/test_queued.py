"""A study's MLflow writes on one writer thread: all of them arrive, in order; errors are not lost."""

from __future__ import annotations

import threading

import pytest

from dlkit.errors import TrackingError
from dlkit.tracking.mlflow_tracker import MLflowStore
from dlkit.tracking.queued import QueuedStore


class _ThreadsSeen(MLflowStore):
    """The real store, noting the thread each write ran on."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.threads: set[str] = set()

    def log_params(self, run_id, params) -> None:  # type: ignore[no-untyped-def]
        self.threads.add(threading.current_thread().name)
        super().log_params(run_id, params)


def test_a_trials_writes_all_arrive_in_order_from_one_other_thread(tracking_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    inner = _ThreadsSeen(tracking_uri)
    store = QueuedStore(inner)
    parent = store.start_run("exp", "round-1", {"dlkit.kind": "round"})
    trial = store.start_run("exp", "r1-t0", {"dlkit.trial": "r1-t0"}, parent=parent)
    params = {"lr": 0.01}
    store.log_params(trial, params)
    params["lr"] = 0.5  # the caller's dict changing after the call changes nothing logged
    store.log_metric_steps(trial, [(0, {"dev_accuracy": 0.9}), (1, {"loss": 0.5}), (2, {"loss": 0.25})])
    store.set_tags(trial, {"dlkit.failure_reason": "none"})
    store.finish(trial, "FINISHED")
    store.finish(parent, "FINISHED")
    # an answer comes after every write queued before it
    assert store.find_run("exp", {"dlkit.trial": "r1-t0"}) == trial
    store.close()

    client = MlflowClient(tracking_uri=tracking_uri)
    run = client.get_run(trial)
    assert run.data.params == {"lr": "0.01"}
    assert run.data.tags["dlkit.failure_reason"] == "none"
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert [(m.step, m.value) for m in client.get_metric_history(trial, "loss")] == [(1, 0.5), (2, 0.25)]
    assert run.info.status == "FINISHED" and client.get_run(parent).info.status == "FINISHED"
    assert inner.threads and threading.current_thread().name not in inner.threads


def test_a_failed_write_is_raised_by_the_next_call_and_the_rest_still_arrive(tracking_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    store = QueuedStore(MLflowStore(tracking_uri))
    run = store.start_run("exp", "run", {})
    store.log_params(run, {"lr": 0.01})
    store.log_params(run, {"lr": 0.02})  # MLflow refuses a changed param
    store.log_metrics(run, {"loss": 1.0})
    with pytest.raises(TrackingError) as info:
        store.flush()
    assert info.value.message.startswith(f"tracking store {store.uri}: run {run}: log params: ")
    store.finish(run, "FAILED")
    store.close()  # raised once: nothing is left to raise
    logged = MlflowClient(tracking_uri=tracking_uri).get_run(run)
    assert logged.data.metrics == {"loss": 1.0} and logged.info.status == "FAILED"
