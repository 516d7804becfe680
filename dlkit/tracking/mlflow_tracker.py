"""The one MLflow client of dlkit: runs (nested or not), params, metrics, tags and artifacts.

:class:`MLflowStore` is the only place dlkit calls MLflow. It addresses runs by id, so a resumed
run, a tuning study's round and trial runs, a distributed worker and a report logged after the
fact all write through the same calls. :class:`MLflowTracker` is one run of it behind the
:class:`~dlkit.tracking.base.Tracker` protocol (what training uses); :func:`find_run` and
:func:`log_to_run` serve ``RUN`` arguments and post-hoc logging. No global fluent state
(``mlflow.start_run``) is used anywhere.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.errors import TrackingError
from dlkit.tracking.base import RunStatus, resolve_tracking_uri

if TYPE_CHECKING:
    import keras

    from dlkit.data.dataset import Dataset
    from dlkit.data.split import SplitResult
    from dlkit.tracking.mlflow_model import ModelPayload

log = logging.getLogger(__name__)

_MAX_PARAM_LEN = 6000  # MLflow's limit on a param value
_BATCH = 100  # params or metrics per request (MLflow accepts up to 100 params per batch)

# What MLflow raises when two processes create or migrate one new SQLite store at once (its
# tables are made without a lock): worth another try once the other process is done.
_RACE_MARKERS = (
    "already exists",
    "duplicate column",
    "Online migration expected",
    "database is locked",
    "out-of-date database schema",
)
_OPEN_ATTEMPTS = 6
# MLflow looks a run's datasets up in its experiment, then inserts those it did not find, in one
# transaction: two runs logging the same set at once can both miss it, and the second insert breaks
# the unique key (SQLite, PostgreSQL and MySQL spell it differently). The transaction is rolled
# back whole, so the write is tried again: the set is found then, and only the run's input is added.
_DUPLICATE_MARKERS = ("UNIQUE constraint failed", "duplicate key value", "Duplicate entry")
_WRITE_ATTEMPTS = 4


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive inter-process lock while a SQLite store at ``uri`` is created or migrated.

    MLflow creates a new SQLite store's tables and runs its migrations the first time a client
    opens it, and two processes doing so at once crash ("table runs already exists"). The lock
    is a hidden file beside the database (``.mlflow.db.lock``), so every process that opens the
    store, whatever its temporary folder, takes the same one. Other stores (a tracking server,
    a SQL server) migrate on their own side, and Windows has no ``flock``: nothing is locked
    (opening still retries, see :class:`MLflowStore`).
    """
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or sys.platform == "win32":
        yield
        return
    import fcntl

    db = Path(uri[len(prefix) :].partition("?")[0])
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        handle = open(db.with_name(f".{db.name}.lock"), "a")  # noqa: SIM115 (closed below)
    except OSError:  # a read-only folder: a store read there is not created there either
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed, also on a crash
        yield


@contextlib.contextmanager
def default_uri(uri: str | None) -> Iterator[None]:
    """MLflow's default store set to ``uri`` while inside, then put back exactly as it was.

    Some client calls look things up in the default store rather than the client's own: MLflow 3
    lists a run's ``model`` artifacts through the logged model, found in the default store, which
    a SQLite default (``./mlflow.db``) would even create in the working directory. MLflow's own
    ``set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI`` into the environment, so both are
    restored here (a process's later stores must not change with it).
    """
    if uri is None:
        yield
        return
    from mlflow.tracking._tracking_service import utils

    before_global = utils._tracking_uri
    before_env = os.environ.get("MLFLOW_TRACKING_URI")
    utils.set_tracking_uri(uri)
    try:
        yield
    finally:
        utils._tracking_uri = before_global
        if before_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before_env


