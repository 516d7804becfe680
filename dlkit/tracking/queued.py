"""A tracking store whose writes leave the caller at once: one writer makes them, in order.

A tracked trial writes its MLflow run four times (start, params, metrics, end): about 0.3 s a
trial on a SQLite store, as long as the rest of a short trial's overhead together; a training
logs every epoch. Only starting a run has an answer the caller needs (its id); the other writes
go into a queue that one writer empties while the caller goes on.

The writer is a thread of this process over a store already open (a tuning study), or a
**writer process** that imports MLflow and opens the store itself (:meth:`QueuedStore.open`,
what ``dlkit train`` uses): importing MLflow and opening a SQLite store take 4 to 5 seconds of
one core, which a thread cannot hide (an import holds the interpreter lock) but another process
does, on a core the main process leaves idle while it imports TensorFlow and loads the data.
``DLKIT_TRACKING_WRITER=thread`` keeps every write in this process.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from dlkit.tracking.base import RunStore, resolve_tracking_uri

if TYPE_CHECKING:
    from dlkit.tracking.mlflow_model import ModelPayload

log = logging.getLogger(__name__)

T = TypeVar("T")

WRITER_ENV = "DLKIT_TRACKING_WRITER"  # "thread", "process" or unset (automatic)
FIRST, IN_ORDER, LAST = 0, 1, 2  # a call's place in the queue


class _ThreadWriter:
    """Runs store calls ``(method name, args)`` on one thread of this process, by priority, then
    in the order they came. The store is opened by the thread (``open_store``) before its first
    call, or as soon as it starts when ``eager``; when it cannot be, every call fails with the
    reason."""

    def __init__(self, open_store: Callable[[], RunStore], *, eager: bool = False) -> None:
        self._open_store = open_store
        self._eager = eager
        self.store: RunStore | None = None
        self._queue: queue.PriorityQueue[tuple[int, int, str | None, tuple[Any, ...], Future[Any]]] = (
            queue.PriorityQueue()
        )
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._write, name="dlkit-tracking")
        self._thread.start()

    def _write(self) -> None:
        failed: BaseException | None = None
        if self._eager:
            try:
                self.store = self._open_store()
            except BaseException as exc:
                failed = exc
        while True:
            _, _, method, args, future = self._queue.get()
            if method is None:
                return
            try:
                if self.store is None and failed is None:
                    try:
                        self.store = self._open_store()
                    except BaseException as exc:
                        failed = exc
                if failed is not None:
                    raise failed
                assert self.store is not None
                future.set_result(getattr(self.store, method)(*args))
            except BaseException as exc:  # raised on the caller's side
                future.set_exception(exc)

    def submit(self, priority: int, method: str, args: tuple[Any, ...]) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((priority, next(self._order), method, args, future))
        return future

    def close(self) -> None:
        """Run what is queued, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put((LAST, next(self._order), None, (), Future()))
            self._thread.join()


def _error_parts(exc: BaseException) -> tuple[str, str, str | None]:
    """An exception as the writer process sends it back: its type's name, message, hint."""
    from dlkit.errors import DlkitError

    if isinstance(exc, DlkitError):
        return type(exc).__name__, exc.message, exc.hint
    import traceback

    return type(exc).__name__, "".join(traceback.format_exception(exc)).rstrip(), None


def _rebuild_error(kind: str, message: str, hint: str | None) -> BaseException:
    """The writer process's error as the caller raises it: a dlkit error of the same type,
    message and hint (a user's one line); anything else is a bug, raised with its traceback."""
    from dlkit import errors

    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, errors.DlkitError):
        return cls(message, hint=hint)
    return RuntimeError(f"tracking writer process: {message}")


