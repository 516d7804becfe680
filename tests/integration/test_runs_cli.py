"""`dlkit runs list|show|compare|delete`, `--json`, and the decision journal, against a real
MLflow SQLite store.

Most runs here are planted straight into the store with MLflow's own client (plus a run
directory beside each), which is fast and gives known answers; one real 2-epoch run per module
(trained through ``dlkit train --json``) checks what training records, and the decision chain
is checked end to end on it (diagnose, then ``train --from``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.rundir import RunDir
from tests.conftest import write_recipe

runner = CliRunner()

TINY_IRIS = """
name: tiny-iris
seed: 0
data:
  source: {type: sklearn, name: iris}
  split: {train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15}
model: {type: mlp, units: [8]}
train: {epochs: 2, batch_size: 32, optimizer: {type: adam, learning_rate: 0.01}}
targets: {human_error: 0.01}
"""


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def plant(
    client: Any,
    root: Path,
    name: str,
    *,
    experiment: str = "exp",
    recipe: str = "rec",
    params: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    status: str = "FINISHED",
    **info: Any,
) -> str:
    """An MLflow run (params, final metrics, dlkit's tags) and its run directory; its id."""
    found = client.get_experiment_by_name(experiment)
    exp_id = found.experiment_id if found else client.create_experiment(experiment)
    path = root / "runs" / name
    run = client.create_run(
        exp_id,
        run_name=name,
        tags={"dlkit.run_dir": str(path.resolve()), "dlkit.recipe": recipe},
    )
    run_id = run.info.run_id
    for k, v in (params or {}).items():
        client.log_param(run_id, k, v)
    for k, v in (metrics or {}).items():
        client.log_metric(run_id, k, v)
    if status != "RUNNING":
        client.set_terminated(run_id, status)
    RunDir(path).update_info(
        run_name=name,
        run_id=run_id,
        tracking_uri=os.environ["MLFLOW_TRACKING_URI"],
        experiment=experiment,
        recipe_name=recipe,
        status=status,
        **info,
    )
    return str(run_id)


@pytest.fixture
def client(tracking_uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


# -- list --------------------------------------------------------------------------------------


def test_a_run_whose_process_died_is_listed_dead_with_how_to_resume(workdir, client):
    alive = plant(client, workdir, "done", metrics={"dev_accuracy": 0.8})
    dead = plant(
        client,
        workdir,
        "killed-hard",
        status="RUNNING",  # what MLflow keeps forever after a SIGKILL
        pid=_dead_pid(),
        host=socket.gethostname(),
        heartbeat=_now(),
        started=_now(),
    )
    out = _json(["runs", "list", "--json"])
    by_name = {r["name"]: r for r in out["runs"]}
    assert by_name["killed-hard"]["status"] == "DEAD"
    assert by_name["killed-hard"]["tracked_status"] == "RUNNING"
    assert by_name["killed-hard"]["run_id"] == dead
    assert (
        by_name["killed-hard"]["resume"]
        == f"dlkit train --resume {(workdir / 'runs' / 'killed-hard').resolve()}"
    )
    assert by_name["done"]["status"] == "FINISHED" and by_name["done"]["run_id"] == alive
    assert by_name["done"]["metrics"] == {"dev": {"accuracy": 0.8}}
    assert _json(["runs", "list", "--status", "dead", "--json"])["runs"][0]["name"] == "killed-hard"

    text = runner.invoke(app, ["runs", "list"])
    assert text.exit_code == 0, text.output
    assert "DEAD killed-hard: its process is gone (MLflow says RUNNING)" in text.output
    assert "dlkit train --resume" in text.output


def test_filters_sort_and_limit(workdir, client):
    plant(
        client,
        workdir,
        "a",
        experiment="e1",
        recipe="r1",
        metrics={"dev_accuracy": 0.95, "test_accuracy": 0.9},
    )
    plant(client, workdir, "b", experiment="e1", recipe="r2", metrics={"dev_accuracy": 0.85})
    plant(client, workdir, "c", experiment="e2", recipe="r1", metrics={"dev_accuracy": 0.91}, status="FAILED")
    plant(
        client, workdir, "d", experiment="e2", recipe="r1", metrics={"train_dev_loss": 0.3}, status="KILLED"
    )

    def names(*args: str) -> list[str]:
        return [r["name"] for r in _json(["runs", "list", "--json", *args])["runs"]]

    assert sorted(names("--experiment", "e1")) == ["a", "b"]
    assert sorted(names("--recipe", "r1")) == ["a", "c", "d"]
    assert names("--status", "FAILED") == ["c"]
    assert sorted(names("--metric", "dev.accuracy>0.9")) == ["a", "c"]
    assert names("--metric", "dev.accuracy>0.9", "--metric", "test.accuracy>=0.9") == ["a"]
    assert names("--metric", "train-dev.loss<0.5") == ["d"]
    assert names("--sort", "dev.accuracy") == ["a", "c", "b", "d"]  # no dev accuracy: last
    assert names("--sort", "dev.accuracy:asc") == ["b", "c", "a", "d"]
    assert names("--sort", "name") == ["a", "b", "c", "d"]
    limited = _json(["runs", "list", "--json", "--sort", "name", "--limit", "2"])
    assert [r["name"] for r in limited["runs"]] == ["a", "b"] and limited["n_matching"] == 4


def test_untracked_run_directories_are_listed_too(workdir, tracking_uri):
    RunDir(workdir / "runs" / "local").update_info(run_name="local", status="FINISHED", run_id=None)
    (workdir / "runs" / "local" / "metrics.json").write_text(json.dumps({"dev": {"n": 5, "accuracy": 0.6}}))
    (run,) = _json(["runs", "list", "--json"])["runs"]
    assert run["name"] == "local" and run["run_id"] is None and run["metrics"] == {"dev": {"accuracy": 0.6}}


def test_nesting_puts_trials_under_their_study(workdir, client):
    study = plant(client, workdir, "study")
    exp = client.get_experiment_by_name("exp").experiment_id
    trial = client.create_run(
        exp,
        run_name="t1",
        tags={"mlflow.parentRunId": study, "dlkit.kind": "trial", "dlkit.trial": "r1-t1"},
    )
    client.set_terminated(trial.info.run_id, "FINISHED")
    plant(client, workdir, "later")
    runs = _json(["runs", "list", "--json", "--sort", "name"])["runs"]
    assert [(r["name"], r["depth"]) for r in runs] == [("later", 0), ("study", 0), ("t1", 1)]
    assert runs[2]["kind"] == "trial" and runs[2]["parent_id"] == study


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--status", "ZOMBIE"], "--status: expected one of RUNNING, FINISHED, FAILED, KILLED, DEAD"),
        (["--metric", "dev.accuracy~0.9"], "--metric: expected SET.METRIC OP NUMBER"),
        (["--metric", "dev.accuracy>high"], "--metric: expected SET.METRIC OP NUMBER"),
        (["--sort", "name:up"], "--sort: expected KEY, KEY:asc or KEY:desc"),
        (["--limit", "0"], "--limit: expected at least 1"),
    ],
)
def test_bad_options_are_one_line(workdir, args, words):
    result = runner.invoke(app, ["runs", "list", *args])
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output


