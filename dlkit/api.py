"""The Python API: what the CLI calls, usable from notebooks and scripts.

Heavy libraries (TensorFlow, MLflow) are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlkit import __version__
from dlkit.data.dataset import Dataset
from dlkit.data.sources import load_source
from dlkit.data.split import SplitResult, split_dataset, subsample_train
from dlkit.errors import DlkitError, RunNotFoundError, TrackingError
from dlkit.recipe.loader import dump_recipe, flatten, load_recipe
from dlkit.recipe.schema import Recipe
from dlkit.rundir import RunDir, write_json
from dlkit.tracking import NullTracker, Tracker
from dlkit.training.fit import EpochEnd

log = logging.getLogger(__name__)

__all__ = [
    "SplitOutcome",
    "TrainResult",
    "TrainStart",
    "analyze_errors",
    "diagnose",
    "learning_curve",
    "load_data",
    "load_recipe",
    "resolve_run",
    "split",
    "train",
]


@dataclass
class SplitOutcome:
    """A dataset and where each of its examples went."""

    data: Dataset
    split: SplitResult

    def summary(self) -> dict[str, Any]:
        """Sizes and class counts per set, the rule used, and the data's content hash."""
        sets: dict[str, Any] = {}
        for name, size in self.split.sizes().items():
            if size == 0:
                continue
            entry: dict[str, Any] = {"n": size}
            if self.data.task != "regression":
                idx = self.split.indices(name)
                counts = {str(c): 0 for c in self.data.classes}
                for k, n in zip(*_unique_counts(self.data.y[idx]), strict=True):
                    counts[str(self.data.classes[k])] = n
                entry["classes"] = counts
            sets[name] = entry
        return {
            "source": self.data.description,
            "n_examples": self.data.n_examples,
            "task": self.data.task,
            "rule": self.split.rule,
            "content_hash": self.data.content_hash,
            "sets": sets,
        }


def _unique_counts(values: Any) -> tuple[list[int], list[int]]:
    import numpy as np

    keys, counts = np.unique(values, return_counts=True)
    return [int(k) for k in keys], [int(c) for c in counts]


def load_data(recipe: Recipe) -> Dataset:
    """Load the dataset the recipe names."""
    return load_source(recipe.data.source, recipe.data.task, Path.cwd())


def split(recipe: Recipe, train_fraction: float | None = None) -> SplitOutcome:
    """Load the data and split it as the recipe says (seeded, reproducible).

    Args:
        recipe: a validated recipe.
        train_fraction: keep only this seeded, stratified share of train (learning curves).
    """
    data = load_data(recipe)
    result = split_dataset(data, recipe.data.split, recipe.seed)
    if train_fraction is not None:
        result = subsample_train(result, data, train_fraction, recipe.seed)
    return SplitOutcome(data, result)


@dataclass
class TrainStart:
    """Reported once the data is split and the model built, before the first epoch."""

    run_name: str
    run_dir: Path
    run_id: str | None
    tracking_uri: str | None
    data: dict[str, Any]
    n_params: int
    epochs: int


@dataclass
class TrainResult:
    """A finished training run."""

    run_name: str
    run_dir: Path
    run_id: str | None
    tracking_uri: str | None
    experiment: str
    task: str
    metrics: dict[str, dict[str, float]]
    split_sizes: dict[str, int]
    split_rule: str
    n_params: int
    epochs_run: int
    stopped_early: bool
    duration_s: float
    history: list[dict[str, float]] = field(default_factory=list)


def _new_run_dir(runs_dir: Path, name: str) -> tuple[str, Path]:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{name}-{stamp}"
    run_name, n = base, 1
    while (runs_dir / run_name).exists():
        n += 1
        run_name = f"{base}-{n}"
    path = runs_dir / run_name
    path.mkdir(parents=True)
    return run_name, path


def _make_tracker(recipe: Recipe, track: bool, parent_run_id: str | None = None) -> Tracker:
    if not track:
        return NullTracker()
    from dlkit.tracking.mlflow_tracker import MLflowTracker

    return MLflowTracker(recipe.tracking.uri, parent_run_id=parent_run_id)


def _write_split(run: RunDir, outcome: SplitOutcome) -> dict[str, Any]:
    run.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    outcome.split.manifest.to_parquet(run.manifest_path, index=False)
    summary = outcome.summary()
    write_json(run.split_summary_path, summary)
    return summary


