"""Helpers every data source shares: content hashes, target encoding, column checks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit._naming import did_you_mean
from dlkit.data.dataset import Task, task_rules
from dlkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


def hash_arrays(*arrays: np.ndarray) -> str:
    """sha256 of the arrays' bytes, in order."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def hash_file(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_bytes64(data: bytes) -> int:
    """A 64-bit digest of ``data`` (blake2b), as an unsigned integer."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


# splitmix64's constants, as ints: made uint64 where used, so importing this module needs no NumPy
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _mix(h: np.ndarray, tmp: np.ndarray) -> None:
    """splitmix64's finaliser, element-wise and in place (uint64 arithmetic wraps around by design)."""
    for shift, factor in ((30, _M1), (27, _M2), (31, None)):
        np.right_shift(h, np.uint64(shift), out=tmp)
        np.bitwise_xor(h, tmp, out=h)
        if factor is not None:
            np.multiply(h, np.uint64(factor), out=h)


# rows hashed per block: the block's running hashes and scratch stay in cache across columns
_BLOCK_ROWS = 1 << 15


def row_hashes(x: np.ndarray) -> np.ndarray:
    """One 64-bit hash per example of its input values `(n,)` uint64.

    Two examples get the same hash exactly when their inputs are bit-for-bit equal (up to
    64-bit collisions, about one in 10^19 per pair), which is what the leakage check needs.
    Narrow rows are hashed column by column with vectorised splitmix64 steps, in place and in
    blocks of rows that stay in cache (about 4 ms per million rows and column); wide rows
    (images) with blake2b per row.
    """
    n = len(x)
    flat = x.reshape(n, -1) if n else np.empty((0, 0), dtype=np.float32)
    if flat.dtype.kind in "fiub" and flat.shape[1] <= 256:
        if flat.dtype.itemsize not in (4, 8):
            flat = flat.astype(np.float64)
        words = flat.view(np.uint32 if flat.dtype.itemsize == 4 else np.uint64)
        out = np.empty(n, dtype=np.uint64)
        block = max(1, min(n, _BLOCK_ROWS))
        word = np.empty(block, dtype=np.uint64)
        tmp = np.empty(block, dtype=np.uint64)
        golden = np.uint64(_GOLDEN)
        with np.errstate(over="ignore"):
            for start in range(0, n, block):
                stop = min(start + block, n)
                h, w, t = out[start:stop], word[: stop - start], tmp[: stop - start]
                h.fill(golden)
                for j in range(words.shape[1]):
                    w[...] = words[start:stop, j]  # widened to uint64
                    w += golden * np.uint64(j + 1)
                    _mix(w, t)
                    h ^= w
                    _mix(h, t)
        return out
    flat = np.ascontiguousarray(flat)
    return np.fromiter((hash_bytes64(row.tobytes()) for row in flat), dtype=np.uint64, count=n)


def text_hashes(values: Iterable[object]) -> np.ndarray:
    """One 64-bit hash per string `(n,)` uint64."""
    return pd.util.hash_array(np.asarray([str(v) for v in values], dtype=object)).astype(np.uint64)


def release_arrow_memory() -> None:
    """Hand back to the system the pages Arrow's allocator (mimalloc) kept after a pass over a
    file: it keeps freed pages for reuse, so the per-row temporaries of reading a table (a
    column's batches, a manifest's table) stayed resident after they were freed, about 10 MiB at
    200,000 rows. A no-op when pyarrow is not imported."""
    import sys

    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()


def resolve(path: Path, base_dir: Path) -> Path:
    """``path`` itself when absolute, else taken from ``base_dir``."""
    return path if path.is_absolute() else base_dir / path


def require_file(path: Path) -> None:
    """Refuse a path that is not a readable regular file, saying what it is instead.

    Raises:
        DataError: a folder, nothing at all, or something else (a FIFO would block the reader).
    """
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a file")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")


def csv_line(path: Path, sep: str, index: int) -> int | None:
    """The line (1-based, the header is line 1) where data row ``index`` (0-based) of a CSV
    file starts, as pandas reads it: blank lines skipped, a quoted value may span lines.

    Read only when a message names a row, so the cost of a scan falls on errors alone. None
    when the separator is not one character (the csv module cannot follow it) or the file has
    fewer rows.
    """
    import csv

    if len(sep) != 1:
        return None
    count = -1  # the header
    end = 0
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f, delimiter=sep)
            for record in reader:
                start, end = end + 1, reader.line_num
                if not record:  # a blank line: pandas skips it
                    continue
                if count == index:
                    return start
                count += 1
    except (OSError, csv.Error):
        return None
    return None


