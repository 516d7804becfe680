"""Error analysis of image tasks scored per part: segmentation by class and by image, landmarks
by point and by image. Each reading is a short summary and a few tables. Pure pandas/numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.analysis.boxes import within

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: diagnose reads a run's mistakes without pandas
    pd = lazy_module("pandas")


@dataclass
class PartsReport:
    """A set's error read by part (class, point) and by example.

    Attributes:
        n: examples read.
        error: the set's mean per-example error (1 - image IoU; a landmark set's nme).
        summary: one sentence.
        tables: titled tables, most telling first (by part, then the worst examples).
    """

    n: int
    error: float
    summary: str
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)


def _worst(frame: pd.DataFrame, column: str, ascending: bool, top: int, keep: Sequence[str]) -> pd.DataFrame:
    order = frame.sort_values(column, ascending=ascending, kind="stable", na_position="first")
    return order[[c for c in keep if c in frame.columns]].head(top).reset_index(drop=True)


def segmentation_report(
    frame: pd.DataFrame, classes: Sequence[object], columns: Sequence[str], top: int = 10
) -> PartsReport:
    """Segmentation predictions read by class and by image.

    Args:
        frame: one row per image: ``id``, ``image_iou``, ``pixel_accuracy`` and one IoU column
            per class (NaN where the class is in neither mask).
        classes: the class names, in index order.
        columns: the IoU column of each class, in the same order.
        top: worst images listed.

    Returns:
        By class: images where the class occurs, their mean IoU, and the share of them under
        0.5 (weakest class first); the worst images (lowest image IoU).
    """
    rows = []
    for name, column in zip(classes, columns, strict=True):
        values = frame[column].to_numpy(dtype=np.float64)
        present = values[~np.isnan(values)]
        rows.append(
            {
                "class": str(name),
                "images": len(present),
                "mean_iou": float(present.mean()) if len(present) else float("nan"),
                "under_0.5": float((present < 0.5).mean()) if len(present) else float("nan"),
            }
        )
    by_class = (
        pd.DataFrame(rows).sort_values("mean_iou", kind="stable", na_position="last").reset_index(drop=True)
    )
    image_iou = frame["image_iou"].to_numpy(dtype=np.float64)
    n = len(frame)
    error = float(np.nanmean(1 - image_iou)) if n else float("nan")
    weakest = by_class.iloc[0]["class"] if len(by_class) else "-"
    summary = (
        f"{n} images, mean image IoU {np.nanmean(image_iou) if n else float('nan'):.3f} "
        f"(error = 1 − image IoU: {error:.3f}); weakest class: {weakest}"
    )
    worst = _worst(frame, "image_iou", True, top, ["id", "image_iou", "pixel_accuracy", *columns])
    return PartsReport(
        n, error, summary, [("IoU by class (weakest first)", by_class), ("Worst images", worst)]
    )


def landmarks_report(
    frame: pd.DataFrame, points: Sequence[object], columns: Sequence[str], threshold: float, top: int = 10
) -> PartsReport:
    """Landmark predictions read by point and by image.

    Args:
        frame: one row per image: ``id``, ``nme``, ``worst_point`` and one error column per point.
        points: the points' names, in order.
        columns: the error column of each point, in the same order.
        threshold: the distance a point counts as found within (pck).
        top: worst images listed.

    Returns:
        By point: mean error, share within ``threshold`` and how often it is the image's worst
        point (hardest first); the worst images (highest nme).
    """
    rows = []
    worst_point = frame["worst_point"].astype(str).to_numpy() if "worst_point" in frame else np.array([])
    for name, column in zip(points, columns, strict=True):
        errors = frame[column].to_numpy(dtype=np.float64)
        rows.append(
            {
                "point": str(name),
                "mean_error": float(errors.mean()) if len(errors) else float("nan"),
                "pck": within(errors, threshold),
                "worst_in": float((worst_point == str(name)).mean()) if len(worst_point) else float("nan"),
            }
        )
    by_point = (
        pd.DataFrame(rows).sort_values("mean_error", ascending=False, kind="stable").reset_index(drop=True)
    )
    nme = frame["nme"].to_numpy(dtype=np.float64)
    n = len(frame)
    error = float(nme.mean()) if n else float("nan")
    hardest = by_point.iloc[0]["point"] if len(by_point) else "-"
    summary = f"{n} images, nme {error:.4f} (a share of the image side); hardest point: {hardest}"
    worst = _worst(frame, "nme", False, top, ["id", "nme", "worst_point", *columns])
    return PartsReport(
        n, error, summary, [("Error by point (hardest first)", by_point), ("Worst images", worst)]
    )
