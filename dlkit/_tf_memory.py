"""Free what TensorFlow keeps, process-wide, from a model that is gone.

Every traced train step of a Keras 3 model on the TensorFlow backend all-reduces its gradients
through ``tf.distribute``'s default replica context, which wraps the reduction in
``tf.custom_gradient``. In graph mode (inside ``tf.function``) ``tf.custom_gradient`` registers a
fresh gradient function, ``CustomGradient-<uid>``, in TensorFlow's global gradient registry and
never removes it; the function's closure holds the traced ``FuncGraph`` with all its operations.
So each model trained in a process leaves its train-step graphs behind (about 5 MB for a small
MLP on digits), whatever ``keras.backend.clear_session()`` and ``gc.collect()`` do. A loop that
trains many models in one process (a tuning study, K-fold retraining) grows without bound.

:func:`released_custom_gradients` removes the entries registered while its block ran. They are
only looked up when TensorFlow differentiates the graph that created them, so they are dead once
that block's model has finished training.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)

_PREFIX = "CustomGradient-"


def _gradient_registry() -> dict[str, object] | None:
    """TensorFlow's global op-type -> gradient function table, or None if it moved."""
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def custom_gradient_count() -> int:
    """How many ``tf.custom_gradient`` registrations the process holds (0 if unknown)."""
    registry = _gradient_registry()
    return 0 if registry is None else sum(name.startswith(_PREFIX) for name in registry)


@contextlib.contextmanager
def released_custom_gradients() -> Iterator[None]:
    """Drop the ``tf.custom_gradient`` registrations made inside the block when it ends.

    Use it around the whole life of a model (build, fit, evaluate, save): no gradient of that
    model's graphs can be taken after the block.
    """
    registry = _gradient_registry()
    if registry is None:  # a TensorFlow without the private table: nothing we can free
        log.debug("tensorflow's gradient registry not found; custom gradients are not released")
        yield
        return
    before = set(registry)
    try:
        yield
    finally:
        for name in [n for n in registry if n.startswith(_PREFIX) and n not in before]:
            registry.pop(name, None)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects alive now out of the garbage collector's full scans inside the block.

    TensorFlow and Keras create about half a million long-lived objects at import, so every
    full collection (one per ``keras.backend.clear_session()``) scans them all: about half a second
    per trial on a small model. Objects created inside the block are collected as usual; on exit
    the frozen objects go back under the collector (:func:`gc.unfreeze`).
    """
    import gc

    gc.collect()  # nothing that is already garbage gets frozen
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
