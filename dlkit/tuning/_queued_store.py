"""A study's tracking store, written from one thread so that trials do not wait for it.

A tracked trial writes its MLflow run four times (start, params, metrics, end): about 0.3 s a
trial on a SQLite store, as long as the rest of a short trial's overhead together. Only starting
a run has an answer the trial needs (its id); the other writes go into a queue that one writer
thread empties while the next trial trains.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dlkit.tracking import RunStore

if TYPE_CHECKING:
    import keras

    from dlkit.data.dataset import Dataset
    from dlkit.data.split import SplitResult

T = TypeVar("T")


class QueuedStore:
    """A :class:`~dlkit.tracking.RunStore` whose calls all run on one writer thread.

    Calls that answer (``start_run``, ``find_run``, ``log_model``) wait for their answer; the
    others return at once. Calls run in the order they were made, except that starting a run goes
    before the writes still queued: nothing queued can refer to a run not started yet, and a new
    trial then does not wait for the last one's metrics. Every call goes through the one thread,
    so the store is never used from two threads at once. A write that failed is raised by the
    next call or by :meth:`flush`; :meth:`close` waits until every queued write is in the store
    (also on Ctrl-C: the thread is not a daemon, so the interpreter waits for it before it exits).

    Args:
        store: the study's store (an MLflow store; a store that records nothing needs no queue).
    """

    _FIRST, _IN_ORDER, _LAST = 0, 1, 2

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], Any] | None, Future[Any]]] = (
            queue.PriorityQueue()
        )
        self._order = itertools.count()
        self._pending: list[Future[Any]] = []
        self._lock = threading.Lock()
        self._writer = threading.Thread(target=self._write, name="dlkit-tracking")
        self._writer.start()

    @property
    def uri(self) -> str | None:
        return self._store.uri

    def _write(self) -> None:
        while True:
            _, _, call, future = self._queue.get()
            if call is None:
                return
            try:
                future.set_result(call())
            except BaseException as exc:  # raised on the caller's thread
                future.set_exception(exc)

    def _put(self, priority: int, call: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((priority, next(self._order), lambda: call(*args), future))
        return future

    def _submit(self, call: Callable[..., Any], *args: Any) -> None:
        self._raise_failed()
        future = self._put(self._IN_ORDER, call, *args)
        with self._lock:
            self._pending.append(future)

    def _answer(self, call: Callable[..., T], *args: Any, first: bool = False) -> T:
        """``call``'s answer (its error raised here), after the writes queued before it unless
        ``first``."""
        self._raise_failed()
        return self._put(self._FIRST if first else self._IN_ORDER, call, *args).result()

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
        """Write what is queued and stop the writer thread.

        Args:
            raise_error: raise a failed write as :meth:`flush` does; False where another
                exception is already on its way out (Ctrl-C), which it must not hide.
        """
        if self._writer.is_alive():
            self._queue.put((self._LAST, next(self._order), None, Future()))
            self._writer.join()
        if raise_error:
            self._raise_failed()

    # -- the RunStore protocol -------------------------------------------------------------

    def start_run(
        self, experiment: str, name: str, tags: dict[str, str], parent: str | None = None
    ) -> str | None:
        return self._answer(self._store.start_run, experiment, name, dict(tags), parent, first=True)

    def find_run(self, experiment: str, tags: dict[str, str]) -> str | None:
        return self._answer(self._store.find_run, experiment, dict(tags))

    def reopen(self, run_id: str | None) -> None:
        self._submit(self._store.reopen, run_id)

    def finish(self, run_id: str | None, status: str) -> None:
        self._submit(self._store.finish, run_id, status)

    def log_params(self, run_id: str | None, params: dict[str, Any]) -> None:
        self._submit(self._store.log_params, run_id, dict(params))

    def log_metrics(self, run_id: str | None, metrics: Mapping[str, float | None], step: int = 0) -> None:
        self._submit(self._store.log_metrics, run_id, dict(metrics), step)

    def log_metric_steps(
        self, run_id: str | None, steps: Sequence[tuple[int, Mapping[str, float | None]]]
    ) -> None:
        self._submit(self._store.log_metric_steps, run_id, [(s, dict(m)) for s, m in steps])

    def set_tags(self, run_id: str | None, tags: dict[str, str]) -> None:
        self._submit(self._store.set_tags, run_id, dict(tags))

    def log_artifact(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        self._submit(self._store.log_artifact, run_id, path, folder)

    def log_artifacts(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        self._submit(self._store.log_artifacts, run_id, path, folder)

    def log_model(
        self,
        run_id: str | None,
        model: keras.Model,
        data: Dataset,
        split: SplitResult,
        step: int = 0,
        saved: Path | None = None,
    ) -> str | None:
        return self._answer(self._store.log_model, run_id, model, data, split, step, saved)
