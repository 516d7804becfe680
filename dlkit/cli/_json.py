"""``--json`` output: one JSON document on stdout and nothing else (human output goes to stderr)."""

from __future__ import annotations

import json
from typing import Any

import typer


def print_json(data: Any) -> None:
    """Print ``data`` as one JSON document (dataclasses, paths and dates made plain; no NaN)."""
    from dlkit._json import jsonable

    typer.echo(json.dumps(jsonable(data), indent=2, allow_nan=False))
