"""The writer process of :class:`~dlkit.tracking.queued.QueuedStore`: ``python -m
dlkit.tracking._writer URI``.

It reads store calls ``(number, priority, method, args)`` pickled on its stdin, runs them on the
MLflow store at ``URI`` (opened here, while the caller goes on with its own work) through the
same one-thread queue a study uses, and answers ``(number, ok, result or error parts)`` on its
stdout. Ctrl-C and SIGTERM reach a whole process group: they are the caller's to handle, so this
process ignores them and writes until its input closes. Input closed without the caller's
goodbye means the caller died (SIGKILL, a crash): the runs it started, or reopened, and did not
end are ended as KILLED, so none is left RUNNING.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import threading
from concurrent.futures import Future
from functools import partial
from typing import Any

from dlkit.tracking.queued import _error_parts, _ThreadWriter

log = logging.getLogger(__name__)


def serve(uri: str) -> None:
    """Answer store calls from stdin until it closes; see the module's docstring."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    # answers go to the real stdout; anything printed on it (MLflow, a library) goes to stderr
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer

    def open_store() -> Any:
        from dlkit.tracking.mlflow_tracker import MLflowStore

        return MLflowStore(uri)

    writer = _ThreadWriter(open_store, eager=True)  # opening overlaps the caller's work
    open_runs: set[str] = set()
    lock = threading.Lock()

    def answer(number: int, method: str, args: tuple[Any, ...], future: Future[Any]) -> None:
        error = future.exception()
        if error is None:
            run = future.result() if method == "start_run" else args[0] if method == "reopen" else None
            if run:
                open_runs.add(run)
            elif method == "finish":
                open_runs.discard(args[0])
            reply = (number, True, future.result())
        else:
            reply = (number, False, _error_parts(error))
        with lock:
            try:
                pickle.dump(reply, answers, pickle.HIGHEST_PROTOCOL)
                answers.flush()
            except OSError:  # the caller is gone: the writes go on regardless
                pass

    said_goodbye = False
    while True:
        try:
            message = pickle.load(requests)
        except (EOFError, OSError, pickle.UnpicklingError):
            break
        if message is None:
            said_goodbye = True
            break
        number, priority, method, args = message
        writer.submit(priority, method, args).add_done_callback(partial(answer, number, method, args))
    writer.close()  # every call received is written
    if not said_goodbye and open_runs and writer.store is not None:
        for run_id in sorted(open_runs):
            try:
                writer.store.finish(run_id, "KILLED")
            except Exception as exc:
                log.warning("tracking writer: run %s not ended: %s", run_id, exc)
    # every write is committed: the interpreter's shutdown (MLflow's, SQLAlchemy's) is skipped,
    # as a caller that reads this process's stderr waits for it to close
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    serve(sys.argv[1])
