"""Per-set errors from stored predictions frames, and the fixed train subsample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlkit.analysis.bias_variance import diagnose_errors, wilson_interval
from dlkit.analysis.set_errors import error_columns, errors_from_predictions, train_subsample


def _frame(n: int, n_wrong: int) -> pd.DataFrame:
    correct = np.ones(n, dtype=bool)
    correct[:n_wrong] = False
    return pd.DataFrame({"correct": correct})


def test_classification_error_is_one_minus_accuracy_with_wilson_interval():
    sets = errors_from_predictions(
        {"train": _frame(100, 5), "dev": _frame(100, 12)}, "multiclass", "accuracy"
    )
    assert sets["train"].error == pytest.approx(0.05)
    assert sets["dev"].error == pytest.approx(0.12)
    assert sets["dev"].n_errors == 12
    assert (sets["dev"].low, sets["dev"].high) == pytest.approx(wilson_interval(12, 100))


def test_regression_mse_and_mae():
    frame = pd.DataFrame({"y_true": [0.0, 1.0, 2.0, 3.0], "y_pred": [1.0, 1.0, 0.0, 3.0]})
    frame["loss"] = (frame.y_true - frame.y_pred) ** 2
    mse = errors_from_predictions({"train": frame, "dev": frame}, "regression", "mse")
    mae = errors_from_predictions({"train": frame, "dev": frame}, "regression", "mae")
    assert mse["dev"].error == pytest.approx((1 + 0 + 4 + 0) / 4)
    assert mae["dev"].error == pytest.approx((1 + 0 + 2 + 0) / 4)
    assert mse["dev"].kind == "mean"


def test_train_larger_than_twice_dev_is_subsampled_to_dev_size_with_a_fixed_seed():
    train = _frame(10_000, 1_000)
    sets = errors_from_predictions({"train": train, "dev": _frame(500, 50)}, "binary")
    again = errors_from_predictions({"train": train, "dev": _frame(500, 50)}, "binary")
    assert sets["train"].n == 500 and sets["train"].n_total == 10_000
    assert sets["train"].error == again["train"].error
    assert abs(sets["train"].error - 0.10) < 0.04
    rows = train_subsample(10_000, 500)
    assert rows is not None and len(set(rows.tolist())) == 500


def test_train_close_to_dev_size_is_used_whole():
    assert train_subsample(1000, 500) is None
    sets = errors_from_predictions({"train": _frame(900, 9), "dev": _frame(500, 50)}, "binary")
    assert sets["train"].n == 900 and sets["train"].n_total is None


def test_unsupported_metric_is_rejected_with_the_supported_ones():
    with pytest.raises(
        ValueError, match=r"cannot diagnose metric 'f1' for binary \(supported: accuracy, error\)"
    ):
        error_columns("binary", "f1")


def test_errors_from_frames_give_the_methodology_reading():
    # METHODOLOGY §2 row 4 from per-example predictions: human 0, train 1, train-dev 1.5, dev 10 (%)
    n = 20_000
    frames = {
        "train": _frame(n, 200),
        "train_dev": _frame(n, 300),
        "dev": _frame(n, 2000),
    }
    r = diagnose_errors(errors_from_predictions(frames, "multiclass"), human_error=0.0)
    assert r.verdict == "data_mismatch"
    assert r.gap("data_mismatch").value == pytest.approx(0.085)
