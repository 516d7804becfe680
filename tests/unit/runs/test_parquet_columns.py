"""Stored predictions read by pyarrow into NumPy without pandas: the values pandas reads, or
None (the caller then reads the frame) for a column that is not plain; the kept sheet's rows
counted as pandas counts them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dlkit.runs._parquet import read_columns
from dlkit.runs.error_sheet import count_rows


def test_plain_columns_in_several_row_groups_read_as_pandas_reads_them(tmp_path: Path) -> None:
    n = 23
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64) + 100,
            "small": rng.integers(-5, 5, n).astype(np.int8),
            "count": rng.integers(0, 9, n).astype(np.uint32),
            "y_true": rng.choice(["cat", "dög", ""], n),
            "correct": rng.random(n) > 0.3,
            "confidence": rng.random(n).astype(np.float32),
            "loss": rng.random(n),
        }
    )
    path = tmp_path / "dev.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=5)
    names = ["loss", "id", "small", "count", "y_true", "correct", "confidence"]
    columns = read_columns(path, names)
    assert columns is not None and list(columns) == names
    expected = pd.read_parquet(path)
    for name in names:
        assert columns[name].dtype == (object if name == "y_true" else expected[name].dtype), name
        assert columns[name].tolist() == expected[name].tolist(), name
    assert [type(v) for v in columns["y_true"].tolist()] == [str] * n


def test_a_column_with_nulls_or_of_another_type_or_missing_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "dev.parquet"
    table = pa.table(
        {
            "id": pa.array([1, 2, 3]),
            "with_null": pa.array([1.0, None, 2.0]),  # as pandas writes a NaN
            "category": pa.array(["a", "b", "a"]).dictionary_encode(),
            "when": pa.array([0, 1, 2], pa.timestamp("s")),
        }
    )
    pq.write_table(table, path)
    assert read_columns(path, ["id"]) is not None
    for name in ("with_null", "category", "when", "absent"):
        assert read_columns(path, ["id", name]) is None, name
    assert read_columns(tmp_path / "none.parquet", ["id"]) is None


@pytest.mark.parametrize(
    "text",
    [
        "id,y_true\n1,a\n2,b\n",
        "id,y_true\n1,a\n\n2,b\n   \n\t\n",  # blank and whitespace-only lines are not rows
        'id,comments\n1,"two\nlines"\n2,\n',  # a quoted cell spans lines
        "id,a\r\n1,2\r\n\r\n,,\r\n",
        "\n\nid,a\n1,2",
        "id,a\n",
    ],
)
def test_sheet_rows_are_counted_as_pandas_counts_them(tmp_path: Path, text: str) -> None:
    path = tmp_path / "errors.csv"
    path.write_bytes(text.encode())
    assert count_rows(path) == len(pd.read_csv(io.StringIO(text), usecols=["id"]))
