"""``dlkit diagnose`` for one finished run: stored predictions in, a :class:`RunDiagnosis` out.

Reads only the run directory (run.json, recipe.yaml, predictions/*.parquet): no retraining and
no TensorFlow, except to time the model when the recipe asks for a ``latency_ms`` constraint.
The task registry turns each set's predictions into per-example errors (a multitask run: one
binary frame per task, each diagnosed on its own); :mod:`dlkit.analysis.bias_variance` reads
the gaps. Writes ``reports/diagnose.md`` and ``reports/diagnose.html`` into the run directory
and logs them to the run's MLflow run when it has one (MLflow is imported only then).
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.analysis.bias_variance import DiagnoseResult, diagnose_errors
from dlkit.analysis.satisficing import SatisficingCheck, check_satisficing
from dlkit.analysis.set_errors import errors_from_examples
from dlkit.errors import DataError, RecipeError, TrackingError
from dlkit.rundir import RunDir
from dlkit.runs._parquet import bool_values, read_columns  # noqa: F401 (bool_values: its home before)
from dlkit.runs._recipe import read_recipe
from dlkit.runs._task_reports import SINGLE, TaskReports, reports_for
from dlkit.tasks import Task, task_for

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: diagnose reads a run's mistakes without pandas
    pd = lazy_module("pandas")

log = logging.getLogger(__name__)

REPORTS_DIR = "reports"


@dataclass
class RunDiagnosis:
    """The diagnosis of one run and where it was written.

    Attributes:
        run_name: the run's name.
        run_dir: its run directory.
        task: the run's task (run.json's ``task``).
        metric: the optimizing metric the errors come from.
        human_error_source: ``--human-error`` or ``recipe targets.human_error``.
        result: the gaps, verdict and next steps of a run with one target (None for multitask).
        per_task: a multitask run's diagnosis of each task, on its labelled examples.
        error_name: the error in words (``error = 1 − accuracy``, ``mse (mean per-example loss)``).
        notes: what the reader must know about the run as a whole (each diagnosis has its own).
        satisficing: one check per satisficing constraint of the recipe.
        reports: report format -> file written (md, html).
        run_id: the MLflow run the reports were logged to, if any.
        tracking_uri: its tracking store.
        logging_error: why logging to MLflow failed (the reports are still on disk).
    """

    run_name: str
    run_dir: Path
    task: str
    metric: str
    human_error_source: str
    result: DiagnoseResult | None = None
    per_task: dict[str, DiagnoseResult] = field(default_factory=dict)
    error_name: str = "error = 1 − accuracy"
    notes: list[str] = field(default_factory=list)
    satisficing: list[SatisficingCheck] = field(default_factory=list)
    reports: dict[str, Path] = field(default_factory=dict)
    run_id: str | None = None
    tracking_uri: str | None = None
    logging_error: str | None = None

    def __post_init__(self) -> None:
        if (self.result is None) == (not self.per_task):
            raise ValueError("a diagnosis has either one result or one per task")

    def diagnoses(self) -> list[tuple[str | None, DiagnoseResult]]:
        """``(task, diagnosis)`` pairs: ``(None, result)`` for one target, else one per task."""
        if self.result is not None:
            return [(None, self.result)]
        return list(self.per_task.items())

    @property
    def human_error(self) -> float:
        """The human-level error every diagnosis of the run compares with."""
        return self.diagnoses()[0][1].human_error

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the gaps at the top for one target, under ``tasks`` per task."""
        out: dict[str, Any] = {
            "run_name": self.run_name,
            "run_dir": str(self.run_dir),
            "task": self.task,
            "metric": self.metric,
            "error_name": self.error_name,
            "human_error_source": self.human_error_source,
        }
        if self.result is not None:
            out.update(self.result.to_dict())
        else:
            out["human_error"] = self.human_error
            out["tasks"] = {name: r.to_dict() for name, r in self.per_task.items()}
        out.update(
            {
                "run_notes": self.notes,
                "satisficing": [asdict(c) for c in self.satisficing],
                "reports": {k: str(v) for k, v in self.reports.items()},
                "run_id": self.run_id,
                "tracking_uri": self.tracking_uri,
                "logging_error": self.logging_error,
            }
        )
        return out


