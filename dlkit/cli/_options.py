"""Argument and option types shared by the commands (recipe readers and RUN readers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Where run names are looked up.")]
TrackingUriOpt = Annotated[
    Optional[str],  # noqa: UP045 (typer needs Optional)
    typer.Option("--tracking-uri", help="MLflow store for run ids and names.", show_default=False),
]

RecipeArg = Annotated[Path, typer.Argument(help="A recipe YAML file.", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],  # noqa: UP045 (typer needs Optional for list options)
    typer.Option(
        "--set", help="Override a recipe value: dotted.path=value (repeatable).", show_default=False
    ),
]
