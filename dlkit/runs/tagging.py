"""The state of an interactive tagging session over an error sheet (no terminal code here).

The sheet CSV is the record: every change is written to it at once, atomically (a temporary
file renamed over it), so stopping at any point, even by closing the terminal, loses no tag.
Where the person was is kept beside it in ``<sheet>.tagging.json``, so the next session
resumes there. Cells are kept as the text they hold, so edits made in a spreadsheet between
sessions survive; a toggled category is written as 1 or 0.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dlkit.analysis.error_sheet import (
    BASE_COLUMNS,
    BOOLEAN_HELP,
    COMMENTS,
    CORRECTED_LABEL,
    SheetError,
    parse_flag,
)
from dlkit.analysis.spec import INCORRECTLY_LABELLED


def _atomic_write(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class TaggingSession:
    """One person going through the sheet, one example at a time.

    Attributes:
        path: the sheet CSV.
        frame: its cells as text.
        categories: the yes/no columns, in sheet order.
        classes: the run's classes (valid corrected labels).
        position: the row shown (0-based).
        visited: ids shown at least once.
    """

    path: Path
    frame: pd.DataFrame
    categories: list[str]
    classes: list[str]
    position: int = 0
    visited: list[str] = field(default_factory=list)

    @property
    def state_path(self) -> Path:
        return self.path.with_name(self.path.name + ".tagging.json")

    @classmethod
    def open(cls, path: Path, classes: Sequence[Any], metadata_columns: Sequence[str] = ()) -> TaggingSession:
        """Open a sheet, resuming where the last session stopped.

        Raises:
            SheetError: the sheet cannot be read, has no ``id`` column or no row, or holds a
                category cell that is not yes/no.
        """
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise SheetError(f"{path}: cannot read the sheet: {str(exc).splitlines()[0]}") from None
        if "id" not in frame.columns:
            raise SheetError(f"{path}: no column 'id'", hint="keep the id column of the sheet dlkit wrote")
        if frame.empty:
            raise SheetError(f"{path}: the sheet has no rows (no dev errors to tag)")
        own = {*BASE_COLUMNS, COMMENTS, CORRECTED_LABEL, *metadata_columns}
        categories = [c for c in frame.columns if c not in own and not c.startswith("Unnamed:")]
        for name in categories:
            for i, cell in enumerate(frame[name]):
                if parse_flag(cell) is None:
                    raise SheetError(
                        f"{path}: row {i + 2}, column '{name}': cannot read {cell!r} as yes/no; "
                        f"{BOOLEAN_HELP}"
                    )
        for column in (CORRECTED_LABEL, COMMENTS):
            if column not in frame.columns:
                frame[column] = ""
        session = cls(path, frame, categories, [str(c) for c in classes])
        state = session.state_path
        if state.is_file():
            try:
                saved = json.loads(state.read_text(encoding="utf-8"))
                ids = frame["id"].tolist()
                session.visited = [i for i in saved.get("visited", []) if i in set(ids)]
                where = saved.get("id")
                session.position = ids.index(where) if where in ids else 0
            except (ValueError, AttributeError):
                pass  # a damaged state file only loses the position, never a tag
        session._visit()
        return session

    # ------------------------------------------------------------ reading

    @property
    def n(self) -> int:
        return len(self.frame)

    def row(self) -> dict[str, str]:
        """The shown example's cells."""
        return {str(k): str(v) for k, v in self.frame.iloc[self.position].items()}

    def flags(self) -> dict[str, bool]:
        """The shown example's categories."""
        row = self.frame.iloc[self.position]
        return {name: bool(parse_flag(row[name])) for name in self.categories}

    @property
    def finished(self) -> bool:
        """Every example has been shown."""
        return len(self.visited) >= self.n

    # ------------------------------------------------------------ changing (each one saved)

    def toggle(self, category: str) -> bool:
        """Flip one category of the shown example; returns its new value."""
        value = not self.flags()[category]
        self.frame.iat[self.position, self.frame.columns.get_loc(category)] = "1" if value else "0"
        self.save()
        return value

    def set_comment(self, text: str) -> None:
        self.frame.iat[self.position, self.frame.columns.get_loc(COMMENTS)] = text.strip()
        self.save()

    def set_corrected_label(self, label: str) -> None:
        """Set (or clear, with '') the right label; setting one tags incorrectly_labelled.

        Raises:
            ValueError: ``label`` is not one of the run's classes.
        """
        label = label.strip()
        if label and label not in self.classes:
            raise ValueError(f"{label!r} is not a class (one of {', '.join(self.classes)})")
        self.frame.iat[self.position, self.frame.columns.get_loc(CORRECTED_LABEL)] = label
        if label and INCORRECTLY_LABELLED in self.categories:
            self.frame.iat[self.position, self.frame.columns.get_loc(INCORRECTLY_LABELLED)] = "1"
        self.save()

    def move(self, step: int) -> bool:
        """Go to the next (+1) or previous (-1) example; False at either end (nothing moves)."""
        target = self.position + step
        if not 0 <= target < self.n:
            return False
        self.position = target
        self._visit()
        return True

    def _visit(self) -> None:
        ident = str(self.frame["id"].iloc[self.position])
        if ident not in self.visited:
            self.visited.append(ident)
        self._save_state()

    def save(self) -> None:
        """Write the sheet and the position, each atomically."""
        _atomic_write(self.path, lambda f: self.frame.to_csv(f, index=False))
        self._save_state()

    def _save_state(self) -> None:
        state = {"id": str(self.frame["id"].iloc[self.position]), "visited": self.visited}
        _atomic_write(self.state_path, lambda f: json.dump(state, f))

    def write_parquet(self) -> Path:
        """Refresh the Parquet copy of the sheet (categories as booleans)."""
        typed = self.frame.copy()
        for name in self.categories:
            typed[name] = typed[name].map(lambda cell: bool(parse_flag(cell)))
        target = self.path.with_suffix(".parquet")
        typed.to_parquet(target, index=False)
        return target
