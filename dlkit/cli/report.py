"""``dlkit report RUN|STUDY``: one self-contained HTML page, logged to the run in MLflow."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from dlkit.cli._console import console
from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt, RunsDirOpt, TrackingUriOpt


@report_errors
def report(
    ref: Annotated[
        str,
        typer.Argument(
            help="A run directory, run name, MLflow run id or name; or a study directory or name.",
            metavar="RUN",
            show_default=False,
        ),
    ],
    out: Annotated[
        Optional[Path],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--out",
            help="The HTML file to write. Default: report.html in the run's directory.",
            show_default=False,
        ),
    ] = None,
    human_error: Annotated[
        Optional[float],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--human-error",
            help="Human-level error for the diagnosis (0.01 = 1%). Default: targets.human_error.",
            show_default=False,
        ),
    ] = None,
    ui_url: Annotated[
        str,
        typer.Option("--ui-url", envvar="DLKIT_UI_URL", help="The MLflow UI the page links the run to."),
    ] = "http://127.0.0.1:5000",
    no_log: Annotated[
        bool, typer.Option("--no-log", help="Do not log the page to the run in MLflow.")
    ] = False,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Write one self-contained HTML page about a run or a tuning study (no network needed to read it).

    A run: metrics per set, learning curves per epoch, the diagnosis, the confusion matrix, the
    error analysis and learning curve when the run has them, the recipe, and a link to MLflow.
    A study: the trials table (failed trials marked) and its plots. The page is logged to the
    run's (or study's) MLflow run as report.html.
    """
    from dlkit import api

    result = api.report(
        ref,
        out,
        human_error=human_error,
        ui_url=ui_url,
        log_to_mlflow=not no_log,
        runs_dir=runs_dir,
        tracking_uri=tracking_uri,
    )
    if as_json:
        print_json(result.to_dict())
        return
    console.print(f"Report of {result.kind} {escape(result.name)}: {escape(str(result.path))}")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if result.logged:
        console.print(f"Logged to MLflow run {escape(str(result.run_id))} as report.html")
    elif result.logging_error:
        console.print(f"[yellow]not logged to MLflow:[/yellow] {escape(result.logging_error)}")
    if result.link:
        console.print(f"In the MLflow UI: {escape(result.link)}")
