"""The error sheet: written for spreadsheets, read back strictly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dlkit.analysis.error_sheet import build_sheet, parse_flag
from dlkit.errors import DataError
from dlkit.runs.error_sheet import read_sheet, write_sheet

CATS = ["blurry", "incorrectly_labelled"]


def _sample() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [3, 7, 9],
            "y_true": [1, 2, 0],
            "y_pred": [2, 1, 1],
            "correct": [False] * 3,
            "confidence": [0.9, 0.6, 0.5],
            "loss": [2.0, 1.0, 0.7],
            "proba_0": [0.0, 0.1, 0.5],
            "source": ["phone", "web", "phone"],
        }
    )


def test_build_and_write_sheet_columns(tmp_path: Path):
    sheet = build_sheet(_sample(), CATS, ["source"])
    assert list(sheet.columns) == [
        "id",
        "y_true",
        "y_pred",
        "confidence",
        "loss",
        "source",
        "blurry",
        "incorrectly_labelled",
        "corrected_label",
        "comments",
    ]
    assert not sheet[CATS].any().any()
    csv, parquet = write_sheet(sheet, tmp_path / "analysis")
    assert csv.read_text().splitlines()[1] == "3,1,2,0.9,2.0,phone,0,0,,"
    assert pd.read_parquet(parquet)["blurry"].dtype == bool


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("1", True),
        ("x", True),
        ("X", True),
        ("yes", True),
        ("TRUE", True),
        (" y ", True),
        ("1.0", True),
        ("", False),
        ("0", False),
        ("no", False),
        ("False", False),
        ("maybe", None),
        ("2", None),
    ],
)
def test_parse_flag(text, flag):
    assert parse_flag(text) is flag


def _filled(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheet.csv"
    path.write_text(text)
    return path


def test_read_filled_sheet_with_an_added_category(tmp_path: Path):
    path = _filled(
        tmp_path,
        "id,y_true,y_pred,confidence,loss,source,blurry,incorrectly_labelled,comments,great cat,Unnamed: 10\n"
        "3,1,2,0.9,2.0,phone,x,,looks like a 7,yes,\n"
        "7,2,1,0.6,1.0,web,,1,,0,\n"
        "9,0,1,0.5,0.7,phone,true,no,,,\n",
    )
    tagged = read_sheet(path, CATS, [3, 7, 9, 11], ["source"])
    assert tagged.categories == ["blurry", "incorrectly_labelled", "great cat"]
    assert tagged.added == ["great cat"]
    assert tagged.frame["id"].tolist() == ["3", "7", "9"]
    assert tagged.frame["blurry"].tolist() == [True, False, True]
    assert tagged.frame["incorrectly_labelled"].tolist() == [False, True, False]
    assert tagged.frame["great cat"].tolist() == [True, False, False]
    assert tagged.frame["comments"].tolist() == ["looks like a 7", "", ""]


def test_read_parquet_sheet_round_trip(tmp_path: Path):
    sheet = build_sheet(_sample(), CATS, ["source"])
    sheet.loc[1, "blurry"] = True
    _, parquet = write_sheet(sheet, tmp_path)
    tagged = read_sheet(parquet, CATS, [3, 7, 9], ["source"])
    assert tagged.frame["blurry"].tolist() == [False, True, False]
    assert tagged.added == []


def test_bad_cell_names_file_row_and_column(tmp_path: Path):
    path = _filled(tmp_path, "id,blurry,incorrectly_labelled\n3,1,0\n7,maybe,0\n")
    with pytest.raises(DataError) as info:
        read_sheet(path, CATS, [3, 7])
    assert info.value.message == (
        f"{path}: row 3, column 'blurry': cannot read 'maybe' as yes/no; "
        "use 1/0, x/blank, yes/no or true/false"
    )
    assert len(info.value.lines) == 1


def test_unknown_id_names_the_row(tmp_path: Path):
    path = _filled(tmp_path, "id,blurry,incorrectly_labelled\n3,1,0\n99,0,0\n")
    with pytest.raises(DataError) as info:
        read_sheet(path, CATS, [3, 7])
    assert info.value.message == f"{path}: row 3, column 'id': '99' is not an example of this run's dev set"


def test_repeated_id_is_rejected(tmp_path: Path):
    path = _filled(tmp_path, "id,blurry,incorrectly_labelled\n3,1,0\n3,0,0\n")
    with pytest.raises(DataError, match=r"row 3, column 'id': '3' repeats row 2"):
        read_sheet(path, CATS, [3, 7])


def test_missing_category_column_suggests_the_typo(tmp_path: Path):
    path = _filled(tmp_path, "id,blury,incorrectly_labelled\n3,1,0\n")
    with pytest.raises(DataError) as info:
        read_sheet(path, CATS, [3])
    assert info.value.message == (
        f"{path}: no column 'blurry' (a category of the recipe's analysis section). Did you mean 'blury'?"
    )


def test_missing_file_and_wrong_suffix(tmp_path: Path):
    with pytest.raises(DataError, match="file not found"):
        read_sheet(tmp_path / "nope.csv", CATS, [])
    other = tmp_path / "sheet.xlsx"
    other.write_text("x")
    with pytest.raises(DataError, match=r"a sheet must be a \.csv, \.tsv or \.parquet file"):
        read_sheet(other, CATS, [])
