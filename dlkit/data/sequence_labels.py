"""Per-step labels (task ``sequence_labeling``): encoding and the masked scores.

An ``npz``/``sequence`` source whose label array is `(n, timesteps)` gives one label per step of
each sequence `(n, timesteps, features)`. Steps whose label is the source's ``padding_label``
(-1 by default) carry no label: they are encoded as -1 and left out of the loss and the metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit.data._common import data_row, plain
from dlkit.data.dataset import task_rules
from dlkit.errors import DataError, RecipeError

if TYPE_CHECKING:
    from dlkit.data.arrays import NpzSource
    from dlkit.data.dataset import Task

PAD = -1  # the encoded padding label


def encode_step_labels(
    y: np.ndarray, x_shape: tuple[int, ...], task: Task | None, spec: NpzSource, path: Path
) -> tuple[np.ndarray, Task, list[object]]:
    """Encode labels `(n, timesteps)` as class indices, -1 where the step is padding.

    Classes are the sorted union of the non-padding labels (or ``spec.classes`` in that order).

    Raises:
        RecipeError: the recipe names a task that reads no per-step labels (``Task.step_labels``).
        DataError: shape not `(n, timesteps)` matching x, an unknown label, fewer than 2 classes,
            or a sequence with no labelled step.
    """
    where = f"{path}: array '{spec.y}'"
    if task is not None and not task_rules(task).step_labels:
        raise RecipeError(f"{path}: data.task: per-step labels {y.shape} are {spec.step_task} (got {task})")
    if len(x_shape) != 3 or y.shape != x_shape[:2]:
        raise DataError(
            f"{where} has shape {y.shape}; {task or spec.step_task} expects one label per step, "
            f"(n, timesteps) = {tuple(x_shape[:2])} like '{spec.x}' {tuple(x_shape)}"
        )
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype.kind in "UbS"):
        raise DataError(f"{where}: per-step labels must be integers or strings (dtype {y.dtype})")
    values = y.astype(str)
    labelled = values != str(spec.padding_label)
    empty = ~labelled.any(axis=1)
    if empty.any():
        raise DataError(
            f"{where}: {int(empty.sum())} sequence(s) have only padding labels "
            f"({spec.padding_label!r}), first at {data_row(int(np.flatnonzero(empty)[0]))}"
        )
    uniques = sorted({plain(v) for v in np.unique(y[labelled])}, key=lambda v: (str(type(v)), v))  # type: ignore[arg-type]
    if spec.classes is not None:
        known = [str(c) for c in spec.classes]
        unseen = [u for u in uniques if str(u) not in known]
        if unseen:
            row = int(np.flatnonzero((values == str(unseen[0])).any(axis=1))[0])
            raise DataError(
                f"{where}: label {unseen[0]!r} at {data_row(row)} is not one of the classes "
                f"{list(spec.classes)!r}",
                hint=f"add it to data.source.classes, or give the step the padding label "
                f"{spec.padding_label!r}",
            )
        classes: list[Any] = list(spec.classes)
    else:
        classes = uniques
    if len(classes) < 2:
        raise DataError(f"{where}: classification needs at least 2 classes (got {classes!r})")
    order = {str(c): i for i, c in enumerate(classes)}
    encoded = np.full(y.shape, PAD, dtype=np.int64)
    encoded[labelled] = [order[v] for v in values[labelled]]
    return encoded, task or spec.step_task, classes


def step_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Masked scores of per-step class indices `(n, timesteps)`; steps where truth is -1 are skipped.

    - ``step_accuracy``: right steps over labelled steps (all sequences pooled);
    - ``exact_match``: share of sequences with every labelled step right;
    - ``accuracy`` = ``step_accuracy`` and ``error`` = 1 - ``step_accuracy``.
    """
    mask = truth != PAD
    right = (predicted == truth) & mask
    steps = int(mask.sum())
    step_acc = float(right.sum() / steps) if steps else 0.0
    exact = float(np.mean((right == mask).all(axis=1))) if len(truth) else 0.0
    return {
        "step_accuracy": step_acc,
        "exact_match": exact,
        "accuracy": step_acc,
        "error": 1.0 - step_acc,
        "n": float(len(truth)),
        "n_steps": float(steps),
    }
