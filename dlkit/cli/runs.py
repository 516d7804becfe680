"""``dlkit runs list|show|compare|delete``: the runs of the MLflow store and the run directories."""

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt, RunsDirOpt, TrackingUriOpt

runs_app = typer.Typer(
    help="List, show, compare and delete runs (MLflow and local run directories).", no_args_is_help=True
)

RunsArg = Annotated[
    list[str],
    typer.Argument(
        help="Run directories, run names, or MLflow run ids or names.", metavar="RUN", show_default=False
    ),
]


@runs_app.command("list")
@report_errors
def list_cmd(
    experiment: Annotated[
        Optional[str],  # noqa: UP045 (typer needs Optional)
        typer.Option("--experiment", help="Only runs of this MLflow experiment.", show_default=False),
    ] = None,
    recipe: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--recipe", help="Only runs of the recipe of this name.", show_default=False),
    ] = None,
    status: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--status", help="RUNNING, FINISHED, FAILED, KILLED or DEAD (process gone).", show_default=False
        ),
    ] = None,
    metric: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--metric",
            help='Keep runs whose final metric passes, e.g. "dev.accuracy>0.9" (repeatable).',
            show_default=False,
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="start, name, duration, status, experiment or a metric (dev.accuracy); :asc or :desc.",
        ),
    ] = "start",
    limit: Annotated[int, typer.Option("--limit", help="Show at most this many runs.")] = 50,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """List runs, newest first: status (DEAD when the process died), times, key metrics, nesting.

    A run directory tells whether a RUNNING run's process still lives: MLflow alone keeps a run
    killed by SIGKILL or a power cut RUNNING forever. With --json: {"runs": [...], ...}.
    """
    from dlkit import api

    listing = api.runs_list(
        runs_dir=runs_dir,
        tracking_uri=tracking_uri,
        experiment=experiment,
        recipe=recipe,
        status=status,
        metrics=metric or [],
        sort=sort,
        limit=limit,
    )
    if as_json:
        print_json(listing.to_dict())
        return
    from dlkit.cli._console import console
    from dlkit.reporting.runs import render_run_list

    render_run_list(console, listing)


@runs_app.command("show")
@report_errors
def show_cmd(
    run: Annotated[
        str, typer.Argument(help="A run directory, run name, or MLflow run id or name.", show_default=False)
    ],
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Params, metrics per set, tags, artifacts, diagnose gaps and the decision chain of one run."""
    from dlkit import api

    details = api.runs_show(run, runs_dir=runs_dir, tracking_uri=tracking_uri)
    if as_json:
        print_json(details.to_dict())
        return
    from dlkit.cli._console import console
    from dlkit.reporting.runs import render_run_details

    render_run_details(console, details)


@runs_app.command("compare")
@report_errors
def compare_cmd(
    runs: RunsArg,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Runs side by side: the params that differ, the final metrics per set, the diagnose gaps."""
    from dlkit import api

    comparison = api.runs_compare(list(runs), runs_dir=runs_dir, tracking_uri=tracking_uri)
    if as_json:
        print_json(comparison.to_dict())
        return
    from dlkit.cli._console import console
    from dlkit.reporting.runs import render_comparison

    render_comparison(console, comparison)


@runs_app.command("delete")
@report_errors
def delete_cmd(
    runs: RunsArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    purge: Annotated[
        bool, typer.Option("--purge", help="Also remove the run directories (else kept, marked deleted).")
    ] = False,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Delete runs as MLflow does (restorable in MLflow); refuses a run still training."""
    from dlkit import api
    from dlkit.cli._errors import err_console
    from dlkit.reporting.runs import describe_deletion

    def confirm(plan: list[Any]) -> bool:
        if yes:
            return True
        err_console.print(f"About to delete {len(plan)} run(s):")
        for line in describe_deletion(plan, purge):
            err_console.print(line)
        return typer.confirm("Delete?", default=False, err=True)

    deleted = api.runs_delete(
        list(runs), purge=purge, confirm=confirm, runs_dir=runs_dir, tracking_uri=tracking_uri
    )
    if as_json:
        print_json({"deleted": [d.to_dict() for d in deleted]})
        return
    from dlkit.cli._console import console

    if not deleted:
        console.print("Nothing deleted.")
        return
    for line in describe_deletion(deleted, purge):
        console.print(line)
    console.print(f"Deleted {len(deleted)} run(s).")
