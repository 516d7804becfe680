"""The keras-tuner Tuner of a study: every trial keras-tuner asks for is trained by dlkit.

A round's oracle (:mod:`dlkit.tuning.strategies`) chooses the values; :class:`StudyTuner` turns
them into a trial recipe, trains it through ``dlkit train``'s pipeline
(:func:`dlkit.tuning.trial.train_trial`, in this process or a worker process), writes its run
directory and record, and logs its MLflow run under the round's run. A failed trial is recorded
and the search goes on, up to ``tune.max_failures`` for the whole study.

This module imports keras-tuner (and so TensorFlow) when imported: :mod:`dlkit.tuning.rounds`
imports it once TensorFlow is up.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras_tuner
from keras_tuner.src import config as keras_tuner_config
from keras_tuner.src.engine.base_tuner import BaseTuner

from dlkit import __version__
from dlkit.analysis.satisficing import check_satisficing
from dlkit.errors import DlkitError, RecipeError, TrackingError
from dlkit.recipe.loader import validate_recipe
from dlkit.recipe.schema import Recipe
from dlkit.rundir import RunDir
from dlkit.tracking.queued import start_run_later
from dlkit.training.trainer import record_run_info
from dlkit.tuning.checks import MEASURES
from dlkit.tuning.space import apply_values, decode_values
from dlkit.tuning.study import TrialRecord, now
from dlkit.tuning.trial import TrialFailed, TrialOutcome, train_trial

if TYPE_CHECKING:
    from dlkit.tuning._interrupts import Interrupts
    from dlkit.tuning.rounds import StudyRunner

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """keras-tuner prints ("Reloading Tuner from ...") on stdout; dlkit's CLI owns stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class StudyTuner(BaseTuner):  # type: ignore[misc]  # keras-tuner ships no type hints
    """A keras-tuner tuner whose trials are dlkit trainings; one per round of a study.

    Args:
        runner: the study in this process (its folder, data, round, tracking and interrupts).
        oracle: the round's oracle.
        k: the round; its keras-tuner project is ``rounds/round-<k>`` (what ``--resume`` reloads).
    """

    def __init__(self, runner: StudyRunner, oracle: Any, k: int) -> None:
        self.runner = runner
        # keras-tuner prints the traceback of every failed trial on stderr (its DEBUG is on by
        # default); a failed trial is an expected event, recorded with its reason in one line
        keras_tuner_config.DEBUG = False
        with _quiet_stdout():
            super().__init__(oracle, directory=str(runner.study.rounds_dir), project_name=f"round-{k}")
        oracle.verbose = 0

    # -- keras-tuner's hooks ---------------------------------------------------------------

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        """Train one configuration, record it, return the objective.

        Raises:
            keras_tuner.errors.FailedTrialError: the trial failed (its record says why).
        """
        runner = self.runner
        runner.interrupts.check()
        hp_values = dict(trial.hyperparameters.values)
        values = decode_values(runner.dims, trial.hyperparameters)
        name = f"r{runner.round}-t{trial.trial_id}"
        folder = runner.study.trial_dir(name)
        retried = folder.exists()
        if retried:  # an interrupted attempt of this trial: start it again, cleanly
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        record = TrialRecord(name, runner.round, str(trial.trial_id), "RUNNING", values, tuner=self.tuner_id)
        budget = hp_values.get("tuner/epochs")
        initial = int(hp_values.get("tuner/initial_epoch", 0) or 0)
        parent_trial = hp_values.get("tuner/trial_id")
        params: dict[str, Any] = {**values, "trial": name, "round": runner.round}
        if budget is not None:
            params.update({"hyperband.epochs": budget, "hyperband.initial_epoch": initial})
        mlflow_run = _TrialRun(self._trial_run(name, folder, retried), params, record, runner)
        runner.study.write_record(record)
        runner.emit("trial_start", trial=record)
        started = time.perf_counter()
        status = "FAILED"
        run: RunDir | None = None
        try:
            recipe = self._trial_recipe(values, name)
            epochs = None if budget is None else max(1, int(budget) - initial)
            warm = None
            if parent_trial is not None:  # a Hyperband promotion goes on from its parent's weights
                warm = runner.study.trial_dir(f"r{runner.round}-t{parent_trial}") / "model" / "model.keras"
            run = self._prepare_run(folder, recipe, name)
            outcome = self._train(recipe, name, run, epochs, warm, mlflow_run)
            mlflow_run.take(run)
            self._complete(record, outcome, run)
            status = "FINISHED"
        except TrialFailed as exc:
            record.status, record.reason = "FAILED", exc.message
        except KeyboardInterrupt:
            record.status, record.reason, status = "KILLED", "interrupted", "KILLED"
            raise
        except TrackingError as exc:  # the store, not the trial: the study stops (--resume reruns it)
            record.status, record.reason, status = "KILLED", exc.message, "KILLED"
            raise
        except DlkitError as exc:
            record.status, record.reason = "FAILED", exc.message
        except Exception as exc:  # a trial's crash must not end the search; its reason is kept
            log.debug("trial %s failed", name, exc_info=True)
            record.status, record.reason = "FAILED", f"{type(exc).__name__}: {exc}"
        finally:
            # the trial's model and graphs are collected (gc) when the next trial's runtime
            # clears the Keras session: one clear and one full collection a trial
            record.duration_s = time.perf_counter() - started
            with contextlib.suppress(TrackingError):  # raised above already, where it came from
                mlflow_run.take(run)
            runner.study.write_record(record)
            if record.status == "FAILED" and record.run_id is not None:
                runner.store.set_tags(record.run_id, {"dlkit.failure_reason": record.reason[:5000]})
            runner.store.finish(record.run_id, status)
            with contextlib.suppress(OSError):
                runner.table.after_trial()
            runner.emit("trial_end", trial=record, records=runner.study.records())
        if record.status == "FAILED":
            raise keras_tuner.errors.FailedTrialError(record.reason)
        assert record.objective is not None
        return {runner.objective: record.objective}

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)
        self._check_failure_budget()
        self.runner.interrupts.check()

    def save_model(self, trial_id: Any, model: Any, step: int = 0) -> None:
        pass  # each trial's run directory holds its model

    def search(self, *args: Any, **kwargs: Any) -> None:
        """Run the round's trials; a distributed chief serves its oracle to the workers instead."""
        from keras_tuner.src.distribute import utils as dist_utils

        if dist_utils.is_chief_oracle():
            self.save()
            _serve_oracle(self.oracle, self.runner.interrupts)
            return
        super().search(*args, **kwargs)

    # -- one trial -------------------------------------------------------------------------

    def _trial_run(self, name: str, folder: Path, retried: bool) -> Future[str | None]:
        """The trial's MLflow run under the round's: the one an interrupted attempt started, or a
        new one, started by the store's writer while the trial goes on (:class:`_TrialRun`).

        Only a trial whose folder was there (``retried``) can have one: the folder is made first.
        """
        runner = self.runner
        tags = {"dlkit.study": runner.info["study_id"], "dlkit.trial": name}
        run_id = runner.store.find_run(runner.experiment, tags) if retried else None
        if run_id is not None:
            runner.store.reopen(run_id)
            found: Future[str | None] = Future()
            found.set_result(run_id)
            return found
        return start_run_later(
            runner.store,
            runner.experiment,
            trial_run_name(runner.info["name"], name),
            {
                **tags,
                "dlkit.kind": "trial",
                "dlkit.run_dir": str(folder.resolve()),
                "dlkit.version": __version__,
            },
            parent=runner.round_run_id,
        )

    def _trial_recipe(self, values: dict[str, Any], name: str) -> Recipe:
        try:
            data = apply_values(self.runner.base, values)
        except ValueError as exc:
            raise TrialFailed(f"cannot apply the sampled values: {exc}") from None
        data.setdefault("tracking", {})
        try:
            return validate_recipe(data, f"trial {name}", Path.cwd())
        except RecipeError as exc:
            raise TrialFailed(
                f"the sampled configuration is not a valid recipe: {'; '.join(exc.lines)}"
            ) from None

    def _prepare_run(self, folder: Path, recipe: Recipe, name: str) -> RunDir:
        runner = self.runner
        run = RunDir(folder)
        # the same run.json as `dlkit train` writes, plus where the trial belongs (its MLflow run
        # id once the run is started: _TrialRun)
        record_run_info(
            run,
            recipe,
            runner.data,
            run_name=trial_run_name(runner.info["name"], name),
            experiment=runner.experiment,
            optimize=runner.metric,
            run_id=None,
            tracking_uri=runner.store.uri,
            study=str(runner.study.path.resolve()),
        )
        run.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(runner.study.manifest_path, run.manifest_path)
        shutil.copy(runner.study.split_summary_path, run.split_summary_path)
        return run

    def _train(
        self,
        recipe: Recipe,
        name: str,
        run: RunDir,
        epochs: int | None,
        warm: Path | None,
        mlflow_run: _TrialRun,
    ) -> TrialOutcome:
        """``dlkit train``'s pipeline on the trial's recipe: here, or in the study's worker process.

        Ctrl-C is checked after every epoch (here) or while the worker trains; the trial's MLflow
        run is taken at the first epoch's check, by which time its writer has started it, or
        before a worker process starts."""
        runner = self.runner

        def check(*_: Any) -> None:
            mlflow_run.take(run)
            runner.interrupts.check()

        measure = tuple(n for n in runner.constraints if n in MEASURES)
        if runner.tune.isolation == "process":
            # taken before the worker starts: it writes run.json too, from another process
            mlflow_run.take(run)
            return runner.trial_worker().train(
                recipe.model_dump(mode="json", by_alias=True, exclude_unset=True),
                f"trial {name}",
                run.path,
                epochs=epochs,
                warm_start=warm,
                measure=measure,
                check=runner.interrupts.check,
            )
        return train_trial(
            recipe,
            runner.data,
            run,
            epochs=epochs,
            warm_start=warm,
            measure=measure,
            on_epoch=check,
            streams=runner.streams,
            models=runner.models,
        )

    def _complete(self, record: TrialRecord, outcome: TrialOutcome, run: RunDir) -> None:
        runner = self.runner
        dev = outcome.metrics["dev"]
        record.objective = float(dev[runner.metric])
        record.metrics = {
            f"{s}_{k}": float(v) for s, m in outcome.metrics.items() for k, v in m.items() if k != "n"
        }
        record.measured = dict(outcome.measured)
        record.n_params = outcome.n_params
        record.epochs = outcome.epochs_run
        measured: dict[str, float | None] = {**{k: float(v) for k, v in dev.items()}, **outcome.measured}
        checks = check_satisficing(runner.constraints, measured)
        record.violations = [
            f"{c.name} {c.value:.4g} violates {c.constraint}" for c in checks if c.met is False
        ]
        record.feasible = not record.violations
        record.status = "COMPLETED"
        run.update_info(
            status="FINISHED",
            finished=now(),
            n_params=outcome.n_params,
            epochs_run=outcome.epochs_run,
            objective=record.objective,
            feasible=record.feasible,
        )
        summary = {
            **record.metrics,
            **record.measured,
            "n_params": outcome.n_params,
            "feasible": float(record.feasible),
        }
        # the epochs from step 0, as train logs them; all in one request where the batch limit allows
        runner.store.log_metric_steps(record.run_id, [(0, summary), *enumerate(outcome.history)])

    def _check_failure_budget(self) -> None:
        """Stop the study once more trials failed than ``tune.max_failures`` (over every round)."""
        runner = self.runner
        failed = [r for r in runner.study.records() if r.status == "FAILED"]
        budget = runner.tune.max_failures
        if len(failed) > budget:
            raise DlkitError(
                f"study {runner.study.path}: {len(failed)} trials failed, more than "
                f"tune.max_failures = {budget}; "
                f"last: {failed[-1].trial}: {failed[-1].reason}",
                hint="fix the space (see the reason column of trials.csv), then --resume, "
                "or raise tune.max_failures",
            )


