"""What a study reports: live events while it runs, and its result when it stops."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlkit.tuning.space import Narrowed
from dlkit.tuning.study import TrialRecord


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
    study: Path | None = None  # the study's folder
    study_name: str = ""


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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``dlkit tune --json``): the fields, paths as text, no NaN."""
        from dlkit._json import jsonable

        return dict(jsonable(self))
