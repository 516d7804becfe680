"""Typed table columns: inferred types, recipe overrides, missing values, dates read with one format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlkit.data.columns import TableColumns, days, infer_type, parse_dates
from dlkit.data.sources import CsvSource, load_source
from dlkit.data.split import SplitSpec, split_dataset
from dlkit.errors import DataError

N = 40


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "uid": [f"r{i:03d}" for i in range(N)],
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], N),
            "year": rng.choice([2007, 2008, 2009], N),
            "mass": rng.normal(4000, 500, N).round(0),
            "male": rng.choice(["yes", "no"], N),
            "seen": pd.date_range("2013-01-13", periods=N, freq="D").strftime("%d/%m/%Y"),
            "note": [f"a bird seen near rock {i}" for i in range(N)],
            "y": ["a", "b"] * (N // 2),
        }
    )


def _message(spec: CsvSource, folder: Path) -> str:
    with pytest.raises(DataError) as info:
        load_source(spec, None, folder)
    return info.value.message


def test_each_column_type_is_inferred_and_can_be_overridden(workdir: Path) -> None:
    _table().to_csv(workdir / "t.csv", index=False)
    data = load_source(CsvSource(path="t.csv", target="y"), None, workdir)
    types = {c["name"]: c["type"] for c in data.options["columns"]}
    assert types == {
        "uid": "id",
        "island": "category",
        "year": "numeric",
        "mass": "numeric",
        "male": "boolean",
        "seen": "date",
        "note": "text",
    }
    seen = next(c for c in data.options["columns"] if c["name"] == "seen")
    assert seen["date_format"] == "%d/%m/%Y"  # inferred once for the whole column
    assert isinstance(data.x, TableColumns) and "uid" not in data.x.arrays  # an id is no input
    assert data.x.arrays["island"].dtype == object and data.x.arrays["mass"].dtype == np.float32
    assert set(data.x.arrays["male"][:, 0]) == {"true", "false"}

    spec = CsvSource(path="t.csv", target="y", columns={"year": {"type": "category"}}, drop=["note", "uid"])
    data = load_source(spec, None, workdir)
    year = next(c for c in data.options["columns"] if c["name"] == "year")
    assert (year["type"], year["inferred"], year["encoding"]) == ("category", False, "one_hot")
    assert set(data.x.arrays["year"][:, 0]) == {"2007", "2008", "2009"}  # integers, not '2007.0'
    assert data.feature_names == ["island", "year", "mass", "male", "seen"]


def test_all_numeric_complete_table_keeps_the_plain_array(workdir: Path) -> None:
    frame = _table()[["year", "mass", "y"]]
    frame.to_csv(workdir / "n.csv", index=False)
    data = load_source(CsvSource(path="n.csv", target="y"), None, workdir)
    assert isinstance(data.x, np.ndarray) and data.x.dtype == np.float32 and data.x.shape == (N, 2)
    assert "columns" not in data.options


def test_question_mark_is_refused_naming_it_until_na_values_lists_it(workdir: Path) -> None:
    frame = _table()[["mass", "y"]].astype({"mass": object})
    frame.loc[[3, 7], "mass"] = "?"
    frame.to_csv(workdir / "q.csv", index=False)
    assert _message(CsvSource(path="q.csv", target="y"), workdir) == (
        f"{workdir / 'q.csv'}: feature column 'mass' is not numeric: value '?' at line 5"
    )
    data = load_source(CsvSource(path="q.csv", target="y", na_values=["?"]), None, workdir)
    (mass,) = data.options["columns"]
    assert (mass["type"], mass["n_missing"]) == ("numeric", 2)
    assert np.isnan(data.x.arrays["mass"][[3, 7], 0]).all()
    refused = CsvSource(path="q.csv", target="y", na_values=["?"], columns={"mass": {"missing": "refuse"}})
    assert _message(refused, workdir) == (
        f"{workdir / 'q.csv'}: feature column 'mass' has 2 missing value(s), first at line 5"
    )


def test_ambiguous_day_month_order_is_refused_with_an_example(workdir: Path) -> None:
    frame = pd.DataFrame({"d": ["01/02/2013", "03/04/2013", "05/06/2013"] * 4, "y": [0, 1] * 6})
    frame.to_csv(workdir / "d.csv", index=False)
    msg = _message(CsvSource(path="d.csv", target="y"), workdir)
    assert msg == (
        f"{workdir / 'd.csv'}: feature column 'd': dates such as '01/02/2013' read both day-first "
        "and month-first (no day above 12)"
    )
    spec = CsvSource(path="d.csv", target="y", columns={"d": {"date_format": "%d/%m/%Y"}})
    data = load_source(spec, None, workdir)
    assert data.x.arrays["d"][0, 0] == days(pd.Series(pd.to_datetime(["2013-02-01"])))[0]


def test_dates_known_answers() -> None:
    parsed, fmt = parse_dates(pd.Series(["13/01/2013", None, "01/02/2013"]), None, "c")
    assert fmt == "%d/%m/%Y" and parsed.isna().tolist() == [False, True, False]
    assert days(parsed)[[0, 2]].tolist() == [15718.0, 15737.0]  # days since 1970-01-01
    with pytest.raises(DataError, match=r"c: value '2013-31-01' at row 2 \(1-based\) is not a date"):
        parse_dates(pd.Series(["13/01/2013", "2013-31-01"]), "%d/%m/%Y", "c")
    assert infer_type(pd.Series(["2013-01-02", "2014-05-06"]), "c") == ("date", "%Y-%m-%d")
    assert infer_type(pd.Series(["True", "false", None]), "c") == ("boolean", None)


def test_time_split_reads_day_first_dates_with_one_format(workdir: Path) -> None:
    # days 1..40 from 13 Jan: written day-first, 01/02 is the 1st of February (after 31/01)
    dates = pd.date_range("2013-01-13", periods=N, freq="D")
    frame = pd.DataFrame(
        {"x": np.arange(N, dtype=float), "when": dates.strftime("%d/%m/%Y"), "y": [0, 1] * 20}
    )
    frame.sample(frac=1.0, random_state=0).to_csv(workdir / "t.csv", index=False)
    spec = CsvSource(path="t.csv", target="y", columns={"when": {"date_format": "%d/%m/%Y"}})
    data = load_source(spec, None, workdir, ["when"])
    result = split_dataset(data, SplitSpec(time="when", dev=0.25, test=0.25), 0)
    order = {name: data.x[result.indices(name), 0] for name in ("train", "dev", "test")}
    assert order["train"].max() < order["dev"].min() and order["dev"].max() < order["test"].min()


def test_a_recipe_sets_the_encoding_of_categories_only() -> None:
    from dlkit.data.columns import ColumnSpec, with_encodings

    columns = [
        {"name": "island", "type": "category", "encoding": "one_hot", "embedding_dim": None},
        {"name": "mass", "type": "numeric", "encoding": None, "embedding_dim": None},
    ]
    specs = {
        "island": ColumnSpec(encoding="embedding", embedding_dim=3),
        "mass": ColumnSpec(encoding="embedding"),
    }
    assert with_encodings(columns, specs) == [
        {"name": "island", "type": "category", "encoding": "embedding", "embedding_dim": 3},
        columns[1],
    ]
    assert with_encodings(columns, {"island": ColumnSpec()}) == columns  # unset: as read
