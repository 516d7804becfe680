"""``dlkit split RECIPE``: the split as a table, leakage and distribution checks, the manifest."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlkit.cli._errors import report_errors
from dlkit.cli._options import JsonOpt, RecipeArg, RunsDirOpt, SetOpt, TrackingUriOpt


@report_errors
def split(
    recipe: RecipeArg,
    overrides: SetOpt = None,
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--out", help="Write the manifest (id, set, input_hash, dev_part) to this Parquet or CSV file."
        ),
    ] = None,
    dedupe: Annotated[
        bool,
        typer.Option(
            "--dedupe", help="Drop exact duplicates across sets (kept in test, then dev, then train-dev)."
        ),
    ] = False,
    check: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--check",
            help="Compare with a saved split: a RUN, or a manifest file. "
            "Exit 1 when the data or the split changed.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Split the recipe's data into train / train-dev / dev / test and show the result."""
    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.reporting.split import render_manifest_check, render_split_outcome

    spec = api.load_recipe(recipe, overrides or [])
    if check is not None:
        outcome, result = api.check_split(spec, check, runs_dir=runs_dir, tracking_uri=tracking_uri)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        else:
            render_manifest_check(console, result, check)
        if not result.ok:
            raise typer.Exit(1)
        return
    outcome = api.split(spec, dedupe=True if dedupe else None)
    if out is not None:
        from dlkit.data.summary import write_split_files

        write_split_files(out, outcome.split, outcome.data)
    if as_json:
        typer.echo(json.dumps(outcome.summary(), indent=2, default=str))
        return
    render_split_outcome(console, outcome)
    if out is not None:
        console.print(f"Manifest written to {out}", highlight=False)
