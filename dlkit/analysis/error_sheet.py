"""The error sheet: sampled dev errors with one yes/no column per category, and its reading.

A person fills the sheet in any spreadsheet (1/0, x/blank, yes/no, true/false) and may add
columns for categories invented while looking; :func:`parse_sheet` reads the filled cells back
strictly and names the file, row and column of anything it cannot read. Writing the sheet and
reading its file are :mod:`dlkit.runs.error_sheet`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlkit._lazy import lazy_module
from dlkit._naming import did_you_mean
from dlkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: analyze-errors reads a classification run without pandas
    pd = lazy_module("pandas")

BASE_COLUMNS: tuple[str, ...] = ("id", "y_true", "y_pred", "confidence", "loss")
COMMENTS = "comments"
# the right label of an example tagged incorrectly_labelled (empty: not known or not wrong);
# ``--apply-corrections`` turns these cells into a corrections file
CORRECTED_LABEL = "corrected_label"
TRUE_WORDS = frozenset({"1", "1.0", "x", "yes", "y", "true", "t"})
FALSE_WORDS = frozenset({"", "0", "0.0", "no", "n", "false", "f"})
BOOLEAN_HELP = "use 1/0, x/blank, yes/no or true/false"


class SheetError(DataError):
    """A filled sheet cannot be read: the user's input, so exit code 2 like a bad recipe."""

    exit_code = 2


def build_sheet(
    sample: pd.DataFrame, categories: Sequence[str], metadata_columns: Sequence[str]
) -> pd.DataFrame:
    """The sheet for a sample of errors: every category False, comments empty.

    Args:
        sample: sampled rows of a predictions frame (``id``, ``y_true``, ``y_pred``, ...).
        categories: the boolean columns, in order.
        metadata_columns: the example's metadata columns to carry.

    Returns:
        id, y_true, y_pred, confidence, loss, metadata columns, categories, corrected_label,
        comments.
    """
    columns = [c for c in (*BASE_COLUMNS, *metadata_columns) if c in sample.columns]
    sheet = sample[columns].reset_index(drop=True).copy()
    for name in categories:
        sheet[name] = False
    sheet[CORRECTED_LABEL] = ""
    sheet[COMMENTS] = ""
    return sheet


@dataclass
class TaggedSheet:
    """A filled sheet read back.

    Attributes:
        frame: ``id`` (text), one boolean column per category, ``comments`` (text).
        categories: the recipe's categories, then any added on the sheet, in sheet order.
        added: categories the person added as new columns on the sheet.
        path: where it was read from.
    """

    frame: pd.DataFrame
    categories: list[str]
    added: list[str]
    path: Path


def parse_flag(text: str) -> bool | None:
    """1/0, x/blank, yes/no, y/n, true/false (any case) -> bool; anything else -> None."""
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_sheet(
    raw: pd.DataFrame,
    path: Path,
    categories: Sequence[str],
    known_ids: Sequence[object],
    metadata_columns: Sequence[str] = (),
    *,
    where: str = "this run's dev set",
) -> TaggedSheet:
    """Read the cells of a filled sheet.

    Columns other than the sheet's own (id, labels, confidence, loss, metadata, corrected label,
    comments) and the recipe's categories are read as categories the person added while looking.

    Args:
        raw: the sheet's cells as text, as read from its file.
        path: the file it was read from, for messages.
        categories: the recipe's categories (incorrectly_labelled included); each must be a column.
        known_ids: ids of the set the sheet was sampled from.
        metadata_columns: metadata columns that may appear on the sheet (not categories).
        where: what ``known_ids`` are, for the unknown-id message.

    Returns:
        The tags, one row per sheet row.

    Raises:
        SheetError: a missing column, an unknown or repeated id, or a cell that is not yes/no;
            the message names the file, the spreadsheet row (the header is row 1) and the column.
    """
    raw = raw.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    if "id" not in raw.columns:
        raise SheetError(
            f"{path}: no column 'id'.{did_you_mean('id', raw.columns)}",
            hint="keep the id column of the sheet dlkit wrote",
        )
    for name in categories:
        if name not in raw.columns:
            raise SheetError(
                f"{path}: no column '{name}' (a category of the recipe's analysis section)."
                f"{did_you_mean(name, raw.columns)}",
                hint=f"the sheet needs one yes/no column per category: {', '.join(categories)}",
            )
    own = {*BASE_COLUMNS, COMMENTS, CORRECTED_LABEL, *metadata_columns}
    added = []
    for col in raw.columns:
        if col in own or col in categories:
            continue
        if col.startswith("Unnamed:") and not raw[col].str.strip().any():
            continue  # an empty column a spreadsheet left behind
        added.append(col)
    every = [*categories, *added]

    known = {str(i) for i in known_ids}
    ids = raw["id"].str.strip()
    seen: dict[str, int] = {}
    for i, ident in enumerate(ids):
        row = i + 2
        if ident not in known:
            raise SheetError(
                f"{path}: row {row}, column 'id': {ident!r} is not an example of {where}",
                hint="keep the ids of the sheet dlkit wrote",
            )
        if ident in seen:
            raise SheetError(f"{path}: row {row}, column 'id': {ident!r} repeats row {seen[ident]}")
        seen[ident] = row

    frame = pd.DataFrame({"id": ids})
    for name in every:
        flags = []
        for i, cell in enumerate(raw[name]):
            flag = parse_flag(cell)
            if flag is None:
                raise SheetError(
                    f"{path}: row {i + 2}, column '{name}': cannot read {cell!r} as yes/no; {BOOLEAN_HELP}"
                )
            flags.append(flag)
        frame[name] = pd.Series(flags, dtype=bool)
    frame[COMMENTS] = raw[COMMENTS].fillna("").astype(str) if COMMENTS in raw.columns else ""
    return TaggedSheet(frame=frame, categories=every, added=added, path=path)
