"""Trigger-word detection: one 0/1 label per output step of a clip, 1 just after a trigger ends.

The source (:mod:`dlkit.data.audio`) gives spectrograms `(n, frames, bins)` and labels
`(n, steps)`: 1 for ``window`` steps after each trigger end, at the model's output resolution.
The model gives one sigmoid per step (``conv_gru``, or an ``rnn`` with ``output: sequence``);
the loss is binary cross-entropy per step. A *detection* is a run of steps with a probability of
at least 0.5; a planted trigger is found when a detection overlaps its positive steps
(:mod:`dlkit.analysis.triggers`).

Scores per set: ``precision``, ``recall`` and ``f1`` on the positive steps (pooled over the
set; ``error`` = 1 - f1), ``accuracy`` over every step beside them (an always-0 detector scores
over 90% there, and F1 0: metrics.json's ``baseline_*``), the ``missed`` triggers and
``false_detections`` of the set, and its ``detections_per_clip``.
Predictions: id, y_true and y_pred (the times, in seconds, at which each planted trigger's
labels and each detection start), triggers, detections, missed, false_detections, correct (no
miss and no false detection), f1 and step_accuracy of the clip, length (= triggers), loss.
The reports read 1 - the clip's F1 (``metrics.optimize: f1``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.analysis import triggers as trig
from dlkit.errors import RecipeError
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")


if TYPE_CHECKING:
    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
    from dlkit.recipe.schema import Recipe

THRESHOLD = 0.5
_EPS = 1e-7
# the per-clip error of these metrics is 1 - the clip's F1; of accuracy, 1 - its step accuracy
_F1_METRICS = ("f1", "error", "precision", "recall")


def _steps(values: np.ndarray) -> np.ndarray:
    """`(n, steps)` from `(n, steps)` or `(n, steps, 1)`."""
    values = np.asarray(values)
    return values.reshape(values.shape[0], int(np.prod(values.shape[1:], dtype=np.int64)))


class TriggerWord(Task):
    name = "trigger_word"
    summary = "per-step trigger detection in audio: sigmoid per step, precision/recall/F1 on positive steps"
    labels = "structured"
    epoch_metrics = ()
    default_metric = "f1"
    set_metrics = ("loss", "accuracy", "error", "precision", "recall", "f1")
    maximised = ("accuracy", "precision", "recall", "f1")
    error_metric = "f1"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    augments = False
    truth_columns = (
        "y_true",
        "triggers",
        "missed",
        "false_detections",
        "correct",
        "f1",
        "step_accuracy",
        "length",
        "loss",
    )

    def check(self, recipe: Recipe, data: Dataset) -> None:
        model = recipe.model
        kind = getattr(model, "type", "?")
        if kind == "conv_gru":
            stride = int(model.strides)
        elif getattr(model, "output", None) == "sequence":
            stride = 1
        else:
            raise RecipeError(
                f"model.type: task trigger_word needs one prediction per time step: conv_gru, or rnn "
                f"with output: sequence (got {kind})"
            )
        labelled_stride = int(data.options.get("stride", 1))
        if stride != labelled_stride:
            field = "model.strides" if kind == "conv_gru" else "model.type"
            raise RecipeError(
                f"{field}: the model gives one step per {stride} spectrogram frame(s), but the labels "
                f"are one per {labelled_stride} (data.source.stride); set them equal"
            )
        if recipe.train.augment is not None:
            raise RecipeError("train.augment: not supported with per-step trigger labels (task trigger_word)")

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(1, "sigmoid")

    def loss(self, data: Dataset) -> Any:
        return "binary_crossentropy"

    def fit_arrays(self, data: Dataset, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        # (n, steps, 1): the same shape as the model's one sigmoid per step
        return data.x[indices], data.y[indices].astype("float32")[..., np.newaxis]

    def baseline_loss(self, y_train: np.ndarray) -> float | None:
        """Cross-entropy of always predicting the share of positive steps in train."""
        if len(y_train) == 0:
            return None
        p = float(np.clip(np.mean(y_train), _EPS, 1 - _EPS))
        return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))

    def baseline_metrics(self, y_train: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """An always-0 detector: high step accuracy, no detection, F1 0."""
        truth = _steps(y) > 0.5
        scores = trig.step_scores(truth, np.zeros_like(truth))
        return {f"baseline_{k}": scores[k] for k in ("accuracy", "f1")}

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        probs = _steps(outputs).astype(np.float64)
        truth = _steps(y) > 0.5
        predicted = probs >= THRESHOLD
        step = float(data.options.get("step_seconds", 1.0))
        events = [trig.clip_events(t, p) for t, p in zip(truth, predicted, strict=True)]
        clipped = np.clip(probs, _EPS, 1 - _EPS)
        loss = -(truth * np.log(clipped) + (~truth) * np.log(1 - clipped)).mean(axis=1)

        def times(row: np.ndarray) -> list[float]:
            return [round(start * step, 4) for start, _ in trig.runs(row)]

        missed = np.asarray([e.missed for e in events], dtype=np.int64)
        false = np.asarray([e.false_detections for e in events], dtype=np.int64)
        triggers = np.asarray([e.triggers for e in events], dtype=np.int64)
        detections = np.asarray([e.detections for e in events], dtype=np.int64)
        frame = pd.DataFrame(
            {
                "y_true": [times(t) for t in truth],
                "y_pred": [times(p) for p in predicted],
                "triggers": triggers,
                "detections": detections,
                "missed": missed,
                "false_detections": false,
                "correct": (missed == 0) & (false == 0),
                "f1": [trig.clip_f1(t, p) for t, p in zip(truth, predicted, strict=True)],
                "step_accuracy": (truth == predicted).mean(axis=1) if truth.size else np.zeros(len(truth)),
                "length": triggers,
                "loss": loss,
            }
        )
        scores = trig.step_scores(truth, predicted)
        n = len(truth)
        metrics = {
            "n": float(n),
            "loss": float(loss.mean()) if n else float("nan"),
            "accuracy": scores["accuracy"],
            "precision": scores["precision"],
            "recall": scores["recall"],
            "f1": scores["f1"],
            "error": 1.0 - scores["f1"],
            "missed": float(missed.sum()),
            "false_detections": float(false.sum()),
            "detections_per_clip": float(detections.mean()) if n else float("nan"),
        }
        return Scored(frame, metrics)

    def error_columns(self, metric: str | None) -> list[str]:
        if metric is None or metric in _F1_METRICS:
            return ["f1"]
        if metric == "accuracy":
            return ["step_accuracy"]
        raise ValueError(
            f"cannot diagnose metric '{metric}' for trigger_word (supported: f1, precision, recall, "
            "error, accuracy)"
        )

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        (column,) = self.error_columns(metric)
        return 1.0 - frame[column].to_numpy(dtype=np.float64)

    def error_name(self, metric: str | None) -> str | None:
        if self.error_columns(metric) == ["f1"]:
            return (
                "1 − F1 of the clip's positive steps, per clip (0 for a clip with no trigger and no "
                "detection)"
            )
        return "1 − step accuracy of the clip, per clip"

    def label_summary(self, y: np.ndarray, classes: list[Any]) -> dict[str, Any]:
        truth = _steps(y) > 0.5
        return {
            "triggers": sum(len(trig.runs(row)) for row in truth),
            "positive_steps": round(float(truth.mean()), 4) if truth.size else 0.0,
        }
