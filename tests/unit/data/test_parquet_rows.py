"""A streamed Parquet table read a column at a time: the same rows, hashes and labels as before."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dlkit.data._parquet_rows import column_file
from dlkit.data.pipeline import _parquet_rows  # the streamed reader itself
from dlkit.data.sources import ParquetSource, load_source
from dlkit.errors import DataError

FEATURES = ["a", "b", "c", "d"]


def _frame(n: int = 23) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),  # float64: cast to float32 as the reader's rows were
            "b": rng.normal(size=n).astype(np.float32),
            "c": rng.integers(-5, 5, size=n),
            "d": rng.random(n) > 0.5,
            "label": np.where(rng.random(n) > 0.5, "yes", "no"),
            "uid": np.arange(100, 100 + n),
            "site": rng.choice(["x", "y"], size=n),
        }
    )


def _write(frame: pd.DataFrame, path: Path) -> Path:
    # several row groups and batches, as a large file has
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=7)
    return path


def test_transposed_rows_are_the_readers_rows(tmp_path: Path) -> None:
    frame = _frame()
    path = _write(frame, tmp_path / "t.parquet")
    expected = np.column_stack([frame[c].to_numpy().astype(np.float32) for c in FEATURES])
    columns = column_file(path, FEATURES)
    assert columns is not None and columns.n_rows == 23
    assert np.array_equal(np.concatenate(list(columns.chunks(5))), expected)
    assert np.array_equal(columns.rows(6, 15), expected[6:15])
    assert np.array_equal(np.concatenate(list(_parquet_rows(path, FEATURES))), expected)


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = _write(_frame(), tmp_path / "t.parquet")
    first = column_file(path, FEATURES)
    frame = _frame()
    frame["a"] = 7.0
    _write(frame, path)
    os.utime(path, ns=(1, 1))  # a rewrite within the clock's resolution still differs in time
    again = column_file(path, FEATURES)
    assert again is not first and again is not None
    assert np.all(again.rows(0, 23)[:, 0] == 7.0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "missing value"),
        (np.nan, "missing value"),
        (np.inf, "infinite value"),
        (1e39, "infinite value"),
    ],
)
def test_values_that_are_not_plain_numbers_are_named_as_before(
    tmp_path: Path, value: float | None, message: str
) -> None:
    frame = _frame()
    frame["a"] = frame["a"].astype(object)
    frame.loc[9, "a"] = value
    frame["a"] = frame["a"].astype(float)
    path = _write(frame, tmp_path / "t.parquet")
    assert column_file(path, FEATURES) is None  # left to the chunked reader, which names the row
    with pytest.raises(DataError, match=f"feature column 'a' has 1 {message}.*row 10"):
        load_source(ParquetSource(path=path, target="label", features=FEATURES, stream=True), None, tmp_path)


def test_streamed_parquet_loads_what_the_whole_table_gives(tmp_path: Path) -> None:
    path = _write(_frame(), tmp_path / "t.parquet")
    spec = {"path": path, "target": "label", "id_column": "uid", "metadata": ["site"], "features": FEATURES}
    streamed = load_source(ParquetSource(**spec, stream=True), None, tmp_path)
    whole = load_source(ParquetSource(**spec, stream=False), None, tmp_path)
    assert streamed.stream and streamed.x.shape == (23, 0)
    assert streamed.input_hashes is not None and whole.input_hashes is not None
    assert np.array_equal(streamed.input_hashes, whole.input_hashes)
    assert np.array_equal(streamed.ids, whole.ids) and np.array_equal(streamed.y, whole.y)
    assert streamed.classes == whole.classes == ["no", "yes"]
    pd.testing.assert_frame_equal(streamed.metadata, whole.metadata)
