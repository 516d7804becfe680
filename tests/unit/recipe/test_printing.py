"""Recipe errors as printed: the user's text verbatim (never rich markup), capped in number."""

from __future__ import annotations

from rich.console import Console

from dlkit.cli._errors import MAX_ERROR_LINES, print_error
from dlkit.errors import RecipeError


def _printed(exc: RecipeError) -> list[str]:
    console = Console(record=True, width=300, color_system=None)
    print_error(exc, console)
    return console.export_text().splitlines()


def test_markup_in_user_values_prints_literally() -> None:
    exc = RecipeError(
        "r.yaml: name: bad (got '[/x]')\nr.yaml: name: bad (got '[bold]x')\nr.yaml: tune.space.[a, b]: bad",
        hint="use [i]this[/i]",
    )
    assert _printed(exc) == [
        "error: r.yaml: name: bad (got '[/x]')",
        "error: r.yaml: name: bad (got '[bold]x')",
        "error: r.yaml: tune.space.[a, b]: bad",
        "hint: use [i]this[/i]",
    ]


def test_control_characters_are_shown_escaped() -> None:
    assert _printed(RecipeError("r.yaml: x\x1b[2Jy\x07: unknown field")) == [
        "error: r.yaml: x\\x1b[2Jy\\x07: unknown field"
    ]


def test_error_lines_are_capped_with_a_count() -> None:
    printed = _printed(RecipeError("\n".join(f"r.yaml: f{i}: unknown field" for i in range(25))))
    assert len(printed) == MAX_ERROR_LINES + 1
    assert printed[0] == "error: r.yaml: f0: unknown field"
    assert printed[-1] == "... and 5 more"
