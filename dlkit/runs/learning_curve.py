"""``dlkit diagnose RUN --learning-curve``: retrain a finished run's recipe on shares of train.

Each point is ``dlkit train`` with a few values overridden (the train fraction, the epochs and
what counts epochs), through the one training path, recorded as a child of the run in MLflow.
The full training set's point is the finished run itself: it is what ``dlkit diagnose`` reads,
so the curve's reading and the diagnosis are made from the same predictions.

Budget: every point gets the optimizer steps of the full run (its epochs scaled by about
1 / share of train, capped at ``max_epoch_scale``); see :mod:`dlkit.analysis.learning_curve`.
What counts epochs is stretched by the same factor, so that a point follows the full run's
course step for step: early-stopping patience and warm-up, per-epoch learning-rate schedules
(decay per epoch divided, staircase widened), reduce-on-plateau patience and cooldown.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.analysis.learning_curve import (
    MAX_EPOCH_SCALE,
    LearningCurvePoint,
    LearningCurveResult,
    PointBudget,
    PointEnd,
    PointStart,
    describe_budget,
    plan_budgets,
    read_learning_curve,
)
from dlkit.errors import DlkitError, RecipeError
from dlkit.recipe.loader import load_recipe
from dlkit.rundir import RunDir, write_json

if TYPE_CHECKING:
    from dlkit.analysis.bias_variance import DiagnoseResult
    from dlkit.recipe.schema import Recipe
    from dlkit.training.fit import EpochEnd
    from dlkit.training.spec import TrainSpec

log = logging.getLogger(__name__)

REPORT_NAMES = ("learning_curve.csv", "learning_curve.png", "learning_curve.json")


def stretch_training(train: TrainSpec, epochs: int) -> tuple[TrainSpec, list[str]]:
    """``train`` run for ``epochs`` instead of ``train.epochs``, with everything counted in
    epochs stretched by the same factor, so the course over optimizer steps is unchanged.

    Args:
        train: the recipe's ``train`` section.
        epochs: the epochs to give.

    Returns:
        The stretched section, and a note for each part that cannot be stretched exactly.
    """
    from dlkit.training.schedules import (
        CosineSpec,
        ExponentialSpec,
        InverseTimeSpec,
        PlateauSpec,
        StepSpec,
    )

    scale = epochs / train.epochs
    if scale == 1:
        return train, []
    stretch = lambda n: max(1, round(n * scale)) if n else n  # noqa: E731 (0 stays 0)
    update: dict[str, Any] = {"epochs": epochs}
    notes: list[str] = []
    es = train.early_stopping
    if es is not None:
        update["early_stopping"] = es.model_copy(
            update={"patience": stretch(es.patience), "start_from_epoch": stretch(es.start_from_epoch)}
        )
    s = train.schedule
    if isinstance(s, InverseTimeSpec):
        update["schedule"] = s.model_copy(update={"decay_rate": s.decay_rate / scale})
    elif isinstance(s, ExponentialSpec):
        update["schedule"] = s.model_copy(update={"decay_rate": s.decay_rate ** (1 / scale)})
    elif isinstance(s, StepSpec):
        update["schedule"] = s.model_copy(update={"every": stretch(s.every)})
    elif isinstance(s, CosineSpec):
        decay = stretch(s.decay_epochs) if s.decay_epochs is not None else None
        update["schedule"] = s.model_copy(
            update={"warmup_epochs": stretch(s.warmup_epochs), "decay_epochs": decay}
        )
    elif isinstance(s, PlateauSpec):
        update["schedule"] = s.model_copy(
            update={"patience": stretch(s.patience), "cooldown": stretch(s.cooldown)}
        )
    elif s is not None:
        # sqrt (k / sqrt(epoch + 1)) has no parameter that stretches it; a new schedule type
        # may not either: the point follows it per epoch, and the report says so
        notes.append(
            f"schedule {s.type} cannot be stretched: points with more epochs follow it per epoch, "
            "so their learning rate decays further than the full run's."
        )
    return train.model_copy(update=update), notes


def _steps_per_epoch(train: TrainSpec, n: int) -> int:
    return 1 if train.full_batch else max(1, math.ceil(n / train.batch_size))


def _point(
    fraction: float,
    metrics: dict[str, dict[str, float]],
    run_name: str,
    epochs: int,
    epochs_run: int | None,
    steps_per_epoch: int,
    retrained: bool,
) -> LearningCurvePoint:
    train, dev, train_dev = metrics["train"], metrics["dev"], metrics.get("train_dev")
    return LearningCurvePoint(
        fraction=fraction,
        n_train=int(train["n"]),
        train_error=float(train["error"]),
        dev_error=float(dev["error"]),
        n_dev=int(dev["n"]),
        run_name=run_name,
        train_dev_error=float(train_dev["error"]) if train_dev else None,
        n_train_dev=int(train_dev["n"]) if train_dev else None,
        epochs=epochs,
        epochs_run=epochs_run,
        steps=None if epochs_run is None else epochs_run * steps_per_epoch,
        retrained=retrained,
    )


def _diagnosis(run_dir: Path, human_error: float | None) -> DiagnoseResult | None:
    """The gaps ``dlkit diagnose`` finds at ``run_dir``, from its stored predictions; None when
    diagnose cannot read this run (a task it does not read, no human-level error)."""
    from dlkit.runs.diagnose import diagnose_run

    if human_error is None:
        return None
    try:
        return diagnose_run(RunDir(run_dir), human_error, reports=False).result
    except DlkitError as exc:
        log.info("learning curve: reading the largest point from its error rates (%s)", exc.message)
        return None


def learning_curve(
    run: RunDir,
    fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0),
    human_error: float | None = None,
    *,
    max_epoch_scale: float = MAX_EPOCH_SCALE,
    on_point_start: Callable[[PointStart], None] | None = None,
    on_epoch: Callable[[EpochEnd], None] | None = None,
    on_point_end: Callable[[PointEnd], None] | None = None,
) -> LearningCurveResult:
    """Retrain ``run``'s recipe on shares of its training set, read the curve, write and log it.

    See :func:`dlkit.api.learning_curve`.
    """
    if len(set(fractions)) < 2 or any(not 0 < f <= 1 for f in fractions):
        raise RecipeError(f"--fractions: expected at least two values in (0, 1] (got {list(fractions)})")
    if not max_epoch_scale >= 1:
        raise RecipeError(f"max_epoch_scale: expected a value >= 1 (got {max_epoch_scale:g})")
    info = run.info()
    recipe: Recipe = load_recipe(run.recipe_path)
    if info.get("tracking_uri"):
        recipe.tracking.uri = info["tracking_uri"]
    recipe.tracking.runs_dir = str(run.path / "learning_curve")
    human = human_error if human_error is not None else info.get("human_error")
    # a run that was itself a point: fractions are of the whole training set, as api.train's
    own_fraction = info.get("train_fraction") or 1.0
    n_full = round(int(info["split_sizes"]["train"]) / own_fraction)
    reuse = own_fraction == 1 and info.get("status") == "FINISHED" and run.metrics_path.is_file()
    spec = recipe.train
    try:
        budgets = plan_budgets(
            fractions,
            n_full,
            spec.epochs,
            spec.batch_size,
            full_batch=spec.full_batch,
            max_epoch_scale=max_epoch_scale,
        )
    except ValueError as exc:
        raise RecipeError(f"learning curve of '{info.get('run_name', run.path.name)}': {exc}") from None
    notes: list[str] = []
    points: list[LearningCurvePoint] = []
    dirs: list[Path] = []
    for index, budget in enumerate(budgets, start=1):
        own = reuse and budget.fraction == 1
        if on_point_start is not None:
            on_point_start(PointStart(index, len(budgets), budget, retrained=not own))
        started = time.perf_counter()
        if own:
            point = _point(
                1.0,
                run.metrics(),
                str(info.get("run_name", run.path.name)),
                spec.epochs,
                info.get("epochs_run"),
                _steps_per_epoch(spec, n_full),
                retrained=False,
            )
            dirs.append(run.path)
        else:
            point, point_dir, stretch_notes = _train_point(recipe, budget, info.get("run_id"), on_epoch)
            notes += [n for n in stretch_notes if n not in notes]
            dirs.append(point_dir)
        points.append(point)
        if on_point_end is not None:
            on_point_end(PointEnd(index, len(budgets), point, time.perf_counter() - started))
    largest = max(range(len(points)), key=lambda i: (points[i].n_train, points[i].fraction))
    curve = read_learning_curve(points, human, diagnosis=_diagnosis(dirs[largest], human))
    full_steps = spec.epochs * _steps_per_epoch(spec, n_full)
    curve.budget = describe_budget(budgets, spec.epochs, full_steps, max_epoch_scale)
    curve.notes += notes
    _write(run, info, curve)
    return curve


def _train_point(
    recipe: Recipe,
    budget: PointBudget,
    parent_run_id: str | None,
    on_epoch: Callable[[EpochEnd], None] | None,
) -> tuple[LearningCurvePoint, Path, list[str]]:
    """Train one point through the one training path: ``dlkit train`` with the fraction and the
    stretched epochs, a child of the diagnosed run in MLflow when that run was tracked."""
    from dlkit.training.trainer import train_recipe

    train, notes = stretch_training(recipe.train, budget.epochs)
    result = train_recipe(
        recipe.model_copy(update={"train": train}),
        track=parent_run_id is not None,
        on_epoch=on_epoch,
        train_fraction=budget.fraction,
        parent_run_id=parent_run_id,
    )
    n = int(result.metrics["train"]["n"])
    point = _point(
        budget.fraction,
        result.metrics,
        result.run_name,
        budget.epochs,
        result.epochs_run,
        _steps_per_epoch(train, n),
        retrained=True,
    )
    return point, Path(result.run_dir), notes


def _write(run: RunDir, info: dict[str, Any], curve: LearningCurveResult) -> None:
    """``reports/learning_curve.{csv,png,json}`` into the run directory and its MLflow run."""
    import pandas as pd

    from dlkit.reporting.learning_curve import plot_learning_curve

    reports = run.path / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([asdict(p) for p in curve.points]).to_csv(reports / REPORT_NAMES[0], index=False)
    curve.plot_path = str(plot_learning_curve(curve, reports / REPORT_NAMES[1]))
    write_json(reports / REPORT_NAMES[2], curve.to_dict())
    if info.get("run_id"):
        from dlkit.tracking.mlflow_tracker import log_to_run

        log_to_run(info["run_id"], info.get("tracking_uri"), [(reports / n, "reports") for n in REPORT_NAMES])
