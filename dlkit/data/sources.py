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
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from dlkit._registry import Registry
from dlkit._spec import Spec
from dlkit.data._common import (
    encode_target,
    hash_arrays,
    hash_file,
    plain,
    require_columns,
    resolve,
    row_hashes,
)
from dlkit.data.dataset import Dataset, Task
from dlkit.errors import DataError

SOURCES: Registry[Spec] = Registry("data source")

TaskName = Literal["binary", "multiclass", "regression"]
# tables bigger than this are streamed when the recipe does not say (1 GiB)
STREAM_BYTES = 1 << 30
CHUNK_ROWS = 200_000

# kept importable from here (tests and other modules use these names)
_hash_file = hash_file
_plain = plain
__all__ = ["SOURCES", "CsvSource", "ParquetSource", "SklearnSource", "encode_target", "load_source"]


class SklearnSource(Spec):
    """A dataset bundled with scikit-learn (no download)."""

    type: Literal["sklearn"] = "sklearn"
    name: Literal["digits", "breast_cancer", "wine", "iris"] = Field(
        description="digits gives 8x8x1 images; the others are tables."
    )


class _TableSource(Spec):
    path: Path = Field(description="Relative paths are taken from the recipe's folder.")
    target: str = Field(description="The column to predict.")
    id_column: str | None = Field(default=None, description="Stable example ids; the row number when absent.")
    features: list[str] | None = Field(
        default=None, description="Feature columns; all numeric columns not named elsewhere by default."
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
    stream: bool | None = Field(
        default=None,
        description="Read in chunks and stream through tf.data instead of loading whole; "
        "automatic above 1 GiB when absent.",
    )


class CsvSource(_TableSource):
    """A CSV (or TSV, with ``sep``) table with a target column."""

    type: Literal["csv"] = "csv"
    sep: str = ","


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


def read_error(path: Path, kind: str, exc: Exception) -> DataError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataError(f"{path}: cannot read as {kind}: {reason}")


def _table_chunks(spec: CsvSource | ParquetSource, path: Path, stream: bool) -> Iterator[pd.DataFrame]:
    """The table whole (one chunk), or in chunks of :data:`CHUNK_ROWS` rows when streaming."""
    errors = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError)
    try:
        if isinstance(spec, CsvSource):
            if not stream:
                yield pd.read_csv(path, sep=spec.sep)
                return
            with pd.read_csv(path, sep=spec.sep, chunksize=CHUNK_ROWS) as reader:
                yield from reader
            return
        if not stream:
            yield pd.read_parquet(path)
            return
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK_ROWS):
            yield batch.to_pandas()
    except errors as exc:
        raise read_error(path, spec.type, exc) from None


def _check_features(chunk: pd.DataFrame, features: list[str], path: Path, offset: int) -> None:
    for col in features:
        if not pd.api.types.is_numeric_dtype(chunk[col]):
            example = chunk[col].dropna().iloc[0] if chunk[col].notna().any() else None
            raise DataError(
                f"{path}: feature column '{col}' is not numeric (got values such as {plain(example)!r})",
                hint="encode it as numbers, or list it under data.source.metadata (kept, not trained on)",
            )
        bad = chunk[col].isna().to_numpy()
        if bad.any():
            raise DataError(
                f"{path}: feature column '{col}' has {int(bad.sum())} missing value(s), "
                f"first at row {offset + int(np.flatnonzero(bad)[0])}"
            )


