"""Run a study: keras-tuner oracles choose the values, dlkit trains each trial, MLflow records it.

A study is one folder (:mod:`dlkit.tuning.study`) and one MLflow parent run; each coarse-to-fine
round is a child run with its own keras-tuner project, and each trial a grandchild. The split is
made once per study and reused by every trial. Interrupting a study leaves it resumable: the
oracle's state is saved before a trial starts, so ``--resume`` re-runs the interrupted trial
under the same trial id and goes on with the rest.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dlkit import __version__
from dlkit._tf_memory import frozen_heap
from dlkit.analysis.satisficing import check_satisficing
from dlkit.errors import DlkitError, RecipeError
from dlkit.recipe.loader import load_recipe, validate_recipe
from dlkit.recipe.schema import Recipe
from dlkit.rundir import RunDir, write_json
from dlkit.tracking import open_store
from dlkit.tuning.isolation import TrialWorker
from dlkit.tuning.space import (
    Dimension,
    Narrowed,
    apply_values,
    decode_values,
    dimensions,
    narrow,
    narrowed_space,
    sample_configurations,
    searchable,
)
from dlkit.tuning.spec import TuneSpec
from dlkit.tuning.study import StudyDir, TrialRecord, best_of, direction_of, rank
from dlkit.tuning.trial import StudyData, TrialFailed, TrialOutcome, train_trial

log = logging.getLogger(__name__)

MEASURES = ("params", "latency_ms", "model_size_mb")


@dataclass
class TuneEvent:
    """What happened in a study, for a live view.

    ``kind`` is one of: round_start, trial_start, trial_end, round_end.
    """

    kind: str
    round: int
    rounds: int
    objective: str
    direction: str
    trial: TrialRecord | None = None
    records: list[TrialRecord] = field(default_factory=list)
    space: list[str] = field(default_factory=list)
    changes: list[Narrowed] = field(default_factory=list)


@dataclass
class RoundSummary:
    """One finished round and how it narrowed the space for the next."""

    round: int
    space: list[str]
    n_trials: int
    n_failed: int
    best: str | None
    changes: list[Narrowed] = field(default_factory=list)


@dataclass
class TuneResult:
    """A finished (or stopped) study."""

    study_dir: Path
    name: str
    status: str
    run_id: str | None
    tracking_uri: str | None
    experiment: str
    objective: str
    direction: str
    constraints: dict[str, str]
    ranked: list[TrialRecord]
    rounds: list[RoundSummary]
    best: TrialRecord | None
    best_recipe: Path | None
    table_csv: Path
    table_parquet: Path
    plots: list[Path]
    log_dims: dict[str, bool]


# -- checking a study's recipe -----------------------------------------------------------------


def _base_mapping(recipe: Recipe) -> dict[str, Any]:
    """The recipe as written (defaults left out), without its tune section: what trials change."""
    base = recipe.model_dump(mode="json", exclude_unset=True, by_alias=True)
    base.pop("tune", None)
    return base


def _error_lines(exc: RecipeError, source: str, path: str, value: Any) -> list[str]:
    lines = []
    for line in exc.lines:
        body = line.removeprefix(f"{source}: ")
        where, _, message = body.partition(": ")
        if where == path:
            lines.append(f"{source}: tune.space.{path}: {message}")
        else:
            lines.append(f"{source}: tune.space.{path}: with {path} = {value!r}, {where}: {message}")
    return lines


def check_space(recipe: Recipe, source: str) -> list[Dimension]:
    """Refuse a space that cannot work, before any training: every path, value and condition.

    Each dimension's bounds (or each of its choices) is applied to the recipe and validated by
    the schema, so a misspelt path gets the schema's did-you-mean; then a sample of whole
    configurations is validated the same way.

    Raises:
        RecipeError: one line per problem, naming ``tune.space.<path>``.
    """
    assert recipe.tune is not None
    base = _base_mapping(recipe)
    problems: list[str] = []
    try:
        dims = dimensions(recipe.tune)
    except ValueError as exc:
        raise RecipeError(f"{source}: tune.space: {exc}") from None
    by_path = {d.path: d for d in dims}
    for dim in dims:
        if not searchable(dim.path):
            problems.append(
                f"{source}: tune.space.{dim.path}: not searchable: a study keeps the data, split, metrics "
                "and tracking fixed (searchable: model.*, train.*, seed, data.normalize)"
            )
            continue
        parents: dict[str, Any] = {}
        for parent, wanted in (dim.spec.when or {}).items():
            options = wanted if isinstance(wanted, list) else [wanted]
            owner = by_path.get(parent)
            if owner is None or owner.kind != "choice":
                problems.append(
                    f"{source}: tune.space.{dim.path}.when: {parent}: expected a choice dimension of the "
                    f"space (choices: {', '.join(d.path for d in dims if d.kind == 'choice') or 'none'})"
                )
                continue
            missing = [o for o in options if o not in owner.choices]
            if missing:
                problems.append(
                    f"{source}: tune.space.{dim.path}.when: {parent}: {missing} not among its choices "
                    f"{owner.choices}"
                )
            parents[parent] = options[0]
        candidates = dim.choices if dim.kind == "choice" else list(dim.grid(2))
        for value in candidates:
            try:
                validate_recipe(apply_values(base, {**parents, dim.path: value}), source, Path.cwd())
            except ValueError as exc:
                problems.append(f"{source}: tune.space.{dim.path}: {exc}")
                break
            except RecipeError as exc:
                problems.extend(_error_lines(exc, source, dim.path, value))
                break
    if not problems:
        seed = recipe.tune.seed if recipe.tune.seed is not None else recipe.seed
        for values in sample_configurations(dims, 20, seed):
            try:
                validate_recipe(apply_values(base, values), source, Path.cwd())
            except (RecipeError, ValueError) as exc:
                message = exc.lines[0] if isinstance(exc, RecipeError) else str(exc)
                problems.append(
                    f"{source}: tune.space: the sampled configuration {values} is not a valid recipe: "
                    f"{message.removeprefix(source + ': ')}"
                )
                break
    if problems:
        raise RecipeError("\n".join(dict.fromkeys(problems)))
    return dims


def _check_metrics(recipe: Recipe, task_name: str, source: str) -> tuple[str, dict[str, str]]:
    from dlkit.tasks import task_for

    task = task_for(task_name)
    available = task.set_metrics
    metric = recipe.metrics.optimize or task.default_metric
    if metric not in available:
        from dlkit._naming import did_you_mean

        raise RecipeError(
            f"{source}: metrics.optimize: expected a dev-set metric of a {task_name} model "
            f"({', '.join(available)}) (got {metric!r}).{did_you_mean(metric, list(available))}"
        )
    for name in recipe.metrics.satisfice:
        if name not in MEASURES and name not in available:
            raise RecipeError(
                f"{source}: metrics.satisfice.{name}: not measured per trial; expected one of "
                f"{', '.join((*MEASURES, *available))}"
            )
    return metric, dict(recipe.metrics.satisfice)


# -- the study ---------------------------------------------------------------------------------


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _load_study_data(recipe: Recipe, study: StudyDir) -> StudyData:
    """The study's data, loaded and split as ``dlkit train`` does, checked against the stored split
    (the same examples in every trial and worker)."""
    from dlkit.data.prepare import check_same_split, split_recipe

    outcome = split_recipe(recipe)
    check_same_split(f"study {study.path}", outcome, study.info().get("content_hash"), study.manifest_path)
    return outcome


class _Interrupts:
    """Ctrl-C that cannot be lost: Python drops a KeyboardInterrupt raised inside a garbage-collector
    callback ("Exception ignored in ..."), so the request is also remembered and raised again at the
    next epoch or trial boundary."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        raise KeyboardInterrupt

    def check(self, *_: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """keras-tuner prints ("Reloading Tuner from ...") on stdout; dlkit's CLI owns stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class _Study:
    """One study in this process: a new study, a resumed one, or a distributed worker of one."""

    def __init__(
        self,
        study: StudyDir,
        recipe: Recipe,
        *,
        track: bool,
        on_event: Callable[[TuneEvent], None] | None,
        role: str = "single",
    ) -> None:
        assert recipe.tune is not None
        self.study = study
        self.recipe = recipe
        self.tune: TuneSpec = recipe.tune
        self.base = _base_mapping(recipe)
        self.source = str(study.recipe_path)
        info = study.info()
        self.info = info
        self.objective: str = info["objective"]
        self.metric: str = info["optimize"]
        self.direction: str = info["direction"]
        self.constraints: dict[str, str] = info.get("constraints", {})
        self.experiment: str = info["experiment"]
        self.tracking = open_store(track and bool(info.get("tracked", True)), info.get("tracking_uri"))
        self.on_event = on_event
        self.role = role
        self.tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
        self.data: StudyData | None = None
        self.round = 0
        self.round_run_id: str | None = None
        self.dims: list[Dimension] = []
        self.interrupts = _Interrupts()
        self.worker: TrialWorker | None = None

    # -- events and records ----------------------------------------------------------------

    def emit(self, kind: str, **kwargs: Any) -> None:
        if self.on_event is not None:
            self.on_event(
                TuneEvent(
                    kind,
                    self.round,
                    self.info.get("rounds_planned", 1),
                    self.objective,
                    self.direction,
                    **kwargs,
                )
            )

    def rewrite_table(self) -> None:
        self.study.write_table(self.objective, self.direction)

    # -- one trial -------------------------------------------------------------------------

    def run_trial(self, trial: Any) -> dict[str, float]:
        """keras-tuner's ``run_trial``: train one configuration, record it, return the objective."""
        self.interrupts.check()
        hp_values = dict(trial.hyperparameters.values)
        values = decode_values(self.dims, trial.hyperparameters)
        name = f"r{self.round}-t{trial.trial_id}"
        folder = self.study.trial_dir(name)
        if folder.exists():  # an interrupted attempt of this trial: start it again, cleanly
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        record = TrialRecord(name, self.round, str(trial.trial_id), "RUNNING", values, tuner=self.tuner_id)
        budget = hp_values.get("tuner/epochs")
        initial = int(hp_values.get("tuner/initial_epoch", 0) or 0)
        parent_trial = hp_values.get("tuner/trial_id")
        tags = {"dlkit.study": self.info["study_id"], "dlkit.trial": name}
        run_id = self.tracking.find_run(self.experiment, tags)
        if run_id is None:
            run_id = self.tracking.start_run(
                self.experiment,
                name,
                {
                    **tags,
                    "dlkit.kind": "trial",
                    "dlkit.run_dir": str(folder.resolve()),
                    "dlkit.version": __version__,
                },
                parent=self.round_run_id,
            )
        else:
            self.tracking.reopen(run_id)
        record.run_id = run_id
        self.study.write_record(record)
        self.emit("trial_start", trial=record)
        params: dict[str, Any] = {**values, "trial": name, "round": self.round}
        if budget is not None:
            params.update({"hyperband.epochs": budget, "hyperband.initial_epoch": initial})
        self.tracking.log_params(run_id, params)
        started = time.perf_counter()
        status = "FAILED"
        try:
            recipe = self._trial_recipe(values, name)
            epochs = None if budget is None else max(1, int(budget) - initial)
            warm = None
            if parent_trial is not None:
                warm = self.study.trial_dir(f"r{self.round}-t{parent_trial}") / "model" / "model.keras"
            run = self._prepare_run(folder, recipe, name, run_id)
            assert self.data is not None
            measure = tuple(n for n in self.constraints if n in MEASURES)
            if self.tune.isolation == "process":
                outcome = self.trial_worker().train(
                    recipe.model_dump(mode="json", by_alias=True, exclude_unset=True),
                    f"trial {name}",
                    folder,
                    epochs=epochs,
                    warm_start=warm,
                    measure=measure,
                    check=self.interrupts.check,
                )
            else:
                outcome = train_trial(
                    recipe,
                    self.data,
                    run,
                    epochs=epochs,
                    warm_start=warm,
                    measure=measure,
                    on_epoch=self.interrupts.check,
                )
            self._complete(record, outcome, run)
            status = "FINISHED"
        except TrialFailed as exc:
            record.status, record.reason = "FAILED", exc.message
        except KeyboardInterrupt:
            record.status, record.reason, status = "KILLED", "interrupted", "KILLED"
            raise
        except DlkitError as exc:
            record.status, record.reason = "FAILED", exc.message
        except Exception as exc:  # a trial's crash must not end the search; its reason is kept
            log.debug("trial %s failed", name, exc_info=True)
            record.status, record.reason = "FAILED", f"{type(exc).__name__}: {exc}"
        finally:
            import keras

            # the trial's model and graphs are unreachable now; free them (gc) before the next trial
            keras.backend.clear_session(free_memory=True)
            record.duration_s = time.perf_counter() - started
            self.study.write_record(record)
            if record.status == "FAILED":
                self.tracking.set_tags(run_id, {"dlkit.failure_reason": record.reason[:5000]})
            self.tracking.finish(run_id, status)
            with contextlib.suppress(OSError):
                self.rewrite_table()
            self.emit("trial_end", trial=record, records=self.study.records())
        if record.status == "FAILED":
            import keras_tuner

            raise keras_tuner.errors.FailedTrialError(record.reason)
        assert record.objective is not None
        return {self.objective: record.objective}

    def trial_worker(self) -> TrialWorker:
        """The worker process trials train in with ``tune.isolation: process`` (started on first use)."""
        if self.worker is None:
            self.worker = TrialWorker(self.study.path, self.tune.recycle_every)
        return self.worker

    def _trial_recipe(self, values: dict[str, Any], name: str) -> Recipe:
        try:
            data = apply_values(self.base, values)
        except ValueError as exc:
            raise TrialFailed(f"cannot apply the sampled values: {exc}") from None
        data.setdefault("tracking", {})
        try:
            return validate_recipe(data, f"trial {name}", Path.cwd())
        except RecipeError as exc:
            raise TrialFailed(
                f"the sampled configuration is not a valid recipe: {'; '.join(exc.lines)}"
            ) from None

    def _prepare_run(self, folder: Path, recipe: Recipe, name: str, run_id: str | None) -> RunDir:
        assert self.data is not None
        run = RunDir(folder)
        data = self.data.data
        run.update_info(
            run_name=name,
            status="RUNNING",
            started=_now(),
            dlkit_version=__version__,
            recipe_name=recipe.name,
            experiment=self.experiment,
            task=data.task,
            kind=data.kind,
            classes=data.classes,
            input_shape=list(data.input_shape),
            feature_names=data.feature_names,
            metadata_columns=[str(c) for c in data.metadata.columns],
            optimize=self.metric,
            human_error=recipe.targets.human_error,
            split_sizes=self.data.split.sizes(),
            content_hash=data.content_hash,
            run_id=run_id,
            tracking_uri=self.tracking.uri,
            study=str(self.study.path.resolve()),
        )
        run.recipe_path.write_text(_recipe_yaml(recipe), encoding="utf-8")
        run.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.study.manifest_path, run.manifest_path)
        shutil.copy(self.study.split_summary_path, run.split_summary_path)
        return run

    def _complete(self, record: TrialRecord, outcome: TrialOutcome, run: RunDir) -> None:
        dev = outcome.metrics["dev"]
        record.objective = float(dev[self.metric])
        record.metrics = {
            f"{s}_{k}": float(v) for s, m in outcome.metrics.items() for k, v in m.items() if k != "n"
        }
        record.measured = dict(outcome.measured)
        record.n_params = outcome.n_params
        record.epochs = outcome.epochs_run
        measured: dict[str, float | None] = {**{k: float(v) for k, v in dev.items()}, **outcome.measured}
        checks = check_satisficing(self.constraints, measured)
        record.violations = [
            f"{c.name} {c.value:.4g} violates {c.constraint}" for c in checks if c.met is False
        ]
        record.feasible = not record.violations
        record.status = "COMPLETED"
        run.update_info(
            status="FINISHED",
            finished=_now(),
            n_params=outcome.n_params,
            epochs_run=outcome.epochs_run,
            objective=record.objective,
            feasible=record.feasible,
        )
        self.tracking.log_metrics(
            record.run_id,
            {
                **record.metrics,
                **record.measured,
                "n_params": outcome.n_params,
                "feasible": float(record.feasible),
            },
        )
        for row_epoch, row in enumerate(outcome.history, start=1):
            self.tracking.log_metrics(record.run_id, row, step=row_epoch)

    # -- rounds ----------------------------------------------------------------------------

    def _round_spec(self, k: int) -> TuneSpec:
        entry = self.info["round_specs"][str(k)]
        return TuneSpec.model_validate(entry)

    def start_round(self, k: int) -> None:
        """Create (or reopen) round ``k``'s MLflow child run."""
        self.round = k
        spec = self._round_spec(k)
        self.dims = dimensions(spec)
        rounds = self.info.setdefault("round_runs", {})
        run_id = rounds.get(str(k))
        if run_id is None and self.role != "worker":
            run_id = self.tracking.start_run(
                self.experiment,
                f"{self.info['name']}-round-{k}",
                {"dlkit.study": self.info["study_id"], "dlkit.kind": "round", "dlkit.round": str(k)},
                parent=self.info.get("run_id"),
            )
            self.tracking.log_params(
                run_id, {f"space.{d.path}": d.describe() for d in self.dims} | {"strategy": spec.strategy}
            )
            rounds[str(k)] = run_id
            self.info = self.study.update_info(round_runs=rounds, current_round=k)
        elif self.role != "worker":
            self.tracking.reopen(run_id)
            self.info = self.study.update_info(current_round=k)
        self.round_run_id = run_id

    def make_tuner(self, k: int) -> Any:
        from keras_tuner.src.engine.base_tuner import BaseTuner

        from dlkit.tuning.strategies import make_oracle

        spec = self._round_spec(k)
        seed = (spec.seed if spec.seed is not None else self.recipe.seed) + 1000 * (k - 1)
        oracle = make_oracle(
            spec,
            self.dims,
            objective=self.objective,
            direction=self.direction,
            seed=seed,
            train_epochs=self.recipe.train.epochs,
        )
        study = self

        class StudyTuner(BaseTuner):  # type: ignore[misc]
            """A keras-tuner tuner whose trials are dlkit trainings."""

            def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
                return study.run_trial(trial)

            def on_trial_end(self, trial: Any) -> None:
                super().on_trial_end(trial)
                study.check_failure_budget()
                study.interrupts.check()

            def save_model(self, trial_id: Any, model: Any, step: int = 0) -> None:
                pass  # each trial's run directory holds its model

            def search(self, *args: Any, **kwargs: Any) -> None:
                from keras_tuner.src.distribute import utils as dist_utils

                if dist_utils.is_chief_oracle():
                    self.save()
                    _serve_oracle(self.oracle, study.interrupts)
                    return
                super().search(*args, **kwargs)

        with _quiet_stdout():
            tuner = StudyTuner(oracle, directory=str(self.study.rounds_dir), project_name=f"round-{k}")
        oracle.verbose = 0
        return tuner

    def check_failure_budget(self) -> None:
        failed = [r for r in self.study.records() if r.status == "FAILED"]
        budget = self.tune.max_failures
        if len(failed) > budget:
            raise DlkitError(
                f"study {self.study.path}: {len(failed)} trials failed, more than "
                f"tune.max_failures = {budget}; "
                f"last: {failed[-1].trial}: {failed[-1].reason}",
                hint="fix the space (see the reason column of trials.csv), then --resume, "
                "or raise tune.max_failures",
            )

    def run_round(self, k: int) -> RoundSummary:
        self.start_round(k)
        self.emit("round_start", space=[f"{d.path}: {d.describe()}" for d in self.dims])
        tuner = self.make_tuner(k)
        tuner.search()
        records = [r for r in self.study.records() if r.round == k]
        best = best_of(records, self.direction)
        summary = RoundSummary(
            k,
            [f"{d.path}: {d.describe()}" for d in self.dims],
            len(records),
            sum(r.status == "FAILED" for r in records),
            best.trial if best else None,
        )
        return summary

    def narrow_after(self, k: int) -> list[Narrowed]:
        """Round ``k + 1``'s space: every dimension narrowed around round ``k``'s best feasible trials."""
        spec = self._round_spec(k)
        records = rank([r for r in self.study.records() if r.round == k], self.direction)
        good = [r for r in records if r.status == "COMPLETED" and r.feasible][: spec.refine_top]
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
        run_id = self.info.get("round_runs", {}).get(str(k))
        records = [r for r in self.study.records() if r.round == k]
        best = best_of(records, self.direction)
        if best is not None and best.objective is not None:
            self.tracking.log_metrics(run_id, {f"best_{self.objective}": best.objective})
            self.tracking.set_tags(run_id, {"dlkit.best_trial": best.trial})
        self.tracking.finish(run_id, status)


