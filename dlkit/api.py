"""The Python API: what the CLI calls, usable from notebooks and scripts.

Heavy libraries (TensorFlow, MLflow) are imported inside the functions that need them.
"""

from __future__ import annotations

import json
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
from dlkit.errors import DlkitError, RunNotFoundError, TrackingError, UnsupportedRunError
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
    "apply_corrections",
    "check_split",
    "diagnose",
    "gradcheck",
    "learning_curve",
    "load_data",
    "load_recipe",
    "lr_find",
    "resolve_run",
    "resume",
    "split",
    "train",
    "tune",
    "tune_preview",
    "tune_refine",
]


@dataclass
class SplitOutcome:
    """A dataset and where each of its examples went."""

    data: Dataset
    split: SplitResult
    distribution: Any = None  # a dlkit.data.checks.DistributionReport

    def summary(self) -> dict[str, Any]:
        """Sizes and class counts per set, the rule used, and the data's content hash."""
        sets: dict[str, Any] = {}
        classify = self.data.task not in ("regression", "multitask", "seq2seq", "sequence_labeling")
        per_class = self.split.class_counts(self.data.y, self.data.n_classes) if classify else {}
        for name, size in self.split.sizes().items():
            if size == 0:
                continue
            entry: dict[str, Any] = {"n": size}
            if self.data.task == "multitask":
                from dlkit.training.multitask import label_counts

                entry["tasks"] = label_counts(self.data.y[self.split.indices(name)], self.data.classes)
            elif classify:
                entry["classes"] = {
                    str(c): int(n) for c, n in zip(self.data.classes, per_class[name], strict=True)
                }
            sets[name] = entry
        from dlkit.data.summary import split_extras

        return {
            "source": self.data.description,
            "n_examples": self.data.n_examples,
            "task": self.data.task,
            "rule": self.split.rule,
            "content_hash": self.data.content_hash,
            "sets": sets,
            **split_extras(self.split, self.distribution),
        }


def load_data(recipe: Recipe, *, corrections: bool = True) -> Dataset:
    """Load the dataset the recipe names (with the columns its split reads and its label corrections)."""
    columns = recipe.data.split.columns() if recipe.data.split is not None else []
    data = load_source(recipe.data.source, recipe.data.task, Path.cwd(), columns)
    if corrections and recipe.data.corrections is not None:
        from dlkit.data.corrections import apply_corrections

        data, _ = apply_corrections(data, recipe.data.corrections)
    return data


def split(recipe: Recipe, train_fraction: float | None = None, *, dedupe: bool | None = None) -> SplitOutcome:
    """Load the data and split it as the recipe says (seeded, reproducible).

    Also finds exact duplicates across sets and tests whether dev and test look like one
    distribution; text sources get their vocabulary from train here.

    Args:
        recipe: a validated recipe.
        train_fraction: keep only this seeded, stratified share of train (learning curves).
        dedupe: drop duplicates across sets (the recipe's ``data.split.dedupe`` when None).
    """
    from dlkit.data.checks import check_distribution

    # split on the labels as given, so that label corrections never move an example to another set
    data = load_data(recipe, corrections=False)
    result = split_dataset(data, recipe.data.split, recipe.seed, dedupe=dedupe)
    if train_fraction is not None:
        result = subsample_train(result, data, train_fraction, recipe.seed)
    if recipe.data.corrections is not None:
        from dlkit.data.corrections import apply_corrections

        data, _ = apply_corrections(data, recipe.data.corrections)
    data.prepare(result.indices("train"))
    td = recipe.data.split.target_distribution if recipe.data.split is not None else None
    distribution = check_distribution(data, result.codes, td.column if td else None)
    return SplitOutcome(data, result, distribution)


