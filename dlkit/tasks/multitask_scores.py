"""Multi-task runs (several 0/1 targets, labels that may be missing): loss, scores, label counts.

The model side is :mod:`dlkit.models.multitask` (one sigmoid per task, the masked loss). Here:
what ``dlkit train`` needs around it. A missing label (NaN) counts nowhere: not in the loss,
not in a task's accuracy or AUC, not in the label counts.

Per set, ``metrics.json`` holds n (examples), loss (the masked loss: binary cross-entropy
summed over the present labels of an example, averaged over examples), ``accuracy_<task>`` and
``auc_<task>`` (on that task's present labels; AUC left out when the set has one class only),
and their means over tasks, ``accuracy`` and ``auc``, with ``error = 1 - accuracy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dlkit.analysis.ranks import binary_auc
from dlkit.models.multitask import per_task_metrics

_EPS = 1e-7


def present(y: np.ndarray) -> np.ndarray:
    """True where a label is known, `(n, tasks)`."""
    return ~np.isnan(np.asarray(y, dtype=np.float64))


def label_counts(y: np.ndarray, tasks: list[Any]) -> dict[str, dict[str, int]]:
    """Per task: how many positive, negative and missing labels."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    out = {}
    for j, task in enumerate(tasks):
        col = y[:, j]
        known = ~np.isnan(col)
        out[str(task)] = {
            "positive": int((col[known] == 1).sum()),
            "negative": int((col[known] == 0).sum()),
            "missing": int((~known).sum()),
        }
    return out


def example_losses(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Binary cross-entropy summed over each example's present labels `(n,)` (what the model minimised)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1 - _EPS)
    known = present(y)
    safe = np.where(known, y, 0.0)
    losses = -(safe * np.log(p) + (1 - safe) * np.log(1 - p))
    return np.where(known, losses, 0.0).sum(axis=1)


def constant_loss(y: np.ndarray) -> float | None:
    """The masked loss of always predicting each task's training prior (for the flat-curve check)."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    if len(y) == 0:
        return None
    total = 0.0
    for col in y.T:
        known = col[~np.isnan(col)]
        if len(known) == 0:
            continue
        p = float(np.clip(known.mean(), _EPS, 1 - _EPS))
        total += len(known) * -(p * np.log(p) + (1 - p) * np.log(1 - p))
    return total / len(y)


def _auc(y: np.ndarray, proba: np.ndarray) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    return binary_auc(y == 1, proba)


def score_multitask(
    outputs: np.ndarray, y: np.ndarray, tasks: list[Any]
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-example predictions and the set's per-task metrics.

    Returns:
        A frame with, per task, ``y_true_<task>`` (0/1, empty where missing), ``proba_<task>``
        and ``pred_<task>`` (threshold 0.5), then ``labels`` (present labels), ``correct`` (all
        present labels right) and ``loss``; and the metrics described in the module docstring.
    """
    n = len(y)
    y = np.asarray(y, dtype=np.float64).reshape(n, -1)
    proba = np.asarray(outputs, dtype=np.float64).reshape(n, -1)
    known = present(y)
    pred = (proba >= 0.5).astype(np.int8)
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    for j, task in enumerate(tasks):
        frame[f"y_true_{task}"] = pd.array([None if np.isnan(v) else int(v) for v in y[:, j]], dtype="Int8")
        frame[f"proba_{task}"] = proba[:, j]
        frame[f"pred_{task}"] = pred[:, j]
    wrong = known & (pred != np.where(known, y, 0))
    losses = example_losses(y, proba)
    frame["labels"] = known.sum(axis=1)
    frame["correct"] = ~wrong.any(axis=1)
    frame["loss"] = losses
    metrics: dict[str, float] = {"n": n, "loss": float(losses.mean()) if n else float("nan")}
    accuracies, aucs = [], []
    per_task: dict[str, float] = {}
    for j, scored in enumerate(per_task_metrics(y, proba, [str(t) for t in tasks])):
        if scored.n == 0:
            continue
        accuracies.append(scored.accuracy)
        per_task[f"accuracy_{scored.task}"] = scored.accuracy
        auc = _auc(y[known[:, j], j], proba[known[:, j], j])
        if auc is not None:
            aucs.append(auc)
            per_task[f"auc_{scored.task}"] = auc
    accuracy = float(np.mean(accuracies)) if accuracies else float("nan")
    metrics["accuracy"] = accuracy
    metrics["error"] = 1 - accuracy
    if aucs:
        metrics["auc"] = float(np.mean(aucs))
    metrics.update(per_task)
    return frame, metrics