def train(
    recipe: Recipe,
    *,
    track: bool = True,
    on_start: Callable[[TrainStart], None] | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    train_fraction: float | None = None,
    parent_run_id: str | None = None,
) -> TrainResult:
    """Split the data, train the recipe's model, evaluate every set and record the run.

    Args:
        recipe: a validated recipe.
        track: record the run in MLflow (else only the run directory is written).
        on_start: called once before the first epoch.
        on_epoch: called after every epoch.
        train_fraction: train on this seeded, stratified share of the train set only (the
            other sets unchanged), as a learning curve does.
        parent_run_id: record the run as a child of this MLflow run.

    Returns:
        The run's location and its metrics on every set, measured in inference mode.

    Raises:
        DlkitError: bad data, a model that cannot be built, or an unreachable store. A run
            that fails or is interrupted is marked FAILED / KILLED, never FINISHED.
    """
    started = time.perf_counter()
    outcome = split(recipe, train_fraction)
    data, parts = outcome.data, outcome.split
    runs_dir = Path(recipe.tracking.runs_dir)
    run_name, path = _new_run_dir(runs_dir, recipe.name)
    run = RunDir(path)
    experiment = recipe.tracking.experiment or recipe.name
    run.update_info(
        run_name=run_name,
        status="RUNNING",
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        dlkit_version=__version__,
        recipe_name=recipe.name,
        experiment=experiment,
        task=data.task,
        kind=data.kind,
        classes=data.classes,
        input_shape=list(data.input_shape),
        feature_names=data.feature_names,
        metadata_columns=[str(c) for c in data.metadata.columns],
        optimize=recipe.metrics.optimize or ("mse" if data.task == "regression" else "accuracy"),
        human_error=recipe.targets.human_error,
        train_fraction=train_fraction,
    )
    run.recipe_path.write_text(dump_recipe(recipe), encoding="utf-8")
    summary = _write_split(run, outcome)
    run.update_info(split_sizes=parts.sizes(), content_hash=data.content_hash)

    tracker = _make_tracker(recipe, track, parent_run_id)
    tracker.start(
        experiment,
        run_name,
        {"dlkit.run_dir": str(path.resolve()), "dlkit.recipe": recipe.name, "dlkit.version": __version__},
    )
    run.update_info(run_id=tracker.run_id, tracking_uri=tracker.uri)
    status = "FAILED"
    try:
        result = _train_tracked(
            recipe, outcome, run, tracker, summary, on_start, on_epoch, run_name, experiment, started
        )
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        run.update_info(status=status, reason="interrupted")
        raise
    except Exception as exc:
        reason = exc.message if isinstance(exc, DlkitError) else f"{type(exc).__name__}: {exc}"
        run.update_info(status=status, reason=reason)
        raise
    finally:
        tracker.finish(status)  # type: ignore[arg-type]
    return result


