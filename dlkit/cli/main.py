"""The ``dlkit`` command: parse, call :mod:`dlkit.api`, render. The only place that prints."""

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from dlkit import __version__
from dlkit._tf import announce_import, skip_final_collection
from dlkit.cli._console import console, loading_status
from dlkit.cli._errors import report_errors
from dlkit.cli._options import JsonOpt, ReadableHelp, RecipeArg, SetOpt
from dlkit.cli.analyze_errors import analyze_errors
from dlkit.cli.diagnose import diagnose
from dlkit.cli.doctor import doctor
from dlkit.cli.embed import app as embed_app
from dlkit.cli.gradcheck import gradcheck
from dlkit.cli.init import init
from dlkit.cli.lr_find import lr_find
from dlkit.cli.models import models_app
from dlkit.cli.predict import evaluate, predict
from dlkit.cli.register import print_registered, register
from dlkit.cli.report import report
from dlkit.cli.runs import runs_app
from dlkit.cli.split import split
from dlkit.cli.style_transfer import style_transfer
from dlkit.cli.tune import tune_app
from dlkit.cli.ui import ui
from dlkit.cli.verify import identify, verify

# TensorFlow's C++ start-up chatter (CPU feature notes, missing CUDA) is not for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

app = typer.Typer(
    name="dlkit",
    help="Disciplined deep-learning experiments: YAML recipes in, tracked Keras runs and reports out.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
    cls=ReadableHelp,
)
recipe_app = typer.Typer(help="Validate, show and describe recipes.", no_args_is_help=True)
app.add_typer(recipe_app, name="recipe")
app.add_typer(models_app, name="models")
app.add_typer(tune_app, name="tune")
app.add_typer(runs_app, name="runs")
app.add_typer(embed_app, name="embed")


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
    announce_import(loading_status)
    skip_final_collection()


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
            metavar="RUN",
        ),
    ] = None,
    from_run: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--from",
            help="The earlier RUN this recipe follows from (linked in MLflow; see dlkit runs show).",
            show_default=False,
            metavar="RUN",
        ),
    ] = None,
    as_json: JsonOpt = False,
    register_as: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--register",
            help="Register the trained model as NAME in MLflow's registry.",
            show_default=False,
            metavar="NAME",
        ),
    ] = None,
) -> None:
    """Train the recipe's model, evaluate every set in inference mode, record the run.

    Ctrl-C (SIGINT) and SIGTERM (a scheduler, ``docker stop``) both stop the run as KILLED with its
    checkpoints kept, resumable with --resume; the exit code says which: 130 for Ctrl-C, 143
    (128 + SIGTERM, what a shell reports for a process it ended) for SIGTERM.
    """
    from dlkit import api
    from dlkit.cli._errors import err_console, print_run_stopped
    from dlkit.errors import RecipeError
    from dlkit.reporting.terminal import TrainProgress, render_train_result
    from dlkit.training.lifecycle import Terminated, sigterm_interrupts

    if (recipe is None) == (resume is None):
        raise RecipeError("dlkit train: give a RECIPE, or --resume RUN (not both)")
    if from_run is not None and resume is not None:
        raise RecipeError("--from: not with --resume (a resumed run keeps its links)")
    if register_as is not None and no_track:
        raise RecipeError("dlkit train: --register needs the run in MLflow (not with --no-track)")
    progress = TrainProgress(err_console if as_json else console)
    try:
        with sigterm_interrupts():
            if resume is not None:
                result = api.resume(resume, overrides or [], on_start=progress.start, on_epoch=progress.epoch)
            else:
                assert recipe is not None
                spec = api.load_recipe(recipe, overrides or [])
                derived = api.derivation(recipe, spec, from_run)
                result = api.train(
                    spec,
                    track=not no_track,
                    on_start=progress.start,
                    on_epoch=progress.epoch,
                    derived_from=derived,
                )
    except KeyboardInterrupt as stop:
        progress.stop()
        raise typer.Exit(print_run_stopped(progress.run_dir, resume, isinstance(stop, Terminated))) from None
    finally:
        progress.stop()
    registered = api.register(result.run_dir, register_as) if register_as is not None else None
    if as_json:
        from dlkit.cli._json import print_json

        document = result.to_dict()
        if registered is not None:
            document["registered"] = {"name": registered.name, "version": registered.version}
        print_json(document)
        return
    render_train_result(console, result)
    if registered is not None:
        print_registered(registered)


app.command("split")(split)
app.command("register")(register)


app.command("ui")(ui)
app.command("diagnose")(diagnose)
app.command("analyze-errors")(analyze_errors)
app.command("gradcheck")(gradcheck)
app.command("lr-find")(lr_find)
app.command("report")(report)
app.command("predict")(predict)
app.command("evaluate")(evaluate)
app.command("init")(init)
app.command("doctor")(doctor)
app.command("verify")(verify)
app.command("identify")(identify)
app.command("style-transfer")(style_transfer)


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