def test_unknown_experiment_suggests_one(workdir, client):
    plant(client, workdir, "a", experiment="baseline")
    result = runner.invoke(app, ["runs", "list", "--experiment", "baselin"])
    assert result.exit_code == 2
    assert "no run in experiment 'baselin'. Did you mean 'baseline'?" in result.output


def test_no_store_yet_is_not_created(workdir):
    out = _json(["runs", "list", "--json"])
    assert out["runs"] == [] and not (workdir / "mlflow.db").exists()


# -- compare, show, delete -----------------------------------------------------------------------


def test_compare_json_gives_differing_params_and_metrics_as_stored(workdir, client):
    one = plant(
        client,
        workdir,
        "one",
        params={"model.units": "[8]", "train.epochs": "2", "seed": "0"},
        metrics={
            "train_accuracy": 0.91234567,
            "dev_accuracy": 0.8123,
            "dev_loss": 0.5,
            "diagnose_variance": 0.1,
        },
    )
    two = plant(
        client,
        workdir,
        "two",
        params={"model.units": "[16]", "train.epochs": "2", "seed": "1"},
        metrics={"train_accuracy": 0.95, "dev_accuracy": 0.8555, "test_accuracy": 0.84},
    )
    out = _json(["runs", "compare", "one", two, "--json"])
    assert [r["run_id"] for r in out["runs"]] == [one, two]
    assert out["params"] == {"model.units": ["[8]", "[16]"], "seed": ["0", "1"]}
    assert out["n_same_params"] == 1
    stored = [client.get_run(i).data.metrics for i in (one, two)]
    assert out["metrics"]["train"]["accuracy"] == [stored[0]["train_accuracy"], stored[1]["train_accuracy"]]
    assert out["metrics"]["dev"] == {
        "accuracy": [stored[0]["dev_accuracy"], stored[1]["dev_accuracy"]],
        "loss": [0.5, None],
    }
    assert out["metrics"]["test"] == {"accuracy": [None, 0.84]}
    assert out["gaps"] == {"variance": [0.1, None]}

    text = runner.invoke(app, ["runs", "compare", "one", "two"])
    assert text.exit_code == 0 and "Params that differ (1 equal, not shown)" in text.output


