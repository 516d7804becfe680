"""What binary and multiclass classification share: one class per example, scored by argmax."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.tasks import _metrics
from dlkit.tasks.base import Scored, Task, class_accuracy_metrics

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

_EPS = 1e-7


def class_codes(labels: np.ndarray | pd.Series | pd.Categorical, names: Iterable[str]) -> np.ndarray:
    """Each label's class number `(n,)` int64: its place among ``names`` (the classes as text,
    in order), matched by text as the error analysis matches them
    (:func:`~dlkit.analysis.error_analysis.label_indices`: text made once per distinct label).

    A categorical column (a streamed set's gathered labels) is matched through its categories
    alone: its codes are the labels already numbered, so no label is made a Python object.

    Raises:
        KeyError: a label that is no class.
    """
    from dlkit.analysis.error_analysis import label_indices

    names = list(names)
    values = labels.array if isinstance(labels, pd.Series) else labels
    if isinstance(values, pd.Categorical):
        found = label_indices(np.asarray(values.categories, dtype=object), names)
        # -1 (a missing label) looks up an appended -1: a missing label is no class either
        codes = np.append(found, -1)[values.codes]
    else:
        codes = label_indices(np.asarray(values), names)
    if len(codes) and codes.min() < 0:
        raise KeyError(str(values[int(np.argmin(codes))]))
    return codes


class ClassTask(Task):
    """One class label per example; predictions carry the probability of every class."""

    streams = True
    set_metrics = ("loss", "accuracy", "error", "balanced_accuracy", "macro_f1", "roc_auc")
    maximised = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc")
    # set-level metrics with no per-example form: diagnose reads their per-example mistakes
    RATE_METRICS = ("balanced_accuracy", "macro_f1", "roc_auc")

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Model outputs -> `(n, classes)` probabilities."""
        return np.asarray(outputs, dtype=np.float64)

    def baseline_loss(self, y_train: np.ndarray) -> float | None:
        """Cross-entropy (nats) of always predicting the training class frequencies."""
        if len(y_train) == 0:
            return None
        _, counts = np.unique(y_train, return_counts=True)
        p = counts / counts.sum()
        return float(-(p * np.log(p)).sum())

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        """y_true, y_pred, correct, confidence, loss and proba_<k>; n, loss, accuracy and error."""
        proba = self.probabilities(outputs)
        n = len(y)
        pred_idx = proba.argmax(axis=1)
        y_idx = np.asarray(y).astype(int)
        loss = -np.log(np.clip(proba[np.arange(n), y_idx], _EPS, 1.0))
        labels = np.asarray(data.classes, dtype=object)
        correct = pred_idx == y_idx
        frame = pd.DataFrame(
            {
                "y_true": pd.array(labels[y_idx].tolist()),
                "y_pred": pd.array(labels[pred_idx].tolist()),
                "correct": correct,
                "confidence": proba.max(axis=1),
                "loss": loss,
            }
        )
        for k in range(proba.shape[1]):
            frame[f"proba_{k}"] = proba[:, k]
        # from the class numbers at hand, not the frame's labels matched back to them
        return Scored(frame, self._metrics(correct, loss, y_idx, pred_idx, proba))

    def frame_metrics(self, frame: pd.DataFrame, classes: list[Any]) -> dict[str, float]:
        """A set's metrics from its predictions frame (``score``'s columns): n, loss, accuracy,
        error, balanced accuracy, macro F1 and ROC AUC."""
        correct, loss = frame["correct"].to_numpy(dtype=bool), frame["loss"].to_numpy()
        if len(frame) == 0:
            return self._metrics(correct, loss, None, None, None)
        names = [str(c) for c in classes]
        y_idx = class_codes(frame["y_true"], names)
        pred_idx = class_codes(frame["y_pred"], names)
        proba = frame[[f"proba_{k}" for k in range(len(classes))]].to_numpy(dtype=np.float64)
        return self._metrics(correct, loss, y_idx, pred_idx, proba)

    def _metrics(
        self,
        correct: np.ndarray,
        loss: np.ndarray,
        y_idx: np.ndarray | None,
        pred_idx: np.ndarray | None,
        proba: np.ndarray | None,
    ) -> dict[str, float]:
        metrics = class_accuracy_metrics(correct, loss)
        if y_idx is None or pred_idx is None or proba is None or len(y_idx) == 0:
            return {**metrics, **dict.fromkeys(self.RATE_METRICS, _metrics.NAN)}
        return {
            **metrics,
            "balanced_accuracy": _metrics.balanced_accuracy(y_idx, pred_idx),
            "macro_f1": _metrics.macro_f1(y_idx, pred_idx),
            "roc_auc": _metrics.roc_auc(y_idx, np.asarray(proba, dtype=np.float64)),
        }

    def error_columns(self, metric: str | None) -> list[str]:
        if metric in self.RATE_METRICS:
            return ["correct"]
        return super().error_columns(metric)

    def label_summary(self, y: np.ndarray, classes: list[Any]) -> dict[str, Any]:
        counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(classes))
        return {"classes": {str(c): int(k) for c, k in zip(classes, counts, strict=True)}}
