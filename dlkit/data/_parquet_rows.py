"""A streamed Parquet table's feature rows, read in memory bounded by a column, not a row group.

Arrow's Parquet reader holds, for every column it reads, the column chunk's dictionary and its
current page; both are the writer's choice (up to 1 MiB each by default), and a 200,000-row
float column written by pandas is a single page. Reading 32 feature columns together therefore
held about the whole row group: 72 MiB at 200,000 rows, for every pass over the file (the
loader, the normaliser, the first epoch, the predictions). Here each feature column is read
alone, once, into a column-major float32 file in a temporary folder, and every pass reads its
rows back from that file: one small read per column per chunk, nothing parsed again. The values
are the ones the reader gives, cast to float32 as before, so the rows are bit-for-bit the same.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# rows of one column decoded at once while transposing (256 KiB of float32)
_READ_ROWS = 65536

_lock = threading.Lock()
_files: dict[tuple[str, int, int, tuple[str, ...]], ColumnFile | None] = {}
_folder: Path | None = None


@dataclass(frozen=True)
class ColumnFile:
    """The feature columns of a Parquet table as float32, one after the other, in ``path``."""

    path: Path
    n_rows: int
    n_features: int

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start`` to ``stop`` (exclusive) as a `(rows, features)` float32 array."""
        stop = min(stop, self.n_rows)
        k = max(0, stop - start)
        out = np.empty((self.n_features, k), dtype=np.float32)
        if k:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                for j in range(self.n_features):
                    offset = (j * self.n_rows + start) * 4
                    out[j] = np.frombuffer(os.pread(fd, k * 4, offset), dtype=np.float32)
            finally:
                os.close(fd)
        return np.ascontiguousarray(out.T)

    def chunks(self, size: int) -> Iterator[np.ndarray]:
        """Every row in order, in `(size, features)` arrays (the last may be shorter)."""
        for start in range(0, self.n_rows, size):
            yield self.rows(start, start + size)


def column_file(path: Path, features: list[str]) -> ColumnFile | None:
    """The float32 columns ``features`` of the Parquet file at ``path``, transposed on the first
    call for this file (as it is now: size and modification time) and kept for the process.

    Returns:
        None when a feature column is not complete, finite numbers (nulls, NaN, inf, text), or
        the file cannot be read or written this way: the caller reads the file in chunks as
        before, which names the column and row (or the error).
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, tuple(features))
    with _lock:
        if key not in _files:
            _files[key] = _transpose(path, features)
        return _files[key]


def _transpose(path: Path, features: list[str]) -> ColumnFile | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path, buffer_size=1 << 20)  # buffered: a page at a time, not the chunk
        schema = parquet.schema_arrow
        for name in features:
            kind = schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_boolean(kind) or _float(kind)):
                return None
        n = parquet.metadata.num_rows
        fd, name = tempfile.mkstemp(dir=_temp_folder(), suffix=".f32")
    except (OSError, ValueError, KeyError):  # unreadable, or no room: the chunked reader says why
        return None
    complete = False
    try:
        with os.fdopen(fd, "wb") as out:
            for feature in features:
                written = 0
                for batch in parquet.iter_batches(
                    batch_size=_READ_ROWS, columns=[feature], use_threads=False
                ):
                    column = batch.column(0)
                    if column.null_count:
                        return None
                    with np.errstate(over="ignore"):  # beyond float32 becomes inf: refused below
                        values = column.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
                    if not np.isfinite(values).all():
                        return None
                    out.write(values.tobytes())
                    written += len(values)
                if written != n:
                    return None
        complete = True
        return ColumnFile(Path(name), n, len(features))
    except (OSError, ValueError):  # a damaged page, a full disk: the chunked reader says why
        return None
    finally:
        if not complete:
            os.unlink(name)


def _float(kind: object) -> bool:
    import pyarrow as pa

    return pa.types.is_float32(kind) or pa.types.is_float64(kind)


def _temp_folder() -> Path:
    """This process's folder for transposed tables, removed when it exits."""
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="dlkit-parquet-"))
        atexit.register(shutil.rmtree, _folder, True)
    return _folder