class MLflowStore:
    """An MLflow tracking store (a SQLite file, or a shared ``mlflow server``), runs addressed by id.

    Every method that takes a ``run_id`` does nothing when it is None (an untracked run).

    Args:
        uri: the tracking URI; resolved by :func:`resolve_tracking_uri` when None.

    Raises:
        TrackingError: the store cannot be reached (here or in any later call).
    """

    def __init__(self, uri: str | None = None) -> None:
        # MLflow prints "View run ... at: URL" on stdout for HTTP stores; the CLI owns stdout
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        import mlflow
        from mlflow.tracking import MlflowClient

        self.uri: str = resolve_tracking_uri(uri)
        self._errors: type[Exception] = mlflow.exceptions.MlflowException
        self._client = self._open(MlflowClient)
        # what this store made itself needs no lookup: experiment ids by name, and the params of
        # the runs it created (a study's trials each log theirs once)
        self._experiment_ids: dict[str, str] = {}
        self._params: dict[str, dict[str, str]] = {}

    def _open(self, client: Callable[..., Any]) -> Any:
        """The client, made under :func:`store_lock` (it creates or migrates a new store's tables).

        A race with a process that does not take the lock (``mlflow ui`` started by hand, an
        older dlkit) is retried a few times with a growing pause.
        """
        attempt = 1
        while True:
            try:
                with store_lock(self.uri):
                    return self._call(None, client, tracking_uri=self.uri)
            except Exception as exc:
                if not any(m in str(exc) for m in _RACE_MARKERS):
                    raise
                if attempt == _OPEN_ATTEMPTS:
                    raise TrackingError(f"tracking store {self.uri}: cannot open it: {exc}") from None
                log.info("tracking store %s: opened concurrently (%s); retrying", self.uri, exc)
                time.sleep(0.2 * 2**attempt)
                attempt += 1

    def _call(self, what: str | None, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with default_uri(getattr(self, "uri", None)):
            return self._call_own(what, func, *args, **kwargs)

    def _call_own(self, what: str | None, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A call that needs only the client's own store: it leaves MLflow's default store alone,
        so it may run on another thread (a study's :class:`~dlkit.tracking.queued.QueuedStore` writes
        metrics from one)."""
        try:
            return func(*args, **kwargs)
        except self._errors as exc:
            raise self._error(what, exc) from None

    def _error(self, what: str | None, exc: Exception) -> TrackingError:
        where = f"{what}: " if what else ""
        return TrackingError(f"tracking store {self.uri}: {where}{getattr(exc, 'message', exc)}")

    # -- runs ------------------------------------------------------------------------------

    def experiment_id(self, experiment: str) -> str:
        """The id of ``experiment``, created if needed.

        Raises:
            TrackingError: the experiment is deleted, or the store cannot be reached.
        """
        if experiment in self._experiment_ids:
            return self._experiment_ids[experiment]
        found = self._call("experiment", self._client.get_experiment_by_name, experiment)
        if found is None:
            try:
                created = str(self._client.create_experiment(experiment))
                self._experiment_ids[experiment] = created
                return created
            except self._errors:
                # another process (a study's worker) created it between the lookup and here
                found = self._call("experiment", self._client.get_experiment_by_name, experiment)
                if found is None:
                    raise
        if found.lifecycle_stage == "deleted":
            raise TrackingError(
                f"tracking store {self.uri}: experiment '{experiment}' is deleted",
                hint="restore it in MLflow, or set tracking.experiment to another name",
            )
        self._experiment_ids[experiment] = str(found.experiment_id)
        return str(found.experiment_id)

    def experiment_of(self, run_id: str) -> str:
        """The id of the experiment ``run_id`` belongs to.

        Raises:
            TrackingError: the run is not in the store, or the store cannot be reached.
        """
        return str(self._call(f"run {run_id}", self._client.get_run, run_id).info.experiment_id)

    def start_run(self, experiment: str, name: str, tags: dict[str, str], parent: str | None = None) -> str:
        """Create a RUNNING run in ``experiment`` (created if needed), a child of ``parent`` if given.

        Returns:
            The new run's id.
        """
        from dlkit.tracking.system_tags import system_tags

        all_tags = {**system_tags(), **tags}
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        experiment_id = self.experiment_id(experiment)
        run = self._call("create run", self._client.create_run, experiment_id, run_name=name, tags=all_tags)
        self._params[str(run.info.run_id)] = {}
        return str(run.info.run_id)

    def reopen(self, run_id: str | None) -> None:
        """Set an existing run back to RUNNING (a resumed training, study, round or trial).

        Raises:
            TrackingError: the run is not in the store.
        """
        if run_id:
            self._call(f"run {run_id}", self._client.update_run, run_id, status="RUNNING")

    def finish(self, run_id: str | None, status: RunStatus | str) -> None:
        """End a run as FINISHED, FAILED or KILLED."""
        if run_id:
            self._call(f"run {run_id}: end", self._client.set_terminated, run_id, status=status)

    def find_run(self, experiment: str, tags: dict[str, str]) -> str | None:
        """The newest run of ``experiment`` carrying all ``tags`` (e.g. a trial interrupted earlier)."""
        found = self._call("experiment", self._client.get_experiment_by_name, experiment)
        if found is None:
            return None
        query = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
        runs = self._call(
            "search runs",
            self._client.search_runs,
            [found.experiment_id],
            filter_string=query,
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return str(runs[0].info.run_id) if runs else None

    def lookup(self, ref: str) -> Any:
        """The run whose id is ``ref``, else the newest run named ``ref`` in any experiment, else None.

        A registered model's URI (``models:/NAME/VERSION``, ``models:/NAME/latest``,
        ``models:/NAME@ALIAS``) stands for the run its version came from.
        """
        if ref.startswith("models:/"):
            return self._model_version_run(ref)
        try:
            return self._client.get_run(ref)
        except self._errors:
            pass
        experiments = [e.experiment_id for e in self._call("experiments", self._client.search_experiments)]
        if not experiments:
            return None
        escaped = ref.replace("'", "\\'")
        runs = self._call(
            "search runs",
            self._client.search_runs,
            experiments,
            filter_string=f"attributes.run_name = '{escaped}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return runs[0] if runs else None

    def _model_version_run(self, uri: str) -> Any:
        """The run a registered model version was made from, or None (no such model or version)."""
        body = uri.removeprefix("models:/")
        name, alias, version = body, None, None
        if "@" in body:
            name, alias = body.split("@", 1)
        elif "/" in body:
            name, version = body.rsplit("/", 1)
        try:
            if alias is not None:
                found = self._client.get_model_version_by_alias(name, alias)
            elif version in (None, "latest"):
                versions = self._client.search_model_versions(
                    f"name = '{name.replace(chr(39), chr(92) + chr(39))}'"
                )
                found = max(versions, key=lambda v: int(v.version)) if versions else None
            else:
                found = self._client.get_model_version(name, version)
        except self._errors:
            return None
        if found is None or not found.run_id:
            return None
        return self._client.get_run(found.run_id)

    # -- what a run records ----------------------------------------------------------------

    def log_params(self, run_id: str | None, params: dict[str, Any]) -> None:
        """Log params in batches; values are text, cut to MLflow's limit; None (unset) is left out.

        Params the run already holds with the same value are skipped, so a resumed run may log
        its params again; a different value for a logged param is an error (MLflow's rule).
        """
        from mlflow.entities import Param

        if not run_id or not params:
            return
        existing = self._params.get(run_id)
        if existing is None:
            existing = self._call(f"run {run_id}", self._client.get_run, run_id).data.params
        items = [
            Param(k, text)
            for k, v in sorted(params.items())
            if v is not None and existing.get(k) != (text := str(v)[:_MAX_PARAM_LEN])
        ]
        for i in range(0, len(items), _BATCH):
            self._call(
                f"run {run_id}: log params", self._client.log_batch, run_id, params=items[i : i + _BATCH]
            )
            if run_id in self._params:
                self._params[run_id].update((p.key, p.value) for p in items[i : i + _BATCH])

    def log_metrics(self, run_id: str | None, metrics: Mapping[str, float | None], step: int = 0) -> None:
        """Log metrics at ``step`` in batches; None and non-finite values are skipped."""
        self.log_metric_steps(run_id, [(step, metrics)])

    def log_metric_steps(
        self, run_id: str | None, steps: Sequence[tuple[int, Mapping[str, float | None]]]
    ) -> None:
        """Log metrics at several steps (a finished fit's epochs) in as few requests as the batch
        limit allows; None and non-finite values are skipped."""
        from mlflow.entities import Metric

        if not run_id:
            return
        now = int(time.time() * 1000)
        items = [
            Metric(k, float(v), now, step)
            for step, metrics in steps
            for k, v in metrics.items()
            if v is not None and math.isfinite(float(v))
        ]
        for i in range(0, len(items), _BATCH):
            self._call_own(
                f"run {run_id}: log metrics", self._client.log_batch, run_id, metrics=items[i : i + _BATCH]
            )

    def set_tags(self, run_id: str | None, tags: dict[str, str]) -> None:
        """Set tags on a run."""
        if not run_id:
            return
        for key, value in tags.items():
            self._call(f"run {run_id}: set tag", self._client.set_tag, run_id, key, value)

    def log_artifact(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        """Log one file under ``folder``; a missing file is skipped."""
        if run_id and path.is_file():
            self._call(f"run {run_id}: log artifact", self._client.log_artifact, run_id, str(path), folder)

    def log_artifacts(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        """Log a folder's files under ``folder``; a missing folder is skipped."""
        if run_id and path.is_dir():
            self._call(f"run {run_id}: log artifacts", self._client.log_artifacts, run_id, str(path), folder)

    def log_model(self, run_id: str | None, payload: ModelPayload, step: int = 0) -> str | None:
        """Log a trained model, prepared by :func:`~dlkit.tracking.mlflow_model.prepare_model`, as
        the run's MLflow Model ``model`` (:func:`~dlkit.tracking.mlflow_model.log_model`);
        returns its model id."""
        from dlkit.tracking.mlflow_model import log_model

        if not run_id:
            return None
        return str(self._call(f"run {run_id}: log model", log_model, self._client, run_id, payload, step))

    def log_inputs(self, run_id: str | None, inputs: list[dict[str, str]]) -> None:
        """Log the sets of a split, described by
        :func:`~dlkit.tracking.mlflow_model.describe_inputs`, as MLflow dataset inputs of the run."""
        from dlkit.tracking.mlflow_model import dataset_inputs

        if not (run_id and inputs):
            return
        attempt = 1
        while True:
            try:
                self._call(
                    f"run {run_id}: log inputs", self._client.log_inputs, run_id, dataset_inputs(inputs)
                )
                return
            except TrackingError as exc:
                if attempt == _WRITE_ATTEMPTS or not any(m in exc.message for m in _DUPLICATE_MARKERS):
                    raise
                log.info(
                    "tracking store %s: run %s: datasets logged concurrently; retrying", self.uri, run_id
                )
                time.sleep(0.05 * attempt)
                attempt += 1

    def register(self, run_id: str, name: str) -> int:
        """Register the run's logged model as a new version of registered model ``name``.

        A registered model created here is deleted again when its first version cannot be made,
        so a failure leaves nothing behind.

        Returns:
            The new version number.

        Raises:
            TrackingError: the run has no logged model, the name is refused, or the store fails.
        """
        from dlkit.tracking.mlflow_model import MODEL_NAME

        run = self._call(f"run {run_id}", self._client.get_run, run_id)
        found = self._call(
            "search models",
            self._client.search_logged_models,
            [run.info.experiment_id],
            filter_string=f"name = '{MODEL_NAME}' and source_run_id = '{run_id}'",
            order_by=[{"field_name": "creation_timestamp", "ascending": False}],
            max_results=1,
        )
        if not found:
            raise TrackingError(
                f"run {run_id}: no logged MLflow model to register",
                hint="runs trained before dlkit logged models have none: train the recipe again",
            )
        model_id = str(found[0].model_id)
        created = False
        try:
            self._client.get_registered_model(name)
        except self._errors:
            try:
                self._client.create_registered_model(name)
                created = True
            except self._errors as exc:
                # another process registered the name between the lookup and here: add to it
                if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                    raise self._error(f"registered model '{name}'", exc) from None
        try:
            version = self._call(
                f"registered model '{name}'",
                self._client.create_model_version,
                name,
                source=f"models:/{model_id}",
                run_id=run_id,
                model_id=model_id,
            )
        except BaseException:
            if created:
                with contextlib.suppress(Exception):
                    self._client.delete_registered_model(name)
            raise
        return int(version.version)

    def download(self, run_id: str, target: Path) -> None:
        """Download every artifact of a run into ``target``."""
        target.mkdir(parents=True, exist_ok=True)
        self._call(f"run {run_id}: download", self._client.download_artifacts, run_id, "", str(target))

    def query(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call the MLflow client's ``method`` (a read: ``search_runs``, ``list_artifacts``...);
        its errors become a TrackingError saying ``what`` failed (the runs catalog reads this way)."""
        return self._call(what, getattr(self._client, method), *args, **kwargs)

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted, as MLflow's own UI and client do (lifecycle ``deleted``, restorable)."""
        self._call(f"run {run_id}: delete", self._client.delete_run, run_id)


class MLflowTracker:
    """One run of an MLflow store, as the :class:`~dlkit.tracking.base.Tracker` training uses.

    Every write goes through a :class:`~dlkit.tracking.queued.QueuedStore` opened at once (a
    writer process importing MLflow and opening the store while training imports TensorFlow and
    loads its data): nothing waits for the store but reading :attr:`run_id` (the first time)
    and logging the model. :meth:`flush` waits until every write is in; :meth:`finish` flushes,
    ends the run and closes the writer (training calls it whatever happens: the run ends, fails,
    or is interrupted). A failed write is raised by the next call that writes, or by
    :meth:`flush`.

    Args:
        uri: the tracking URI; resolved by :func:`resolve_tracking_uri` when None.
        parent_run_id: makes this run a child of that one.
    """

    def __init__(self, uri: str | None = None, parent_run_id: str | None = None) -> None:
        from dlkit.tracking.queued import QueuedStore

        self.uri: str | None = resolve_tracking_uri(uri)
        self.parent_run_id = parent_run_id
        self._store = QueuedStore.open(self.uri)
        self._run: Future[str | None] | None = None

    @property
    def run_id(self) -> str | None:
        """The run's id: waits for the store the first time, after :meth:`start`.

        Raises:
            TrackingError: the store could not be opened or refused the run.
        """
        return None if self._run is None else self._run.result()

    def _known_run_id(self) -> str | None:
        """The run's id, or None when there is none (never started, or starting it failed)."""
        if self._run is None or self._run.exception() is not None:
            return None
        return self._run.result()

    def start(self, experiment: str, run_name: str, tags: dict[str, str]) -> None:
        """Start a run in ``experiment`` (created if needed); returns before the store answers."""
        self._run = self._store.start_run_later(experiment, run_name, tags, self.parent_run_id)

    def resume(self, run_id: str) -> None:
        """Reopen an existing run (a resumed training): its status goes back to RUNNING.

        Raises:
            TrackingError: the store cannot be reached or the run is not in it.
        """
        self._store.reopen(run_id)
        self._run = Future()
        self._run.set_result(run_id)
        try:
            self._store.flush()
        except BaseException:
            self._run = None
            self._store.close(raise_error=False)
            raise

    def close(self) -> None:
        """Close the writer without ending a run (a command refused before its run was
        started or reopened); a write that failed is not raised."""
        self._store.close(raise_error=False)

    def log_params(self, params: dict[str, Any]) -> None:
        self._store.log_params(self.run_id, params)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Queue metrics: the writer logs them while training goes on."""
        self._store.log_metrics(self.run_id, metrics, step or 0)

    def flush(self) -> None:
        """Wait until every queued write is in the store.

        Raises:
            TrackingError: the store refused or could not be reached.
        """
        self._store.flush()

    def log_artifact(self, local_file: Path, artifact_path: str | None = None) -> None:
        self._store.log_artifact(self.run_id, local_file, artifact_path)

    def log_artifacts(self, local_dir: Path, artifact_path: str | None = None) -> None:
        self._store.log_artifacts(self.run_id, local_dir, artifact_path)

    def set_tags(self, tags: dict[str, str]) -> None:
        self._store.set_tags(self.run_id, tags)

    def log_model(
        self, model: keras.Model, data: Dataset, split: SplitResult, step: int = 0, saved: Path | None = None
    ) -> None:
        """Log the trained model as the run's MLflow Model; waits until it is logged."""
        from dlkit.tracking.mlflow_model import prepare_model

        run_id = self.run_id
        if not run_id:
            return
        with tempfile.TemporaryDirectory(prefix="dlkit-model-") as folder:
            self._store.log_model(run_id, prepare_model(model, data, split, Path(folder), saved), step)

    def log_inputs(self, data: Dataset, split: SplitResult) -> None:
        from dlkit.tracking.mlflow_model import describe_inputs

        self._store.log_inputs(self.run_id, describe_inputs(data, split))

    def finish(self, status: RunStatus) -> None:
        """Write the queued writes, end the run as ``status`` and close the writer."""
        try:
            self._store.flush()
        finally:
            run_id = self._known_run_id()
            if run_id:
                self._store.finish(run_id, status)
            self._store.close()


@contextlib.contextmanager
def command_run(
    track: bool, uri: str | None, experiment: str, name: str, command: str
) -> Iterator[tuple[MLflowStore | None, str | None]]:
    """An MLflow run for a command that trains no recipe (style transfer, word vectors): the
    store and run id (``(None, None)`` untracked). The run ends FINISHED when the block does,
    KILLED on Ctrl-C, FAILED on an error, so no run is left RUNNING."""
    if not track:
        yield None, None
        return
    store = MLflowStore(uri)
    run_id = store.start_run(experiment, name, {"dlkit.command": command})
    status: RunStatus = "FAILED"
    try:
        yield store, run_id
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        store.finish(run_id, status)


def find_run(ref: str, uri: str | None = None) -> tuple[str, str | None, Callable[[Path], None]] | None:
    """Look ``ref`` up as an MLflow run id, then as a run name (newest first).

    Returns:
        ``(run_id, local run directory tag or None, download(target) function)``, or None.
    """
    store = MLflowStore(uri)
    run = store.lookup(ref)
    if run is None:
        return None
    run_id = str(run.info.run_id)

    def download(target: Path) -> None:
        store.download(run_id, target)

    return run_id, run.data.tags.get("dlkit.run_dir"), download


def log_to_run(
    run_id: str | None,
    uri: str | None,
    files: list[tuple[Path, str]] | None = None,
    metrics: dict[str, float] | None = None,
) -> None:
    """Add report files and metrics to an existing (usually finished) run.

    Args:
        run_id: the MLflow run; None (an untracked run) logs nothing.
        uri: its tracking store; None logs nothing.
        files: ``(local file, artifact folder)`` pairs; missing files are skipped.
        metrics: logged at step 0; non-finite values are skipped.

    Raises:
        TrackingError: the store cannot be reached or the run is not in it.
    """
    if run_id is None or uri is None:
        return
    store = MLflowStore(uri)
    for path, folder in files or []:
        store.log_artifact(run_id, path, folder)
    store.log_metrics(run_id, metrics or {})
