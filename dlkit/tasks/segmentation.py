"""Semantic segmentation: one class per pixel (``unet``: a softmax over the classes per pixel).

Labels are masks `(n, height, width)` of class indices (:func:`dlkit.data.vision_labels.class_masks`,
or the ``masks`` folder source); the loss is the per-pixel sparse cross-entropy. Scores
(:mod:`dlkit.analysis.masks`, pixels pooled over the set): ``iou_<class>`` and
``dice_<class>`` per class, their means ``mean_iou`` and ``mean_dice`` over the classes that
occur, ``pixel_accuracy``; ``error`` = 1 - mean_iou.

Predictions: one row per image with its mean IoU over the classes in its true or predicted
mask (``image_iou``), its pixel accuracy and IoU per class; the predicted masks are written as
PNG files (class index = grey level) in ``<predictions stem>_masks/`` beside the table.
The reports' per-image error is 1 - image_iou.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.tasks._images import column_name
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


def masks_folder(path: Path) -> Path:
    """Where the predicted masks of the predictions table ``path`` go."""
    return path.parent / f"{path.stem}_masks"


def mask_file_name(ident: object) -> str:
    """A mask's file name from its example id (a file path keeps its name, folders joined by _)."""
    text = str(ident).replace("\\", "/").strip("/")
    stem = text.rsplit(".", 1)[0] if "." in text.rsplit("/", 1)[-1] else text
    return stem.replace("/", "_") + ".png"


class Segmentation(Task):
    name = "segmentation"
    summary = "one class per pixel (U-Net): per-pixel softmax; per-class IoU and Dice, masks written"
    labels = "structured"
    default_metric = "mean_iou"
    set_metrics = ("loss", "mean_iou", "mean_dice", "pixel_accuracy", "error")
    maximised = ("mean_iou", "mean_dice", "pixel_accuracy")
    error_metric = "mean_iou"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    augments = False  # the mask would have to move with the image
    truth_columns = ("image_iou", "pixel_accuracy", "loss")

    def check(self, recipe: Recipe, data: Dataset) -> None:
        from dlkit.errors import RecipeError

        if getattr(recipe.model, "type", None) not in ("unet", "python"):  # python: a user builder
            raise RecipeError(
                f"model.type: segmentation predicts a class per pixel and needs a model with an output "
                f"per pixel: unet (got {getattr(recipe.model, 'type', '?')})"
            )

    def array_labels(
        self, y: np.ndarray | None, x_shape: tuple[int, ...], classes: list[Any] | None, where: str
    ) -> tuple[np.ndarray, list[object]] | None:
        from dlkit.data.vision_labels import class_masks

        return class_masks(y, x_shape, classes, where)

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(data.n_classes, "softmax")

    def loss(self, data: Dataset) -> Any:
        return "sparse_categorical_crossentropy"

    def without_truth(self, frame: pd.DataFrame) -> pd.DataFrame:
        truth = [c for c in frame.columns if c.startswith("iou_") or c in self.truth_columns]
        return frame.drop(columns=truth)

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        """Per image: mean IoU, pixel accuracy, IoU per class, loss; the set's pooled scores."""
        from dlkit.analysis.masks import image_scores, mask_scores, row_means

        proba = np.asarray(outputs, dtype=np.float64)
        truth = np.asarray(y).astype(np.int64)
        k = data.n_classes
        pred = proba.argmax(axis=-1)
        ious, accuracy = image_scores(truth, pred, k)
        picked = np.take_along_axis(proba, truth[..., None], axis=-1)[..., 0]
        loss = -np.log(np.clip(picked, 1e-12, None)).reshape(len(truth), -1).mean(axis=1)
        columns: dict[str, Any] = {"image_iou": row_means(ious), "pixel_accuracy": accuracy, "loss": loss}
        columns |= {f"iou_{column_name(c)}": ious[:, i] for i, c in enumerate(data.classes)}
        frame = pd.DataFrame(columns)
        scores = mask_scores(truth, pred, k)
        metrics: dict[str, float] = {
            "n": len(truth),
            "loss": float(loss.mean()) if len(truth) else float("nan"),
            "mean_iou": scores.mean_iou,
            "mean_dice": scores.mean_dice,
            "pixel_accuracy": scores.pixel_accuracy,
            "error": 1 - scores.mean_iou,
        }
        for i, c in enumerate(data.classes):
            metrics[f"iou_{column_name(c)}"] = float(scores.iou[i])
            metrics[f"dice_{column_name(c)}"] = float(scores.dice[i])
        return Scored(frame, metrics, arrays={"mask": pred.astype(np.uint8)})

    def write_outputs(self, scored: Scored, path: Path, ids: np.ndarray) -> None:
        """The predicted masks as PNG files (grey level = class index) in :func:`masks_folder`."""
        from PIL import Image

        masks = scored.arrays.get("mask")
        if masks is None:
            return
        folder = masks_folder(path)
        folder.mkdir(parents=True, exist_ok=True)
        for ident, mask in zip(ids, masks, strict=True):
            Image.fromarray(np.asarray(mask, dtype=np.uint8)).save(folder / mask_file_name(ident))

    def frame_metrics(self, frame: pd.DataFrame, classes: list[Any]) -> dict[str, float]:
        """Image-level means (the pooled pixel scores need the masks): mean of image_iou."""
        image_iou = frame["image_iou"].to_numpy(dtype=np.float64)
        mean = float(np.nanmean(image_iou)) if len(frame) else float("nan")
        return {"n": len(frame), "loss": float(frame["loss"].mean()), "mean_iou": mean, "error": 1 - mean}

    def error_columns(self, metric: str | None) -> list[str]:
        if metric is None or metric in ("mean_iou", "error", "mean_dice"):
            return ["image_iou"]
        if metric == "pixel_accuracy":
            return ["pixel_accuracy"]
        if metric == "loss":
            return ["loss"]
        raise ValueError(
            f"cannot diagnose metric '{metric}' for segmentation (supported: mean_iou, error, mean_dice, "
            "pixel_accuracy, loss)"
        )

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        column = self.error_columns(metric)[0]
        values = frame[column].to_numpy(dtype=np.float64)
        return values if column == "loss" else 1 - np.nan_to_num(values, nan=1.0)
