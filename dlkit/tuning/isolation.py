"""Trials in a worker process (``tune.isolation: process``), replaced every ``tune.recycle_every`` trials.

In one process a study's memory stays flat (see :mod:`dlkit._tf_memory`), but whatever native
memory TensorFlow keeps from a trial stays with the process. A worker subprocess trains the trials
instead and is replaced after ``recycle_every`` of them, so nothing a trial leaves behind outlives
its worker. The worker is started with ``spawn`` (a fresh interpreter: TensorFlow does not survive
``fork``), loads the study's data once, and sends back each trial's :class:`TrialOutcome`; the run
directory it writes is the usual one. Ctrl-C is handled by the study's process alone: it stops the
worker and re-raises, so the study stays resumable.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from dlkit.tuning.trial import TrialFailed, TrialOutcome

log = logging.getLogger(__name__)

_POLL_S = 0.2


def _serve(conn: Connection, study_path: str) -> None:
    """The worker's loop: one task in, one ``(kind, payload)`` out, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the study's process
    from dlkit._tf import import_tensorflow, skip_final_collection

    skip_final_collection()  # the study waits for the worker's exit when it recycles it
    import_tensorflow()
    import keras

    from dlkit.errors import DlkitError
    from dlkit.recipe.loader import load_recipe, validate_recipe
    from dlkit.rundir import RunDir
    from dlkit.training.pipeline import KeptModel, TrainingStreams
    from dlkit.tuning.study import StudyDir, load_study_data
    from dlkit.tuning.trial import train_trial

    study = StudyDir(Path(study_path))
    data = load_study_data(load_recipe(study.recipe_path), study)
    streams, models = TrainingStreams(), KeptModel()
    while True:
        task = conn.recv()
        if task is None:
            return
        try:
            recipe = validate_recipe(task["recipe"], task["source"], Path.cwd())
            warm = Path(task["warm_start"]) if task["warm_start"] else None
            run = RunDir(Path(task["folder"]))
            run.update_info(worker_pid=os.getpid())
            outcome = train_trial(
                recipe,
                data,
                run,
                epochs=task["epochs"],
                warm_start=warm,
                measure=tuple(task["measure"]),
                streams=streams,
                models=models,
            )
            reply: tuple[str, Any] = ("completed", outcome)
        except DlkitError as exc:
            reply = ("failed", exc.message)
        except Exception as exc:  # the study records the reason and goes on
            reply = ("failed", f"{type(exc).__name__}: {exc}")
        finally:
            keras.backend.clear_session()
        conn.send(reply)


class TrialWorker:
    """Trains trials in a subprocess; a fresh one every ``recycle_every`` trials."""

    def __init__(self, study_path: Path, recycle_every: int) -> None:
        self.study_path = study_path.resolve()
        self.recycle_every = recycle_every
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None
        self.served = 0
        self.started = 0

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, str(self.study_path)), name="dlkit-trial-worker", daemon=True
        )
        self.process.start()
        child.close()
        self.conn, self.served = parent, 0
        self.started += 1
        log.debug("trial worker %s started", self.process.pid)

    def train(
        self,
        recipe: dict[str, Any],
        source: str,
        folder: Path,
        *,
        epochs: int | None,
        warm_start: Path | None,
        measure: tuple[str, ...],
        check: Any = None,
    ) -> TrialOutcome:
        """Train one trial in the worker; ``check`` is called while waiting (it may raise).

        Raises:
            TrialFailed: the trial failed in the worker, or the worker died.
        """
        if self.process is not None and self.served >= self.recycle_every:
            self.stop()
        if self.process is None:
            self._start()
        assert self.conn is not None and self.process is not None
        task = {
            "recipe": recipe,
            "source": source,
            "folder": str(folder),
            "epochs": epochs,
            "warm_start": str(warm_start) if warm_start else None,
            "measure": list(measure),
        }
        self.conn.send(task)
        self.served += 1
        try:
            while not self.conn.poll(_POLL_S):
                if check is not None:
                    check()
                if not self.process.is_alive():
                    code = self.process.exitcode
                    self.kill()
                    raise TrialFailed(f"the trial's worker process exited with code {code} (out of memory?)")
            kind, payload = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise TrialFailed(f"lost the trial's worker process ({type(exc).__name__})") from None
        except BaseException:  # Ctrl-C: the trial cannot finish; its worker goes with it
            self.kill()
            raise
        if kind == "failed":
            raise TrialFailed(str(payload))
        outcome: TrialOutcome = payload
        return outcome

    def stop(self) -> None:
        """Let the worker finish and exit (it frees everything it holds)."""
        if self.process is None:
            return
        assert self.conn is not None
        try:
            self.conn.send(None)
            self.process.join(timeout=30)
        except (OSError, ValueError):
            pass
        self.kill()

    def kill(self) -> None:
        """End the worker now."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=10)
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn = None, None
