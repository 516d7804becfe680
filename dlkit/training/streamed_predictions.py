"""Predictions of a streamed set, scored and written chunk by chunk.

The same per-example columns and per-set metrics as the task's ``score`` on the whole set,
but the inputs are read batch by batch from the files and the predictions
frame is appended to the Parquet file one chunk at a time, so the inputs are never held whole
(the task's few columns per example are: AUC and F1 need every prediction at once).
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
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dlkit.data.pipeline import make_stream

    task = task_for(data.task)
    indices = np.sort(indices)
    # the task's own columns of every chunk (no inputs, ids or metadata): what the set's metrics need
    scored: list[pd.DataFrame] = []
    writer: pq.ParquetWriter | None = None
    outputs: list[np.ndarray] = []
    done = 0
    csv = path.suffix.lower() == ".csv"

    def flush() -> None:
        nonlocal writer, done
        chunk = indices[done : done + sum(len(o) for o in outputs)]
        frame = task.score(np.concatenate(outputs), data.y[chunk], data).frame
        scored.append(frame.copy())
        frame.insert(0, "id", data.ids[chunk])
        for col in data.metadata.columns:
            frame[str(col)] = data.metadata[col].to_numpy()[chunk]
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
    whole = (
        pd.concat(scored, ignore_index=True)
        if scored
        else task.score(np.zeros((0, 1)), data.y[:0], data).frame
    )
    return task.frame_metrics(whole, data.classes)
