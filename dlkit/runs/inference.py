"""``dlkit predict`` and ``dlkit evaluate``: a finished run's model on new data.

New data is read exactly as the run read its own: the run's recipe names the data source (CSV,
Parquet, image folder, npz, text table, text pairs) and its options, and only the path changes.
The loader is told the run's task, classes and feature columns, so a column or label training
never saw is one line naming it; text is vectorised with the vocabulary the run adapted on its
train set (``split/vocabulary.txt``), never adapted again; normalisation is inside the model.
Predictions are made and written by the training pipeline's own functions
(:func:`dlkit.training.pipeline.predict_set`), chunk by chunk for a streamed source.

Neither command writes into the run directory or changes its MLflow run: ``evaluate`` records
its metrics in a new MLflow run nested under the run's (``mlflow.parentRunId``), named
``evaluate-<data>``, with the data's path and content hash as tags.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dlkit.data.columns import UNUSED, ColumnSpec, TableColumns
from dlkit.data.dataset import Dataset, Labels
from dlkit.errors import DataError, UnsupportedRunError
from dlkit.rundir import RunDir
from dlkit.tasks import task_for

if TYPE_CHECKING:
    from dlkit.analysis.bias_variance import SetError
    from dlkit.recipe.schema import Recipe

# the run's sets the new data's error is compared with (--diagnose)
COMPARED = ("train", "train_dev", "dev")


@dataclass
class PredictResult:
    """Predictions of a run's model on new data.

    Attributes:
        run_name: the run's name.
        run_dir: its run directory.
        data: the data read (its path).
        out: the predictions file written.
        n: examples predicted.
        labelled: the data had labels (the file then also holds y_true, correct and loss).
        metrics: the set's metrics when labelled.
    """

    run_name: str
    run_dir: Path
    data: str
    out: Path
    n: int
    labelled: bool
    metrics: dict[str, float] | None = None
    drawn: Path | None = None  # pictures of the predictions (detection: boxes on the images)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_name": self.run_name,
            "run_dir": str(self.run_dir),
            "data": self.data,
            "out": str(self.out),
            "n": self.n,
            "labelled": self.labelled,
            "metrics": self.metrics,
            "drawn": str(self.drawn) if self.drawn else None,
        }


@dataclass(frozen=True)
class Shift:
    """How the new set's error sits against one of the run's sets: ``new − set``.

    Attributes:
        against: train, train_dev or dev.
        value: the difference of errors (positive: the new data is harder).
        low: lower end of its 95% interval.
        high: upper end.
    """

    against: str
    value: float
    low: float
    high: float

    @property
    def status(self) -> str:
        """``harder`` (interval above zero), ``easier`` (below zero) or ``unclear``."""
        if self.low > 0:
            return "harder"
        if self.high < 0:
            return "easier"
        return "unclear"


@dataclass
class MismatchReading:
    """The data-mismatch reading of new labelled data (docs/method.md §2).

    Attributes:
        metric: the error the sets are compared on (the run's optimizing metric).
        sets: the error of the run's train, train_dev and dev sets and of the new set (``new``).
        shifts: the new set's error minus each of the run's.
        verdict: one sentence.
    """

    metric: str
    sets: dict[str, SetError]
    shifts: list[Shift]
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "metric": self.metric,
            "sets": {k: asdict(v) for k, v in self.sets.items()},
            "shifts": [{**asdict(s), "status": s.status} for s in self.shifts],
            "verdict": self.verdict,
        }


@dataclass
class EvaluateResult:
    """A run's model scored on new labelled data.

    Attributes:
        run_name: the run's name.
        run_dir: its run directory.
        data: the data read (its path).
        task: the run's task.
        n: examples scored.
        metrics: the new set's metrics (the names of the run's metrics.json).
        run_metrics: the run's own metrics per set, for comparison.
        predictions: the predictions file, when one was asked for (``--out``).
        mismatch: the data-mismatch reading (``--diagnose``).
        sheet: the error-analysis sheet of the new set (``--errors``): CSV and Parquet.
        mlflow_run_id: the nested MLflow run the metrics were recorded in (None: not recorded).
        notes: what the reader must know.
    """

    run_name: str
    run_dir: Path
    data: str
    task: str
    n: int
    metrics: dict[str, float]
    run_metrics: dict[str, dict[str, float]]
    predictions: Path | None = None
    mismatch: MismatchReading | None = None
    sheet: tuple[Path, Path] | None = None
    mlflow_run_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_name": self.run_name,
            "run_dir": str(self.run_dir),
            "data": self.data,
            "task": self.task,
            "n": self.n,
            "metrics": self.metrics,
            "run_metrics": self.run_metrics,
            "predictions": str(self.predictions) if self.predictions else None,
            "diagnose": self.mismatch.to_dict() if self.mismatch else None,
            "errors_sheet": [str(p) for p in self.sheet] if self.sheet else None,
            "mlflow_run_id": self.mlflow_run_id,
            "notes": self.notes,
        }


def _run_name(run: RunDir, info: dict[str, Any]) -> str:
    return str(info.get("run_name") or run.path.name)


def _finished(run: RunDir) -> tuple[dict[str, Any], str]:
    """run.json, once the run is known to hold a trained model.

    Raises:
        UnsupportedRunError: the run has no model (still training, failed, or killed early).
    """
    from dlkit.rundir import run_state

    info = run.info()
    name = _run_name(run, info)
    if not run.model_path.is_file():
        raise UnsupportedRunError(
            f"run '{name}': no trained model ({run.model_path} is missing; status {run_state(run)})",
            hint="predict and evaluate read a finished run",
        )
    return info, name


def _source_for(recipe: Recipe, info: dict[str, Any], data_path: Path, name: str) -> Any:
    """The run's data source with the new path, told what training saw (task, classes, columns)."""
    source = recipe.data.source
    kind = getattr(source, "type", "?")
    if kind in ("sklearn", "canvas"):
        what = "a bundled scikit-learn dataset" if kind == "sklearn" else "generated (canvas)"
        raise UnsupportedRunError(
            f"run '{name}': its data is {what}, which has no file to replace",
            hint="predict and evaluate read the same kind of source as the run: a file or folder",
        )
    update: dict[str, Any] = {"path": data_path}
    fields = type(source).model_fields
    task = info.get("task")
    if "classes" in fields and (task is None or task_for(str(task)).keeps_classes):
        update["classes"] = list(info.get("classes") or [])
    if "sample_weight" in fields:
        update["sample_weight"] = None  # a training weight: new data need not have it
    if "metadata" in fields:
        update["metadata"] = []  # reports' columns: not needed to predict, often absent from new data
    options = info.get("source_options") or {}
    if options.get("columns"):  # typed columns: each read as train read it, never inferred again
        used = [c for c in options["columns"] if c["type"] not in UNUSED]
        update["features"] = [c["name"] for c in used]
        update["columns"] = {
            c["name"]: ColumnSpec(
                type=c["type"], date_format=c.get("date_format"), encoding=c.get("encoding")
            )
            for c in used
        }
        update["drop"] = []
    elif "features" in fields and info.get("feature_names"):
        update["features"] = list(info["feature_names"])  # never "every other numeric column"
    for key in ("max_input_length", "max_output_length"):
        if key in fields and options.get(key) is not None:
            update[key] = int(options[key])
    spec = source.model_copy(update=update)
    if kind in ("csv", "parquet") and data_path.suffix.lower() in (".csv", ".tsv", ".parquet"):
        # the same table read from the other format (a CSV run predicting a Parquet file)
        from dlkit.data.sources import CsvSource, ParquetSource

        values = spec.model_dump(exclude={"type", "sep"})
        if data_path.suffix.lower() == ".parquet" and kind == "csv":
            spec = ParquetSource(**values)
        elif data_path.suffix.lower() != ".parquet" and kind == "parquet":
            spec = CsvSource(**values, sep="\t" if data_path.suffix.lower() == ".tsv" else ",")
    return spec


