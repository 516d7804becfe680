"""Data sources: each a spec (the recipe's ``data.source``) beside the loader that reads it.

Loaders return a :class:`~dlkit.data.dataset.Dataset`. They read eagerly; streaming large files
through ``tf.data`` comes with the split issue.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from dlkit._naming import did_you_mean
from dlkit._registry import Registry
from dlkit._spec import Spec
from dlkit.data.dataset import Dataset, Task
from dlkit.errors import DataError

SOURCES: Registry[Spec] = Registry("data source")

TaskName = Literal["binary", "multiclass", "regression"]


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


class CsvSource(_TableSource):
    """A CSV (or TSV, with ``sep``) table with a target column."""

    type: Literal["csv"] = "csv"
    sep: str = ","


class ParquetSource(_TableSource):
    """A Parquet table with a target column."""

    type: Literal["parquet"] = "parquet"


def _hash_arrays(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _infer_task(y: pd.Series) -> Task:
    n_unique = y.nunique(dropna=True)
    if n_unique == 2:
        return "binary"
    if pd.api.types.is_float_dtype(y) and not np.all(np.mod(y.dropna(), 1) == 0):
        return "regression"
    if pd.api.types.is_numeric_dtype(y) and n_unique > 50:
        return "regression"
    return "multiclass"


def encode_target(y: pd.Series, task: Task | None, where: str) -> tuple[np.ndarray, Task, list[object]]:
    """Encode a target column as class indices (or floats for regression).

    Args:
        y: the raw target values.
        task: the task the recipe names, or None to infer it.
        where: ``file: column 'x'`` for error messages.

    Returns:
        The encoded targets, the task, and the class values in index order.

    Raises:
        DataError: missing targets, a single class, or non-numeric regression targets.
    """
    missing = y.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"{where}: {int(missing.sum())} missing target value(s), first at row {row}",
            hint="drop or fill those rows; every example needs a target",
        )
    task = task or _infer_task(y)
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y):
            raise DataError(
                f"{where}: regression needs a numeric target (got values such as {_plain(y.iloc[0])!r})"
            )
        return y.to_numpy(dtype=np.float32), task, []
    classes = sorted(pd.unique(y).tolist(), key=lambda v: (str(type(v)), v))
    if len(classes) < 2:
        raise DataError(f"{where}: classification needs at least 2 classes (got {classes!r})")
    if task == "binary" and len(classes) != 2:
        raise DataError(f"{where}: task binary needs exactly 2 classes (got {len(classes)})")
    index = {c: i for i, c in enumerate(classes)}
    return y.map(index).to_numpy(dtype=np.int64), task, [_plain(c) for c in classes]


def _plain(value: object) -> object:
    """numpy scalars -> Python scalars, so classes serialise to JSON and YAML."""
    return value.item() if isinstance(value, np.generic) else value


def load_sklearn(spec: SklearnSource, task: Task | None, base_dir: Path) -> Dataset:
    """Load a dataset bundled with scikit-learn."""
    from sklearn import datasets

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
        content_hash=_hash_arrays(x, y),
        description=f"sklearn:{spec.name}",
        feature_names=feature_names,
    )


def _read_table(spec: CsvSource | ParquetSource, path: Path) -> pd.DataFrame:
    try:
        if isinstance(spec, CsvSource):
            return pd.read_csv(path, sep=spec.sep)
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: cannot read as {spec.type}: {reason}") from None


def _require_columns(df: pd.DataFrame, path: Path, role: str, names: list[str]) -> None:
    for name in names:
        if name not in df.columns:
            raise DataError(
                f"{path}: no {role} column '{name}'.{did_you_mean(name, map(str, df.columns))}",
                hint=f"columns are: {', '.join(map(str, df.columns))}",
            )


def load_table(spec: CsvSource | ParquetSource, task: Task | None, base_dir: Path) -> Dataset:
    """Load a CSV or Parquet table: features, target, optional ids and metadata."""
    path = spec.path if spec.path.is_absolute() else base_dir / spec.path
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    df = _read_table(spec, path)
    if df.empty:
        raise DataError(f"{path}: no rows")
    _require_columns(df, path, "target", [spec.target])
    if spec.id_column:
        _require_columns(df, path, "id", [spec.id_column])
    _require_columns(df, path, "metadata", spec.metadata)
    reserved = {spec.target, spec.id_column, *spec.metadata}
    if spec.features is not None:
        _require_columns(df, path, "feature", spec.features)
        features = list(spec.features)
    else:
        features = [c for c in df.columns if c not in reserved]
    if not features:
        raise DataError(f"{path}: no feature columns left besides target, id and metadata")
    for col in features:
        if not pd.api.types.is_numeric_dtype(df[col]):
            example = df[col].dropna().iloc[0] if df[col].notna().any() else None
            raise DataError(
                f"{path}: feature column '{col}' is not numeric (got values such as {_plain(example)!r})",
                hint="encode it as numbers, or list it under data.source.metadata (kept, not trained on)",
            )
        bad = df[col].isna().to_numpy()
        if bad.any():
            raise DataError(
                f"{path}: feature column '{col}' has {int(bad.sum())} missing value(s), "
                f"first at row {int(np.flatnonzero(bad)[0])}"
            )
    y, task, classes = encode_target(df[spec.target], task, f"{path}: target column '{spec.target}'")
    if spec.id_column:
        ids = df[spec.id_column].to_numpy()
        dup = pd.Series(ids).duplicated().to_numpy()
        if dup.any():
            raise DataError(
                f"{path}: id column '{spec.id_column}' has duplicate id {_plain(ids[dup][0])!r} "
                f"(row {int(np.flatnonzero(dup)[0])})"
            )
    else:
        ids = np.arange(len(df))
    return Dataset(
        x=df[features].to_numpy(dtype=np.float32),
        y=y,
        ids=ids,
        task=task,
        kind="tabular",
        classes=classes,
        content_hash=_hash_file(path),
        description=str(path),
        feature_names=[str(c) for c in features],
        metadata=df[spec.metadata].reset_index(drop=True),
    )


SOURCES.register("sklearn", SklearnSource, load_sklearn, "datasets bundled with scikit-learn")
SOURCES.register("csv", CsvSource, load_table, "a CSV/TSV table with a target column")
SOURCES.register("parquet", ParquetSource, load_table, "a Parquet table with a target column")


def load_source(spec: Spec, task: Task | None, base_dir: Path) -> Dataset:
    """Load the dataset a source spec names (relative paths from ``base_dir``)."""
    return SOURCES.build(spec, task, base_dir)
