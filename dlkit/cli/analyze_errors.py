"""``dlkit analyze-errors RUN``: the error sheet, tagged categories and their ceilings (docs/method.md §4)."""

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dlkit.cli._blas import idle_blas_threads
from dlkit.cli._errors import report_errors
from dlkit.cli._options import JsonOpt, RunsDirOpt, TrackingUriOpt


@report_errors
def analyze_errors(
    run: Annotated[
        str, typer.Argument(help="A run directory, run name, or MLflow run id or name.", show_default=False)
    ],
    tags: Annotated[
        Optional[Path],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--tags", help="A filled sheet (CSV or Parquet) to read back and report on.", show_default=False
        ),
    ] = None,
    tag: Annotated[
        bool,
        typer.Option(
            "--tag",
            help="Tag the sheet here, one example at a time (image drawn in the terminal); stop "
            "and resume at any point; the report follows the last example.",
        ),
    ] = False,
    sample: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--sample",
            help="Errors on the sheet (default: the recipe's analysis.sample, 100).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--seed", help="Sampling seed (default: the recipe's seed).", show_default=False),
    ] = None,
    stratify: Annotated[
        bool, typer.Option("--stratify", help="Sample in proportion to each (true, predicted) pair.")
    ] = False,
    new_sheet: Annotated[
        bool, typer.Option("--new-sheet", help="Replace an existing sheet (it may hold tags).")
    ] = False,
    label_issues: Annotated[
        bool,
        typer.Option(
            "--label-issues",
            help="Flag suspected label errors in dev and test from the stored out-of-sample "
            "predictions (cleanlab).",
        ),
    ] = False,
    folds: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--folds",
            help="Flag suspected label errors from K-fold cross-validated predictions of the "
            "recipe's model (retrains it K times on the run's data; implies --label-issues).",
            show_default=False,
        ),
    ] = None,
    label_issues_on: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--label-issues-on",
            help="Sets to check for label errors, comma-separated (default dev,test; train needs --folds).",
            show_default=False,
        ),
    ] = None,
    model_gap: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--model-gap",
            help="Error difference between models you need to tell apart (0.002 = 0.2 points): "
            "labels are worth fixing when their ceiling reaches it.",
            show_default=False,
        ),
    ] = None,
    apply_corrections: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--apply-corrections",
            help="A sheet with a filled corrected_label column (the error sheet or "
            "analysis/label_issues.csv): write analysis/corrections.csv for the next training "
            "(recipe data.corrections).",
            show_default=False,
        ),
    ] = None,
    corrections_out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--corrections-out",
            help="With --apply-corrections: also write the corrections file here (e.g. beside the recipe).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not write reports/errors.html or log to MLflow.")
    ] = False,
    runs_dir: RunsDirOpt = Path("runs"),
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Sample misclassified dev examples into a sheet to tag; with --tags, rank the categories by ceiling.

    Reads the predictions stored with the run (no retraining, no TensorFlow). Writes
    analysis/errors.csv, .parquet and .html and reports/errors.html into the run directory.
    Every task: classification (per class, confusion, highest loss), sequences (exact match
    against token or step accuracy, worst examples, error by length; a sheet of wrong ones),
    regression (largest errors, residuals by slice and plot), multitask (each task as a binary
    classification). Label issues and corrections need class labels.
    """
    if folds is None:  # reads the stored predictions only (--folds retrains the model)
        idle_blas_threads()
    from dlkit import api
    from dlkit.errors import RecipeError

    if corrections_out is not None and apply_corrections is None:
        raise RecipeError("--corrections-out: only with --apply-corrections SHEET")
    if apply_corrections is not None:
        fixed = api.apply_corrections(
            run, apply_corrections, out=corrections_out, runs_dir=runs_dir, tracking_uri=tracking_uri
        )
        if as_json:
            typer.echo(json.dumps(fixed.to_dict(), indent=2, default=str))
            return
        from dlkit.cli._console import console
        from dlkit.reporting.errors import render_corrections

        render_corrections(console, fixed)
        return
    if model_gap is not None and not 0 <= model_gap <= 1:
        raise RecipeError(f"--model-gap: expected an error difference in [0, 1] (got {model_gap:g})")
    if tag:
        if tags is not None or as_json:
            raise RecipeError("--tag: not with --tags or --json (the session writes the sheet itself)")
        from dlkit.cli._console import console
        from dlkit.cli.tagging import require_terminal, run_session
        from dlkit.errors import UnsupportedRunError

        require_terminal()
        first = api.analyze_errors(
            run,
            sample=sample,
            seed=seed,
            stratify=stratify,
            new_sheet=new_sheet,
            runs_dir=runs_dir,
            tracking_uri=tracking_uri,
            reports=False,
        )
        if first.sheet_path is None:
            raise UnsupportedRunError(f"run '{first.run_name}': --tag: task {first.task} has no error sheet")
        if not run_session(console, first.sheet_path, first.run_dir, first.classes, first.sheet_columns):
            console.print(
                f"Stopped; every tag is saved in {first.sheet_path}. "
                f"Resume with: dlkit analyze-errors {first.run_dir} --tag",
                highlight=False,
                soft_wrap=True,
            )
            return
        tags, new_sheet = first.sheet_path, False
        console.clear()
        console.print(
            f"All {first.n_sampled} examples seen; the report on {first.sheet_path}:", highlight=False
        )
    on_fold = None
    if folds is not None and not as_json:
        from dlkit.cli._console import console

        def on_fold(event: Any) -> None:
            console.print(
                f"fold {event.fold}/{event.folds}: trained on {event.n_train}, accuracy "
                f"{event.accuracy:.3f} on {event.n_held_out} held out",
                highlight=False,
            )

    sets = [s.strip() for s in label_issues_on.split(",") if s.strip()] if label_issues_on else None
    result = api.analyze_errors(
        run,
        tags=tags,
        sample=sample,
        seed=seed,
        stratify=stratify,
        new_sheet=new_sheet,
        label_issues=label_issues,
        model_gap=model_gap,
        runs_dir=runs_dir,
        tracking_uri=tracking_uri,
        reports=not no_report,
        folds=folds,
        label_issues_on=sets,
        on_fold=on_fold,
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    from dlkit.cli._console import console
    from dlkit.reporting.errors import render_errors

    render_errors(console, result)
