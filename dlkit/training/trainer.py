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
    started = time.perf_counter()
    outcome = split_recipe(recipe, train_fraction)
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
    tracker: Tracker = NullTracker()
    if track:
        from dlkit.tracking.mlflow_tracker import MLflowTracker

        tracker = MLflowTracker(recipe.tracking.uri, parent_run_id=parent_run_id)
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
    run.update_info(run_id=tracker.run_id, tracking_uri=tracker.uri)
    tracker.log_inputs(outcome.data, outcome.split)
    return _record_status(
        run,
        tracker,
        lambda: _train_run(recipe, outcome, run, tracker, summary, on_start, on_epoch, started),
    )


def resume_run(
    run: RunDir, overrides: list[str], *, on_start: OnStart = None, on_epoch: OnEpoch = None
) -> TrainResult:
    """Continue an interrupted run from its last completed epoch. See :func:`dlkit.api.resume`."""
    from dlkit.training.resume import prepare_resume

    started = time.perf_counter()
    recipe, state = prepare_resume(run, overrides)
    info = run.info()
    outcome = split_recipe(recipe, info.get("train_fraction"))
    check_same_split(f"run '{info.get('run_name')}'", outcome, info.get("content_hash"), run.manifest())
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
) -> TrainResult:
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    from dlkit.data.corrections import corrections_params
    from dlkit.training.checkpoints import pause_for_test
    from dlkit.training.lifecycle import TrainingRun
    from dlkit.training.pipeline import describe_options, fit_model, predict_sets, task_of
    from dlkit.training.runtime import training_runtime
    from dlkit.training.weights import describe_weights

    data, parts = outcome.data, outcome.split
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
    life = TrainingRun(
        run, tracker, summary, on_start, on_epoch, info["run_name"], info["experiment"], started
    )
    spec = recipe.train
    with training_runtime(spec, recipe.seed) as runtime:
        fitted = fit_model(
            recipe,
            data,
            parts.indices("train"),
            parts.indices("dev"),
            runtime,
            context=build_context(recipe, data),
            checkpoints=run.checkpoints,
            resume=resume,
            on_epoch=life.epoch_end,
            on_built=lambda model: life.model_ready(
                int(model.count_params()),
                spec.epochs,
                log_params=resume is None,
                runtime=describe_options(model, runtime),
            ),
        )
    pause_for_test("fit")
    life.record_fit(fitted.fit)
    metrics = predict_sets(fitted.model, recipe, data, parts, run.predictions_path)
    more = task_of(recipe, data).metric_warnings(metrics)
    if more:
        life.record_warnings(fitted.fit, more)
    return life.finish(fitted.model, metrics, fitted.fit, data, parts, fitted.n_params)
