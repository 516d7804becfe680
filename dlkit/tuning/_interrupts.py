"""Ctrl-C during a study: remembered, so that it cannot be lost inside a keras-tuner callback."""

from __future__ import annotations

from typing import Any


class Interrupts:
    """Ctrl-C that cannot be lost: Python drops a KeyboardInterrupt raised inside a garbage-collector
    callback ("Exception ignored in ..."), so the request is also remembered and raised again at the
    next epoch or trial boundary."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        raise KeyboardInterrupt

    def check(self, *_: Any) -> None:
        """Raise the remembered Ctrl-C (called at every epoch and trial boundary)."""
        if self.requested:
            raise KeyboardInterrupt