def check_split(
    recipe: Recipe,
    against: str | Path,
    *,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> tuple[SplitOutcome, Any]:
    """Split the data now and compare with a saved manifest (a run's, or a manifest file).

    Returns:
        The split made now and a :class:`~dlkit.data.manifest.ManifestCheck`.
    """
    from dlkit.data.manifest import compare_manifests, read_manifest

    path = Path(against)
    if path.suffix.lower() in (".parquet", ".csv") and path.is_file():
        saved, info = read_manifest(path)
        saved_hash = info.get("content_hash")
    else:
        run = resolve_run(against, runs_dir, tracking_uri)
        saved, info = read_manifest(run.manifest_path)
        saved_hash = info.get("content_hash") or run.info().get("content_hash")
    outcome = split(recipe)
    return outcome, compare_manifests(saved, outcome.split.manifest, saved_hash, outcome.data.content_hash)


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
    warnings: list[dict[str, Any]] = field(default_factory=list)
    initial_epoch: int = 0


class TrainingDivergedError(DlkitError):
    """The training loss became NaN or infinite; the run is marked FAILED."""


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
    from dlkit.data.summary import write_split_files

    write_split_files(run.manifest_path, outcome.split, outcome.data)
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
    return _record_status(
        run,
        tracker,
        lambda: _train_tracked(
            recipe, outcome, run, tracker, summary, on_start, on_epoch, run_name, experiment, started
        ),
    )


def _record_status(run: RunDir, tracker: Tracker, body: Callable[[], TrainResult]) -> TrainResult:
    """Run ``body``; mark the run FINISHED, or FAILED / KILLED with the reason, in run.json and MLflow."""
    status = "FAILED"
    try:
        result = body()
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


def resume(
    run_ref: str | Path,
    overrides: list[str] | None = None,
    *,
    on_start: Callable[[TrainStart], None] | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> TrainResult:
    """Continue an interrupted run from its last completed epoch, in the same run directory and
    MLflow run, with the optimizer state, the schedule position and the random state restored.

    Args:
        run_ref: the run (directory, run name, or MLflow run id or name).
        overrides: ``--set`` assignments; only ``train.epochs`` may change (to train further).
        on_start: called once before the first resumed epoch.
        on_epoch: called after every epoch.
        runs_dir: where run names are looked up.
        tracking_uri: the MLflow store for run ids and names.

    Raises:
        ResumeError: nothing to resume (no completed epoch, all epochs done, stopped early) or
            an override other than train.epochs.
        DataError: the data changed since the run split it.
    """
    from dlkit.training.resume import prepare_resume

    started = time.perf_counter()
    run = resolve_run(run_ref, runs_dir, tracking_uri)
    recipe, state = prepare_resume(run, overrides or [])
    info = run.info()
    outcome = split(recipe, info.get("train_fraction"))
    _check_same_split(run, outcome)
    tracker: Tracker = NullTracker()
    if info.get("run_id"):
        from dlkit.tracking.mlflow_tracker import MLflowTracker

        mlflow_tracker = MLflowTracker(info.get("tracking_uri"))
        mlflow_tracker.resume(info["run_id"])
        tracker = mlflow_tracker
    resumes = [
        *info.get("resumes", []),
        {"from_epoch": state.epoch, "at": datetime.now(UTC).isoformat(timespec="seconds")},
    ]
    run.update_info(status="RUNNING", reason=None, resumes=resumes)
    run.recipe_path.write_text(dump_recipe(recipe), encoding="utf-8")
    tracker.set_tags({"dlkit.resumed_from_epoch": str(state.epoch)})
    summary = json.loads(run.split_summary_path.read_text(encoding="utf-8"))
    return _record_status(
        run,
        tracker,
        lambda: _train_tracked(
            recipe,
            outcome,
            run,
            tracker,
            summary,
            on_start,
            on_epoch,
            info["run_name"],
            info["experiment"],
            started,
            resume=state,
        ),
    )


def _check_same_split(run: RunDir, outcome: SplitOutcome) -> None:
    from dlkit.errors import DataError

    info = run.info()
    if info.get("content_hash") and info["content_hash"] != outcome.data.content_hash:
        raise DataError(
            f"{outcome.data.description}: the data changed since run '{info.get('run_name')}' split it "
            f"(content hash {outcome.data.content_hash[:12]}, was {info['content_hash'][:12]})",
            hint="a resumed run must see the same data; start a new run instead",
        )
    stored = run.manifest().reset_index(drop=True)
    fresh = outcome.split.manifest.reset_index(drop=True)
    if not stored.astype(str).equals(fresh.astype(str)):
        raise DataError(
            f"{run.manifest_path}: the split differs from the run's (same data, another split rule?)",
            hint="a resumed run must see the same split; start a new run instead",
        )


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
    resume: Any = None,
) -> TrainResult:
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    from dlkit.data.corrections import corrections_params
    from dlkit.data.pipeline import inputs, make_dataset, make_stream
    from dlkit.models import BuildContext
    from dlkit.training import checkpoints as ckpt
    from dlkit.training.curves import constant_predictor_loss
    from dlkit.training.evaluate import predict, score
    from dlkit.training.fit import fit
    from dlkit.training.lifecycle import TrainingRun
    from dlkit.training.runtime import training_runtime
    from dlkit.training.session import (
        build_training_model,
        describe_options,
        normalizer_inputs,
        streamed_training_stream,
        training_stream,
    )
    from dlkit.training.streamed_predictions import write_streamed_predictions

    data, parts = outcome.data, outcome.split
    params = flatten(recipe)
    params.update(
        {
            "data.n_examples": data.n_examples,
            "data.task": data.task,
            "data.content_hash": data.content_hash,
            "data.split.rule": parts.rule,
            **{f"data.n_{k}": v for k, v in parts.sizes().items()},
            **corrections_params(recipe.data.corrections),
        }
    )
    if resume is None:
        # a resumed run's params are logged already (MLflow params cannot change)
        tracker.log_params(params)

    life = TrainingRun(run, tracker, summary, on_start, on_epoch, run_name, experiment, started)
    if data.task == "seq2seq":  # text pairs: teacher forcing, decoded evaluation (own module)
        if resume is not None:
            raise UnsupportedRunError("resume: seq2seq runs cannot be resumed yet; train again")
        from dlkit.training.seq2seq_train import train_seq2seq

        return train_seq2seq(recipe, outcome, life)

    from dlkit.training.sequence_labeling import check_recipe as check_step_outputs

    check_step_outputs(recipe, data)  # per-step labels <-> a per-step model, in one line
    if data.task == "sequence_labeling":  # per-step labels: masked loss, per-step scores (own module)
        if resume is not None:
            raise UnsupportedRunError("resume: sequence_labeling runs cannot be resumed yet; train again")
        from dlkit.training.sequence_labeling import train_sequence_labeling

        return train_sequence_labeling(recipe, outcome, life)

    spec = recipe.train
    # a streamed source is read from its files batch by batch (train, dev, predictions), never whole
    x = {} if data.stream else {name: inputs(data, parts.indices(name)) for name in parts.present()}
    y = {name: data.y[parts.indices(name)] for name in parts.present()}
    with training_runtime(spec, recipe.seed) as runtime:
        context = BuildContext(
            data=data,
            runs_dir=Path(recipe.tracking.runs_dir),
            tracking_uri=recipe.tracking.uri,
            resolve_run=lambda ref: resolve_run(ref, recipe.tracking.runs_dir, recipe.tracking.uri).path,
        )
        adapt_on = normalizer_inputs(data, parts.indices("train")) if data.stream else x["train"]
        model = build_training_model(recipe, data, adapt_on, runtime, context=context)
        n_params = int(model.count_params())
        if resume is not None:
            restore_best = bool(spec.early_stopping and spec.early_stopping.restore_best_weights)
            ckpt.restore(model, run.checkpoints, resume, best_weights=restore_best)
        life.model_ready(
            n_params,
            spec.epochs,
            log_params=resume is None,
            runtime=describe_options(model, runtime),
        )

        if data.stream:
            stream, steps = streamed_training_stream(
                spec, data, parts.indices("train"), recipe.seed, resume.epoch if resume else 0
            )
            dev = make_stream(data, parts.indices("dev"), spec.batch_size)
        else:
            stream, steps = training_stream(
                spec, x["train"], y["train"], recipe.seed, resume.epoch if resume else 0
            )
            dev = make_dataset(x["dev"], y["dev"], spec.batch_size)
        fitted = fit(
            model,
            spec,
            stream,
            dev,
            checkpoints=run.checkpoints,
            on_epoch=life.epoch_end,
            steps_per_epoch=steps,
            resume=resume,
            baseline_loss=constant_predictor_loss(y["train"], data.task) if spec.loss is None else None,
        )
    life.record_fit(fitted)

    metrics: dict[str, dict[str, float]] = {}
    run.predictions_path("dev").parent.mkdir(parents=True, exist_ok=True)
    for name in parts.present():
        idx = parts.indices(name)
        if data.stream:
            path = run.predictions_path(name)
            metrics[name] = write_streamed_predictions(model, data, idx, path, spec.batch_size)
            continue
        frame, set_metrics = score(predict(model, x[name], spec.batch_size), y[name], data.task, data.classes)
        frame.insert(0, "id", data.ids[idx])
        for col in data.metadata.columns:
            frame[str(col)] = data.metadata[col].to_numpy()[idx]
        frame.to_parquet(run.predictions_path(name), index=False)
        metrics[name] = set_metrics
    return life.finish(model, metrics, fitted, data, parts, n_params)


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
        if (candidate / "study.json").is_file():  # a tuning study: its best feasible trial
            from dlkit.tuning.study import best_trial_dir

            return RunDir(best_trial_dir(candidate))
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
    folds: int | None = None,
    label_issues_on: list[str] | None = None,
    on_fold: Callable[[Any], None] | None = None,
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
        folds: flag label errors from K-fold cross-validated predictions of the run's recipe
            (retrains its model K times: TensorFlow).
        label_issues_on: sets to check for label errors (dev and test by default).
        on_fold: called with a :class:`~dlkit.analysis.cross_val.FoldEnd` after each fold.

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
        folds=folds,
        label_issues_on=label_issues_on,
        on_fold=on_fold,
    )


