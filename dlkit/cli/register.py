"""``dlkit register RUN NAME``: a run's MLflow Model as a new version in MLflow's model registry."""

from pathlib import Path
from typing import Annotated

import typer

from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt, RunsDirOpt, TrackingUriOpt

NameArg = Annotated[str, typer.Argument(help="The registered model (created if new).", show_default=False)]


@report_errors
def register(
    run: Annotated[
        str, typer.Argument(help="A run: directory, run name or MLflow run id.", show_default=False)
    ],
    name: NameArg,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Register RUN's logged model as the next version of NAME in MLflow's model registry."""
    from dlkit import api

    result = api.register(run, name, runs_dir=runs_dir, tracking_uri=tracking_uri)
    if as_json:
        print_json(result.to_dict())
    else:
        print_registered(result)


def print_registered(result: object) -> None:
    """One line: the registered version and how to load it."""
    from rich.markup import escape

    from dlkit.cli._console import console
    from dlkit.tracking.registry import RegisterResult

    assert isinstance(result, RegisterResult)
    console.print(
        f"Registered [bold]{escape(result.name)}[/bold] version {result.version} "
        f"(run {result.run_id}): load it with mlflow.pyfunc.load_model('{escape(result.model_uri)}')"
    )
