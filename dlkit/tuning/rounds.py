"""Drive a study: coarse-to-fine rounds, each narrowed around the last one's best trials, then finalise.

A study is one folder (:mod:`dlkit.tuning.study`) and one MLflow parent run; each round is a
child run with its own keras-tuner project (:mod:`dlkit.tuning.tuner`), and each trial a
grandchild. The split is made once per study and reused by every trial. Interrupting a study
leaves it resumable: the oracle's state is saved before a trial starts, so ``--resume`` re-runs
the interrupted trial under the same trial id and goes on with the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import yaml

from dlkit._tf_memory import frozen_heap
from dlkit.errors import DlkitError
from dlkit.recipe.schema import Recipe
from dlkit.tracking import NullStore, RunStore
from dlkit.tracking.queued import QueuedStore
from dlkit.training.pipeline import KeptModel, TrainingStreams
from dlkit.tuning._interrupts import Interrupts
from dlkit.tuning.checks import base_mapping
from dlkit.tuning.isolation import TrialWorker
from dlkit.tuning.result import RoundSummary, TuneEvent, TuneResult
from dlkit.tuning.space import Dimension, Narrowed, apply_values, dimensions, narrow, narrowed_space
from dlkit.tuning.spec import TuneSpec
from dlkit.tuning.study import StudyDir, TrialTable, best_of, load_study_data, now, rank
from dlkit.tuning.trial import StudyData


class StudyRunner:
    """One study in this process: a new study, a resumed one, or a distributed worker of one.

    Args:
        study: the study's folder (study.json written).
        recipe: the study's recipe (its tune section included).
        data: the study's data and split (:func:`~dlkit.tuning.study.load_study_data`).
        track: record in MLflow (when the study itself is tracked).
        on_event: called with every :class:`~dlkit.tuning.result.TuneEvent`.
        role: ``single``, or ``chief`` / ``worker`` of a distributed study.
        store: the study's store (:func:`open_study_store`), opened by the caller; None: opened
            here as the study's folder says.
    """

    def __init__(
        self,
        study: StudyDir,
        recipe: Recipe,
        data: StudyData,
        *,
        track: bool,
        on_event: Callable[[TuneEvent], None] | None,
        role: str = "single",
        store: RunStore | None = None,
    ) -> None:
        assert recipe.tune is not None
        self.study = study
        self.recipe = recipe
        self.tune: TuneSpec = recipe.tune
        self.base = base_mapping(recipe)
        self.data = data
        info = study.info()
        self.info = info
        self.objective: str = info["objective"]
        self.metric: str = info["optimize"]
        self.direction: str = info["direction"]
        self.constraints: dict[str, str] = info.get("constraints", {})
        self.experiment: str = info["experiment"]
        tracked = track and bool(info.get("tracked", True))
        self.store: RunStore = store or open_study_store(tracked, info.get("tracking_uri"))
        self.on_event = on_event
        self.role = role
        self.round = 0
        self.round_run_id: str | None = None
        self.dims: list[Dimension] = []
        self.interrupts = Interrupts()
        self.worker: TrialWorker | None = None
        self.streams = TrainingStreams()  # the trials' training pipelines, built once
        self.models = KeptModel()  # the last trial's model, for a trial that builds the same
        self.table = TrialTable(study, self.objective, self.direction)

    def emit(self, kind: str, **kwargs: Any) -> None:
        """Tell the live view what happened (a round or a trial started or ended)."""
        if self.on_event is not None:
            self.on_event(
                TuneEvent(
                    kind,
                    self.round,
                    self.info.get("rounds_planned", 1),
                    self.objective,
                    self.direction,
                    study=self.study.path,
                    study_name=self.info.get("name", ""),
                    **kwargs,
                )
            )

    def rewrite_table(self) -> None:
        self.table.write()

    def trial_worker(self) -> TrialWorker:
        """The worker process trials train in with ``tune.isolation: process`` (started on first use)."""
        if self.worker is None:
            self.worker = TrialWorker(self.study.path, self.tune.recycle_every)
        return self.worker

    # -- rounds ----------------------------------------------------------------------------

    def round_spec(self, k: int) -> TuneSpec:
        """Round ``k``'s tune section: the recipe's for round 1, a narrowed one after."""
        return TuneSpec.model_validate(self.info["round_specs"][str(k)])

    def start_round(self, k: int) -> None:
        """Create (or reopen) round ``k``'s MLflow child run."""
        self.round = k
        spec = self.round_spec(k)
        self.dims = dimensions(spec)
        rounds = self.info.setdefault("round_runs", {})
        run_id = rounds.get(str(k))
        if run_id is None and self.role != "worker":
            run_id = self.store.start_run(
                self.experiment,
                f"{self.info['name']}-round-{k}",
                {"dlkit.study": self.info["study_id"], "dlkit.kind": "round", "dlkit.round": str(k)},
                parent=self.info.get("run_id"),
            )
            self.store.log_params(
                run_id, {f"space.{d.path}": d.describe() for d in self.dims} | {"strategy": spec.strategy}
            )
            rounds[str(k)] = run_id
            self.info = self.study.update_info(round_runs=rounds, current_round=k)
        elif self.role != "worker":
            self.store.reopen(run_id)
            self.info = self.study.update_info(current_round=k)
        self.round_run_id = run_id

    def make_tuner(self, k: int) -> Any:
        """Round ``k``'s keras-tuner tuner (reloaded from its project folder when it exists)."""
        from dlkit.tuning.strategies import make_oracle
        from dlkit.tuning.tuner import StudyTuner

        spec = self.round_spec(k)
        seed = (spec.seed if spec.seed is not None else self.recipe.seed) + 1000 * (k - 1)
        oracle = make_oracle(
            spec,
            self.dims,
            objective=self.objective,
            direction=self.direction,
            seed=seed,
            train_epochs=self.recipe.train.epochs,
        )
        return StudyTuner(self, oracle, k)

    def run_round(self, k: int) -> RoundSummary:
        """Search round ``k`` to the end of its budget."""
        self.start_round(k)
        self.emit("round_start", space=[f"{d.path}: {d.describe()}" for d in self.dims])
        self.make_tuner(k).search()
        return self.summary(k)

    def summary(self, k: int, changes: list[Narrowed] | None = None) -> RoundSummary:
        """Round ``k`` as the result shows it: its space, trials, failures and best trial."""
        records = [r for r in self.study.records() if r.round == k]
        best = best_of(records, self.direction)
        return RoundSummary(
            k,
            [f"{d.path}: {d.describe()}" for d in dimensions(self.round_spec(k))],
            len(records),
            sum(r.status == "FAILED" for r in records),
            best.trial if best else None,
            changes or [],
        )

    def narrow_after(self, k: int) -> list[Narrowed]:
        """Round ``k + 1``'s space: every dimension narrowed around round ``k``'s best feasible trials."""
        spec = self.round_spec(k)
        records = rank([r for r in self.study.records() if r.round == k], self.direction)
        good = [r for r in records if r.status == "COMPLETED" and r.feasible][: spec.refine_top]
        finished = [r for r in records if r.status in ("COMPLETED", "FAILED")]
        if not good:
            raise DlkitError(
                f"study {self.study.path}: round {k} has no completed trial within the constraints "
                "to narrow around",
                hint="widen the space or relax metrics.satisfice, then start a new study",
            )
        changes = [
            narrow(
                dim,
                [r.values[dim.path] for r in good if dim.path in r.values],
                good[0].values.get(dim.path),
                spec.refine_margin,
                tried=[r.values[dim.path] for r in finished if dim.path in r.values],
            )
            for dim in dimensions(spec)
        ]
        new_spec = narrowed_space(spec, changes)
        specs = dict(self.info["round_specs"])
        specs[str(k + 1)] = new_spec.model_dump(mode="json", by_alias=True)
        narrowing = dict(self.info.get("narrowing", {}))
        narrowing[str(k + 1)] = [
            {"path": c.path, "old": c.old, "new": c.new, "shrink": c.shrink, "at_bound": c.at_bound}
            for c in changes
        ]
        self.info = self.study.update_info(round_specs=specs, narrowing=narrowing)
        return changes

    def finish_round(self, k: int, status: str = "FINISHED") -> None:
        """End round ``k``'s run, with its best objective and trial; the table holds every trial."""
        with contextlib.suppress(OSError):
            self.table.flush()
        run_id = self.info.get("round_runs", {}).get(str(k))
        records = [r for r in self.study.records() if r.round == k]
        best = best_of(records, self.direction)
        if best is not None and best.objective is not None:
            self.store.log_metrics(run_id, {f"best_{self.objective}": best.objective})
            self.store.set_tags(run_id, {"dlkit.best_trial": best.trial})
        self.store.finish(run_id, status)

    def all_dims(self) -> list[Dimension]:
        """Every dimension of the study (the first round's space: later ones are narrower)."""
        return dimensions(self.round_spec(1))


