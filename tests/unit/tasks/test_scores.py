"""Per-example scoring: known losses, predictions and error rates."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dlkit.tasks import task_for


def score(outputs, y, task, classes):
    """A task's per-example frame and set metrics, as the pipeline writes them."""
    scored = task_for(task).score(np.asarray(outputs), np.asarray(y), SimpleNamespace(classes=classes))
    return scored.frame, scored.metrics


def constant_predictor_loss(y, task):
    return task_for(task).baseline_loss(np.asarray(y))


def test_multiclass_known_answers() -> None:
    outputs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
    y = np.array([0, 1, 2, 2])
    frame, metrics = score(outputs, y, "multiclass", ["a", "b", "c"])
    assert frame["y_pred"].tolist() == ["a", "b", "a", "c"]
    assert frame["correct"].tolist() == [True, True, False, True]
    assert frame["loss"].to_numpy() == pytest.approx(-np.log([0.7, 0.8, 0.25, 0.6]))
    assert metrics["accuracy"] == 0.75 and metrics["error"] == pytest.approx(0.25)
    assert metrics["n"] == 4
    assert [c for c in frame.columns if c.startswith("proba_")] == ["proba_0", "proba_1", "proba_2"]


def test_binary_sigmoid_gives_two_probability_columns() -> None:
    frame, metrics = score(np.array([[0.9], [0.2], [0.6]]), np.array([1, 1, 0]), "binary", ["no", "yes"])
    assert frame["y_pred"].tolist() == ["yes", "no", "yes"]
    assert frame["proba_0"].to_numpy() == pytest.approx([0.1, 0.8, 0.4])
    assert frame["confidence"].to_numpy() == pytest.approx([0.9, 0.8, 0.6])
    assert metrics["error"] == pytest.approx(2 / 3)


def test_regression_squared_error() -> None:
    frame, metrics = score(np.array([[1.0], [3.0]]), np.array([2.0, 3.0]), "regression", [])
    assert frame["loss"].tolist() == [1.0, 0.0]
    assert metrics["mse"] == 0.5 and metrics["mae"] == 0.5 and metrics["error"] == 0.5