class _TrialRun:
    """A trial's MLflow run, started by the store's writer while the trial builds and trains.

    Starting a run is the one store call that answers: waiting for it held every trial up for a
    round trip to the writer. Its id is taken (:meth:`take`) once, at the trial's first epoch
    or its end, whichever comes first; by then the run is started. Taking it puts the id in the
    trial's record and run.json and logs the trial's params. A study stopped before that finds
    the run again by its tags when it resumes (:meth:`StudyTuner._trial_run`).
    """

    def __init__(
        self, answer: Future[str | None], params: dict[str, Any], record: TrialRecord, runner: StudyRunner
    ) -> None:
        self._answer = answer
        self._params = params
        self._record = record
        self._runner = runner
        self._taken = False

    def take(self, run: RunDir | None) -> None:
        """Take the run's id, once (``run``: the trial's run directory, if made).

        Raises:
            TrackingError: the store could not start the run.
        """
        if self._taken:
            return
        self._taken = True
        run_id = self._record.run_id = self._answer.result()
        self._runner.store.log_params(run_id, self._params)
        if run_id is not None:
            self._runner.study.write_record(self._record)
            if run is not None:
                run.update_info(run_id=run_id)


def trial_run_name(study_name: str, trial: str) -> str:
    """A trial's run name, unique in its experiment: ``<study>-r1-t03`` (its folder is ``r1-t03``),
    as a round's is ``<study>-round-1``."""
    return f"{study_name}-{trial}"


def _serve_oracle(oracle: Any, interrupts: Interrupts, poll_s: float = 0.5) -> None:
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
