"""The one latency meter: the median time to predict one example, in inference mode."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def latency_ms(model: Any, x: Any = None, repeats: int = 30) -> float:
    """Median inference time of one example, in ms, after a warm-up.

    Args:
        model: a Keras model.
        x: one example in the model's input form (an array, or a tuple for several inputs);
            None: zeros of each input's shape and dtype (unknown lengths taken as 1).
        repeats: timed calls.
    """
    if x is None:
        zeros = [_zeros(t) for t in model.inputs]
        if isinstance(model.input, dict):  # named inputs (typed table columns)
            import tensorflow as tf

            x = {t.name: tf.convert_to_tensor(z) for t, z in zip(model.inputs, zeros, strict=True)}
        else:
            x = zeros[0] if len(zeros) == 1 else tuple(zeros)
    for _ in range(3):  # graph tracing and allocation are not latency
        model(x, training=False)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x, training=False)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def _zeros(t: Any) -> Any:
    """One example of zeros (empty strings for a string input) of the input ``t``'s shape."""
    shape = (1, *(d or 1 for d in t.shape[1:]))
    if str(t.dtype) == "string":
        import tensorflow as tf

        return tf.fill(shape, "")
    return np.zeros(shape, dtype=str(t.dtype))
