"""Per-example loss weights: ``train.class_weight`` and a table's ``data.source.sample_weight`` column.

Both end as one weight per training example (class weight × sample weight) that the training
stream carries beside ``(x, y)``: Keras weighs each example's loss by it. Dev is never weighted,
so ``val_loss`` stays the plain loss on dev. ``balanced`` is scikit-learn's
``compute_class_weight("balanced")`` on the train labels: ``n_samples / (n_classes * count)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit.errors import DataError, RecipeError
from dlkit.tasks import TASKS

if TYPE_CHECKING:
    from dlkit.data.dataset import Dataset
    from dlkit.recipe.schema import Recipe


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """``n / (n_classes * count)`` per class index `(n_classes,)` of the class indices ``y``
    (1 for a class absent from ``y``: it has no example to weigh)."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.ones(n_classes)
    weights[present] = len(y) / (int(present.sum()) * counts[present])
    return weights


def class_weights(recipe: Recipe, data: Dataset, train: np.ndarray) -> dict[str, float] | None:
    """The weight of every class (by label, as text), or None without ``train.class_weight``.

    Raises:
        RecipeError: class weights on a task without classes, or a label that is not a class.
    """
    spec = recipe.train.class_weight
    if spec is None:
        return None
    if not data.classifies:
        raise RecipeError(f"train.class_weight: applies to binary and multiclass tasks, not {data.task}")
    labels = [str(c) for c in data.classes]
    if spec == "balanced":
        weights = balanced_weights(data.y[train], len(labels))
        return {label: float(w) for label, w in zip(labels, weights, strict=True)}
    unknown = [str(k) for k in spec if str(k) not in labels]
    if unknown:
        raise RecipeError(
            f"train.class_weight: {unknown[0]!r} is not a class; the classes are {', '.join(labels)}"
        )
    given = {str(k): float(w) for k, w in spec.items()}
    return {label: given.get(label, 1.0) for label in labels}


def sample_weights(recipe: Recipe, data: Dataset) -> np.ndarray | None:
    """The ``data.source.sample_weight`` column `(n,)`, or None without one.

    Raises:
        DataError: the column holds a value that is not a finite number >= 0, or only zeros.
    """
    import pandas as pd

    column = getattr(recipe.data.source, "sample_weight", None)
    if column is None:
        return None
    where = f"{data.description}: sample_weight column '{column}'"
    values = data.metadata[column]
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers) | (numbers < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: {int(bad.sum())} value(s) are not numbers >= 0 (the first: '{values.iloc[first]}', "
            f"example id {data.ids[first]})"
        )
    if not numbers.any():
        raise DataError(f"{where}: every weight is 0; nothing would be learnt")
    return numbers


def check_weights(recipe: Recipe, data: Dataset) -> None:
    """Refuse weights the data cannot take, before anything trains (one line, the field named).

    Raises:
        RecipeError: weights on a task or a streamed source that cannot take them, or an unknown label.
        DataError: a bad sample weight.
    """
    column = getattr(recipe.data.source, "sample_weight", None)
    if recipe.train.class_weight is None and column is None:
        return
    field = "train.class_weight" if recipe.train.class_weight is not None else "data.source.sample_weight"
    if data.stream:
        raise RecipeError(
            f"{field}: weights are not applied to a streamed source; load it whole (stream: false)"
        )
    if column is not None and not TASKS.get(data.task).takes_sample_weight:
        weighted = [task.name for task in TASKS if task.takes_sample_weight]
        raise RecipeError(f"data.source.sample_weight: applies to {', '.join(weighted)}, not {data.task}")
    class_weights(recipe, data, np.arange(0))
    sample_weights(recipe, data)


def example_weights(recipe: Recipe, data: Dataset, indices: np.ndarray) -> np.ndarray | None:
    """One loss weight per example at ``indices`` (class weight × sample weight), or None: unweighted.

    The class weights are computed on the examples at ``indices`` (train).
    """
    by_class = class_weights(recipe, data, indices)
    per_example = sample_weights(recipe, data)
    if by_class is None and per_example is None:
        return None
    weights = np.ones(len(indices))
    if by_class is not None:
        table = np.array(list(by_class.values()))
        weights *= table[np.asarray(data.y[indices], dtype=np.int64)]
    if per_example is not None:
        weights *= per_example[indices]
    return weights.astype(np.float32)


def describe_weights(recipe: Recipe, data: Dataset, train: np.ndarray) -> dict[str, Any]:
    """What the run's params say about a weighted loss (empty when unweighted): how it is
    weighted, and every class's weight as applied (``train.applied_class_weight.<label>``)."""
    by_class = class_weights(recipe, data, train)
    column = getattr(recipe.data.source, "sample_weight", None)
    how = []
    if by_class is not None:
        spec = recipe.train.class_weight
        how.append(f"class_weight {spec if isinstance(spec, str) else 'given per label'}")
    if column is not None:
        how.append(f"sample_weight column {column}")
    if not how:
        return {}
    params: dict[str, Any] = {"train.weighted_loss": "; ".join(how)}
    for label, weight in (by_class or {}).items():
        params[f"train.applied_class_weight.{label}"] = round(weight, 6)
    return params
