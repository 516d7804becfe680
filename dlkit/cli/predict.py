"""``dlkit predict RUN DATA`` and ``dlkit evaluate RUN DATA``: a finished run's model on new data."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt, RunsDirOpt, TrackingUriOpt

RunArg = Annotated[
    str,
    typer.Argument(
        help="Run directory, run name, or MLflow run id or name.", metavar="RUN", show_default=False
    ),
]
DataArg = Annotated[
    Path,
    typer.Argument(
        help="A file or folder of the run's source type (CSV, Parquet, image folder, npz, text).",
        metavar="DATA",
        show_default=False,
    ),
]


@report_errors
def predict(
    run: RunArg,
    data: DataArg,
    out: Annotated[
        Optional[Path],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--out",
            help="Predictions file, .csv or .parquet (default: <DATA name>.predictions.parquet beside DATA).",
            metavar="FILE",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Predict new data with a run's model, read and preprocessed exactly as in training.

    Writes one row per example: id (the id column, row number or image path), y_pred,
    confidence and proba_<k> per class index k; with the target present also y_true, correct
    and loss. Nothing is written into the run.
    """
    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.cli._errors import err_console
    from dlkit.reporting.inference import PredictProgress, render_predict

    progress = PredictProgress(err_console, "predicting")
    try:
        result = api.predict(
            run,
            data,
            out,
            runs_dir=runs_dir,
            tracking_uri=tracking_uri,
            on_start=progress.start,
            on_progress=progress.update,
        )
    finally:
        progress.stop()
    if as_json:
        print_json(result.to_dict())
        return
    render_predict(console, result)


@report_errors
def evaluate(
    run: RunArg,
    data: DataArg,
    diagnose: Annotated[
        bool,
        typer.Option("--diagnose", help="Compare the error with the run's train, train-dev and dev errors."),
    ] = False,
    errors: Annotated[
        bool,
        typer.Option(
            "--errors",
            help="Write the error-analysis sheet of this set (<name>.errors.csv beside DATA or --out).",
        ),
    ] = False,
    out: Annotated[
        Optional[Path],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--out", help="Also keep the predictions (.csv or .parquet).", metavar="FILE", show_default=False
        ),
    ] = None,
    no_track: Annotated[
        bool, typer.Option("--no-track", help="Do not record the evaluation in MLflow.")
    ] = False,
    as_json: JsonOpt = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """A run's metrics on new labelled data, beside the run's own sets (same names, same preprocessing).

    Nothing is written into the run directory or changed in its MLflow run; a tracked run gets
    a nested MLflow run evaluate-<DATA name> with these metrics.
    """
    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.cli._errors import err_console
    from dlkit.reporting.inference import PredictProgress, render_evaluate

    progress = PredictProgress(err_console, "evaluating")
    try:
        result = api.evaluate(
            run,
            data,
            out=out,
            diagnose=diagnose,
            errors=errors,
            track=not no_track,
            runs_dir=runs_dir,
            tracking_uri=tracking_uri,
            on_start=progress.start,
            on_progress=progress.update,
        )
    finally:
        progress.stop()
    if as_json:
        print_json(result.to_dict())
        return
    render_evaluate(console, result)
