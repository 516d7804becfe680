"""Object detection maths in NumPy: IoU, non-max suppression, the YOLO grid encoding, AP/mAP.

Boxes are ``(x_min, y_min, x_max, y_max)`` rows. Inside dlkit they are in image units (0 to 1
across the width and the height): IoU is unchanged by scaling x and y separately, so it reads
the same in pixels.

The grid (YOLO v2 with anchors, the course's ``S x S x B x (5 + C)`` output): each of the
``S x S`` cells holds ``B`` anchor boxes, each predicting ``(tx, ty, tw, th, to, C class
logits)``. A box belongs to the cell holding its centre and to the anchor whose shape overlaps
it most (both centred); decoding reads centre ``((col + sigmoid(tx)) / S, (row + sigmoid(ty)) /
S)``, size ``(anchor_w * exp(tw), anchor_h * exp(th))``, score ``sigmoid(to) * softmax(logits)``.

AP follows the COCO evaluation (pycocotools, checked against it in tests): detections sorted by
score, each matched to the unmatched ground-truth box of its class and image with the highest
IoU at or above the threshold, precision made monotone, then read at the 101 recall points
0, 0.01, ..., 1; mAP is the mean over the classes with ground truth, mAP@[.5:.95] also the mean
over the IoU thresholds 0.5, 0.55, ..., 0.95.

Pure: no TensorFlow, no file access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

IOU_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Areas `(n,)` of boxes `(n, 4)` (0 for an empty box)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` `(n, 4)` with every box in ``b`` `(m, 4)`: `(n, m)`."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy non-max suppression: indices of the boxes kept, highest score first.

    A box is dropped when its IoU with a kept, higher-scoring box is above ``threshold``.
    """
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    keep: list[int] = []
    while order.size:
        best, order = int(order[0]), order[1:]
        keep.append(best)
        order = order[iou(boxes[best], boxes[order])[0] <= threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, threshold: float) -> np.ndarray:
    """Per-class non-max suppression: boxes of different classes never suppress each other."""
    classes = np.asarray(classes)
    kept = [
        np.flatnonzero(classes == c)[nms(boxes[classes == c], scores[classes == c], threshold)]
        for c in np.unique(classes)
    ]
    if not kept:
        return np.zeros(0, dtype=np.int64)
    keep = np.concatenate(kept)
    return keep[np.argsort(-np.asarray(scores)[keep], kind="stable")]


def _centred(wh: np.ndarray) -> np.ndarray:
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2)
    return np.concatenate([-wh / 2, wh / 2], axis=1)


def shape_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU of box shapes `(n, 2)` (width, height) with anchor shapes `(k, 2)`, both centred: `(n, k)`."""
    return iou(_centred(wh), _centred(anchors))


def kmeans_anchors(wh: np.ndarray, k: int, seed: int = 0, iterations: int = 100) -> np.ndarray:
    """``k`` anchor shapes `(k, 2)` from box shapes `(n, 2)` by k-means with distance 1 - IoU
    (YOLO v2), the centres being the median shape of their cluster; sorted by area.

    Raises:
        ValueError: fewer distinct shapes than ``k``.
    """
    wh = np.asarray(wh, dtype=np.float64).reshape(-1, 2)
    distinct = np.unique(wh, axis=0)
    if len(distinct) < k:
        raise ValueError(f"{k} anchors need at least {k} distinct box shapes (got {len(distinct)})")
    rng = np.random.default_rng(seed)
    centres = distinct[rng.choice(len(distinct), k, replace=False)]
    for _ in range(iterations):
        nearest = np.argmax(shape_iou(wh, centres), axis=1)
        moved = np.array(
            [np.median(wh[nearest == j], axis=0) if (nearest == j).any() else centres[j] for j in range(k)]
        )
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres[np.argsort(centres[:, 0] * centres[:, 1], kind="stable")]


def encode(boxes: np.ndarray, classes: np.ndarray, anchors: np.ndarray, grid: int) -> np.ndarray:
    """The YOLO target of one image: `(grid, grid, B, 6)` of ``(x, y, tw, th, object, class)``.

    ``x, y``: the centre's offset inside its cell (0 to 1); ``tw, th``: log of the box's size
    over its anchor's; ``object``: 1 where a box is assigned; ``class``: its class index. A
    second box on the same cell and anchor replaces the first (as in YOLO).

    Args:
        boxes: `(n, 4)` in image units.
        classes: `(n,)` class indices.
        anchors: `(B, 2)` anchor widths and heights in image units.
        grid: S, the cells per side.
    """
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    target = np.zeros((grid, grid, len(anchors), 6), dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        return target
    wh = np.maximum(boxes[:, 2:] - boxes[:, :2], 1e-6)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    cells = np.clip(np.floor(centre * grid).astype(int), 0, grid - 1)
    best = np.argmax(shape_iou(wh, anchors), axis=1)
    for i in range(len(boxes)):
        col, row, a = cells[i, 0], cells[i, 1], best[i]
        offset = centre[i] * grid - cells[i]
        size = np.log(wh[i] / anchors[a])
        target[row, col, a] = (offset[0], offset[1], size[0], size[1], 1.0, classes[i])
    return target


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Detections:
    """One image's detections: boxes `(n, 4)` in image units, scores `(n,)`, classes `(n,)`."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


