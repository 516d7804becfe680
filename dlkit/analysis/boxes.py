"""Boxes and points: intersection over union of boxes and the normalised error of keypoints.

Boxes are ``[x_min, y_min, x_max, y_max]`` (any unit, the same for both arguments); points are
``(x, y)`` pairs in a fixed order. Pure NumPy.
"""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes, pair by pair.

    Args:
        a: boxes `(n, 4)` (or one box `(4,)`) as ``[x_min, y_min, x_max, y_max]``.
        b: boxes of the same shape as ``a``.

    Returns:
        IoU `(n,)` (a float for one box), in [0, 1]; 0 where both boxes are empty. A box whose
        max is below its min counts as empty.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    single = a.ndim == 1
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    if a.shape != b.shape or a.shape[-1] != 4:
        raise ValueError(
            f"box_iou: expected two arrays of boxes (n, 4) of one shape, got {a.shape} and {b.shape}"
        )

    def area(box: np.ndarray) -> np.ndarray:
        return np.clip(box[:, 2] - box[:, 0], 0, None) * np.clip(box[:, 3] - box[:, 1], 0, None)

    width = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    height = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = width * height
    union = area(a) + area(b) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou[0] if single else iou


def point_errors(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Euclidean distance of each predicted point to its true point.

    Args:
        pred: points `(n, k, 2)` as ``(x, y)``, or flattened `(n, 2k)` as ``x0, y0, x1, y1, ...``.
        true: the true points, same shape.

    Returns:
        Distances `(n, k)`, in the points' unit (dlkit's landmarks: a share of the image side).
    """
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"point_errors: shapes differ: {pred.shape} and {true.shape}")
    n = len(pred)
    diff = (pred - true).reshape(n, -1, 2)
    return np.sqrt((diff**2).sum(axis=-1))


def within(errors: np.ndarray, threshold: float) -> float:
    """The share of points whose error is at most ``threshold`` (PCK); NaN without points."""
    errors = np.asarray(errors, dtype=np.float64)
    return float((errors <= threshold).mean()) if errors.size else float("nan")
