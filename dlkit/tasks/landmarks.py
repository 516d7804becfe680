"""Landmarks: k keypoints per image, in a fixed order (the classes name them).

The model ends with ``2k`` sigmoid outputs, ``x0, y0, x1, y1, ...`` as shares of the image's
width and height, fitted by mean squared error on those normalised coordinates. Labels:
:func:`dlkit.data.vision_labels.keypoints`.

Scores, with each point's error the Euclidean distance in those normalised coordinates (a share
of the image side, so the same for any image size; :func:`dlkit.analysis.boxes.point_errors`):
``nme`` (the normalised mean error over all points), ``pck`` (share of points within
:data:`PCK_THRESHOLD` = 0.05 of the image side), ``error`` = nme. The predictions hold every
point in pixels and each example's ``nme``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.tasks._images import column_name, image_size
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

PCK_THRESHOLD = 0.05


class Landmarks(Task):
    name = "landmarks"
    summary = "k keypoints in a fixed order: 2k sigmoid outputs, MSE; normalised mean point error"
    labels = "structured"
    epoch_metrics = ()
    default_metric = "nme"
    set_metrics = ("loss", "nme", "pck", "error")
    maximised = ("pck",)
    error_metric = "nme"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    augments = False  # a flip would swap the points' order
    truth_columns = ("nme", "loss", "worst_point")

    def array_labels(
        self, y: np.ndarray | None, x_shape: tuple[int, ...], classes: list[Any] | None, where: str
    ) -> tuple[np.ndarray, list[object]] | None:
        from dlkit.data.vision_labels import keypoints

        return keypoints(y, x_shape, classes, where)

    def image_csv_labels(
        self,
        frame: pd.DataFrame,
        images: pd.Series,
        sizes: np.ndarray,
        x_shape: tuple[int, ...],
        classes: list[Any] | None,
        where: str,
    ) -> tuple[np.ndarray, list[object]] | None:
        from dlkit.data.vision_labels import csv_keypoints

        return csv_keypoints(frame, images, sizes, x_shape, classes, where)

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(2 * data.n_classes, "sigmoid")

    def loss(self, data: Dataset) -> Any:
        return "mean_squared_error"

    def without_truth(self, frame: pd.DataFrame) -> pd.DataFrame:
        truth = [c for c in frame.columns if c.startswith(("true_", "error_")) or c in self.truth_columns]
        return frame.drop(columns=truth)

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        """Each point predicted and true (pixels), its error, the example's nme and MSE."""
        from dlkit.analysis.boxes import point_errors

        pred = np.asarray(outputs, dtype=np.float64).reshape(len(y), -1)
        truth = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        errors = point_errors(pred, truth)
        h, w = image_size(data)
        names = [column_name(c) for c in data.classes]
        columns: dict[str, Any] = {}
        for i, name in enumerate(names):
            columns[f"{name}_x"] = pred[:, 2 * i] * w
            columns[f"{name}_y"] = pred[:, 2 * i + 1] * h
        for i, name in enumerate(names):
            columns[f"true_{name}_x"] = truth[:, 2 * i] * w
            columns[f"true_{name}_y"] = truth[:, 2 * i + 1] * h
        for i, name in enumerate(names):
            columns[f"error_{name}"] = errors[:, i]
        columns["nme"] = errors.mean(axis=1) if errors.size else np.zeros(len(y))
        columns["worst_point"] = (
            np.asarray(data.classes, dtype=object)[errors.argmax(axis=1)] if errors.size else []
        )
        columns["loss"] = ((pred - truth) ** 2).mean(axis=1) if pred.size else np.zeros(len(y))
        frame = pd.DataFrame(columns)
        return Scored(frame, self.frame_metrics(frame, data.classes))

    def frame_metrics(self, frame: pd.DataFrame, classes: list[Any]) -> dict[str, float]:
        from dlkit.analysis.boxes import within

        errors = frame[[f"error_{column_name(c)}" for c in classes]].to_numpy(dtype=np.float64)
        n = len(frame)
        nme = float(errors.mean()) if errors.size else float("nan")
        metrics = {
            "n": n,
            "loss": float(frame["loss"].mean()) if n else float("nan"),
            "nme": nme,
            "pck": within(errors, PCK_THRESHOLD),
            "error": nme,
        }
        for c, column in zip(classes, errors.T, strict=True):
            metrics[f"nme_{column_name(c)}"] = float(column.mean()) if n else float("nan")
        return metrics

    def error_columns(self, metric: str | None) -> list[str]:
        if metric is None or metric in ("nme", "error"):
            return ["nme"]
        if metric == "loss":
            return ["loss"]
        raise ValueError(f"cannot diagnose metric '{metric}' for landmarks (supported: nme, error, loss)")

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        return frame[self.error_columns(metric)[0]].to_numpy(dtype=np.float64)
