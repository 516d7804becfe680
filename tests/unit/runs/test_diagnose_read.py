"""diagnose reads a run's mistakes from the ``correct`` column alone (pyarrow, no pandas) when
that is the task's error, and the frames otherwise: the same errors either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dlkit.runs._task_reports import SINGLE, reports_for
from dlkit.runs.diagnose import _example_errors, _read_mistakes, bool_values
from dlkit.tasks import task_for


def test_bool_values_reads_bit_packed_chunks_and_slices() -> None:
    values = [True, False, True, True, False, False, True, True, False, True, True]
    column = pa.chunked_array([pa.array(values).slice(3), pa.array([False, True]), pa.array([], pa.bool_())])
    assert bool_values(column).tolist() == [*values[3:], False, True]
    assert bool_values(pa.chunked_array([], pa.bool_())).tolist() == []


def _write(folder: Path, correct: dict[str, list[object]]) -> dict[str, Path]:
    paths = {}
    for split, values in correct.items():
        n = len(values)
        frame = pd.DataFrame({"id": np.arange(n), "correct": values, "loss": np.linspace(0, 1, n)})
        paths[split] = folder / f"{split}.parquet"
        pq.write_table(pa.Table.from_pandas(frame), paths[split], row_group_size=7)  # several chunks
    return paths


def test_mistakes_from_the_column_equal_the_tasks_errors_from_frames(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    correct = {s: (rng.random(n) > 0.2).tolist() for s, n in (("train", 40), ("dev", 23), ("test", 9))}
    paths = _write(tmp_path, correct)
    task = task_for("multiclass")
    reader = reports_for(task)
    fast = _read_mistakes(paths)
    assert fast is not None
    frames = {s: pd.read_parquet(p) for s, p in paths.items()}
    for split, frame in frames.items():
        expected = task.example_errors(frame, "accuracy")
        assert fast[split].dtype == bool and fast[split].tolist() == expected.tolist()
        assert fast[split].tolist() == [not c for c in correct[split]]  # the known answer
    assert _example_errors(task, reader, "accuracy", reader.columns("accuracy"), paths).keys() == {SINGLE}


def test_a_column_that_is_not_plain_booleans_goes_the_frames_way(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"train": [1, 0, 1, 1], "dev": [0, 1]})  # integers, not booleans
    task = task_for("binary")
    reader = reports_for(task)
    assert _read_mistakes(paths) is None
    errors = _example_errors(task, reader, "accuracy", reader.columns("accuracy"), paths)
    assert {s: e.tolist() for s, e in errors[SINGLE].items()} == {
        "train": [False, True, False, False],
        "dev": [True, False],
    }
