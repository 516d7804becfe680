"""Multi-task learning: one sigmoid output per task, labels that may be missing.

docs/method.md §7: the loss is summed over tasks and averaged over examples, J = (1/m) Σᵢ Σⱼ
L(ŷᵢⱼ, yᵢⱼ), where the inner sum skips labels that are missing. A missing label is NaN or
``missing`` (-1 by default) in `y` of shape `(examples, tasks)`. Build the network with
``Head(n_tasks, "sigmoid")`` (``n_tasks`` sigmoid units) and compile it with
:func:`masked_binary_crossentropy`; :func:`per_task_metrics` scores each task on the labels
it has.

Recipes train multi-task models with several target columns (``data.source.target: [a, b]``,
empty cells missing); :mod:`dlkit.tasks.multitask_scores` scores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MISSING = -1.0


def masked_binary_crossentropy(missing: float = MISSING) -> Any:
    """A Keras loss: binary cross-entropy summed over the present labels of each example."""
    from dlkit.models.layers import MaskedBinaryCrossentropy

    return MaskedBinaryCrossentropy(missing=missing)


@dataclass
class TaskMetrics:
    """One task's scores on the examples that have its label."""

    task: str
    n: int
    accuracy: float
    error: float
    positives: int


def per_task_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, tasks: list[str] | None = None, missing: float = MISSING
) -> list[TaskMetrics]:
    """Accuracy and error of each task at threshold 0.5, on its present labels only.

    Args:
        y_true: `(n, tasks)` labels in {0, 1}; NaN or ``missing`` where unknown.
        y_prob: `(n, tasks)` predicted probabilities.
        tasks: task names (``task_0``, ``task_1``, ... when None).
    """
    y_true = np.asarray(y_true, dtype="float64")
    y_prob = np.asarray(y_prob, dtype="float64")
    names = tasks or [f"task_{j}" for j in range(y_true.shape[1])]
    out = []
    for j, name in enumerate(names):
        present = ~np.isnan(y_true[:, j]) & (y_true[:, j] != missing)
        n = int(present.sum())
        correct = ((y_prob[present, j] >= 0.5) == (y_true[present, j] == 1)).sum()
        accuracy = float(correct / n) if n else float("nan")
        out.append(TaskMetrics(name, n, accuracy, 1 - accuracy, int((y_true[present, j] == 1).sum())))
    return out
