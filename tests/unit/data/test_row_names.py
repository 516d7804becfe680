"""Messages name a bad row as a person finds it: a CSV file's line (header = line 1), else 1-based."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dlkit.data._common import RowNames, csv_line
from dlkit.data.sources import CsvSource, ParquetSource, load_source
from dlkit.errors import DataError

# line 1 the header; a quoted note spans lines 3-4; line 5 is blank; the '?' (u6) sits on line 9
CSV = """uid,note,mass,label
u1,calm,3.5,a
u2,"two
lines",4.0,b

u3,calm,4.5,a
u4,windy,5.0,b
u5,calm,5.5,a
u6,windy,?,b
u7,calm,6.5,a
u8,windy,7.0,b
u9,calm,7.5,a
"""


def _message(spec: CsvSource | ParquetSource, folder: Path) -> str:
    with pytest.raises(DataError) as info:
        load_source(spec, None, folder)
    return info.value.message


def test_csv_lines_count_the_header_blank_lines_and_quoted_newlines(workdir: Path) -> None:
    (workdir / "t.csv").write_text(CSV)
    assert [csv_line(workdir / "t.csv", ",", i) for i in range(4)] == [2, 3, 6, 7]
    assert csv_line(workdir / "t.csv", ",", 99) is None
    names = RowNames(workdir / "t.csv").keeping(pd.Series([False, True, True, True]).to_numpy())
    assert names(0) == "line 3" and names(2) == "line 7"
    assert RowNames()(0) == "row 1 (1-based)"


def test_the_bad_value_itself_is_quoted_with_its_line(workdir: Path) -> None:
    (workdir / "t.csv").write_text(CSV)
    spec = CsvSource(path="t.csv", target="label", id_column="uid")
    assert _message(spec, workdir) == (
        f"{workdir / 't.csv'}: feature column 'mass' is not numeric: value '?' at line 9"
    )
    # the same file read as a Parquet table has no lines: the row is counted from 1
    frame = pd.read_csv(workdir / "t.csv", dtype={"mass": object})
    frame.to_parquet(workdir / "t.parquet", index=False)
    assert _message(ParquetSource(path="t.parquet", target="label", id_column="uid"), workdir) == (
        f"{workdir / 't.parquet'}: feature column 'mass' is not numeric: value '?' at row 6 (1-based)"
    )


def test_rows_after_dropped_targets_keep_their_line(workdir: Path) -> None:
    text = CSV.replace("u6,windy,?,b", "u6,windy,6.0,zebra").replace("u3,calm,4.5,a", "u3,calm,4.5,")
    (workdir / "t.csv").write_text(text)
    spec = CsvSource(
        path="t.csv", target="label", id_column="uid", classes=["a", "b"], drop_missing_target=True
    )
    assert _message(spec, workdir) == (
        f"{workdir / 't.csv'}: target column 'label': label 'zebra' at line 9 is not one of the "
        "classes ['a', 'b']"
    )


def test_a_repeated_id_names_both_lines(workdir: Path) -> None:
    (workdir / "t.csv").write_text(CSV.replace("?", "6.0").replace("u8,", "u2,"))
    assert _message(CsvSource(path="t.csv", target="label", id_column="uid"), workdir) == (
        f"{workdir / 't.csv'}: id column 'uid' has duplicate id 'u2' at line 11 (first at line 3)"
    )


def test_a_regression_target_of_mixed_number_types_reads_and_a_bad_one_is_quoted() -> None:
    from dlkit.data._common import encode_target

    y, task, _ = encode_target(pd.Series([1, "2", 3.5], dtype=object), "regression", "t")
    assert task == "regression" and y.tolist() == [1.0, 2.0, 3.5]
    with pytest.raises(DataError) as info:
        encode_target(pd.Series([1, "2", "n/a"], dtype=object), "regression", "t")
    assert (
        info.value.message
        == "t: regression needs a numeric target; value 'n/a' at row 3 (1-based) is not a number"
    )
