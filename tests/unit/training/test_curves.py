"""Training-curve warnings on planted histories: each rule fires on its case and not on a
healthy curve."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlkit.tasks import task_for
from dlkit.training.curves import check_curves


def _history(
    loss: list[float], val_loss: list[float] | None = None, lr: float = 0.01
) -> list[dict[str, float]]:
    val_loss = val_loss or [v * 1.1 for v in loss]
    return [{"loss": a, "val_loss": b, "lr": lr} for a, b in zip(loss, val_loss, strict=True)]


def _codes(history: list[dict[str, float]], **kwargs) -> list[str]:
    return [w.code for w in check_curves(history, **kwargs)]


def test_healthy_curve_has_no_warning() -> None:
    assert _codes(_history([2.3, 1.2, 0.8, 0.6, 0.5]), baseline_loss=math.log(10)) == []


def test_nan_loss_stops_with_advice() -> None:
    (warning,) = check_curves(_history([2.3, 1.5, float("nan")], lr=3.0), diverged_epoch=3)
    assert warning.code == "non_finite_loss" and warning.epoch == 3
    assert (
        warning.message
        == "training loss became NaN or infinite in epoch 3 (learning rate 3); training stopped"
    )
    assert "learning_rate" in warning.advice and "clipnorm" in warning.advice
    # found from the history alone too
    assert _codes(_history([2.3, float("inf")])) == ["non_finite_loss"]


def test_exploding_loss() -> None:
    (warning,) = check_curves(_history([2.3, 0.5, 0.3, 4.0, 9.0]))
    assert warning.code == "exploding_loss" and warning.epoch == 4
    assert "4, against 0.3 at best before" in warning.message
    # growth from the start: more than twice the first epoch's loss
    assert _codes(_history([1.0, 1.5, 2.5])) == ["exploding_loss"]
    # a 5x spike is not an explosion
    assert _codes(_history([2.3, 0.5, 0.2, 1.0, 0.3])) == []


def test_flat_loss_from_the_start() -> None:
    baseline = math.log(10)
    (warning,) = check_curves(_history([2.31, 2.305, 2.303, 2.302]), baseline_loss=baseline)
    assert warning.code == "flat_loss" and warning.epoch == 1
    assert "vanishing gradients" in warning.advice.lower() and "learning rate far too small" in warning.advice
    # already converged in epoch 1 and flat since: not a problem
    assert _codes(_history([0.05, 0.0499, 0.0498, 0.0497]), baseline_loss=baseline) == []
    # too few epochs to tell
    assert _codes(_history([2.31, 2.31]), baseline_loss=baseline) == []


def test_overfitting_dev_rises_while_train_falls() -> None:
    loss = [1.0, 0.6, 0.4, 0.3, 0.2, 0.1]
    val = [1.1, 0.7, 0.55, 0.6, 0.7, 0.8]
    (warning,) = check_curves(_history(loss, val))
    assert warning.code == "overfitting" and warning.epoch == 4
    assert warning.message == (
        "dev loss rose from 0.55 (epoch 3) to 0.8 (epoch 6) "
        "while training loss fell from 0.4 to 0.1: overfitting"
    )
    # two epochs of rise, or a rise within noise, is not enough
    assert _codes(_history(loss[:5], val[:5])) == []
    assert _codes(_history(loss, [1.1, 0.7, 0.55, 0.555, 0.556, 0.557])) == []


def constant_predictor_loss(y, task):
    return task_for(task).baseline_loss(np.asarray(y))


def test_constant_predictor_loss() -> None:
    assert constant_predictor_loss(np.array([0, 1, 2, 3] * 5), "multiclass") == pytest.approx(math.log(4))
    assert constant_predictor_loss(np.array([0, 0, 0, 1]), "binary") == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    )
    assert constant_predictor_loss(np.array([1.0, 3.0]), "regression") == pytest.approx(1.0)
