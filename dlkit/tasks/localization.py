"""Localisation: one object per image, its class and its box.

The model ends with ``n_classes + 4`` linear outputs: class logits, then box logits whose
sigmoid is the box ``x_min, y_min, x_max, y_max`` as shares of the image's width and height.
The loss (:class:`dlkit.models.losses.ClassBoxLoss`) is the class's cross-entropy plus 5 x the
box's mean absolute error. Labels: :func:`dlkit.data.vision_labels.class_boxes`.

Scores: ``accuracy`` (the class), ``mean_iou`` (IoU of the predicted and true box,
:func:`dlkit.analysis.boxes.box_iou`), ``iou50`` (share of boxes with IoU >= 0.5) and
``hit_rate`` (right class and IoU >= 0.5: ``correct``); ``error`` = 1 - hit_rate. The
predictions hold both boxes in pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.tasks._images import image_size
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

BOX_WEIGHT = 5.0
HIT_IOU = 0.5
_SIDES = ("x_min", "y_min", "x_max", "y_max")


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class Localization(Task):
    name = "localization"
    summary = "one object per image: its class (softmax) and box (4 sigmoid outputs), IoU scores"
    labels = "structured"
    epoch_metrics = ()
    default_metric = "hit_rate"
    set_metrics = ("loss", "accuracy", "mean_iou", "iou50", "hit_rate", "error")
    maximised = ("accuracy", "mean_iou", "iou50", "hit_rate")
    error_metric = "hit_rate"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    augments = False  # a flip or shift would move the box without moving its label
    truth_columns = ("y_true", "correct", "loss", "class_correct", "iou", *(f"true_{s}" for s in _SIDES))

    def array_labels(
        self, y: np.ndarray | None, x_shape: tuple[int, ...], classes: list[Any] | None, where: str
    ) -> tuple[np.ndarray, list[object]] | None:
        from dlkit.data.vision_labels import class_boxes

        return class_boxes(y, x_shape, classes, where)

    def image_csv_labels(
        self,
        frame: pd.DataFrame,
        images: pd.Series,
        sizes: np.ndarray,
        x_shape: tuple[int, ...],
        classes: list[Any] | None,
        where: str,
    ) -> tuple[np.ndarray, list[object]] | None:
        from dlkit.data.vision_labels import csv_class_boxes

        return csv_class_boxes(frame, images, sizes, x_shape, classes, where)

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(data.n_classes + 4, "linear")

    def loss(self, data: Dataset) -> Any:
        from dlkit.models.losses import ClassBoxLoss

        return ClassBoxLoss(data.n_classes, BOX_WEIGHT)

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        """Class, confidence and both boxes in pixels per image; the set's scores."""
        from dlkit.analysis.boxes import box_iou

        k = data.n_classes
        outputs = np.asarray(outputs, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        proba = _softmax(outputs[:, :k])
        box = _sigmoid(outputs[:, k:])
        truth = y[:, 0].astype(int)
        pred = proba.argmax(axis=1)
        iou = box_iou(box, y[:, 1:]) if len(y) else np.zeros(0)
        ce = -np.log(np.clip(proba[np.arange(len(y)), truth], 1e-12, None))
        l1 = np.abs(box - y[:, 1:]).mean(axis=1) if len(y) else np.zeros(0)
        h, w = image_size(data)
        scale = np.array([w, h, w, h], dtype=np.float64)
        classes = np.asarray(data.classes, dtype=object)
        columns: dict[str, Any] = {
            "y_true": classes[truth] if len(y) else [],
            "y_pred": classes[pred] if len(y) else [],
            "confidence": proba.max(axis=1) if len(y) else [],
        }
        columns |= {f"{s}": box[:, i] * scale[i] for i, s in enumerate(_SIDES)}
        columns |= {f"true_{s}": y[:, 1 + i] * scale[i] for i, s in enumerate(_SIDES)}
        class_correct = pred == truth
        columns |= {
            "iou": iou,
            "class_correct": class_correct,
            "correct": class_correct & (iou >= HIT_IOU),
            "loss": ce + BOX_WEIGHT * l1,
        }
        columns |= {f"proba_{i}": proba[:, i] for i in range(k)}
        frame = pd.DataFrame(columns)
        return Scored(frame, self.frame_metrics(frame, data.classes))

    def frame_metrics(self, frame: pd.DataFrame, classes: list[Any]) -> dict[str, float]:
        n = len(frame)
        if n == 0:
            nan = float("nan")
            return {
                "n": 0,
                "loss": nan,
                "accuracy": nan,
                "mean_iou": nan,
                "iou50": nan,
                "hit_rate": nan,
                "error": nan,
            }
        iou = frame["iou"].to_numpy(dtype=np.float64)
        hit = float(frame["correct"].to_numpy(dtype=bool).mean())
        return {
            "n": n,
            "loss": float(frame["loss"].mean()),
            "accuracy": float(frame["class_correct"].to_numpy(dtype=bool).mean()),
            "mean_iou": float(iou.mean()),
            "iou50": float((iou >= HIT_IOU).mean()),
            "hit_rate": hit,
            "error": 1 - hit,
        }

    def error_columns(self, metric: str | None) -> list[str]:
        if metric is None or metric in ("hit_rate", "error"):
            return ["correct"]
        if metric == "accuracy":
            return ["class_correct"]
        if metric in ("mean_iou", "iou50"):
            return ["iou"]
        raise ValueError(
            f"cannot diagnose metric '{metric}' for localization (supported: hit_rate, error, accuracy, "
            "mean_iou, iou50)"
        )

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        column = self.error_columns(metric)[0]
        if column == "iou":
            iou = frame["iou"].to_numpy(dtype=np.float64)
            return (1 - iou) if metric == "mean_iou" else iou < HIT_IOU
        return ~frame[column].to_numpy(dtype=bool)
