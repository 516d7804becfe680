"""Save a trial's model while the next trial trains.

Saving a small model as ``.keras`` takes 0.2-0.3 s, a tenth of a short trial. The trial hands
its model over instead (:meth:`ModelWriter.defer`); the writer saves it on its own thread once
the next trial's model is built and fitting (:meth:`ModelWriter.start`), so the two overlap.
Whoever reads a trial's model first waits for it (:meth:`ModelWriter.wait`): a Hyperband
promotion that starts from it, the next deferred save, the end of a round, the end of the study
(also an interrupted one).

The writer's thread never runs beside ``keras.backend.clear_session()``: the session is cleared
before the next model is built, and the save starts after that. The model is written under a
temporary name and renamed, so a process killed mid-save never leaves a partial ``model.keras``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from dlkit.errors import DlkitError

if TYPE_CHECKING:
    import keras


def save_model(model: keras.Model, path: Path) -> None:
    """``model.save(path)``, written whole or not at all (a temporary file, then a rename)."""
    partial = path.with_name(f".partial-{path.name}")  # still ends in .keras, as Keras requires
    model.save(partial)
    os.replace(partial, path)


class ModelWriter:
    """One trial's model waiting to be saved, and the thread saving it."""

    def __init__(self) -> None:
        self._pending: tuple[keras.Model, Path] | None = None
        self._thread: threading.Thread | None = None
        self._error: DlkitError | None = None

    def defer(self, model: keras.Model, path: Path) -> None:
        """Save ``model`` to ``path`` later (the model saved before it is finished first)."""
        self.wait()
        self._pending = (model, path)

    def start(self) -> None:
        """Start saving the deferred model on the writer's thread (nothing when none waits)."""
        if self._pending is None or self._thread is not None:
            return
        # not a daemon: an interpreter that exits (Ctrl-C) waits for the model to be written
        self._thread = threading.Thread(target=self._write, name="dlkit-model-writer")
        self._thread.start()

    def _write(self) -> None:
        assert self._pending is not None
        model, path = self._pending
        try:
            save_model(model, path)
        except Exception as exc:  # raised on the caller's thread by wait()
            self._error = DlkitError(f"cannot save the model {path}: {type(exc).__name__}: {exc}")

    def wait(self, *, raise_error: bool = True) -> None:
        """Return once the deferred model is saved (saved here if its thread has not started).

        Args:
            raise_error: raise a failed save's error now; False where another exception is
                already on its way out, which it must not hide (the next wait raises it).

        Raises:
            DlkitError: the model could not be saved.
        """
        if self._pending is not None:
            if self._thread is None:
                self._write()
            else:
                self._thread.join()
            self._pending, self._thread = None, None
        if self._error is not None and raise_error:
            error, self._error = self._error, None
            raise error
