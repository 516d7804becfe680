"""Set-level metrics the tasks report, in NumPy (scikit-learn's definitions, checked against it in tests).

Classification: balanced accuracy, macro F1 and ROC AUC (one-vs-rest, macro over classes for
more than two). Regression: MAE, RMSE and R², and the same errors of a constant predictor
(the train mean). A metric that is undefined on a set (AUC with one class present, R² of a
constant target) is NaN rather than an error: a small dev set may lack a class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlkit._lazy import lazy_module
from dlkit.analysis.ranks import binary_auc

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")


NAN = float("nan")


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The mean recall over the classes present in ``y_true`` (scikit-learn's ``balanced_accuracy_score``)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        return NAN
    recalls = [float((y_pred[y_true == c] == c).mean()) for c in np.unique(y_true)]
    return float(np.mean(recalls))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The unweighted mean F1 over the labels in ``y_true`` or ``y_pred`` (0 for a label never
    right), as scikit-learn's ``f1_score(average="macro")``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        return NAN
    scores = []
    for c in np.unique(np.concatenate([y_true, y_pred])):
        tp = float(((y_true == c) & (y_pred == c)).sum())
        fp = float(((y_true != c) & (y_pred == c)).sum())
        fn = float(((y_true == c) & (y_pred != c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def roc_auc(y_idx: np.ndarray, proba: np.ndarray) -> float:
    """ROC AUC of class probabilities `(n, classes)` against class indices `(n,)`: the positive
    class's AUC for two classes, the macro mean of one-vs-rest AUCs for more (scikit-learn's
    ``roc_auc_score(multi_class="ovr")``). NaN when a class of the model is absent from the set."""
    y_idx = np.asarray(y_idx).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape[1] == 2:
        return binary_auc(y_idx == 1, proba[:, 1])
    aucs = [binary_auc(y_idx == k, proba[:, k]) for k in range(proba.shape[1])]
    return float(np.mean(aucs)) if all(np.isfinite(aucs)) else NAN


def regression_errors(y_true: np.ndarray, y_pred: np.ndarray, prefix: str = "") -> dict[str, float]:
    """``mse``, ``rmse`` and ``mae`` of predictions, each name after ``prefix``."""
    diff = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    if len(diff) == 0:
        return {f"{prefix}mse": NAN, f"{prefix}rmse": NAN, f"{prefix}mae": NAN}
    mse = float((diff**2).mean())
    return {
        f"{prefix}mse": mse,
        f"{prefix}rmse": float(np.sqrt(mse)),
        f"{prefix}mae": float(np.abs(diff).mean()),
    }


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The coefficient of determination 1 - SSE / SST, SST about the set's own mean (scikit-learn's
    ``r2_score``); NaN for a constant target."""
    y_true = np.asarray(y_true, dtype=np.float64)
    sst = float(((y_true - y_true.mean()) ** 2).sum()) if len(y_true) else 0.0
    if sst == 0:
        return NAN
    return 1 - float(((y_true - np.asarray(y_pred, dtype=np.float64)) ** 2).sum()) / sst
