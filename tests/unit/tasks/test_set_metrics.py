"""Set-level metrics against scikit-learn on the same stored predictions: balanced accuracy,
macro F1 and ROC AUC for classes; RMSE, MAE, R² and the train-mean baseline for regression."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn import metrics as skm

from dlkit.tasks import task_for


def _scored(task: str, outputs: np.ndarray, y: np.ndarray, classes: list[object]):
    return task_for(task).score(outputs, y, SimpleNamespace(classes=classes))


def test_binary_metrics_equal_sklearns_on_the_stored_predictions() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.2).astype(int)
    p1 = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    p1[:10] = 0.5  # ties count one half in the AUC
    scored = _scored("binary", p1.reshape(-1, 1), y, ["no", "yes"])
    frame, metrics = scored.frame, scored.metrics
    truth, pred = frame["y_true"].astype(str), frame["y_pred"].astype(str)
    assert metrics["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(truth, pred))
    assert metrics["macro_f1"] == pytest.approx(skm.f1_score(truth, pred, average="macro"))
    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(truth == "yes", frame["proba_1"]))
    assert 0.5 < metrics["roc_auc"] < 1 and metrics["balanced_accuracy"] != metrics["accuracy"]


def test_multiclass_metrics_equal_sklearns_one_vs_rest_macro() -> None:
    rng = np.random.default_rng(1)
    y = rng.choice(3, size=150, p=[0.6, 0.3, 0.1])
    logits = rng.normal(size=(150, 3)) + 1.5 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    scored = _scored("multiclass", proba, y, [10, 20, 30])
    frame, metrics = scored.frame, scored.metrics
    truth, pred = frame["y_true"].astype(int), frame["y_pred"].astype(int)
    stored = frame[["proba_0", "proba_1", "proba_2"]].to_numpy()
    assert metrics["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(truth, pred))
    assert metrics["macro_f1"] == pytest.approx(skm.f1_score(truth, pred, average="macro"))
    expected_auc = skm.roc_auc_score(truth, stored, multi_class="ovr", average="macro", labels=[10, 20, 30])
    assert metrics["roc_auc"] == pytest.approx(expected_auc)


def test_macro_f1_counts_a_predicted_class_absent_from_the_truth_as_sklearn_does() -> None:
    # class c is predicted once but never true: its F1 is 0 and it enters the mean
    proba = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]])
    scored = _scored("multiclass", proba, np.array([0, 1, 1, 0]), ["a", "b", "c"])
    truth, pred = scored.frame["y_true"].astype(str), scored.frame["y_pred"].astype(str)
    assert scored.metrics["macro_f1"] == pytest.approx(skm.f1_score(truth, pred, average="macro"))
    assert scored.metrics["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert np.isnan(scored.metrics["roc_auc"])  # class c has no positive in this set


def test_auc_of_a_set_with_one_class_is_nan_not_an_error() -> None:
    metrics = _scored("binary", np.array([[0.2], [0.7]]), np.array([1, 1]), [0, 1]).metrics
    assert np.isnan(metrics["roc_auc"]) and metrics["balanced_accuracy"] == 0.5


def test_regression_metrics_equal_sklearns() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(1e4, 2e3, size=80)
    pred = y + rng.normal(0, 500, size=80)
    metrics = _scored("regression", pred.reshape(-1, 1), y, []).metrics
    assert metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert metrics["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert metrics["mse"] == metrics["loss"] == metrics["error"]


def test_regression_baseline_is_the_train_mean_and_a_worse_model_is_warned() -> None:
    task = task_for("regression")
    baseline = task.baseline_metrics(np.array([1.0, 3.0]), np.array([0.0, 4.0]))  # mean 2: errors 2, 2
    assert baseline == {"baseline_rmse": 2.0, "baseline_mae": 2.0}
    assert task.target_scale(np.array([1.0, 3.0])) == (2.0, 1.0)
    assert task.loss_weight(None, np.array([0.0, 20.0])) == pytest.approx(1 / 100)
    assert task.loss_weight("mae", np.array([0.0, 20.0])) == pytest.approx(1 / 10)
    assert task.loss_weight("huber", np.array([0.0, 20.0])) is None
    (warning,) = task.metric_warnings({"dev": {"rmse": 2.5, "baseline_rmse": 2.0}})
    assert warning.code == "worse_than_baseline"
    assert warning.message.startswith(
        "dev RMSE 2.5 is no better than always predicting the train mean (RMSE 2)"
    )
    assert task.metric_warnings({"dev": {"rmse": 1.5, "baseline_rmse": 2.0}}) == []
    assert task_for("binary").baseline_metrics(np.array([0, 1]), np.array([1])) == {}


def test_every_task_says_which_of_its_metrics_grow_when_it_gets_better() -> None:
    from dlkit.tasks import TASKS

    for task in TASKS:
        assert set(task.maximised) <= set(task.set_metrics), task.name
        assert task.direction("loss") == task.direction("error") == "min", task.name
        assert task.direction(task.default_metric) == (
            "min" if task.default_metric in ("mse", "nme", "cer") else "max"
        ), task.name
    assert task_for("seq2seq").direction("bleu") == "max"
    assert task_for("regression").direction("r2") == "max"
    assert task_for("regression").direction("rmse") == "min"


def test_a_better_model_scores_higher_on_the_metrics_said_to_grow() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    noisy = np.full((300, 3), 1 / 3) + rng.normal(0, 0.05, (300, 3))
    task = task_for("multiclass")
    better = _scored("multiclass", good, y, [0, 1, 2]).metrics
    worse = _scored("multiclass", np.clip(noisy, 0.01, 1), y, [0, 1, 2]).metrics
    for metric in task.set_metrics:
        sign = 1 if task.direction(metric) == "max" else -1
        assert sign * (better[metric] - worse[metric]) > 0, metric


def test_average_ranks_and_auc_with_ties_agree_with_scipy_and_scikit_learn() -> None:
    from scipy.stats import rankdata

    from dlkit.analysis.ranks import average_ranks, binary_auc

    rng = np.random.default_rng(1)
    score = rng.integers(0, 4, size=50).astype(np.float64)  # many ties
    positive = rng.random(50) < 0.4
    assert average_ranks(score) == pytest.approx(rankdata(score))
    assert binary_auc(positive, score) == pytest.approx(skm.roc_auc_score(positive, score))
    assert average_ranks(np.array([2.0, 1.0, 2.0])).tolist() == [2.5, 1.0, 2.5]
