"""MLflow records of a study: a parent run, a child per round, a grandchild per trial.

Runs are addressed by id so that a resumed study, or a worker on another process, writes into
the runs the study started. A study without tracking uses :class:`NoTracking`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from dlkit.errors import TrackingError
from dlkit.tracking.base import resolve_tracking_uri

_BATCH = 100
_MAX_PARAM_LEN = 6000


class NoTracking:
    """Records nothing (``--no-track``); every method is a no-op and run ids are None."""

    uri: str | None = None

    def start_run(
        self, experiment: str, name: str, tags: dict[str, str], parent: str | None = None
    ) -> str | None:
        return None

    def find_run(self, experiment: str, tags: dict[str, str]) -> str | None:
        return None

    def reopen(self, run_id: str | None) -> None:
        pass

    def log_params(self, run_id: str | None, params: dict[str, Any]) -> None:
        pass

    def log_metrics(self, run_id: str | None, metrics: dict[str, float], step: int = 0) -> None:
        pass

    def set_tags(self, run_id: str | None, tags: dict[str, str]) -> None:
        pass

    def log_artifact(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        pass

    def log_artifacts(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        pass

    def finish(self, run_id: str | None, status: str) -> None:
        pass


class StudyTracking(NoTracking):
    """An MLflow tracking store (SQLite file, or a shared ``mlflow server`` for distributed studies).

    Raises:
        TrackingError: the store cannot be reached.
    """

    def __init__(self, uri: str | None) -> None:
        import os

        # MLflow prints "View run ... at: URL" on stdout for HTTP stores; the CLI owns stdout
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        import mlflow
        from mlflow.tracking import MlflowClient

        self.uri = resolve_tracking_uri(uri)
        self._mlflow = mlflow
        try:
            self._client = MlflowClient(tracking_uri=self.uri)
        except mlflow.exceptions.MlflowException as exc:
            raise TrackingError(f"tracking store {self.uri}: {exc.message}") from None

    def _call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except self._mlflow.exceptions.MlflowException as exc:
            raise TrackingError(f"tracking store {self.uri}: {what}: {exc.message}") from None

    def _experiment_id(self, experiment: str) -> str:
        found = self._call("experiment", self._client.get_experiment_by_name, experiment)
        if found is None:
            try:
                return str(self._client.create_experiment(experiment))
            except self._mlflow.exceptions.MlflowException:
                # another worker created it between the lookup and here
                found = self._call("experiment", self._client.get_experiment_by_name, experiment)
                if found is None:
                    raise
        if found.lifecycle_stage == "deleted":
            raise TrackingError(
                f"tracking store {self.uri}: experiment '{experiment}' is deleted",
                hint="restore it in MLflow, or set tracking.experiment to another name",
            )
        return str(found.experiment_id)

    def start_run(
        self, experiment: str, name: str, tags: dict[str, str], parent: str | None = None
    ) -> str | None:
        all_tags = dict(tags)
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        run = self._call(
            "create run",
            self._client.create_run,
            self._experiment_id(experiment),
            run_name=name,
            tags=all_tags,
        )
        return str(run.info.run_id)

    def find_run(self, experiment: str, tags: dict[str, str]) -> str | None:
        """The newest run of ``experiment`` carrying all ``tags`` (a trial interrupted earlier)."""
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

    def reopen(self, run_id: str | None) -> None:
        if run_id:
            self._call("reopen run", self._client.update_run, run_id, status="RUNNING")

    def log_params(self, run_id: str | None, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        if not run_id:
            return
        existing = self._call("get run", self._client.get_run, run_id).data.params
        items = [
            Param(k, text)
            for k, v in sorted(params.items())
            if existing.get(k) != (text := ("" if v is None else str(v))[:_MAX_PARAM_LEN])
        ]
        for i in range(0, len(items), _BATCH):
            self._call("log params", self._client.log_batch, run_id, params=items[i : i + _BATCH])

    def log_metrics(self, run_id: str | None, metrics: dict[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        if not run_id:
            return
        now = int(time.time() * 1000)
        items = [
            Metric(k, float(v), now, step)
            for k, v in metrics.items()
            if v is not None and math.isfinite(float(v))
        ]
        for i in range(0, len(items), _BATCH):
            self._call("log metrics", self._client.log_batch, run_id, metrics=items[i : i + _BATCH])

    def set_tags(self, run_id: str | None, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            if run_id:
                self._call("set tag", self._client.set_tag, run_id, key, value)

    def log_artifact(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        if run_id and path.is_file():
            self._call("log artifact", self._client.log_artifact, run_id, str(path), folder)

    def log_artifacts(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        if run_id and path.is_dir():
            self._call("log artifacts", self._client.log_artifacts, run_id, str(path), folder)

    def finish(self, run_id: str | None, status: str) -> None:
        if run_id:
            self._call("end run", self._client.set_terminated, run_id, status=status)


def make_tracking(track: bool, uri: str | None) -> NoTracking:
    """MLflow tracking when ``track``, else a tracker that records nothing."""
    return StudyTracking(uri) if track else NoTracking()
