"""Typed table columns: what each column holds, how it is read, and what the model takes.

A table whose feature columns are all complete numbers keeps the plain path (one float32 array,
normalised by one layer). Any other table (string categories, booleans, dates, free text, missing
values) is read column by column: each feature column gets a type (inferred, or set by the
recipe's ``data.source.columns``), and becomes one named model input holding raw values: numbers
with NaN where missing, strings with ``""`` where missing, dates as days since 1970-01-01. The
model's own preprocessing layers, fitted on train only (:mod:`dlkit.models.table_inputs`),
impute, encode and scale them, so the saved model takes raw rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

ColumnType = Literal["numeric", "category", "boolean", "date", "text", "id"]
# types that become no model input
UNUSED: frozenset[str] = frozenset({"id"})
# categories with at most this many values are one-hot encoded, more get an embedding
ONE_HOT_MAX = 10
_TRUE_WORDS = {"true", "yes", "t", "y"}
_FALSE_WORDS = {"false", "no", "f", "n"}

# formats a date column may be written in; each day-first format has its month-first twin, and a
# column both read is ambiguous (01/02/2013)
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d %b %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%B %d %Y",
)
_DAY_FIRST = {"%d/%m/%Y": "%m/%d/%Y", "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M", "%d-%m-%Y": "%m-%d-%Y"}
_DAY_FIRST["%d/%m/%y"] = "%m/%d/%y"
_EPOCH = "1970-01-01T00:00:00"
_NS_PER_DAY = 86_400 * 10**9


class ColumnSpec(Spec):
    """How one table column is read (``data.source.columns.<name>``)."""

    type: ColumnType | None = Field(
        default=None,
        description="numeric, category, boolean, date, text (bag of words) or id (not a feature); "
        "inferred when absent.",
    )
    missing: Literal["impute", "refuse"] = Field(
        default="impute",
        description="impute: filled from train (median, or a missing token for categories) with a "
        "missing indicator; refuse: a missing value is an error.",
    )
    date_format: str | None = Field(
        default=None,
        description="strftime format of a date column (e.g. '%d/%m/%Y'); inferred once for the "
        "whole column when absent (an ambiguous day/month order is refused).",
    )
    encoding: Literal["one_hot", "embedding"] | None = Field(
        default=None,
        description=f"A category's encoding; when absent one_hot up to {ONE_HOT_MAX} values, "
        "embedding above.",
    )
    embedding_dim: int | None = Field(
        default=None,
        ge=1,
        description="Width of a category's embedding (encoding: embedding); when absent "
        "1.6 n^0.56 for n values, at most 50.",
    )
    bins: int | None = Field(
        default=None,
        ge=0,
        description="A number's or date's piecewise-linear bins on train's quantiles, beside its "
        "standardised value (16 when absent; 0: none).",
    )


@dataclass
class ColumnInfo:
    """What a feature column turned out to be (printed by ``dlkit split``, used by the builder).

    Attributes:
        name: the column's name in the file.
        input: the model input's name (the column name, ``/`` replaced: Keras refuses it).
        type: the column's type.
        inferred: the type was inferred (not set by the recipe).
        n_missing: missing values in the whole table.
        n_unique: distinct present values.
        detail: a word on how it is read (a date's format, a category's encoding).
        date_format: the format a date column is parsed with.
        encoding: a category's encoding (one_hot or embedding).
        embedding_dim: the embedding's width the recipe sets (None: the rule of thumb).
        bins: a number's or date's piecewise-linear bins, when the recipe sets them.
    """

    name: str
    input: str
    type: str
    inferred: bool
    n_missing: int
    n_unique: int
    detail: str = ""
    date_format: str | None = None
    encoding: str | None = None
    embedding_dim: int | None = None
    bins: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TableColumns:
    """A table's model inputs, one `(n, 1)` array per input name: what ``Dataset.x`` holds for a
    typed table. Indexing with example indices gives the dict a Keras model with named inputs takes."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.n = len(next(iter(arrays.values()))) if arrays else 0

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, len(self.arrays))

    @property
    def size(self) -> int:
        return self.n * len(self.arrays)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, indices: Any) -> dict[str, Any]:
        """The inputs at ``indices``; as tensors where some are strings (Keras takes no NumPy
        strings, and a model call no mix of arrays and tensors)."""
        out: dict[str, Any] = {name: values[indices] for name, values in self.arrays.items()}
        if any(values.dtype == object for values in out.values()):
            import tensorflow as tf

            for name, values in out.items():
                out[name] = tf.constant(values.astype(str) if values.dtype == object else values)
        return out

    def take(self, indices: Any) -> TableColumns:
        """The rows at ``indices`` (arrays, not tensors)."""
        return TableColumns({name: values[indices] for name, values in self.arrays.items()})

    def frame(self, indices: Any = slice(None)) -> pd.DataFrame:
        """The inputs at ``indices`` as a table, one column per input."""
        return pd.DataFrame({name: values[indices][:, 0] for name, values in self.arrays.items()})

    def numeric(self, indices: Any = slice(None)) -> tuple[list[str], np.ndarray]:
        """The float inputs (numbers, dates) that have no missing value, as `(n, k)` float64."""
        names = [n for n, v in self.arrays.items() if v.dtype.kind == "f" and not np.isnan(v).any()]
        if not names:
            return [], np.empty((len(np.arange(self.n)[indices]), 0))
        return names, np.hstack([self.arrays[n][indices] for n in names]).astype(np.float64)


