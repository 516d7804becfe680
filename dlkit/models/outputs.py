"""A model's outputs on in-memory inputs: ``model.predict``'s batches and compiled function, less its costs.

``model.predict`` builds a ``tf.data`` pipeline over its inputs on every call and traces its
predict function once per new batch shape (the full batches, then a smaller last batch). A run
predicts train, train-dev, dev and test one after the other, and a tuning study does that for
every trial; on a small table this costs more than the predictions themselves. Here the model's
own predict function (``model.predict_on_batch``: the same ``predict_step``, inference mode, XLA
when the model compiles with it) runs on the same batches, sliced from the arrays, after one
trace with the batch dimension left open, so every set and batch size reuses it. The outputs are
those of ``model.predict``, bit for bit: the batches are the same, so is the function.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)


def _model_input(x: Any) -> Any:
    """An array or tensor as ``model.predict``'s data adapter hands it to the model: floats in
    Keras's floatx."""
    import keras

    floatx = keras.config.floatx()
    if keras.backend.is_float_dtype(x.dtype) and keras.backend.standardize_dtype(x.dtype) != floatx:
        return x.astype(floatx) if isinstance(x, np.ndarray) else keras.ops.cast(x, floatx)
    return x


def _trace_open_batch(model: keras.Model, x: Any) -> None:
    """Trace the model's predict function once for any number of examples (the batch dimension
    unknown), so that neither a smaller last batch nor another set traces it again."""
    import keras
    import tensorflow as tf

    def spec(a: Any) -> tf.TensorSpec:
        dtype = tf.string if a.dtype == object else tf.as_dtype(a.dtype)
        return tf.TensorSpec((None, *tuple(a.shape)[1:]), dtype)

    model.make_predict_function()
    function = model.predict_function
    if not hasattr(function, "get_concrete_function"):  # run_eagerly: a plain Python function
        return
    signature = keras.tree.map_structure(spec, x)
    if getattr(function, _TRACED_FOR, None) == signature:
        return  # traced for these inputs already (another set, or a kept model's earlier trial)
    try:
        function.get_concrete_function([(signature,)])
        setattr(function, _TRACED_FOR, signature)
    except Exception:  # a model that needs a known batch size: traced per shape on first use instead
        log.debug("predict function of %s not traced with an open batch size", model.name, exc_info=True)


# the inputs a predict function was traced for with an open batch size (looking the trace up
# again in TensorFlow's cache costs about a millisecond a set)
_TRACED_FOR = "_dlkit_open_batch"


def predict_arrays(model: keras.Model, x: Any, batch_size: int) -> Any:
    """``model.predict(x, batch_size=batch_size)``'s outputs, without its input pipeline.

    Args:
        model: a built (compiled or loaded) Keras model.
        x: the inputs: an array `(n, ...)`, or a tuple, list or dict of them (several inputs).
        batch_size: examples per call of the model (the last batch may be smaller).

    Returns:
        What ``model.predict`` returns: an array `(n, ...)`, or the model's structure of them.
        Inputs it cannot slice (neither NumPy arrays nor dense tensors), no examples, or a model
        that spreads its batches over several replicas go to ``model.predict`` itself.
    """
    import keras
    import tensorflow as tf

    leaves = keras.tree.flatten(x)
    # NumPy arrays and dense tensors (a table's string columns) slice; anything else goes whole
    sliceable = bool(leaves) and all(isinstance(a, np.ndarray | tf.Tensor) for a in leaves)
    n = int(leaves[0].shape[0]) if sliceable else 0
    if n == 0 or model.distribute_strategy.num_replicas_in_sync > 1:
        return model.predict(x, batch_size=batch_size, verbose=0)
    x = keras.tree.map_structure(_model_input, x)
    _trace_open_batch(model, x)
    parts = [
        model.predict_on_batch(keras.tree.map_structure(lambda a, i=start: a[i : i + batch_size], x))
        for start in range(0, n, batch_size)
    ]
    if len(parts) == 1:
        return parts[0]
    return keras.tree.map_structure(lambda *batches: np.concatenate(batches), *parts)
