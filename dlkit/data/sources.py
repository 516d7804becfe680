"""Data sources: each a spec (the recipe's ``data.source``) beside the loader that reads it.

Every loader returns a :class:`~dlkit.data.dataset.Dataset` and takes ``(spec, task,
base_dir, columns=())``: ``columns`` are the extra columns the split needs (group, time,
source), kept as metadata and never used as features. Tables and image folders can be
streamed (``stream: true``, or automatically when large): the split then reads ids, labels and
hashes chunk by chunk and the inputs are read through ``tf.data`` later (:mod:`dlkit.data.pipeline`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._naming import did_you_mean
from dlkit._registry import Registry
from dlkit._spec import Spec
from dlkit.data._common import (
    RowNames,
    duplicate_id,
    encode_target,
    encode_tasks,
    first_not_number,
    hash_arrays,
    hash_file,
    no_labels,
    plain,
    read_error,
    release_arrow_memory,
    require_columns,
    require_file,
    resolve,
    row_hashes,
)
from dlkit.data.columns import ColumnSpec, TableColumns, input_hashes, type_columns
from dlkit.data.dataset import Dataset, Labels, Task, task_rules
from dlkit.errors import DataError, RecipeError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

SOURCES: Registry[Spec] = Registry("data source")

# tables bigger than this are streamed when the recipe does not say (1 GiB)
STREAM_BYTES = 1 << 30
# rows a streamed table is read in: its memory while loading, the same at 10x the rows
CHUNK_ROWS = 8192

# kept importable from here (tests and other modules use these names)
_hash_file = hash_file
_plain = plain
__all__ = ["SOURCES", "CsvSource", "ParquetSource", "SklearnSource", "encode_target", "load_source"]


class SklearnSource(Spec):
    """A dataset bundled with scikit-learn (no download)."""

    #: the task this source's labels always are (a recipe need not say data.task)
    implied_task: ClassVar[str] = "multiclass"

    type: Literal["sklearn"] = "sklearn"
    name: Literal["digits", "breast_cancer", "wine", "iris"] = Field(
        description="digits gives 8x8x1 images; the others are tables."
    )


class _TableSource(Spec):
    path: Path = Field(description="Relative paths are taken from the recipe's folder.")
    target: str | list[str] = Field(
        description="The column to predict; a list of 0/1 columns for multi-task (empty = unknown)."
    )
    id_column: str | None = Field(default=None, description="Stable example ids; the row number when absent.")
    features: list[str] | None = Field(
        default=None,
        description="Feature columns; every column not named elsewhere (nor dropped) by default, typed "
        "as data.source.columns says or as inferred.",
    )
    metadata: list[str] = Field(
        default_factory=list,
        description="Columns kept with predictions for reports (e.g. source), not used as features.",
    )
    classes: list[str | int] | None = Field(
        default=None,
        description="The expected labels in index order; any other label is an error. "
        "Sorted labels when absent.",
    )
    sample_weight: str | None = Field(
        default=None,
        description="A column of per-example loss weights (numbers >= 0), applied in training; "
        "kept with predictions, not used as a feature.",
    )
    stream: bool | None = Field(
        default=None,
        description="Read in chunks and stream through tf.data instead of loading whole; "
        "automatic above 1 GiB when absent.",
    )
    # typed columns (dlkit.data.columns): read whole, preprocessed inside the model
    columns: dict[str, ColumnSpec] = Field(
        default_factory=dict,
        description="Per-column settings by name: type (inferred when absent), missing, "
        "date_format, encoding.",
    )
    drop: list[str] = Field(default_factory=list, description="Columns not used at all.")
    na_values: list[str] = Field(
        default_factory=list,
        description="Extra strings that mark a missing value (e.g. ['?', 'NA']); empty cells always do.",
    )
    drop_missing_target: bool = Field(
        default=False,
        description="Drop rows without a target (their count is reported) instead of refusing them.",
    )

    #: the task several target columns are, when the recipe does not say data.task
    targets_task: ClassVar[Task] = "multitask"

    @property
    def implied_task(self) -> Task | None:
        """The task this table's labels always are: :attr:`targets_task` for a list of target
        columns; None for one column (its values tell, :func:`~dlkit.data._common.infer_task`)."""
        return self.targets_task if isinstance(self.target, list) else None


class CsvSource(_TableSource):
    """A CSV (or TSV, with ``sep``) table with a target column."""

    type: Literal["csv"] = "csv"
    sep: str = Field(default=",", min_length=1, description="Column separator (a tab for TSV).")


class ParquetSource(_TableSource):
    """A Parquet table with a target column."""

    type: Literal["parquet"] = "parquet"


def load_sklearn(
    spec: SklearnSource, task: Task | None, base_dir: Path, columns: Sequence[str] = ()
) -> Dataset:
    """Load a dataset bundled with scikit-learn."""
    from sklearn import datasets

    if columns:
        raise DataError(
            f"sklearn:{spec.name}: has no column '{columns[0]}' (bundled datasets have no metadata)"
        )
    loader = getattr(datasets, f"load_{spec.name}")
    bunch = loader()
    if spec.name == "digits":
        x = bunch.images.astype(np.float32)[..., np.newaxis]
        kind, feature_names = "image", []
    else:
        x = bunch.data.astype(np.float32)
        kind, feature_names = "tabular", [str(f) for f in bunch.feature_names]
    y_raw = pd.Series(bunch.target)
    if spec.name != "digits" and hasattr(bunch, "target_names"):
        y_raw = pd.Series(np.asarray(bunch.target_names)[bunch.target])
    y, task, classes = encode_target(y_raw, task, f"sklearn:{spec.name}: target")
    return Dataset(
        x=x,
        y=y,
        ids=np.arange(len(x)),
        task=task,
        kind=kind,  # type: ignore[arg-type]  # a Literal chosen above
        classes=classes,
        content_hash=hash_arrays(x, y),
        description=f"sklearn:{spec.name}",
        feature_names=feature_names,
        input_hashes=row_hashes(x),
    )


class _NotFloat(Exception):
    """A column read as float32 holds something else: read again without types, for a clear error."""


def _table_chunks(
    spec: CsvSource | ParquetSource, path: Path, stream: bool, floats: Sequence[str] = ()
) -> Iterator[pd.DataFrame]:
    """The table whole (one chunk), or in chunks of :data:`CHUNK_ROWS` rows when streaming.

    ``floats`` (CSV only) are parsed straight to float32: cheaper than float64 and then a cast,
    with the same values. A value that is no number raises :class:`_NotFloat`.
    """
    errors = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError)
    dtype = dict.fromkeys(floats, np.float32) or None
    try:
        if isinstance(spec, CsvSource):
            # parsed straight to float32, a value beyond its range becomes inf (refused later by
            # _check_finite, with its row): no overflow warning. The error state is set around
            # each read, never across a yield, where it would leak into the caller.
            if not stream:
                with np.errstate(over="ignore"):
                    frame = pd.read_csv(path, sep=spec.sep, dtype=dtype, na_values=spec.na_values or None)
                yield frame
                return
            with pd.read_csv(
                path, sep=spec.sep, chunksize=CHUNK_ROWS, dtype=dtype, na_values=spec.na_values or None
            ) as reader:
                while True:
                    with np.errstate(over="ignore"):
                        chunk = next(reader, None)
                    if chunk is None:
                        return
                    yield chunk
        if not stream:
            frame = pd.read_parquet(path)
            yield frame.replace(spec.na_values, np.nan) if spec.na_values else frame
            return
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK_ROWS):
            yield batch.to_pandas()
    except errors as exc:
        if dtype and isinstance(exc, (ValueError, TypeError)) and not isinstance(exc, pd.errors.ParserError):
            raise _NotFloat from None
        raise read_error(path, spec.type, exc) from None


def _header(spec: CsvSource | ParquetSource, path: Path) -> list[str]:
    """The column names, without reading the rows."""
    try:
        if isinstance(spec, CsvSource):
            return [str(c) for c in pd.read_csv(path, sep=spec.sep, nrows=0).columns]
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        # pandas stores its index as columns too; reading gives it back as the index, not a column
        index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
        return [str(c) for c in schema.names if c not in index]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise read_error(path, spec.type, exc) from None


_STREAM_HINT = (
    "a streamed table takes complete numbers only: encode or fill the column, list it under "
    "data.source.drop, or read the table whole (stream: false) to have it typed"
)


class _NotPlain(Exception):
    """A feature column is not complete numbers: the table is read as typed columns instead."""


def _check_features(
    chunk: pd.DataFrame, features: list[str], path: Path, offset: int, stream: bool, rows: RowNames
) -> None:
    for col in features:
        plain_numbers = pd.api.types.is_numeric_dtype(chunk[col]) and not chunk[col].isna().any()
        if not plain_numbers and not stream:
            raise _NotPlain
        if not pd.api.types.is_numeric_dtype(chunk[col]):
            # quote the value that is not a number (not the column's first, which may be fine)
            row = first_not_number(chunk[col])
            if row is None:  # numbers of mixed Python types (object column): say what it holds
                row = int(np.flatnonzero(chunk[col].notna().to_numpy())[0])
            raise DataError(
                f"{path}: feature column '{col}' is not numeric: value {plain(chunk[col].iloc[row])!r} "
                f"at {rows(offset + row)}",
                hint=_STREAM_HINT,
            )
        bad = chunk[col].isna().to_numpy()
        if bad.any():
            raise DataError(
                f"{path}: feature column '{col}' has {int(bad.sum())} missing value(s), "
                f"first at {rows(offset + int(np.flatnonzero(bad)[0]))}",
                hint=_STREAM_HINT,
            )


def _feature_block(chunk: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The features as one float32 array, filled column by column (no float64 copy of the table)."""
    block = np.empty((len(chunk), len(features)), dtype=np.float32)
    with np.errstate(over="ignore"):  # beyond float32 becomes inf: _check_finite names it
        for j, col in enumerate(features):
            block[:, j] = chunk[col].to_numpy(dtype=np.float32)
    return block


