"""Data sources: bundled sklearn data, CSV and Parquet tables, and their error messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlkit.data.sources import CsvSource, ParquetSource, SklearnSource, encode_target, load_source
from dlkit.errors import DataError


@pytest.mark.parametrize(
    ("name", "n", "shape", "task", "n_classes"),
    [
        ("digits", 1797, (8, 8, 1), "multiclass", 10),
        ("breast_cancer", 569, (30,), "binary", 2),
        ("wine", 178, (13,), "multiclass", 3),
        ("iris", 150, (4,), "multiclass", 3),
    ],
)
def test_sklearn_datasets(name: str, n: int, shape: tuple, task: str, n_classes: int) -> None:
    data = load_source(SklearnSource(name=name), None, Path.cwd())
    assert data.n_examples == n and data.input_shape == shape
    assert data.task == task and data.n_classes == n_classes
    assert data.kind == ("image" if name == "digits" else "tabular")
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64
    assert len(data.content_hash) == 64


def test_sklearn_uses_class_names() -> None:
    data = load_source(SklearnSource(name="iris"), None, Path.cwd())
    assert data.classes == ["setosa", "versicolor", "virginica"]


def _table(tmp: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "uid": [f"r{i}" for i in range(40)],
            "a": rng.normal(size=40),
            "b": rng.normal(size=40),
            "source": ["web", "phone"] * 20,
            "label": ["cat", "dog"] * 20,
        }
    )


def test_csv_with_ids_and_metadata(workdir: Path) -> None:
    _table(workdir).to_csv(workdir / "t.csv", index=False)
    spec = CsvSource(path="t.csv", target="label", id_column="uid", metadata=["source"])
    data = load_source(spec, None, workdir)
    assert data.feature_names == ["a", "b"]
    assert data.task == "binary" and data.classes == ["cat", "dog"]
    assert list(data.ids[:2]) == ["r0", "r1"]
    assert list(data.metadata["source"][:2]) == ["web", "phone"]
    assert data.y[:4].tolist() == [0, 1, 0, 1]


def test_parquet_and_tsv_read_the_same(workdir: Path) -> None:
    frame = _table(workdir).drop(columns=["source"])
    frame.to_parquet(workdir / "t.parquet")
    frame.to_csv(workdir / "t.tsv", sep="\t", index=False)
    a = load_source(ParquetSource(path="t.parquet", target="label", id_column="uid"), None, workdir)
    b = load_source(CsvSource(path="t.tsv", target="label", id_column="uid", sep="\t"), None, workdir)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-6)
    assert a.y.tolist() == b.y.tolist()


def test_regression_target_inferred(workdir: Path) -> None:
    pd.DataFrame({"x": np.arange(100.0), "y": np.linspace(0, 1, 100)}).to_csv(workdir / "r.csv", index=False)
    data = load_source(CsvSource(path="r.csv", target="y"), None, workdir)
    assert data.task == "regression" and data.classes == [] and data.y.dtype == np.float32


def _message(spec: object, folder: Path) -> str:
    with pytest.raises(DataError) as info:
        load_source(spec, None, folder)
    return info.value.message


def test_table_errors_name_file_and_column(workdir: Path) -> None:
    frame = _table(workdir)
    path = workdir / "t.csv"
    frame.to_csv(path, index=False)
    assert (
        _message(CsvSource(path="missing.csv", target="label"), workdir)
        == f"{workdir / 'missing.csv'}: file not found"
    )
    assert (
        _message(CsvSource(path="t.csv", target="lable"), workdir)
        == f"{path}: no target column 'lable'. Did you mean 'label'?"
    )
    # string columns are typed now (dlkit.data.columns), not refused: only a streamed table refuses them
    msg = _message(CsvSource(path="t.csv", target="label", id_column="uid", stream=True), workdir)
    assert msg.startswith(f"{path}: feature column 'source' is not numeric: value 'web' at line ")
    assert _message(CsvSource(path="t.csv", target="label", drop=["sorce"]), workdir) == (
        f"{path}: data.source.drop: no column 'sorce'. Did you mean 'source'?"
    )
    assert _message(CsvSource(path="t.csv", target="label", columns={"uuid": {}}), workdir) == (
        f"{path}: data.source.columns: no column 'uuid'. Did you mean 'uid'?"
    )


def test_missing_targets_and_features_are_reported_with_row(workdir: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "y": [0, 1, 0, 1]})
    frame.to_csv(workdir / "f.csv", index=False)
    refuse = {"a": {"missing": "refuse"}}
    assert _message(CsvSource(path="f.csv", target="y", columns=refuse), workdir) == (
        f"{workdir / 'f.csv'}: feature column 'a' has 1 missing value(s), first at line 4"
    )
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": ["x", None, "z"]}).to_csv(workdir / "g.csv", index=False)
    assert _message(CsvSource(path="g.csv", target="y"), workdir) == (
        f"{workdir / 'g.csv'}: target column 'y': 1 missing target value(s), first at line 3"
    )
    kept = load_source(CsvSource(path="g.csv", target="y", drop_missing_target=True), None, workdir)
    assert kept.ids.tolist() == [0, 2] and kept.classes == ["x", "z"]
    assert kept.options["n_missing_target_dropped"] == 1


def test_duplicate_ids_and_empty_files(workdir: Path) -> None:
    pd.DataFrame({"id": [1, 2, 2], "a": [1.0, 2.0, 3.0], "y": [0, 1, 0]}).to_csv(
        workdir / "d.csv", index=False
    )
    assert _message(CsvSource(path="d.csv", target="y", id_column="id"), workdir) == (
        f"{workdir / 'd.csv'}: id column 'id' has duplicate id 2 at line 4 (first at line 3)"
    )
    (workdir / "e.csv").write_text("")
    assert _message(CsvSource(path="e.csv", target="y"), workdir).startswith(
        f"{workdir / 'e.csv'}: cannot read as csv"
    )


def test_single_class_is_refused() -> None:
    with pytest.raises(DataError, match=r"needs at least 2 classes \(got \['a'\]\)"):
        encode_target(pd.Series(["a", "a"]), None, "f: target column 'y'")


def test_float32_parse_gives_the_values_and_hashes_of_float64_then_cast(workdir: Path) -> None:
    from dlkit.data._common import row_hashes

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(2000, 3)) * 10.0 ** rng.integers(-20, 20, size=(2000, 3)))
    frame.columns = ["a", "b", "c"]
    frame["flag"] = [True, False] * 1000  # booleans are numbers (0/1), as before
    frame["y"] = rng.integers(0, 2, 2000)
    frame.to_csv(workdir / "p.csv", index=False, float_format="%.17g")
    expected = pd.read_csv(workdir / "p.csv")[["a", "b", "c", "flag"]].to_numpy(dtype=np.float32)
    for stream in (False, True):
        data = load_source(CsvSource(path="p.csv", target="y", stream=stream), None, workdir)
        assert (data.input_hashes == row_hashes(expected)).all()
        if not stream:
            assert data.x.view(np.uint32).tolist() == expected.view(np.uint32).tolist()


def test_text_in_a_feature_far_down_a_streamed_file_is_named(workdir: Path, monkeypatch) -> None:
    import dlkit.data.sources as sources

    monkeypatch.setattr(sources, "CHUNK_ROWS", 10)
    frame = pd.DataFrame({"a": np.arange(50.0), "y": [0, 1] * 25})
    frame["a"] = frame["a"].astype(object)
    frame.loc[37, "a"] = "n/k"
    frame.to_csv(workdir / "s.csv", index=False)
    for stream in (False, True):  # the bad value itself and its row, whole or streamed
        assert _message(CsvSource(path="s.csv", target="y", stream=stream), workdir) == (
            f"{workdir / 's.csv'}: feature column 'a' is not numeric: value 'n/k' at line 39"
        )
    frame.loc[37, "a"] = None
    frame.to_csv(workdir / "m.csv", index=False)
    assert _message(CsvSource(path="m.csv", target="y", stream=True), workdir) == (
        f"{workdir / 'm.csv'}: feature column 'a' has 1 missing value(s), first at line 39"
    )


def test_parquet_index_is_not_taken_for_a_column(workdir: Path) -> None:
    _table(workdir).set_index("uid").to_parquet(workdir / "i.parquet")
    data = load_source(ParquetSource(path="i.parquet", target="label", metadata=["source"]), None, workdir)
    assert data.feature_names == ["a", "b"] and data.n_examples == 40


def test_a_streamed_csv_must_hold_one_row_a_line(workdir: Path) -> None:
    """tf.data reads a streamed CSV again line by line: a blank line or a quoted line break would
    shift every later row onto another's label, so the file is refused in one line."""
    lines = "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"
    (workdir / "ok.csv").write_text(lines.rstrip("\n"))  # a last line without its newline is fine
    assert len(load_source(CsvSource(path="ok.csv", target="y", stream=True), None, workdir).ids) == 4
    (workdir / "blank.csv").write_text(lines.replace("3,4,1\n", "3,4,1\n\n"))
    (workdir / "quoted.csv").write_text('a,b,y\n1,"2\n",0\n3,4,1\n')
    for name, n_lines, n_rows in (("blank.csv", 5, 4), ("quoted.csv", 3, 2)):
        assert _message(CsvSource(path=name, target="y", stream=True), workdir) == (
            f"{workdir / name}: {n_lines} lines after the header hold {n_rows} rows (blank lines, or "
            "quoted values spanning lines); a streamed CSV is read one row a line"
        )
        assert len(load_source(CsvSource(path=name, target="y"), None, workdir).ids) == n_rows
