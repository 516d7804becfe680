"""Regression: one linear output, mean squared error; the reports read squared or absolute errors.

The model learns a target standardised with train's mean and standard deviation: its last
layer un-scales (``target_scale``, a Keras ``Normalization(invert=True)`` inside the saved
model), so predictions, metrics and every report are in the target's own units while the loss
is compiled with a factor 1/std² (a first loss near 1 whatever the target's scale). Every set
is also scored against a constant predictor, the train mean (``baseline_*``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from dlkit._lazy import lazy_module
from dlkit.tasks import _metrics
from dlkit.tasks.base import Scored, Task

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from dlkit.data.dataset import Dataset
    from dlkit.models import Head
    from dlkit.training.curves import CurveWarning
else:
    np = lazy_module("numpy")
    pd = lazy_module("pandas")

# Keras loss names (and aliases) in the target's squared or absolute units: scaled by 1/std² and
# 1/std so they read in standard deviations; any other loss is left as Keras computes it
_SQUARED_LOSSES = frozenset({"mean_squared_error", "mse", "MSE", "MeanSquaredError"})
_ABSOLUTE_LOSSES = frozenset({"mean_absolute_error", "mae", "MAE", "MeanAbsoluteError"})


class Regression(Task):
    name = "regression"
    keeps_classes = False
    summary = "a real-valued target: linear output, mean squared error"
    labels = "continuous"
    epoch_metrics = ("mae",)
    takes_sample_weight = True
    default_metric = "mse"
    set_metrics = ("loss", "mse", "mae", "rmse", "r2", "error")
    maximised = ("r2",)
    error_metric = "mse"
    reports = ("diagnose", "analyze_errors", "tune", "gradcheck", "lr_find", "learning_curve")
    streams = True

    def head(self, data: Dataset) -> Head:
        from dlkit.models import Head

        return Head(1, "linear")

    def loss(self, data: Dataset) -> Any:
        return "mean_squared_error"

    def target_scale(self, y_train: np.ndarray) -> tuple[float, float] | None:
        """Train's mean and standard deviation (1 for a constant target)."""
        y = np.asarray(y_train, dtype=np.float64)
        if len(y) == 0:
            return None
        std = float(y.std())
        return float(y.mean()), std if std > 0 else 1.0

    def loss_weight(self, loss: str | None, y_train: np.ndarray) -> float | None:
        """1/std² for a squared loss (the task's own), 1/std for an absolute one: the loss of a
        standardised target."""
        scale = self.target_scale(y_train)
        if scale is None:
            return None
        if loss is None or loss in _SQUARED_LOSSES:
            return 1.0 / scale[1] ** 2
        if loss in _ABSOLUTE_LOSSES:
            return 1.0 / scale[1]
        return None

    def baseline_loss(self, y_train: np.ndarray) -> float | None:
        """The compiled loss of predicting the train mean: the standardised target's variance, 1."""
        if len(y_train) == 0:
            return None
        return 1.0 if float(np.std(np.asarray(y_train, dtype=np.float64))) > 0 else 0.0

    def baseline_metrics(self, y_train: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """RMSE and MAE of always predicting the train mean."""
        if len(y_train) == 0:
            return {}
        mean = float(np.mean(np.asarray(y_train, dtype=np.float64)))
        errors = _metrics.regression_errors(y, np.full(len(y), mean), prefix="baseline_")
        return {k: errors[k] for k in ("baseline_rmse", "baseline_mae")}

    def metric_warnings(self, metrics: dict[str, dict[str, float]]) -> list[CurveWarning]:
        """``worse_than_baseline`` when the dev RMSE is no better than the train mean's."""
        from dlkit.training.curves import CurveWarning

        dev, train = metrics.get("dev", {}), metrics.get("train", {})
        rmse, baseline = dev.get("rmse", math.nan), dev.get("baseline_rmse", math.nan)
        if not (math.isfinite(rmse) and math.isfinite(baseline)) or rmse < baseline:
            return []
        if train.get("rmse", math.nan) < train.get("baseline_rmse", math.nan):
            advice = (
                "It beats the mean on train only: it fits noise. Check that the features carry "
                "information about the target, regularise, or get more data."
            )
        else:
            advice = (
                "It does not beat the mean on train either: check that the features carry information "
                "about the target, then train longer or raise the learning rate."
            )
        return [
            CurveWarning(
                "worse_than_baseline",
                None,
                f"dev RMSE {rmse:.4g} is no better than always predicting the train mean "
                f"(RMSE {baseline:.4g}): the model has learnt nothing usable",
                advice,
            )
        ]

    def score(self, outputs: np.ndarray, y: np.ndarray, data: Dataset) -> Scored:
        """y_true, y_pred, loss (squared error); n, loss, mse, rmse, mae, r2 and error (= mse),
        in the target's units."""
        n = len(y)
        pred = np.asarray(outputs, dtype=np.float64).reshape(n, -1)[:, 0]
        y = np.asarray(y, dtype=np.float64)
        frame = pd.DataFrame({"y_true": y, "y_pred": pred, "loss": (pred - y) ** 2})
        return Scored(frame, self.frame_metrics(frame, data.classes))

    def frame_metrics(self, frame: pd.DataFrame, classes: list[Any]) -> dict[str, float]:
        """A set's metrics from its predictions frame (``score``'s columns)."""
        y, pred = frame["y_true"].to_numpy(dtype=np.float64), frame["y_pred"].to_numpy(dtype=np.float64)
        errors = _metrics.regression_errors(y, pred)
        mse = errors["mse"]
        return {"n": len(y), "loss": mse, **errors, "r2": _metrics.r2(y, pred), "error": mse}

    def error_columns(self, metric: str | None) -> list[str]:
        # RMSE and R² are monotone in the mean squared error: diagnose reads the squared errors
        if metric is None or metric in ("mse", "loss", "error", "rmse", "r2"):
            return ["loss"]
        if metric == "mae":
            return ["y_true", "y_pred"]
        raise ValueError(
            f"cannot diagnose metric '{metric}' for regression (supported: mse, loss, error, rmse, r2, mae)"
        )

    def example_errors(self, frame: pd.DataFrame, metric: str | None) -> np.ndarray:
        if self.error_columns(metric) == ["loss"]:
            return frame["loss"].to_numpy(dtype=np.float64)
        truth = frame["y_true"].to_numpy(dtype=np.float64)
        return np.abs(truth - frame["y_pred"].to_numpy(dtype=np.float64))
