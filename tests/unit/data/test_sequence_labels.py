"""Per-step labels: encoding with padding and the masked scores, with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlkit.data.arrays import NpzSource
from dlkit.data.sequence_labels import encode_step_labels, step_scores
from dlkit.errors import DataError, RecipeError


def test_step_scores_skip_padding() -> None:
    truth = np.array([[0, 1, 1, -1], [1, 1, -1, -1], [0, 0, 0, 0]])
    # padding steps hold wrong guesses on purpose: they must not count
    predicted = np.array([[0, 1, 1, 0], [1, 0, 1, 1], [0, 0, 1, 0]])
    scores = step_scores(predicted, truth)
    # labelled steps: 3 + 2 + 4 = 9, right: 3 + 1 + 3 = 7
    assert scores["n_steps"] == 9
    assert scores["step_accuracy"] == pytest.approx(7 / 9)
    assert scores["accuracy"] == scores["step_accuracy"]
    assert scores["error"] == pytest.approx(2 / 9)
    assert scores["exact_match"] == pytest.approx(1 / 3)  # only the first sequence is all right
    assert scores["n"] == 3


def test_encode_string_labels_with_padding(tmp_path: Path) -> None:
    y = np.array([["B", "I", "O", "-"], ["O", "-", "-", "-"]])
    spec = NpzSource(path=tmp_path / "a.npz", padding_label="-")
    encoded, task, classes = encode_step_labels(y, (2, 4, 3), None, spec, spec.path)
    assert task == "sequence_labeling"
    assert classes == ["B", "I", "O"]
    assert encoded.tolist() == [[0, 1, 2, -1], [2, -1, -1, -1]]


def test_encode_refusals_are_one_line(tmp_path: Path) -> None:
    spec = NpzSource(path=tmp_path / "a.npz")
    y = np.array([[0, 1, -1], [1, 0, 1]])
    with pytest.raises(DataError, match=r"shape \(2, 3\); sequence_labeling expects one label per step"):
        encode_step_labels(y, (2, 4, 1), None, spec, spec.path)
    with pytest.raises(RecipeError, match=r"data\.task: per-step labels"):
        encode_step_labels(y, (2, 3, 1), "multiclass", spec, spec.path)
    with pytest.raises(DataError, match=r"only padding labels.*first at row 2 \(1-based\)"):
        encode_step_labels(np.array([[0, 1, 1], [-1, -1, -1]]), (2, 3, 1), None, spec, spec.path)
    with pytest.raises(DataError, match=r"label 2 at row 2 \(1-based\) is not one of the classes"):
        encode_step_labels(
            np.array([[0, 1, 1], [0, 2, -1]]),
            (2, 3, 1),
            None,
            NpzSource(path=spec.path, classes=[0, 1]),
            spec.path,
        )
