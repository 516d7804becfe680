"""A streamed set's columns gathered chunk by chunk give the metrics of the whole set's frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlkit.data.dataset import Dataset
from dlkit.tasks import task_for
from dlkit.training.streamed_predictions import SetColumns


def _data(task: str, classes: list[object]) -> Dataset:
    return Dataset(
        x=np.zeros((0, 1)),
        y=np.zeros(0),
        ids=np.zeros(0),
        task=task,
        kind="tabular",  # type: ignore[arg-type]
        classes=classes,
        content_hash="",
        description="",
    )


@pytest.mark.parametrize(
    ("task", "classes", "width"),
    [
        ("binary", [0, 1], 1),
        ("binary", ["no", "yes"], 1),
        ("multiclass", ["a", "b", "c"], 3),
        ("regression", [], 1),
    ],
)
def test_gathered_columns_give_the_metrics_of_the_joined_frames(
    task: str, classes: list[object], width: int
) -> None:
    rng = np.random.default_rng(0)
    scorer, data = task_for(task), _data(task, classes)
    n, chunk = 50, 16
    outputs = rng.random((n, width))
    if width > 1:
        outputs /= outputs.sum(axis=1, keepdims=True)
    y = rng.integers(0, max(len(classes), 2), size=n) if classes else rng.normal(size=n)
    y[:chunk] = 0  # a chunk without every class: its labels' codes must still line up
    frames, gathered = [], SetColumns(n)
    for start in range(0, n, chunk):
        frame = scorer.score(outputs[start : start + chunk], y[start : start + chunk], data).frame
        frames.append(frame)
        gathered.add(frame, start)
    joined = pd.concat(frames, ignore_index=True)
    expected = scorer.frame_metrics(joined, classes)
    assert expected == scorer.score(outputs, y, data).metrics
    assert scorer.frame_metrics(gathered.frame(), classes) == expected
    assert list(gathered.frame().columns) == list(joined.columns)
