"""Trigger-word detection read per output step and per clip: labels, detections and their scores.

A clip's labels are one 0/1 value per output step of the model (the spectrogram's frames after
the model's time downsampling): 1 for ``window`` steps right after each trigger *ends*, 0
elsewhere, as the course labels its "activate" clips (:func:`trigger_labels`). A *detection* is
a run of consecutive steps whose probability is over the threshold (:func:`runs`); a planted
trigger is found when a detection overlaps its run of positive labels (:func:`clip_events`).

Accuracy over steps misleads here: with a few positive steps per clip, a detector that never
fires is right on over 90% of them. The set's scores are precision, recall and F1 on the
positive steps (:func:`step_scores`), with accuracy beside them. Pure NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dlkit._lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")


# a trigger end that is a whole number of steps must not fall one step short by rounding
_EPS = 1e-9


def trigger_labels(ends: Sequence[float], n_steps: int, step_seconds: float, window: int) -> np.ndarray:
    """One clip's labels `(n_steps,)`: 1 for the ``window`` steps after each trigger end.

    The step holding the end is ``floor(end / step_seconds)``; its label stays 0 and the
    ``window`` steps after it are 1, cut at the clip's end (the course's ``insert_ones``).

    Args:
        ends: the triggers' end times, in seconds from the clip's start.
        n_steps: output steps of the clip.
        step_seconds: the duration of one output step.
        window: positive steps after each end.

    Returns:
        `(n_steps,)` float32 array of 0 and 1.
    """
    labels = np.zeros(n_steps, dtype=np.float32)
    for end in ends:
        first = int(np.floor(float(end) / step_seconds + _EPS)) + 1
        labels[max(first, 0) : min(first + window, n_steps)] = 1.0
    return labels


def runs(active: np.ndarray) -> list[tuple[int, int]]:
    """The runs of consecutive true steps of `(n_steps,)` booleans, as ``(start, stop)`` (stop excluded)."""
    padded = np.concatenate([[False], np.asarray(active, dtype=bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@dataclass(frozen=True)
class ClipEvents:
    """One clip's planted triggers against its detections.

    Attributes:
        triggers: runs of positive labels (one per planted trigger).
        detections: runs of steps over the threshold.
        missed: triggers no detection overlaps.
        false_detections: detections that overlap no trigger.
    """

    triggers: int
    detections: int
    missed: int
    false_detections: int


def _overlaps(a: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(a[0] < b[1] and b[0] < a[1] for b in others)


def clip_events(truth: np.ndarray, predicted: np.ndarray) -> ClipEvents:
    """Planted triggers, detections, misses and false detections of one clip (`(n_steps,)` 0/1 each)."""
    planted, found = runs(truth), runs(predicted)
    return ClipEvents(
        triggers=len(planted),
        detections=len(found),
        missed=sum(not _overlaps(t, found) for t in planted),
        false_detections=sum(not _overlaps(d, planted) for d in found),
    )


def step_scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of the positive steps, and accuracy over all steps, pooled.

    Args:
        truth: 0/1 labels, any shape (`(n, n_steps)` for a set).
        predicted: 0/1 predictions of the same shape.

    Returns:
        ``precision`` (0 when nothing is predicted), ``recall`` (0 without positive labels),
        ``f1`` (0 when either is 0), ``accuracy`` and the counts ``tp``, ``fp``, ``fn``.
    """
    t, p = np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool)
    tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": float((t == p).mean()) if t.size else float("nan"),
        "tp": float(tp),
        "fp": float(fp),
        "fn": float(fn),
    }


def clip_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of one clip's positive steps; 1 for a clip with no trigger and no detection (nothing to miss)."""
    if not np.any(truth) and not np.any(predicted):
        return 1.0
    return step_scores(truth, predicted)["f1"]