def test_compare_needs_two_runs(workdir, client):
    plant(client, workdir, "one")
    result = runner.invoke(app, ["runs", "compare", "one"])
    assert result.exit_code == 2 and "expected at least two runs" in result.output


def test_show_json_has_params_metrics_tags_and_artifacts(workdir, client):
    run_id = plant(client, workdir, "one", params={"seed": "3"}, metrics={"dev_error": 0.25})
    note = workdir / "note.txt"
    note.write_text("x")
    client.log_artifact(run_id, str(note), "reports")
    out = _json(["runs", "show", run_id, "--json"])
    assert out["name"] == "one" and out["status"] == "FINISHED"
    assert out["params"] == {"seed": "3"}
    assert out["metrics"] == {"dev": {"error": 0.25}}
    assert out["tags"]["dlkit.recipe"] == "rec" and "mlflow.runName" not in out["tags"]
    assert out["artifacts"] == ["reports/", "reports/note.txt"]
    assert [s["name"] for s in out["chain"]] == ["one"] and out["chain"][0]["current"] is True


def test_unknown_run_is_one_line(workdir, tracking_uri):
    result = runner.invoke(app, ["runs", "show", "nope"])
    assert result.exit_code == 2
    assert "run 'nope': no run directory, run name or MLflow run id matches" in result.output


def test_delete_marks_the_run_deleted_in_mlflow(workdir, client):
    keep = plant(client, workdir, "keep")
    gone = plant(client, workdir, "gone")
    result = runner.invoke(app, ["runs", "delete", "gone", "--yes"])
    assert result.exit_code == 0, result.output
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    exp = client.get_experiment_by_name("exp").experiment_id
    assert [r.info.run_id for r in client.search_runs([exp])] == [keep]
    assert (workdir / "runs" / "gone" / "run.json").is_file()  # kept without --purge
    assert [r["name"] for r in _json(["runs", "list", "--json"])["runs"]] == ["keep"]


def test_delete_purge_removes_the_run_directory(workdir, client):
    gone = plant(client, workdir, "gone")
    assert runner.invoke(app, ["runs", "delete", gone, "--yes", "--purge"]).exit_code == 0
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    assert not (workdir / "runs" / "gone").exists()


def test_delete_asks_first(workdir, client):
    run_id = plant(client, workdir, "maybe")
    result = runner.invoke(app, ["runs", "delete", "maybe"], input="n\n")
    assert result.exit_code == 0 and "Nothing deleted." in result.stdout
    assert "maybe [FINISHED]" in result.output
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_delete_refuses_a_live_run(workdir, client):
    run_id = plant(
        client,
        workdir,
        "live",
        status="RUNNING",
        pid=os.getpid(),
        host=socket.gethostname(),
        heartbeat=_now(),
    )
    result = runner.invoke(app, ["runs", "delete", "live", "--yes"])
    assert result.exit_code == 1
    assert "run 'live' is still training: not deleted" in result.output
    assert client.get_run(run_id).info.lifecycle_stage == "active"


