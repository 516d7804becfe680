"""Import TensorFlow once, without its native start-up chatter on stderr.

TensorFlow's C++ runtime prints notes (oneDNN, missing CUDA drivers) before its logging is
initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot filter them. File descriptor 2 is pointed at
/dev/null for the duration of the import only; an import failure still raises as usual.
Set ``DLKIT_TF_LOGS=1`` to see the notes.

The import takes seconds; the CLI shows that it is under way through :func:`announce_import`
(core code never prints).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from types import ModuleType
from typing import TextIO

# what shows the import is under way: given a stream to the terminal's stderr (fd 2 itself is
# silenced meanwhile), it returns a context manager around the import
_announce: Callable[[TextIO], AbstractContextManager[object]] | None = None


def announce_import(announce: Callable[[TextIO], AbstractContextManager[object]] | None) -> None:
    """Have ``announce(stream)`` wrap TensorFlow's first import in this process (None: nothing)."""
    global _announce
    _announce = announce


@contextlib.contextmanager
def _announced(stderr_fd: int) -> Iterator[None]:
    if _announce is None:
        yield
        return
    with os.fdopen(os.dup(stderr_fd), "w", encoding="utf-8", errors="replace") as stream, _announce(stream):
        yield


def import_tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module, importing it quietly the first time."""
    if "tensorflow" in sys.modules or os.environ.get("DLKIT_TF_LOGS"):
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with _announced(saved), open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow

            # the first device query prints CUDA probing errors on machines without a GPU
            tensorflow.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tensorflow


def _freeze_heap() -> None:
    gc.freeze()


def skip_final_collection() -> None:
    """Have this process exit without the garbage collector's last full scan.

    At exit the interpreter collects everything still alive; with TensorFlow and Keras loaded
    that is over half a million objects, seconds spent before a finished command returns to the
    shell (Python does not promise finalizers for objects alive at exit, and dlkit closes its
    files and stores itself). For a process that ends when its work ends: the CLI, a trial worker.
    """
    atexit.unregister(_freeze_heap)  # once, however many commands ran in this process
    atexit.register(_freeze_heap)
