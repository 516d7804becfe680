"""Task trigger_word scores known outputs; other tasks refuse its per-step model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dlkit.errors import RecipeError
from dlkit.tasks import task_for


def test_scores_detections_and_times_of_known_outputs() -> None:
    task = task_for("trigger_word")
    data = SimpleNamespace(options={"step_seconds": 0.5})
    y = np.zeros((2, 8), dtype=np.float32)
    y[0, 2:4] = 1  # clip 0: one trigger, labels from 1.0 s
    y[1, 5:7] = 1  # clip 1: one trigger, labels from 2.5 s
    outputs = np.full((2, 8, 1), 0.1)
    outputs[0, 2:4, 0] = 0.9  # found exactly
    outputs[1, 1, 0] = 0.8  # a false detection at 0.5 s, and the trigger missed
    scored = task.score(outputs, y, data)
    frame = scored.frame
    assert frame["y_true"].tolist() == [[1.0], [2.5]]
    assert frame["y_pred"].tolist() == [[1.0], [0.5]]
    assert frame["missed"].tolist() == [0, 1] and frame["false_detections"].tolist() == [0, 1]
    assert frame["correct"].tolist() == [True, False]
    assert frame["f1"].tolist() == [1.0, 0.0]
    m = scored.metrics
    # steps: tp 2, fp 1, fn 2 -> precision 2/3, recall 1/2; 13 of 16 steps right
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(4 / 7) and m["error"] == pytest.approx(3 / 7)
    assert m["accuracy"] == pytest.approx(13 / 16)
    assert m["missed"] == 1 and m["false_detections"] == 1 and m["detections_per_clip"] == 1.0
    assert m["loss"] == pytest.approx(frame["loss"].mean())
    baseline = task.baseline_metrics(y, y)
    assert baseline == {"baseline_accuracy": pytest.approx(12 / 16), "baseline_f1": 0.0}
    assert task.example_errors(frame, "f1").tolist() == [0.0, 1.0]


def test_other_tasks_refuse_the_per_step_model() -> None:
    recipe = SimpleNamespace(model=SimpleNamespace(type="conv_gru"))
    with pytest.raises(RecipeError, match=r"model\.type: conv_gru predicts one output per time step"):
        task_for("binary").check(recipe, SimpleNamespace())  # type: ignore[arg-type]
