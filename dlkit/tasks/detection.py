"""Object detection, YOLO-style (a ``boxes`` or ``canvas`` source).

The model is any image backbone of the registry with a grid head (:class:`~dlkit.models.layers.GridOutput`):
an ``S x S`` grid, B anchor boxes per cell (given, or found by k-means with IoU distance on the
training boxes), each predicting objectness, box offsets and C class logits, `(S, S, B, 5 + C)`.
It is fitted on the YOLO targets (:func:`dlkit.analysis.detection.encode`) with the YOLO loss
(:class:`~dlkit.models.layers.YoloLoss`), and every set is decoded with the source's score
threshold and per-class non-max suppression (:func:`dlkit.analysis.detection.decode`).

Metrics per set: ``map50`` (mAP at IoU 0.5), ``map`` (mAP@[.5:.95], COCO's), ``precision50``
and ``recall50`` (of the detections kept, at IoU 0.5), ``mean_iou`` (of the matched detections),
``accuracy`` (share of images whose boxes are all found, with no false detection, at IoU 0.5)
and ``error`` = 1 - accuracy: the per-image error diagnose and analyze-errors read.

Predictions: one row per image. ``y_true`` and ``y_pred`` hold its boxes as JSON lists of
``{"class", "box": [x_min, y_min, x_max, y_max]}`` in pixels of the image as stored (``y_true``
with ``found``: matched by a detection at IoU 0.5; ``y_pred`` with a ``score``, highest first,
``iou``: its best IoU with a true box of its class, and ``hit``: it matched one), then
n_true, n_pred, matched, misses, false_detections, mean_iou, the image's width and height
(pixels, as stored) and correct.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from dlkit._lazy import lazy_module
from dlkit.errors import RecipeError
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import keras
    import numpy as np
    import pandas as pd

    from dlkit.analysis.detection import Detections
    from dlkit.data.boxes import DetectionDataset
    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
    from dlkit.recipe.schema import Recipe
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

MATCH_IOU = 0.5


def _boxes(data: Dataset) -> DetectionDataset:
    return cast("DetectionDataset", data)


def _anchors(data: Dataset) -> list[list[float]]:
    anchors = data.options["anchors"]
    if isinstance(anchors, int):  # found from train by Dataset.prepare, which has not run
        raise RecipeError("data.source.anchors: the anchors are found on train once the data is split")
    return [[float(w), float(h)] for w, h in anchors]


def _pixels(box: np.ndarray, size: np.ndarray) -> list[float]:
    w, h = float(size[0]), float(size[1])
    return [round(float(v), 2) for v in np.asarray(box) * np.array([w, h, w, h])]


class Detection(Task):
    name = "detection"
    summary = "boxes and classes of the objects in an image: YOLO grid head, YOLO loss, NMS, mAP"
    labels = "structured"
    epoch_metrics = ()
    default_metric = "map50"
    set_metrics = ("map50", "map", "precision50", "recall50", "mean_iou", "accuracy", "error")
    maximised = ("map50", "map", "precision50", "recall50", "mean_iou", "accuracy")
    error_metric = "accuracy"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    augments = False  # flips and shifts would move the boxes the targets hold
    truth_columns = ("y_true", "correct", "n_true", "matched", "misses", "false_detections", "mean_iou")

    def check(self, recipe: Recipe, data: Dataset) -> None:
        super().check(recipe, data)
        if recipe.train.augment is not None:
            raise RecipeError("train.augment: not supported for detection (it would move the boxes)")

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        anchors = tuple((w, h) for w, h in _anchors(data))
        grid = int(data.options["grid"])
        return Head(
            grid * grid * len(anchors) * (5 + data.n_classes), "linear", grid=(grid, anchors, data.n_classes)
        )

    def loss(self, data: Dataset) -> Any:
        from dlkit.models.layers import YoloLoss

        return YoloLoss()

    def fit_arrays(self, data: Dataset, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        """The images and their YOLO targets `(n, S, S, B, 6)`."""
        from dlkit.analysis.detection import encode

        boxes = _boxes(data)
        anchors, grid = np.asarray(_anchors(data)), int(data.options["grid"])
        targets = np.stack(
            [encode(boxes.boxes[i], boxes.box_classes[i], anchors, grid) for i in indices]
            or [np.zeros((grid, grid, len(anchors), 6), dtype=np.float32)]
        )[: len(indices)]
        return data.x[indices], targets

    def predict(self, model: keras.Model, data: Dataset, indices: np.ndarray, recipe: Recipe) -> Scored:
        """Predict, decode (score threshold, per-class NMS) and score against the true boxes."""
        from dlkit.analysis.detection import decode

        outputs = np.asarray(self.outputs(model, data.x[indices], recipe))
        # the saved model keeps its anchors: new data needs no training boxes to decode
        anchors = np.asarray(model.get_layer("output").anchors)
        found = [
            decode(o, anchors, float(data.options["score_threshold"]), float(data.options["nms_threshold"]))
            for o in outputs
        ]
        return self.score_detections(found, data, indices)

    def score_detections(self, found: list[Detections], data: Dataset, indices: np.ndarray) -> Scored:
        """Per-image columns and the set's metrics from decoded detections (pure NumPy)."""
        from dlkit.analysis.detection import ImageBoxes, detection_scores, match

        boxes = _boxes(data)
        rows: list[dict[str, Any]] = []
        truth: list[ImageBoxes] = []
        for det, i in zip(found, indices, strict=True):
            true_boxes, true_classes = boxes.boxes[i], boxes.box_classes[i]
            truth.append(ImageBoxes(true_boxes, true_classes))
            matched, best = match(det.boxes, det.classes, true_boxes, true_classes, MATCH_IOU)
            hit = matched >= 0
            found_truth = set(matched[hit].tolist())
            overlaps = [float(best[d]) for d in np.flatnonzero(hit)]
            size = boxes.sizes[i]
            rows.append(
                {
                    "y_true": json.dumps(
                        [
                            {
                                "class": str(data.classes[int(c)]),
                                "box": _pixels(b, size),
                                "found": bool(k in found_truth),
                            }
                            for k, (b, c) in enumerate(zip(true_boxes, true_classes, strict=True))
                        ]
                    ),
                    "y_pred": json.dumps(
                        [
                            {
                                "class": str(data.classes[int(c)]),
                                "score": round(float(s), 4),
                                "box": _pixels(b, size),
                                "iou": round(float(o), 4),
                                "hit": bool(h),
                            }
                            for b, c, s, o, h in zip(
                                det.boxes, det.classes, det.scores, best, hit, strict=True
                            )
                        ]
                    ),
                    "n_true": len(true_boxes),
                    "n_pred": len(det.boxes),
                    "matched": int(hit.sum()),
                    "misses": len(true_boxes) - int(hit.sum()),
                    "false_detections": int((~hit).sum()),
                    "mean_iou": float(np.mean(overlaps)) if overlaps else 0.0,
                    "width": int(size[0]),
                    "height": int(size[1]),
                }
            )
        frame = pd.DataFrame(
            rows,
            columns=[
                "y_true",
                "y_pred",
                "n_true",
                "n_pred",
                "matched",
                "misses",
                "false_detections",
                "mean_iou",
                "width",
                "height",
            ],
        )
        frame["correct"] = (frame["misses"] == 0) & (frame["false_detections"] == 0)
        predicted = [ImageBoxes(d.boxes, d.classes, d.scores) for d in found]
        scores = detection_scores(predicted, truth, data.n_classes)
        accuracy = float(frame["correct"].mean()) if len(frame) else float("nan")
        metrics = {**scores.as_dict(), "accuracy": accuracy, "error": 1.0 - accuracy, "n": float(len(frame))}
        return Scored(frame, metrics)

    def without_truth(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Unlabelled images: the truth columns dropped, and each detection without its IoU and hit."""
        out = super().without_truth(frame)
        keep = ("class", "score", "box")
        out["y_pred"] = [json.dumps([{k: d[k] for k in keep} for d in json.loads(v)]) for v in out["y_pred"]]
        return out

    def draw_predictions(self, path: Path, data: Dataset) -> Path | None:
        """The boxes of every image drawn on it: ``<predictions stem>.boxes/<id>.png``."""
        from dlkit.reporting.boxes import draw_frame

        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
        folder = path.with_name(f"{path.stem}.boxes")
        scale = max(1, 256 // max(data.input_shape[:2]))
        draw_frame(data.x, _boxes(data).sizes, frame, folder, scale)
        return folder

    def error_columns(self, metric: str | None) -> list[str]:
        if metric is None or metric in self.set_metrics:
            return ["correct"]
        return super().error_columns(metric)
