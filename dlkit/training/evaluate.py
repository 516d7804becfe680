"""Scoring in inference mode: per-example predictions and per-set metrics.

:func:`score` is pure NumPy (it takes the model's outputs); :func:`predict` runs the model
with ``training=False`` semantics (``model.predict``): no dropout, batch-norm running means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import keras

_EPS = 1e-7


def class_probabilities(outputs: np.ndarray, task: str) -> np.ndarray:
    """Model outputs -> `(n, classes)` probabilities (binary sigmoid -> two columns)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if task == "binary":
        p1 = outputs.reshape(-1)
        return np.stack([1 - p1, p1], axis=1)
    return outputs


def score(
    outputs: np.ndarray, y: np.ndarray, task: str, classes: list[Any]
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-example predictions and the set's metrics.

    Args:
        outputs: the model's outputs, `(n, units)`.
        y: encoded targets `(n,)`.
        task: binary, multiclass, regression or multitask.
        classes: class values in index order (classification); the task names for multitask
            (:func:`dlkit.training.multitask.score_multitask`).

    Returns:
        A frame with y_true, y_pred, correct, confidence, loss and proba_<k> (classification)
        or y_true, y_pred, loss = squared error (regression); and the metrics: n, loss,
        accuracy and error (classification) or mse, mae and error = mse (regression).
    """
    n = len(y)
    if task == "multitask":
        from dlkit.training.multitask import score_multitask

        return score_multitask(outputs, y, classes)
    if task == "regression":
        pred = np.asarray(outputs, dtype=np.float64).reshape(n, -1)[:, 0]
        sq = (pred - y) ** 2
        frame = pd.DataFrame({"y_true": y.astype(np.float64), "y_pred": pred, "loss": sq})
        mse = float(sq.mean()) if n else float("nan")
        mae = float(np.abs(pred - y).mean()) if n else float("nan")
        return frame, {"n": n, "loss": mse, "mse": mse, "mae": mae, "error": mse}
    proba = class_probabilities(outputs, task)
    pred_idx = proba.argmax(axis=1)
    y_idx = y.astype(int)
    loss = -np.log(np.clip(proba[np.arange(n), y_idx], _EPS, 1.0))
    labels = np.asarray(classes, dtype=object)
    correct = pred_idx == y_idx
    frame = pd.DataFrame(
        {
            "y_true": pd.array(labels[y_idx].tolist()),
            "y_pred": pd.array(labels[pred_idx].tolist()),
            "correct": correct,
            "confidence": proba.max(axis=1),
            "loss": loss,
        }
    )
    for k in range(proba.shape[1]):
        frame[f"proba_{k}"] = proba[:, k]
    accuracy = float(correct.mean()) if n else float("nan")
    return frame, {
        "n": n,
        "loss": float(loss.mean()) if n else float("nan"),
        "accuracy": accuracy,
        "error": 1 - accuracy,
    }


def predict(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Model outputs in inference mode."""
    return np.asarray(model.predict(x, batch_size=max(batch_size, 256), verbose=0))
