"""Per-set errors from stored predictions (``predictions/<set>.parquet``): no model, no TensorFlow.

The error is the run's optimizing metric turned into an error: ``1 − accuracy`` for
classification (from the ``correct`` column), the mean squared error (``loss`` column) or the
mean absolute error (``|y_true − y_pred|``) for regression.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dlkit.analysis.bias_variance import SETS, SetError

CLASSIFICATION_METRICS = ("accuracy", "error")
REGRESSION_METRICS = ("mse", "loss", "error", "mae")


def error_columns(task: str, metric: str | None) -> list[str]:
    """The prediction columns needed to measure ``metric`` as an error.

    Args:
        task: binary, multiclass or regression.
        metric: the optimizing metric (None: accuracy, or mse for regression).

    Raises:
        ValueError: a metric diagnose cannot turn into a per-example error.
    """
    if task == "regression":
        if metric is None or metric in ("mse", "loss", "error"):
            return ["loss"]
        if metric == "mae":
            return ["y_true", "y_pred"]
        supported = ", ".join(REGRESSION_METRICS)
    else:
        if metric is None or metric in CLASSIFICATION_METRICS:
            return ["correct"]
        supported = ", ".join(CLASSIFICATION_METRICS)
    raise ValueError(f"cannot diagnose metric '{metric}' for {task} (supported: {supported})")


def per_example_errors(frame: pd.DataFrame, task: str, metric: str | None) -> np.ndarray:
    """One error per example `(n,)`: 0/1 mistakes, squared or absolute errors."""
    cols = error_columns(task, metric)
    if cols == ["correct"]:
        return ~frame["correct"].to_numpy(dtype=bool)
    if cols == ["loss"]:
        return frame["loss"].to_numpy(dtype=np.float64)
    return np.abs(frame["y_true"].to_numpy(dtype=np.float64) - frame["y_pred"].to_numpy(dtype=np.float64))


def train_subsample(n_train: int, n_dev: int, max_ratio: float = 2.0, seed: int = 0) -> np.ndarray | None:
    """Row positions of the fixed train subsample, or None to use all of train.

    When train holds more than ``max_ratio`` times as many examples as dev, train error is
    measured on ``n_dev`` rows drawn without replacement with a fixed seed, so repeated reports
    give the same figure.
    """
    if n_dev < 1 or n_train <= max_ratio * n_dev:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_train, size=n_dev, replace=False))


def set_error(
    name: str, errors: np.ndarray, confidence: float = 0.95, n_total: int | None = None
) -> SetError:
    """A :class:`SetError` from per-example errors: boolean mistakes or real losses."""
    if errors.dtype == bool:
        n = len(errors)
        if n == 0:
            raise ValueError(f"{name}: no examples")
        return SetError.from_counts(name, int(errors.sum()), n, confidence, n_total)
    return SetError.from_losses(name, errors, confidence, n_total)


def errors_from_predictions(
    frames: Mapping[str, pd.DataFrame],
    task: str,
    metric: str | None = None,
    *,
    max_train_ratio: float = 2.0,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, SetError]:
    """The error on each set, from its predictions frame.

    Args:
        frames: predictions per set name (train and dev required; train_dev and test optional).
        task: binary, multiclass or regression.
        metric: the run's optimizing metric.
        max_train_ratio: subsample train to the size of dev beyond this many times dev's size.
        seed: seed of the train subsample.
        confidence: level of each set's interval.

    Returns:
        The error per set, in train, train_dev, dev, test order.
    """
    n_dev = len(frames["dev"]) if "dev" in frames else 0
    out: dict[str, SetError] = {}
    for name in SETS:
        if name not in frames:
            continue
        errors = per_example_errors(frames[name], task, metric)
        n_total = None
        if name == "train":
            rows = train_subsample(len(errors), n_dev, max_train_ratio, seed)
            if rows is not None:
                n_total, errors = len(errors), errors[rows]
        out[name] = set_error(name, errors, confidence, n_total)
    return out
