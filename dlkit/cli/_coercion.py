"""Option values of the plain types dlkit's commands use, checked without building pydantic.

typer (0.29) checks every parameter of the command it runs, defaults included, through a
pydantic ``TypeAdapter`` built for it: importing pydantic (with ``importlib.metadata`` for its
plugin loader) and building the adapters cost about 0.15 s of CPU on every sub-command, a third
of ``dlkit runs list``. dlkit's parameters are strings, paths, numbers, flags and lists of them.

:func:`plain_values` has typer build, for such a parameter, a checker that converts the values
whose result is certain (a ``str``; a ``Path``; an ``int`` or a decimal string for an ``int``; a
number or a decimal string for a ``float``; a ``bool`` for a flag; a list of them) as pydantic
would, and hands anything else (``"1e400"``, ``" 3"``, ``"yes"``, a value out of ``min``/``max``)
to typer's own pydantic checker, built then: same results, same error messages
(``tests/unit/cli/test_coercion.py`` compares the two on a table of values).
Choices, dates, files and custom parsers always go to typer's checker. With a typer whose
internals differ it does nothing: values are checked as typer checks them, only slower.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

# decimal strings pydantic and Python read alike; anything else goes to pydantic
_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})(?:[eE][-+]?[0-9]{1,2})?")


class _Unusual(Exception):
    """A value the fast check does not decide: typer's own checker does."""


def _as_str(value: Any, info: Any) -> str:
    if type(value) is str:
        return value
    raise _Unusual


def _as_bool(value: Any, info: Any) -> bool:
    if type(value) is bool:
        return value
    raise _Unusual


def _in_range(number: Any, info: Any) -> Any:
    if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
        raise _Unusual  # pydantic's message (or clamping) says what is wrong
    return number


def _as_int(value: Any, info: Any) -> int:
    if type(value) is int:
        return _in_range(value, info)  # type: ignore[no-any-return]
    if type(value) is str and _INT.fullmatch(value):
        return _in_range(int(value), info)  # type: ignore[no-any-return]
    raise _Unusual


def _as_float(value: Any, info: Any) -> float:
    if type(value) is float and value - value == 0:  # finite
        return _in_range(value, info)  # type: ignore[no-any-return]
    if type(value) is int:
        return _in_range(float(value), info)  # type: ignore[no-any-return]
    if type(value) is str and _FLOAT.fullmatch(value):
        return _in_range(float(value), info)  # type: ignore[no-any-return]
    raise _Unusual


_LEAVES: dict[Any, Callable[[Any, Any], Any]] = {str: _as_str, bool: _as_bool, int: _as_int, float: _as_float}


def _leaf(annotation: Any, info: Any) -> Callable[..., Any] | None:
    """The fast check of one value of ``annotation``, or None when typer's must do it."""
    if info.parser is not None or getattr(info, "click_type", None) is not None:
        return None
    if annotation in (int, float) and info.clamp:
        return None
    if annotation in _LEAVES:
        check = _LEAVES[annotation]
        return lambda value, param, ctx: check(value, info)
    if annotation is Path and info.path_type in (None, Path):
        from typer._param_types import coerce_cli_path

        def as_path(value: Any, param: Any, ctx: Any) -> Any:
            if type(value) is str and value:
                value = Path(value)  # what pydantic's Path check returns
            elif not isinstance(value, Path):
                raise _Unusual
            # typer's path check past pydantic: exists, file_okay, dir_okay, ... and their messages
            return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)

        return as_path
    return None


def _check(descriptor: Any) -> Callable[..., Any] | None:
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if descriptor.file_annotation is not None:
        return None
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        one = _leaf(item, info)
        if one is None:
            return None

        def as_list(value: Any, param: Any, ctx: Any) -> list[Any]:
            if not isinstance(value, list | tuple):
                raise _Unusual
            return [one(v, param, ctx) for v in value]

        return as_list
    return _leaf(annotation, info)


def plain_values() -> None:
    """Have typer check plain parameters without pydantic (idempotent; a no-op on another typer)."""
    try:
        import typer.core
        from typer._coercion import RuntimeParam
    except ImportError:
        return
    build = getattr(typer.core, "build_runtime_param", None)
    if build is None or getattr(build, "dlkit_plain", False):
        return

    @dataclass(frozen=True)
    class PlainParam(RuntimeParam):  # type: ignore[misc]
        """Converts the usual values itself; typer's checker, built on first need, the rest."""

        check: Callable[..., Any]
        typer_param: Callable[[], Any]

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.check(value, param, ctx)
            except _Unusual:
                return self.typer_param()._coerce_value(value, param=param, ctx=ctx)

    def build_runtime_param(descriptor: Any) -> Any:
        check = _check(descriptor)
        if check is None:
            return build(descriptor)
        return PlainParam(
            parameter_info=descriptor.parameter_info,
            annotation=descriptor.annotation,
            check=check,
            typer_param=functools.cache(lambda: build(descriptor)),
        )

    build_runtime_param.dlkit_plain = True  # type: ignore[attr-defined]
    build_runtime_param.typer_build = build  # type: ignore[attr-defined]
    typer.core.build_runtime_param = build_runtime_param