def _check_finite(
    block: np.ndarray, chunk: pd.DataFrame, features: list[str], path: Path, offset: int, rows: RowNames
) -> None:
    """Refuse inf (or a value beyond float32) in the features, naming the column and first row.

    Missing values were refused already, so anything not finite here is infinite; left in, it
    would surface only as a NaN loss during training.
    """
    finite = np.isfinite(block)
    if finite.all():
        return
    row, j = (int(i) for i in np.argwhere(~finite)[0])  # the first row, then its first column
    col = features[j]
    raise DataError(
        f"{path}: feature column '{col}' has {int((~finite[:, j]).sum())} infinite value(s) "
        f"(inf, or beyond float32), first {plain(chunk[col].iloc[row])!r} at {rows(offset + row)}",
        hint="drop or fix those rows; features must be finite numbers",
    )


def load_table(
    spec: CsvSource | ParquetSource,
    task: Task | None,
    base_dir: Path,
    columns: Sequence[str] = (),
    *,
    labels: Labels = "train",
) -> Dataset:
    """Load a CSV or Parquet table: features, target, optional ids and metadata.

    With ``labels="optional"`` a table without the target column(s) loads unlabelled.

    Streamed (``spec.stream``, or a file over 1 GiB), only targets, ids, metadata and one hash
    per row are kept; the features are read again through ``tf.data`` when needed.
    """
    path = resolve(spec.path, base_dir)
    require_file(path)
    rows = RowNames(path, spec.sep) if isinstance(spec, CsvSource) else RowNames()
    stream = spec.stream if spec.stream is not None else path.stat().st_size > STREAM_BYTES
    targets = _targets(spec, task, path)
    weight = [spec.sample_weight] if spec.sample_weight else []
    keep = list(dict.fromkeys([*spec.metadata, *weight, *(c for c in columns if c not in targets)]))
    header = _header(spec, path)
    labelled = labels != "optional" or all(t in header for t in targets)
    features = _columns(spec, header, path, keep, labelled)
    # complete numbers keep the plain path (one float32 array); anything else is typed per column
    typed = any(spec.columns.get(c, ColumnSpec()).type not in (None, "numeric") for c in features)
    infos: list[dict[str, Any]] = []
    examples: pd.DataFrame | None = None
    parts: tuple[Any, np.ndarray, Any, pd.DataFrame, np.ndarray]
    # sha256 releases the GIL: hash the file on a second thread while the parser reads it
    with ThreadPoolExecutor(max_workers=1) as hashing:
        content_hash = hashing.submit(hash_file, path)
        if not typed:
            try:
                parts = _read_rows(
                    spec,
                    path,
                    stream,
                    features,
                    keep,
                    rows,
                    floats=isinstance(spec, CsvSource),
                    labelled=labelled,
                )
            except _NotFloat:  # some feature holds text: typed, or read as is to say which value
                typed = not stream
                if stream:
                    parts = _read_rows(
                        spec, path, stream, features, keep, rows, floats=False, labelled=labelled
                    )
            except _NotPlain:
                typed = True
        if typed:
            if stream:
                raise DataError(
                    f"{path}: typed columns (data.source.columns) need the table read whole",
                    hint=_STREAM_HINT,
                )
            parts, infos, examples = _read_typed(spec, path, features, keep, rows, labelled)
    x: Any
    x, hashes, target, kept, all_ids = parts
    n = len(hashes)
    if n == 0:
        raise DataError(f"{path}: no rows")
    n_dropped = 0
    if labelled and not isinstance(spec.target, list):
        missing = target.isna().to_numpy()
        if missing.any() and not spec.drop_missing_target:
            raise DataError(
                f"{path}: target column '{spec.target}': {int(missing.sum())} missing target value(s), "
                f"first at {rows(int(np.flatnonzero(missing)[0]))}",
                hint="every example needs a target: fill those rows, or set "
                "data.source.drop_missing_target: true to drop them",
            )
        if missing.any():
            if stream:
                raise DataError(f"{path}: drop_missing_target needs the table read whole (stream: false)")
            present = ~missing
            n_dropped = int(missing.sum())
            x = x.take(present) if isinstance(x, TableColumns) else x[present]
            hashes, all_ids = hashes[present], all_ids[present]
            target = target[present].reset_index(drop=True)
            kept = kept[present].reset_index(drop=True)
            rows = rows.keeping(present)
            if len(hashes) == 0:
                raise DataError(f"{path}: no rows with a target")
    if not labelled:
        known = list(spec.target) if isinstance(spec.target, list) else spec.classes
        y, task, classes = no_labels(task, n, f"{path}: target column '{spec.target}'", known)
    elif isinstance(spec.target, list):
        y, task, classes = _encode_multitask(spec, task, target, path, rows)
    else:
        where = f"{path}: target column '{spec.target}'"
        y, task, classes = encode_target(target, task, where, spec.classes, rows)
    if spec.id_column:
        _check_unique_ids(all_ids, path, spec.id_column, rows)
    options: dict[str, Any] = {}
    if infos:
        options["columns"] = infos
    if n_dropped:
        options["n_missing_target_dropped"] = n_dropped
    if spec.id_column:  # rows with their own ids are different examples (the leakage check)
        options["id_column"] = spec.id_column
    formats = {name: c.date_format for name, c in spec.columns.items() if c.date_format}
    if formats:
        options["date_formats"] = formats
    if stream:
        release_arrow_memory()
        options |= {
            "input_shape": [len(features)],
            "format": spec.type,
            "path": str(path),
            "features": features,
        }
        if isinstance(spec, CsvSource):
            options["sep"] = spec.sep
            _check_one_row_a_line(path, n)
    return Dataset(
        x=x,
        y=y,
        ids=all_ids,
        task=task,
        kind="tabular",
        classes=classes,
        content_hash=content_hash.result(),
        description=str(path),
        feature_names=[str(c) for c in features] if not infos else list(x.arrays),
        metadata=kept,
        input_hashes=hashes,
        stream=stream,
        options=options,
        labelled=labelled,
        examples=examples,
        rows=rows,
    )


