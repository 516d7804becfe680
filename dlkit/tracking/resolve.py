"""Finding a run: by directory, run name, MLflow run id or MLflow run name."""

from __future__ import annotations

from pathlib import Path

from dlkit.errors import RunNotFoundError, TrackingError
from dlkit.rundir import RunDir


def resolve_run(ref: str | Path, runs_dir: str | Path = "runs", tracking_uri: str | None = None) -> RunDir:
    """Find a run by directory, run name (under ``runs_dir``), MLflow run id or MLflow run name.

    Local lookups come first and need no MLflow import. A tuning study stands for its best
    feasible trial. A run known only to MLflow (e.g. made on another machine) has its
    artifacts downloaded to ``runs_dir/.mlflow/<run id>``.

    Raises:
        RunNotFoundError: nothing matches ``ref``.
    """
    for candidate in (Path(ref), Path(runs_dir) / str(ref)):
        if (candidate / "run.json").is_file():
            return RunDir(candidate)
        if (candidate / "study.json").is_file():  # a tuning study: its best feasible trial
            from dlkit.tuning.study import best_trial_dir

            return RunDir(best_trial_dir(candidate))
    from dlkit.tracking.mlflow_tracker import find_run

    found = find_run(str(ref), tracking_uri)
    if found is None:
        raise RunNotFoundError(
            f"run '{ref}': no run directory, run name or MLflow run id matches",
            hint=f"pass a run directory, or check the tracking store ({tracking_uri or 'default'})",
        )
    run_id, run_dir, download = found
    if run_dir and (Path(run_dir) / "run.json").is_file():
        return RunDir(Path(run_dir))
    target = Path(runs_dir) / ".mlflow" / run_id
    if not (target / "run.json").is_file():
        try:
            download(target)
        except Exception as exc:
            raise TrackingError(f"run '{ref}': cannot download its artifacts: {exc}") from None
    return RunDir.open(target)
