"""``dlkit train`` and ``--resume``: a run directory, an MLflow run, and the one pipeline between.

:func:`train_recipe` starts a run (split, run directory, MLflow run), :func:`resume_run`
reopens one after its last completed epoch; both hand over to :func:`_train_run`, which
builds, fits and predicts through :mod:`dlkit.training.pipeline` whatever the task.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit import __version__
from dlkit.errors import DlkitError
from dlkit.recipe.loader import dump_recipe, flatten
from dlkit.rundir import Heartbeat, RunDir, owner, write_json
from dlkit.tracking import NullTracker, Tracker
from dlkit.training.prepare import SplitOutcome, check_same_split, split_recipe
from dlkit.training.results import TrainResult, TrainStart

if TYPE_CHECKING:
    from dlkit.models import BuildContext
    from dlkit.recipe.schema import Recipe
    from dlkit.runs.journal import Derivation
    from dlkit.training.checkpoints import ResumeState
    from dlkit.training.fit import EpochEnd

OnStart = Callable[[TrainStart], None] | None
OnEpoch = Callable[["EpochEnd"], None] | None


def new_run_dir(runs_dir: Path, name: str) -> tuple[str, Path]:
    """A new, empty ``runs_dir/<name>-<UTC stamp>[-n]`` folder and its name.

    The folder is claimed by creating it, so runs started in the same second by several
    processes get different folders.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{name}-{stamp}"
    runs_dir.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        run_name = base if n == 1 else f"{base}-{n}"
        try:
            (runs_dir / run_name).mkdir()
        except FileExistsError:
            n += 1
            continue
        return run_name, runs_dir / run_name


def build_context(recipe: Recipe, data: Any) -> BuildContext:
    """What builders get besides the input: the data, and how to find an earlier run (transfer)."""
    from dlkit.models import BuildContext
    from dlkit.tracking.resolve import resolve_run

    return BuildContext(
        data=data,
        runs_dir=Path(recipe.tracking.runs_dir),
        tracking_uri=recipe.tracking.uri,
        resolve_run=lambda ref: resolve_run(ref, recipe.tracking.runs_dir, recipe.tracking.uri).path,
    )


def record_run_info(run: RunDir, recipe: Recipe, outcome: SplitOutcome, **info: Any) -> None:
    """What run.json says about a run before it trains (the reports read it later)."""
    from dlkit.tasks import task_for

    data = outcome.data
    run.update_info(
        **{
            "status": "RUNNING",
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "dlkit_version": __version__,
            "recipe_name": recipe.name,
            "task": data.task,
            "kind": data.kind,
            "classes": data.classes,
            "input_shape": list(data.input_shape),
            "feature_names": data.feature_names,
            "metadata_columns": [str(c) for c in data.metadata.columns],
            # how new data is read for predict / evaluate (e.g. a text pair's lengths)
            "source_options": {k: v for k, v in data.options.items() if k != "path"},
            "optimize": recipe.metrics.optimize or task_for(data.task).default_metric,
            "human_error": recipe.targets.human_error,
            "split_sizes": outcome.split.sizes(),
            "content_hash": data.content_hash,
            **info,
        }
    )
    run.recipe_path.write_text(dump_recipe(recipe), encoding="utf-8")


def write_split(run: RunDir, outcome: SplitOutcome) -> dict[str, Any]:
    """The manifest, the vocabularies and the split summary into the run directory."""
    from dlkit.data.summary import write_split_files

    write_split_files(run.manifest_path, outcome.split, outcome.data)
    summary = outcome.summary()
    write_json(run.split_summary_path, summary)
    return summary


def train_recipe(
    recipe: Recipe,
    *,
    track: bool = True,
    on_start: OnStart = None,
    on_epoch: OnEpoch = None,
    train_fraction: float | None = None,
    parent_run_id: str | None = None,
    derived_from: Derivation | None = None,
) -> TrainResult:
    """Split the data, train the recipe's model, evaluate every set and record the run.

    See :func:`dlkit.api.train`.
    """
    from dlkit.training.runtime import is_chief

    started = time.perf_counter()
    tracker: Tracker = NullTracker()
    if track and is_chief(recipe.train.strategy):
        from dlkit.tracking.mlflow_tracker import MLflowTracker

        # opened first: its writer imports MLflow and opens the store while this process splits
        # the data and imports TensorFlow
        tracker = MLflowTracker(recipe.tracking.uri, parent_run_id=parent_run_id)
    try:
        train = _start_run(recipe, tracker, on_start, on_epoch, train_fraction, derived_from, started)
    except BaseException:
        tracker.finish("FAILED")  # the run ended before it trained (or never started)
        raise
    return train()


