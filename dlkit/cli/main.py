"""The ``dlkit`` command: parse, call :mod:`dlkit.api`, render. The only place that prints."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlkit import __version__
from dlkit.cli._console import console
from dlkit.cli._errors import report_errors
from dlkit.cli._options import RecipeArg, SetOpt
from dlkit.cli.analyze_errors import analyze_errors
from dlkit.cli.diagnose import diagnose
from dlkit.cli.doctor import doctor
from dlkit.cli.gradcheck import gradcheck
from dlkit.cli.init import init
from dlkit.cli.lr_find import lr_find
from dlkit.cli.models import models_app
from dlkit.cli.split import split
from dlkit.cli.tune import tune_app

# TensorFlow's C++ start-up chatter (CPU feature notes, missing CUDA) is not for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

app = typer.Typer(
    name="dlkit",
    help="Disciplined deep-learning experiments: YAML recipes in, tracked Keras runs and reports out.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
recipe_app = typer.Typer(help="Validate, show and describe recipes.", no_args_is_help=True)
app.add_typer(recipe_app, name="recipe")
app.add_typer(models_app, name="models")
app.add_typer(tune_app, name="tune")


def _version(value: bool) -> None:
    if value:
        console.print(f"dlkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """dlkit: train, diagnose, analyse and tune deep-learning models from recipes."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # MLflow announces store migrations at INFO (it reads this when imported, later)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", logging.getLevelName(level))


@app.command()
@report_errors
def train(
    recipe: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="A recipe YAML file (not with --resume).", show_default=False),
    ] = None,
    overrides: SetOpt = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not record the run in MLflow.")] = False,
    resume: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--resume",
            help="Continue RUN (directory, name or MLflow run id) from its last completed epoch; "
            "--set train.epochs=N trains it further.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train the recipe's model, evaluate every set in inference mode, record the run.

    Ctrl-C (SIGINT) and SIGTERM (a scheduler, ``docker stop``) both stop the run as KILLED with its
    checkpoints kept, resumable with --resume; the exit code says which: 130 for Ctrl-C, 143
    (128 + SIGTERM, what a shell reports for a process it ended) for SIGTERM.
    """
    from dlkit import api
    from dlkit.cli._errors import err_console
    from dlkit.errors import RecipeError
    from dlkit.reporting.terminal import TrainProgress, render_train_result
    from dlkit.training.lifecycle import Terminated, sigterm_interrupts

    if (recipe is None) == (resume is None):
        raise RecipeError("dlkit train: give a RECIPE, or --resume RUN (not both)")
    progress = TrainProgress(console)
    try:
        with sigterm_interrupts():
            if resume is not None:
                result = api.resume(resume, overrides or [], on_start=progress.start, on_epoch=progress.epoch)
            else:
                assert recipe is not None
                spec = api.load_recipe(recipe, overrides or [])
                result = api.train(spec, track=not no_track, on_start=progress.start, on_epoch=progress.epoch)
    except Terminated:
        progress.stop()
        err_console.print("[yellow]terminated[/yellow]", markup=True)
        raise typer.Exit(143) from None
    finally:
        progress.stop()
    render_train_result(console, result)


app.command("split")(split)


@app.command()
@report_errors
def ui(
    tracking_uri: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--tracking-uri", help="Defaults to MLFLOW_TRACKING_URI, then sqlite:///mlflow.db."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5000,
    workers: Annotated[int, typer.Option(help="Server worker processes (one is plenty locally).")] = 1,
) -> None:
    """Open the MLflow UI on the same store dlkit writes to.

    The server runs in its own process group; Ctrl-C and SIGTERM are passed to the whole group
    (the server and its workers), which is given a few seconds to stop, then killed, so that
    stopping ``dlkit ui`` never leaves a server behind. The exit code is then 128 + the signal.
    """
    from dlkit.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    console.print(f"MLflow UI for {uri} on http://127.0.0.1:{port}")
    raise typer.Exit(
        _serve(
            [
                *(sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            ]
        )
    )


class _Stopped(Exception):
    """The first SIGINT or SIGTERM received while a server runs (see :func:`_serve`)."""


def _serve(cmd: list[str], grace_s: float = 10.0) -> int:
    """Run a server in its own process group until it exits or this process gets SIGINT / SIGTERM.

    A signal is passed to the whole group; the server then has ``grace_s`` seconds to stop before
    the group is killed (a second signal is passed on too, and does not shorten the wait).

    Returns:
        The server's exit code, or 128 + the signal that stopped it.
    """
    import contextlib
    import signal
    import subprocess

    server = subprocess.Popen(cmd, start_new_session=True)
    received: list[int] = []

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signum)
        if not received:
            received.append(signum)
            raise _Stopped

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.wait()
        except _Stopped:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(grace_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # what is left of the group (the server past its grace, workers that outlive it) is killed
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        code = server.wait()
    return 128 + received[0] if received else code


app.command("diagnose")(diagnose)
app.command("analyze-errors")(analyze_errors)
app.command("gradcheck")(gradcheck)
app.command("lr-find")(lr_find)
app.command("init")(init)
app.command("doctor")(doctor)


@recipe_app.command("validate")
@report_errors
def recipe_validate(recipe: RecipeArg, overrides: SetOpt = None) -> None:
    """Check a recipe against the schema; one line per problem."""
    from rich.text import Text

    from dlkit.cli._errors import plain_text
    from dlkit.recipe.loader import load_recipe

    spec = load_recipe(recipe, overrides or [])
    # a Text, not markup: the file name is the user's and may hold brackets
    console.print(Text(plain_text(f"{recipe}: valid (model {spec.model.type}, {spec.train.epochs} epochs)")))


@recipe_app.command("show")
@report_errors
def recipe_show(
    recipe: RecipeArg,
    overrides: SetOpt = None,
    resolved: Annotated[bool, typer.Option("--resolved", help="Write out every default.")] = False,
) -> None:
    """Print the recipe (with --resolved: validated, overrides applied, every default filled)."""
    import yaml

    from dlkit.recipe.loader import apply_override, dump_recipe, load_recipe, read_yaml

    if resolved:
        typer.echo(dump_recipe(load_recipe(recipe, overrides or [])), nl=False)
        return
    data = read_yaml(recipe)
    for assignment in overrides or []:
        apply_override(data, assignment)
    typer.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


@recipe_app.command("schema")
def recipe_schema() -> None:
    """Print the recipe's JSON Schema (for editors and validators)."""
    from dlkit.recipe.schema import Recipe

    typer.echo(json.dumps(Recipe.model_json_schema(), indent=2))
