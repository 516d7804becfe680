"""``dlkit tune``: hyperparameter search; ``tune preview`` and ``tune refine``.

``dlkit tune RECIPE`` (or ``--resume STUDY``) runs a study: the ``run`` sub-command is the
default, so the first argument may be a recipe.
"""

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt, SetOpt
from dlkit.tuning.strategies import STRATEGIES


class _DefaultRun(TyperGroup):
    """A group whose default sub-command is ``run``: ``dlkit tune x.yaml`` = ``dlkit tune run x.yaml``.

    Its help is ``run``'s (usage ``dlkit tune RECIPE [OPTIONS]``, then the study's options), which
    names the other sub-commands at its end.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.commands["run"].format_help(ctx, formatter)


class _RunCommand(TyperCommand):
    """``tune run``: the recipe first in its usage line, as a person types it."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return ["RECIPE", *(piece for piece in super().collect_usage_pieces(ctx) if piece != "[RECIPE]")]


tune_app = typer.Typer(
    cls=_DefaultRun,
    help="Hyperparameter search (keras-tuner): random on the right scales, coarse to fine, with constraints.",
    no_args_is_help=True,
)

NoTrackOpt = Annotated[bool, typer.Option("--no-track", help="Do not record the study in MLflow.")]


def _console() -> Any:
    from dlkit.cli._console import console

    return console


def _progress_console(as_json: bool) -> Any:
    """Where live progress goes: stderr with --json (stdout holds the JSON document only)."""
    if as_json:
        from dlkit.cli._errors import err_console

        return err_console
    return _console()


def _oracle_env(chief: bool, worker: str | None, oracle: str | None) -> None:
    """Set keras-tuner's distribution variables from --chief / --worker / --oracle."""
    from dlkit.errors import RecipeError

    if chief and worker is not None:
        raise RecipeError("--chief and --worker: expected one of them")
    if not chief and worker is None:
        return
    address = oracle or os.environ.get("KERASTUNER_ORACLE_IP", "")
    if oracle is None and "KERASTUNER_ORACLE_PORT" in os.environ:
        address = f"{address}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise RecipeError(f"--oracle: expected HOST:PORT, e.g. 127.0.0.1:8000 (got {address!r})")
    os.environ["KERASTUNER_ORACLE_IP"] = host
    os.environ["KERASTUNER_ORACLE_PORT"] = port
    os.environ["KERASTUNER_TUNER_ID"] = "chief" if chief else f"worker{worker}"


def _stopped(live: Any, study: Path | None) -> int:
    """Ctrl-C: name the study and the command that continues it; the exit code (130)."""
    import shlex

    from dlkit.cli._errors import named, print_stopped, show_path

    folder = live.study or study
    if folder is None:  # stopped before the study's folder was made: nothing to continue
        return print_stopped("the study", None)
    folder = Path(folder)
    shown = show_path(folder)
    return print_stopped(
        named("study", live.study_name or folder.name, folder), f"dlkit tune --resume {shlex.quote(shown)}"
    )


@tune_app.command(
    "run",
    cls=_RunCommand,
    epilog="Also: dlkit tune refine STUDY (more rounds for a finished study), "
    "dlkit tune preview RECIPE (the space as it will be sampled); see their --help.",
)
@report_errors
def run(
    recipe: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="A recipe with a tune section.", show_default=False),
    ] = None,
    overrides: SetOpt = None,
    trials: Annotated[Optional[int], typer.Option("--trials", help="Trials per round.")] = None,  # noqa: UP045
    rounds: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--rounds", help="Coarse-to-fine rounds (each narrows the space)."),
    ] = None,
    strategy: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--strategy", help=f"Search strategy: {', '.join(STRATEGIES.names())}."),
    ] = None,
    resume: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--resume",
            help="Finish an interrupted study (its folder), instead of RECIPE.",
            show_default=False,
            metavar="STUDY",
        ),
    ] = None,
    study: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--study",
            help="The study's folder (shared by a chief and its workers).",
            show_default=False,
            metavar="DIR",
        ),
    ] = None,
    chief: Annotated[
        bool, typer.Option("--chief", help="Serve the oracle to workers (distributed).")
    ] = False,
    worker: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--worker", help="Run trials for a chief, as worker ID.", show_default=False, metavar="ID"
        ),
    ] = None,
    oracle: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--oracle",
            help="The chief's HOST:PORT (or KERASTUNER_ORACLE_IP/PORT).",
            show_default=False,
            metavar="HOST:PORT",
        ),
    ] = None,
    no_track: NoTrackOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a study: trials trained by dlkit, chosen by keras-tuner, recorded in MLflow."""
    from dlkit import api
    from dlkit.errors import RecipeError
    from dlkit.reporting.tune import LiveTrials, render_tune_result

    if resume is not None and recipe is not None:
        raise RecipeError("--resume: the study's own recipe is used; pass either RECIPE or --resume STUDY")
    if chief and study is None:
        raise RecipeError("--chief: expected --study DIR, a folder its workers can read")
    _oracle_env(chief, worker, oracle)
    console = _progress_console(as_json)
    live = LiveTrials(console)
    try:
        result = api.tune(
            recipe,
            overrides or [],
            trials=trials,
            rounds=rounds,
            strategy=strategy,
            study_dir=study,
            resume=resume,
            track=not no_track,
            on_event=live,
        )
    except KeyboardInterrupt:
        live.stop()
        raise typer.Exit(_stopped(live, resume)) from None
    finally:
        live.stop()
    if as_json:
        print_json(result.to_dict())
        return
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "")
    if "KERASTUNER_ORACLE_IP" in os.environ and "chief" not in tuner_id:
        done = [r for r in result.ranked if r.tuner == tuner_id]
        console.print(escape(f"Worker {tuner_id}: {len(done)} trial(s) run in {result.study_dir}"))
        return
    render_tune_result(console, result)


@tune_app.command("refine")
@report_errors
def refine_cmd(
    study: Annotated[Path, typer.Argument(help="A finished study's folder.", show_default=False)],
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds to add.")] = 1,
    trials: Annotated[Optional[int], typer.Option("--trials", help="Trials per added round.")] = None,  # noqa: UP045
    no_track: NoTrackOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Narrow a finished study's space around its best trials and search again (same study)."""
    from dlkit import api
    from dlkit.reporting.tune import LiveTrials, render_tune_result

    console = _progress_console(as_json)
    live = LiveTrials(console)
    try:
        result = api.tune_refine(study, rounds=rounds, trials=trials, track=not no_track, on_event=live)
    except KeyboardInterrupt:
        live.stop()
        raise typer.Exit(_stopped(live, study)) from None
    finally:
        live.stop()
    if as_json:
        print_json(result.to_dict())
        return
    render_tune_result(console, result)


@tune_app.command("preview")
@report_errors
def preview_cmd(
    recipe: Annotated[Path, typer.Argument(help="A recipe with a tune section.", show_default=False)],
    overrides: SetOpt = None,
    draws: Annotated[int, typer.Option("--draws", help="Configurations drawn for the histograms.")] = 2000,
) -> None:
    """Draw each dimension's histogram as the search will sample it; warn about likely mistakes."""
    from dlkit import api
    from dlkit.errors import RecipeError
    from dlkit.reporting.tune import render_preview

    if draws < 1:
        raise RecipeError(f"--draws: expected at least 1 (got {draws})")
    render_preview(_console(), api.tune_preview(recipe, overrides or [], draws))
