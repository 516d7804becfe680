"""Plain option values checked without pydantic (dlkit/cli/_coercion.py): as typer checks them.

Each value goes through the checker dlkit installs and through typer's own (pydantic), on the
same parameter of a real typer command; results (value and type) or error messages must match.
"""

from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
import typer.core
import typer.main
from typer._click import Context
from typer._click.exceptions import BadParameter

from dlkit.cli._coercion import plain_values

plain_values()
FAST = typer.core.build_runtime_param
TYPERS = FAST.typer_build  # type: ignore[attr-defined]


def _outcome(build: Any, annotation: Any, options: dict[str, Any], value: Any) -> tuple[str, Any]:
    app = typer.Typer()

    @app.command()
    def cmd(x: Annotated[annotation, typer.Option(**options)] = None) -> None:  # type: ignore[valid-type]
        pass

    command = typer.main.get_command(app)
    param = next(p for p in command.params if p.name == "x")
    try:
        result = build(param.type_descriptor).coerce(value, param=param, ctx=Context(command))
    except BadParameter as exc:
        return "error", exc.format_message()
    return type(result).__name__, repr(result)


CASES: list[tuple[Any, dict[str, Any], list[Any]]] = [
    (str, {}, ["abc", "", " x ", "ünï", 3, b"bytes", 2.5]),
    (int, {}, ["3", "-3", "0", "-0", "007", "+3", " 3", "3.0", "1e3", "abc", "", "1_000", 3, 3.0, 2.5, True]),
    (int, {}, ["123456789012345678", "1234567890123456789", "99999999999999999999999"]),
    (int, {"min": 1, "max": 5}, ["0", "1", "5", "6", 0, 7]),
    (int, {"min": 1, "max": 5, "clamp": True}, ["0", "3", "9"]),
    (float, {}, ["0.5", "1.", ".5", "-.5", "-0", "1e-3", "1E+5", "2e10", "inf", "-inf", "nan", "abc", ""]),
    (float, {}, ["1e400", "1_0.5", " 1.5", "0x10", "1e", ".", "-", 2, 0, 2.5, float("inf"), True]),
    (float, {}, ["0.1", "0.30000000000000004", "123456789.123456789", "4.9e-324", "1.7976931348623157e308"]),
    (float, {"min": 0.0}, ["-0.5", "0.5", -1]),
    (bool, {}, [True, False, "true", "0", "yes", "maybe", ""]),
    (Path, {}, ["a/b", "", ".", "~", "a b", Path("x"), 3]),
    (Path, {"exists": True}, ["/no/such/file", "/", "."]),
    (Path, {"exists": True, "dir_okay": False}, ["/"]),
    (list[str], {}, [("a", "b"), ["a"], (), "a"]),
    (list[int], {}, [("1", "2"), ("1", "x"), ("1.5",)]),
    (list[Path], {}, [("a", "b/c"), ("",)]),
    (list[float], {}, [("1", "2.5", "x")]),
]


@pytest.mark.parametrize(("annotation", "options", "values"), CASES)
def test_plain_values_are_checked_as_typer_checks_them(
    annotation: Any, options: dict[str, Any], values: list[Any]
) -> None:
    for value in values:
        fast = _outcome(FAST, annotation, options, value)
        assert fast == _outcome(TYPERS, annotation, options, value), (annotation, options, value)


def test_known_answers_and_what_goes_to_typer() -> None:
    assert _outcome(FAST, int, {}, "-12") == ("int", "-12")
    assert _outcome(FAST, float, {}, "1e-3") == ("float", "0.001")
    assert _outcome(FAST, float, {}, 2) == ("float", "2.0")
    assert _outcome(FAST, Path, {}, "runs") == ("PosixPath", "PosixPath('runs')")
    assert _outcome(FAST, list[str], {}, ("a", "b")) == ("list", "['a', 'b']")
    assert _outcome(FAST, int, {"min": 1}, "0") == (
        "error",
        "Invalid value for '--x': Input should be greater than or equal to 1",
    )
