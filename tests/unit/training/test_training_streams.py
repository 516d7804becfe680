"""A study's trials keep their training pipelines while the arguments stay the same."""

from __future__ import annotations

import numpy as np

from dlkit.data.dataset import Dataset
from dlkit.training.pipeline import TrainingStreams
from dlkit.training.spec import TrainSpec


def _batches(stream, n: int) -> list[np.ndarray]:
    return [y.numpy() for _, y in stream.take(n)]


def test_the_same_arguments_reuse_the_pipelines_and_their_batches_do_not_change() -> None:
    rng = np.random.default_rng(0)
    data = Dataset(
        x=rng.normal(size=(30, 3)).astype("float32"),
        y=np.arange(30) % 2,
        ids=np.arange(30),
        task="binary",
        kind="tabular",
        classes=[0, 1],
        content_hash="",
        description="30 rows",
    )
    spec = TrainSpec(epochs=2, batch_size=8)
    train, dev = np.arange(20), np.arange(20, 30)
    streams = TrainingStreams()
    first = streams(spec, data, train, dev, seed=3)
    batches = _batches(first[0], 6)  # two epochs of 3 batches
    # new index arrays with the same values (each trial asks the split again): the same pipelines
    again = streams(spec, data, np.arange(20), np.arange(20, 30), seed=3)
    assert again is first
    assert all(np.array_equal(a, b) for a, b in zip(_batches(again[0], 6), batches, strict=True))
    assert streams(spec.model_copy(update={"epochs": 3}), data, train, dev, seed=3) is not first
    assert streams(spec, data, np.arange(18), dev, seed=3)[2] == 3  # other rows: built anew
    weights = np.ones(20, dtype=np.float32)
    weighted = streams(spec, data, train, dev, seed=3, weights=weights)
    assert len(weighted[0].element_spec) == 3  # (x, y, weight)
    assert streams(spec, data, train, dev, seed=3, weights=weights.copy()) is weighted