def _start_run(
    recipe: Recipe,
    tracker: Tracker,
    on_start: OnStart,
    on_epoch: OnEpoch,
    train_fraction: float | None,
    derived_from: Derivation | None,
    started: float,
) -> Callable[[], TrainResult]:
    """Split the data, make the run directory and start the tracked run; the training to do."""
    from dlkit.training.runtime import is_chief

    outcome = split_recipe(recipe, train_fraction)
    if not is_chief(recipe.train.strategy):
        return lambda: _train_worker(recipe, outcome, on_start, on_epoch, started)
    run_name, path = new_run_dir(Path(recipe.tracking.runs_dir), recipe.name)
    run = RunDir(path)
    experiment = recipe.tracking.experiment or recipe.name
    record_run_info(
        run,
        recipe,
        outcome,
        run_name=run_name,
        experiment=experiment,
        train_fraction=train_fraction,
        derived_from=derived_from.to_dict() if derived_from else None,
    )
    summary = write_split(run, outcome)
    # what the split checks found (leakage, dev/test shift), as `dlkit split` shows it
    split_warnings = summary.get("warnings", [])
    run.update_info(split_warnings=split_warnings)
    tracker.start(
        experiment,
        run_name,
        {
            "dlkit.run_dir": str(path.resolve()),
            "dlkit.recipe": recipe.name,
            "dlkit.version": __version__,
            "dlkit.split_warnings": ",".join(w["code"] for w in split_warnings) or "none",
            **(derived_from.tags() if derived_from else {}),
        },
    )
    return lambda: _record_status(
        run,
        tracker,
        lambda: _train_run(recipe, outcome, run, tracker, summary, on_start, on_epoch, started),
    )


