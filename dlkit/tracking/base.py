"""The Tracker protocol: what training needs from a tracking backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Protocol

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

    run_id: str | None
    uri: str | None

    def start(self, experiment: str, run_name: str, tags: dict[str, str]) -> None: ...

    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...

    def log_artifact(self, local_file: Path, artifact_path: str | None = None) -> None: ...

    def log_artifacts(self, local_dir: Path, artifact_path: str | None = None) -> None: ...

    def set_tags(self, tags: dict[str, str]) -> None: ...

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

    def finish(self, status: RunStatus) -> None:
        pass