def load_table(
    spec: CsvSource | ParquetSource, task: Task | None, base_dir: Path, columns: Sequence[str] = ()
) -> Dataset:
    """Load a CSV or Parquet table: features, target, optional ids and metadata.

    Streamed (``spec.stream``, or a file over 1 GiB), only targets, ids, metadata and one hash
    per row are kept; the features are read again through ``tf.data`` when needed.
    """
    path = resolve(spec.path, base_dir)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    stream = spec.stream if spec.stream is not None else path.stat().st_size > STREAM_BYTES
    # sha256 releases the GIL: hash the file on a second thread while the parser reads it
    hashing = ThreadPoolExecutor(max_workers=1)
    content_hash = hashing.submit(hash_file, path)
    keep = list(dict.fromkeys([*spec.metadata, *(c for c in columns if c != spec.target)]))
    features: list[str] = []
    xs: list[np.ndarray] = []
    hashes: list[np.ndarray] = []
    targets: list[pd.Series] = []
    kept: list[pd.DataFrame] = []
    ids: list[np.ndarray] = []
    offset = 0
    for chunk in _table_chunks(spec, path, stream):
        if chunk.empty:
            continue
        if offset == 0:
            features = _columns(spec, chunk, path, keep)
        _check_features(chunk, features, path, offset)
        block = chunk[features].to_numpy(dtype=np.float32)
        hashes.append(row_hashes(block))
        if not stream:
            xs.append(block)
        targets.append(chunk[spec.target])
        kept.append(chunk[keep])
        ids.append(
            chunk[spec.id_column].to_numpy() if spec.id_column else np.arange(offset, offset + len(chunk))
        )
        offset += len(chunk)
    hashing.shutdown(wait=True)
    if offset == 0:
        raise DataError(f"{path}: no rows")
    where = f"{path}: target column '{spec.target}'"
    y, task, classes = encode_target(pd.concat(targets, ignore_index=True), task, where, spec.classes)
    all_ids = np.concatenate(ids)
    if spec.id_column:
        _check_unique_ids(all_ids, path, spec.id_column)
    x = np.concatenate(xs) if xs else np.zeros((offset, 0), dtype=np.float32)
    options: dict[str, Any] = {}
    if stream:
        options = {
            "input_shape": [len(features)],
            "format": spec.type,
            "path": str(path),
            "features": features,
        }
        if isinstance(spec, CsvSource):
            options["sep"] = spec.sep
    return Dataset(
        x=x,
        y=y,
        ids=all_ids,
        task=task,
        kind="tabular",
        classes=classes,
        content_hash=content_hash.result(),
        description=str(path),
        feature_names=[str(c) for c in features],
        metadata=pd.concat(kept, ignore_index=True),
        input_hashes=np.concatenate(hashes),
        stream=stream,
        options=options,
    )


def _columns(spec: CsvSource | ParquetSource, chunk: pd.DataFrame, path: Path, keep: list[str]) -> list[str]:
    """The feature columns, after checking every named column exists."""
    require_columns(chunk.columns, path, "target", [spec.target])
    if spec.id_column:
        require_columns(chunk.columns, path, "id", [spec.id_column])
    require_columns(chunk.columns, path, "metadata", spec.metadata)
    require_columns(chunk.columns, path, "split", keep)
    reserved = {spec.target, spec.id_column, *keep}
    if spec.features is not None:
        require_columns(chunk.columns, path, "feature", spec.features)
        features = list(spec.features)
    else:
        features = [str(c) for c in chunk.columns if c not in reserved]
    if not features:
        raise DataError(f"{path}: no feature columns left besides target, id and metadata")
    return features


def _check_unique_ids(ids: np.ndarray, path: Path, column: str) -> None:
    if ids.dtype.kind in "iuf" and len(ids) and bool(np.all(ids[1:] > ids[:-1])):
        return  # strictly increasing numbers (the usual id column): unique without a hash table
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        raise DataError(
            f"{path}: id column '{column}' has duplicate id {plain(ids[dup][0])!r} "
            f"(row {int(np.flatnonzero(dup)[0])})"
        )


SOURCES.register("sklearn", SklearnSource, load_sklearn, "datasets bundled with scikit-learn")
SOURCES.register("csv", CsvSource, load_table, "a CSV/TSV table with a target column")
SOURCES.register("parquet", ParquetSource, load_table, "a Parquet table with a target column")


def _register_more() -> None:
    from dlkit.data.arrays import NpzSource, SequenceSource, load_npz
    from dlkit.data.images import ImageFolderSource, load_images
    from dlkit.data.text import TextSource, load_text

    SOURCES.register("npz", NpzSource, load_npz, "NumPy .npz arrays x and y (tables, sequences, images)")
    SOURCES.register("sequence", SequenceSource, load_npz, "NumPy .npz sequences x (n, timesteps, features)")
    SOURCES.register(
        "images", ImageFolderSource, load_images, "a folder of PNG/JPEG images, one sub-folder per class"
    )
    SOURCES.register("text", TextSource, load_text, "a column of strings in a CSV/TSV/Parquet table")


_register_more()


def load_source(spec: Spec, task: Task | None, base_dir: Path, columns: Sequence[str] = ()) -> Dataset:
    """Load the dataset a source spec names (relative paths from ``base_dir``).

    Args:
        spec: the recipe's ``data.source``.
        task: the recipe's ``data.task`` (inferred when None).
        base_dir: folder relative paths are taken from.
        columns: extra columns the split needs (group, time, source); kept as metadata.
    """
    return SOURCES.build(spec, task, base_dir, columns=tuple(columns))
