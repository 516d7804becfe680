"""The error sheet's files: written as CSV (for spreadsheets) and Parquet, read back strictly.

What the sheet holds and how its cells are read is :mod:`dlkit.analysis.error_sheet`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dlkit._lazy import lazy_module
from dlkit.analysis.error_sheet import SheetError, TaggedSheet, parse_sheet

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: analyze-errors reads a classification run without pandas
    pd = lazy_module("pandas")


def write_sheet(sheet: pd.DataFrame, folder: Path, stem: str = "errors") -> tuple[Path, Path]:
    """Write the sheet as CSV (booleans as 0/1, for spreadsheets) and Parquet.

    Returns:
        The CSV and Parquet paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = folder / f"{stem}.csv", folder / f"{stem}.parquet"
    as_numbers = sheet.copy()
    for col in as_numbers.columns:
        if pd.api.types.is_bool_dtype(as_numbers[col]):
            as_numbers[col] = as_numbers[col].astype(int)
    as_numbers.to_csv(csv_path, index=False)
    sheet.to_parquet(parquet_path, index=False)
    return csv_path, parquet_path


def count_rows(path: Path) -> int:
    """The rows of a sheet's CSV file, as ``len(pd.read_csv(path, usecols=["id"]))`` counts them.

    Read by the csv module (pandas takes about half a second to import): blank and
    whitespace-only lines are not rows, a quoted cell may span lines. A file the csv module
    cannot read as text, or without an ``id`` column, is counted by pandas, which then says
    what is wrong.
    """
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = [row for row in csv.reader(f) if len(row) > 1 or (row and row[0].strip())]
    except (OSError, UnicodeDecodeError, csv.Error):
        rows = []
    if not rows or "id" not in rows[0]:
        return len(pd.read_csv(path, usecols=["id"]))
    return len(rows) - 1


def read_text_table(path: Path) -> pd.DataFrame:
    """A filled sheet's cells as text (.csv, .tsv or .parquet).

    Raises:
        SheetError: no such file, an unreadable one, or another format.
    """
    if not path.is_file():
        raise SheetError(f"{path}: file not found", hint="pass the sheet written by dlkit analyze-errors")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
            return frame.astype(object).where(frame.notna(), "").astype(str)
        if path.suffix.lower() in {".csv", ".tsv", ".txt"}:
            sep = "\t" if path.suffix.lower() == ".tsv" else ","
            return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SheetError(f"{path}: cannot read the sheet: {reason}") from None
    raise SheetError(f"{path}: a sheet must be a .csv, .tsv or .parquet file (got '{path.suffix}')")


def read_sheet(
    path: Path,
    categories: Sequence[str],
    known_ids: Sequence[object],
    metadata_columns: Sequence[str] = (),
    *,
    where: str = "this run's dev set",
) -> TaggedSheet:
    """Read a filled sheet back (see :func:`dlkit.analysis.error_sheet.parse_sheet`).

    Raises:
        SheetError: the file cannot be read, or a cell, column or id of it is wrong (file, row
            and column named).
    """
    return parse_sheet(read_text_table(path), path, categories, known_ids, metadata_columns, where=where)
