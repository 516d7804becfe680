"""``dlkit analyze-errors RUN --tag``: tag the error sheet in the terminal, one example at a time.

Each example is shown with its labels, its image drawn in the terminal with half-block
characters (two pixels per character cell, grey levels as colours), or its feature values for
a table, and its metadata. One key per category toggles it; ``c`` writes a comment, ``l`` the
right label; ``n``/Enter/right arrow go on, ``b``/left arrow back, ``q`` stops. Every change is
saved to the sheet at once, so a session can stop anywhere and resume where it stopped. Going on
from the last example ends the session with the report, as ``--tags`` gives it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.text import Text

from dlkit.runs.tagging import TaggingSession

COMMAND_KEYS = {"n", "b", "c", "l", "q"}
CATEGORY_KEYS = [*"1234567890", *(k for k in "adefghijkmoprstuvwxyz" if k not in COMMAND_KEYS)]
NEXT = {"n", "\r", "\n", "\x1b[C", "\x1bOC"}
BACK = {"b", "\x1b[D", "\x1bOD"}
MAX_WIDTH = 48  # pixels across; larger images are subsampled


def half_blocks(image: np.ndarray, scale: int | None = None) -> Text:
    """An image `(height, width)` as rich text: one ``▀`` per two pixels stacked vertically.

    The upper pixel is the character's colour, the lower one its background. Grey levels are
    stretched to the image's own range. Small images (digits are 8x8) are enlarged ``scale``
    times so they are legible.
    """
    img: np.ndarray = np.asarray(image, dtype=np.float64)
    if img.ndim == 3:
        img = img.mean(axis=-1)
    if img.shape[1] > MAX_WIDTH:
        step = int(np.ceil(img.shape[1] / MAX_WIDTH))
        img = img[::step, ::step]
    if scale is None:
        scale = max(1, min(4, 24 // max(img.shape)))
    img = np.kron(img, np.ones((scale, scale)))
    low, high = float(np.nanmin(img)), float(np.nanmax(img))
    grey = np.zeros_like(img) if high <= low else (img - low) / (high - low)
    levels = np.nan_to_num(grey * 255).astype(int)
    if len(levels) % 2:
        levels = np.vstack([levels, np.zeros((1, levels.shape[1]), dtype=int)])
    text = Text()
    for top, bottom in zip(levels[0::2], levels[1::2], strict=True):
        for t, b in zip(top, bottom, strict=True):
            text.append("▀", style=f"rgb({t},{t},{t}) on rgb({b},{b},{b})")
        text.append("\n")
    return text


def _inputs(run_dir: Path, ids: list[str]) -> tuple[str, Any] | None:
    import yaml

    from dlkit.rundir import RunDir
    from dlkit.runs.analyze_errors import example_inputs

    run = RunDir(run_dir)
    recipe = yaml.safe_load(run.recipe_path.read_text(encoding="utf-8")) if run.recipe_path.is_file() else {}
    return example_inputs(run.info(), recipe or {}, ids)


def _show(
    console: Console, s: TaggingSession, keys: dict[str, str], inputs: tuple[str, Any] | None, msg: str
) -> None:
    row = s.row()
    console.clear()
    console.print(f"Example {s.position + 1} of {s.n}  (id {row['id']})", highlight=False, markup=False)
    parts = [f"true {row.get('y_true', '?')}", f"predicted {row.get('y_pred', '?')}"]
    for name in ("confidence", "loss"):
        if row.get(name):
            try:
                parts.append(f"{name} {float(row[name]):.3f}")
            except ValueError:
                parts.append(f"{name} {row[name]}")
    console.print("   ".join(parts), highlight=False, markup=False)
    if inputs is not None:
        kind, values = inputs
        if kind == "image":
            console.print(half_blocks(values[s.position]), end="")
        else:
            features = values.iloc[s.position]
            shown = [f"{k}={v:.4g}" for k, v in list(features.items())[:16]]
            more = f" (+{len(features) - 16} more)" if len(features) > 16 else ""
            console.print("features: " + "  ".join(shown) + more, highlight=False, markup=False)
    elif "input" not in row:
        console.print("(inputs not available: the run's data source cannot be read here)", highlight=False)
    skip = {"id", "y_true", "y_pred", "confidence", "loss", "comments", "corrected_label", *s.categories}
    meta = [f"{k}: {v}" for k, v in row.items() if k not in skip]
    if meta:
        console.print("   ".join(meta), highlight=False, markup=False)
    console.print("Categories:", highlight=False)
    flags = s.flags()
    for key, name in keys.items():
        mark = "x" if flags[name] else " "
        console.print(f"  {key}  [{mark}] {name}", highlight=False, markup=False)
    console.print(f"Corrected label: {row.get('corrected_label') or '-'}", highlight=False, markup=False)
    console.print(f"Comment: {row.get('comments') or '-'}", highlight=False, markup=False)
    first, last = next(iter(keys)), list(keys)[-1]
    console.print(
        f"keys: {first}-{last} toggle a category | c comment | l corrected label | "
        "n/Enter next | b back | q quit (every change is saved)",
        highlight=False,
        markup=False,
    )
    if msg:
        console.print(msg, highlight=False, markup=False)


class _Keys:
    """Single keystrokes from the terminal, with no keystroke lost between two reads.

    The terminal stays in cbreak mode (no echo, a key at a time, Ctrl-C still interrupts) for
    the whole session: switching it per key, as ``click.getchar`` does, flushes keys typed
    ahead. Line input (a comment) switches back to normal mode without flushing.
    """

    def __init__(self) -> None:
        self.fd: int | None = None
        self.saved: Any = None

    def __enter__(self) -> _Keys:
        try:
            import termios
            import tty

            fd = sys.stdin.fileno()
            self.saved = termios.tcgetattr(fd)
            tty.setcbreak(fd, termios.TCSANOW)
            self.fd = fd
        except (ImportError, OSError, ValueError):
            self.fd = None  # no termios (Windows): fall back to click's reader
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def key(self) -> str:
        if self.fd is None:
            import click

            return click.getchar()
        import os
        import select

        first = os.read(self.fd, 1)
        if first == b"\x03":
            raise KeyboardInterrupt
        if first != b"\x1b":
            return first.decode("utf-8", errors="replace")
        rest = b""
        # an arrow key arrives as ESC [ C within a few milliseconds; a lone ESC does not
        while len(rest) < 2 and select.select([self.fd], [], [], 0.05)[0]:
            rest += os.read(self.fd, 1)
        return (first + rest).decode("utf-8", errors="replace")

    def line(self, console: Console, prompt: str) -> str:
        if self.fd is None:
            return console.input(prompt)
        import termios
        import tty

        termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
        try:
            return console.input(prompt)
        finally:
            tty.setcbreak(self.fd, termios.TCSANOW)


def run_session(
    console: Console, sheet_path: Path, run_dir: Path, classes: list[Any], metadata: list[str]
) -> bool:
    """Tag the sheet until the person quits (False) or goes on from the last example (True).

    Args:
        console: where the examples are drawn.
        sheet_path: the sheet.
        run_dir: the run it was sampled from (its data source gives the inputs).
        classes: the labels a corrected label may take (none: corrected labels do not apply).
        metadata: the columns the sheet carries besides its own (not categories).

    Raises:
        SheetError: the sheet cannot be read.
    """
    session = TaggingSession.open(sheet_path, classes, metadata)
    keys = dict(zip(CATEGORY_KEYS, session.categories, strict=False))
    unkeyed = session.categories[len(CATEGORY_KEYS) :]
    inputs = _inputs(run_dir, session.frame["id"].tolist())
    msg = f"resumed at example {session.position + 1}" if session.position else ""
    if unkeyed:
        msg += f" (too many categories for one key each: {', '.join(unkeyed)} only in a spreadsheet)"
    with _Keys() as reader:
        return _loop(console, session, keys, inputs, msg, reader)


def _loop(
    console: Console,
    session: TaggingSession,
    keys: dict[str, str],
    inputs: tuple[str, Any] | None,
    msg: str,
    reader: _Keys,
) -> bool:
    while True:
        _show(console, session, keys, inputs, msg)
        msg = ""
        key = reader.key()
        if key in keys:
            value = session.toggle(keys[key])
            msg = f"{keys[key]}: {'yes' if value else 'no'} (saved)"
        elif key in NEXT:
            if not session.move(+1):
                session.write_parquet()
                return True
        elif key in BACK:
            if not session.move(-1):
                msg = "this is the first example"
        elif key == "c":
            text = reader.line(console, "comment (Enter keeps it, '-' clears): ")
            if text.strip() == "-":
                session.set_comment("")
            elif text.strip():
                session.set_comment(text)
        elif key == "l" and not session.classes:
            msg = "corrected labels are class labels; this run has none (note it in a comment)"
        elif key == "l":
            text = reader.line(
                console, f"corrected label (one of {', '.join(session.classes)}; '-' clears): "
            )
            try:
                if text.strip() == "-":
                    session.set_corrected_label("")
                elif text.strip():
                    session.set_corrected_label(text)
            except ValueError as exc:
                msg = f"not saved: {exc}"
        elif key == "q":
            session.write_parquet()
            return False
        else:
            msg = f"no key {key!r} here"


def require_terminal() -> None:
    """Refuse to start without an interactive terminal.

    Raises:
        RecipeError: stdin or stdout is not a terminal.
    """
    from dlkit.errors import RecipeError

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise RecipeError(
            "--tag: needs an interactive terminal",
            hint="fill analysis/errors.csv in a spreadsheet and pass it back with --tags",
        )
