"""``dlkit doctor``: versions, devices, the MLflow store, the runs folder and a one-epoch smoke run."""

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from dlkit.cli._console import console
from dlkit.cli._errors import plain_text, report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt, RunsDirOpt, TrackingUriOpt

STYLES = {"ok": "green", "warning": "yellow", "fail": "red"}


@report_errors
def doctor(
    tracking_uri: TrackingUriOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    no_smoke: Annotated[
        bool, typer.Option("--no-smoke", help="Skip the one-epoch smoke run (a few seconds).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check that this machine can train and track: one line per check (ok / warning / fail) and a fix.

    Exit code 1 when a check fails. Nothing is written to the store or the runs folder.
    """
    from dlkit import api
    from dlkit.doctor import Check

    def show(check: Check) -> None:
        if as_json:
            return
        line = Text.assemble(
            (f"{check.status:<7}", STYLES[check.status]),
            " ",
            (f"{check.name}: ", "bold"),
            plain_text(check.detail),
        )
        if check.fix:
            line.append(f"  fix: {plain_text(check.fix)}", style="dim")
        console.print(line)

    report = api.doctor(tracking_uri=tracking_uri, runs_dir=runs_dir, smoke=not no_smoke, on_check=show)
    if as_json:
        print_json(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)
