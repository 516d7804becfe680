"""Compile and fit a model: loss from the task, optimizer and schedule from the registries."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.training.optimizers import OPTIMIZERS
from dlkit.training.schedules import lr_at
from dlkit.training.spec import TrainSpec

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

log = logging.getLogger(__name__)

DEFAULT_LOSS = {
    "binary": "binary_crossentropy",
    "multiclass": "sparse_categorical_crossentropy",
    "regression": "mean_squared_error",
}


@dataclass
class EpochEnd:
    """Reported after every epoch: the Keras logs (train running averages and val_*) and lr."""

    epoch: int
    epochs: int
    logs: dict[str, float]
    learning_rate: float


@dataclass
class FitResult:
    history: list[dict[str, float]] = field(default_factory=list)
    epochs_run: int = 0
    stopped_early: bool = False
    best_epoch: int | None = None


def compile_model(model: keras.Model, spec: TrainSpec, task: str) -> None:
    """Compile with the recipe's optimizer and the task's loss (unless the recipe names one)."""
    metrics = ["accuracy"] if task != "regression" else ["mae"]
    model.compile(
        optimizer=OPTIMIZERS.build(spec.optimizer),
        loss=spec.loss or DEFAULT_LOSS[task],
        metrics=metrics,
    )


def _callbacks(
    spec: TrainSpec,
    checkpoints: Path | None,
    on_epoch: Callable[[EpochEnd], None] | None,
    result: FitResult,
) -> list[keras.callbacks.Callback]:
    import keras

    callbacks: list[keras.callbacks.Callback] = []
    lr0 = spec.optimizer.learning_rate
    if spec.schedule is not None:
        schedule = spec.schedule
        callbacks.append(keras.callbacks.LearningRateScheduler(lambda e, _lr: lr_at(schedule, lr0, e)))
    if spec.early_stopping is not None:
        es = spec.early_stopping
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=es.monitor,
                patience=es.patience,
                min_delta=es.min_delta,
                restore_best_weights=es.restore_best_weights,
            )
        )
    if checkpoints is not None:
        checkpoints.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.ModelCheckpoint(str(checkpoints / "last.keras")))
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(checkpoints / "best.keras"), monitor="val_loss", save_best_only=True
            )
        )

    class _Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            row = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
            row["lr"] = lr
            result.history.append(row)
            result.epochs_run = epoch + 1
            if on_epoch is not None:
                on_epoch(EpochEnd(epoch + 1, spec.epochs, row, lr))

    callbacks.append(_Report())
    return callbacks


def fit(
    model: keras.Model,
    spec: TrainSpec,
    train: tf.data.Dataset,
    dev: tf.data.Dataset,
    *,
    checkpoints: Path | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
) -> FitResult:
    """Fit a compiled model on ``train``, validating on ``dev`` every epoch.

    Args:
        model: a compiled model.
        spec: the recipe's train section.
        train: batched, shuffled training data.
        dev: batched dev data (Keras reports it as ``val_*``).
        checkpoints: folder for last.keras (every epoch) and best.keras.
        on_epoch: called after every epoch.
    """
    result = FitResult()
    callbacks = _callbacks(spec, checkpoints, on_epoch, result)
    # shuffling happens in the tf.data pipeline (seeded), so Keras must not try again
    model.fit(train, validation_data=dev, epochs=spec.epochs, callbacks=callbacks, shuffle=False, verbose=0)
    result.stopped_early = result.epochs_run < spec.epochs
    if result.history and spec.early_stopping is not None:
        monitor = spec.early_stopping.monitor
        values = [h.get(monitor) for h in result.history]
        if all(v is not None for v in values):
            pick = max if "acc" in monitor else min
            result.best_epoch = values.index(pick(values)) + 1  # type: ignore[type-var]
    return result