def _human_error(
    name: str, given: float | None, info: dict[str, Any], recipe: dict[str, Any], rate: bool
) -> tuple[float, str]:
    if given is not None:
        value, source = float(given), "--human-error"
    else:
        stored = info.get("human_error")
        if stored is None:
            stored = (recipe.get("targets") or {}).get("human_error")
        if stored is None:
            raise RecipeError(
                f"run '{name}': no human-level error to compare with",
                hint="pass --human-error (e.g. 0.01 for 1%) or set targets.human_error in the recipe",
            )
        value, source = float(stored), "recipe targets.human_error"
    if not math.isfinite(value) or value < 0 or (rate and value > 1):
        expected = "an error rate in [0, 1] (0.01 = 1%)" if rate else ">= 0"
        raise RecipeError(f"human-level error: expected {expected} (got {value:g}, from {source})")
    return value, source


def _prediction_paths(run: RunDir, name: str) -> dict[str, Path]:
    """The stored predictions of each set the run has (train and dev required)."""
    paths: dict[str, Path] = {}
    for split in ("train", "train_dev", "dev", "test"):
        path = run.predictions_path(split)
        if not path.is_file():
            if split in ("train", "dev"):
                raise DataError(
                    f"run '{name}': no stored predictions for {split} ({path})",
                    hint="diagnose reads predictions/<set>.parquet written by dlkit train",
                )
            continue
        paths[split] = path
    return paths


def _read_predictions(paths: dict[str, Path], columns: list[str] | None) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    for split, path in paths.items():
        try:
            frames[split] = pd.read_parquet(path, columns=columns)
        except (KeyError, ValueError, OSError) as exc:
            what = f"columns {columns}" if columns is not None else "the predictions"
            raise DataError(f"{path}: cannot read {what}: {exc}") from None
    return frames


def _mistakes_only(task: Task, reader: TaskReports, metric: str) -> bool:
    """Whether the run's error is its examples' mistakes (``~correct``, the task's default), one part."""
    return (
        reader.columns(metric) == ["correct"]
        and type(task).example_errors is Task.example_errors
        and type(reader).parts is TaskReports.parts
    )


def _read_mistakes(paths: dict[str, Path]) -> dict[str, np.ndarray] | None:
    """Each set's mistakes, ``~correct``, from that one column, read by pyarrow without pandas
    (a second of import); None when a file cannot give them so: the frames' path then reads it
    (or says why it cannot)."""
    mistakes: dict[str, np.ndarray] = {}
    for split, path in paths.items():
        columns = read_columns(path, ["correct"])
        if columns is None or columns["correct"].dtype != bool:
            return None
        mistakes[split] = ~columns["correct"]
    return mistakes


def _example_errors(
    task: Task, reader: TaskReports, metric: str, columns: list[str] | None, paths: dict[str, Path]
) -> dict[str, dict[str, np.ndarray]]:
    """Per-example errors by part (one, or one per task of a multitask run) and set.

    Read from the ``correct`` column alone when that is the error; else the task turns each
    part's frame into errors (an empty part: no errors).
    """
    if _mistakes_only(task, reader, metric):
        mistakes = _read_mistakes(paths)
        if mistakes is not None:
            return {SINGLE: mistakes}
    by_part: dict[str, dict[str, np.ndarray]] = {}
    for split, frame in _read_predictions(paths, columns).items():
        for part, part_frame in reader.parts(frame).items():
            errors = task.example_errors(part_frame, metric) if len(part_frame) else np.zeros(0, dtype=bool)
            by_part.setdefault(part, {})[split] = errors
    return by_part


