"""Keras callbacks behind :func:`dlkit.training.fit.fit` (imports Keras: load lazily)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from dlkit.training import checkpoints as ckpt
from dlkit.training.schedules import Plateau, better_mode


def current_lr(model: keras.Model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's early stopping, whose counters (and best weights) a resumed run carries on."""

    def __init__(self, spec: Any, resume: ckpt.ResumeState | None = None) -> None:
        super().__init__(
            monitor=spec.monitor,
            min_delta=spec.min_delta,
            patience=spec.patience,
            mode=spec.mode,
            restore_best_weights=spec.restore_best_weights,
            start_from_epoch=spec.start_from_epoch,
        )
        self._resume = resume

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        if self._resume is not None and self._resume.early_stopping:
            saved = self._resume.early_stopping
            self.wait = int(saved["wait"])
            self.best = saved["best"]
            self.best_epoch = int(saved["best_epoch"])
            self.best_weights = self._resume.best_weights

    def state(self) -> dict[str, Any]:
        best = None if self.best is None else float(self.best)
        return {"wait": int(self.wait), "best": best, "best_epoch": int(self.best_epoch)}


class PlateauCallback(keras.callbacks.Callback):
    """Applies :class:`Plateau` at the end of every epoch."""

    def __init__(self, plateau: Plateau) -> None:
        super().__init__()
        self.plateau = plateau

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.plateau.spec.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        self.model.optimizer.learning_rate = self.plateau.update(float(value))


class DeliverSignals(keras.callbacks.Callback):
    """Delivers SIGINT and SIGTERM held during the fit at the start of a batch or an epoch
    (:func:`dlkit.training.checkpoints.deliver_held`), where a KeyboardInterrupt cannot be lost."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        ckpt.deliver_held()

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        ckpt.deliver_held()

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        ckpt.deliver_held()


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops at the first batch whose loss is NaN or infinite, remembering the epoch.

    Safe to run off the training thread (``async_safe``): Keras then hands each batch's loss to
    a worker thread instead of waiting for it after every step, as a plain ``fit`` does.
    """

    async_safe = True

    def __init__(self) -> None:
        super().__init__()
        self.diverged_epoch: int | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_epoch = self._epoch + 1
            self.model.stop_training = True


@dataclass
class _Unwritten:
    """A completed epoch whose checkpoint is not on disk yet: its state and every variable's value."""

    state: ckpt.ResumeState
    values: list[Any]
    best: list[Any] | None  # the best epoch's values, when that epoch is unwritten too


class EpochRecorder(keras.callbacks.Callback):
    """Records each epoch's row, keeps the checkpoint and state, then reports the epoch.

    It runs after the schedule and early-stopping callbacks, so the state it saves is the
    state at the end of the epoch. Writing a checkpoint costs about as much as a small model's
    epoch, so one is written when ``every_s`` seconds have passed since the last, and always at
    the last epoch and at an early stop; in between, the last completed epoch is kept in memory
    (:meth:`write_unwritten` puts it on disk when training ends otherwise: Ctrl-C, SIGTERM, an
    error, a diverged loss). SIGINT and SIGTERM wait until the epoch is recorded.
    """

    def __init__(
        self,
        history: list[dict[str, float]],
        report: Callable[[int, dict[str, float], float], None],
        folder: Path | None,
        *,
        early_stopping: ResumableEarlyStopping | None,
        plateau: Plateau | None,
        stop: StopOnNonFinite,
        resume: ckpt.ResumeState | None,
        every_s: float = 0.0,
    ) -> None:
        super().__init__()
        self.history = history
        self.report = report
        self.folder = folder
        self.early_stopping = early_stopping
        self.plateau = plateau
        self.stop = stop
        self.every_s = every_s
        best = dict(resume.best) if resume is not None else {}
        monitor = early_stopping.monitor if early_stopping is not None else "val_loss"
        self.best: dict[str, Any] = {
            "monitor": monitor,
            "value": best.get("value"),
            "epoch": best.get("epoch"),
        }
        self._maximize = better_mode(monitor) == "max"
        self._lr = 0.0
        self._epoch = 0
        self._written_at = time.monotonic()
        self._unwritten: _Unwritten | None = None
        self._best_values: list[Any] | None = None  # an unwritten best epoch's values
        self._read_values: Callable[[], list[Any]] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._written_at = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._lr = current_lr(self.model)
        self._epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # a batch-begin hook, not batch-end: Keras waits for every step's logs when a callback
        # has a batch-end hook that is not async_safe
        if batch == 0:
            ckpt.pause_for_test("batch", self._epoch + 1)

    def _improved(self, epoch: int, logs: dict[str, Any]) -> bool:
        if self.early_stopping is not None:
            es = self.early_stopping
            return es.best is not None and es.best_epoch == epoch and es.wait == 0
        value = logs.get(self.best["monitor"])
        if value is None or not math.isfinite(float(value)):
            return False
        old = self.best["value"]
        return old is None or (float(value) > old if self._maximize else float(value) < old)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        row = {k: float(v) for k, v in logs.items() if k != "learning_rate"}
        row["lr"] = self._lr
        with ckpt.signals_held():
            self.history.append(row)
            if self.folder is not None and self.stop.diverged_epoch is None:
                self._checkpoint(epoch, logs)
            else:  # a diverged epoch is not kept: the last good one is
                self.write_unwritten()
            self.report(epoch, row, self._lr)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.write_unwritten()

    def _checkpoint(self, epoch: int, logs: dict[str, Any]) -> None:
        assert self.folder is not None
        improved = self._improved(epoch, logs)
        if improved:
            value = logs.get(self.best["monitor"])
            self.best.update(value=None if value is None else float(value), epoch=epoch + 1)
        # early stopping has decided (it runs before this callback) to end before the last epoch
        stopped = bool(self.model.stop_training) and epoch + 1 < int(self.params["epochs"])
        state = ckpt.ResumeState(
            epoch=epoch + 1,
            history=list(self.history),
            iterations=ckpt.iterations(self.model),
            best=dict(self.best),
            plateau=self.plateau.state() if self.plateau is not None else None,
            early_stopping=self.early_stopping.state() if self.early_stopping is not None else None,
            seed_generators=ckpt.seed_states(self.model),
            stopped=stopped,
        )
        last = epoch + 1 >= int(self.params["epochs"]) or bool(self.model.stop_training)
        if last or time.monotonic() - self._written_at >= self.every_s:
            best_values = None if improved else self._best_values
            ckpt.write_checkpoint(self.folder, self.model, state, best=improved, best_values=best_values)
            self._written()
            return
        if self._read_values is None:
            self._read_values = ckpt.values_reader(self.model)
        values = self._read_values()
        if improved:
            self._best_values = values
        self._unwritten = _Unwritten(state, values, self._best_values)

    def _written(self) -> None:
        self._unwritten, self._best_values = None, None
        self._written_at = time.monotonic()

    def write_unwritten(self) -> None:
        """Write the last completed epoch's checkpoint if it is only in memory; the model's
        variables are left as they are."""
        pending = self._unwritten
        if pending is None or self.folder is None:
            return
        current = ckpt.variable_values(self.model)
        ckpt.assign_values(self.model, pending.values)
        try:
            is_best = pending.best is pending.values
            ckpt.write_checkpoint(
                self.folder,
                self.model,
                pending.state,
                best=is_best,
                best_values=None if is_best else pending.best,
            )
        finally:
            ckpt.assign_values(self.model, current)
        self._written()
