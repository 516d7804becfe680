"""Several 0/1 target columns in a table: a multitask dataset, NaN where a label is missing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlkit.data._common import encode_tasks
from dlkit.data.sources import CsvSource, ParquetSource, load_source
from dlkit.data.split import SplitSpec, split_dataset
from dlkit.errors import DataError, RecipeError


def _table(folder: Path) -> Path:
    frame = pd.DataFrame(
        {
            "id": [10, 11, 12, 13, 14, 15],
            "x1": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "x2": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
            "has_cat": [1, 0, None, 1, 0, 1],
            "has_dog": ["yes", "no", "", "NO", "true", None],
        }
    )
    path = folder / "tags.csv"
    frame.to_csv(path, index=False)
    return path


def test_list_of_targets_gives_multitask(workdir: Path) -> None:
    _table(workdir)
    spec = CsvSource(path=Path("tags.csv"), target=["has_cat", "has_dog"], id_column="id")
    data = load_source(spec, None, workdir)
    assert data.task == "multitask"
    assert data.classes == ["has_cat", "has_dog"]
    assert data.feature_names == ["x1", "x2"]  # targets and id are not features
    expected = np.array([[1, 1], [0, 0], [np.nan, np.nan], [1, 0], [0, 1], [1, np.nan]], dtype=np.float32)
    np.testing.assert_array_equal(data.y, expected)
    assert data.y.dtype == np.float32


def test_parquet_and_stated_task(workdir: Path) -> None:
    pd.read_csv(_table(workdir)).drop(columns="has_dog").to_parquet(workdir / "t.parquet")
    spec = ParquetSource(path=Path("t.parquet"), target=["has_cat"])
    data = load_source(spec, "multitask", workdir)
    np.testing.assert_array_equal(data.y[:, 0], [1, 0, np.nan, 1, 0, 1])


def test_bad_label_names_column_row_and_value(workdir: Path) -> None:
    frame = pd.read_csv(_table(workdir))
    frame["has_cat"] = frame["has_cat"].astype(object)
    frame.loc[4, "has_cat"] = 2
    frame.to_csv(workdir / "bad.csv", index=False)
    spec = CsvSource(path=Path("bad.csv"), target=["has_cat", "has_dog"])
    with pytest.raises(
        DataError, match=r"bad.csv: target column 'has_cat': value 2(\.0)? at line 6 is not a 0/1 label"
    ):
        load_source(spec, None, workdir)


@pytest.mark.parametrize(
    ("target", "task", "message"),
    [
        (
            ["has_cat", "has_dog"],
            "binary",
            "data.task: binary takes one target column (got 2: has_cat, has_dog)",
        ),
        ("has_cat", "multitask", "data.task: multitask needs a list of 0/1 target columns (got 'has_cat')"),
        (["has_cat", "has_cat"], None, "data.source.target: column 'has_cat' is listed twice"),
        ([], None, "data.source.target: expected a column or a list of columns (got [])"),
    ],
)
def test_recipe_mistakes_are_one_line(workdir: Path, target: object, task: str | None, message: str) -> None:
    _table(workdir)
    with pytest.raises(RecipeError, match=re.escape(message)):
        load_source(CsvSource(path=Path("tags.csv"), target=target), task, workdir)  # type: ignore[arg-type]


def test_missing_target_column_says_which(workdir: Path) -> None:
    _table(workdir)
    spec = CsvSource(path=Path("tags.csv"), target=["has_cat", "has_dgo"])
    with pytest.raises(DataError, match=re.escape("no target column 'has_dgo'. Did you mean 'has_dog'")):
        load_source(spec, None, workdir)


def test_task_with_no_label_at_all() -> None:
    with pytest.raises(DataError, match="target column 'b' has no labels"):
        encode_tasks(pd.DataFrame({"a": [0, 1], "b": [None, None]}), "t.csv")


def test_split_is_random_not_stratified(workdir: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.normal(size=200), "a": rng.integers(0, 2, 200), "b": rng.integers(0, 2, 200)}
    )
    frame.loc[::3, "b"] = None
    frame.to_csv(workdir / "t.csv", index=False)
    data = load_source(CsvSource(path=Path("t.csv"), target=["a", "b"]), None, workdir)
    result = split_dataset(data, SplitSpec(train=0.6, dev=0.2, test=0.2), seed=0)
    assert result.rule.endswith("random")
    assert result.sizes()["train"] == 120