def table_columns(data: Any) -> TableColumns:
    """The typed inputs of a dataset (``Dataset.x`` of a table read as typed columns)."""
    if not isinstance(data.x, TableColumns):
        raise TypeError(f"{data.description}: not a table of typed columns")
    return data.x


def input_name(column: str) -> str:
    """The model input's name for a column (Keras refuses ``/`` in names)."""
    return column.replace("/", "_")


def layer_name(column: str) -> str:
    """A name for a column's preprocessing layers: letters, digits and underscores only."""
    return re.sub(r"[^A-Za-z0-9_]", "_", column)


def _words(values: pd.Series) -> float:
    return float(values.str.split().str.len().mean()) if len(values) else 0.0


def _as_text(values: pd.Series) -> pd.Series:
    """Present values as strings: integral numbers without '.0', so 3 and '3' are one category."""
    if pd.api.types.is_bool_dtype(values):
        return values.map(lambda v: str(bool(v)).lower())
    if pd.api.types.is_float_dtype(values):
        present = values.dropna()
        if len(present) and bool(np.all(np.mod(present, 1) == 0)):
            return values.map(lambda v: str(int(v)), na_action="ignore")
    return values.map(str, na_action="ignore").str.strip()


def infer_date_format(values: pd.Series, where: str) -> str | None:
    """The one format every present value of a string column reads with, or None (not dates).

    Raises:
        DataError: the values read both day-first and month-first (every day is at most 12).
    """
    uniques = pd.Series(values.dropna().unique()).astype(str)
    if uniques.empty or not uniques.str.contains(r"\d").all():
        return None
    fitting = [f for f in DATE_FORMATS if _reads_all(uniques, f)]
    if not fitting:
        return None
    fmt = fitting[0]
    twin = _DAY_FIRST.get(fmt)
    if twin is not None and twin in fitting:
        both = pd.to_datetime(uniques, format=fmt, errors="coerce")
        other = pd.to_datetime(uniques, format=twin, errors="coerce")
        example = uniques[(both != other).to_numpy()]
        shown = example.iloc[0] if len(example) else uniques.iloc[0]
        raise DataError(
            f"{where}: dates such as {shown!r} read both day-first and month-first (no day above 12)",
            hint=f"set its date_format under data.source.columns, e.g. '{fmt}' or '{twin}'",
        )
    return fmt


def _reads_all(values: pd.Series, fmt: str) -> bool:
    return bool(pd.to_datetime(values, format=fmt, errors="coerce").notna().all())


def parse_dates(
    values: pd.Series, fmt: str | None, where: str, rows: Callable[[int], str] | None = None
) -> tuple[pd.Series, str]:
    """Parse a whole column with one format (``fmt``, or the one inferred for it).

    Returns:
        The parsed values (NaT where missing) and the format used ("" for date-time columns).

    Raises:
        DataError: no format reads every value, an ambiguous day/month order, or a value
            ``fmt`` does not read (quoted with its row, named by ``rows``: 1-based when None).
    """
    from dlkit.data._common import data_row, plain

    rows = rows or data_row

    if pd.api.types.is_datetime64_any_dtype(values):
        return values, ""
    text = values.map(str, na_action="ignore").str.strip()
    if fmt is None:
        fmt = infer_date_format(text, where)
        if fmt is None:
            # the format that reads the most values names the first value it cannot read
            best = max(
                DATE_FORMATS, key=lambda f: int(pd.to_datetime(text, format=f, errors="coerce").count())
            )
            unread = (text.notna() & pd.to_datetime(text, format=best, errors="coerce").isna()).to_numpy()
            row = int(np.flatnonzero(unread)[0])
            raise DataError(
                f"{where}: value {plain(values.iloc[row])!r} at {rows(row)} is not a date, time or number",
                hint="dates are read with one format for the whole column: set its date_format under "
                "data.source.columns (e.g. '%d/%m/%Y')",
            )
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    bad = (text.notna() & parsed.isna()).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: value {plain(values.iloc[row])!r} at {rows(row)} is not a date in format '{fmt}'"
        )
    return parsed, fmt


