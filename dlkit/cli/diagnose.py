"""``dlkit diagnose RUN [RUN ...]``: the gaps of docs/method.md §2 and what to do next."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from dlkit.cli._blas import idle_blas_threads
from dlkit.cli._errors import report_errors
from dlkit.cli._options import JsonOpt, RunsDirOpt, TrackingUriOpt

if TYPE_CHECKING:
    from dlkit.analysis.learning_curve import LearningCurveResult


@report_errors
def diagnose(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Run directories, run names, or MLflow run ids or names.",
            metavar="RUN",
            show_default=False,
        ),
    ],
    human_error: Annotated[
        Optional[float],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--human-error",
            help="Human-level error (0.01 = 1%; regression: in the metric's units). "
            "Default: the recipe's targets.human_error.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not write Markdown/HTML reports or log them to MLflow.")
    ] = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
    learning_curve: Annotated[
        bool,
        typer.Option(
            "--learning-curve",
            help="Retrain on shares of the training set, each with the full run's optimizer steps; "
            "plot train/dev error against examples (also in diagnose.html).",
        ),
    ] = False,
    fractions: Annotated[
        str, typer.Option("--fractions", help="Shares of the training set for --learning-curve.")
    ] = "0.1,0.25,0.5,1",
) -> None:
    """Avoidable bias, variance, data mismatch and overfitting to dev, with intervals and next steps.

    Reads the predictions stored with each run (no retraining). Several runs: side by side.
    --learning-curve retrains each run's recipe on shares of train first (slow: each point
    takes about as many optimizer steps as the run), and prints each point as it goes.

    With --json, prints {"runs": [...]}, one entry per run.
    """
    if not learning_curve:  # reads the stored predictions only: no linear algebra
        idle_blas_threads()
    from dlkit import api
    from dlkit.errors import RecipeError

    if human_error is not None and human_error < 0:
        raise RecipeError(f"--human-error: expected a value >= 0 (got {human_error:g})")
    try:
        shares = tuple(float(f) for f in fractions.split(","))
    except ValueError:
        raise RecipeError(f"--fractions: expected numbers separated by commas (got {fractions!r})") from None
    # the curves first: diagnose's HTML report then includes them
    curves = []
    if learning_curve:
        curves = [_learning_curve(ref, shares, human_error, runs_dir, tracking_uri, as_json) for ref in runs]
    diagnoses = api.diagnose(
        list(runs), human_error, runs_dir=runs_dir, tracking_uri=tracking_uri, reports=not no_report
    )
    if as_json:
        entries = [d.to_dict() for d in diagnoses]
        for entry, curve in zip(entries, curves, strict=False):
            entry["learning_curve"] = curve.to_dict()
        typer.echo(json.dumps({"runs": entries}, indent=2, default=str))
        return
    from dlkit.cli._console import console
    from dlkit.reporting.diagnose import render_diagnoses
    from dlkit.reporting.learning_curve import render_learning_curve

    render_diagnoses(console, diagnoses)
    for curve in curves:
        render_learning_curve(console, curve)


def _learning_curve(
    ref: str,
    shares: tuple[float, ...],
    human_error: float | None,
    runs_dir: Path,
    tracking_uri: str | None,
    as_json: bool,
) -> "LearningCurveResult":
    """One run's curve, with a line as each point starts and ends (on stderr with --json)."""
    from rich.markup import escape

    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.cli._errors import err_console
    from dlkit.reporting.learning_curve import CurveProgress

    progress = CurveProgress(err_console if as_json else console)
    progress.console.print(f"Learning curve of {escape(ref)}: {len(set(shares))} points")
    try:
        return api.learning_curve(
            ref,
            shares,
            human_error,
            runs_dir=runs_dir,
            tracking_uri=tracking_uri,
            on_point_start=progress.start,
            on_epoch=progress.epoch,
            on_point_end=progress.end,
        )
    finally:
        progress.stop()