def _serve_oracle(oracle: Any, interrupts: _Interrupts, poll_s: float = 0.5) -> None:
    """Serve the oracle to the workers until the search is over and every worker has left.

    keras-tuner's own chief loop (``oracle_chief.start_server``) checks every 20 s, once the
    search is over, whether the last workers have finished; this one checks every ``poll_s``.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer, exit_chief

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}")
    server.start()
    try:
        while not (servicer.stop_triggered and exit_chief(oracle)):
            interrupts.check()
            time.sleep(poll_s)
    finally:
        server.stop(grace=1.0)


def _recipe_yaml(recipe: Recipe) -> str:
    data = recipe.model_dump(mode="json", by_alias=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# -- public entry points -----------------------------------------------------------------------


def _new_study(recipe: Recipe, source: str, study_dir: Path | None, track: bool) -> StudyDir:
    assert recipe.tune is not None
    from dlkit.data.prepare import split_recipe
    from dlkit.data.summary import write_split_files

    # the study's examples are `dlkit train`'s: same columns, split, corrections and vocabulary
    outcome = split_recipe(recipe)
    data, split = outcome.data, outcome.split
    metric, constraints = _check_metrics(recipe, data.task, source)
    runs_dir = Path(recipe.tracking.runs_dir)
    name = f"{recipe.name}-study-{_stamp()}"
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
    study.recipe_path.write_text(_recipe_yaml(recipe), encoding="utf-8")
    tracking = open_store(track, recipe.tracking.uri)
    experiment = recipe.tracking.experiment or recipe.name
    study_id = f"{name}-{os.getpid()}-{time.time_ns()}"
    rounds_planned = recipe.tune.rounds
    study.update_info(
        name=name,
        study_id=study_id,
        status="RUNNING",
        started=_now(),
        dlkit_version=__version__,
        recipe_name=recipe.name,
        experiment=experiment,
        tracked=track,
        tracking_uri=tracking.uri,
        task=data.task,
        content_hash=data.content_hash,
        split_sizes=split.sizes(),
        split_rule=split.rule,
        optimize=metric,
        objective=f"dev_{metric}",
        direction=direction_of(metric),
        constraints=constraints,
        strategy=recipe.tune.strategy,
        rounds_planned=rounds_planned,
        round_specs={"1": recipe.tune.model_dump(mode="json", by_alias=True)},
        round_runs={},
    )
    run_id = tracking.start_run(
        experiment,
        name,
        {
            "dlkit.study": study_id,
            "dlkit.kind": "study",
            "dlkit.run_dir": str(path.resolve()),
            "dlkit.version": __version__,
        },
    )
    tracking.log_params(
        run_id,
        {
            "strategy": recipe.tune.strategy,
            "trials_per_round": recipe.tune.trials,
            "rounds": rounds_planned,
            "objective": f"dev_{metric}",
            "direction": direction_of(metric),
            **{f"satisfice.{k}": v for k, v in constraints.items()},
            **{f"space.{d.path}": d.describe() for d in dimensions(recipe.tune)},
            "data.content_hash": data.content_hash,
            **{f"data.n_{k}": v for k, v in split.sizes().items()},
        },
    )
    study.update_info(run_id=run_id)
    tracking.log_artifact(run_id, study.recipe_path)
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
        study = _new_study(recipe, source, Path(study_dir) if study_dir else None, track)
    return _drive(study, recipe, track=track, on_event=on_event, role=role)


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
    return _drive(study, recipe, track=track, on_event=on_event, role="single")


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


def _drive(
    study: StudyDir,
    recipe: Recipe,
    *,
    track: bool,
    on_event: Callable[[TuneEvent], None] | None,
    role: str,
) -> TuneResult:
    from dlkit._tf import import_tensorflow

    import_tensorflow()
    runner = _Study(study, recipe, track=track, on_event=on_event, role=role)
    runner.data = _load_study_data(recipe, study)
    try:
        with runner.interrupts, frozen_heap():
            return _drive_rounds(runner, study, role)
    finally:
        if runner.worker is not None:
            runner.worker.stop()


def _drive_rounds(runner: _Study, study: StudyDir, role: str) -> TuneResult:
    info = runner.info
    if role == "worker":
        k = int(info["current_round"])
        runner.start_round(k)
        runner.make_tuner(k).search()
        return _result(runner, [])
    runner.tracking.reopen(info.get("run_id"))
    study.update_info(status="RUNNING")
    summaries: list[RoundSummary] = []
    status = "FAILED"
    k = int(info.get("current_round") or 1)
    try:
        while True:
            specs = runner.info["round_specs"]
            if str(k) not in specs:
                changes = runner.narrow_after(k - 1)
                if runner.info.get("refine_trials") is not None:
                    specs = dict(runner.info["round_specs"])
                    specs[str(k)]["trials"] = runner.info["refine_trials"]
                    runner.info = study.update_info(round_specs=specs)
                if summaries:
                    summaries[-1].changes = changes
                else:
                    summaries.append(_summary_of(runner, k - 1, changes))
                runner.round = k - 1
                runner.emit("round_end", changes=changes, records=study.records())
            summary = runner.run_round(k)
            runner.finish_round(k)
            summaries.append(summary)
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
            study.update_info(status=status, stopped=_now())
            runner.tracking.finish(info.get("run_id"), status)
            with contextlib.suppress(Exception):
                runner.rewrite_table()
    runner.emit("round_end", records=study.records())
    return _finalize(runner, summaries)


def _summary_of(runner: _Study, k: int, changes: list[Narrowed]) -> RoundSummary:
    records = [r for r in runner.study.records() if r.round == k]
    best = best_of(records, runner.direction)
    spec = runner._round_spec(k)
    return RoundSummary(
        k,
        [f"{d.path}: {d.describe()}" for d in dimensions(spec)],
        len(records),
        sum(r.status == "FAILED" for r in records),
        best.trial if best else None,
        changes,
    )


def _finalize(runner: _Study, summaries: list[RoundSummary]) -> TuneResult:
    """Ranked table, plots, the best recipe, the best model logged; the study marked FINISHED."""
    from dlkit.tuning.plots import plot_objective

    study, tracking = runner.study, runner.tracking
    runner.rewrite_table()
    records = study.records()
    best = best_of(records, runner.direction)
    info = runner.info
    run_id = info.get("run_id")
    plots = plot_objective(records, _all_dims(runner), runner.objective, runner.direction, study.plots_dir)
    best_recipe = None
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
            tracking.log_artifact(best.run_id, trial_dir / item)
        for folder in ("model", "predictions", "split"):
            tracking.log_artifacts(best.run_id, trial_dir / folder, folder)
        tracking.set_tags(run_id, {"dlkit.best_trial": best.trial, "dlkit.best_run_id": str(best.run_id)})
        tracking.log_metrics(
            run_id,
            {
                f"best_{runner.objective}": float(best.objective or 0.0),
                **{f"best_{k}": v for k, v in best.metrics.items()},
            },
        )
        tracking.log_artifact(run_id, best_recipe)
    for path in (study.table_csv, study.table_parquet):
        tracking.log_artifact(run_id, path)
    tracking.log_artifacts(run_id, study.plots_dir, "plots")
    tracking.finish(run_id, "FINISHED")
    study.update_info(status="FINISHED", finished=_now(), best_trial=best.trial if best else None)
    runner.info = study.info()
    result = _result(runner, summaries)
    result.plots = plots
    result.best_recipe = best_recipe
    return result


def _all_dims(runner: _Study) -> list[Dimension]:
    """Every dimension of the study (the first round's space: later ones are narrower)."""
    return dimensions(runner._round_spec(1))


def _result(runner: _Study, summaries: list[RoundSummary]) -> TuneResult:
    info = runner.study.info()
    records = runner.study.records()
    return TuneResult(
        study_dir=runner.study.path,
        name=info["name"],
        status=info.get("status", "RUNNING"),
        run_id=info.get("run_id"),
        tracking_uri=runner.tracking.uri,
        experiment=runner.experiment,
        objective=runner.objective,
        direction=runner.direction,
        constraints=runner.constraints,
        ranked=rank(records, runner.direction),
        rounds=summaries,
        best=best_of(records, runner.direction),
        best_recipe=runner.study.best_recipe_path if runner.study.best_recipe_path.exists() else None,
        table_csv=runner.study.table_csv,
        table_parquet=runner.study.table_parquet,
        plots=sorted(runner.study.plots_dir.glob("*.png")),
        log_dims={d.path: d.log_scale for d in _all_dims(runner)},
    )
