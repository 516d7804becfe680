"""Values the schema used to accept and training then crashed on (or silently misread)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlkit.errors import RecipeError
from dlkit.recipe.loader import load_recipe
from dlkit.recipe.schema import KNOWN_METRICS, MAX_SEED
from dlkit.tasks import TASKS
from dlkit.training.schedules import MONITORS
from dlkit.training.spec import KERAS_LOSSES
from tests.conftest import write_recipe

IRIS = "name: t\ndata:\n  source: {type: sklearn, name: iris}\n"
BASE = IRIS + "model: {type: mlp, units: [8]}\n"
CSV = "name: t\ndata:\n  source: {{type: csv, path: x.csv, target: y}}\n{task}model: {{type: mlp}}\n"
REGRESSION = CSV.format(task="  task: regression\n")


def _error(workdir: Path, text: str) -> list[str]:
    path = write_recipe(workdir, text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return [line.removeprefix(f"{path}: ") for line in info.value.lines]


def test_seed_within_numpy_and_tensorflow_range(workdir: Path) -> None:
    assert load_recipe(write_recipe(workdir, BASE + f"seed: {MAX_SEED}\n")).seed == 2**31 - 1
    assert _error(workdir, BASE + "seed: -1\n") == [
        "seed: input should be greater than or equal to 0 (got -1)"
    ]
    assert _error(workdir, BASE + f"seed: {2**32}\n") == [
        f"seed: input should be less than or equal to {MAX_SEED} (got {2**32})"
    ]


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ("{type: mlp, units: [8, 0]}", "model.units.1"),
        ("{type: cnn, filters: [-8]}", "model.filters.0"),
        ("{type: cnn, dense: [0]}", "model.dense.0"),
        ("{type: rnn, units: [0]}", "model.units.0"),
        ("{type: transformer, dense: [0]}", "model.dense.0"),
        ("{type: transfer, base: {path: m.keras}, dense: [0]}", "model.dense.0"),
        ("{type: alexnet, dense: [0, 8]}", "model.dense.0"),
        ("{type: vgg16, dense: [8, 0]}", "model.dense.1"),
        ("{type: lenet5, resize: [0, 32]}", "model.resize.0"),
    ],
)
def test_widths_below_one_are_refused(workdir: Path, spec: str, where: str) -> None:
    (line,) = _error(workdir, IRIS + f"model: {spec}\n")
    assert line.startswith(f"{where}: input should be greater than or equal to 1 (got ")


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ("train: {optimizer: {learning_rate: .inf}}", "train.optimizer.learning_rate"),
        ("train: {optimizer: {type: sgd, learning_rate: .nan}}", "train.optimizer.learning_rate"),
        ("targets: {human_error: .inf}", "targets.human_error"),
        ("data: {source: {type: sklearn, name: iris}, split: {dev: .nan}}", "data.split.dev"),
    ],
)
def test_inf_and_nan_are_refused_in_every_float(workdir: Path, extra: str, where: str) -> None:
    text = (
        BASE.replace("data:\n  source: {type: sklearn, name: iris}\n", "")
        if extra.startswith("data")
        else BASE
    )
    (line,) = _error(workdir, text + extra + "\n")
    assert line.startswith(f"{where}: input should be a finite number (got ")


def test_loss_must_be_a_keras_loss_name(workdir: Path) -> None:
    assert load_recipe(write_recipe(workdir, BASE + "train: {loss: huber}\n")).train.loss == "huber"
    assert _error(workdir, BASE + "train: {loss: mean_squared_eror}\n") == [
        "train.loss: not a Keras loss name. Did you mean 'mean_squared_error'? (got 'mean_squared_eror')"
    ]


def test_monitor_is_something_keras_logs_for_the_task(workdir: Path) -> None:
    assert _error(workdir, BASE + "train: {early_stopping: {monitor: val_acc}}\n") == [
        "train.early_stopping.monitor: not a metric logged each epoch; expected one of "
        f"{', '.join(MONITORS)}. Did you mean 'val_accuracy'? (got 'val_acc')"
    ]
    assert _error(workdir, REGRESSION + "train: {early_stopping: {monitor: accuracy}}\n") == [
        "train.early_stopping.monitor: not logged for a regression model; expected one of loss, mae, "
        "val_loss, val_mae (got 'accuracy')"
    ]
    # the task is not known before the data is read: any logged monitor passes
    load_recipe(write_recipe(workdir, CSV.format(task="") + "train: {early_stopping: {monitor: val_mae}}\n"))


def test_metrics_must_be_known_metrics(workdir: Path) -> None:
    assert _error(workdir, BASE + "metrics: {optimize: acuracy}\n") == [
        f"metrics.optimize: not a metric dlkit reports; expected one of {', '.join(KNOWN_METRICS)}. "
        "Did you mean 'accuracy'? (got 'acuracy')"
    ]
    lines = _error(workdir, BASE + 'metrics: {satisfice: {latncy_ms: "<= 10", params: "<= ."}}\n')
    assert lines[0].startswith("metrics.satisfice.latncy_ms: unknown metric; expected one of latency_ms, ")
    assert lines[0].endswith("Did you mean 'latency_ms'? (got 'latncy_ms')")
    assert (
        lines[1] == "metrics.satisfice.params: expected an operator and a number like '<= 100' (got '<= .')"
    )


def test_known_metrics_are_every_tasks_set_metrics() -> None:
    assert set(KNOWN_METRICS) == {m for task in TASKS for m in task.set_metrics}


def test_human_error_is_a_rate_for_a_classification(workdir: Path) -> None:
    assert _error(workdir, BASE + "targets: {human_error: 5}\n") == [
        "targets.human_error: an error rate is at most 1 for a multiclass model (got 5.0)"
    ]
    # regression's human-level error is in the metric's units (mse), which may pass 1
    regression = write_recipe(workdir, REGRESSION + "targets: {human_error: 5}\n")
    assert load_recipe(regression).targets.human_error == 5


def test_runs_dir_must_not_be_a_file(workdir: Path) -> None:
    (workdir / "runs.txt").write_text("")
    assert _error(workdir, BASE + "tracking: {runs_dir: runs.txt}\n") == [
        "tracking.runs_dir: expected a folder for run directories, not a file (got 'runs.txt')"
    ]


def test_an_empty_separator_is_refused(workdir: Path) -> None:
    text = "name: t\ndata:\n  source: {type: csv, path: x.csv, target: y, sep: ''}\nmodel: {type: mlp}\n"
    assert _error(workdir, text) == ["data.source.sep: string should have at least 1 character (got '')"]


@pytest.mark.slow
def test_keras_loss_names_match_the_installed_keras() -> None:
    from keras.src.losses import ALL_OBJECTS_DICT

    assert set(ALL_OBJECTS_DICT) - {"Loss", "LossFunctionWrapper"} == KERAS_LOSSES


@pytest.mark.slow
def test_epoch_metrics_match_what_each_task_compiles() -> None:
    for task in TASKS:
        compiled = [getattr(m, "name", m) for m in task.compile_metrics(None)]  # type: ignore[arg-type]
        assert tuple(compiled) == task.epoch_metrics, task.name