def _diagnose_parts(
    name: str,
    by_part: dict[str, dict[str, np.ndarray]],
    human: float,
    *,
    max_train_ratio: float,
    seed: int,
    confidence: float,
) -> tuple[dict[str, DiagnoseResult], list[str]]:
    """One diagnosis per part of the predictions (one part, or one per task of a multitask run).

    A part with no example in train or dev cannot be diagnosed and is left out with a note;
    a train-dev or test set without an example of the part is left out of its diagnosis.

    Raises:
        DataError: no part can be diagnosed.
    """
    results: dict[str, DiagnoseResult] = {}
    notes: list[str] = []
    for part, sets in by_part.items():
        empty = [s for s in ("train", "dev") if not len(sets.get(s, ()))]
        if empty:
            what = f"task {part}" if part != SINGLE else f"run '{name}'"
            notes.append(f"{what}: not diagnosed: no labelled example in {' and '.join(empty)}")
            continue
        errors = {s: e for s, e in sets.items() if len(e)}
        per_set = errors_from_examples(
            errors, max_train_ratio=max_train_ratio, seed=seed, confidence=confidence
        )
        results[part] = diagnose_errors(per_set, human, confidence=confidence)
    if not results:
        raise DataError(f"run '{name}': {'; '.join(notes)}")
    return results, notes


def measure_latency_ms(model_path: Path, repeats: int = 30) -> float:
    """Median inference time of one example, in ms (loads the model: imports TensorFlow)."""
    import keras

    from dlkit.models import layers  # noqa: F401  (registers dlkit's layers for deserialisation)
    from dlkit.training.latency import latency_ms

    return latency_ms(keras.saving.load_model(model_path, compile=False), repeats=repeats)


def _satisficing(run: RunDir, info: dict[str, Any], recipe: dict[str, Any]) -> list[SatisficingCheck]:
    constraints = dict((recipe.get("metrics") or {}).get("satisfice") or {})
    if not constraints:
        return []
    measured: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    dev_metrics: dict[str, float] = {}
    if run.metrics_path.is_file():
        dev_metrics = run.metrics().get("dev", {})
    for name in constraints:
        if name == "params":
            measured[name] = info.get("n_params")
        elif name == "model_size_mb":
            if run.model_path.is_file():
                measured[name] = run.model_path.stat().st_size / 1e6
            else:
                notes[name] = f"not measured: no model file ({run.model_path})"
        elif name == "latency_ms":
            if run.model_path.is_file() and info.get("input_shape"):
                measured[name] = measure_latency_ms(run.model_path)
            else:
                notes[name] = f"not measured: no model file ({run.model_path})"
        elif name in dev_metrics:
            measured[name] = float(dev_metrics[name])
            notes[name] = f"{name} on dev"
        else:
            notes[name] = (
                "not measured: not a metric dlkit knows (latency_ms, params, model_size_mb, dev metrics)"
            )
    try:
        return check_satisficing(constraints, measured, notes)
    except ValueError as exc:
        raise RecipeError(f"{run.recipe_path}: metrics.satisfice: {exc}") from None


def write_reports(run: RunDir, diagnosis: RunDiagnosis) -> dict[str, Path]:
    """Write ``reports/diagnose.md`` and ``reports/diagnose.html`` into the run directory."""
    from dlkit.reporting.diagnose import to_html, to_markdown

    folder = run.path / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"md": folder / "diagnose.md", "html": folder / "diagnose.html"}
    paths["md"].write_text(to_markdown(diagnosis), encoding="utf-8")
    paths["html"].write_text(to_html(diagnosis), encoding="utf-8")
    return paths


