"""Import TensorFlow once, without its native start-up chatter on stderr.

TensorFlow's C++ runtime prints notes (oneDNN, missing CUDA drivers) before its logging is
initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot filter them. File descriptor 2 is pointed at
/dev/null for the duration of the import only; an import failure still raises as usual.
Set ``DLKIT_TF_LOGS=1`` to see the notes.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def import_tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module, importing it quietly the first time."""
    if "tensorflow" in sys.modules or os.environ.get("DLKIT_TF_LOGS"):
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow

            # the first device query prints CUDA probing errors on machines without a GPU
            tensorflow.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tensorflow
