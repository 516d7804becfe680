"""Saving a trained model's ``.keras`` file: ``dlkit train``'s final model and every tuning trial's.

Keras 3 walks the model's objects to save them, skipping for each kind of object (layer,
functional or sequential model, metric, optimizer, loss...) the attributes its base class has.
It lists those by constructing a reference object of the base class (a ``Layer``, a ``Metric``
and ``CompileMetrics``, an ``Optimizer`` with its variables...) and is meant to keep the list in
its global state, but stores it under one key (``saving_attr_skipset_<kind>``) and looks for it
under another (``saving_attr_skiplist_<kind>``): the reference objects are built again for every
object saved, 20 to 45% of the time it takes to save a small model (BENCHMARKS.md, "Tuning
overhead", fourth pass). The lists depend only on Keras's base classes: they are made once per
process, by Keras's own function, and put where Keras looks before each save (Keras's global
state is per thread and emptied by every ``clear_session``, so it is put there again each time).
The file written is the one ``model.save`` writes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

# the kinds of object Keras's get_attr_skipset knows (keras/src/saving/saving_lib.py)
_KINDS = ("Operation", "Layer", "Functional", "Sequential", "Metric", "Optimizer", "Loss", "Cross", "Feature")
_KEYS = ("saving_attr_skiplist_{}", "saving_attr_skipset_{}")  # the key Keras reads, the one it writes
_skipsets: dict[str, Any] | None = None


def _known_skipsets() -> dict[str, Any]:
    """Each kind's attribute skip set, as Keras's own function makes it; made once per process.
    None is known on a Keras without that function (its save then works as it always did)."""
    global _skipsets
    if _skipsets is None:
        sets: dict[str, Any] = {}
        try:
            from keras.src.saving.saving_lib import get_attr_skipset
        except ImportError:
            get_attr_skipset = None
        for kind in _KINDS if get_attr_skipset is not None else ():
            try:
                sets[kind] = frozenset(get_attr_skipset(kind))
            except Exception:  # a kind this Keras does not know: it makes that one itself
                log.debug("no attribute skip set for %s", kind, exc_info=True)
        _skipsets = sets
    return _skipsets


def remember_skipsets() -> None:
    """Put the attribute skip sets where Keras's saving looks for them, on this thread."""
    from keras.src.backend.common import global_state

    for kind, skipset in _known_skipsets().items():
        for key in _KEYS:
            global_state.set_global_attribute(key.format(kind), skipset)


def save_model(model: keras.Model, path: Path) -> None:
    """``model.save(path)``, without Keras rebuilding its reference objects for every object saved."""
    remember_skipsets()
    model.save(path)
