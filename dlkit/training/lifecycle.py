"""One training run's life around ``fit``, shared by every trainer (classes, seq2seq, per-step).

:class:`TrainingRun` holds what a trainer needs besides its model and data: the run directory,
the tracker and the caller's callbacks. It announces the built model, logs each epoch, records
the curve warnings (failing the run on a diverged loss) and finishes the run: metrics, model,
status, artifacts and the :class:`~dlkit.training.results.TrainResult`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dlkit.rundir import write_json

if TYPE_CHECKING:
    from collections.abc import Callable

    import keras

    from dlkit.data.dataset import Dataset
    from dlkit.data.split import SplitResult
    from dlkit.rundir import RunDir
    from dlkit.tracking import Tracker
    from dlkit.training.curves import CurveWarning
    from dlkit.training.fit import EpochEnd, FitResult
    from dlkit.training.results import TrainResult, TrainStart

# per-set counts in metrics.json that are not metrics to track
COUNT_KEYS = ("n", "n_steps")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler, ``docker stop``, ``kill``), raised where Ctrl-C raises
    KeyboardInterrupt: the run is marked KILLED, its checkpoints kept, and it can be resumed."""


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Terminated` instead of ending the process at once.

    The process that owns the signals (the CLI) sets it; a library caller keeps its own handler.
    Outside the main thread nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


@dataclass
class TrainingRun:
    """A run being trained: where it is written and who hears about it."""

    run: RunDir
    tracker: Tracker
    summary: dict[str, Any]
    on_start: Callable[[TrainStart], None] | None
    on_epoch: Callable[[EpochEnd], None] | None
    run_name: str
    experiment: str
    started: float
    worker: str | None = None  # a multi_worker process that is not the chief: it records nothing

    def model_ready(self, n_params: int, epochs: int, *, log_params: bool = True, **info: Any) -> None:
        """Record the built model's size (and ``info`` in run.json) and tell the caller."""
        from dlkit.training.results import TrainStart

        self.run.update_info(n_params=n_params, **info)
        if log_params:  # a resumed run's params are logged already (MLflow params cannot change)
            self.tracker.log_params({"model.n_params": n_params})
        if self.on_start is not None:
            self.on_start(
                TrainStart(
                    self.run_name,
                    self.run.path,
                    self.tracker.run_id,
                    self.tracker.uri,
                    self.summary,
                    n_params,
                    epochs,
                    self.worker,
                )
            )

    def epoch_end(self, event: EpochEnd) -> None:
        """Log one epoch's metrics, renew the run's heartbeat and pass the event on."""
        # step = epoch index from 0, as MLflow's Keras autolog logs it (epoch 1 at step 0)
        self.tracker.log_metrics(event.logs, step=event.epoch - 1)
        self.run.beat()
        if self.on_epoch is not None:
            self.on_epoch(event)

    def record_fit(self, fitted: FitResult) -> list[dict[str, Any]]:
        """Write the history and the curve warnings; a diverged loss fails the run.

        Raises:
            TrainingDivergedError: the loss became NaN or infinite.
        """
        from dlkit.training.fit import history_frame
        from dlkit.training.results import TrainingDivergedError

        run, tracker = self.run, self.tracker
        history_frame(fitted.history).to_csv(run.history_path)
        warnings = self.record_warnings(fitted)
        if fitted.diverged_epoch is not None:
            tracker.log_artifact(run.history_path)
            first = fitted.warnings[0]
            raise TrainingDivergedError(first.message, hint=first.advice)
        return warnings

    def record_warnings(
        self, fitted: FitResult, more: list[CurveWarning] | None = None
    ) -> list[dict[str, Any]]:
        """Add ``more`` (what the metrics say) to the fit's warnings and record them all: run.json,
        warnings.json and the ``dlkit.warnings`` tag."""
        fitted.warnings.extend(more or [])
        warnings = [w.to_dict() for w in fitted.warnings]
        self.run.update_info(warnings=warnings)
        write_json(self.run.path / "warnings.json", warnings)
        self.tracker.set_tags({"dlkit.warnings": ",".join(w.code for w in fitted.warnings) or "none"})
        self.tracker.log_artifact(self.run.path / "warnings.json")
        return warnings

    def finish(
        self,
        model: keras.Model,
        metrics: dict[str, dict[str, float]],
        fitted: FitResult,
        data: Dataset,
        parts: SplitResult,
        n_params: int,
    ) -> TrainResult:
        """Write metrics and the model, mark the run FINISHED, log its files, and sum it up."""
        from dlkit.training.model_file import save_model
        from dlkit.training.results import TrainResult

        run, tracker = self.run, self.tracker
        write_json(run.metrics_path, metrics)
        run.model_path.parent.mkdir(parents=True, exist_ok=True)
        save_model(model, run.model_path)
        tracker.log_metrics(
            {f"{name}_{k}": v for name, m in metrics.items() for k, v in m.items() if k not in COUNT_KEYS}
        )
        run.update_info(
            status="FINISHED",
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            epochs_run=fitted.epochs_run,
            stopped_early=fitted.stopped_early,
        )
        for item in ("run.json", "recipe.yaml", "metrics.json", "history.csv"):
            tracker.log_artifact(run.path / item)
        for folder in ("split", "model", "predictions"):
            tracker.log_artifacts(run.path / folder, folder)
        # the model as an MLflow Model (runs:/<id>/model), at the last epoch's step, from the
        # file just saved
        tracker.log_model(model, data, parts, step=max(fitted.epochs_run - 1, 0), saved=run.model_path)
        return TrainResult(
            run_name=self.run_name,
            run_dir=run.path,
            run_id=tracker.run_id,
            tracking_uri=tracker.uri,
            experiment=self.experiment,
            task=data.task,
            metrics=metrics,
            split_sizes=parts.sizes(),
            split_rule=parts.rule,
            n_params=n_params,
            epochs_run=fitted.epochs_run,
            stopped_early=fitted.stopped_early,
            duration_s=time.perf_counter() - self.started,
            history=fitted.history,
            warnings=[w.to_dict() for w in fitted.warnings],
            initial_epoch=fitted.initial_epoch,
            split_warnings=list(self.summary.get("warnings", [])),
        )