def _vocabulary(path: Path) -> list[str] | None:
    """A vocabulary file written with the run's split (line i = token i), or None."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def read_new_data(run: RunDir, data_path: str | Path, labels: Labels) -> tuple[Recipe, Dataset]:
    """The run's recipe and ``data_path`` read as the run read its own data.

    Args:
        run: a finished run.
        data_path: a file or folder of the run's source type.
        labels: ``required`` (evaluate) or ``optional`` (predict).

    Raises:
        DataError: the data cannot be read, lacks a feature column training used, holds a label
            training never saw, or has inputs of another shape than the model takes.
        UnsupportedRunError: the run has no model, no file source, or no stored vocabulary.
    """
    from dlkit.data.sources import load_source
    from dlkit.recipe.loader import load_recipe

    info, name = _finished(run)
    recipe = load_recipe(run.recipe_path)
    path = Path(data_path).expanduser().resolve()
    spec = _source_for(recipe, info, path, name)
    data = load_source(spec, info.get("task"), Path.cwd(), labels=labels)
    if data.kind == "text":
        vocabulary = _vocabulary(run.manifest_path.parent / "vocabulary.txt")
        if vocabulary is None:
            raise UnsupportedRunError(
                f"run '{name}': no stored vocabulary ({run.manifest_path.parent / 'vocabulary.txt'})",
                hint="retrain the run with this version of dlkit: it keeps the vocabulary adapted on train",
            )
        data.use_vocabulary(vocabulary, _vocabulary(run.manifest_path.parent / "target_vocabulary.txt"))
    columns = (info.get("source_options") or {}).get("columns")
    if columns and not isinstance(data.x, TableColumns):  # all numbers and complete here: one input each
        data.x = TableColumns(  # type: ignore[assignment]  # Dataset.x holds either (see its docstring)
            {c["input"]: data.x[:, [i]] for i, c in enumerate(c for c in columns if c["type"] not in UNUSED)}
        )
    expected = tuple(int(d) for d in info.get("input_shape") or ())
    if expected and data.input_shape != expected:
        what = "(height, width, channels)" if data.kind == "image" else "per example"
        raise DataError(
            f"{data.description}: inputs of shape {data.input_shape} {what}; run '{name}' was trained on "
            f"{expected}",
            hint="give data of the shape the model was trained on (image size, channels, features)",
        )
    return recipe, data


def _load_model(run: RunDir) -> Any:
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    from dlkit.models.registry import load_model

    return load_model(run.model_path)


def default_out(data_path: str | Path) -> Path:
    """Where predictions go without ``--out``: ``<data>.predictions.parquet`` beside the data
    (beside the folder, for an image folder)."""
    path = Path(data_path).expanduser().resolve()
    stem = path.name if path.is_dir() else path.stem
    return path.parent / f"{stem}.predictions.parquet"


def _check_out(out: Path) -> Path:
    from dlkit.errors import RecipeError

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise RecipeError(f"--out: {out}: expected a .csv or .parquet file (the format follows the suffix)")
    if out.is_dir():
        raise RecipeError(f"--out: {out}: is a folder; expected a .csv or .parquet file")
    return out


def _restored_task(run: RunDir, recipe: Recipe, data: Dataset) -> Any:
    """The run's task with its recipe's settings and what it chose after training (a
    verification run's τ): new data is scored as the run scored its own sets."""
    return task_for(data.task).restored(recipe, run.metrics() if run.metrics_path.is_file() else {})


def predict_run(
    run: RunDir,
    data_path: str | Path,
    out: str | Path | None = None,
    *,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> PredictResult:
    """Predict ``data_path`` with the run's model and write the predictions file.

    Args:
        run: a finished run.
        data_path: new data of the run's source type; its labels may be absent.
        out: the predictions file (.csv or .parquet); :func:`default_out` when None.
        on_start: called with the number of examples once the data is read.
        on_progress: called with the examples done so far (chunk by chunk when streamed).

    Returns:
        What was written. The file holds ``id`` (the id column, row number or file path), the
        prediction (``y_pred``), ``confidence`` and ``proba_<k>`` per class index k (the classes
        of run.json in order), and with labels also ``y_true``, ``correct`` and ``loss``.
    """
    from dlkit.training.pipeline import predict_set

    target = _check_out(Path(out) if out is not None else default_out(data_path))
    recipe, data = read_new_data(run, data_path, "optional")
    if on_start is not None:
        on_start(data.n_examples)
    model = _load_model(run)
    task = _restored_task(run, recipe, data)
    metrics = predict_set(model, recipe, data, np.arange(data.n_examples), target, on_progress, task)
    info = run.info()
    return PredictResult(
        run_name=_run_name(run, info),
        run_dir=run.path,
        data=data.description,
        out=target,
        n=data.n_examples,
        labelled=data.labelled,
        metrics=metrics if data.labelled else None,
        drawn=task_for(data.task).draw_predictions(target, data),
    )


def evaluate_run(
    run: RunDir,
    data_path: str | Path,
    *,
    out: str | Path | None = None,
    diagnose: bool = False,
    errors: bool = False,
    track: bool = True,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> EvaluateResult:
    """Score the run's model on new labelled data, with the metrics of the run's own sets.

    Args:
        run: a finished run.
        data_path: labelled data of the run's source type.
        out: also keep the predictions file here (.csv or .parquet).
        diagnose: read the new set's error against the run's train, train-dev and dev errors.
        errors: write the error-analysis sheet of the new set's mistakes beside the predictions
            (``--out``) or beside the data: ``<stem>.errors.csv`` and ``.parquet``.
        track: record the metrics in a nested MLflow run (when the run is tracked).
        on_start: called with the number of examples once the data is read.
        on_progress: called with the examples done so far.

    Raises:
        DataError: the data has no labels, or see :func:`read_new_data`.
        UnsupportedRunError: ``--errors`` or ``--diagnose`` for a task they do not read.
    """
    import tempfile

    from dlkit.training.pipeline import predict_set

    info, name = _finished(run)
    task = task_for(str(info.get("task")))
    if errors:
        _sheet_reader(task, name)
    kept = _check_out(Path(out)) if out is not None else None
    recipe, data = read_new_data(run, data_path, "required")
    if on_start is not None:
        on_start(data.n_examples)
    model = _load_model(run)
    with tempfile.TemporaryDirectory(prefix="dlkit-evaluate-") as tmp:
        target = kept or Path(tmp) / "predictions.parquet"
        scorer = _restored_task(run, recipe, data)
        metrics = predict_set(model, recipe, data, np.arange(data.n_examples), target, on_progress, scorer)
        frame = pd.read_csv(target) if target.suffix.lower() == ".csv" else pd.read_parquet(target)
    result = EvaluateResult(
        run_name=name,
        run_dir=run.path,
        data=data.description,
        task=task.name,
        n=data.n_examples,
        metrics=metrics,
        run_metrics=run.metrics() if run.metrics_path.is_file() else {},
        predictions=kept,
    )
    if diagnose:
        result.mismatch = read_mismatch(run, info, frame)
    if errors:
        base = kept or default_out(data_path)
        stem = base.name.split(".")[0]
        result.sheet = _write_errors_sheet(run, task, frame, base.parent, f"{stem}.errors", result.notes)
    if track and info.get("run_id") and info.get("tracking_uri"):
        result.mlflow_run_id = record_evaluation(info, data, result)
    return result


def record_evaluation(info: dict[str, Any], data: Dataset, result: EvaluateResult) -> str:
    """Record an evaluation as a new MLflow run nested under the evaluated run; its id.

    The evaluated run itself is left as it is (its params, metrics and artifacts are its training's).
    Metrics keep the names of the run's ``metrics.json``; the sheet and predictions are artifacts.

    Raises:
        TrackingError: the store cannot be reached.
    """
    from dlkit.tracking.mlflow_tracker import MLflowStore

    store = MLflowStore(str(info["tracking_uri"]))
    parent = str(info["run_id"])
    name = f"evaluate-{Path(data.description).name}"
    tags = {
        "dlkit.evaluates": parent,
        "dlkit.data": data.description,
        "dlkit.data.content_hash": data.content_hash,
        "dlkit.command": "evaluate",
    }
    run_id = store.start_run(
        str(info.get("experiment") or info.get("recipe_name") or "dlkit"), name, tags, parent
    )
    status = "FAILED"
    try:
        store.log_metrics(run_id, {k: float(v) for k, v in result.metrics.items()})
        for path in [*(result.sheet or ()), *([result.predictions] if result.predictions else [])]:
            store.log_artifact(run_id, path)
        status = "FINISHED"
    finally:
        store.finish(run_id, status)
    return run_id


def _sheet_reader(task: Any, name: str) -> Any:
    from dlkit.runs._task_reports import reports_for

    reader = reports_for(task)
    if not reader.sheet:
        raise UnsupportedRunError(
            f"run '{name}': --errors: task {task.name} has no error sheet ({reader.no_sheet})"
        )
    return reader


def _write_errors_sheet(
    run: RunDir, task: Any, frame: pd.DataFrame, folder: Path, stem: str, notes: list[str]
) -> tuple[Path, Path]:
    """The error-analysis sheet of the new set's mistakes, as ``analyze-errors`` samples and writes it."""
    from dlkit.analysis.error_analysis import sample_errors
    from dlkit.analysis.error_sheet import build_sheet
    from dlkit.runs.analyze_errors import read_analysis_spec
    from dlkit.runs.error_sheet import write_sheet

    reader = _sheet_reader(task, _run_name(run, run.info()))
    spec, recipe = read_analysis_spec(run)
    looked = reader.prepare(frame)
    picked = sample_errors(looked, spec.sample, int(recipe.get("seed", 0)))
    n_errors = int((~looked["correct"].astype(bool)).sum())
    if n_errors > spec.sample:
        notes.append(f"the sheet holds {spec.sample} of the {n_errors} errors (seeded sample)")
    sheet = build_sheet(picked, spec.sheet_categories(), list(reader.sheet_columns))
    return write_sheet(sheet, folder, stem)


def read_mismatch(run: RunDir, info: dict[str, Any], frame: pd.DataFrame) -> MismatchReading:
    """The new set's error against the run's train, train-dev and dev errors (stored predictions).

    Raises:
        UnsupportedRunError: a run whose errors are not one per example (multitask: one per
            task), or no stored predictions.
    """
    from dlkit.analysis.bias_variance import difference_interval
    from dlkit.analysis.set_errors import errors_from_examples, set_error

    name = _run_name(run, info)
    task = task_for(str(info.get("task")))
    if task.errors_per != "example":
        raise UnsupportedRunError(
            f"run '{name}': --diagnose reads one error per example; {task.name} has one per {task.errors_per}"
        )
    metric = str(info.get("optimize") or task.default_metric)
    try:
        task.error_columns(metric)
    except ValueError:
        metric = task.error_metric
    stored = {
        s: task.example_errors(run.predictions(s), metric)
        for s in COMPARED
        if run.predictions_path(s).exists()
    }
    if "train" not in stored or "dev" not in stored:
        raise UnsupportedRunError(f"run '{name}': --diagnose needs the run's train and dev predictions")
    sets = errors_from_examples(stored)
    new_errors = task.example_errors(frame, metric)
    if new_errors.dtype != bool and len(new_errors) < 2:
        raise DataError("--diagnose: needs at least 2 examples for an interval")
    sets["new"] = set_error("new", new_errors)
    new = sets["new"]
    shifts = []
    for against in COMPARED:
        if against in sets:
            other = sets[against]
            low, high = difference_interval(new.error, new.interval, other.error, other.interval)
            shifts.append(Shift(against, new.error - other.error, low, high))
    return MismatchReading(metric, sets, shifts, _verdict(shifts))


def _verdict(shifts: list[Shift]) -> str:
    by = {s.against: s for s in shifts}
    dev = by["dev"]
    reference = by.get("train_dev") or by["train"]
    half = (dev.high - dev.low) / 2
    if dev.status == "harder":
        gap = (
            f"and than {reference.against.replace('_', '-')} "
            if reference.status == "harder"
            else f"though not clearly than {reference.against.replace('_', '-')} "
        )
        return (
            f"the new data is harder than dev by {dev.value:.4g} {gap}(data mismatch): the model "
            "was tuned on data unlike it; add such examples to training and to dev (docs/method.md §2)"
        )
    if dev.status == "easier":
        return f"the new data is easier than dev by {-dev.value:.4g}: no sign of data mismatch"
    resolution = "" if math.isnan(half) else f" (this many examples resolve differences of about ±{half:.3g})"
    return f"the new data's error is in line with dev's{resolution}: no clear data mismatch"
