"""Training a per-step (many-to-many) model on per-step labels through ``dlkit train``.

The source gives sequences `(n, timesteps, features)` and labels `(n, timesteps)` with -1 on
padding steps (task ``sequence_labeling``, :mod:`dlkit.data.sequence_labels`). The model must
give one softmax per step (``rnn`` with ``output: sequence``). The loss is sparse
cross-entropy per step that skips padding steps. Every set is then scored
(:func:`dlkit.data.sequence_labels.step_scores`): ``step_accuracy`` over labelled steps,
``exact_match`` (every labelled step of a sequence right), ``error`` = 1 - ``step_accuracy``.

Predictions (id, y_true, y_pred as lists of the labelled steps' labels, correct when all steps
are right, step_accuracy of the sequence) go to ``predictions/<set>.parquet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dlkit.data.sequence_labels import PAD, step_scores
from dlkit.errors import RecipeError

if TYPE_CHECKING:
    from dlkit.api import SplitOutcome, TrainResult
    from dlkit.data.dataset import Dataset
    from dlkit.recipe.schema import Recipe
    from dlkit.training.lifecycle import TrainingRun


def per_step_model(recipe: Recipe) -> bool:
    """The recipe's model gives one output per timestep (``output: sequence``)."""
    return getattr(recipe.model, "output", None) == "sequence"


def check_recipe(recipe: Recipe, data: Dataset) -> None:
    """Per-step labels need a per-step model and per-sequence labels a per-sequence one.

    Raises:
        RecipeError: one line naming model.output (or model.type) and what the labels need.
    """
    model_type = getattr(recipe.model, "type", "?")
    if data.task == "sequence_labeling":
        if not hasattr(recipe.model, "output"):
            raise RecipeError(
                f"model.type: per-step labels (task sequence_labeling) need a model with one output "
                f"per step, e.g. rnn with output: sequence (got {model_type})"
            )
        if not per_step_model(recipe):
            raise RecipeError(
                f"model.output: per-step labels (task sequence_labeling) need output: sequence, "
                f"one prediction per step (got {recipe.model.output})"  # type: ignore[union-attr]
            )
        if recipe.train.augment is not None:
            raise RecipeError("train.augment: not supported with per-step labels (task sequence_labeling)")
    elif per_step_model(recipe):
        raise RecipeError(
            f"model.output: output: sequence predicts one label per step, but the labels are one per "
            f"example (task {data.task}); use output: last, or give labels (n, timesteps)"
        )


def _dataset(x: np.ndarray, y: np.ndarray, batch: int, seed: int | None) -> Any:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y.astype("int32")))
    if seed is not None:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch)


def _labels(row: np.ndarray, classes: list[object]) -> list[str]:
    return [str(classes[int(i)]) for i in row]


def train_sequence_labeling(recipe: Recipe, outcome: SplitOutcome, life: TrainingRun) -> TrainResult:
    """Fit with the masked per-step loss, score every set, write metrics, predictions and the model."""
    import keras

    from dlkit.models import BuildContext, Head, build_model
    from dlkit.training.fit import fit
    from dlkit.training.optimizers import OPTIMIZERS
    from dlkit.training.regularize import apply_initializer, apply_regularization
    from dlkit.training.runtime import training_runtime

    data, parts = outcome.data, outcome.split
    run = life.run
    check_recipe(recipe, data)
    spec = recipe.train
    train_idx, dev_idx = parts.indices("train"), parts.indices("dev")
    with training_runtime(spec, recipe.seed) as runtime, runtime.strategy.scope():
        normalizer = None
        if recipe.data.normalize:
            normalizer = keras.layers.Normalization(axis=-1, name="normalize")
            normalizer.adapt(data.x[train_idx])
        model = build_model(
            recipe.model,
            data.input_shape,
            Head(data.n_classes, "softmax"),
            normalizer,
            name=recipe.name.replace("-", "_"),
            context=BuildContext(data=data, runs_dir=Path(recipe.tracking.runs_dir)),
        )
        if spec.initializer is not None:
            apply_initializer(model, spec.initializer, recipe.seed)
        if spec.regularization is not None:
            apply_regularization(model, spec.regularization)
        # sparse cross-entropy per step; padding steps (label -1) are masked out
        loss = spec.loss or keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD)
        model.compile(optimizer=OPTIMIZERS.build(spec.optimizer), loss=loss, jit_compile=False)
        n_params = int(model.count_params())
        life.model_ready(n_params, spec.epochs)
        fitted = fit(
            model,
            spec,
            _dataset(data.x[train_idx], data.y[train_idx], spec.batch_size, recipe.seed),
            _dataset(data.x[dev_idx], data.y[dev_idx], spec.batch_size, None),
            checkpoints=life.run.checkpoints,
            on_epoch=life.epoch_end,
        )
    life.record_fit(fitted)

    metrics: dict[str, dict[str, float]] = {}
    run.predictions_path("dev").parent.mkdir(parents=True, exist_ok=True)
    for name in parts.present():
        idx = parts.indices(name)
        predicted = np.argmax(model.predict(data.x[idx], batch_size=spec.batch_size, verbose=0), axis=-1)
        truth = data.y[idx]
        metrics[name] = step_scores(predicted, truth)
        mask = truth != PAD
        right = (predicted == truth) & mask
        frame = pd.DataFrame(
            {
                "id": data.ids[idx],
                "y_true": [_labels(t[m], data.classes) for t, m in zip(truth, mask, strict=True)],
                "y_pred": [_labels(p[m], data.classes) for p, m in zip(predicted, mask, strict=True)],
                "correct": (right == mask).all(axis=1),
                "step_accuracy": right.sum(axis=1) / mask.sum(axis=1),
            }
        )
        for col in data.metadata.columns:
            frame[str(col)] = data.metadata[col].to_numpy()[idx]
        frame.to_parquet(run.predictions_path(name), index=False)
    return life.finish(model, metrics, fitted, data, parts, n_params)
