"""Fit a compiled model: the schedule from the registry, resumable checkpoints (``checkpoint_every_s``),
with the training curve checked at the end (building and compiling: :mod:`dlkit.training.pipeline`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.training.curves import CurveWarning, check_curves
from dlkit.training.schedules import Plateau, PlateauSpec, is_per_epoch, lr_at
from dlkit.training.spec import TrainSpec

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from dlkit.training.checkpoints import ResumeState

log = logging.getLogger(__name__)


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
    initial_epoch: int = 0
    diverged_epoch: int | None = None
    warnings: list[CurveWarning] = field(default_factory=list)


def fit(
    model: keras.Model,
    spec: TrainSpec,
    train: tf.data.Dataset,
    dev: tf.data.Dataset,
    *,
    checkpoints: Path | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    steps_per_epoch: int | None = None,
    resume: ResumeState | None = None,
    baseline_loss: float | None = None,
) -> FitResult:
    """Fit a compiled model on ``train``, validating on ``dev`` every epoch.

    Args:
        model: a compiled model (restored with :func:`dlkit.training.checkpoints.restore` when
            ``resume`` is given).
        spec: the recipe's train section.
        train: batched, shuffled training data; with ``steps_per_epoch``, one stream over all
            epochs from ``resume.epoch`` on (:func:`dlkit.training.stream.epoch_stream`).
        dev: batched dev data (Keras reports it as ``val_*``).
        checkpoints: folder for last.keras, best.keras and state.json
            (``spec.checkpoint_every_s``).
        on_epoch: called after every epoch.
        steps_per_epoch: batches per epoch when ``train`` runs over all epochs.
        resume: continue after this many completed epochs, with their history and state; a
            state whose fitting is over (every epoch done, or stopped early) only ends the fit.
        baseline_loss: a constant predictor's loss, for the flat-curve check.

    Returns:
        The whole history (resumed epochs included) and the curve warnings. A loss that becomes
        NaN or infinite stops training: ``diverged_epoch`` says where.
    """
    import keras

    from dlkit.training import _callbacks as cb
    from dlkit.training.checkpoints import signals_held

    initial_epoch = resume.epoch if resume is not None else 0
    result = FitResult(history=list(resume.history) if resume else [], initial_epoch=initial_epoch)
    result.epochs_run = initial_epoch
    callbacks: list[keras.callbacks.Callback] = []
    lr0 = spec.optimizer.learning_rate
    plateau = None
    if spec.schedule is not None and is_per_epoch(spec.schedule):
        schedule, epochs = spec.schedule, spec.epochs
        callbacks.append(
            keras.callbacks.LearningRateScheduler(lambda e, _lr: lr_at(schedule, lr0, e, epochs))
        )
    elif isinstance(spec.schedule, PlateauSpec):
        plateau = Plateau(spec.schedule, lr0)
        if resume is not None and resume.plateau:
            plateau.load_state(resume.plateau)
        callbacks.append(cb.PlateauCallback(plateau))
    stop = cb.StopOnNonFinite()
    callbacks.append(stop)
    early = cb.ResumableEarlyStopping(spec.early_stopping, resume) if spec.early_stopping else None
    if early is not None:
        callbacks.append(early)

    def report(epoch: int, row: dict[str, float], lr: float) -> None:
        result.epochs_run = epoch + 1
        if on_epoch is not None:
            on_epoch(EpochEnd(epoch + 1, spec.epochs, row, lr))

    recorder = cb.EpochRecorder(
        result.history,
        report,
        checkpoints,
        early_stopping=early,
        plateau=plateau,
        stop=stop,
        resume=resume,
        every_s=spec.checkpoint_every_s,
    )
    callbacks.append(recorder)
    callbacks.insert(0, cb.DeliverSignals())
    if resume is not None and resume.fitted(spec.epochs):
        # the run was stopped after its last epoch, before it was evaluated: end the fit as
        # Keras would have (early stopping puts back the best epoch's weights), epochs done
        if early is not None:
            early.set_model(model)
            early.on_train_begin()
            early.on_train_end()
    else:
        build_training_state(model, train)
        try:
            # shuffling happens in the tf.data pipeline (seeded), so Keras must not try again;
            # Ctrl-C and SIGTERM are held and delivered at a batch's start (DeliverSignals)
            with signals_held():
                model.fit(
                    train,
                    validation_data=dev,
                    epochs=spec.epochs,
                    initial_epoch=initial_epoch,
                    steps_per_epoch=steps_per_epoch,
                    callbacks=callbacks,
                    shuffle=False,
                    verbose=0,
                )
        except BaseException:
            # Ctrl-C, SIGTERM or an error: the last completed epoch is kept, if only in memory
            with signals_held():
                recorder.write_unwritten()
            raise
    result.diverged_epoch = stop.diverged_epoch
    result.stopped_early = result.diverged_epoch is None and result.epochs_run < spec.epochs
    if early is not None and early.best is not None:
        result.best_epoch = early.best_epoch + 1
    result.warnings = check_curves(
        result.history, baseline_loss=baseline_loss, diverged_epoch=result.diverged_epoch
    )
    for warning in result.warnings:
        # returned to the caller, who reports it (the CLI prints each once, after the metrics)
        log.info("training-curve warning: %s", warning)
    return result


def build_training_state(model: keras.Model, train: tf.data.Dataset) -> None:
    """Create the optimizer's and the compiled metrics' variables before the first batch.

    Without a distribution strategy of its own, Keras creates them while it traces the first
    training step; a ``tf.function`` that created variables is traced a second time, so every
    run paid for tracing its training step twice (for a ResNet-18, about a fifth of a one-epoch
    run). Built here from the batches' shapes (no batch is read), the step is traced once; the
    variables are the same zeros either way. Anything Keras cannot build ahead is left to it.
    """
    if getattr(model, "_distribute_strategy", None) is not None:
        return  # Keras builds it at the start of fit
    try:
        model._symbolic_build(data_batch=train.element_spec)
    except Exception as error:  # a model Keras cannot build ahead is built at its first step, as before
        log.debug("training state built at the first step instead: %s", error)


def history_frame(history: list[dict[str, Any]]) -> Any:
    """The history as a frame indexed by epoch (1-based), as history.csv stores it."""
    import pandas as pd

    return pd.DataFrame(history, index=pd.RangeIndex(1, len(history) + 1, name="epoch"))
