"""What dlkit needs from a tracking backend, and the backends that record nothing.

:class:`Tracker` is one run (what training uses); :class:`RunStore` is a store whose runs are
addressed by id (what a tuning study uses for its study, round and trial runs). The MLflow
implementation of both is :mod:`dlkit.tracking.mlflow_tracker`; :func:`open_store` picks it or
:class:`NullStore`. Nothing here imports MLflow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import keras

    from dlkit.data.dataset import Dataset
    from dlkit.data.split import SplitResult
    from dlkit.tracking.mlflow_model import ModelPayload

RunStatus = Literal["FINISHED", "FAILED", "KILLED"]

DEFAULT_URI = "sqlite:///mlflow.db"


def resolve_tracking_uri(uri: str | None) -> str:
    """The recipe's URI, else ``MLFLOW_TRACKING_URI``, else a SQLite file in the working directory.

    Relative SQLite paths are made absolute, so the printed location works from anywhere.
    """
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        uri = prefix + str((Path.cwd() / uri[len(prefix) :]).resolve())
    return uri


class Tracker(Protocol):
    """A run in some tracking backend."""

    uri: str | None

    @property
    def run_id(self) -> str | None: ...

    def start(self, experiment: str, run_name: str, tags: dict[str, str]) -> None: ...

    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...

    def log_artifact(self, local_file: Path, artifact_path: str | None = None) -> None: ...

    def log_artifacts(self, local_dir: Path, artifact_path: str | None = None) -> None: ...

    def set_tags(self, tags: dict[str, str]) -> None: ...

    def log_model(
        self, model: keras.Model, data: Dataset, split: SplitResult, step: int = 0, saved: Path | None = None
    ) -> None: ...

    def log_inputs(self, data: Dataset, split: SplitResult) -> None: ...

    def finish(self, status: RunStatus) -> None: ...


class NullTracker:
    """Tracks nothing (``--no-track``): the run directory is the only record."""

    run_id: str | None = None
    uri: str | None = None

    def start(self, experiment: str, run_name: str, tags: dict[str, str]) -> None:
        pass

    def log_params(self, params: dict[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_artifact(self, local_file: Path, artifact_path: str | None = None) -> None:
        pass

    def log_artifacts(self, local_dir: Path, artifact_path: str | None = None) -> None:
        pass

    def set_tags(self, tags: dict[str, str]) -> None:
        pass

    def log_model(
        self, model: keras.Model, data: Dataset, split: SplitResult, step: int = 0, saved: Path | None = None
    ) -> None:
        pass

    def log_inputs(self, data: Dataset, split: SplitResult) -> None:
        pass

    def finish(self, status: RunStatus) -> None:
        pass


class RunStore(Protocol):
    """A tracking store whose runs are addressed by id; a None run id is an untracked run."""

    @property
    def uri(self) -> str | None: ...

    def start_run(
        self, experiment: str, name: str, tags: dict[str, str], parent: str | None = None
    ) -> str | None: ...

    def find_run(self, experiment: str, tags: dict[str, str]) -> str | None: ...

    def reopen(self, run_id: str | None) -> None: ...

    def finish(self, run_id: str | None, status: str) -> None: ...

    def log_params(self, run_id: str | None, params: dict[str, Any]) -> None: ...

    def log_metrics(self, run_id: str | None, metrics: Mapping[str, float | None], step: int = 0) -> None: ...

    def log_metric_steps(
        self, run_id: str | None, steps: Sequence[tuple[int, Mapping[str, float | None]]]
    ) -> None: ...

    def set_tags(self, run_id: str | None, tags: dict[str, str]) -> None: ...

    def log_artifact(self, run_id: str | None, path: Path, folder: str | None = None) -> None: ...

    def log_artifacts(self, run_id: str | None, path: Path, folder: str | None = None) -> None: ...

    def log_inputs(self, run_id: str | None, inputs: list[dict[str, str]]) -> None: ...

    def log_model(self, run_id: str | None, payload: ModelPayload, step: int = 0) -> str | None: ...


class NullStore:
    """Records nothing (``--no-track``): runs are never created, so every run id is None."""

    uri: str | None = None

    def start_run(
        self, experiment: str, name: str, tags: dict[str, str], parent: str | None = None
    ) -> str | None:
        return None

    def find_run(self, experiment: str, tags: dict[str, str]) -> str | None:
        return None

    def reopen(self, run_id: str | None) -> None:
        pass

    def finish(self, run_id: str | None, status: str) -> None:
        pass

    def log_params(self, run_id: str | None, params: dict[str, Any]) -> None:
        pass

    def log_metrics(self, run_id: str | None, metrics: Mapping[str, float | None], step: int = 0) -> None:
        pass

    def log_metric_steps(
        self, run_id: str | None, steps: Sequence[tuple[int, Mapping[str, float | None]]]
    ) -> None:
        pass

    def set_tags(self, run_id: str | None, tags: dict[str, str]) -> None:
        pass

    def log_artifact(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        pass

    def log_artifacts(self, run_id: str | None, path: Path, folder: str | None = None) -> None:
        pass

    def log_inputs(self, run_id: str | None, inputs: list[dict[str, str]]) -> None:
        pass

    def log_model(self, run_id: str | None, payload: ModelPayload, step: int = 0) -> str | None:
        return None


def open_store(track: bool, uri: str | None) -> RunStore:
    """The MLflow store at ``uri`` when ``track``, else a store that records nothing.

    Raises:
        TrackingError: the MLflow store cannot be reached.
    """
    if not track:
        return NullStore()
    from dlkit.tracking.mlflow_tracker import MLflowStore

    return MLflowStore(uri)
