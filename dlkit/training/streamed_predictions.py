"""Predictions of a streamed set, scored and written chunk by chunk.

The same per-example columns and per-set metrics as the task's ``score`` on the whole set,
but the inputs are read batch by batch from the files and the predictions
frame is appended to the Parquet file one chunk at a time, so neither is held whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dlkit.tasks import task_for

if TYPE_CHECKING:
    import keras

    from dlkit.data.dataset import Dataset

# examples scored and written together (a row group of the predictions file)
CHUNK = 8192


class _Totals:
    """Sums from which a set's metrics are the means :func:`score` reports."""

    def __init__(self) -> None:
        self.n = 0
        self.loss = 0.0
        self.correct = 0
        self.abs_error = 0.0

    def add(self, frame: object) -> None:
        import pandas as pd

        assert isinstance(frame, pd.DataFrame)
        self.n += len(frame)
        self.loss += float(frame["loss"].sum())
        if "correct" in frame.columns:
            self.correct += int(frame["correct"].sum())
        else:
            self.abs_error += float((frame["y_pred"] - frame["y_true"]).abs().sum())

    def metrics(self, classifies: bool) -> dict[str, float]:
        nan = float("nan")
        loss = self.loss / self.n if self.n else nan
        if not classifies:
            mae = self.abs_error / self.n if self.n else nan
            return {"n": self.n, "loss": loss, "mse": loss, "mae": mae, "error": loss}
        accuracy = self.correct / self.n if self.n else nan
        return {"n": self.n, "loss": loss, "accuracy": accuracy, "error": 1 - accuracy}


def write_streamed_predictions(
    model: keras.Model,
    data: Dataset,
    indices: np.ndarray,
    path: Path,
    batch_size: int,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Predict the examples at ``indices`` in inference mode, batch by batch, into ``path``.

    Args:
        model: the trained model.
        data: a streamed dataset (``data.stream``).
        indices: the set's example indices (sorted, as :meth:`SplitResult.indices` gives them).
        path: the predictions file (``predictions/<set>.parquet``; CSV for a ``.csv`` path).
        batch_size: examples per batch read and predicted (the training batch size: what fits).
        on_progress: called with the number of examples written after each chunk.

    Returns:
        The set's metrics, as the task's ``score`` computes them on the whole set.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dlkit.data.pipeline import make_stream

    task = task_for(data.task)
    indices = np.sort(indices)
    totals = _Totals()
    writer: pq.ParquetWriter | None = None
    outputs: list[np.ndarray] = []
    done = 0
    csv = path.suffix.lower() == ".csv"

    def flush() -> None:
        nonlocal writer, done
        chunk = indices[done : done + sum(len(o) for o in outputs)]
        frame = task.score(np.concatenate(outputs), data.y[chunk], data).frame
        frame.insert(0, "id", data.ids[chunk])
        for col in data.metadata.columns:
            frame[str(col)] = data.metadata[col].to_numpy()[chunk]
        totals.add(frame)
        if not data.labelled:
            frame = task.without_truth(frame)
        if csv:
            frame.to_csv(path, mode="a" if done else "w", header=not done, index=False)
        elif writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        else:
            writer.write_table(pa.Table.from_pandas(frame, schema=writer.schema, preserve_index=False))
        done += len(chunk)
        outputs.clear()
        if on_progress is not None:
            on_progress(done)

    try:
        for x, _ in make_stream(data, indices, batch_size):
            outputs.append(np.asarray(model.predict_on_batch(x)))
            if sum(len(o) for o in outputs) >= CHUNK:
                flush()
        if outputs:
            flush()
    finally:
        if writer is not None:
            writer.close()
    return totals.metrics(task.classifies)