def _check_one_row_a_line(path: Path, n: int) -> None:
    """A streamed CSV is read again by ``tf.data`` one line a row: refuse a file whose lines after
    the header are not its ``n`` rows (blank lines, quoted values spanning lines)."""
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"  # a last line without its newline
    if lines - 1 != n:
        raise DataError(
            f"{path}: {lines - 1} lines after the header hold {n} rows (blank lines, or quoted values "
            "spanning lines); a streamed CSV is read one row a line",
            hint="remove the blank lines or line breaks inside values, or read the table whole "
            "(data.source.stream: false)",
        )


def _read_rows(
    spec: CsvSource | ParquetSource,
    path: Path,
    stream: bool,
    features: list[str],
    keep: list[str],
    rows: RowNames,
    *,
    floats: bool,
    labelled: bool = True,
) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.DataFrame, np.ndarray]:
    """Features (none when streaming), row hashes, target, kept columns and ids, chunk by chunk."""
    if stream and isinstance(spec, ParquetSource):
        parts = _read_parquet_streamed(spec, path, features, keep, labelled)
        if parts is not None:
            return parts
    xs: list[np.ndarray] = []
    hashes: list[np.ndarray] = []
    targets: list[pd.Series] = []
    kept: list[pd.DataFrame] = []
    ids: list[np.ndarray] = []
    offset = 0
    chunks = _table_chunks(spec, path, stream, features if floats else ())
    for chunk in _prefetched(chunks) if stream else chunks:
        if chunk.empty:
            continue
        _check_features(chunk, features, path, offset, stream, rows)
        block = _feature_block(chunk, features)
        _check_finite(block, chunk, features, path, offset, rows)
        hashes.append(row_hashes(block))
        if not stream:
            xs.append(block)
        targets.append(chunk[spec.target] if labelled else pd.Series(np.zeros(len(chunk))))
        kept.append(chunk[keep])
        ids.append(
            chunk[spec.id_column].to_numpy() if spec.id_column else np.arange(offset, offset + len(chunk))
        )
        offset += len(chunk)
    if offset == 0:
        return _no_rows(len(features))
    return (
        _joined(xs) if xs else np.zeros((offset, 0), dtype=np.float32),
        _joined(hashes),
        targets[0].reset_index(drop=True) if len(targets) == 1 else pd.concat(targets, ignore_index=True),
        kept[0].reset_index(drop=True) if len(kept) == 1 else pd.concat(kept, ignore_index=True),
        _joined(ids),
    )