def apply_corrections(
    run_ref: str | Path,
    sheet: str | Path,
    *,
    out: str | Path | None = None,
    runs_dir: str | Path = "runs",
    tracking_uri: str | None = None,
) -> Any:
    """Turn the labels a person corrected on a sheet into a corrections file the next training uses.

    Writes ``analysis/corrections.csv`` into the run directory (and to ``out``): name it under
    the recipe's ``data.corrections`` and every set gets the same corrections by id.

    Returns:
        An :class:`~dlkit.analysis.label_corrections.ApplyCorrectionsResult`.

    Raises:
        DlkitError: no such run; the sheet names an unknown id or label (file, row, column).
    """
    from dlkit.analysis.label_corrections import apply_sheet_corrections

    run = resolve_run(run_ref, runs_dir, tracking_uri)
    return apply_sheet_corrections(run, Path(sheet), out=Path(out) if out is not None else None)


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


def tune(
    recipe_path: str | Path | None = None,
    overrides: list[str] | None = None,
    **options: Any,
) -> Any:
    """Hyperparameter search (METHODOLOGY §5) with keras-tuner, every trial trained by dlkit.

    Args:
        recipe_path: a recipe with a ``tune`` section (None with ``resume`` or as a worker).
        overrides: ``dotted.path=value`` strings applied to the recipe.
        **options: ``trials``, ``rounds``, ``strategy`` (override the tune section),
            ``study_dir`` (where the study goes), ``resume`` (a study to finish), ``track``
            and ``on_event`` (called with each :class:`~dlkit.tuning.search.TuneEvent`).

    Returns:
        A :class:`~dlkit.tuning.search.TuneResult`: ranked trials, rounds, best recipe.

    Raises:
        DlkitError: a bad space or recipe (exit 2), more failed trials than the budget.
    """
    from dlkit.tuning.search import tune as run_tune

    return run_tune(recipe_path, overrides, **options)


