"""MLflow implementation of the Tracker protocol (explicit client, no global fluent state)."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from dlkit.errors import TrackingError
from dlkit.tracking.base import RunStatus, resolve_tracking_uri

log = logging.getLogger(__name__)

_MAX_PARAM_LEN = 6000  # MLflow's limit on a param value
_BATCH = 100


def _client(uri: str) -> Any:
    import mlflow
    from mlflow.tracking import MlflowClient

    try:
        return MlflowClient(tracking_uri=uri)
    except mlflow.exceptions.MlflowException as exc:
        raise TrackingError(f"tracking store {uri}: {exc.message}") from None


class MLflowTracker:
    """Records one run in an MLflow tracking store.

    Args:
        uri: the tracking URI; resolved by :func:`resolve_tracking_uri` when None.
        parent_run_id: makes this run a child (tuning trials).
    """

    def __init__(self, uri: str | None = None, parent_run_id: str | None = None) -> None:
        self.uri: str | None = resolve_tracking_uri(uri)
        self.parent_run_id = parent_run_id
        self.run_id: str | None = None
        self.experiment_id: str | None = None
        self._client: Any = None

    def start(self, experiment: str, run_name: str, tags: dict[str, str]) -> None:
        """Create (if needed) the experiment and start a run in it."""
        import mlflow

        assert self.uri is not None
        self._client = _client(self.uri)
        try:
            found = self._client.get_experiment_by_name(experiment)
            if found is None:
                self.experiment_id = self._client.create_experiment(experiment)
            else:
                if found.lifecycle_stage == "deleted":
                    raise TrackingError(
                        f"tracking store {self.uri}: experiment '{experiment}' is deleted",
                        hint="restore it in MLflow, or set tracking.experiment to another name",
                    )
                self.experiment_id = found.experiment_id
            all_tags = dict(tags)
            if self.parent_run_id:
                all_tags["mlflow.parentRunId"] = self.parent_run_id
            run = self._client.create_run(self.experiment_id, run_name=run_name, tags=all_tags)
        except mlflow.exceptions.MlflowException as exc:
            raise TrackingError(f"tracking store {self.uri}: {exc.message}") from None
        self.run_id = run.info.run_id

    def resume(self, run_id: str) -> None:
        """Reopen an existing run (a resumed training): its status goes back to RUNNING.

        Raises:
            TrackingError: the store cannot be reached or the run is not in it.
        """
        import mlflow

        assert self.uri is not None
        self._client = _client(self.uri)
        try:
            run = self._client.get_run(run_id)
            self._client.update_run(run_id, status="RUNNING")
        except mlflow.exceptions.MlflowException as exc:
            raise TrackingError(f"tracking store {self.uri}: run {run_id}: {exc.message}") from None
        self.run_id = run_id
        self.experiment_id = run.info.experiment_id

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, ("" if v is None else str(v))[:_MAX_PARAM_LEN]) for k, v in sorted(params.items())]
        for i in range(0, len(items), _BATCH):
            self._client.log_batch(self.run_id, params=items[i : i + _BATCH])

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [
            Metric(k, float(v), now, step or 0)
            for k, v in metrics.items()
            if v is not None and math.isfinite(float(v))
        ]
        for i in range(0, len(items), _BATCH):
            self._client.log_batch(self.run_id, metrics=items[i : i + _BATCH])

    def log_artifact(self, local_file: Path, artifact_path: str | None = None) -> None:
        self._client.log_artifact(self.run_id, str(local_file), artifact_path)

    def log_artifacts(self, local_dir: Path, artifact_path: str | None = None) -> None:
        self._client.log_artifacts(self.run_id, str(local_dir), artifact_path)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_tag(self.run_id, key, value)

    def finish(self, status: RunStatus) -> None:
        if self._client is not None and self.run_id is not None:
            self._client.set_terminated(self.run_id, status=status)


def find_run(ref: str, uri: str | None = None) -> tuple[str, str | None, Any] | None:
    """Look ``ref`` up as an MLflow run id, then as a run name (newest first).

    Returns:
        ``(run_id, local run directory tag or None, download(target) function)``, or None.
    """
    import mlflow

    client = _client(resolve_tracking_uri(uri))
    run = None
    try:
        run = client.get_run(ref)
    except mlflow.exceptions.MlflowException:
        experiments = [e.experiment_id for e in client.search_experiments()]
        if experiments:
            escaped = ref.replace("'", "\\'")
            runs = client.search_runs(
                experiments,
                filter_string=f"attributes.run_name = '{escaped}'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
            run = runs[0] if runs else None
    if run is None:
        return None
    run_id = run.info.run_id

    def download(target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        client.download_artifacts(run_id, "", str(target))

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
    import mlflow
    from mlflow.entities import Metric

    client = _client(uri)
    try:
        for path, folder in files or []:
            if path.is_file():
                client.log_artifact(run_id, str(path), folder)
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, 0) for k, v in (metrics or {}).items() if math.isfinite(float(v))]
        for i in range(0, len(batch), _BATCH):
            client.log_batch(run_id, metrics=batch[i : i + _BATCH])
    except mlflow.exceptions.MlflowException as exc:
        raise TrackingError(f"tracking store {uri}: run {run_id}: {exc.message}") from None
