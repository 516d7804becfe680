"""Hyperparameter search: ``dlkit tune`` (a new, resumed or distributed study) and ``tune refine``.

keras-tuner's oracles choose the values (:mod:`~dlkit.tuning.strategies`), dlkit trains each
trial (:mod:`~dlkit.tuning.tuner`), coarse-to-fine rounds narrow the space
(:mod:`~dlkit.tuning.rounds`), and MLflow records the study, its rounds and its trials
(:mod:`dlkit.tracking.mlflow_tracker`). This module holds the entry points: it checks the recipe
(:mod:`~dlkit.tuning.checks`), makes or opens the study folder and hands it to the rounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dlkit import __version__
from dlkit.errors import RecipeError
from dlkit.recipe.loader import dump_recipe, load_recipe
from dlkit.recipe.schema import Recipe
from dlkit.rundir import write_json
from dlkit.tracking import RunStore
from dlkit.tracking.queued import QueuedStore
from dlkit.tuning.checks import check_columns, check_metrics, check_space
from dlkit.tuning.result import RoundSummary, TuneEvent, TuneResult
from dlkit.tuning.rounds import drive, open_study_store
from dlkit.tuning.space import dimensions
from dlkit.tuning.spec import TuneSpec
from dlkit.tuning.study import StudyDir, direction_of, now

__all__ = ["RoundSummary", "TuneEvent", "TuneResult", "check_space", "refine", "tune"]


def _new_study(recipe: Recipe, source: str, study_dir: Path | None, store: RunStore) -> StudyDir:
    assert recipe.tune is not None
    from dlkit.data.summary import write_split_files
    from dlkit.training.prepare import split_recipe

    # the study's examples are `dlkit train`'s: same columns, split, corrections and vocabulary
    outcome = split_recipe(recipe)
    data, split = outcome.data, outcome.split
    metric, constraints = check_metrics(recipe, data.task, source)
    check_columns(recipe, data, source)
    runs_dir = Path(recipe.tracking.runs_dir)
    name = f"{recipe.name}-study-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    if study_dir is None:
        path, n = runs_dir / name, 1
        while path.exists():
            n += 1
            path = runs_dir / f"{name}-{n}"
    else:
        path = study_dir
        if (path / "study.json").exists():
            raise RecipeError(
                f"--study {path}: a study already exists there",
                hint="pass --resume to continue it, or choose another folder",
            )
        name = path.name
    study = StudyDir(path)
    path.mkdir(parents=True, exist_ok=True)
    study.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    write_split_files(study.manifest_path, split, data)
    write_json(study.split_summary_path, outcome.summary())
    study.recipe_path.write_text(dump_recipe(recipe), encoding="utf-8")
    experiment = recipe.tracking.experiment or recipe.name
    study_id = f"{name}-{os.getpid()}-{time.time_ns()}"
    rounds_planned = recipe.tune.rounds
    study.update_info(
        name=name,
        study_id=study_id,
        status="RUNNING",
        started=now(),
        dlkit_version=__version__,
        recipe_name=recipe.name,
        experiment=experiment,
        tracked=store.uri is not None,
        tracking_uri=store.uri,
        task=data.task,
        content_hash=data.content_hash,
        split_sizes=split.sizes(),
        split_rule=split.rule,
        optimize=metric,
        objective=f"dev_{metric}",
        direction=direction_of(metric, data.task),
        constraints=constraints,
        strategy=recipe.tune.strategy,
        rounds_planned=rounds_planned,
        round_specs={"1": recipe.tune.model_dump(mode="json", by_alias=True)},
        round_runs={},
    )
    run_id = store.start_run(
        experiment,
        name,
        {
            "dlkit.study": study_id,
            "dlkit.kind": "study",
            "dlkit.run_dir": str(path.resolve()),
            "dlkit.version": __version__,
        },
    )
    store.log_params(
        run_id,
        {
            "strategy": recipe.tune.strategy,
            "trials_per_round": recipe.tune.trials,
            "rounds": rounds_planned,
            "objective": f"dev_{metric}",
            "direction": direction_of(metric, data.task),
            **{f"satisfice.{k}": v for k, v in constraints.items()},
            **{f"space.{d.path}": d.describe() for d in dimensions(recipe.tune)},
            "data.content_hash": data.content_hash,
            **{f"data.n_{k}": v for k, v in split.sizes().items()},
        },
    )
    study.update_info(run_id=run_id)
    store.log_artifact(run_id, study.recipe_path)
    return study


def _apply_cli(recipe: Recipe, **changes: Any) -> Recipe:
    """The recipe with ``--trials``, ``--rounds`` and ``--strategy`` (those given) in its tune section.

    Raises:
        RecipeError: a value the tune section refuses, one line per option.
    """
    assert recipe.tune is not None
    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        return recipe
    try:
        tune = TuneSpec.model_validate({**recipe.tune.model_dump(mode="json", by_alias=True), **given})
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"--{field}: {message[:1].lower()}{message[1:]} (got {error['input']!r})")
        raise RecipeError("\n".join(lines)) from None
    return recipe.model_copy(update={"tune": tune})


def tune(
    recipe_path: str | Path | None = None,
    overrides: list[str] | None = None,
    *,
    trials: int | None = None,
    rounds: int | None = None,
    strategy: str | None = None,
    study_dir: str | Path | None = None,
    resume: str | Path | None = None,
    track: bool = True,
    on_event: Callable[[TuneEvent], None] | None = None,
) -> TuneResult:
    """Run (or resume) a study; see :func:`dlkit.api.tune`."""
    from dlkit._tf import import_tensorflow

    import_tensorflow()  # before keras-tuner imports it, with TensorFlow's start-up notes on stderr
    from keras_tuner.src.distribute import utils as dist_utils

    role = "single"
    if dist_utils.has_chief_oracle():
        role = "chief" if dist_utils.is_chief_oracle() else "worker"
    if resume is not None:
        study = StudyDir.open(resume)
        info = study.info()
        if info.get("status") == "FINISHED" and role == "single":
            raise RecipeError(
                f"--resume {resume}: the study is finished",
                hint=f"add rounds with: dlkit tune refine {resume}",
            )
        recipe = load_recipe(study.recipe_path)
    elif role == "worker":
        if study_dir is None:
            raise RecipeError("--worker: expected --study DIR, the folder the chief created")
        study = _wait_for_study(Path(study_dir))
        recipe = load_recipe(study.recipe_path)
    else:
        if recipe_path is None:
            raise RecipeError("expected a RECIPE, or --resume STUDY")
        source = str(recipe_path)
        recipe = load_recipe(recipe_path, overrides or [])
        if recipe.tune is None:
            raise RecipeError(
                f"{source}: tune: missing; add a tune section with a space to search",
                hint="see recipes/digits-tune.yaml",
            )
        recipe = _apply_cli(recipe, trials=trials, rounds=rounds, strategy=strategy)
        check_space(recipe, source)
        # opened first: a writer process imports MLflow and opens the store while the data is split
        store = open_study_store(track, recipe.tracking.uri)
        try:
            study = _new_study(recipe, source, Path(study_dir) if study_dir else None, store)
        except BaseException:
            if isinstance(store, QueuedStore):
                store.close(raise_error=False)
            raise
        return drive(study, recipe, track=track, on_event=on_event, role=role, store=store)
    return drive(study, recipe, track=track, on_event=on_event, role=role)


def refine(
    study_path: str | Path,
    *,
    rounds: int = 1,
    trials: int | None = None,
    track: bool = True,
    on_event: Callable[[TuneEvent], None] | None = None,
) -> TuneResult:
    """Add ``rounds`` coarse-to-fine rounds to a finished study; see :func:`dlkit.api.tune_refine`."""
    if rounds < 1:
        raise RecipeError(f"--rounds: expected at least 1 (got {rounds})")
    study = StudyDir.open(study_path)
    info = study.info()
    if info.get("status") not in ("FINISHED",):
        raise RecipeError(
            f"refine {study_path}: the study is {info.get('status')}, not finished",
            hint=f"finish it first: dlkit tune --resume {study_path}",
        )
    recipe = load_recipe(study.recipe_path)
    last = max(int(k) for k in info["round_specs"])
    study.update_info(rounds_planned=last + rounds, current_round=last + 1, refine_trials=trials)
    return drive(study, recipe, track=track, on_event=on_event, role="single")


def _wait_for_study(path: Path, timeout_s: float = 120.0) -> StudyDir:
    """A worker waits for the chief to create the study and its current round's run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (path / "study.json").is_file():
            info = StudyDir(path).info()
            k = info.get("current_round")
            if k and (not info.get("tracked", True) or str(k) in info.get("round_runs", {})):
                return StudyDir(path)
        time.sleep(0.5)
    raise RecipeError(
        f"--study {path}: no study appeared there within {timeout_s:.0f} s; start the chief first"
    )
