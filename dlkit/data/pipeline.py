"""``tf.data`` input pipelines: from arrays in memory, or streamed from files batch by batch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

    from dlkit.data.dataset import Dataset

log = logging.getLogger(__name__)
SHUFFLE_BUFFER = 10_000


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of ``(x, y)``, reshuffled every epoch when ``shuffle`` (seeded), prefetched."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def image_decoder(data: Dataset) -> Callable[[tf.Tensor], tf.Tensor]:
    """The ``tf.data`` function that reads, decodes and resizes one image file of ``data``."""
    import tensorflow as tf

    height, width = data.options["image_size"]
    channels = int(data.options["channels"])

    def load(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        image = tf.image.resize(tf.cast(image, tf.float32), (height, width), method="bilinear")
        return tf.ensure_shape(image, (height, width, channels))

    return load


def _image_inputs(data: Dataset, files: np.ndarray) -> tf.data.Dataset:
    import tensorflow as tf

    paths = tf.data.Dataset.from_tensor_slices(np.asarray(files, dtype=str))
    return paths.map(image_decoder(data), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


# rows a streamed table is parsed and filtered in at once: per-row tf.data steps (parse, filter,
# map) cost microseconds each, more than a small model's training step per row
CHUNK_ROWS = 8192


def _table_chunks(data: Dataset, keep: np.ndarray) -> tf.data.Dataset:
    """Feature rows of a CSV (lines parsed with ``decode_csv``) or Parquet file (record batches),
    ``keep`` rows only, in chunks: `(k, features)` float32 arrays in file order (k may be 0)."""
    import tensorflow as tf

    options = data.options
    features: list[str] = options["features"]
    if options["format"] == "csv":
        import pandas as pd

        header = [str(c) for c in pd.read_csv(options["path"], sep=options["sep"], nrows=0).columns]
        select = [header.index(f) for f in features]
        unsort = np.argsort(np.argsort(select))  # decode_csv yields selected columns in file order
        # an empty default: every value is required (an empty field is an error, as loaded whole)
        required = [tf.constant([], tf.float32)] * len(features)
        lines = tf.data.TextLineDataset(options["path"]).skip(1)  # the header
        masks = tf.data.Dataset.from_tensor_slices(keep).batch(CHUNK_ROWS)

        # plain tensor functions: AutoGraph has nothing to convert
        @tf.autograph.experimental.do_not_convert
        def kept(chunk: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
            columns = tf.io.decode_csv(
                chunk, record_defaults=required, field_delim=options["sep"], select_cols=sorted(select)
            )
            return tf.boolean_mask(tf.gather(tf.stack(columns, axis=1), unsort, axis=1), mask)

        # whole chunks of lines parsed at once: three times faster than CsvDataset's row by row
        return tf.data.Dataset.zip((lines.batch(CHUNK_ROWS), masks)).map(kept)

    import pyarrow.parquet as pq

    def chunks():  # type: ignore[no-untyped-def]
        start = 0
        for batch in pq.ParquetFile(options["path"]).iter_batches(batch_size=CHUNK_ROWS, columns=features):
            values = batch.to_pandas()[features].to_numpy(dtype=np.float32)
            yield values[keep[start : start + len(values)]]
            start += len(values)

    return tf.data.Dataset.from_generator(
        chunks, output_signature=tf.TensorSpec((None, len(features)), tf.float32)
    )


def stream_input_chunks(data: Dataset, indices: np.ndarray) -> tf.data.Dataset:
    """A streamed table's inputs at ``indices`` (sorted), in file order, read in chunks of rows.

    Returns:
        A ``tf.data.Dataset`` of `(k, features)` arrays; ``.rebatch(n)`` makes batches of ``n``
        rows, ``.unbatch()`` single rows.
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    keep = np.zeros(data.n_examples, dtype=bool)
    keep[indices] = True
    return _table_chunks(data, keep)


def stream_inputs(data: Dataset, indices: np.ndarray) -> tf.data.Dataset:
    """Inputs of the examples at ``indices`` (in file order), read from disk one at a time.

    Args:
        data: a streamed dataset (``data.stream``): an image folder or a table.
        indices: sorted example indices.

    Returns:
        An unbatched ``tf.data.Dataset`` of input tensors, one per index.
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    if data.kind == "image":
        assert data.files is not None
        return _image_inputs(data, data.files[indices])
    import tensorflow as tf

    # the chunks hide the length; stating it lets Keras know where an epoch of dev ends
    rows = stream_input_chunks(data, indices).unbatch()
    return rows.apply(tf.data.experimental.assert_cardinality(len(np.unique(indices))))


def make_stream(
    data: Dataset, indices: np.ndarray, batch_size: int, *, shuffle: bool = False, seed: int = 0
) -> tf.data.Dataset:
    """Batches of ``(inputs, y)`` for the examples at ``indices``, streamed from the files.

    Memory holds one shuffle buffer (at most 10,000 examples) and a few batches, whatever the
    size of the data.
    """
    import tensorflow as tf

    indices = np.sort(indices)
    if data.kind == "image":
        # shuffle the file list (cheap), not decoded images: a full shuffle with nothing buffered
        assert data.files is not None
        files = tf.data.Dataset.from_tensor_slices(
            (np.asarray(data.files[indices], dtype=str), data.y[indices])
        )
        if shuffle:
            files = files.shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)
        decode = image_decoder(data)
        ds = files.map(lambda path, y: (decode(path), y), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    labels = tf.data.Dataset.from_tensor_slices(data.y[indices])
    ds = tf.data.Dataset.zip((stream_inputs(data, indices), labels))
    if shuffle:
        # rows of a table arrive in file order: a bounded buffer mixes them (10,000 rows)
        ds = ds.shuffle(min(len(indices), SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def inputs(data: Dataset, indices: np.ndarray) -> np.ndarray:
    """The inputs at ``indices`` as an array: sliced from memory, or read through the stream.

    For a streamed source this reads the whole of ``indices`` into memory: meant for small
    subsets (gradcheck, lr-find, folds); ``dlkit train`` streams its sets instead
    (:func:`dlkit.training.stream.streamed_epochs`).
    """
    if not data.stream:
        return data.x[indices]
    log.info("reading %d streamed examples into memory for training", len(indices))
    order = np.argsort(indices, kind="stable")
    rows = np.stack(list(stream_inputs(data, np.sort(indices)).as_numpy_iterator())) if len(indices) else None
    if rows is None:
        return np.zeros((0, *data.input_shape), dtype=np.float32)
    out = np.empty_like(rows)
    out[order] = rows
    return out
