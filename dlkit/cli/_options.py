"""Argument and option types shared by the commands, and the help they show.

Every command's help names its values the way a person reads them (click's convention): an
argument in capitals (``RECIPE``, ``RUN``, ``STUDY``), an option's value after it
(``--trials TRIALS``, ``--resume RUN``) and nothing after a flag. Typer would show the Python
type instead (``<bool>``, ``<path>``, ``<list[str]>``); :class:`ReadableHelp`, the root group,
sets these names once for the whole command tree.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Where run names are looked up.", metavar="DIR")]
TrackingUriOpt = Annotated[
    Optional[str],  # noqa: UP045 (typer needs Optional)
    typer.Option(
        "--tracking-uri", help="MLflow store for run ids and names.", show_default=False, metavar="URI"
    ),
]

RecipeArg = Annotated[Path, typer.Argument(help="A recipe YAML file.", show_default=False, metavar="RECIPE")]
RunArg = Annotated[
    str,
    typer.Argument(
        help="A run directory, run name, or MLflow run id or name.", show_default=False, metavar="RUN"
    ),
]
SetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045 (typer needs Optional for list options)
    typer.Option(
        "--set",
        help="Override a recipe value: dotted.path=value (repeatable).",
        show_default=False,
        metavar="PATH=VALUE",
    ),
]


def value_name(param: Any) -> str:
    """The name a parameter's value goes by in help: ``""`` for a flag, its own metavar when it has
    one, else an argument's name or an option's last word, in capitals (``--tracking-uri`` ->
    ``URI``)."""
    if isinstance(param, TyperOption) and (param.is_flag or param.count):
        return ""
    if param.metavar is not None:
        return str(param.metavar)
    if isinstance(param, TyperArgument):
        return str(param.name).upper()
    longest = max(param.opts, key=len).lstrip("-")
    return longest.rsplit("-", 1)[-1].upper()


class _NamedArgument(TyperArgument):
    """An argument shown by its name alone (``RUN``), without typer's ``<str>`` / ``<path>`` beside it."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def one_line_summary(help_text: str | None) -> str | None:
    """``help_text`` with its first paragraph on one line: rich help keeps a docstring's line
    breaks, which would cut the command listings' summaries mid-sentence."""
    if not help_text:
        return help_text
    first, sep, rest = inspect.cleandoc(help_text).partition("\n\n")
    return " ".join(first.split()) + sep + rest


def name_values(command: Any) -> None:
    """Set :func:`value_name` as the metavar of ``command``'s parameters (its help option
    included), and of its sub-commands' when it is a group; put each summary on one line."""
    command.help = one_line_summary(command.help)
    help_option = command.get_help_option(typer.Context(command, **(command.context_settings or {})))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        param.metavar = value_name(param)
        if type(param) is TyperArgument:
            param.__class__ = _NamedArgument
    for sub in getattr(command, "commands", {}).values():
        name_values(sub)


class ReadableHelp(TyperGroup):
    """The root group: names every parameter's value in the tree (:func:`name_values`) before the
    command line is parsed (typer adds its completion options after building the group)."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        name_values(self)
        return super().make_context(info_name, args, parent, **extra)