def decode(
    output: np.ndarray,
    anchors: np.ndarray,
    score_threshold: float = 0.25,
    nms_threshold: float = 0.45,
    max_detections: int = 100,
) -> Detections:
    """Boxes from one image's raw grid output `(S, S, B, 5 + C)`: scored, thresholded and
    thinned by per-class non-max suppression, highest score first."""
    output = np.asarray(output, dtype=np.float64)
    grid = output.shape[0]
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    rows, cols = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
    cx = (cols[..., None] + _sigmoid(output[..., 0])) / grid
    cy = (rows[..., None] + _sigmoid(output[..., 1])) / grid
    w = anchors[:, 0] * np.exp(np.clip(output[..., 2], -10, 10))
    h = anchors[:, 1] * np.exp(np.clip(output[..., 3], -10, 10))
    logits = output[..., 5:]
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    classes = probs.argmax(axis=-1)
    scores = _sigmoid(output[..., 4]) * probs.max(axis=-1)
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1).reshape(-1, 4)
    scores, classes = scores.reshape(-1), classes.reshape(-1)
    keep = scores >= score_threshold
    boxes, scores, classes = np.clip(boxes[keep], 0.0, 1.0), scores[keep], classes[keep]
    kept = batched_nms(boxes, scores, classes, nms_threshold)[:max_detections]
    return Detections(boxes[kept], scores[kept], classes[kept].astype(np.int64))


