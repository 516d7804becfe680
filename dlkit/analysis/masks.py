"""Semantic segmentation scores: per-class IoU and Dice of class masks, per set and per image.

A mask holds one class index per pixel. Over a set, the pixels of every image are pooled into
one confusion matrix (true class x predicted class); a class's IoU is ``TP / (TP + FP + FN)``
and its Dice ``2 TP / (2 TP + FP + FN)``. A class absent from both truth and prediction has no
score (NaN) and is left out of the means. Pure NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def confusion(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Pixel counts `(n_classes, n_classes)`: row = true class, column = predicted class."""
    t = np.asarray(true).astype(np.int64).ravel()
    p = np.asarray(pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"confusion: masks differ in size: {np.shape(true)} and {np.shape(pred)}")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


@dataclass(frozen=True)
class MaskScores:
    """IoU and Dice per class, and their means over the classes that occur.

    Attributes:
        iou: per class `(n_classes,)`, NaN for a class neither true nor predicted anywhere.
        dice: per class, NaN likewise.
        pixel_accuracy: share of pixels whose class is right.
    """

    iou: np.ndarray
    dice: np.ndarray
    pixel_accuracy: float

    @property
    def mean_iou(self) -> float:
        return _nanmean(self.iou)

    @property
    def mean_dice(self) -> float:
        return _nanmean(self.dice)


def _nanmean(values: np.ndarray) -> float:
    present = values[~np.isnan(values)]
    return float(present.mean()) if present.size else float("nan")


def scores_from_confusion(matrix: np.ndarray) -> MaskScores:
    """Per-class IoU and Dice and pixel accuracy from a confusion matrix."""
    matrix = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(matrix)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    union = tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        dice = np.where(union > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    total = matrix.sum()
    return MaskScores(iou, dice, float(tp.sum() / total) if total else float("nan"))


def mask_scores(true: np.ndarray, pred: np.ndarray, n_classes: int) -> MaskScores:
    """IoU and Dice per class of predicted masks against true ones, pixels pooled over the set.

    Args:
        true: class indices, one mask `(height, width)` or a set `(n, height, width)`.
        pred: predicted class indices, same shape.
        n_classes: the number of classes (indices 0 to n_classes - 1).
    """
    return scores_from_confusion(confusion(true, pred, n_classes))


def image_scores(true: np.ndarray, pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Each image's IoU per class `(n, n_classes)` (NaN where a class is in neither mask) and
    its pixel accuracy `(n,)`."""
    true = np.asarray(true).astype(np.int64)
    pred = np.asarray(pred).astype(np.int64)
    n = len(true)
    flat_t, flat_p = true.reshape(n, -1), pred.reshape(n, -1)
    ious = np.full((n, n_classes), np.nan)
    for k in range(n_classes):
        t, p = flat_t == k, flat_p == k
        inter = (t & p).sum(axis=1)
        union = (t | p).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ious[:, k] = np.where(union > 0, inter / union, np.nan)
    accuracy = (flat_t == flat_p).mean(axis=1) if flat_t.shape[1] else np.full(n, np.nan)
    return ious, accuracy


def row_means(values: np.ndarray) -> np.ndarray:
    """The mean of each row over its non-NaN entries (NaN for a row with none)."""
    values = np.asarray(values, dtype=np.float64)
    counts = (~np.isnan(values)).sum(axis=1)
    sums = np.nansum(values, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
