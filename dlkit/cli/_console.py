"""The console every command prints to."""

from __future__ import annotations

import os
import sys

from rich.console import Console

# Piped or logged output gets room for wide tables (tune's trials, split checks) instead of
# rich's 80-column default; a terminal (or COLUMNS) keeps its own width.
_PLAIN_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(highlight=False, soft_wrap=True, width=_PLAIN_WIDTH)
