"""Label corrections: a CSV of confirmed label fixes that every later training applies by id.

Error analysis (docs/method.md §4) finds examples whose given label is wrong. Rather than edit
the source data, the fixes are kept as a small file that the recipe names
(``data.corrections: corrections.csv``); the data loader overrides the labels of those ids in
every set, so dev and test are corrected by the same rule and stay one distribution. The
split is drawn on the labels as given, so a correction never moves an example to another set.

The file (written by ``dlkit analyze-errors RUN --apply-corrections SHEET``)::

    id,label,previous_label,set,reason
    412,7,1,dev,error sheet
    1033,3,5,test,error sheet

``id`` and ``label`` are required; ``previous_label`` (the label the correction replaces), when
given, must still be the source's label (or already the corrected one): a correction made
against other data is refused rather than applied blindly. ``set`` and ``reason`` are notes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from dlkit._naming import did_you_mean
from dlkit.data.dataset import Dataset
from dlkit.errors import DataError

COLUMNS: tuple[str, ...] = ("id", "label", "previous_label", "set", "reason")
CORRECTED_LABEL = "corrected_label"


class CorrectionsError(DataError):
    """A corrections file or a sheet of corrections is invalid (the user's input: exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class CorrectionsApplied:
    """What applying a corrections file changed.

    Attributes:
        path: the corrections file.
        n_corrections: rows in the file.
        n_changed: labels that differed from the source and were replaced.
        sha256: the file's content hash (logged with the run).
    """

    path: Path
    n_corrections: int
    n_changed: int
    sha256: str


def _row_name(path: Path, index: int) -> str:
    """Data row ``index`` (0-based) of a corrections file as a person finds it: the line of a
    CSV file (the header is line 1; a sheet dlkit wrote has one row a line), else 1-based."""
    return f"row {index + 1} (1-based)" if path.suffix.lower() == ".parquet" else f"line {index + 2}"


def _read_csv(path: Path) -> pd.DataFrame:
    if path.is_dir():
        raise CorrectionsError(f"{path}: is a folder; expected a corrections file (CSV or Parquet)")
    if not path.is_file():
        raise CorrectionsError(f"{path}: file not found")
    if path.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise CorrectionsError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
        return frame.astype(object).where(frame.notna(), "").astype(str)
    try:
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CorrectionsError(f"{path}: cannot read as CSV: {reason}") from None


def _require(path: Path, frame: pd.DataFrame, column: str, hint: str) -> None:
    if column not in frame.columns:
        raise CorrectionsError(
            f"{path}: no column '{column}'.{did_you_mean(column, frame.columns)}", hint=hint
        )


def read_corrections(path: Path) -> pd.DataFrame:
    """Read a corrections file: one row per id, every column as text.

    Raises:
        CorrectionsError: missing file or column, an empty id or label, a repeated id.
    """
    frame = _read_csv(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in ("id", "label"):
        _require(path, frame, column, "a corrections file has the columns " + ", ".join(COLUMNS))
    frame = frame.apply(lambda col: col.str.strip())
    seen: dict[str, str] = {}
    for i, (ident, label) in enumerate(zip(frame["id"], frame["label"], strict=True)):
        row = _row_name(path, i)
        if not ident:
            raise CorrectionsError(f"{path}: {row}, column 'id': empty")
        if not label:
            raise CorrectionsError(f"{path}: {row}, column 'label': empty")
        if ident in seen:
            raise CorrectionsError(f"{path}: {row}, column 'id': {ident!r} repeats {seen[ident]}")
        seen[ident] = row
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    return frame


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def apply_corrections(data: Dataset, path: Path) -> tuple[Dataset, CorrectionsApplied]:
    """Override the labels of the ids a corrections file lists.

    Args:
        data: a classification dataset as loaded from its source.
        path: the corrections file.

    Returns:
        A copy of ``data`` with corrected ``y`` (everything else shared), and what changed.

    Raises:
        CorrectionsError: the file is invalid, names an id the data does not have or a label that
            is not a class, or its ``previous_label`` is neither the source's label nor the new one.
    """
    path = Path(path)
    if not data.classifies:
        raise CorrectionsError(
            f"{path}: label corrections need a classification task (the data is {data.task})"
        )
    frame = read_corrections(path)
    index = {str(c): k for k, c in enumerate(data.classes)}
    position = {str(ident): k for k, ident in enumerate(data.ids.tolist())}
    y = data.y.copy()
    changed = 0
    for i, row in enumerate(frame.itertuples(index=False)):
        where = f"{path}: {_row_name(path, i)}"
        at = position.get(row.id)
        if at is None:
            raise CorrectionsError(
                f"{where}, column 'id': {row.id!r} is not an example of {data.description}",
                hint="corrections are matched to the data source's ids",
            )
        if row.label not in index:
            raise CorrectionsError(
                f"{where}, column 'label': {row.label!r} is not a class "
                f"(expected one of {', '.join(index)}).{did_you_mean(row.label, index)}"
            )
        current = str(data.classes[int(y[at])])
        if row.previous_label and row.previous_label not in (current, row.label):
            raise CorrectionsError(
                f"{where}, column 'previous_label': id {row.id} is labelled {current!r} in "
                f"{data.description}, not {row.previous_label!r}: the data changed since this correction",
                hint="check the correction against the data and update or remove the row",
            )
        new = index[row.label]
        changed += int(y[at] != new)
        y[at] = new
    applied = CorrectionsApplied(path, len(frame), changed, file_sha256(path))
    corrected = replace(data, y=y, description=f"{data.description} with {len(frame)} label correction(s)")
    return corrected, applied


def corrections_params(path: Path | None) -> dict[str, Any]:
    """Params to log with a run trained with ``path`` (empty without corrections)."""
    if path is None:
        return {}
    frame = read_corrections(Path(path))
    return {"data.corrections.n": len(frame), "data.corrections.sha256": file_sha256(Path(path))}


def corrections_from_sheet(
    path: Path,
    sets: Mapping[str, str],
    labels: Mapping[str, str],
    classes: Sequence[Any],
    *,
    reason: str | None = None,
    label_column: str = CORRECTED_LABEL,
) -> pd.DataFrame:
    """The corrections a person wrote on a sheet (an error sheet or a label-issues list).

    Rows whose ``corrected_label`` cell is empty are skipped (not corrected).

    Args:
        path: the sheet (.csv, .tsv or .parquet) with ``id`` and ``corrected_label`` columns.
        sets: id -> the set it belongs to in the run (train, dev, test, ...).
        labels: id -> its current label (as text).
        classes: the run's classes.
        reason: written to the ``reason`` column (the sheet's file name when None).
        label_column: the column holding the corrected label.

    Returns:
        The corrections (``id, label, previous_label, set, reason``), in sheet order; corrections
        that restate the current label are kept out.

    Raises:
        CorrectionsError: a missing column, an id the run does not have, a repeated id, or a
            label that is not one of the run's classes; the message names file, row and column.
    """
    path = Path(path)
    raw = _read_csv(path)
    raw.columns = [str(c).strip() for c in raw.columns]
    hint = f"add a column '{label_column}' and write the right label in the rows to correct"
    _require(path, raw, "id", "keep the id column of the sheet dlkit wrote")
    _require(path, raw, label_column, hint)
    index = {str(c) for c in classes}
    why = reason or path.name
    rows: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for i, (ident, label) in enumerate(
        zip(raw["id"].str.strip(), raw[label_column].str.strip(), strict=True)
    ):
        row = _row_name(path, i)
        if not label:
            continue
        if ident not in sets:
            raise CorrectionsError(
                f"{path}: {row}, column 'id': {ident!r} is not an example of this run",
                hint="keep the ids of the sheet dlkit wrote",
            )
        if ident in seen:
            raise CorrectionsError(f"{path}: {row}, column 'id': {ident!r} repeats {seen[ident]}")
        seen[ident] = row
        if label not in index:
            raise CorrectionsError(
                f"{path}: {row}, column '{label_column}': {label!r} is not a class "
                f"(expected one of {', '.join(sorted(index))}).{did_you_mean(label, index)}"
            )
        if label == labels[ident]:
            continue
        rows.append(
            {"id": ident, "label": label, "previous_label": labels[ident], "set": sets[ident], "reason": why}
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def merge_corrections(earlier: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Earlier corrections with the new ones added; a new row for the same id wins.

    A new row keeps the earlier ``previous_label`` (the source's own label), so the file still
    checks against the source data.
    """
    earlier = earlier[list(COLUMNS)].astype(str)
    original = dict(zip(earlier["id"], earlier["previous_label"], strict=True))
    new = new[list(COLUMNS)].astype(str).copy()
    new["previous_label"] = [
        original.get(i) or p for i, p in zip(new["id"], new["previous_label"], strict=True)
    ]
    kept = earlier.loc[~earlier["id"].isin(set(new["id"]))]
    merged = pd.concat([kept, new], ignore_index=True)
    # a correction back to the source's own label is no correction
    return merged.loc[merged["label"] != merged["previous_label"]].reset_index(drop=True)


def write_corrections(frame: pd.DataFrame, path: Path) -> Path:
    """Write a corrections file atomically (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            frame[list(COLUMNS)].to_csv(f, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = [
    "COLUMNS",
    "CORRECTED_LABEL",
    "CorrectionsApplied",
    "CorrectionsError",
    "apply_corrections",
    "corrections_from_sheet",
    "corrections_params",
    "merge_corrections",
    "read_corrections",
    "write_corrections",
]
