"""Command-line interface (Typer). Importing it loads neither TensorFlow nor MLflow.

Modules that define commands do without ``from __future__ import annotations``: typer reads
every command's signature each time ``dlkit`` starts (to build the command tree, even for
``--help``) and would evaluate string annotations again four times per command, about 0.1 s
of CPU; evaluated once at import they cost a few milliseconds.
"""

from dlkit.cli._coercion import plain_values
from dlkit.cli._help_render import defer_help_extras

defer_help_extras()
plain_values()

from dlkit.cli.main import app  # noqa: E402 (after the help renderer's imports are deferred)

__all__ = ["app"]