def tune_refine(study: str | Path, **options: Any) -> Any:
    """Add coarse-to-fine rounds to a finished study (``rounds``, ``trials``, ``track``, ``on_event``)."""
    from dlkit.tuning.search import refine

    return refine(study, **options)


def tune_preview(recipe_path: str | Path, overrides: list[str] | None = None, n: int = 2000) -> Any:
    """Check a recipe's search space and draw ``n`` configurations from it (no training)."""
    from dlkit.tuning.preview import preview_space

    return preview_space(load_recipe(recipe_path, overrides or []), str(recipe_path), n)


def gradcheck(
    recipe: Recipe,
    *,
    batch: int = 8,
    epsilon: float = 1e-7,
    max_per_layer: int | None = 64,
) -> Any:
    """Check the recipe's model's gradients against two-sided numerical differences.

    The model is built as training builds it (normalisation fitted on train, the recipe-wide
    regularisation and initialiser; augmentation left out, as at inference), freshly
    initialised with the recipe's seed, then cloned in float64 (METHODOLOGY §6).

    Args:
        recipe: a validated recipe.
        batch: examples from the training set (seeded).
        epsilon: the two-sided difference's step.
        max_per_layer: coordinates checked per layer (a seeded sample); None checks all.

    Returns:
        A :class:`~dlkit.training.gradcheck.GradCheckResult`.
    """
    from dlkit.errors import RecipeError

    if batch < 1 or epsilon <= 0 or (max_per_layer is not None and max_per_layer < 1):
        raise RecipeError(
            f"gradcheck: expected batch >= 1, epsilon > 0 and max-per-layer >= 1 "
            f"(got {batch}, {epsilon}, {max_per_layer})"
        )
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    import keras
    import numpy as np

    from dlkit.data.pipeline import inputs
    from dlkit.training.fit import default_loss
    from dlkit.training.gradcheck import check_gradients
    from dlkit.training.session import build_training_model

    outcome = split(recipe)
    data, parts = outcome.data, outcome.split
    train_idx = parts.indices("train")
    pick = np.random.default_rng(recipe.seed).choice(
        len(train_idx), min(batch, len(train_idx)), replace=False
    )
    chosen = train_idx[np.sort(pick)]
    plain = recipe.model_copy(deep=True)
    plain.train.augment = None
    plain.train.mixed_precision = False
    keras.backend.clear_session()
    keras.utils.set_random_seed(recipe.seed)
    model = build_training_model(plain, data, inputs(data, train_idx))
    return check_gradients(
        model,
        inputs(data, chosen),
        data.y[chosen],
        recipe.train.loss or default_loss(data.task),
        epsilon=epsilon,
        max_per_layer=max_per_layer,
        seed=recipe.seed,
    )


