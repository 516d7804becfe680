"""Train one trial: ``dlkit train``'s own pipeline with the sampled values, nothing less.

The study's data is loaded and split once, exactly as ``dlkit train`` does
(:func:`dlkit.training.prepare.split_recipe`: same columns, corrections, vocabulary), and passed
in; every trial writes a run directory of the usual layout (``dlkit diagnose`` reads it),
but only the best trial's model goes to MLflow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit.data.dataset import Dataset
from dlkit.errors import BuildError, DlkitError, RecipeError
from dlkit.recipe.schema import Recipe
from dlkit.rundir import RunDir, write_json
from dlkit.training.prepare import SplitOutcome

if TYPE_CHECKING:
    from dlkit.training.pipeline import KeptModel, TrainingStreams


class TrialFailed(DlkitError):
    """A trial that cannot finish: NaN loss, a model that cannot be built, an invalid recipe."""


# The sets a trial is scored on. The test set is not looked at during a study (choosing by it
# would make it a second dev set): the best configuration's test result comes from training its
# best.yaml with `dlkit train`.
TRIAL_SETS = ("train", "train_dev", "dev")

# a study's data: what :func:`dlkit.training.prepare.split_recipe` gives `dlkit train`, made once
StudyData = SplitOutcome


@dataclass
class TrialOutcome:
    """A finished trial: metrics per set, size, the satisficing measures and the epochs trained."""

    metrics: dict[str, dict[str, float]]
    n_params: int
    measured: dict[str, float] = field(default_factory=dict)
    epochs_run: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def measure_latency_ms(model: Any, data: Dataset, recipe: Recipe, repeats: int = 20) -> float:
    """Median inference time of one example, in ms: the first example, in the model's own input
    form (:func:`dlkit.training.latency.latency_ms`)."""
    from dlkit.tasks import task_for
    from dlkit.training.latency import latency_ms

    x, _ = task_for(data.task).fit_arrays(data, np.asarray([0]))
    return latency_ms(model, x, repeats)


def train_trial(
    recipe: Recipe,
    study: StudyData,
    run: RunDir,
    *,
    epochs: int | None = None,
    warm_start: Path | None = None,
    measure: tuple[str, ...] = (),
    on_epoch: Callable[[Any], None] | None = None,
    streams: TrainingStreams | None = None,
    models: KeptModel | None = None,
) -> TrialOutcome:
    """Build, train and score one configuration; write its run directory.

    Args:
        recipe: the trial's validated recipe.
        study: the study's data and split.
        run: the trial's run directory (created).
        epochs: epochs to train (Hyperband's budget); ``recipe.train.epochs`` when None.
        warm_start: a model file whose weights start this trial (a Hyperband promotion).
        measure: satisficing measures to take: params, latency_ms, model_size_mb.
        on_epoch: called after every epoch with the :class:`~dlkit.training.fit.EpochEnd`.
        streams: the study's training pipelines, kept from one trial to the next.
        models: the study's last model, reset and reused by a trial that builds the same one.

    Returns:
        The metrics of train, train-dev and dev (inference mode; never test), the parameter count
        and the measures.

    Raises:
        TrialFailed: the model cannot be built or the loss is not finite.
    """
    from dlkit._tf import import_tensorflow
    from dlkit._tf_memory import released_custom_gradients

    import_tensorflow()
    # the trial's model is saved and dropped here: what TensorFlow keeps of it globally goes too
    with released_custom_gradients():
        return _train(recipe, study, run, epochs, warm_start, measure, on_epoch, streams, models)


def _train(
    recipe: Recipe,
    study: StudyData,
    run: RunDir,
    epochs: int | None,
    warm_start: Path | None,
    measure: tuple[str, ...],
    on_epoch: Callable[[Any], None] | None,
    streams: TrainingStreams | None,
    models: KeptModel | None,
) -> TrialOutcome:
    from dlkit.training.fit import history_frame
    from dlkit.training.model_file import save_model
    from dlkit.training.pipeline import fit_model, predict_sets
    from dlkit.training.runtime import training_runtime

    data, parts = study.data, study.split
    # a fresh Keras state (layer names) comes with the runtime, which clears the session and
    # collects the previous trial's garbage
    if epochs is not None:
        recipe = recipe.model_copy(update={"train": recipe.train.model_copy(update={"epochs": epochs})})
    try:
        # the trial is `dlkit train` with the sampled values: same build, runtime, stream and fit
        with training_runtime(recipe.train, recipe.seed) as runtime:
            fitted = fit_model(
                recipe,
                data,
                parts.indices("train"),
                parts.indices("dev"),
                runtime,
                warm_start=warm_start,
                on_epoch=on_epoch,
                streams=streams,
                models=models,
            )
    except BuildError as exc:
        raise TrialFailed(f"cannot build the model: {exc.message}") from None
    except RecipeError as exc:
        raise TrialFailed(f"the sampled configuration does not fit the data: {exc.message}") from None
    if fitted.fit.diverged_epoch is not None:
        first = fitted.fit.warnings[0]
        raise TrialFailed(first.message)
    model = fitted.model
    run.history_path.parent.mkdir(parents=True, exist_ok=True)
    history_frame(fitted.fit.history).to_csv(run.history_path)
    metrics = predict_sets(model, recipe, data, parts, run.predictions_path, TRIAL_SETS)
    for name, set_metrics in metrics.items():
        # the loss, not every metric: AUC is undefined (NaN) on a set that lacks a class
        if not math.isfinite(set_metrics.get("loss", 0.0)):
            raise TrialFailed(f"{name} metrics are not finite ({set_metrics}): the model outputs NaN")
    write_json(run.metrics_path, metrics)
    run.model_path.parent.mkdir(parents=True, exist_ok=True)
    # saved before the trial is recorded complete, written whole or not at all: a study killed
    # in any way never holds a completed trial without its model
    partial = run.model_path.with_name(f".partial-{run.model_path.name}")  # Keras wants .keras
    save_model(model, partial)
    os.replace(partial, run.model_path)
    measured: dict[str, float] = {}
    if "params" in measure:
        measured["params"] = float(fitted.n_params)
    if "latency_ms" in measure:
        measured["latency_ms"] = measure_latency_ms(model, data, recipe)
    if "model_size_mb" in measure:
        measured["model_size_mb"] = run.model_path.stat().st_size / 1e6
    return TrialOutcome(metrics, fitted.n_params, measured, fitted.fit.epochs_run, fitted.fit.history)
