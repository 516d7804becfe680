"""``dlkit diagnose`` for one finished run: stored predictions in, a :class:`RunDiagnosis` out.

Reads only the run directory (run.json, recipe.yaml, predictions/*.parquet): no retraining and
no TensorFlow, except to time the model when the recipe asks for a ``latency_ms`` constraint.
Writes ``reports/diagnose.md`` and ``reports/diagnose.html`` into the run directory and logs
them to the run's MLflow run when it has one (MLflow is imported only then).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dlkit.analysis.bias_variance import DiagnoseResult, diagnose_errors
from dlkit.analysis.satisficing import SatisficingCheck, check_satisficing
from dlkit.analysis.set_errors import error_columns, errors_from_predictions
from dlkit.errors import DataError, RecipeError, TrackingError, UnsupportedRunError
from dlkit.rundir import RunDir

log = logging.getLogger(__name__)

REPORTS_DIR = "reports"


@dataclass
class RunDiagnosis:
    """The diagnosis of one run and where it was written.

    Attributes:
        run_name: the run's name.
        run_dir: its run directory.
        task: binary, multiclass or regression.
        metric: the optimizing metric the errors come from (errors are ``1 − accuracy`` for
            accuracy).
        human_error_source: ``--human-error`` or ``recipe targets.human_error``.
        result: the gaps, verdict and next steps.
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
    result: DiagnoseResult
    satisficing: list[SatisficingCheck] = field(default_factory=list)
    reports: dict[str, Path] = field(default_factory=dict)
    run_id: str | None = None
    tracking_uri: str | None = None
    logging_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "run_name": self.run_name,
            "run_dir": str(self.run_dir),
            "task": self.task,
            "metric": self.metric,
            "human_error_source": self.human_error_source,
            **self.result.to_dict(),
            "satisficing": [asdict(c) for c in self.satisficing],
            "reports": {k: str(v) for k, v in self.reports.items()},
            "run_id": self.run_id,
            "tracking_uri": self.tracking_uri,
            "logging_error": self.logging_error,
        }


def _read_recipe(run: RunDir) -> dict[str, Any]:
    if not run.recipe_path.is_file():
        return {}
    import yaml

    data = yaml.safe_load(run.recipe_path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _human_error(
    name: str, given: float | None, info: dict[str, Any], recipe: dict[str, Any], task: str
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
    if not math.isfinite(value) or value < 0 or (task != "regression" and value > 1):
        expected = ">= 0" if task == "regression" else "an error rate in [0, 1] (0.01 = 1%)"
        raise RecipeError(f"human-level error: expected {expected} (got {value:g}, from {source})")
    return value, source


def _read_predictions(run: RunDir, name: str, columns: list[str]) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    for split in ("train", "train_dev", "dev", "test"):
        path = run.predictions_path(split)
        if not path.is_file():
            if split in ("train", "dev"):
                raise DataError(
                    f"run '{name}': no stored predictions for {split} ({path})",
                    hint="diagnose reads predictions/<set>.parquet written by dlkit train",
                )
            continue
        try:
            frames[split] = pd.read_parquet(path, columns=columns)
        except (KeyError, ValueError, OSError) as exc:
            raise DataError(f"{path}: cannot read columns {columns}: {exc}") from None
    return frames


def measure_latency_ms(model_path: Path, input_shape: list[int], repeats: int = 30) -> float:
    """Median inference time of one example, in ms (loads the model: imports TensorFlow)."""
    import keras
    import numpy as np

    model = keras.saving.load_model(model_path, compile=False)
    x = np.zeros((1, *input_shape), dtype=np.float32)
    for _ in range(3):  # warm-up: graph tracing and allocation are not latency
        model(x, training=False)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x, training=False)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


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
                measured[name] = measure_latency_ms(run.model_path, list(info["input_shape"]))
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

    log_to_run(
        diagnosis.run_id,
        diagnosis.tracking_uri,
        [(path, REPORTS_DIR) for path in diagnosis.reports.values()],
        {f"diagnose_{g.name}": g.value for g in diagnosis.result.gaps},
    )


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
        The gaps with intervals, the verdict, next steps and satisficing checks.

    Raises:
        TrackingError: the run is not FINISHED.
        RecipeError: no human-level error, a bad one, or a metric diagnose cannot use.
        DataError: the stored predictions are missing or unreadable.
    """
    info = run.info()
    name = str(info.get("run_name") or run.path.name)
    status = info.get("status")
    if status != "FINISHED":
        raise TrackingError(
            f"run '{name}' is {status or 'of unknown status'}, not FINISHED: diagnose needs a finished run",
            hint="train it to the end (dlkit train), or pick another run",
        )
    task = str(info.get("task", "multiclass"))
    if task == "multitask":
        raise UnsupportedRunError(
            f"run '{name}': diagnose reads one error per set; this run is multitask (one per task)",
            hint="compare each task's train and dev accuracy_<task> in metrics.json with human-level error",
        )
    if task == "sequence_labeling":
        raise UnsupportedRunError(
            f"run '{name}': diagnose reads per-example class predictions; this run is sequence_labeling",
            hint="compare train, dev and test error (1 - step_accuracy) in metrics.json with human error",
        )
    if task == "seq2seq":
        raise UnsupportedRunError(
            f"run '{name}': diagnose reads per-example class predictions; this run is seq2seq",
            hint="compare train, dev and test error (1 - exact_match) in metrics.json with human-level error",
        )
    recipe = _read_recipe(run)
    human, source = _human_error(name, human_error, info, recipe, task)
    metric = info.get("optimize") or ("mse" if task == "regression" else "accuracy")
    try:
        columns = error_columns(task, metric)
    except ValueError as exc:
        raise RecipeError(f"run '{name}': {exc}") from None
    frames = _read_predictions(run, name, columns)
    started = time.perf_counter()
    sets = errors_from_predictions(
        frames, task, metric, max_train_ratio=max_train_ratio, seed=seed, confidence=confidence
    )
    result = diagnose_errors(sets, human, confidence=confidence)
    log.info("run %s: gaps computed in %.3f s", name, time.perf_counter() - started)
    diagnosis = RunDiagnosis(
        run_name=name,
        run_dir=run.path,
        task=task,
        metric=str(metric),
        human_error_source=source,
        result=result,
        satisficing=_satisficing(run, info, recipe),
        run_id=info.get("run_id"),
        tracking_uri=info.get("tracking_uri"),
    )
    if reports:
        diagnosis.reports = write_reports(run, diagnosis)
        if diagnosis.run_id and diagnosis.tracking_uri:
            try:
                log_reports(diagnosis)
            except TrackingError as exc:
                diagnosis.logging_error = exc.message
                log.warning("%s", exc.message)
    return diagnosis
