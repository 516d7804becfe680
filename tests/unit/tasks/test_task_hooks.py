"""What differs between tasks outside the build path is a Task attribute, read by the modules
that once held a table of task names: the metrics Keras logs per epoch (schedules), which tasks
take sample weights (weights), whose errors are one per example (``evaluate --diagnose``), whose
runs ``verify`` and ``identify`` read, and each task's report reader (registered on its class).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dlkit.errors import UnsupportedRunError
from dlkit.rundir import RunDir
from dlkit.runs._task_reports import ClassReports, TaskReports, reports_for
from dlkit.runs.inference import read_mismatch
from dlkit.tasks import TASKS
from dlkit.tasks.base import Task
from dlkit.tasks.binary import Binary
from dlkit.training.schedules import MONITORS, monitors

ONE_TARGET = {"binary", "multiclass", "regression"}


def test_each_task_says_what_the_old_tables_said() -> None:
    # the tables schedules.py and weights.py held by task name before the tasks said it
    logged = {"binary": ("accuracy",), "multiclass": ("accuracy",), "multitask": ("accuracy",)}
    logged |= {"regression": ("mae",), "segmentation": ("accuracy",)}
    assert {t.name: t.epoch_metrics for t in TASKS} == {n: logged.get(n, ()) for n in TASKS.names()}
    assert {t.name for t in TASKS if t.takes_sample_weight} == ONE_TARGET
    assert {t.name: t.errors_per for t in TASKS if t.errors_per != "example"} == {"multitask": "task"}
    assert [t.name for t in TASKS if t.verifies] == ["verification"]


def test_what_a_run_logs_each_epoch_is_read_from_the_registry() -> None:
    assert monitors("regression") == ("loss", "mae", "val_loss", "val_mae")
    assert monitors("ctc") == ("loss", "val_loss")
    assert monitors("no_such_task") == ("loss", "val_loss")  # the task is checked elsewhere
    assert MONITORS == ("loss", "accuracy", "mae", "val_loss", "val_accuracy", "val_mae")


def test_each_task_has_the_report_reader_it_had_by_name() -> None:
    readers = {t.name: type(reports_for(t)).__name__ for t in TASKS}
    assert readers == {
        "binary": "ClassReports",
        "multiclass": "ClassReports",
        "verification": "ClassReports",
        "localization": "ClassReports",
        "regression": "RegressionReports",
        "multitask": "PerTaskReports",
        "detection": "DetectionReports",
        "landmarks": "PartsReports",
        "segmentation": "PartsReports",
        "seq2seq": "Seq2SeqReports",
        "sequence_labeling": "SequenceReports",
        "ctc": "CTCReports",
        "trigger_word": "SequenceReports",
    }
    assert reports_for(TASKS.get("ctc")).score == "cer"  # type: ignore[attr-defined]
    assert reports_for(TASKS.get("seq2seq")).score == "token_accuracy"  # type: ignore[attr-defined]


def test_a_task_built_on_another_reads_as_it_does_and_a_new_one_as_the_default() -> None:
    class Weighted(Binary):
        name = "weighted_binary"

    class Other(Task):
        name = "other"
        labels = "continuous"

    reader = reports_for(Weighted())
    assert isinstance(reader, ClassReports) and reader.task.name == "weighted_binary"
    assert type(reports_for(Other())) is TaskReports


def test_diagnose_of_new_data_refuses_a_task_without_one_error_per_example(tmp_path: Path) -> None:
    info = {"task": "multitask", "run_name": "mt"}
    with pytest.raises(UnsupportedRunError) as raised:
        read_mismatch(RunDir(tmp_path), info, pd.DataFrame())
    assert (
        raised.value.message == "run 'mt': --diagnose reads one error per example; multitask has one per task"
    )