def _train_worker(
    recipe: Recipe,
    outcome: SplitOutcome,
    on_start: OnStart,
    on_epoch: OnEpoch,
    started: float,
    resume: tuple[ResumeState, Path] | None = None,
) -> TrainResult:
    """A multi_worker process other than the chief: the same split and the same training, in step
    with the chief, written to a temporary folder it removes (as Keras's multi-worker guide has
    workers do); nothing tracked, nothing evaluated. ``resume``: the chief's state and checkpoint
    folder (read, never written)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dlkit-worker-") as folder:
        run = RunDir(Path(folder))
        record_run_info(run, recipe, outcome, run_name=recipe.name, experiment=recipe.name)
        summary = write_split(run, outcome)
        state, checkpoints = resume if resume is not None else (None, None)
        return _train_run(
            recipe, outcome, run, NullTracker(), summary, on_start, on_epoch, started, state, checkpoints
        )


def resume_run(
    run: RunDir, overrides: list[str], *, on_start: OnStart = None, on_epoch: OnEpoch = None
) -> TrainResult:
    """Continue an interrupted run from its last completed epoch. See :func:`dlkit.api.resume`."""
    from dlkit.training.resume import prepare_resume

    started = time.perf_counter()
    recipe, state = prepare_resume(run, overrides)
    info = run.info()
    from dlkit.training.runtime import is_chief

    chief = is_chief(recipe.train.strategy)
    reopened = None
    if chief and info.get("run_id"):
        from dlkit.tracking.mlflow_tracker import MLflowTracker

        # opened first, as a new run's: the writer opens the store while the data is split
        # and TensorFlow is imported; the run is reopened once both are done
        reopened = MLflowTracker(info.get("tracking_uri"))
    try:
        outcome = split_recipe(recipe, info.get("train_fraction"))
        check_same_split(f"run '{info.get('run_name')}'", outcome, info.get("content_hash"), run.manifest())
        if not chief:  # the chief resumes the run; a worker follows it
            return _train_worker(recipe, outcome, on_start, on_epoch, started, (state, run.checkpoints))
        if reopened is not None:
            from dlkit._tf import import_tensorflow

            import_tensorflow()
            # refused here, before run.json changes or anything trains, if the run is gone
            reopened.resume(info["run_id"])
    except BaseException:
        if reopened is not None:
            reopened.close()
        raise
    tracker: Tracker = reopened if reopened is not None else NullTracker()
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
        lambda: _train_run(recipe, outcome, run, tracker, summary, on_start, on_epoch, started, state),
    )


def _record_status(run: RunDir, tracker: Tracker, body: Callable[[], TrainResult]) -> TrainResult:
    """Run ``body`` as the run's owner (pid, host and a heartbeat in run.json); mark the run
    FINISHED, or FAILED / KILLED with the reason, in run.json and MLflow (SIGINT and SIGTERM wait
    until both say so)."""
    from dlkit.training.checkpoints import signals_held
    from dlkit.training.lifecycle import Terminated

    status = "FAILED"
    try:
        run.update_info(**owner())
        with Heartbeat(run):
            result = body()
        status = "FINISHED"
    except KeyboardInterrupt as exc:
        status = "KILLED"
        reason = "terminated" if isinstance(exc, Terminated) else "interrupted"
        with signals_held():
            run.update_info(status=status, reason=reason)
        raise
    except Exception as exc:
        reason = exc.message if isinstance(exc, DlkitError) else f"{type(exc).__name__}: {exc}"
        with signals_held():
            run.update_info(status=status, reason=reason)
        raise
    finally:
        with signals_held():
            tracker.finish(status)  # type: ignore[arg-type]
    return result


def _train_run(
    recipe: Recipe,
    outcome: SplitOutcome,
    run: RunDir,
    tracker: Tracker,
    summary: dict[str, Any],
    on_start: OnStart,
    on_epoch: OnEpoch,
    started: float,
    resume: ResumeState | None = None,
    checkpoints: Path | None = None,
) -> TrainResult:
    """Build, fit and evaluate; ``checkpoints``: where a resumed run's checkpoint is read (the
    run's own folder unless given: a multi_worker worker reads the chief's)."""
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    from dlkit.data.corrections import corrections_params
    from dlkit.training._multi_worker import EXIT_AFTER_FAILURE_S, exit_within, local_copy, lost_worker
    from dlkit.training.checkpoints import pause_for_test
    from dlkit.training.lifecycle import TrainingRun
    from dlkit.training.pipeline import describe_options, fit_model, predict_sets, task_of
    from dlkit.training.runtime import is_chief, this_task, training_runtime, worker_name
    from dlkit.training.weights import describe_weights

    data, parts = outcome.data, outcome.split
    if resume is None:
        # the run id is read once TensorFlow is in: the writer had that long to open the store
        run.update_info(run_id=tracker.run_id, tracking_uri=tracker.uri)
        tracker.log_inputs(data, parts)
    task_of(recipe, data)  # the model must fit the task: refused before anything trains
    if resume is None:  # a resumed run's params are logged already (MLflow params cannot change)
        tracker.log_params(
            {
                **flatten(recipe),
                "data.n_examples": data.n_examples,
                "data.task": data.task,
                "data.content_hash": data.content_hash,
                "data.split.rule": parts.rule,
                **{f"data.n_{k}": v for k, v in parts.sizes().items()},
                **corrections_params(recipe.data.corrections),
                **describe_weights(recipe, data, parts.indices("train")),
            }
        )
    info = run.info()
    spec = recipe.train
    worker = None if is_chief(spec.strategy) else worker_name()
    life = TrainingRun(
        run, tracker, summary, on_start, on_epoch, info["run_name"], info["experiment"], started, worker
    )
    with training_runtime(spec, recipe.seed) as runtime:
        try:
            fitted = fit_model(
                recipe,
                data,
                parts.indices("train"),
                parts.indices("dev"),
                runtime,
                context=build_context(recipe, data),
                checkpoints=checkpoints or run.checkpoints,
                resume=resume,
                scratch=run.scratch,
                on_epoch=life.epoch_end,
                on_built=lambda model: life.model_ready(
                    int(model.count_params()),
                    spec.epochs,
                    log_params=resume is None,
                    runtime=describe_options(model, runtime),
                ),
            )
        except BaseException as exc:
            if spec.strategy == "multi_worker":
                # the error is reported and the run marked as usual, but TensorFlow's shutdown
                # may wait for the workers still in the training: the process ends regardless
                exit_within(EXIT_AFTER_FAILURE_S)
                lost = lost_worker(exc, this_task())
                if lost is not None:
                    raise lost from None
            raise
    if worker is not None:
        return _worker_result(recipe, outcome, fitted, worker, started)
    if spec.strategy == "multi_worker":
        # evaluated here alone: a model outside the strategy predicts without the workers
        fitted.model = local_copy(fitted.model, run.path)
    pause_for_test("fit")
    life.record_fit(fitted.fit)
    metrics = predict_sets(fitted.model, recipe, data, parts, run.predictions_path)
    more = task_of(recipe, data).metric_warnings(metrics)
    if more:
        life.record_warnings(fitted.fit, more)
    return life.finish(fitted.model, metrics, fitted.fit, data, parts, fitted.n_params)


def _worker_result(
    recipe: Recipe, outcome: SplitOutcome, fitted: Any, worker: str, started: float
) -> TrainResult:
    """What a multi_worker worker reports: how the training went, no metrics (the chief's)."""
    parts = outcome.split
    return TrainResult(
        run_name=recipe.name,
        run_dir=Path(),
        run_id=None,
        tracking_uri=None,
        experiment=recipe.tracking.experiment or recipe.name,
        task=outcome.data.task,
        metrics={},
        split_sizes=parts.sizes(),
        split_rule=parts.rule,
        n_params=fitted.n_params,
        epochs_run=fitted.fit.epochs_run,
        stopped_early=fitted.fit.stopped_early,
        duration_s=time.perf_counter() - started,
        history=fitted.fit.history,
        initial_epoch=fitted.fit.initial_epoch,
        worker=worker,
    )