class _ProcessWriter:
    """Sends store calls to a writer process (:mod:`dlkit.tracking._writer`) that opens the store
    at ``uri`` itself; a thread reads its answers. A call goes down the pipe at once, so what was
    queued before this process dies is still written (the writer ends the runs left open as
    KILLED)."""

    def __init__(self, uri: str) -> None:
        import dlkit

        root = str(Path(dlkit.__file__).resolve().parents[1])
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "dlkit.tracking._writer", uri],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._requests: IO[bytes] = self._proc.stdin
        self._answers: IO[bytes] = self._proc.stdout
        self._ids = itertools.count()
        self._futures: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._gone = False
        # a daemon: a caller that never closes the store must not keep the interpreter alive
        self._reader = threading.Thread(target=self._read, name="dlkit-tracking-answers", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                number, ok, value = pickle.load(self._answers)
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            with self._lock:
                future = self._futures.pop(number)
            if ok:
                future.set_result(value)
            else:
                future.set_exception(_rebuild_error(*value))
        with self._lock:
            self._gone = True
            orphans, self._futures = list(self._futures.values()), {}
        for future in orphans:
            future.set_exception(self._ended())

    def _ended(self) -> BaseException:
        from dlkit.errors import TrackingError

        return TrackingError(
            f"tracking writer process ended unexpectedly (exit {self._proc.poll()})",
            hint=f"its error is printed above; {WRITER_ENV}=thread writes from this process",
        )

    def submit(self, priority: int, method: str, args: tuple[Any, ...]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._gone or self._requests.closed:
                future.set_exception(self._ended())
                return future
            number = next(self._ids)
            self._futures[number] = future
            try:
                pickle.dump((number, priority, method, args), self._requests, pickle.HIGHEST_PROTOCOL)
                self._requests.flush()
            except OSError:  # the process is gone: the reader fails what is left
                self._gone = True
                self._futures.pop(number)
                future.set_exception(self._ended())
        return future

    def close(self) -> None:
        """Wait until every call sent is answered (written), then let the writer process exit.

        Its exit is not waited for (the interpreter's shutdown with MLflow loaded takes about a
        second): nothing is left for it to write. A writer never asked anything is stopped at
        once (it may still be opening the store).
        """
        with self._lock:
            if self._requests.closed:  # closed already
                return
            outstanding = list(self._futures.values())
            if next(self._ids) == 0:
                self._proc.kill()
        for future in outstanding:
            future.exception()  # waits; the caller reads the error from the future
        with self._lock:
            with contextlib.suppress(OSError):
                pickle.dump(None, self._requests)
            with contextlib.suppress(OSError):
                self._requests.close()


def writer_kind() -> str:
    """``thread`` or ``process``, as :data:`WRITER_ENV` asks; unset: a process unless MLflow is
    imported here already (a notebook, a test session), where a thread costs no import."""
    wanted = os.environ.get(WRITER_ENV, "").strip().lower()
    if wanted in ("thread", "process"):
        return wanted
    return "thread" if "mlflow" in sys.modules else "process"


class QueuedStore:
    """A :class:`~dlkit.tracking.RunStore` whose calls all run on one writer.

    Calls that answer (``start_run``, ``find_run``, ``log_model``) wait for their answer; the
    others return at once. Calls run in the order they were made, except that starting a run goes
    before the writes still queued: nothing queued can refer to a run not started yet, and a new
    trial then does not wait for the last one's metrics. Every call goes through the one writer,
    so the store is never used from two threads at once. A write that failed is raised by the
    next call or by :meth:`flush`; :meth:`close` waits until every queued write is in the store
    (also on Ctrl-C: the writer thread is not a daemon, and the writer process ignores SIGINT
    and writes until its input closes).

    Args:
        store: an open store, written from a thread of this process (a tuning study's; a store
            that records nothing needs no queue). :meth:`open` opens one in a writer process.
    """

    def __init__(
        self, store: RunStore | None = None, *, _writer: Any = None, _uri: str | None = None
    ) -> None:
        if store is not None:
            self._writer: _ThreadWriter | _ProcessWriter = _ThreadWriter(lambda: store)
            self._uri = store.uri
        else:
            self._writer, self._uri = _writer, _uri
        self._pending: list[Future[Any]] = []
        self._lock = threading.Lock()

    @classmethod
    def open(cls, uri: str | None = None) -> QueuedStore:
        """The MLflow store at ``uri`` (resolved as :func:`resolve_tracking_uri` does), opened by
        the writer (:func:`writer_kind`); a writer process that cannot start falls back to a
        thread. Nothing waits here: a store that cannot be opened fails the first call."""
        resolved = resolve_tracking_uri(uri)
        if writer_kind() == "process":
            try:
                return cls(_writer=_ProcessWriter(resolved), _uri=resolved)
            except OSError as exc:
                log.warning("tracking: no writer process (%s); writing from a thread", exc)

        def open_store() -> RunStore:
            from dlkit.tracking.mlflow_tracker import MLflowStore

            return MLflowStore(resolved)

        return cls(_writer=_ThreadWriter(open_store), _uri=resolved)

    @property
    def uri(self) -> str | None:
        return self._uri

    @property
    def in_process(self) -> bool:
        """Whether the writer is a thread of this process (not a writer process)."""
        return isinstance(self._writer, _ThreadWriter)

    def _submit(self, method: str, *args: Any) -> None:
        self._raise_failed()
        future = self._writer.submit(IN_ORDER, method, args)
        with self._lock:
            self._pending.append(future)

    def _answer(self, method: str, *args: Any) -> Any:
        """``method``'s answer (its error raised here), after the writes queued before it."""
        self._raise_failed()
        return self._writer.submit(IN_ORDER, method, args).result()

    def _raise_failed(self) -> None:
        """Raise the first error of a write done since the last check; forget the writes done."""
        with self._lock:
            done = [f for f in self._pending if f.done()]
            self._pending = [f for f in self._pending if not f.done()]
        for future in done:
            error = future.exception()
            if error is not None:
                raise error

    def flush(self) -> None:
        """Wait until every queued write is in the store.

        Raises:
            TrackingError: a queued write failed (the first one that did).
        """
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.exception()  # waits; the error, if any, is raised below
        self._raise_failed()

    def close(self, *, raise_error: bool = True) -> None:
        """Write what is queued and stop the writer.

        Args:
            raise_error: raise a failed write as :meth:`flush` does; False where another
                exception is already on its way out (Ctrl-C), which it must not hide.
        """
        self._writer.close()
        if raise_error:
            self._raise_failed()

    # -- the RunStore protocol -------------------------------------------------------------

    def start_run_later(
        self, experiment: str, name: str, tags: dict[str, str], parent: str | None = None
    ) -> Future[str | None]:
        """Start a run, before the writes still queued; its id is the future's answer."""
        self._raise_failed()
        return self._writer.submit(FIRST, "start_run", (experiment, name, dict(tags), parent))

    def start_run(
        self, experiment: str, name: str, tags: dict[str, str], parent: str | None = None
    ) -> str | None:
        return self.start_run_later(experiment, name, tags, parent).result()

    def find_run(self, experiment: str, tags: dict[str, str]) -> str | None:
        return self._answer("find_run", experiment, dict(tags))  # type: ignore[no-any-return]

    def reopen(self, run_id: str | None) -> None:
        self._submit("reopen", run_id)

    def finish(self, run_id: str | None, status: str) -> None:
        self._submit("finish", run_id, status)

    def log_params(self, run_id: str | None, params: dict[str, Any]) -> None:
        self._submit("log_params", run_id, dict(params))

    def log_metrics(self, run_id: str | None, metrics: Mapping[str, float | None], step: int = 0) -> None:
        self._submit("log_metrics", run_id, dict(metrics), step)

    def log_metric_steps(
        self, run_id: str | None, steps: Sequence[tuple[int, Mapping[str, float | None]]]
    ) -> None:
        self._submit("log_metric_steps", run_id, [(s, dict(m)) for s, m in steps])

    def set_tags(self, run_id: str | None, tags: dict[str, str]) -> None:
        self._submit("set_tags", run_id, dict(tags))

    def log_artifact(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        self._submit("log_artifact", run_id, path, folder)

    def log_artifacts(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        self._submit("log_artifacts", run_id, path, folder)

    def log_inputs(self, run_id: str | None, inputs: list[dict[str, str]]) -> None:
        self._submit("log_inputs", run_id, list(inputs))

    def log_model(self, run_id: str | None, payload: ModelPayload, step: int = 0) -> str | None:
        return self._answer("log_model", run_id, payload, step)  # type: ignore[no-any-return]


def start_run_later(
    store: RunStore, experiment: str, name: str, tags: dict[str, str], parent: str | None = None
) -> Future[str | None]:
    """``store.start_run``'s answer as a future: not waited for where a writer starts the run
    (:meth:`QueuedStore.start_run_later`), already there for any other store."""
    if isinstance(store, QueuedStore):
        return store.start_run_later(experiment, name, tags, parent)
    started: Future[str | None] = Future()
    started.set_result(store.start_run(experiment, name, tags, parent))
    return started
