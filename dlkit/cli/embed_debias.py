"""``dlkit embed debias VECTORS --out FILE``: debias word vectors (Bolukbasi et al.)."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt

FileOpt = Optional[Path]  # noqa: UP045 (typer needs Optional)


@report_errors
def debias(
    vectors: Annotated[
        Path,
        typer.Argument(help="A GloVe-format text file: a word, then its numbers, a line.", metavar="VECTORS"),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Where the debiased vectors go (same format).", metavar="FILE")
    ],
    definitional: Annotated[
        FileOpt,
        typer.Option(
            "--definitional",
            help="Pairs that define the bias direction, one a line (default: the shipped gender pairs).",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    equalize: Annotated[
        FileOpt,
        typer.Option(
            "--equalize",
            help="Pairs to equalise, one a line (default: the shipped gender pairs).",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    no_equalize: Annotated[bool, typer.Option("--no-equalize", help="Equalise no pair.")] = False,
    neutralize_words: Annotated[
        FileOpt,
        typer.Option(
            "--neutralize-words",
            help="Words to neutralise, one a line (default: every word in no pair).",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    report: Annotated[
        FileOpt,
        typer.Option(
            "--report",
            help="A CSV of each word's role and projection on the bias direction, before and after.",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", help="Neutralised words shown (largest projection first).", min=0)
    ] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Debias word vectors: every vector is normalised to unit length, the bias direction is the
    first principal component of the definitional pairs, the other words are neutralised
    (projection 0) and the equalise pairs made symmetric about the direction. Prints each
    word's projection before and after."""
    from rich.markup import escape
    from rich.table import Table

    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.errors import RecipeError

    if no_equalize and equalize is not None:
        raise RecipeError("--equalize and --no-equalize: give one or the other")
    outcome = api.debias_vectors(
        vectors,
        out,
        definitional=definitional,
        equalize=equalize,
        no_equalize=no_equalize,
        neutralize=neutralize_words,
        report=report,
    )
    if as_json:
        print_json(outcome.to_dict(top))
        return
    result = outcome.result
    counts = result.counts()
    a, b = result.pair
    console.print(
        f"Bias direction: first principal component of {result.n_pairs} definitional pair(s), "
        f"{result.explained:.0%} of their variance; cosine with {escape(a)} − {escape(b)}: "
        f"{result.pair_cosine:.3f}"
    )
    table = Table(title="Projection on the bias direction (unit vectors)", title_justify="left")
    for column in ("word", "role", "before", "after"):
        table.add_column(column, justify="left" if column in ("word", "role") else "right")
    for role, rows in (("equalized", result.rows("equalized")), ("neutralized", result.largest(top))):
        for row in rows:
            table.add_row(escape(str(row["word"])), role, f"{row['before']:+.3f}", f"{row['after']:+.3f}")
    console.print(table)
    console.print(
        f"{counts['neutralized']} neutralised, {counts['equalized']} equalised, "
        f"{counts['definitional'] + counts['kept']} kept (normalised) of {len(result.words)} words"
    )
    console.print(f"Debiased vectors: {escape(str(outcome.out))}")
    if outcome.report is not None:
        console.print(f"Report: {escape(str(outcome.report))}")


def register(app: typer.Typer) -> None:
    """Add ``debias`` to the ``embed`` sub-app."""
    app.command("debias")(debias)
