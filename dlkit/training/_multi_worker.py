"""What ``train.strategy: multi_worker`` needs beyond creating the strategy (imports Keras: load lazily).

Keras 3 (up to at least 3.15) cannot ``fit`` under ``tf.distribute.MultiWorkerMirroredStrategy``
with more than one worker (keras-team/keras#20585): before the first step it averages the first
batch across workers as one tensor (it only wants its shapes), and after each step it averages
each scalar log along an axis it does not have. :func:`patch_keras` corrects both, for this
process, where Keras would otherwise fail.

A process whose peer is lost cannot always shut TensorFlow down (its exit waits on the lost
worker): :func:`exit_within` ends it for sure, and :func:`deadline` ends a process whose cluster
never comes together, with one line saying why.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dlkit.errors import DlkitError

log = logging.getLogger(__name__)

_patched = False


def patch_keras() -> None:
    """Make ``fit`` and ``evaluate`` work under a multi-worker strategy (idempotent)."""
    global _patched
    if _patched:
        return
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica
    multi_worker = tf_trainer._collective_all_reduce_multi_worker

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        # a step's logs are scalars: averaged over the workers as they are (Keras asks for axis 0)
        if reduction in ("auto", "mean") and multi_worker(strategy):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original_reduce(values, strategy, reduction)

    def maybe_symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        # the batch only gives shapes and dtypes: this worker's share of it is enough
        if self._distribute_strategy is None:
            return
        strategy = self.distribute_strategy
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = next(batches)
                break

        def local(value: Any) -> Any:
            if isinstance(value, tf.distribute.DistributedValues):
                return strategy.experimental_local_results(value)[0]
            return value

        with strategy.scope():
            self._symbolic_build(data_batch=tf.nest.map_structure(local, data_batch))

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    _patched = True


# a separate process says why, since the one that waits may hold the interpreter: it prints the
# line unless its input (a pipe from the waiting process) closes first
_WATCHER = """
import select, sys
ready, _, _ = select.select([sys.stdin], [], [], float(sys.argv[1]))
if not ready:
    sys.stderr.write("error: " + sys.argv[2] + "\\n")
"""


@contextlib.contextmanager
def deadline(seconds: float, message: str) -> Iterator[None]:
    """End the process (exit code 1, ``message`` on stderr) if the block lasts over ``seconds``.

    For waits inside TensorFlow that neither time out nor give way to a signal, nor let another
    Python thread run: a watcher process prints the line, and faulthandler's native watchdog
    ends this process a second later.
    """
    watcher = subprocess.Popen([sys.executable, "-c", _WATCHER, str(seconds), message], stdin=subprocess.PIPE)
    with open(os.devnull, "w") as devnull:
        faulthandler.dump_traceback_later(seconds + 1, exit=True, file=devnull)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
            assert watcher.stdin is not None
            watcher.stdin.close()
            watcher.wait()


_devnull: Any = None


def exit_within(seconds: float) -> None:
    """End the process with exit code 1 in ``seconds`` if it has not exited by then.

    Called when a multi-worker training fails: the error is reported and the process exits as
    usual, but TensorFlow's shutdown may wait for the worker that was lost.
    """
    global _devnull
    if _devnull is None:
        _devnull = open(os.devnull, "w")  # noqa: SIM115 - kept open until the process ends
    faulthandler.dump_traceback_later(seconds, exit=True, file=_devnull)


# after a failed multi-worker training: time to mark the run FAILED and report the error
EXIT_AFTER_FAILURE_S = 60.0
HEARTBEAT_S = 10  # a worker silent this long is taken for dead


def local_copy(model: Any, folder: Path) -> Any:
    """``model`` as a model of this process alone (saved and loaded outside the strategy).

    Keras predicts under a multi-worker strategy only with every worker taking part; the chief
    evaluates the trained model alone, so it predicts with this copy.
    """
    import tempfile

    from dlkit.models.registry import load_model

    with tempfile.TemporaryDirectory(dir=folder, prefix=".multi-worker-") as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return load_model(path)


class WorkerLostError(DlkitError):
    """A multi-worker training lost one of its processes (it crashed, was killed or hangs)."""


def lost_worker(exc: BaseException, this_task: str) -> WorkerLostError | None:
    """The error to report for ``exc`` when it says a peer was lost; None for any other error.

    ``this_task``: this process's task (``worker 0``), left out of the tasks named.
    """
    import tensorflow as tf

    if not isinstance(exc, (tf.errors.UnavailableError, tf.errors.AbortedError)):
        return None
    message = str(getattr(exc, "message", exc))
    found = re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", message)
    tasks = sorted({f"{job} {index}" for job, index in found} - {this_task})
    who = ", ".join(tasks) if tasks else "a worker"
    return WorkerLostError(
        f"train.strategy: multi_worker: {who} stopped during training (no heartbeat for {HEARTBEAT_S} s "
        "or a failed exchange); this process stops too",
        hint="see that machine's output for why; the chief keeps its last checkpoint: start every "
        "process again with `dlkit train --resume RUN`",
    )
