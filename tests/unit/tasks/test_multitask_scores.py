"""Scoring a multitask set: per-task metrics on present labels, the masked loss, per-task columns."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from dlkit.tasks import task_for
from dlkit.tasks.multitask_scores import label_counts


def score(outputs, y, task, classes):
    """A task's per-example frame and set metrics, as the pipeline writes them."""
    scored = task_for(task).score(np.asarray(outputs), np.asarray(y), SimpleNamespace(classes=classes))
    return scored.frame, scored.metrics


def constant_predictor_loss(y, task):
    return task_for(task).baseline_loss(np.asarray(y))


NAN = np.nan


def test_score_known_answer() -> None:
    y = np.array([[1, 0], [0, NAN], [1, 1], [NAN, 0]], dtype=np.float32)
    p = np.array([[0.8, 0.4], [0.6, 0.9], [0.3, 0.7], [0.5, 0.2]])
    frame, m = score(p, y, "multitask", ["cat", "dog"])
    # cat: labels at rows 0-2, predictions 1, 1, 0 vs 1, 0, 1 -> 1/3 right; dog: 0, 1, 0 all right
    assert m["accuracy_cat"] == pytest.approx(1 / 3)
    assert m["accuracy_dog"] == 1.0
    assert m["accuracy"] == pytest.approx((1 / 3 + 1) / 2)
    assert m["error"] == pytest.approx(1 - m["accuracy"])
    # cat AUC: positives 0.8, 0.3 vs negative 0.6 -> 1 of 2 pairs; dog: 0.7 vs 0.4, 0.2 -> 1
    assert m["auc_cat"] == pytest.approx(0.5)
    assert m["auc_dog"] == 1.0
    assert m["auc"] == pytest.approx(0.75)
    losses = [
        -math.log(0.8) - math.log(0.6),
        -math.log(0.4),
        -math.log(0.3) - math.log(0.7),
        -math.log(0.8),
    ]
    np.testing.assert_allclose(frame["loss"], losses, rtol=1e-9)
    assert m["loss"] == pytest.approx(np.mean(losses))
    assert m["n"] == 4
    assert list(frame.columns) == [
        "y_true_cat",
        "proba_cat",
        "pred_cat",
        "y_true_dog",
        "proba_dog",
        "pred_dog",
        "labels",
        "correct",
        "loss",
    ]
    assert frame["y_true_cat"].isna().tolist() == [False, False, False, True]
    assert frame["pred_dog"].tolist() == [0, 1, 1, 0]
    assert frame["labels"].tolist() == [2, 1, 2, 1]
    assert frame["correct"].tolist() == [True, False, False, True]


def test_auc_left_out_for_a_task_with_one_class() -> None:
    y = np.array([[1, 0], [0, 0], [NAN, 0]], dtype=np.float32)
    _, m = score(np.full((3, 2), 0.6), y, "multitask", ["a", "b"])
    assert "auc_b" not in m
    assert m["auc"] == m["auc_a"] == 0.5


def test_constant_predictor_and_counts() -> None:
    y = np.array([[1, NAN], [0, 1], [1, 1], [1, NAN]], dtype=np.float32)
    # task 0: p = 3/4 over 4 labels; task 1: p = 1 (clipped) over 2 labels; per example
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert constant_predictor_loss(y, "multitask") == pytest.approx(4 * h / 4, rel=1e-4)
    assert label_counts(y, ["a", "b"]) == {
        "a": {"positive": 3, "negative": 1, "missing": 0},
        "b": {"positive": 2, "negative": 0, "missing": 2},
    }
