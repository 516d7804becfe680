"""Regression: one linear output, mean squared error; the reports read squared or absolute errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    from dlkit.data.dataset import Dataset
    from dlkit.models import Head


class Regression(Task):
    name = "regression"
    summary = "a real-valued target: linear output, mean squared error"
    default_metric = "mse"
    set_metrics = ("loss", "mse", "mae", "error")
    error_metric = "mse"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    streams = True

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(1, "linear")

    def loss(self, data: Dataset) -> Any:
        return "mean_squared_error"

    def compile_metrics(self, data: Dataset) -> list[Any]:
        return ["mae"]

    def baseline_loss(self, y_train: np.ndarray) -> float | None:
        """The variance of the training targets: the mean squared error of predicting their mean."""
        if len(y_train) == 0:
            return None
        return float(np.var(np.asarray(y_train, dtype=np.float64)))

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        """y_true, y_pred, loss (squared error); n, loss, mse, mae and error (= mse)."""
        n = len(y)
        pred = np.asarray(outputs, dtype=np.float64).reshape(n, -1)[:, 0]
        y = np.asarray(y, dtype=np.float64)
        sq = (pred - y) ** 2
        frame = pd.DataFrame({"y_true": y, "y_pred": pred, "loss": sq})
        mse = float(sq.mean()) if n else float("nan")
        mae = float(np.abs(pred - y).mean()) if n else float("nan")
        return Scored(frame, {"n": n, "loss": mse, "mse": mse, "mae": mae, "error": mse})

    def error_columns(self, metric: str | None) -> list[str]:
        if metric is None or metric in ("mse", "loss", "error"):
            return ["loss"]
        if metric == "mae":
            return ["y_true", "y_pred"]
        raise ValueError(
            f"cannot diagnose metric '{metric}' for regression (supported: mse, loss, error, mae)"
        )

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        if self.error_columns(metric) == ["loss"]:
            return frame["loss"].to_numpy(dtype=np.float64)
        truth = frame["y_true"].to_numpy(dtype=np.float64)
        return np.abs(truth - frame["y_pred"].to_numpy(dtype=np.float64))