def _train_tracked(
    recipe: Recipe,
    outcome: SplitOutcome,
    run: RunDir,
    tracker: Tracker,
    summary: dict[str, Any],
    on_start: Callable[[TrainStart], None] | None,
    on_epoch: Callable[[EpochEnd], None] | None,
    run_name: str,
    experiment: str,
    started: float,
) -> TrainResult:
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    import keras
    import pandas as pd

    from dlkit.data.pipeline import make_dataset
    from dlkit.models import BuildContext, Head, build_model
    from dlkit.training.evaluate import predict, score
    from dlkit.training.fit import compile_model, fit

    data, parts = outcome.data, outcome.split
    params = flatten(recipe)
    params.update(
        {
            "data.n_examples": data.n_examples,
            "data.task": data.task,
            "data.content_hash": data.content_hash,
            "data.split.rule": parts.rule,
            **{f"data.n_{k}": v for k, v in parts.sizes().items()},
        }
    )
    tracker.log_params(params)

    keras.backend.clear_session()
    keras.utils.set_random_seed(recipe.seed)
    x = {name: data.x[parts.indices(name)] for name in parts.present()}
    y = {name: data.y[parts.indices(name)] for name in parts.present()}
    normalizer = None
    if recipe.data.normalize:
        # statistics of train only (METHODOLOGY §1); one scalar for images, per feature for tables
        normalizer = keras.layers.Normalization(axis=None if data.kind == "image" else -1, name="normalize")
        normalizer.adapt(x["train"])
    head = Head.for_task(data.task, data.n_classes)
    context = BuildContext(
        data=data,
        runs_dir=Path(recipe.tracking.runs_dir),
        tracking_uri=recipe.tracking.uri,
        resolve_run=lambda ref: resolve_run(ref, recipe.tracking.runs_dir, recipe.tracking.uri).path,
    )
    model = build_model(
        recipe.model, data.input_shape, head, normalizer, name=recipe.name.replace("-", "_"), context=context
    )
    compile_model(model, recipe.train, data.task)
    n_params = int(model.count_params())
    run.update_info(n_params=n_params)
    tracker.log_params({"model.n_params": n_params})
    if on_start is not None:
        on_start(
            TrainStart(
                run_name,
                run.path,
                tracker.run_id,
                tracker.uri,
                summary,
                n_params,
                recipe.train.epochs,
            )
        )

    def epoch_end(event: EpochEnd) -> None:
        tracker.log_metrics(event.logs, step=event.epoch)
        if on_epoch is not None:
            on_epoch(event)

    spec = recipe.train
    fitted = fit(
        model,
        spec,
        make_dataset(x["train"], y["train"], spec.batch_size, shuffle=spec.shuffle, seed=recipe.seed),
        make_dataset(x["dev"], y["dev"], spec.batch_size),
        checkpoints=run.checkpoints,
        on_epoch=epoch_end,
    )
    pd.DataFrame(fitted.history, index=pd.RangeIndex(1, len(fitted.history) + 1, name="epoch")).to_csv(
        run.history_path
    )

    metrics: dict[str, dict[str, float]] = {}
    run.predictions_path("dev").parent.mkdir(parents=True, exist_ok=True)
    for name in parts.present():
        idx = parts.indices(name)
        frame, set_metrics = score(predict(model, x[name], spec.batch_size), y[name], data.task, data.classes)
        frame.insert(0, "id", data.ids[idx])
        for col in data.metadata.columns:
            frame[str(col)] = data.metadata[col].to_numpy()[idx]
        frame.to_parquet(run.predictions_path(name), index=False)
        metrics[name] = set_metrics
    write_json(run.metrics_path, metrics)
    run.model_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(run.model_path)

    tracker.log_metrics({f"{name}_{k}": v for name, m in metrics.items() for k, v in m.items() if k != "n"})
    run.update_info(
        status="FINISHED",
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        epochs_run=fitted.epochs_run,
        stopped_early=fitted.stopped_early,
    )
    for item in ("run.json", "recipe.yaml", "metrics.json", "history.csv"):
        tracker.log_artifact(run.path / item)
    for folder in ("split", "model", "predictions"):
        tracker.log_artifacts(run.path / folder, folder)
    return TrainResult(
        run_name=run_name,
        run_dir=run.path,
        run_id=tracker.run_id,
        tracking_uri=tracker.uri,
        experiment=experiment,
        task=data.task,
        metrics=metrics,
        split_sizes=parts.sizes(),
        split_rule=parts.rule,
        n_params=n_params,
        epochs_run=fitted.epochs_run,
        stopped_early=fitted.stopped_early,
        duration_s=time.perf_counter() - started,
        history=fitted.history,
    )


def resolve_run(ref: str | Path, runs_dir: str | Path = "runs", tracking_uri: str | None = None) -> RunDir:
    """Find a run by directory, run name (under ``runs_dir``), MLflow run id or MLflow run name.

    Local lookups come first and need no MLflow import. A run known only to MLflow (e.g. made
    on another machine) has its artifacts downloaded to ``runs_dir/.mlflow/<run id>``.

    Raises:
        RunNotFoundError: nothing matches ``ref``.
    """
    for candidate in (Path(ref), Path(runs_dir) / str(ref)):
        if (candidate / "run.json").is_file():
            return RunDir(candidate)
    from dlkit.tracking.mlflow_tracker import find_run

    found = find_run(str(ref), tracking_uri)
    if found is None:
        raise RunNotFoundError(
            f"run '{ref}': no run directory, run name or MLflow run id matches",
            hint=f"pass a run directory, or check the tracking store ({tracking_uri or 'default'})",
        )
    run_id, run_dir, download = found
    if run_dir and (Path(run_dir) / "run.json").is_file():
        return RunDir(Path(run_dir))
    target = Path(runs_dir) / ".mlflow" / run_id
    if not (target / "run.json").is_file():
        try:
            download(target)
        except Exception as exc:
            raise TrackingError(f"run '{ref}': cannot download its artifacts: {exc}") from None
    return RunDir.open(target)


def diagnose(
    run_refs: str | Path | list[str | Path],
    human_error: float | None = None,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    reports: bool = True,
) -> list[Any]:
    """Avoidable bias, variance, data mismatch and overfitting to dev of finished runs.

    Computed from each run's stored predictions (no TensorFlow; METHODOLOGY §2 and §3).

    Args:
        run_refs: one RUN or several (run directory, run name, MLflow run id or name).
        human_error: human-level error; each run's ``targets.human_error`` when None.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.
        reports: write Markdown/HTML reports into each run directory and log them to MLflow.

    Returns:
        One :class:`~dlkit.analysis.diagnose_run.RunDiagnosis` per run, in order.

    Raises:
        DlkitError: a run not found or not FINISHED, no human-level error, no predictions.
    """
    from dlkit.analysis.diagnose_run import diagnose_run

    refs = run_refs if isinstance(run_refs, list) else [run_refs]
    runs = [resolve_run(ref, runs_dir, tracking_uri) for ref in refs]
    return [diagnose_run(run, human_error, reports=reports) for run in runs]