def lr_find(
    recipe: Recipe,
    *,
    min_lr: float = 1e-6,
    max_lr: float = 1.0,
    steps: int = 100,
    plot: str | Path | None = None,
) -> Any:
    """Learning-rate range test on the recipe's model and training set.

    The model is built and compiled as training builds it (the optimizer's other settings
    kept); each step trains one mini-batch at the next rate of a log-spaced sequence.

    Args:
        recipe: a validated recipe.
        min_lr: the first rate.
        max_lr: the last rate.
        steps: mini-batches (rates) to try; the test stops early when the loss blows up.
        plot: where to draw the plot (PNG); none: no plot.

    Returns:
        A :class:`~dlkit.training.lr_find.LRFindResult` with the suggested range.
    """
    from dlkit.errors import RecipeError

    if not 0 < min_lr < max_lr or steps < 5:
        raise RecipeError(
            f"lr-find: expected 0 < min-lr < max-lr and steps >= 5 (got {min_lr:g}, {max_lr:g}, {steps})"
        )
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    from dlkit.data.pipeline import inputs
    from dlkit.training.lr_find import range_test, read_range_test, smoothing_for
    from dlkit.training.runtime import training_runtime
    from dlkit.training.session import build_training_model, training_stream

    outcome = split(recipe)
    data, parts = outcome.data, outcome.split
    idx = parts.indices("train")
    x, y = inputs(data, idx), data.y[idx]
    spec = recipe.train.model_copy(deep=True)
    with training_runtime(spec, recipe.seed) as runtime:
        model = build_training_model(recipe, data, x, runtime)
        per_epoch = training_stream(spec, x, y, recipe.seed, 0)[1]
        spec.epochs = -(-steps // per_epoch)  # enough epochs of batches for every step
        stream, _ = training_stream(spec, x, y, recipe.seed, 0)
        lrs, losses, diverged = range_test(model, stream, min_lr=min_lr, max_lr=max_lr, steps=steps)
    result = read_range_test(lrs, losses, diverged, beta=smoothing_for(steps))
    if plot is not None:
        from dlkit.reporting.lr_find import plot_lr_find

        result.plot_path = str(plot_lr_find(result, Path(plot)))
    return result
