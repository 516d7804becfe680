"""Suspected label errors: cleanlab on out-of-sample probabilities finds planted noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlkit.analysis.label_issues import (
    CAVEAT,
    flag_label_issues,
    from_predictions,
    label_issues,
    precision_recall,
)
from dlkit.errors import DataError


def test_precision_recall_known_answer():
    assert precision_recall([1, 2, 3, 4], [2, 4, 6]) == (0.5, pytest.approx(2 / 3))
    p, r = precision_recall([], [1])
    assert np.isnan(p) and r == 0.0


def _planted(rate: float, seed: int = 0):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.svm import SVC

    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    wrong = rng.uniform(size=len(y)) < rate
    noisy[wrong] = (y[wrong] + rng.integers(1, 10, int(wrong.sum()))) % 10
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    model = CalibratedClassifierCV(SVC(random_state=seed), ensemble=False, cv=3)
    probs = cross_val_predict(model, x / 16.0, noisy, cv=folds, method="predict_proba")
    return y, noisy, probs


@pytest.mark.slow  # trains 5 cross-validated classifiers (a few seconds)
def test_planted_uniform_noise_is_found_better_than_prediction_differs_from_label():
    y, noisy, probs = _planted(0.10)
    truly = np.flatnonzero(noisy != y)
    result = label_issues(noisy, probs, np.arange(len(y)), list(range(10)))
    assert result.oos_accuracy >= 0.85
    flagged = [int(issue.id) for issue in result.issues]
    precision, recall = precision_recall(flagged, truly)
    base_precision, _ = precision_recall(np.flatnonzero(probs.argmax(1) != noisy), truly)
    assert precision >= 0.75 and recall >= 0.85
    assert precision > base_precision
    # ranked: most suspect (lowest probability of the given label) first
    qualities = [issue.label_quality for issue in result.issues]
    assert qualities == sorted(qualities)
    first = result.issues[0]
    assert first.given == str(noisy[int(first.id)]) and first.suggested == str(probs[int(first.id)].argmax())
    assert result.n_disagree == int((probs.argmax(1) != noisy).sum())
    assert result.caveat == CAVEAT and "confirm" in CAVEAT


def test_clean_confident_predictions_flag_nothing():
    labels = np.array([0, 1, 2] * 20)
    probs = np.full((60, 3), 0.05)
    probs[np.arange(60), labels] = 0.9
    assert flag_label_issues(labels, probs).size == 0


def test_from_stored_predictions_reads_labels_and_probabilities_of_each_set():
    labels = [0, 1, 2] * 20
    frames = {}
    for name, offset in (("dev", 0), ("test", 100)):
        probs = np.full((60, 3), 0.05)
        probs[np.arange(60), labels] = 0.9
        frame = pd.DataFrame({"id": np.arange(60) + offset, "y_true": ["a", "b", "c"] * 20})
        for k in range(3):
            frame[f"proba_{k}"] = probs[:, k]
        frames[name] = frame
    # one planted error in test: labelled 'a' but the model is sure it is 'c'
    frames["test"].loc[5, ["proba_0", "proba_1", "proba_2"]] = [0.01, 0.01, 0.98]
    frames["test"].loc[5, "y_true"] = "a"
    result = from_predictions(frames, ["a", "b", "c"])
    assert result.n_examples == 120
    assert [(i.id, i.set, i.given, i.suggested) for i in result.issues] == [("105", "test", "a", "c")]
    assert "dev + test" in result.source


def test_mismatched_shapes_and_unknown_labels_are_data_errors():
    with pytest.raises(DataError, match="do not match"):
        label_issues(np.array([0, 1]), np.ones((3, 2)) / 2, [1, 2], ["a", "b"])
    frame = pd.DataFrame({"id": [1], "y_true": ["z"], "proba_0": [0.5], "proba_1": [0.5]})
    with pytest.raises(DataError, match="label 'z' is not one of the run's classes"):
        from_predictions({"dev": frame}, ["a", "b"])