def open_study_store(track: bool, uri: str | None) -> RunStore:
    """A study's store: the MLflow store at ``uri`` when ``track``, else one that records nothing.

    Trials do not wait for its writes: one writer makes them, in order, as ``dlkit train``'s are
    made (:meth:`QueuedStore.open <dlkit.tracking.queued.QueuedStore.open>`): a writer process
    that imports MLflow itself, so that neither the import nor the writes run on the trials'
    interpreter (a thread where MLflow is imported here already). Nothing waits here: a store
    that cannot be reached fails the first call that needs an answer (starting a run).
    """
    return QueuedStore.open(uri) if track else NullStore()


def drive(
    study: StudyDir,
    recipe: Recipe,
    *,
    track: bool,
    on_event: Callable[[TuneEvent], None] | None,
    role: str,
    store: RunStore | None = None,
) -> TuneResult:
    """Run a study's rounds from where it stands (its ``current_round``), then finalise it.

    Args:
        study: a study folder made by :func:`dlkit.tuning.search.tune` (or being made by a chief).
        recipe: the study's recipe.
        track: record in MLflow.
        on_event: called with every :class:`~dlkit.tuning.result.TuneEvent`.
        role: ``single``, ``chief`` or ``worker``.
        store: the study's store, already open (:func:`open_study_store`; a new study's, which
            recorded its start); None: opened here as the study's folder says. Closed here.

    Returns:
        The study's result (a worker's: the study as it stands when its trials are done).

    Raises:
        DlkitError: more trials failed than ``tune.max_failures``, or a round left nothing to
            narrow around.
        KeyboardInterrupt: Ctrl-C; the study is marked KILLED and stays resumable.
    """
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    try:
        data = load_study_data(recipe, study)
    except BaseException:
        if isinstance(store, QueuedStore):
            store.close(raise_error=False)
        raise
    runner = StudyRunner(study, recipe, data, track=track, on_event=on_event, role=role, store=store)
    finished = False
    try:
        with runner.interrupts, frozen_heap():
            if role == "worker":
                k = int(runner.info["current_round"])
                runner.start_round(k)
                runner.make_tuner(k).search()
                runner.table.flush()
                result = _result(runner, [])
            else:
                result = _finalize(runner, _run_rounds(runner))
        finished = True
    finally:
        # an interrupted study too: no MLflow write unsent; its error is raised only where no
        # other exception (Ctrl-C) is on its way out
        if isinstance(runner.store, QueuedStore):
            runner.store.close(raise_error=finished)
        if runner.worker is not None:
            runner.worker.stop()
    return result


