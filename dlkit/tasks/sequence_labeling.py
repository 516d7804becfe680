"""Per-step labels (many-to-many): one label per timestep, padding steps masked out.

The source gives sequences `(n, timesteps, features)` and labels `(n, timesteps)` with -1 on
padding steps (:mod:`dlkit.data.sequence_labels`). The model gives one softmax per step
(``rnn`` with ``output: sequence``); the loss is sparse cross-entropy that skips padding.
Scores (:func:`dlkit.data.sequence_labels.step_scores`): ``step_accuracy`` over labelled steps,
``exact_match`` (every labelled step of a sequence right), ``error`` = 1 - ``step_accuracy``.

Predictions: id, y_true and y_pred (the labelled steps' labels), correct (all steps right),
step_accuracy of the sequence. The reports read ``correct``: their error is the share of
sequences with a wrong step (1 - exact_match).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.errors import RecipeError
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
    from dlkit.recipe.schema import Recipe
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


def _labels(row: np.ndarray, classes: list[object]) -> list[str]:
    return [str(classes[int(i)]) for i in row]


class SequenceLabeling(Task):
    name = "sequence_labeling"
    summary = "one label per timestep: per-step softmax, masked per-step loss"
    labels = "structured"
    epoch_metrics = ()
    step_labels = True
    set_metrics = ("loss", "accuracy", "error", "step_accuracy", "exact_match")
    maximised = ("accuracy", "step_accuracy", "exact_match")
    error_metric = "exact_match"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    augments = False
    truth_columns = ("y_true", "correct", "step_accuracy", "length")

    def check(self, recipe: Recipe, data: Dataset) -> None:
        model_type = getattr(recipe.model, "type", "?")
        if not hasattr(recipe.model, "output"):
            raise RecipeError(
                f"model.type: per-step labels (task sequence_labeling) need a model with one output "
                f"per step, e.g. rnn with output: sequence (got {model_type})"
            )
        if recipe.model.output != "sequence":
            raise RecipeError(
                f"model.output: per-step labels (task sequence_labeling) need output: sequence, "
                f"one prediction per step (got {recipe.model.output})"
            )
        if recipe.train.augment is not None:
            raise RecipeError("train.augment: not supported with per-step labels (task sequence_labeling)")

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(data.n_classes, "softmax")

    def loss(self, data: Dataset) -> Any:
        import keras

        from dlkit.data.sequence_labels import PAD

        return keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD)

    def jit_compile(self, requested: bool | str) -> bool | str:
        return False

    def fit_arrays(self, data: Dataset, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        return data.x[indices], data.y[indices].astype("int32")

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        from dlkit.data.sequence_labels import PAD, step_scores

        predicted = np.argmax(outputs, axis=-1)
        truth = np.asarray(y)
        mask = truth != PAD
        right = (predicted == truth) & mask
        frame = pd.DataFrame(
            {
                "y_true": [_labels(t[m], data.classes) for t, m in zip(truth, mask, strict=True)],
                "y_pred": [_labels(p[m], data.classes) for p, m in zip(predicted, mask, strict=True)],
                "correct": (right == mask).all(axis=1),
                "step_accuracy": right.sum(axis=1) / np.maximum(mask.sum(axis=1), 1),
                "length": mask.sum(axis=1),
            }
        )
        return Scored(frame, step_scores(predicted, truth))