# -- a real run: train --json, the decision chain -------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> dict[str, Any]:
    """One real 2-epoch tracked run, trained by ``dlkit train --json``: its folder, store, output."""
    folder = tmp_path_factory.mktemp("runs_cli")
    shutil.copy(migrated_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    recipe = write_recipe(folder, TINY_IRIS)
    sets = [f"tracking.uri={uri}", f"tracking.runs_dir={folder / 'runs'}"]
    result = runner.invoke(app, ["train", str(recipe), *(a for s in sets for a in ("--set", s)), "--json"])
    assert result.exit_code == 0, result.output
    return {"folder": folder, "uri": uri, "recipe": recipe, "sets": sets, "out": json.loads(result.stdout)}


@pytest.mark.slow
def test_train_json_is_one_document_matching_mlflow(trained):
    from mlflow.tracking import MlflowClient

    out = trained["out"]
    run = MlflowClient(tracking_uri=trained["uri"]).get_run(out["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == out["run_name"]
    for name, values in out["metrics"].items():
        for key, value in values.items():
            if key not in ("n", "n_steps"):
                assert run.data.metrics[f"{name}_{key}"] == pytest.approx(value, rel=1e-12)
    assert out["epochs_run"] == 2 and out["split_sizes"]["dev"] == int(run.data.params["data.n_dev"])
    assert Path(out["run_dir"]).name == out["run_name"]


@pytest.mark.slow
def test_the_chain_diagnosis_action_next_run_result(trained, workdir):
    from mlflow.tracking import MlflowClient

    uri, first = trained["uri"], trained["out"]
    client = MlflowClient(tracking_uri=uri)
    diagnosed = _json(["diagnose", first["run_dir"], "--json", "--tracking-uri", uri])["runs"][0]
    tags = client.get_run(first["run_id"]).data.tags
    verdict = diagnosed["verdict"] or "none"
    assert tags["dlkit.diagnosis"] == verdict
    journal = json.loads((Path(first["run_dir"]) / "journal" / "diagnosis.json").read_text())
    assert journal["problem"] == verdict and journal["action"] == tags["dlkit.diagnosis.action"]
    assert "journal/diagnosis.json" in {a.path for a in client.list_artifacts(first["run_id"], "journal")}

    sets = [a for s in trained["sets"] for a in ("--set", s)]
    result = runner.invoke(
        app,
        [
            "train",
            str(trained["recipe"]),
            *sets,
            "--set",
            "model.units=[4]",
            "--from",
            first["run_dir"],
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    second = json.loads(result.stdout)
    linked = client.get_run(second["run_id"]).data.tags
    assert linked["dlkit.derived_from"] == first["run_id"] and linked["dlkit.derived_from.via"] == "--from"

    shown = _json(["runs", "show", second["run_dir"], "--json", "--tracking-uri", uri])
    assert [s["run_id"] for s in shown["chain"]] == [first["run_id"], second["run_id"]]
    before, after = shown["chain"]
    assert before["verdicts"]["diagnosis"]["problem"] == verdict
    assert after["current"] and after["derived_from"] == first["run_id"]
    assert (
        after["metrics"]["dev"]["accuracy"] == client.get_run(second["run_id"]).data.metrics["dev_accuracy"]
    )
    # the earlier run's own page tells what followed
    earlier = _json(["runs", "show", first["run_id"], "--json", "--tracking-uri", uri])
    assert [s["name"] for s in earlier["chain"]] == [first["run_name"], second["run_name"]]
    text = runner.invoke(app, ["runs", "show", second["run_dir"], "--tracking-uri", uri])
    assert text.exit_code == 0
    assert f"diagnosis: {verdict} → {tags['dlkit.diagnosis.action']}" in text.output
    assert "derived (--from)" in text.output
