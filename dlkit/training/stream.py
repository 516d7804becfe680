"""The training input stream: one seeded shuffle per epoch, reproducible from any epoch.

``tf.data``'s ``reshuffle_each_iteration`` draws each epoch's order from a hidden counter, so a
resumed run would see different batches than an uninterrupted one. Here epoch ``e``'s order is
a stateless shuffle keyed by ``(seed, e)``: the stream from epoch ``k`` is exactly the tail of the stream
from epoch 0, and a resumed run trains on the same batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

    from dlkit.data.dataset import Dataset
    from dlkit.tasks.base import BatchSampler

# rows of a streamed table shuffled together: the memory a table's training stream holds
BLOCK_ROWS = 10_000


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches per epoch (the last one may be smaller)."""
    return max(1, math.ceil(n / batch_size))


def epoch_stream(
    x: Any,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    initial_epoch: int,
    epochs: int,
    weights: np.ndarray | None = None,
    sampler: BatchSampler | None = None,
) -> tf.data.Dataset:
    """Batches of ``(x, y)`` (``(x, y, weights)`` with per-example loss weights) for epochs
    ``initial_epoch .. epochs - 1``, one after the other.

    ``sampler``: a task's own batches (:meth:`dlkit.tasks.Task.batch_sampler`), drawn per epoch
    by position; ``shuffle`` and ``batch_size`` are then its business, and an epoch is its
    ``steps`` batches.

    ``x`` is an array or a tuple of arrays (a model with several inputs), one row per example.
    Fit it with ``steps_per_epoch=steps_per_epoch(len(y), batch_size)``: Keras then keeps one
    iterator across epochs instead of restarting the dataset.
    """
    import tensorflow as tf

    n = len(y)
    features, targets = tf.nest.map_structure(tf.constant, x), tf.constant(y)
    weighting = tf.constant(weights, tf.float32) if weights is not None else None

    # plain Python branching on `shuffle`; AutoGraph need not look at it
    @tf.autograph.experimental.do_not_convert
    def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
        if sampler is not None:
            drawn = tf.numpy_function(lambda e: sampler(int(e)).astype(np.int64), [epoch], tf.int64)
            return tf.data.Dataset.from_tensor_slices(tf.ensure_shape(drawn, (sampler.steps, None)))
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def gather(index: tf.Tensor) -> tuple[tf.Tensor, ...]:
        batch = tf.nest.map_structure(lambda t: tf.gather(t, index), features), tf.gather(targets, index)
        if weights is None:
            return batch
        return (*batch, tf.gather(weighting, index))

    epochs_ds = tf.data.Dataset.range(initial_epoch, epochs)
    return epochs_ds.flat_map(one_epoch).map(gather).prefetch(tf.data.AUTOTUNE)


def _epoch_key(seed: int, epoch: tf.Tensor) -> tf.Tensor:
    import tensorflow as tf

    return tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])


def streamed_epochs(
    data: Dataset,
    indices: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    initial_epoch: int,
    epochs: int,
    block_rows: int = BLOCK_ROWS,
    cache: Path | None = None,
) -> tf.data.Dataset:
    """Batches of ``(inputs, y)`` of a streamed source for epochs ``initial_epoch .. epochs - 1``.

    Inputs are read from the files every epoch; memory holds the file list (images) or one block
    of ``block_rows`` rows (tables) and a few batches, whatever the size of the set. Epoch ``e``'s
    order is keyed by ``(seed, e)`` as in :func:`epoch_stream`, so a resumed run sees the same
    batches. Fit it with ``steps_per_epoch=steps_per_epoch(len(indices), batch_size)``.

    Args:
        data: a streamed dataset (``data.stream``): an image folder or a CSV/Parquet table.
        indices: the examples to train on.
        batch_size: examples per batch (the last batch of an epoch may be smaller).
        shuffle: reorder every epoch (images: the whole file list; tables: within blocks).
        seed: the recipe's seed.
        initial_epoch: the first epoch to stream (a resumed run's completed epochs).
        epochs: the epoch after the last.
        block_rows: rows of a table shuffled together.
        cache: where the first epoch keeps a table's parsed rows
            (:func:`~dlkit.data.pipeline.stream_input_chunks`: a file prefix) or the decoded
            images (:func:`~dlkit.data.pipeline.cached_image_loads`: a folder, made here) on
            disk, for the later epochs to read back instead of parsing or decoding the files
            again; the batches are the same.
    """
    import tensorflow as tf

    from dlkit.data.pipeline import cached_image_loads, image_decoder, stream_input_chunks

    indices = np.sort(indices)
    targets = tf.constant(data.y[indices])
    n = len(indices)

    if data.kind == "image":
        assert data.files is not None
        paths = tf.constant(np.asarray(data.files[indices], dtype=str))
        decode = image_decoder(data)

        def image_epochs(image: Callable[[tf.Tensor], tf.Tensor]) -> Callable[[tf.Tensor], tf.data.Dataset]:
            @tf.autograph.experimental.do_not_convert
            def image_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
                # the file list is shuffled, not decoded images: the same order as epoch_stream
                order = tf.range(n, dtype=tf.int64)
                if shuffle:
                    order = tf.random.experimental.stateless_shuffle(order, seed=_epoch_key(seed, epoch))
                files = tf.data.Dataset.from_tensor_slices(order)
                load = files.map(
                    lambda i: (image(i), tf.gather(targets, i)),
                    num_parallel_calls=tf.data.AUTOTUNE,
                    deterministic=True,
                )
                return load.batch(batch_size)

            return image_epoch

        if cache is not None and epochs - initial_epoch > 1:
            # the first epoch decodes and keeps each image, the later ones read it back; an
            # epoch's last image is written before the next epoch's first is read (flat_map)
            cache.mkdir(parents=True, exist_ok=True)
            keep, read = cached_image_loads(data, paths, cache)
            first = tf.data.Dataset.range(initial_epoch, initial_epoch + 1).flat_map(image_epochs(keep))
            later = tf.data.Dataset.range(initial_epoch + 1, epochs).flat_map(image_epochs(read))
            return first.concatenate(later).prefetch(tf.data.AUTOTUNE)
        one_epoch = image_epochs(lambda i: decode(tf.gather(paths, i)))
    else:
        # whole chunks of rows, never one row at a time: rebatch(n) is unbatch().batch(n) in one copy
        chunks = stream_input_chunks(data, indices, cache)
        labels = tf.data.Dataset.from_tensor_slices(targets)

        @tf.autograph.experimental.do_not_convert
        def table_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
            if not shuffle:
                return tf.data.Dataset.zip((chunks.rebatch(batch_size), labels.batch(batch_size)))
            key = _epoch_key(seed, epoch)

            @tf.autograph.experimental.do_not_convert
            def mix(b: tf.Tensor, block: tuple[tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
                # block 0 keeps the epoch's key: a set within one block is ordered as in memory
                block_key = tf.where(b == 0, key, tf.random.experimental.stateless_fold_in(key, b))
                x, y = block
                order = tf.random.experimental.stateless_shuffle(
                    tf.range(tf.shape(y, tf.int64)[0]), seed=block_key
                )
                return tf.gather(x, order), tf.gather(y, order)

            blocks = tf.data.Dataset.zip((chunks.rebatch(block_rows), labels.batch(block_rows)))
            return blocks.enumerate().map(mix).rebatch(batch_size)

        one_epoch = table_epoch
    epochs_ds = tf.data.Dataset.range(initial_epoch, epochs)
    return epochs_ds.flat_map(one_epoch).prefetch(tf.data.AUTOTUNE)
