"""Turn a user's mistake into one red line (plus hint) and an exit code; bugs keep tracebacks."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from dlkit.errors import DlkitError

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

# A recipe with hundreds of mistakes is one mistake repeated (a list of the wrong thing, a
# section at the wrong level): the first lines say what to fix, the count says how much.
MAX_ERROR_LINES = 20

# C0 controls (but tab), DEL and C1 controls: a value from a file must not move the cursor,
# clear the screen or recolour the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def plain_text(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), safe to print as is."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _labelled(label: str, style: str, text: str) -> Text:
    # a Text is never parsed as markup: "[bold]" or "[/x]" in a user's value prints literally
    return Text.assemble((label, style), " ", plain_text(text))


def print_error(exc: DlkitError, console: Console | None = None) -> None:
    """Print ``exc`` as red ``error:`` lines (at most :data:`MAX_ERROR_LINES`) and its hint."""
    console = console or err_console
    lines = exc.lines or [type(exc).__name__]
    for line in lines[:MAX_ERROR_LINES]:
        console.print(_labelled("error:", "red", line))
    if len(lines) > MAX_ERROR_LINES:
        console.print(Text(f"... and {len(lines) - MAX_ERROR_LINES} more", style="red"))
    if exc.hint:
        console.print(_labelled("hint:", "dim", exc.hint))


def show_path(path: Path) -> str:
    """``path`` as a person in the working directory types it: relative when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def named(kind: str, name: str, path: Path) -> str:
    """``run runs/x`` when the folder is named after it, else ``run x (elsewhere/y)``."""
    shown = show_path(path)
    return f"{kind} {shown}" if path.name == name else f"{kind} {name} ({shown})"


def print_stopped(what: str, resume_command: str | None, *, terminated: bool = False) -> int:
    """Say that Ctrl-C (or SIGTERM) stopped ``what`` and how to continue it.

    Returns:
        The exit code: 130 for Ctrl-C, 143 (128 + SIGTERM) for SIGTERM.
    """
    word = "terminated" if terminated else "interrupted"
    err_console.print(Text.assemble((word, "yellow"), ": ", plain_text(f"{what} stopped, marked KILLED")))
    if resume_command is not None:
        err_console.print(Text.assemble("continue it with: ", (plain_text(resume_command), "bold")))
    return 143 if terminated else 130


def print_run_stopped(run_dir: Path | None, resume: str | None, terminated: bool) -> int:
    """:func:`print_stopped` for ``dlkit train``: the run's folder once it exists (else the folder
    given to ``--resume``), and ``dlkit train --resume`` on it."""
    import shlex

    run = run_dir or (Path(resume) if resume and Path(resume).is_dir() else None)
    if run is None:  # stopped before the run's folder was made: nothing to continue
        return print_stopped("the run", None, terminated=terminated)
    command = f"dlkit train --resume {shlex.quote(show_path(run))}"
    return print_stopped(named("run", run.name, run), command, terminated=terminated)


def report_errors(func: F) -> F:
    """Decorate a command: DlkitError -> red lines on stderr, exit 2 (recipe) or 1 (run time)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DlkitError as exc:
            print_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/yellow]", markup=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