def encoded_boxes(target: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boxes `(n, 4)` and classes `(n,)` a target of :func:`encode` holds (its inverse)."""
    grid = target.shape[0]
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    rows, cols, a = np.nonzero(target[..., 4] > 0.5)
    cell = target[rows, cols, a].astype(np.float64)
    cx, cy = (cols + cell[:, 0]) / grid, (rows + cell[:, 1]) / grid
    w, h = anchors[a, 0] * np.exp(cell[:, 2]), anchors[a, 1] * np.exp(cell[:, 3])
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1), cell[:, 5].astype(np.int64)


# -- matching and average precision ----------------------------------------------------------


def match(
    pred_boxes: np.ndarray,
    pred_classes: np.ndarray,
    true_boxes: np.ndarray,
    true_classes: np.ndarray,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Match one image's detections (sorted by score, highest first) to its ground truth.

    Returns:
        ``(matched_truth, best_iou)``: for each detection the index of the ground-truth box it
        matched (-1: a false detection), and its best IoU with any box of its class.
    """
    overlaps = iou(pred_boxes, true_boxes)
    same = np.asarray(pred_classes)[:, None] == np.asarray(true_classes)[None, :]
    overlaps = np.where(same, overlaps, 0.0)
    used = np.zeros(len(true_boxes), dtype=bool)
    matched = np.full(len(pred_boxes), -1, dtype=np.int64)
    for d in range(len(pred_boxes)):
        candidates = np.where(used | (overlaps[d] < threshold), -1.0, overlaps[d])
        if candidates.size and candidates.max() >= 0:
            g = int(np.argmax(candidates))
            matched[d], used[g] = g, True
    best = overlaps.max(axis=1) if overlaps.size else np.zeros(len(pred_boxes))
    return matched, best


@dataclass
class ImageBoxes:
    """One image's boxes (image units) and classes; ``scores`` for detections, None for truth."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray | None = None


def average_precision(tp: np.ndarray, scores: np.ndarray, n_true: int) -> float:
    """COCO's 101-point interpolated AP of one class's detections (``tp`` booleans, in any order)."""
    if n_true == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    hits = np.asarray(tp, dtype=np.float64)[order]
    tps, fps = np.cumsum(hits), np.cumsum(1 - hits)
    recall = tps / n_true
    precision = tps / np.maximum(tps + fps, np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    return float(np.mean([precision[i] if i < len(precision) else 0.0 for i in at]))


@dataclass
class DetectionScores:
    """A set's detection metrics; per-class APs at 0.5 in ``ap50``."""

    map50: float
    map: float
    precision50: float
    recall50: float
    mean_iou: float
    ap50: dict[int, float]

    def as_dict(self) -> dict[str, float]:
        return {
            "map50": self.map50,
            "map": self.map,
            "precision50": self.precision50,
            "recall50": self.recall50,
            "mean_iou": self.mean_iou,
        }


def detection_scores(predicted: list[ImageBoxes], truth: list[ImageBoxes], n_classes: int) -> DetectionScores:
    """mAP@0.5, mAP@[.5:.95], precision and recall at IoU 0.5 and the mean IoU of the matched
    detections, over a set of images (``predicted[i]`` and ``truth[i]`` are one image).

    Precision and recall count every detection given (after the score threshold); mAP ranks
    them by score.
    """
    aps = np.full((len(IOU_THRESHOLDS), n_classes), np.nan)
    tp50 = n_pred = 0
    matched_ious: list[float] = []
    n_true_all = sum(len(t.boxes) for t in truth)
    for ti, threshold in enumerate(IOU_THRESHOLDS):
        hits: list[list[bool]] = [[] for _ in range(n_classes)]
        scores: list[list[float]] = [[] for _ in range(n_classes)]
        n_true = np.zeros(n_classes, dtype=np.int64)
        for p, t in zip(predicted, truth, strict=True):
            n_true += np.bincount(np.asarray(t.classes, dtype=np.int64), minlength=n_classes)[:n_classes]
            given = p.scores if p.scores is not None else np.ones(len(p.boxes))
            order = np.argsort(-given, kind="mergesort")
            boxes, classes, sc = p.boxes[order], p.classes[order], given[order]
            matched, _ = match(boxes, classes, t.boxes, t.classes, float(threshold))
            for c, s, m in zip(classes, sc, matched, strict=True):
                hits[int(c)].append(bool(m >= 0))
                scores[int(c)].append(float(s))
            if ti == 0:
                tp50 += int((matched >= 0).sum())
                n_pred += len(matched)
                overlaps = iou(boxes, t.boxes)
                matched_ious += [float(overlaps[d, g]) for d, g in enumerate(matched) if g >= 0]
        for c in range(n_classes):
            aps[ti, c] = average_precision(np.asarray(hits[c]), np.asarray(scores[c]), int(n_true[c]))
    present = ~np.isnan(aps[0])
    nan = float("nan")
    return DetectionScores(
        map50=float(aps[0, present].mean()) if present.any() else nan,
        map=float(aps[:, present].mean()) if present.any() else nan,
        precision50=tp50 / n_pred if n_pred else (1.0 if n_true_all == 0 else 0.0),
        recall50=tp50 / n_true_all if n_true_all else nan,
        mean_iou=float(np.mean(matched_ious)) if matched_ious else 0.0,
        ap50={c: float(aps[0, c]) for c in range(n_classes) if present[c]},
    )


# -- error analysis of a predictions file --------------------------------------------------------

# a box's size as the square root of its share of the image (COCO's small / medium / large, relative)
SIZE_BUCKETS = (
    (0.0, 0.2, "small (< 20% of the side)"),
    (0.2, 0.4, "medium (20-40%)"),
    (0.4, 1.01, "large (> 40%)"),
)
# a false detection's best IoU with a true box of its class
IOU_BUCKETS = (
    (0.0, 0.1, "background (IoU < 0.1)"),
    (0.1, 0.3, "poor box (0.1-0.3)"),
    (0.3, 0.5, "near miss (0.3-0.5)"),
    (0.5, 1.01, "duplicate (>= 0.5)"),
)


@dataclass
class ErrorRow:
    """Misses and false detections of one group of boxes."""

    group: str
    n_true: int
    misses: int
    n_pred: int
    false_detections: int

    @property
    def miss_rate(self) -> float:
        return self.misses / self.n_true if self.n_true else float("nan")

    @property
    def false_rate(self) -> float:
        return self.false_detections / self.n_pred if self.n_pred else float("nan")


@dataclass
class DetectionErrors:
    """Where a detector goes wrong on a set.

    Attributes:
        n_images, n_errors: images, and images with a miss or a false detection (at IoU 0.5).
        by_class, by_size: misses (true boxes not found) and false detections per class and per
            box size (the box's side relative to the image's).
        by_iou: false detections by their best IoU with a true box of their class: background,
            a poorly placed box, a near miss, or a duplicate of a box already found.
        worst: ids of the images with the most misses plus false detections, worst first.
    """

    n_images: int
    n_errors: int
    by_class: list[ErrorRow]
    by_size: list[ErrorRow]
    by_iou: list[tuple[str, int]]
    worst: list[str]


def _size(box: list[float], width: float, height: float) -> str:
    side = float(np.sqrt(max(box[2] - box[0], 0) / width * max(box[3] - box[1], 0) / height))
    return next(name for low, high, name in SIZE_BUCKETS if low <= side < high)


def detection_errors(frame: pd.DataFrame, classes: list[str], n_worst: int = 10) -> DetectionErrors:
    """Misses and false detections of a predictions frame (one row per image, ``y_true`` and
    ``y_pred`` JSON lists as the detection task writes them), by class, box size and IoU.

    Box sizes are relative to the image: the frame's ``width`` and ``height`` columns (pixels).
    """
    import json

    counts = {g: [0, 0, 0, 0] for g in [*classes, *(name for _, _, name in SIZE_BUCKETS)]}
    by_iou = dict.fromkeys((name for _, _, name in IOU_BUCKETS), 0)
    bad: list[tuple[int, str]] = []
    for row in frame.itertuples(index=False):
        truth, predicted = json.loads(row.y_true), json.loads(row.y_pred)
        width, height = float(row.width), float(row.height)
        for b in truth:
            for group in (b["class"], _size(b["box"], width, height)):
                counts.setdefault(group, [0, 0, 0, 0])
                counts[group][0] += 1
                counts[group][1] += int(not b["found"])
        for p in predicted:
            false = not p["hit"]
            for group in (p["class"], _size(p["box"], width, height)):
                counts.setdefault(group, [0, 0, 0, 0])
                counts[group][2] += 1
                counts[group][3] += int(false)
        wrong = int(row.misses) + int(row.false_detections)
        for p in predicted:
            if not p["hit"]:
                by_iou[next(n for lo, hi, n in IOU_BUCKETS if lo <= p["iou"] < hi)] += 1
        if wrong:
            bad.append((wrong, str(row.id)))
    rows = {g: ErrorRow(g, *c) for g, c in counts.items()}
    sizes = [name for _, _, name in SIZE_BUCKETS]
    return DetectionErrors(
        n_images=len(frame),
        n_errors=len(bad),
        by_class=[rows[g] for g in rows if g not in sizes],
        by_size=[rows[g] for g in sizes],
        by_iou=list(by_iou.items()),
        worst=[i for _, i in sorted(bad, key=lambda t: -t[0])[:n_worst]],
    )