def days(parsed: pd.Series) -> np.ndarray:
    """Dates as float32 days since 1970-01-01 `(n,)`, NaN where missing."""
    ns = parsed.to_numpy(dtype="datetime64[ns]")
    out = (ns - np.datetime64(_EPOCH, "ns")).astype(np.float64) / _NS_PER_DAY
    out[np.isnat(ns)] = np.nan
    return out.astype(np.float32)


def _not_number(values: pd.Series) -> tuple[int, int] | None:
    """(first row, count) of present values that are no numbers, when most values are numbers."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = (values.notna() & numbers.isna()).to_numpy()
    n_present = int(values.notna().sum())
    if not bad.any() or n_present == 0 or bad.sum() > 0.2 * n_present:
        return None
    return int(np.flatnonzero(bad)[0]), int(bad.sum())


def infer_type(
    values: pd.Series, where: str, rows: Callable[[int], str] | None = None
) -> tuple[str, str | None]:
    """The type of a column from its values, and a date column's format.

    Numbers are numeric (an integer code is a category only when the recipe says so); strings
    are booleans (true/false, yes/no), dates (one format for the column), free text (several
    words a value, mostly distinct), ids (one distinct word a row) or categories.

    Raises:
        DataError: a column of numbers with a few values that are not (a missing-value marker
            such as '?' that ``na_values`` should name, quoted with its row), or an ambiguous
            date column.
    """
    from dlkit.data._common import data_row, plain

    rows = rows or data_row

    if pd.api.types.is_bool_dtype(values):
        return "boolean", None
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date", ""
    if pd.api.types.is_numeric_dtype(values):
        return "numeric", None
    present = values.dropna()
    if present.empty:
        raise DataError(f"{where}: every value is missing", hint="drop it under data.source.drop")
    odd = _not_number(present.reset_index(drop=True))
    if odd is None and pd.to_numeric(present, errors="coerce").notna().all():
        return "numeric", None  # numbers of mixed Python types
    if odd is not None:
        row = int(np.flatnonzero(values.notna().to_numpy())[odd[0]])
        raise DataError(
            f"{where} is not numeric: value {plain(values.iloc[row])!r} at {rows(row)}",
            hint=f"list {plain(values.iloc[row])!r} under data.source.na_values if it marks a missing "
            "value, or set the column's type under data.source.columns",
        )
    text = present.astype(str).str.strip()
    lowered = set(text.str.lower().unique())
    if lowered <= _TRUE_WORDS | _FALSE_WORDS and len(lowered) <= 2:
        return "boolean", None
    fmt = infer_date_format(text, where)
    if fmt is not None:
        return "date", fmt
    n_unique = int(text.nunique())
    if n_unique > 0.5 * len(text) and len(text) >= 20:
        return ("text" if _words(text) >= 3 else "id"), None
    return "category", None


def column_values(
    values: pd.Series, info: ColumnInfo, where: str, rows: Callable[[int], str] | None = None
) -> np.ndarray:
    """A column's raw values as the model input takes them `(n, 1)`.

    numeric: float32, NaN where missing; category, boolean, text: strings, ``""`` where missing;
    date: float32 days since 1970-01-01.

    Raises:
        DataError: a value that is not a number in a numeric column, or an infinite one.
    """
    from dlkit.data._common import data_row, plain

    rows = rows or data_row

    if info.type == "numeric":
        numbers = pd.to_numeric(values, errors="coerce")
        bad = (values.notna() & numbers.isna()).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{where} is not numeric: value {plain(values.iloc[row])!r} at {rows(row)}")
        with np.errstate(over="ignore"):
            out = numbers.to_numpy(dtype=np.float32, na_value=np.nan)
        infinite = np.isinf(out)
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise DataError(
                f"{where} has {int(infinite.sum())} infinite value(s) (inf, or beyond float32), "
                f"first {plain(values.iloc[row])!r} at {rows(row)}",
                hint="drop or fix those rows; features must be finite numbers",
            )
        return out[:, None]
    if info.type == "date":
        parsed, _ = parse_dates(values, info.date_format, where, rows)
        return days(parsed)[:, None]
    text = _as_text(values)
    if info.type == "boolean":
        lowered = text.str.lower()
        text = lowered.where(~lowered.isin(_TRUE_WORDS), "true").where(~lowered.isin(_FALSE_WORDS), "false")
    return text.fillna("").astype(str).to_numpy(dtype=object)[:, None]


def type_columns(
    frame: pd.DataFrame,
    features: Sequence[str],
    specs: dict[str, ColumnSpec],
    where: str,
    rows: Callable[[int], str] | None = None,
) -> tuple[list[ColumnInfo], TableColumns]:
    """Type every feature column and turn it into the model input it feeds.

    Args:
        frame: the whole table (rows in file order).
        features: the feature columns.
        specs: the recipe's per-column settings (``data.source.columns``).
        where: the file, for messages.
        rows: how messages name a row (:class:`~dlkit.data._common.RowNames`; 1-based when None).

    Returns:
        One :class:`ColumnInfo` per feature column (ids included, marked unused), and the inputs.

    Raises:
        DataError: a missing value where the recipe refuses them, or a bad value.
    """
    from dlkit.data._common import data_row

    rows = rows or data_row
    infos: list[ColumnInfo] = []
    arrays: dict[str, np.ndarray] = {}
    for name in features:
        values = frame[name]
        spec = specs.get(name, ColumnSpec())
        at = f"{where}: feature column '{name}'"
        n_missing = int(values.isna().sum())
        if n_missing and spec.missing == "refuse":
            first = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise DataError(
                f"{at} has {n_missing} missing value(s), first at {rows(first)}",
                hint=f"set data.source.columns.{name}.missing: impute, or fill them",
            )
        kind: str
        if spec.type is not None or spec.date_format is not None:  # a format says it is a date
            kind, fmt = spec.type or "date", spec.date_format
        else:
            kind, fmt = infer_type(values, at, rows)
            fmt = spec.date_format or fmt
        info = ColumnInfo(
            name=str(name),
            input=input_name(str(name)),
            type=kind,
            inferred=spec.type is None and spec.date_format is None,
            n_missing=n_missing,
            n_unique=int(values.nunique(dropna=True)),
            bins=spec.bins,
        )
        if kind == "date":
            parsed, info.date_format = parse_dates(values, fmt, at, rows)
            info.detail = f"format {info.date_format}" if info.date_format else "date-time values"
            info.detail += "; year, month, day of week"
        if kind in ("category", "boolean"):
            info.encoding = spec.encoding or ("one_hot" if info.n_unique <= ONE_HOT_MAX else "embedding")
            info.embedding_dim = spec.embedding_dim
            info.detail = info.encoding.replace("_", "-")
            if info.encoding == "embedding" and spec.embedding_dim:
                info.detail += f" ({spec.embedding_dim} wide)"
        if kind == "text":
            info.detail = "bag of words"
        if kind in UNUSED:
            info.detail = "not a feature"
        elif kind != "date":
            arrays[info.input] = column_values(values, info, at, rows)
        else:
            arrays[info.input] = days(parsed)[:, None]
        if n_missing and kind not in UNUSED:
            how = "missing as a value" if kind in ("category", "boolean", "text") else "missing imputed"
            info.detail = ", ".join(p for p in (info.detail, how) if p)
        infos.append(info)
    if not arrays:
        raise DataError(f"{where}: no feature columns left (every one is an id)")
    return infos, TableColumns(arrays)


#: what a category or boolean column's settings may change without reading the data again (a
#: tuning trial's values): how the model encodes it, never how the column is read
ENCODING_FIELDS = ("encoding", "embedding_dim")


def with_encodings(columns: list[dict[str, Any]], specs: dict[str, ColumnSpec]) -> list[dict[str, Any]]:
    """The column descriptions with each category's encoding as ``specs`` (a recipe's
    ``data.source.columns``) sets it: what the recipe the data was read with says already, or a
    tuning trial's values on the study's data.

    Args:
        columns: the column descriptions (``Dataset.options["columns"]``).
        specs: the per-column settings of the recipe being built.
    """
    out = []
    for raw in columns:
        spec = specs.get(raw["name"])
        if spec is not None and raw["type"] in ("category", "boolean"):
            raw = {**raw, **{f: getattr(spec, f) for f in ENCODING_FIELDS if getattr(spec, f) is not None}}
        out.append(raw)
    return out


def input_hashes(columns: TableColumns) -> np.ndarray:
    """One 64-bit hash per row of its inputs `(n,)` uint64, for the leakage check."""
    return pd.util.hash_pandas_object(columns.frame(), index=False).to_numpy().astype(np.uint64)


def model_inputs(frame: pd.DataFrame, columns: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Raw rows of a table as a saved model of typed columns takes them.

    Args:
        frame: rows with the feature columns as in the training file (blanks and unseen
            categories allowed).
        columns: the run's column descriptions (``columns.json`` in its split folder).

    Returns:
        One `(n, 1)` input per model input name: float32 arrays, ``tf.string`` tensors.
    """
    out: dict[str, np.ndarray] = {}
    for raw in columns:
        info = ColumnInfo(**raw)
        if info.type in UNUSED:
            continue
        out[info.input] = column_values(frame[info.name], info, f"column '{info.name}'")
    return TableColumns(out)[:]
