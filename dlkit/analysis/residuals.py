"""Error analysis of a regression (docs/method.md §4 for real-valued targets): residuals.

A residual is ``y_true − y_pred`` (positive: the model predicts too low). The reading of a set:
its mean squared and mean absolute error, the examples with the largest absolute error (the
ones to look at first), and the residuals by slice: by range of the true value and by each
metadata column, the weakest slice first. Pure pandas/numpy; rendering (tables, the residual
plot) lives in :mod:`dlkit.reporting.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.analysis.bias_variance import SetError
from dlkit.analysis.error_analysis import slice_keys

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: diagnose reads a run's mistakes without pandas
    pd = lazy_module("pandas")

TARGET = "y_true"  # the slice column of the true value's ranges


@dataclass(frozen=True)
class ResidualSlice:
    """The residuals of the examples with one value (or range) of one column.

    Attributes:
        column: a metadata column, or ``y_true`` for a range of the true value.
        value: the value or the range, as text.
        n: examples in the slice.
        mean_residual: their mean residual (y_true − y_pred): the slice's bias.
        mae: their mean absolute error.
        low: lower end of the 95% normal interval of the slice's mean absolute error.
        high: upper end (both NaN for a slice of one example).
        ratio: the slice's mean absolute error over the whole set's.
    """

    column: str
    value: str
    n: int
    mean_residual: float
    mae: float
    low: float
    high: float
    ratio: float


@dataclass
class RegressionReport:
    """The residual reading of a set's predictions.

    Attributes:
        n: examples.
        mse: mean squared error.
        mae: mean absolute error.
        mean_residual: mean of y_true − y_pred (the model's overall bias).
        largest: the examples with the largest absolute error, largest first (id, y_true,
            y_pred, residual, abs_error, metadata).
        slices: residuals by range of the true value and by metadata value, weakest first.
        predicted: every example's prediction `(n,)`, for the residual plot.
        residuals: every example's residual `(n,)`, aligned with ``predicted``.
    """

    n: int
    mse: float
    mae: float
    mean_residual: float
    largest: pd.DataFrame
    slices: list[ResidualSlice]
    predicted: np.ndarray
    residuals: np.ndarray


def residuals(predictions: pd.DataFrame) -> np.ndarray:
    """``y_true − y_pred`` per example `(n,)`."""
    return predictions["y_true"].to_numpy(dtype=np.float64) - predictions["y_pred"].to_numpy(dtype=np.float64)


def largest_errors(predictions: pd.DataFrame, top: int = 10, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The ``top`` examples with the largest absolute error, largest first (ties: in set order)."""
    frame = predictions.assign(residual=residuals(predictions))
    frame["abs_error"] = frame["residual"].abs()
    columns = [c for c in ("id", "y_true", "y_pred", "residual", "abs_error", *extra) if c in frame]
    ranked = frame.sort_values("abs_error", ascending=False, kind="stable")
    return ranked.head(top)[columns].reset_index(drop=True)


def residual_slices(
    predictions: pd.DataFrame, columns: Sequence[str], n_bins: int = 4, confidence: float = 0.95
) -> list[ResidualSlice]:
    """Residuals per value of each column, weakest slices first.

    Slices are ranked by the lower end of the interval of their mean absolute error, so a slice
    is ranked weak for what its errors show at least, not for one large error in a tiny slice.
    Numeric columns with more than ``n_bins`` distinct values are cut into quantile bins.

    Args:
        predictions: per-example predictions with ``y_true``, ``y_pred`` and the columns.
        columns: the columns to slice by (``y_true`` slices by range of the true value).
        n_bins: quantile bins for numeric columns with many values.
        confidence: the level of each slice's interval.
    """
    residual = pd.Series(residuals(predictions), index=predictions.index)
    base = float(residual.abs().mean()) if len(residual) else float("nan")
    rows = []
    for column in columns:
        keys = slice_keys(predictions[column], n_bins)
        for value, group in residual.groupby(keys, sort=True):
            errors = group.abs().to_numpy()
            mae = float(errors.mean())
            if len(errors) >= 2:
                interval = SetError.from_losses(str(value), errors, confidence)
                low, high = interval.low, interval.high
            else:
                low = high = float("nan")
            rows.append(
                ResidualSlice(
                    str(column),
                    str(value),
                    len(errors),
                    float(group.mean()),
                    mae,
                    low,
                    high,
                    mae / base if base else float("nan"),
                )
            )
    rows.sort(key=lambda r: (-np.nan_to_num(r.low, nan=-np.inf), -r.mae, r.column, r.value))
    return rows


def regression_report(
    predictions: pd.DataFrame, metadata_columns: Sequence[str] = (), top: int = 10, n_bins: int = 4
) -> RegressionReport:
    """Largest errors, residuals by range of the true value and by metadata, for the plot.

    Args:
        predictions: a set's per-example predictions (``y_true``, ``y_pred``, ``id``, metadata).
        metadata_columns: columns to slice the residuals by (besides the true value's range).
        top: how many of the largest errors to keep.
        n_bins: quantile bins of the true value and of numeric metadata with many values.
    """
    residual = residuals(predictions)
    n = len(residual)
    return RegressionReport(
        n=n,
        mse=float((residual**2).mean()) if n else float("nan"),
        mae=float(np.abs(residual).mean()) if n else float("nan"),
        mean_residual=float(residual.mean()) if n else float("nan"),
        largest=largest_errors(predictions, top, metadata_columns),
        slices=residual_slices(predictions, [TARGET, *metadata_columns], n_bins),
        predicted=predictions["y_pred"].to_numpy(dtype=np.float64),
        residuals=residual,
    )