def _run_rounds(runner: StudyRunner) -> list[RoundSummary]:
    """Every round from the current one to ``rounds_planned``; the study's status on the way out."""
    study, info = runner.study, runner.info
    runner.store.reopen(info.get("run_id"))
    study.update_info(status="RUNNING")
    summaries: list[RoundSummary] = []
    status = "FAILED"
    k = int(info.get("current_round") or 1)
    try:
        while True:
            if str(k) not in runner.info["round_specs"]:
                changes = runner.narrow_after(k - 1)
                if runner.info.get("refine_trials") is not None:
                    specs = dict(runner.info["round_specs"])
                    specs[str(k)]["trials"] = runner.info["refine_trials"]
                    runner.info = study.update_info(round_specs=specs)
                if summaries:
                    summaries[-1].changes = changes
                else:  # the first round run here follows one finished earlier (refine, --resume)
                    summaries.append(runner.summary(k - 1, changes))
                runner.round = k - 1
                runner.emit("round_end", changes=changes, records=study.records())
            summaries.append(runner.run_round(k))
            runner.finish_round(k)
            if k >= int(runner.info.get("rounds_planned", 1)):
                break
            k += 1
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if status != "FINISHED":
            runner.finish_round(k, status)
            study.update_info(status=status, stopped=now())
            runner.store.finish(info.get("run_id"), status)
            with contextlib.suppress(Exception):
                runner.rewrite_table()
    runner.emit("round_end", records=study.records())
    return summaries


