"""Multi-task: several 0/1 targets per example, labels that may be missing (NaN).

One sigmoid per task and the masked binary cross-entropy (:mod:`dlkit.models.multitask`);
scored per task (:mod:`dlkit.tasks.multitask_scores`). The reports read every task as a
binary classification of its own: a ``correct_<task>`` column per task (empty where the label
is missing), and ``correct`` over all present labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


class Multitask(Task):
    name = "multitask"
    keeps_classes = False
    summary = "several 0/1 targets, labels may be missing: one sigmoid per task, masked loss"
    labels = "structured"
    multiple_targets = True
    errors_per = "task"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    truth_columns = ("labels", "correct", "loss")

    def without_truth(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = super().without_truth(frame)
        return frame.drop(columns=[c for c in frame.columns if str(c).startswith("y_true_")])

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        # one independent sigmoid per task (docs/method.md §7)
        return Head(data.n_classes, "sigmoid")

    def loss(self, data: Dataset) -> Any:
        from dlkit.models.layers import masked_binary_crossentropy

        return masked_binary_crossentropy

    def compile_metrics(self, data: Dataset) -> list[Any]:
        from dlkit.models.layers import MaskedBinaryAccuracy

        return [MaskedBinaryAccuracy()]

    def baseline_loss(self, y_train: np.ndarray) -> float | None:
        from dlkit.tasks.multitask_scores import constant_loss

        return constant_loss(y_train)

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        from dlkit.tasks.multitask_scores import score_multitask

        frame, metrics = score_multitask(outputs, y, data.classes)
        return Scored(frame, metrics)

    def label_summary(self, y: np.ndarray, classes: list[Any]) -> dict[str, Any]:
        from dlkit.tasks.multitask_scores import label_counts

        return {"tasks": label_counts(y, classes)}

    def subtasks(self, frame: pd.DataFrame) -> list[str]:
        """The task names of a predictions frame (from its ``y_true_<task>`` columns)."""
        return [str(c)[len("y_true_") :] for c in frame.columns if str(c).startswith("y_true_")]

    def subtask_frame(self, frame: pd.DataFrame, task: str) -> pd.DataFrame:
        """One task's predictions as a binary classification's: rows with a label only."""
        truth = frame[f"y_true_{task}"]
        known = truth.notna().to_numpy()
        out = frame.loc[known].copy()
        y = truth[known].to_numpy(dtype=np.int64)
        p = np.clip(out[f"proba_{task}"].to_numpy(dtype=np.float64), 1e-7, 1 - 1e-7)
        pred = out[f"pred_{task}"].to_numpy(dtype=np.int64)
        out["y_true"] = y
        out["y_pred"] = pred
        out["correct"] = pred == y
        out["confidence"] = np.where(pred == 1, p, 1 - p)
        out["loss"] = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        out["proba_0"], out["proba_1"] = 1 - p, p
        return out
