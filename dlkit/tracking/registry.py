"""``dlkit register``: a run's logged MLflow Model as a new version in MLflow's model registry."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dlkit.errors import TrackingError
from dlkit.tracking.resolve import resolve_run


@dataclass(frozen=True)
class RegisterResult:
    """A registered model version and where it came from."""

    name: str
    version: int
    run_id: str
    tracking_uri: str

    @property
    def model_uri(self) -> str:
        """What ``mlflow.pyfunc.load_model`` takes: ``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "model_uri": self.model_uri}


def register_run(
    run_ref: str | Path, name: str, runs_dir: str | Path = "runs", tracking_uri: str | None = None
) -> RegisterResult:
    """Register the model logged by run ``run_ref`` as the next version of ``name``.

    Raises:
        RunNotFoundError: nothing matches ``run_ref``.
        TrackingError: the run was not tracked, has no logged model, or the store refuses the
            name; no registered model is left behind.
    """
    from dlkit.tracking.mlflow_tracker import MLflowStore

    if not name.strip():
        raise TrackingError("register: the registered model name is empty")
    run = resolve_run(run_ref, runs_dir, tracking_uri)
    info = run.info()
    run_id = info.get("run_id")
    if not run_id:
        raise TrackingError(
            f"run '{run_ref}': not recorded in MLflow (trained with --no-track): nothing to register"
        )
    store = MLflowStore(info.get("tracking_uri") or tracking_uri)
    version = store.register(str(run_id), name)
    return RegisterResult(name=name, version=version, run_id=str(run_id), tracking_uri=store.uri)
