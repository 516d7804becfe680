"""Turn a user's mistake into one red line (plus hint) and an exit code; bugs keep tracebacks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from dlkit.errors import DlkitError

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def report_errors(func: F) -> F:
    """Decorate a command: DlkitError -> red lines on stderr, exit 2 (recipe) or 1 (run time)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DlkitError as exc:
            for line in exc.lines:
                err_console.print(f"[red]error:[/red] {line}", markup=True)
            if exc.hint:
                err_console.print(f"[dim]hint:[/dim] {exc.hint}", markup=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/yellow]", markup=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
