"""``dlkit tune`` end to end on digits: a real keras-tuner search, a real MLflow SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()

TUNE_RECIPE = """
name: tiny-tune
seed: 0
data:
  source: {type: sklearn, name: digits}
  split: {train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15}
model: {type: mlp, units: [8]}
train: {epochs: 1, batch_size: 128}
metrics: {optimize: accuracy, satisfice: {params: "<= 2000"}}
targets: {human_error: 0.01}
tune:
  trials: 3
  rounds: 2
  refine_top: 2
  space:
    train.optimizer.learning_rate: {log: [1.0e-3, 1.0e-1]}
    model.units.0: {int: [4, 64]}
"""


def _runs(uri: str, experiment: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    return list(client.search_runs([found.experiment_id], max_results=1000))


def _study(workdir: Path) -> Path:
    [study] = [p for p in (workdir / "runs").iterdir() if (p / "study.json").is_file()]
    return study


@pytest.mark.slow
def test_two_round_study_is_tracked_ranked_and_constrained(workdir: Path, tracking_uri: str) -> None:
    recipe = write_recipe(workdir, TUNE_RECIPE)
    result = runner.invoke(app, ["tune", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "Coarse to fine: round 1 -> 2" in result.output
    study = _study(workdir)
    info = json.loads((study / "study.json").read_text())
    assert info["status"] == "FINISHED" and info["objective"] == "dev_accuracy"

    table = pd.read_csv(study / "trials.csv")
    assert sorted(table["trial"]) == ["r1-t0", "r1-t1", "r1-t2", "r2-t0", "r2-t1", "r2-t2"]
    assert len(pd.read_parquet(study / "trials.parquet")) == 6
    # params = 75 u + 13 (normalisation 3, dense 64u + u, output 10u + 10): the constraint is u <= 26
    done = table[table["status"] == "COMPLETED"]
    assert (done["n_params"] == 75 * done["model.units.0"] + 13).all()
    assert (done["feasible"] == (done["n_params"] <= 2000)).all()
    infeasible = done[~done["feasible"]]
    assert len(infeasible) >= 1 and infeasible["violations"].str.contains("params").all()
    best = table.iloc[0]
    assert best["rank"] == 1 and bool(best["feasible"])
    assert best["dev_accuracy"] == done[done["feasible"]]["dev_accuracy"].max()
    assert info["best_trial"] == best["trial"]

    # round 2 searched the narrowed box, on each dimension's own scale
    box = info["round_specs"]["2"]["space"]
    lr = box["train.optimizer.learning_rate"]["log"]
    round1 = table[(table["round"] == 1) & table["feasible"].astype(bool)].sort_values("dev_accuracy")
    assert 1e-3 <= lr[0] < lr[1] <= 1e-1
    r2 = table[table["round"] == 2]
    assert r2["train.optimizer.learning_rate"].between(lr[0], lr[1]).all()
    assert len(round1) >= 1

    # the split is made once: every trial carries the study's manifest
    manifest = pd.read_parquet(study / "split" / "manifest.parquet")
    for trial in table["trial"]:
        pd.testing.assert_frame_equal(
            pd.read_parquet(study / "trials" / trial / "split" / "manifest.parquet"), manifest
        )

    # best.yaml is a recipe dlkit train accepts, holding the best values
    from dlkit.recipe.loader import load_recipe

    best_recipe = load_recipe(study / "best.yaml")
    assert best_recipe.tune is None
    assert best_recipe.model.units == [int(best["model.units.0"])]
    assert best_recipe.train.optimizer.learning_rate == pytest.approx(best["train.optimizer.learning_rate"])
    assert sorted(p.name for p in (study / "plots").iterdir()) == [
        "model.units.0.png",
        "train.optimizer.learning_rate.png",
    ]

    # MLflow: study -> rounds -> trials; sampled values as params; the model of the best trial only
    runs = _runs(tracking_uri, "tiny-tune")
    by_kind: dict[str, list] = {}
    for run in runs:
        by_kind.setdefault(run.data.tags.get("dlkit.kind"), []).append(run)
    [parent] = by_kind["study"]
    assert len(by_kind["round"]) == 2 and len(by_kind["trial"]) == 6
    rounds = {r.info.run_id for r in by_kind["round"]}
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in by_kind["round"])
    assert all(r.data.tags["mlflow.parentRunId"] in rounds for r in by_kind["trial"])
    assert sorted(r.data.tags["dlkit.trial"] for r in by_kind["trial"]) == sorted(table["trial"])
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    for run in by_kind["trial"]:
        assert run.info.status == "FINISHED"
        assert "train.optimizer.learning_rate" in run.data.params and "model.units.0" in run.data.params
        has_model = any(a.path == "model" for a in client.list_artifacts(run.info.run_id))
        assert has_model == (run.data.tags["dlkit.trial"] == best["trial"])
        # the best trial's model is logged as an MLflow Model too (runs:/<id>/model)
        logged = client.get_run(run.info.run_id).outputs.model_outputs
        assert bool(logged) == (run.data.tags["dlkit.trial"] == best["trial"])
        # started while the trial trained, its id is in the trial's run.json and table row
        folder = study / "trials" / run.data.tags["dlkit.trial"]
        assert json.loads((folder / "run.json").read_text())["run_id"] == run.info.run_id
    trial_runs = {r.data.tags["dlkit.trial"]: r.info.run_id for r in by_kind["trial"]}
    assert dict(zip(table["trial"], table["run_id"], strict=True)) == trial_runs
    assert parent.data.tags["dlkit.best_trial"] == best["trial"]

    # diagnose on the study reads its best trial
    diag = runner.invoke(app, ["diagnose", str(study), "--json", "--no-report"])
    assert diag.exit_code == 0, diag.output
    [entry] = json.loads(diag.output)["runs"]
    assert best["trial"] in json.dumps(entry)

    # a study never looks at the test set: trials score train, train-dev and dev only
    assert not [c for c in table.columns if c.startswith("test_")]
    for trial in table["trial"]:
        folder = study / "trials" / trial
        assert set(json.loads((folder / "metrics.json").read_text())) == {"train", "train_dev", "dev"}
        assert not (folder / "predictions" / "test.parquet").exists()
    for run in by_kind["trial"]:
        assert not [k for k in run.data.metrics if k.startswith("test_")]
        # unique in the experiment: the study's name, then the trial's
        assert run.info.run_name == f"{info['name']}-{run.data.tags['dlkit.trial']}"
    assert not [k for k in parent.data.metrics if k.startswith("best_test_")]

    # best.yaml retrains to the best trial's result: a trial is `dlkit train` with its values
    retrained = runner.invoke(app, ["train", str(study / "best.yaml"), "--no-track"])
    assert retrained.exit_code == 0, retrained.output
    [run_dir] = [p for p in (workdir / "runs").iterdir() if (p / "metrics.json").is_file()]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["dev"]["accuracy"] == pytest.approx(best["dev_accuracy"], abs=1e-6)
    assert metrics["train"]["accuracy"] == pytest.approx(best["train_accuracy"], abs=1e-6)
    assert "test" in metrics  # the test set is first looked at here


@pytest.mark.slow
def test_failed_trials_are_recorded_and_the_search_goes_on_up_to_the_budget(
    workdir: Path, tracking_uri: str
) -> None:
    # a grid tries both learning rates: SGD at 1e30 diverges (NaN loss), at 0.1 it trains
    text = TUNE_RECIPE.split("tune:")[0] + (
        "tune:\n  strategy: grid\n  trials: 4\n  max_failures: 1\n  space:\n"
        "    train.optimizer.learning_rate: {choice: [1.0e+30, 0.1]}\n"
        "    train.optimizer.type: {choice: [sgd]}\n"
    )
    recipe = write_recipe(workdir, text)
    result = runner.invoke(app, ["tune", str(recipe)])
    assert result.exit_code == 0, result.output
    # an expected event: one line, no traceback (keras-tuner prints one by default)
    assert "Traceback" not in result.output and "FailedTrialError" not in result.output
    assert "train.optimizer.type: choice [sgd]" in result.output  # a value in brackets, as is
    [line] = [x for x in result.output.splitlines() if x.startswith("trial r1-t0 ")]
    assert line == (
        "trial r1-t0 failed: training loss became NaN or infinite in epoch 1 (learning rate 1e+30); "
        "training stopped (train.optimizer.learning_rate=1e+30, train.optimizer.type=sgd)"
    )
    table = pd.read_csv(_study(workdir) / "trials.csv")
    failed = table[table["status"] == "FAILED"]
    assert len(table) == 2 and len(failed) == 1
    assert (failed["train.optimizer.learning_rate"] == 1e30).all()
    assert failed["reason"].str.startswith("training loss became NaN").all()
    assert table.iloc[0]["status"] == "COMPLETED"
    runs = [r for r in _runs(tracking_uri, "tiny-tune") if r.data.tags.get("dlkit.kind") == "trial"]
    statuses = {r.data.tags["dlkit.trial"]: r.info.status for r in runs}
    assert {statuses[t] for t in failed["trial"]} == {"FAILED"}
    assert all(
        r.data.tags["dlkit.failure_reason"].startswith("training loss")
        for r in runs
        if r.info.status == "FAILED"
    )

    # the same space with no failure budget stops at the first failure, exit code 1
    strict = write_recipe(workdir, text.replace("max_failures: 1", "max_failures: 0"), "strict.yaml")
    stopped = runner.invoke(app, ["tune", str(strict), "--no-track", "--set", "tracking.runs_dir=strict"])
    assert stopped.exit_code == 1
    assert "trials failed, more than tune.max_failures = 0" in stopped.output


@pytest.mark.slow
def test_hyperband_trains_each_trial_for_its_epoch_budget(workdir: Path) -> None:
    text = TUNE_RECIPE.replace(
        "rounds: 2", "rounds: 1\n  strategy: hyperband\n  hyperband: {max_epochs: 2, factor: 2}"
    )
    recipe = write_recipe(
        workdir, text.replace('metrics: {optimize: accuracy, satisfice: {params: "<= 2000"}}', "")
    )
    result = runner.invoke(app, ["tune", str(recipe), "--no-track"])
    assert result.exit_code == 0, result.output
    study = _study(workdir)
    schedule = []
    for trial in pd.read_csv(study / "trials.csv")["trial"]:
        kt = json.loads(
            (study / "rounds" / "round-1" / f"trial_{trial.split('-t')[1]}" / "trial.json").read_text()
        )
        values = kt["hyperparameters"]["values"]
        schedule.append((values["tuner/epochs"], values["tuner/initial_epoch"]))
        history = pd.read_csv(study / "trials" / trial / "history.csv")
        assert len(history) == values["tuner/epochs"] - values["tuner/initial_epoch"]
    # keras-tuner's schedule for max_epochs 2, factor 2: two trials of 1 epoch, the better one
    # promoted to 2 epochs (it trains 1 more, from its parent's weights), then two of 2 epochs
    assert sorted(schedule) == [(1, 0), (1, 0), (2, 0), (2, 0), (2, 1)]


@pytest.mark.parametrize(
    ("space", "line"),
    [
        (
            "train.optimizer.learnig_rate: {log: [1.0e-3, 1.0e-1]}",
            "tune.space.train.optimizer.learnig_rate: unknown field. Did you mean 'learning_rate'?",
        ),
        (
            "data.split.dev: {uniform: [0.1, 0.2]}",
            "tune.space.data.split.dev: not searchable: a study keeps the data, split, metrics and tracking "
            "fixed (searchable: model.*, train.*, seed, data.normalize, "
            "data.source.columns.<column>.encoding and .embedding_dim)",
        ),
        (
            "train.optimizer.momentum: {uniform: [0.8, 0.9], when: {train.optimizer.type: sgd}}",
            "tune.space.train.optimizer.momentum.when: train.optimizer.type: expected a choice dimension of "
            "the space (choices: none)",
        ),
        (
            "train.epochs: {int: [0, 3]}",
            "tune.space.train.epochs: input should be greater than or equal to 1 (got 0)",
        ),
    ],
)
def test_bad_spaces_are_refused_before_any_training(workdir: Path, space: str, line: str) -> None:
    text = TUNE_RECIPE.split("  space:")[0] + "  space:\n    " + space + "\n"
    recipe = write_recipe(workdir, text)
    for command in (["tune", str(recipe)], ["tune", "preview", str(recipe)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert f"error: {recipe}: {line}" in " ".join(result.output.split())
    assert not (workdir / "runs").exists()


def test_preview_draws_histograms_and_warns_about_a_linear_learning_rate(workdir: Path) -> None:
    text = TUNE_RECIPE.replace("{log: [1.0e-3, 1.0e-1]}", "{uniform: [1.0e-4, 1.0]}")
    recipe = write_recipe(workdir, text)
    result = runner.invoke(app, ["tune", "preview", str(recipe), "--draws", "1000"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "train.optimizer.learning_rate: uniform [0.0001, 1] (bins even in log10)" in out
    assert (
        "warning: train.optimizer.learning_rate: uniform [0.0001, 1] spans 4 decades on a linear scale" in out
    )
    # half-decade bins: linear draws crowd the top one, [10^-0.5, 1], with 68% of them (sd 1.5%)
    import re

    share = re.search(r"\[0\.316, 1\] █+ (\d+)%", out)
    assert share is not None and 62 <= int(share.group(1)) <= 74


@pytest.mark.slow
def test_process_isolation_trains_each_trial_in_a_fresh_worker_with_the_same_results(workdir: Path) -> None:
    import os

    # a grid over SGD learning rates: 1e30 diverges (a failure inside the worker), 0.1 trains
    space = (
        "tune:\n  strategy: grid\n  trials: 2\n  max_failures: 1\n  isolation: process\n  recycle_every: 1\n"
        "  space:\n    train.optimizer.learning_rate: {choice: [1.0e+30, 0.1]}\n"
        "    train.optimizer.type: {choice: [sgd]}\n"
    )
    recipe = write_recipe(workdir, TUNE_RECIPE.split("tune:")[0] + space)
    result = runner.invoke(app, ["tune", str(recipe), "--no-track", "--study", "isolated"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(workdir / "isolated" / "trials.csv").set_index("train.optimizer.learning_rate")
    assert table.loc[1e30, "status"] == "FAILED"
    assert table.loc[1e30, "reason"].startswith("training loss became NaN")
    assert table.loc[0.1, "status"] == "COMPLETED"
    pids = [
        json.loads((workdir / "isolated" / "trials" / t / "run.json").read_text())["worker_pid"]
        for t in table["trial"]
    ]
    # recycle_every 1: every trial had its own worker, none of them this process
    assert len(set(pids)) == 2 and os.getpid() not in pids

    # the same study in this process gives the same numbers
    inline = write_recipe(
        workdir, TUNE_RECIPE.split("tune:")[0] + space.replace("process", "none"), "inline.yaml"
    )
    result = runner.invoke(app, ["tune", str(inline), "--no-track", "--study", "inline"])
    assert result.exit_code == 0, result.output
    same = pd.read_csv(workdir / "inline" / "trials.csv").set_index("train.optimizer.learning_rate")
    assert same.loc[0.1, "dev_accuracy"] == table.loc[0.1, "dev_accuracy"]
    assert same.loc[0.1, "n_params"] == table.loc[0.1, "n_params"]
