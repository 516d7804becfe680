"""The console every command prints to."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from rich.console import Console

# Piped or logged output gets room for wide tables (tune's trials, split checks) instead of
# rich's 80-column default; a terminal (or COLUMNS) keeps its own width.
_PLAIN_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(highlight=False, soft_wrap=True, width=_PLAIN_WIDTH)


@contextlib.contextmanager
def loading_status(stream: TextIO, what: str = "Loading TensorFlow") -> Iterator[None]:
    """A spinner on a terminal's stderr while ``what`` loads; one line when not a terminal."""
    status_console = Console(file=stream, highlight=False)
    if not status_console.is_terminal:
        status_console.print(f"{what}...", markup=False)
        yield
        return
    with status_console.status(f"{what}...", spinner="dots"):
        yield
