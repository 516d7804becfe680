"""The training input stream: one seeded shuffle per epoch, reproducible from any epoch.

``tf.data``'s ``reshuffle_each_iteration`` draws each epoch's order from a hidden counter, so a
resumed run would see different batches than an uninterrupted one. Here epoch ``e``'s order is
a stateless shuffle keyed by ``(seed, e)``: the stream from epoch ``k`` is exactly the tail of the stream
from epoch 0, and a resumed run trains on the same batches.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches per epoch (the last one may be smaller)."""
    return max(1, math.ceil(n / batch_size))


def epoch_stream(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    initial_epoch: int,
    epochs: int,
) -> tf.data.Dataset:
    """Batches of ``(x, y)`` for epochs ``initial_epoch .. epochs - 1``, one after the other.

    Fit it with ``steps_per_epoch=steps_per_epoch(len(x), batch_size)``: Keras then keeps one
    iterator across epochs instead of restarting the dataset.
    """
    import tensorflow as tf

    n = len(x)
    features, targets = tf.constant(x), tf.constant(y)

    # plain Python branching on `shuffle`; AutoGraph need not look at it
    @tf.autograph.experimental.do_not_convert
    def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def gather(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.gather(features, index), tf.gather(targets, index)

    epochs_ds = tf.data.Dataset.range(initial_epoch, epochs)
    return epochs_ds.flat_map(one_epoch).map(gather).prefetch(tf.data.AUTOTUNE)