@dataclass(frozen=True)
class RowNames:
    """How messages name a row of a source's data, so that a person finds it in the file.

    A CSV file's rows are named by line, the header being line 1 (``line 7``); other sources
    (Parquet, arrays) by their 1-based position among the data rows (``row 6 (1-based)``).

    Attributes:
        csv: the CSV file the rows come from; None when the source has no lines.
        sep: the CSV file's separator.
        kept: the 0-based position in the file of each row still held (rows without a target
            dropped); None when every row is held.
    """

    csv: Path | None = None
    sep: str = ","
    kept: np.ndarray | None = field(default=None, compare=False)

    def __call__(self, index: int) -> str:
        """The row at 0-based position ``index`` of the data held, as the file has it."""
        index = int(self.kept[index]) if self.kept is not None else int(index)
        if self.csv is not None:
            line = csv_line(self.csv, self.sep, index)
            if line is not None:
                return f"line {line}"
            if len(self.sep) == 1:  # past the end: say so plainly rather than guess a line
                return f"row {index + 1} (1-based)"
            return f"line {index + 2}"  # a regex separator: one record a line
        return f"row {index + 1} (1-based)"

    def keeping(self, present: np.ndarray) -> RowNames:
        """The names once only the rows where ``present`` `(n,)` bool is true are held."""
        positions = np.flatnonzero(present)
        kept = positions if self.kept is None else self.kept[positions]
        return RowNames(self.csv, self.sep, kept)


def duplicate_id(ids: np.ndarray, dup: np.ndarray, where: str, rows: RowNames | None = None) -> str:
    """One line naming the first repeated id, where it repeats and where it was first seen.

    Args:
        ids: the ids `(n,)`.
        dup: whether each id was seen on an earlier row `(n,)` bool.
        where: ``file: id column 'x'`` (or array), for the message.
        rows: how to name a row (1-based positions when None).
    """
    rows = rows or RowNames()
    second = int(np.flatnonzero(dup)[0])
    first = int(np.flatnonzero(pd.Series(ids[: second + 1]).astype(str) == str(ids[second]))[0])
    return f"{where} has duplicate id {plain(ids[second])!r} at {rows(second)} (first at {rows(first)})"


def data_row(index: int) -> str:
    """How a message names the row at 0-based position ``index`` of data without lines."""
    return RowNames()(index)