def log_reports(diagnosis: RunDiagnosis) -> None:
    """Log the reports and the gaps to the run's MLflow run.

    Raises:
        TrackingError: the store cannot be reached or the run is not in it.
    """
    from dlkit.tracking.mlflow_tracker import log_to_run

    metrics = {
        _metric_name(f"diagnose_{g.name}" if part is None else f"diagnose_{part}_{g.name}"): g.value
        for part, result in diagnosis.diagnoses()
        for g in result.gaps
    }
    log_to_run(
        diagnosis.run_id,
        diagnosis.tracking_uri,
        [(path, REPORTS_DIR) for path in diagnosis.reports.values()],
        metrics,
    )


def _metric_name(name: str) -> str:
    # MLflow takes letters, digits and _-./ and space in a metric's name; a task name may hold more
    return re.sub(r"[^\w\-./ ]", "_", name)


def diagnose_run(
    run: RunDir,
    human_error: float | None = None,
    *,
    reports: bool = True,
    max_train_ratio: float = 2.0,
    seed: int = 0,
    confidence: float = 0.95,
) -> RunDiagnosis:
    """Diagnose a finished run from its stored predictions.

    Args:
        run: the run directory.
        human_error: human-level error; the run's ``targets.human_error`` when None.
        reports: write Markdown and HTML reports into the run directory and log them to MLflow.
        max_train_ratio: train error is measured on a fixed subsample of dev's size when train
            holds more than this many times as many examples as dev.
        seed: seed of that subsample.
        confidence: level of every interval.

    Returns:
        The gaps with intervals, the verdict, next steps and satisficing checks (a multitask
        run: one diagnosis per task, each on the examples labelled for it).

    Raises:
        TrackingError: the run is not FINISHED.
        UnsupportedRunError: diagnose does not apply to the run's task.
        RecipeError: no human-level error, a bad one, or a metric diagnose cannot use.
        DataError: the stored predictions are missing or unreadable, or no example to diagnose.
    """
    info = run.info()
    name = str(info.get("run_name") or run.path.name)
    status = info.get("status")
    if status != "FINISHED":
        raise TrackingError(
            f"run '{name}' is {status or 'of unknown status'}, not FINISHED: diagnose needs a finished run",
            hint="train it to the end (dlkit train), or pick another run",
        )
    task = task_for(str(info.get("task", "multiclass")))
    task.refuse("diagnose", name)
    reader = reports_for(task)
    recipe = read_recipe(run)
    metric = str(info.get("optimize") or task.default_metric)
    try:
        columns = reader.columns(metric)
    except ValueError as exc:
        raise RecipeError(f"run '{name}': {exc}") from None
    human, source = _human_error(name, human_error, info, recipe, reader.proportion(metric))
    by_part = _example_errors(task, reader, metric, columns, _prediction_paths(run, name))
    started = time.perf_counter()
    results, notes = _diagnose_parts(
        name,
        by_part,
        human,
        max_train_ratio=max_train_ratio,
        seed=seed,
        confidence=confidence,
    )
    log.info("run %s: gaps computed in %.3f s", name, time.perf_counter() - started)
    diagnosis = RunDiagnosis(
        run_name=name,
        run_dir=run.path,
        task=task.name,
        metric=metric,
        human_error_source=source,
        result=results.pop(SINGLE, None),
        per_task=results,
        error_name=reader.error_name(metric),
        notes=[*reader.notes(), *notes],
        satisficing=_satisficing(run, info, recipe),
        run_id=info.get("run_id"),
        tracking_uri=info.get("tracking_uri"),
    )
    if reports:
        from dlkit.runs.journal import diagnosis_verdict, record_verdict

        diagnosis.reports = write_reports(run, diagnosis)
        try:
            if diagnosis.run_id and diagnosis.tracking_uri:
                log_reports(diagnosis)
            # the decision journal: the verdict on the run, for the chain dlkit runs show tells
            record_verdict(run, diagnosis_verdict(diagnosis), diagnosis.run_id, diagnosis.tracking_uri)
        except TrackingError as exc:
            diagnosis.logging_error = exc.message
            log.warning("%s", exc.message)
    return diagnosis
