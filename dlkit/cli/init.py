"""``dlkit init [KIND] FILE [--data PATH]``: a commented starter recipe; ``--list``: the recipe gallery."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from dlkit.cli._console import console
from dlkit.cli._errors import plain_text, report_errors
from dlkit.errors import RecipeError


@report_errors
def init(
    kind: Annotated[
        Optional[str],  # noqa: UP045 (typer needs Optional)
        typer.Argument(
            help="tabular, images, sequences, text or seq2seq (guessed from --data when left out).",
            show_default=False,
            metavar="[KIND]",
        ),
    ] = None,
    file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="The recipe file to write.", show_default=False, metavar="FILE"),
    ] = None,
    data: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--data",
            help="A CSV / TSV / Parquet table, an image folder (a sub-folder per class) or an npz file "
            "to fill in columns, classes and shapes.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    list_gallery: Annotated[
        bool, typer.Option("--list", help="List the recipe gallery (examples shipped with dlkit) and exit.")
    ] = False,
) -> None:
    """Write a commented starter recipe (with a tune section) for a kind of data, or list the gallery.

    Without --data the recipe trains as written on example data that ships with dlkit.
    """
    from dlkit import api

    if list_gallery:
        _render_gallery(api.gallery())
        return
    if file is None:  # one argument: it is the file, and the kind comes from --data
        kind, file = None, Path(kind) if kind is not None else None
    if file is None:
        raise RecipeError("dlkit init: give the recipe FILE to write (or --list)")
    result = api.init_recipe(kind, file, data=data, force=force)
    console.print(Text(plain_text(f"Wrote {file} ({result.kind} starter recipe)")))
    for note in result.notes:
        console.print(Text(plain_text(f"  {note}"), style="dim"))
    console.print(Text(plain_text(f"Next: dlkit recipe validate {file}  then  dlkit train {file}")))


def _render_gallery(recipes: list) -> None:  # type: ignore[type-arg]  # list[GalleryRecipe]
    from rich.table import Table

    table = Table(title="Recipe gallery (dlkit train PATH, or copy one next to your data)")
    # the name is what a user types: whole on one line, the other columns wrap around it
    table.add_column("recipe", no_wrap=True, min_width=max((len(r.name) for r in recipes), default=6))
    table.add_column("what it teaches")
    table.add_column("expected")
    table.add_column("CPU time")
    for recipe in recipes:
        table.add_row(
            Text(plain_text(recipe.name)),
            Text(plain_text(recipe.teaches or recipe.summary)),
            Text(plain_text(recipe.expected)),
            Text(plain_text(recipe.cpu_time)),
        )
    console.print(table)
    if recipes:
        console.print(Text(plain_text(f"Files: {recipes[0].path.parent}"), style="dim"))
