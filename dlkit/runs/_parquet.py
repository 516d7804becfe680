"""Stored predictions read column by column by pyarrow into NumPy, without pandas.

pandas takes about half a CPU second to import (with ``pyarrow.compute``), more than the
report commands' whole work on a typical run, and pyarrow's own ``to_numpy`` imports it. A
column of plain values without nulls (numbers, booleans, text) is read here from Arrow's
buffers; any other (nulls, dates, categories, lists) is not, and the caller reads the file
through pandas as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Arrow's fixed-width number types, by name, as NumPy reads their values buffer
_NUMBERS = {
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "float": np.float32,
    "double": np.float64,
}
_TEXT = ("string", "large_string")


def bool_values(column: Any) -> np.ndarray:
    """A pyarrow boolean column without nulls as a NumPy array `(n,)`.

    Read from Arrow's bit-packed values (least significant bit first) by NumPy: pyarrow's own
    ``to_numpy`` imports pandas.
    """
    parts = [np.zeros(0, dtype=bool)]
    for chunk in column.chunks:
        if not len(chunk):  # its values buffer may be absent
            continue
        bits = np.unpackbits(np.frombuffer(chunk.buffers()[1], dtype=np.uint8), bitorder="little")
        parts.append(bits[chunk.offset : chunk.offset + len(chunk)].astype(bool))
    return np.concatenate(parts)


def column_values(column: Any) -> np.ndarray | None:
    """A pyarrow column as NumPy `(n,)` (text as Python strings), or None when it holds nulls
    or values other than numbers, booleans and text."""
    if column.null_count:
        return None
    kind = str(column.type)
    if kind == "bool":
        return bool_values(column)
    if kind in _TEXT:
        return np.array(column.to_pylist(), dtype=object).reshape(-1)
    dtype = _NUMBERS.get(kind)
    if dtype is None:
        return None
    parts = [np.zeros(0, dtype=dtype)]
    for chunk in column.chunks:
        if len(chunk):  # its values buffer may be absent
            values = np.frombuffer(chunk.buffers()[1], dtype=dtype)
            parts.append(values[chunk.offset : chunk.offset + len(chunk)])
    return np.concatenate(parts)


def read_columns(path: Path, names: Sequence[str]) -> dict[str, np.ndarray] | None:
    """The columns ``names`` of a Parquet file as NumPy arrays `(n,)`, in that order.

    Returns:
        The columns, or None when one is missing or not plain (:func:`column_values`), or the
        file cannot be read: pandas then reads it, or says why it cannot.
    """
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path).read(columns=list(names))
    except (KeyError, ValueError, OSError):
        return None
    out: dict[str, np.ndarray] = {}
    for name in names:
        if table.schema.get_field_index(name) < 0:  # absent, or there twice
            return None
        values = column_values(table.column(name))
        if values is None:
            return None
        out[name] = values
    return out