def _no_rows(n_features: int) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.DataFrame, np.ndarray]:
    """What :func:`_read_rows` gives for a table without a row."""
    empty = np.zeros((0, n_features), np.float32)
    return empty, np.empty(0, np.uint64), pd.Series(), pd.DataFrame(), np.empty(0)


def _read_parquet_streamed(
    spec: ParquetSource, path: Path, features: list[str], keep: list[str], labelled: bool
) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.DataFrame, np.ndarray] | None:
    """What :func:`_read_rows` gives for a streamed Parquet table, the features read a column at a
    time (:mod:`dlkit.data._parquet_rows`) and the other columns together in chunks; None when a
    feature is not complete, finite numbers (the chunked read then names the value and row)."""
    import pyarrow.parquet as pq

    from dlkit.data._parquet_rows import column_file

    columns = column_file(path, features)
    if columns is None:
        return None
    if columns.n_rows == 0:
        return _no_rows(len(features))
    hashes = _joined([row_hashes(block) for block in columns.chunks(CHUNK_ROWS)])
    targets = _targets(spec, None, path) if labelled else []
    wanted = list(dict.fromkeys([*targets, *keep, *([spec.id_column] if spec.id_column else [])]))
    frames: list[pd.DataFrame] = []
    if wanted:
        try:
            parquet = pq.ParquetFile(path, buffer_size=1 << 20)
            frames = [b.to_pandas() for b in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=wanted)]
        except (OSError, ValueError):  # a damaged page: the chunked reader names the error
            return None
    frame = (
        pd.DataFrame(index=pd.RangeIndex(columns.n_rows))
        if not frames
        else frames[0].reset_index(drop=True)
        if len(frames) == 1
        else pd.concat(frames, ignore_index=True)
    )
    n = columns.n_rows
    target = frame[spec.target] if labelled else pd.Series(np.zeros(n))
    ids = frame[spec.id_column].to_numpy() if spec.id_column else np.arange(n)
    return np.zeros((n, 0), dtype=np.float32), hashes, target, frame[keep], ids


