"""Predictions of a streamed set, scored and written chunk by chunk.

The same per-example columns and per-set metrics as the task's ``score`` on the whole set,
but the inputs are read batch by batch from the files and the predictions
frame is appended to the Parquet file one chunk at a time, so the inputs are never held whole
(the task's few columns per example are, in arrays made once for the set: AUC and F1 need
every prediction at once).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit.data._common import release_arrow_memory
from dlkit.tasks import task_for

if TYPE_CHECKING:
    import keras
    import pandas as pd

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
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dlkit.data.pipeline import make_stream

    task = task_for(data.task)
    indices = np.sort(indices)
    # the task's own columns of every chunk (no inputs, ids or metadata): what the set's metrics need
    scored = SetColumns(len(indices))
    writer: pq.ParquetWriter | None = None
    outputs: list[np.ndarray] = []
    done = 0
    csv = path.suffix.lower() == ".csv"

    def flush() -> None:
        nonlocal writer, done
        chunk = indices[done : done + sum(len(o) for o in outputs)]
        frame = task.score(np.concatenate(outputs), data.y[chunk], data).frame
        scored.add(frame, done)
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
        release_arrow_memory()  # the chunks' tables, freed but kept by Arrow's allocator
    whole = scored.frame() if done else task.score(np.zeros((0, 1)), data.y[:0], data).frame
    return task.frame_metrics(whole, data.classes)


class SetColumns:
    """A set's per-example columns, gathered chunk by chunk in arrays made once for the set.

    Numbers and booleans keep their dtype (the metrics read the same values); any other column
    (class labels) is held as integer codes into its distinct values and given back as a
    categorical column, whose values are the same objects. Against the chunks' frames joined at
    the end, memory holds no copy of the set and no Python object per label.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._numbers: dict[str, np.ndarray] = {}
        self._codes: dict[str, np.ndarray] = {}
        self._values: dict[str, dict[object, int]] = {}
        self._order: list[str] = []

    def add(self, frame: pd.DataFrame, start: int) -> None:
        """The chunk ``frame`` (the task's columns) as rows ``start`` onwards."""
        import pandas as pd

        stop = start + len(frame)
        for name in map(str, frame.columns):
            column = frame[name]
            if name not in self._order:
                self._order.append(name)
                if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
                    self._numbers[name] = np.empty(self.n, dtype=column.dtype)
                else:
                    self._codes[name] = np.empty(self.n, dtype=np.int32)
                    self._values[name] = {}
            if name in self._numbers:
                self._numbers[name][start:stop] = column.to_numpy()
                continue
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            known = self._values[name]
            mapped = np.array([known.setdefault(v, len(known)) for v in uniques] + [-1], dtype=np.int32)
            self._codes[name][start:stop] = mapped[codes]

    def frame(self) -> pd.DataFrame:
        """The set's columns, in the order the chunks had them."""
        import pandas as pd

        columns: dict[str, Any] = {}
        for name in self._order:
            if name in self._numbers:
                columns[name] = self._numbers[name]
            else:
                categories = pd.Index(list(self._values[name]), dtype=object)
                columns[name] = pd.Categorical.from_codes(self._codes[name], categories=categories)
        return pd.DataFrame(columns, copy=False)