def first_not_number(values: pd.Series) -> int | None:
    """The position of the first present value that does not read as a number, or None."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = (values.notna() & numbers.isna()).to_numpy()
    return int(np.flatnonzero(bad)[0]) if bad.any() else None


def infer_task(y: pd.Series) -> Task:
    n_unique = y.nunique(dropna=True)
    if n_unique == 2:
        return "binary"
    if pd.api.types.is_float_dtype(y) and not np.all(np.mod(y.dropna(), 1) == 0):
        return "regression"
    if pd.api.types.is_numeric_dtype(y) and n_unique > 50:
        return "regression"
    return "multiclass"


def plain(value: object) -> object:
    """numpy scalars -> Python scalars, so classes serialise to JSON and YAML."""
    return value.item() if isinstance(value, np.generic) else value


def encode_target(
    y: pd.Series,
    task: Task | None,
    where: str,
    expected: list[Any] | None = None,
    rows: RowNames | None = None,
) -> tuple[np.ndarray, Task, list[object]]:
    """Encode a target column as class indices (or floats for regression).

    Args:
        y: the raw target values.
        task: the task the recipe names, or None to infer it.
        where: ``file: column 'x'`` for error messages.
        expected: the recipe's class list (index order); a label outside it is an error.
        rows: how messages name a row (1-based positions when None).

    Returns:
        The encoded targets, the task, and the class values in index order.

    Raises:
        DataError: missing targets, a single class, a label not in ``expected``, or
            non-numeric regression targets.
    """
    if task is not None and task_rules(task).multiple_targets:
        raise DataError(
            f"{where}: task {task} needs several 0/1 target columns (got one)",
            hint="list the 0/1 columns under data.source.target (CSV and Parquet tables)",
        )
    rows = rows or RowNames()
    missing = y.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"{where}: {int(missing.sum())} missing target value(s), first at {rows(row)}",
            hint="drop or fill those rows; every example needs a target",
        )
    task = task or infer_task(y)
    rules = task_rules(task)
    if rules.labels == "continuous":
        if not pd.api.types.is_numeric_dtype(y):
            bad = first_not_number(y)
            if bad is not None:  # quote the value that is no number, not the column's first
                raise DataError(
                    f"{where}: regression needs a numeric target; value {plain(y.iloc[bad])!r} at "
                    f"{rows(bad)} is not a number"
                )
            y = pd.to_numeric(y)  # numbers of mixed Python types (a Parquet object column)
        with np.errstate(over="ignore"):  # beyond float32 becomes inf, refused just below
            values = y.to_numpy(dtype=np.float32)
        infinite = ~np.isfinite(values)
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise DataError(
                f"{where}: {int(infinite.sum())} infinite target value(s) (inf, or beyond float32), "
                f"first {plain(y.iloc[row])!r} at {rows(row)}"
            )
        return values, task, []
    codes, uniques = pd.factorize(y, sort=False)
    if expected is not None:
        known = {str(c) for c in expected}
        unseen = [k for k, v in enumerate(uniques) if str(plain(v)) not in known]
        if unseen:
            first = int(np.flatnonzero(np.isin(codes, unseen))[0])
            raise DataError(
                f"{where}: label {plain(uniques[unseen[0]])!r} at {rows(first)} is not one of the "
                f"classes {list(expected)!r}",
                hint="add it to data.source.classes, or drop those rows",
            )
        classes: list[Any] = list(expected)
    else:
        classes = sorted((plain(v) for v in uniques), key=lambda v: (str(type(v)), v))  # type: ignore[arg-type]
    if len(classes) < 2:
        raise DataError(f"{where}: classification needs at least 2 classes (got {classes!r})")
    if rules.exact_classes is not None and len(classes) != rules.exact_classes:
        raise DataError(
            f"{where}: task {task} needs exactly {rules.exact_classes} classes (got {len(classes)})"
        )
    # factorize is O(n) and keeps memory low on big tables; map its codes to the class order
    order = {str(c): i for i, c in enumerate(classes)}
    remap = np.asarray([order[str(plain(v))] for v in uniques], dtype=np.int64)
    return remap[codes], task, classes


def no_labels(
    task: Task | None, n: int, where: str, classes: list[Any] | None
) -> tuple[np.ndarray, Task, list[object]]:
    """Placeholder labels for ``n`` unlabelled examples of a trained model's task (zeros:
    scoring them runs, and what it says about truth is dropped, see ``Task.without_truth``).

    Raises:
        DataError: the task or, for a classification, the classes are unknown.
    """
    if task is None or (task_rules(task).labels != "continuous" and not classes):
        raise DataError(f"{where}: no labels, and no trained task and classes to predict for")
    rules = task_rules(task)
    if rules.multiple_targets:
        return np.zeros((n, len(classes or [])), dtype=np.float32), task, list(classes or [])
    if rules.labels == "continuous":
        return np.zeros(n, dtype=np.float32), task, []
    return np.zeros(n, dtype=np.int64), task, list(classes or [])


_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


def encode_tasks(frame: pd.DataFrame, where: object, rows: RowNames | None = None) -> np.ndarray:
    """Encode several 0/1 target columns (multi-task) as `(n, tasks)` float32, NaN where missing.

    A label is 0/1 (numbers, booleans, or the strings 0/1, true/false, yes/no); an empty cell
    is a missing label, which the masked loss skips (docs/method.md §7).

    Raises:
        DataError: a value that is not 0/1, or a task with no label at all.
    """
    rows = rows or RowNames()
    y = np.full(frame.shape, np.nan, dtype=np.float32)
    for j, col in enumerate(frame.columns):
        values = frame[col]
        present = values.notna().to_numpy()
        if not present.any():
            raise DataError(f"{where}: target column '{col}' has no labels (every value is empty)")
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            bad = present & ~np.isin(numbers, (0.0, 1.0))
            y[:, j] = numbers
        else:
            text = values.astype(str).str.strip().str.lower().to_numpy()
            ones, zeros = np.isin(text, list(_TRUE)), np.isin(text, list(_FALSE))
            bad = present & ~(ones | zeros)
            y[ones & present, j] = 1.0
            y[zeros & present, j] = 0.0
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{where}: target column '{col}': value {plain(values.iloc[row])!r} at {rows(row)} "
                "is not a 0/1 label",
                hint="multi-task labels are 0 or 1 (or true/false), empty when unknown",
            )
        y[~present, j] = np.nan
    return y


def require_columns(columns: Iterable[object], where: object, role: str, names: Iterable[str]) -> None:
    """Raise one line naming the first missing column, with a did-you-mean.

    Raises:
        DataError: a column in ``names`` is not among ``columns``.
    """
    present = [str(c) for c in columns]
    for name in names:
        if name not in present:
            raise DataError(
                f"{where}: no {role} column '{name}'.{did_you_mean(name, present)}",
                hint=f"columns are: {', '.join(present)}",
            )


def read_error(path: Path, kind: str, exc: Exception) -> DataError:
    """One line: the file, what it was read as, and the reader's first line of complaint."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataError(f"{path}: cannot read as {kind}: {reason}")
