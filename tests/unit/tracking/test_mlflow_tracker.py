"""The one MLflow client: nested runs, statuses, batched params and metrics, tags, artifacts, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit.errors import TrackingError
from dlkit.tracking import NullStore, open_store
from dlkit.tracking.mlflow_tracker import MLflowStore, MLflowTracker, find_run, log_to_run


@pytest.fixture
def store(tracking_uri: str) -> MLflowStore:
    return MLflowStore(tracking_uri)


@pytest.fixture
def client(tracking_uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def test_study_round_trial_runs_nest_and_keep_their_status(store: MLflowStore, client) -> None:
    study = store.start_run("exp", "study", {"dlkit.kind": "study"})
    round_ = store.start_run("exp", "round-1", {"dlkit.kind": "round"}, parent=study)
    trial = store.start_run("exp", "r1-t0", {"dlkit.kind": "trial", "dlkit.trial": "r1-t0"}, parent=round_)
    assert "mlflow.parentRunId" not in client.get_run(study).data.tags
    assert client.get_run(round_).data.tags["mlflow.parentRunId"] == study
    assert client.get_run(trial).data.tags["mlflow.parentRunId"] == round_
    assert client.get_run(trial).info.run_name == "r1-t0"
    assert client.get_run(trial).info.status == "RUNNING"

    store.finish(trial, "KILLED")
    assert client.get_run(trial).info.status == "KILLED"
    store.reopen(trial)  # a resumed study re-runs the interrupted trial in the same run
    assert client.get_run(trial).info.status == "RUNNING"
    store.finish(trial, "FINISHED")
    assert client.get_run(trial).info.status == "FINISHED"
    assert store.find_run("exp", {"dlkit.trial": "r1-t0"}) == trial
    assert store.find_run("exp", {"dlkit.trial": "r1-t1"}) is None
    assert store.find_run("no-such-experiment", {"dlkit.trial": "r1-t0"}) is None


def test_params_are_batched_cut_to_mlflows_limit_and_may_be_logged_again(store: MLflowStore, client) -> None:
    run = store.start_run("exp", "run", {})
    params = {f"p{i:03d}": i for i in range(150)} | {"long": "x" * 7000, "none": None}
    store.log_params(run, params)
    logged = client.get_run(run).data.params
    assert len(logged) == 151  # no empty-string param for an unset (None) value
    assert logged["p149"] == "149" and "none" not in logged and len(logged["long"]) == 6000
    store.log_params(run, params)  # a resumed run logs the same values again: nothing changes
    assert client.get_run(run).data.params == logged
    with pytest.raises(TrackingError) as info:
        store.log_params(run, {"p000": "changed"})
    assert info.value.message.startswith(f"tracking store {store.uri}: run {run}: log params: ")


def test_metrics_are_logged_at_their_steps_and_non_finite_values_skipped(store: MLflowStore, client) -> None:
    run = store.start_run("exp", "run", {})
    history = [{"loss": 1.0, "val_loss": 1.5}, {"loss": 0.5, "val_loss": float("nan")}]
    for epoch, row in enumerate(history, start=1):
        store.log_metrics(run, row, step=epoch)
    store.log_metrics(run, {f"m{i}": float(i) for i in range(120)} | {"inf": float("inf"), "none": None})
    assert [(m.step, m.value) for m in client.get_metric_history(run, "loss")] == [(1, 1.0), (2, 0.5)]
    assert [(m.step, m.value) for m in client.get_metric_history(run, "val_loss")] == [(1, 1.5)]
    metrics = client.get_run(run).data.metrics
    assert metrics["m119"] == 119.0 and "inf" not in metrics and "none" not in metrics


def test_metric_steps_go_in_batches_and_params_are_checked_against_what_another_store_logged(
    store: MLflowStore, client, tracking_uri: str
) -> None:
    run = store.start_run("exp", "trial", {})
    history = [{f"m{k}": float(10 * e + k) for k in range(60)} for e in range(3)]  # 180 over 2 batches
    store.log_metric_steps(run, [(0, {"n_params": 7.0, "none": None}), *enumerate(history)])
    logged = client.get_metric_history(run, "m59")
    assert [(m.step, m.value) for m in logged] == [(0, 59.0), (1, 69.0), (2, 79.0)]
    assert client.get_run(run).data.metrics["n_params"] == 7.0
    store.log_params(run, {"lr": 0.1})
    other = MLflowStore(tracking_uri)  # a resumed study: the run was made by an earlier process
    other.log_params(run, {"lr": 0.1})
    with pytest.raises(TrackingError):
        other.log_params(run, {"lr": 0.2})
    assert client.get_run(run).data.params == {"lr": "0.1"}


def test_tags_and_artifacts(store: MLflowStore, client, workdir: Path) -> None:
    run = store.start_run("exp", "run", {"dlkit.kind": "study"})
    store.set_tags(run, {"dlkit.best_trial": "r1-t2", "dlkit.best_run_id": "abc"})
    (workdir / "table.csv").write_text("a\n1\n")
    (workdir / "plots").mkdir()
    (workdir / "plots" / "lr.png").write_bytes(b"png")
    store.log_artifact(run, workdir / "table.csv")
    store.log_artifact(run, workdir / "missing.csv")  # skipped
    store.log_artifacts(run, workdir / "plots", "plots")
    store.log_artifacts(run, workdir / "no-folder", "x")  # skipped
    tags = client.get_run(run).data.tags
    assert tags["dlkit.best_trial"] == "r1-t2" and tags["dlkit.best_run_id"] == "abc"
    assert sorted(a.path for a in client.list_artifacts(run)) == ["plots", "table.csv"]
    assert [a.path for a in client.list_artifacts(run, "plots")] == ["plots/lr.png"]


def test_untracked_runs_have_no_id_and_record_nothing(store: MLflowStore, client, workdir: Path) -> None:
    for method, args in [
        ("reopen", ()),
        ("finish", ("FINISHED",)),
        ("log_params", ({"a": 1},)),
        ("log_metrics", ({"a": 1.0},)),
        ("set_tags", ({"a": "b"},)),
        ("log_artifact", (workdir,)),
        ("log_artifacts", (workdir,)),
    ]:
        getattr(store, method)(None, *args)
        getattr(NullStore(), method)(None, *args)
    null = open_store(False, "sqlite:///never.db")
    assert isinstance(null, NullStore) and null.uri is None
    assert null.start_run("exp", "run", {}) is None and null.find_run("exp", {"a": "b"}) is None
    assert client.get_experiment_by_name("exp") is None
    assert not (workdir / "never.db").exists()


def test_a_deleted_experiment_is_refused_with_a_hint(store: MLflowStore, client) -> None:
    client.delete_experiment(client.create_experiment("gone"))
    with pytest.raises(TrackingError) as info:
        store.start_run("gone", "run", {})
    assert info.value.message == f"tracking store {store.uri}: experiment 'gone' is deleted"
    assert info.value.hint == "restore it in MLflow, or set tracking.experiment to another name"


def test_tracker_is_one_run_of_the_store(tracking_uri: str, client) -> None:
    parent = MLflowStore(tracking_uri).start_run("exp", "study", {})
    tracker = MLflowTracker(tracking_uri, parent_run_id=parent)
    tracker.start("exp", "train", {"dlkit.recipe": "x"})
    assert tracker.run_id is not None and tracker.uri == tracking_uri
    tracker.log_params({"train.epochs": 3})
    tracker.log_metrics({"loss": 0.5}, step=2)
    tracker.log_metrics({"dev_accuracy": 0.9})
    tracker.set_tags({"dlkit.warnings": "none"})
    tracker.finish("FAILED")
    run = client.get_run(tracker.run_id)
    assert run.data.tags["mlflow.parentRunId"] == parent and run.data.tags["dlkit.recipe"] == "x"
    assert run.data.params == {"train.epochs": "3"} and run.info.status == "FAILED"
    assert [m.step for m in client.get_metric_history(tracker.run_id, "loss")] == [2]
    assert [m.step for m in client.get_metric_history(tracker.run_id, "dev_accuracy")] == [0]

    resumed = MLflowTracker(tracking_uri)
    resumed.resume(tracker.run_id)
    assert client.get_run(tracker.run_id).info.status == "RUNNING"
    resumed.finish("FINISHED")
    assert client.get_run(tracker.run_id).info.status == "FINISHED"
    with pytest.raises(TrackingError) as info:
        MLflowTracker(tracking_uri).resume("0" * 32)
    assert info.value.message.startswith(f"tracking store {tracking_uri}: run {'0' * 32}: ")


def test_find_run_by_id_or_name_and_log_to_a_finished_run(tracking_uri: str, client, workdir: Path) -> None:
    store = MLflowStore(tracking_uri)
    run = store.start_run("exp", "named-run", {"dlkit.run_dir": "/runs/named-run"})
    store.finish(run, "FINISHED")
    report = workdir / "diagnose.md"
    report.write_text("# report\n")
    log_to_run(run, tracking_uri, [(report, "reports"), (workdir / "missing.md", "reports")], {"bias": 0.02})
    log_to_run(None, tracking_uri, [(report, "reports")], {"bias": 1.0})  # an untracked run: nothing
    assert client.get_run(run).data.metrics == {"bias": 0.02}
    assert client.get_run(run).info.status == "FINISHED"

    for ref in (run, "named-run"):
        found = find_run(ref, tracking_uri)
        assert found is not None and found[:2] == (run, "/runs/named-run")
    assert find_run("no-such-run", tracking_uri) is None
    assert found is not None
    found[2](workdir / "download")
    assert (workdir / "download" / "reports" / "diagnose.md").read_text() == "# report\n"


def test_registering_a_run_without_a_logged_model_leaves_no_registered_model(
    store: MLflowStore, client
) -> None:
    run = store.start_run("exp", "run", {})
    assert client.get_run(run).data.tags["mlflow.source.type"] == "LOCAL"  # MLflow's system tags
    with pytest.raises(TrackingError) as info:
        store.register(run, "orphan")
    assert info.value.message == f"run {run}: no logged MLflow model to register"
    assert client.search_registered_models() == []


def test_epoch_metrics_are_written_by_the_writer_in_order_and_all_in_before_the_run_ends(
    tracking_uri: str, client
) -> None:
    import threading

    tracker = MLflowTracker(tracking_uri)
    tracker.start("exp", "train", {})
    for step in range(20):
        tracker.log_metrics({"loss": 1.0 / (step + 1), "val_loss": float(step)}, step=step)
    tracker.finish("KILLED")
    assert [m.step for m in client.get_metric_history(tracker.run_id, "loss")] == list(range(20))
    assert [m.value for m in client.get_metric_history(tracker.run_id, "val_loss")] == list(range(20))
    assert client.get_run(tracker.run_id).info.status == "KILLED"
    assert not any(t.name.startswith("dlkit-tracking") for t in threading.enumerate())  # closed


def test_a_store_error_in_the_writer_is_raised_in_the_caller(tracking_uri: str, client) -> None:
    tracker = MLflowTracker(tracking_uri)
    tracker.start("exp", "train", {})
    client.delete_run(tracker.run_id)  # MLflow refuses metrics for a deleted run
    tracker.log_metrics({"loss": 0.5}, step=0)
    with pytest.raises(TrackingError) as info:
        tracker.flush()
    where = f"tracking store {tracking_uri}: run {tracker.run_id}: log metrics: "
    assert info.value.message.startswith(where)
    tracker.flush()  # raised once


def test_a_set_logged_by_another_run_at_the_same_moment_is_retried_not_lost(
    store: MLflowStore, client
) -> None:
    """Two runs logging the same set at once: MLflow looks the set up, does not find it, and by the
    time it inserts it the other run has (four trainings on one new store hit this in CI). The
    other run's insert is made here between MLflow's lookup and its insert, on the real store."""
    from sqlalchemy import event

    inputs = [
        {"name": n, "digest": f"{n}-digest", "source": "{}", "profile": "{}", "context": n}
        for n in ("train", "dev")
    ]
    other = store.start_run("exp", "other", {})
    mine = store.start_run("exp", "mine", {})
    engine = client._tracking_client.store.engine
    raced = []

    def the_other_run_first(conn, cursor, statement, *args) -> None:
        if statement.startswith("INSERT INTO datasets") and not raced:
            raced.append(statement)
            MLflowStore(store.uri).log_inputs(other, inputs)  # another client: its own connection

    # the store's own engine is the one the event is set on: one per URI in this process
    assert store._client._tracking_client.store.engine is engine
    event.listen(engine, "before_cursor_execute", the_other_run_first)
    try:
        store.log_inputs(mine, inputs)
    finally:
        event.remove(engine, "before_cursor_execute", the_other_run_first)
    assert raced  # the race did happen
    for run_id in (mine, other):
        logged = client.get_run(run_id).inputs.dataset_inputs
        assert sorted(d.dataset.name for d in logged) == ["dev", "train"]
    # one dataset per set in the experiment, shared by both runs
    datasets = {
        (d.dataset.name, d.dataset.digest)
        for r in (mine, other)
        for d in client.get_run(r).inputs.dataset_inputs
    }
    assert datasets == {("train", "train-digest"), ("dev", "dev-digest")}


def test_two_runs_registering_a_new_name_at_the_same_moment_both_get_a_version(
    store: MLflowStore, client
) -> None:
    """The other run's registration is made between this one's lookup of the name (not found) and
    its creation of it: both versions land in the one registered model."""
    from sqlalchemy import event

    from dlkit.tracking.mlflow_model import MODEL_NAME

    runs = [store.start_run("exp", name, {}) for name in ("other", "mine")]
    experiment = client.get_run(runs[0]).info.experiment_id
    for run in runs:  # what a training logs, without its files: the register step only reads this
        client.create_logged_model(experiment, name=MODEL_NAME, source_run_id=run)
    engine = client._get_registry_client().store.engine
    raced = []

    def the_other_run_first(conn, cursor, statement, *args) -> None:
        if statement.startswith("INSERT INTO registered_models") and not raced:
            raced.append(statement)
            assert MLflowStore(store.uri).register(runs[0], "digits") == 1

    event.listen(engine, "before_cursor_execute", the_other_run_first)
    try:
        version = store.register(runs[1], "digits")
    finally:
        event.remove(engine, "before_cursor_execute", the_other_run_first)
    assert raced
    assert version == 2
    versions = client.search_model_versions("name = 'digits'")
    assert sorted((int(v.version), v.run_id) for v in versions) == [(1, runs[0]), (2, runs[1])]
