"""What a training reports: when it starts, and when it is done."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlkit.errors import DlkitError


@dataclass
class TrainStart:
    """Reported once the data is split and the model built, before the first epoch."""

    run_name: str
    run_dir: Path
    run_id: str | None
    tracking_uri: str | None
    data: dict[str, Any]
    n_params: int
    epochs: int
    worker: str | None = None  # a multi_worker process that is not the chief: ``worker 1 of 2``


@dataclass
class TrainResult:
    """A finished training run."""

    run_name: str
    run_dir: Path
    run_id: str | None
    tracking_uri: str | None
    experiment: str
    task: str
    metrics: dict[str, dict[str, float]]
    split_sizes: dict[str, int]
    split_rule: str
    n_params: int
    epochs_run: int
    stopped_early: bool
    duration_s: float
    history: list[dict[str, float]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    initial_epoch: int = 0
    split_warnings: list[dict[str, Any]] = field(default_factory=list)
    # a multi_worker process that is not the chief (``worker 1 of 2``): it trained with the
    # chief, which alone evaluates and records the run; no metrics, no run directory of its own
    worker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``dlkit train --json``): the fields, paths as text, no NaN."""
        from dlkit._json import jsonable

        return dict(jsonable(self))


class TrainingDivergedError(DlkitError):
    """The training loss became NaN or infinite; the run is marked FAILED."""
