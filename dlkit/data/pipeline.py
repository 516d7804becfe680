"""``tf.data`` input pipelines: from arrays in memory, or streamed from files batch by batch."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dlkit.data._common import release_arrow_memory

if TYPE_CHECKING:
    import pyarrow as pa
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


# decoded images a streamed set keeps on disk (float32, as decoded and resized) so that later
# epochs read them instead of decoding the files again; a larger set is decoded every epoch
IMAGE_CACHE_BYTES = 4 << 30


def image_cache_fits(data: Dataset, n_images: int, folder: Path) -> bool:
    """Whether ``n_images`` decoded images of ``data`` fit :data:`IMAGE_CACHE_BYTES` and half of
    the free space where ``folder`` is."""
    import shutil

    height, width = data.options["image_size"]
    size = n_images * int(height) * int(width) * int(data.options["channels"]) * 4
    return size <= IMAGE_CACHE_BYTES and size <= shutil.disk_usage(folder).free // 2


def cached_image_loads(
    data: Dataset, paths: tf.Tensor, folder: Path
) -> tuple[Callable[[tf.Tensor], tf.Tensor], Callable[[tf.Tensor], tf.Tensor]]:
    """Two ``tf.data`` functions of an image's position in ``paths`` (files of ``data``): one
    decodes the file (:func:`image_decoder`) and writes the decoded image to ``folder`` (the
    first epoch), the other reads it back from there (the later ones: the same values, without
    decoding). ``folder`` exists, and the first epoch ends before a later one starts reading."""
    import tensorflow as tf

    decode = image_decoder(data)
    shape = (*data.options["image_size"], int(data.options["channels"]))
    prefix = f"{folder}/"

    def slot(i: tf.Tensor) -> tf.Tensor:
        return tf.strings.join([prefix, tf.strings.as_string(i), ".tensor"])

    def decode_and_keep(i: tf.Tensor) -> tf.Tensor:
        image = decode(tf.gather(paths, i))
        written = tf.io.write_file(slot(i), tf.io.serialize_tensor(image))
        with tf.control_dependencies([written]):
            return tf.identity(image)

    def read_back(i: tf.Tensor) -> tf.Tensor:
        image = tf.io.parse_tensor(tf.io.read_file(slot(i)), tf.float32)
        return tf.ensure_shape(image, shape)

    return decode_and_keep, read_back


def _image_inputs(data: Dataset, files: np.ndarray) -> tf.data.Dataset:
    import tensorflow as tf

    paths = tf.data.Dataset.from_tensor_slices(np.asarray(files, dtype=str))
    return paths.map(image_decoder(data), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


# rows a streamed Parquet table is read and filtered in at once: per-row tf.data steps (parse,
# filter, map) cost microseconds each, more than a small model's training step per row
CHUNK_ROWS = 8192
# bytes of a streamed CSV parsed at once: Arrow's reader reads up to 32 blocks ahead of the
# parser, so the block, not the file, bounds its memory (1 MiB blocks held up to 32 MiB of text)
CSV_BLOCK_BYTES = 128 << 10


def _csv_batches(data: Dataset) -> Iterator[pa.RecordBatch]:
    """The feature columns of a streamed CSV as float32 record batches, in file order.

    Arrow's CSV reader parses a block of text at a time in C++ (about 10x faster than
    ``tf.io.decode_csv`` on lines); an empty field is refused, as when the table is loaded whole.
    """
    import pyarrow as pa
    from pyarrow import csv

    options = data.options
    features: list[str] = options["features"]
    reader = csv.open_csv(
        options["path"],
        read_options=csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=csv.ParseOptions(delimiter=options["sep"]),
        convert_options=csv.ConvertOptions(
            include_columns=features,
            column_types=dict.fromkeys(features, pa.float32()),
            null_values=[""],
            quoted_strings_can_be_null=False,
        ),
    )
    for batch in reader:
        if any(column.null_count for column in batch.columns):
            raise ValueError(f"{options['path']}: an empty feature value in a streamed CSV")
        yield batch


def _coalesced(blocks: Iterator[np.ndarray], rows: int = CHUNK_ROWS) -> Iterator[np.ndarray]:
    """The same rows in arrays of at least ``rows`` rows (the last may be shorter): small parsed
    blocks joined, so that ``tf.data`` takes a step per chunk, not per block."""
    pending: list[np.ndarray] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        if held >= rows:
            yield pending[0] if len(pending) == 1 else np.concatenate(pending)
            pending, held = [], 0
    if pending:
        yield pending[0] if len(pending) == 1 else np.concatenate(pending)


def _float_rows(batch: pa.RecordBatch, features: list[str]) -> np.ndarray:
    """The ``features`` columns of a record batch as a `(rows, features)` float32 array."""
    columns = [
        batch.column(f).to_numpy(zero_copy_only=False).astype(np.float32, copy=False) for f in features
    ]
    return np.column_stack(columns).reshape(batch.num_rows, len(features))


def _parquet_rows(path: Path, features: list[str]) -> Iterator[np.ndarray]:
    """The feature rows of a streamed Parquet file in file order, from its columns transposed
    once (:mod:`dlkit.data._parquet_rows`: a column at a time in memory, not a row group)."""
    from dlkit.data._parquet_rows import column_file

    columns = column_file(path, features)
    if columns is not None:
        yield from columns.chunks(CHUNK_ROWS)
        return
    import pyarrow.parquet as pq  # a type the transposition leaves alone (float16): read as it is

    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK_ROWS, columns=features):
        yield _float_rows(batch, features)


def _table_chunks(data: Dataset, keep: np.ndarray, cache: Path | None = None) -> tf.data.Dataset:
    """Feature rows of a CSV (Arrow's CSV reader) or Parquet file (record batches), ``keep``
    rows only, in chunks: `(k, features)` float32 arrays in file order (k may be 0).

    ``cache``: a file prefix the parsed chunks are written to on the first complete pass and
    read back from on later ones (see :func:`stream_input_chunks`)."""
    import tensorflow as tf

    options = data.options
    features: list[str] = options["features"]

    def chunks():  # type: ignore[no-untyped-def]
        if options["format"] == "csv":
            rows = _coalesced(_float_rows(batch, features) for batch in _csv_batches(data))
        else:
            rows = _parquet_rows(Path(options["path"]), features)
        start = 0
        for values in rows:
            yield values[keep[start : start + len(values)]]
            start += len(values)
        release_arrow_memory()  # what the reader kept for reuse would stay resident until the next pass

    # read ahead in the background: the next chunk is parsed while the model trains on this one
    parsed = tf.data.Dataset.from_generator(
        chunks, output_signature=tf.TensorSpec((None, len(features)), tf.float32)
    ).prefetch(2)
    return parsed if cache is None else parsed.cache(str(cache))


def stream_input_chunks(data: Dataset, indices: np.ndarray, cache: Path | None = None) -> tf.data.Dataset:
    """A streamed table's inputs at ``indices`` (sorted), in file order, read in chunks of rows.

    Args:
        data: a streamed table.
        indices: sorted example indices.
        cache: a file prefix in a folder that exists (``<run>/scratch/train``): the first pass
            that reads every chunk writes the set's parsed rows there, binary float32, and later
            passes read them back instead of parsing the file again; on disk, not in memory.
            ``tf.data`` discards what a pass left unfinished, and a killed process leaves a lock
            file that makes the next pass fail: give each process a fresh folder.

    Returns:
        A ``tf.data.Dataset`` of `(k, features)` arrays; ``.rebatch(n)`` makes batches of ``n``
        rows, ``.unbatch()`` single rows.
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    keep = np.zeros(data.n_examples, dtype=bool)
    keep[indices] = True
    return _table_chunks(data, keep, cache)


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
    data: Dataset,
    indices: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    cache: Path | None = None,
) -> tf.data.Dataset:
    """Batches of ``(inputs, y)`` for the examples at ``indices``, streamed from the files.

    Memory holds one shuffle buffer (at most 10,000 examples) and a few batches, whatever the
    size of the data. ``cache``: for a set read in order, a file prefix where its parsed rows
    (:func:`stream_input_chunks`) or decoded images are kept on disk for the next pass.
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
        if cache is not None and not shuffle:  # in order: decoded once, read back on later passes
            ds = ds.cache(str(cache))
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    labels = tf.data.Dataset.from_tensor_slices(data.y[indices])
    if not shuffle:
        # cut from whole chunks (the batches of unbatch().batch(), without a tf.data step a row)
        chunks = stream_input_chunks(data, indices, cache).rebatch(batch_size)
        batches = tf.data.Dataset.zip((chunks, labels.batch(batch_size)))
        n_batches = -(-len(np.unique(indices)) // batch_size)
        return batches.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(tf.data.AUTOTUNE)
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
