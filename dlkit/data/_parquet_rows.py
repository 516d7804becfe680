"""A streamed Parquet table's feature rows, read in memory bounded by a column, not a row group.

Arrow's Parquet reader holds, for every column it reads, the column chunk's dictionary and its
current page; both are the writer's choice (up to 1 MiB each by default), and a 200,000-row
float column written by pandas is a single page. Reading 32 feature columns together therefore
held about the whole row group: 72 MiB at 200,000 rows, for every pass over the file (the
loader, the normaliser, the first epoch, the predictions). Here each feature column is read
alone, once, into a column-major float32 file in a temporary folder, and every pass reads its
rows back from that file: one small read per column per chunk, nothing parsed again. The values
are the ones the reader gives, cast to float32 as before, so the rows are bit-for-bit the same.

The folder is removed at exit; a process killed outright (SIGKILL, the OOM killer, a power cut)
cannot, so the folder's name says who owns it and the next process to make one removes those
whose owner is gone (:func:`remove_stale_folders`).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import re
import shutil
import socket
import stat as stat_module
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# rows of one column decoded at once while transposing (256 KiB of float32)
_READ_ROWS = 65536

PREFIX = "dlkit-parquet-"
# dlkit-parquet-<scope>-<pid>-<start>-<mkdtemp's random part>: see _owner
_NAME = re.compile(r"dlkit-parquet-([0-9a-f]{8})-([1-9][0-9]{0,9})-([0-9a-f]{8})-[A-Za-z0-9_]{1,32}")
_UNKNOWN_START = "0" * 8

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
    """This process's folder for transposed tables, removed when it exits. Making it first
    removes the folders of processes that were killed before they could remove theirs."""
    global _folder
    if _folder is None:
        root = Path(tempfile.gettempdir())
        remove_stale_folders(root)
        scope, start = _owner(os.getpid())
        _folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{scope}-{os.getpid()}-{start}-", dir=root))
        atexit.register(shutil.rmtree, _folder, True)
    return _folder


def remove_stale_folders(root: Path) -> list[Path]:
    """Remove the transposed-table folders in ``root`` whose owner process is no longer running.

    Only real folders (never a symbolic link, nor what one points to) of this user whose name
    is exactly one :func:`_temp_folder` makes, made on this machine in this process namespace
    (a container sharing the folder has its own process numbers: its folders are left alone).
    The owner is gone when no process has its number or the one that has it started at another
    time or in another boot (a number used again). A folder another process removes meanwhile
    is skipped.

    Returns:
        The folders removed.
    """
    if os.name != "posix":  # os.kill(pid, 0) ends the process on Windows: never judge there
        return []
    scope = _owner(os.getpid())[0]
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None or match.group(1) != scope:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:  # removed meanwhile
            continue
        if not stat_module.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if _running(int(match.group(2)), match.group(3)):
            continue
        path = Path(entry.path)
        # rmtree refuses a symbolic link put in the folder's place meanwhile, and never follows
        # one inside it; what is already gone (another process removing it too) is no error
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            log.info("Removed %s, left by process %s, which is no longer running", path, match.group(2))
            removed.append(path)
    return removed


def _running(pid: int, start: str) -> bool:
    """Whether the process that made a folder named with ``pid`` and ``start`` still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process has the number: alive
        return True
    if start == _UNKNOWN_START:
        return True
    now = _owner(pid)[1]
    # the number's process now started at another time: the owner is gone; unknown: keep it
    return now in (start, _UNKNOWN_START)


def _owner(pid: int) -> tuple[str, str]:
    """The scope (machine and process namespace) and start (boot and start time) of ``pid``,
    as 8 hex digits each; the start is unknown (zeros) where ``/proc`` does not say it."""
    namespace = ""
    with contextlib.suppress(OSError):
        namespace = os.readlink("/proc/self/ns/pid")
    scope = _digest(f"{socket.gethostname()}\0{namespace}")
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # the fields after the command name (which may hold spaces and parentheses): the
            # start time since boot, in clock ticks, is the 22nd field of the line, 20th here
            ticks = f.read().rpartition(")")[2].split()[19]
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
    except (OSError, IndexError):
        return scope, _UNKNOWN_START
    return scope, _digest(f"{boot}\0{ticks}")


def _digest(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return digest if digest != _UNKNOWN_START else "00000001"