def _read_typed(
    spec: CsvSource | ParquetSource,
    path: Path,
    features: list[str],
    keep: list[str],
    rows: RowNames,
    labelled: bool = True,
) -> tuple[
    tuple[TableColumns, np.ndarray, Any, pd.DataFrame, np.ndarray], list[dict[str, Any]], pd.DataFrame
]:
    """The whole table as typed columns (:mod:`dlkit.data.columns`): inputs, hashes, target,
    kept columns and ids, what each feature column turned out to be, and the first rows' feature
    columns as the file has them (the example of a logged model, which takes raw rows)."""
    frame = next(_table_chunks(spec, path, False, ()))
    if frame.empty:
        raise DataError(f"{path}: no rows")
    infos, x = type_columns(frame, features, spec.columns, str(path), rows)
    ids = frame[spec.id_column].to_numpy() if spec.id_column else np.arange(len(frame))
    target = frame[spec.target] if labelled else pd.Series(np.zeros(len(frame)))
    parts = (x, input_hashes(x), target, frame[keep].reset_index(drop=True), ids)
    return parts, [i.to_dict() for i in infos], frame[list(features)].head(5).reset_index(drop=True)


def _prefetched(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The same chunks, the next one parsed on a second thread while the caller works on this one.

    The CSV and Parquet readers release the GIL while they parse, so reading and hashing overlap.
    Errors are raised in the caller, where they would have been raised without the thread.
    """
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(next, chunks, None)
        try:
            while (chunk := pending.result()) is not None:
                pending = reader.submit(next, chunks, None)
                yield chunk
        finally:
            pending.cancel()
            # the generator is not running once the pending read is done: close it (files too)
            if not pending.cancelled():
                pending.exception()
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _columns(
    spec: CsvSource | ParquetSource, header: list[str], path: Path, keep: list[str], labelled: bool = True
) -> list[str]:
    """The feature columns, after checking every named column exists (the target too when ``labelled``)."""
    if labelled:
        require_columns(header, path, "target", _targets(spec, None, path))
    if spec.id_column:
        require_columns(header, path, "id", [spec.id_column])
    require_columns(header, path, "metadata", spec.metadata)
    if spec.sample_weight:
        require_columns(header, path, "sample_weight", [spec.sample_weight])
    require_columns(header, path, "split", keep)
    reserved = {*_targets(spec, None, path), spec.id_column, *keep}
    for field, names in (("drop", spec.drop), ("columns", list(spec.columns))):
        for name in names:
            if name not in header:
                raise DataError(
                    f"{path}: data.source.{field}: no column '{name}'.{did_you_mean(name, header)}",
                    hint=f"columns are: {', '.join(header)}",
                )
    dropped = set(spec.drop)
    if spec.features is not None:
        require_columns(header, path, "feature", spec.features)
        features = [c for c in spec.features if c not in dropped]
    else:
        features = [c for c in header if c not in reserved and c not in dropped]
    if not features:
        raise DataError(f"{path}: no feature columns left besides target, id and metadata")
    return features


def _targets(spec: CsvSource | ParquetSource, task: Task | None, path: Path) -> list[str]:
    """The target column(s), after checking the recipe asks for something consistent.

    Raises:
        RecipeError: an empty or repeated list, or a task that does not fit the targets.
    """
    if not isinstance(spec.target, list):
        if task is not None and task_rules(task).multiple_targets:
            raise RecipeError(
                f"{path}: data.task: {task} needs a list of 0/1 target columns (got '{spec.target}')",
                hint="list the 0/1 columns under data.source.target (a YAML list)",
            )
        return [spec.target]
    names = list(spec.target)
    if not names:
        raise RecipeError(f"{path}: data.source.target: expected a column or a list of columns (got [])")
    if task is not None and not task_rules(task).multiple_targets:
        raise RecipeError(
            f"{path}: data.task: {task} takes one target column (got {len(names)}: {', '.join(names)})",
            hint=f"set data.task: {spec.targets_task}, or name a single target",
        )
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise RecipeError(f"{path}: data.source.target: column '{dup}' is listed twice")
    if spec.classes is not None:
        raise RecipeError(f"{path}: data.source.classes: not used with several targets (labels are 0/1)")
    return names


def _encode_multitask(
    spec: CsvSource | ParquetSource, task: Task | None, target: Any, path: Path, rows: RowNames
) -> tuple[np.ndarray, Task, list[object]]:
    """Several 0/1 target columns: `(n, tasks)` labels, NaN where missing; the classes are the tasks
    (``task``: the recipe's, checked by :func:`_targets`; the table's ``targets_task`` when None)."""
    names = _targets(spec, task, path)
    frame = target if isinstance(target, pd.DataFrame) else pd.DataFrame(target)
    return encode_tasks(frame[names], path, rows), task or spec.targets_task, list(names)


def _check_unique_ids(ids: np.ndarray, path: Path, column: str, rows: RowNames) -> None:
    if ids.dtype.kind in "iuf" and len(ids) and bool(np.all(ids[1:] > ids[:-1])):
        return  # strictly increasing numbers (the usual id column): unique without a hash table
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        raise DataError(duplicate_id(ids, dup, f"{path}: id column '{column}'", rows))


SOURCES.register("sklearn", SklearnSource, load_sklearn, "datasets bundled with scikit-learn")
SOURCES.register("csv", CsvSource, load_table, "a CSV/TSV table with a target column")
SOURCES.register("parquet", ParquetSource, load_table, "a Parquet table with a target column")


# the other sources are registered by where they live: a recipe imports only the one it names
SOURCES.register(
    "npz",
    "dlkit.data.arrays:NpzSource",
    "dlkit.data.arrays:load_npz",
    "NumPy .npz arrays x and y (tables, sequences, images)",
)
SOURCES.register(
    "sequence",
    "dlkit.data.arrays:SequenceSource",
    "dlkit.data.arrays:load_npz",
    "NumPy .npz sequences x (n, timesteps, features)",
)
SOURCES.register(
    "images",
    "dlkit.data.images:ImageFolderSource",
    "dlkit.data.images:load_images",
    "a folder of PNG/JPEG images, one sub-folder per class",
)
SOURCES.register(
    "text",
    "dlkit.data.text:TextSource",
    "dlkit.data.text:load_text",
    "a column of strings in a CSV/TSV/Parquet table",
)
SOURCES.register(
    "masks",
    "dlkit.data.masks:MaskFolderSource",
    "dlkit.data.masks:load_masks",
    "images/ and masks/ folders (segmentation)",
)
SOURCES.register(
    "glyphs",
    "dlkit.data.glyphs:GlyphsSource",
    "dlkit.data.glyphs:load_glyphs",
    "generated glyph images, one identity per character",
)
SOURCES.register(
    "text_pairs",
    "dlkit.data.text_pairs:TextPairsSource",
    "dlkit.data.text_pairs:load_text_pairs",
    "input and output text columns (seq2seq)",
)
SOURCES.register(
    "boxes",
    "dlkit.data.boxes:BoxesSource",
    "dlkit.data.boxes:load_boxes",
    "images with boxes: CSV, Pascal VOC XML or COCO JSON",
)
SOURCES.register(
    "canvas",
    "dlkit.data.boxes:CanvasSource",
    "dlkit.data.boxes:load_canvas",
    "digits on blank canvases with known boxes (made here)",
)
SOURCES.register(
    "image_csv",
    "dlkit.data.image_csv:ImageCsvSource",
    "dlkit.data.image_csv:load_image_csv",
    "a CSV of images: a box, points or text",
)
SOURCES.register(
    "wav",
    "dlkit.data.audio:WavSource",
    "dlkit.data.audio:load_wav",
    "mono WAV clips (a folder or an npz) and trigger times",
)


def load_source(
    spec: Spec, task: Task | None, base_dir: Path, columns: Sequence[str] = (), *, labels: Labels = "train"
) -> Dataset:
    """Load the dataset a source spec names (relative paths from ``base_dir``).

    Args:
        spec: the recipe's ``data.source``.
        task: the recipe's ``data.task`` (inferred when None).
        base_dir: folder relative paths are taken from.
        columns: extra columns the split needs (group, time, source); kept as metadata.
        labels: ``train`` (the data a model trains on), ``required`` (new labelled data for a
            trained model: labels checked against ``spec.classes``, a class may have no
            example) or ``optional`` (new data whose labels may be absent: the dataset is then
            ``labelled=False`` with placeholder labels).
    """
    if labels == "train":  # loaders that never read data for a trained model need not know
        return SOURCES.build(spec, task, base_dir, columns=tuple(columns))
    return SOURCES.build(spec, task, base_dir, columns=tuple(columns), labels=labels)