def analyze_errors(
    run_ref: str | Path,
    *,
    tags: str | Path | None = None,
    sample: int | None = None,
    seed: int | None = None,
    stratify: bool = False,
    new_sheet: bool = False,
    label_issues: bool = False,
    model_gap: float | None = None,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    reports: bool = True,
) -> Any:
    """Error analysis of a finished run (METHODOLOGY §4), from its stored predictions (no TensorFlow).

    Without ``tags``: writes a seeded sheet of misclassified dev examples to tag. With ``tags``
    (the filled sheet): each category's share, Wilson interval and ceiling, ranked, and the
    incorrectly-labelled reading. Always: per-class metrics, confusion, slices, highest loss.

    Args:
        run_ref: a run directory, run name, or MLflow run id or name.
        tags: a filled sheet (CSV or Parquet).
        sample: errors on the sheet (the recipe's ``analysis.sample`` when None).
        seed: sampling seed (the recipe's seed when None).
        stratify: sample in proportion to each (true, predicted) pair.
        new_sheet: replace an existing sheet.
        label_issues: flag suspected label errors in dev and test (cleanlab).
        model_gap: the error difference between models that matters for the labels reading.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.
        reports: write ``reports/errors.html`` and log the outputs to the run's MLflow run.

    Returns:
        An :class:`~dlkit.analysis.analyze_run.AnalyzeErrorsResult`.

    Raises:
        DlkitError: no such run, not a classification run, a bad analysis section or sheet.
    """
    from dlkit.analysis.analyze_run import analyze_run

    return analyze_run(
        resolve_run(run_ref, runs_dir, tracking_uri),
        tags=Path(tags) if tags is not None else None,
        sample=sample,
        seed=seed,
        stratify=stratify,
        new_sheet=new_sheet,
        find_label_issues=label_issues,
        model_gap=model_gap,
        reports=reports,
    )


def learning_curve(
    run_ref: str | Path,
    fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0),
    human_error: float | None = None,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
    on_point: Callable[[Any], None] | None = None,
) -> Any:
    """Retrain a finished run's recipe on shares of its training set and read the curve.

    Every point keeps the run's split (same dev set); each is recorded as a child of the run
    in MLflow when the run was tracked. The points, the plot and the reading are written to
    ``reports/learning_curve.{csv,png,json}`` in the run directory and logged to the run.

    Args:
        run_ref: a finished run (directory, name, or MLflow run id or name).
        fractions: shares of the training set, each in (0, 1].
        human_error: the human-level line; the run's ``targets.human_error`` when None.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.
        on_point: called with each :class:`LearningCurvePoint` as it is measured.

    Returns:
        A :class:`~dlkit.analysis.learning_curve.LearningCurveResult`.
    """
    import pandas as pd

    from dlkit.analysis.learning_curve import LearningCurvePoint, read_learning_curve
    from dlkit.errors import RecipeError
    from dlkit.reporting.learning_curve import plot_learning_curve

    if len(fractions) < 2 or any(not 0 < f <= 1 for f in fractions):
        raise RecipeError(f"--fractions: expected at least two values in (0, 1] (got {list(fractions)})")
    run = resolve_run(run_ref, runs_dir, tracking_uri)
    info = run.info()
    recipe = load_recipe(run.recipe_path)
    if info.get("tracking_uri"):
        recipe.tracking.uri = info["tracking_uri"]
    recipe.tracking.runs_dir = str(run.path / "learning_curve")
    human = human_error if human_error is not None else info.get("human_error")
    points = []
    for fraction in sorted(set(fractions)):
        result = train(
            recipe,
            track=bool(info.get("run_id")),
            train_fraction=fraction,
            parent_run_id=info.get("run_id"),
        )
        point = LearningCurvePoint(
            fraction,
            int(result.metrics["train"]["n"]),
            result.metrics["train"]["error"],
            result.metrics["dev"]["error"],
            int(result.metrics["dev"]["n"]),
            result.run_name,
        )
        points.append(point)
        if on_point is not None:
            on_point(point)
    curve = read_learning_curve(points, human)
    reports = run.path / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([vars(p) for p in curve.points]).to_csv(reports / "learning_curve.csv", index=False)
    curve.plot_path = str(plot_learning_curve(curve, reports / "learning_curve.png"))
    write_json(reports / "learning_curve.json", curve.to_dict())
    if info.get("run_id"):
        from dlkit.tracking.mlflow_tracker import log_to_run

        names = ("learning_curve.csv", "learning_curve.png", "learning_curve.json")
        log_to_run(info["run_id"], info["tracking_uri"], [(reports / n, "reports") for n in names])
    return curve