def _finalize(runner: StudyRunner, summaries: list[RoundSummary]) -> TuneResult:
    """Ranked table, plots, the best recipe, the best model logged; the study marked FINISHED."""
    from dlkit.tracking.mlflow_model import log_saved_model
    from dlkit.tuning.plots import plot_objective

    study, store = runner.study, runner.store
    runner.rewrite_table()
    records = study.records()
    best = best_of(records, runner.direction)
    info = runner.info
    run_id = info.get("run_id")
    plot_objective(records, runner.all_dims(), runner.objective, runner.direction, study.plots_dir)
    if best is not None:
        best_recipe = study.best_recipe_path
        data = apply_values(runner.base, best.values)
        header = (
            f"# Best configuration of study {info['name']}: trial {best.trial}, "
            f"{runner.objective} = {best.objective:.6g}\n# Train it with: dlkit train {best_recipe}\n"
        )
        best_recipe.write_text(
            header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        trial_dir = study.trial_dir(best.trial)
        for item in ("run.json", "recipe.yaml", "metrics.json", "history.csv"):
            store.log_artifact(best.run_id, trial_dir / item)
        for folder in ("model", "predictions", "split"):
            store.log_artifacts(best.run_id, trial_dir / folder, folder)
        log_saved_model(
            store, best.run_id, trial_dir / "model" / "model.keras", runner.data.data, runner.data.split
        )
        store.set_tags(run_id, {"dlkit.best_trial": best.trial, "dlkit.best_run_id": str(best.run_id)})
        store.log_metrics(
            run_id,
            {
                f"best_{runner.objective}": float(best.objective or 0.0),
                **{f"best_{k}": v for k, v in best.metrics.items()},
            },
        )
        store.log_artifact(run_id, best_recipe)
    for path in (study.table_csv, study.table_parquet):
        store.log_artifact(run_id, path)
    store.log_artifacts(run_id, study.plots_dir, "plots")
    store.finish(run_id, "FINISHED")
    runner.info = study.update_info(
        status="FINISHED", finished=now(), best_trial=best.trial if best else None
    )
    return _result(runner, summaries)


def _result(runner: StudyRunner, summaries: list[RoundSummary]) -> TuneResult:
    study = runner.study
    info = study.info()
    records = study.records()
    return TuneResult(
        study_dir=study.path,
        name=info["name"],
        status=info.get("status", "RUNNING"),
        run_id=info.get("run_id"),
        tracking_uri=runner.store.uri,
        experiment=runner.experiment,
        objective=runner.objective,
        direction=runner.direction,
        constraints=runner.constraints,
        ranked=rank(records, runner.direction),
        rounds=summaries,
        best=best_of(records, runner.direction),
        best_recipe=study.best_recipe_path if study.best_recipe_path.exists() else None,
        table_csv=study.table_csv,
        table_parquet=study.table_parquet,
        plots=sorted(study.plots_dir.glob("*.png")),
        log_dims={d.path: d.log_scale for d in runner.all_dims()},
    )
