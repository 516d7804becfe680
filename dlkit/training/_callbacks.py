"""Keras callbacks behind :func:`dlkit.training.fit.fit` (imports Keras: load lazily)."""

from __future__ import annotations

import math
from collections.abc import Callable
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


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops at the first batch whose loss is NaN or infinite, remembering the epoch."""

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


class EpochRecorder(keras.callbacks.Callback):
    """Records each epoch's row, writes the checkpoints and state, then reports the epoch.

    It runs after the schedule and early-stopping callbacks, so the state it saves is the
    state at the end of the epoch. SIGINT and SIGTERM wait until the epoch is recorded.
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
    ) -> None:
        super().__init__()
        self.history = history
        self.report = report
        self.folder = folder
        self.early_stopping = early_stopping
        self.plateau = plateau
        self.stop = stop
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

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._lr = current_lr(self.model)
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
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
            self.report(epoch, row, self._lr)

    def _checkpoint(self, epoch: int, logs: dict[str, Any]) -> None:
        assert self.folder is not None
        improved = self._improved(epoch, logs)
        if improved:
            value = logs.get(self.best["monitor"])
            self.best.update(value=None if value is None else float(value), epoch=epoch + 1)
        state = ckpt.ResumeState(
            epoch=epoch + 1,
            history=list(self.history),
            iterations=ckpt.iterations(self.model),
            best=dict(self.best),
            plateau=self.plateau.state() if self.plateau is not None else None,
            early_stopping=self.early_stopping.state() if self.early_stopping is not None else None,
            seed_generators=ckpt.seed_states(self.model),
            # early stopping has decided (it runs before this callback) to end before the last epoch
            stopped=bool(self.model.stop_training) and epoch + 1 < int(self.params["epochs"]),
        )
        ckpt.write_checkpoint(self.folder, self.model, state, best=improved)
