"""The study directory: its state, one record per trial, the trials table and the ranking.

Layout (``runs/<recipe name>-tune-<stamp>/``)::

    study.json               status, objective, constraints, MLflow run ids, one entry per round
    recipe.yaml              the study's recipe (tune section included)
    split/manifest.parquet   the study's one split (every trial uses it)
    split/summary.json
    rounds/round-<k>/        keras-tuner's oracle state for round k (what --resume reloads)
    trials/r<k>-t<id>/       one run directory per trial (run.json, trial.json, model, predictions)
    trials.csv, trials.parquet   one row per trial, rewritten after every trial
    best.yaml                the best feasible configuration, a recipe for ``dlkit train``
    plots/<path>.png         the objective against each hyperparameter
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from dlkit.errors import RunNotFoundError
from dlkit.rundir import write_json

if TYPE_CHECKING:
    from dlkit.recipe.schema import Recipe
    from dlkit.tuning.trial import StudyData

STUDY_FILE = "study.json"


def now() -> str:
    """The time in UTC, as study.json and a trial's run.json record it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def direction_of(metric: str, task: str) -> str:
    """``max`` for accuracy-like metrics of the task, ``min`` for losses and errors."""
    from dlkit.tasks import task_for

    return task_for(task).direction(metric)


@dataclass
class TrialRecord:
    """One trial as the table shows it.

    Attributes:
        trial: the study-wide name, ``r<round>-t<keras-tuner trial id>``.
        round: the coarse-to-fine round (1-based).
        status: RUNNING, COMPLETED, FAILED or KILLED.
        values: recipe path -> sampled value (active dimensions only).
        objective: the optimizing metric on dev (None unless COMPLETED).
        feasible: whether every satisficing constraint holds (None unless COMPLETED).
        violations: the constraints it breaks, e.g. ``latency_ms 130 > 100``.
        metrics: ``<set>_<metric>`` for every set.
        measured: satisficing measures (params, latency_ms, model_size_mb).
        epochs: epochs trained in this trial.
        reason: why it failed.
    """

    trial: str
    round: int
    kt_trial_id: str
    status: str
    values: dict[str, Any]
    objective: float | None = None
    feasible: bool | None = None
    violations: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)
    n_params: int | None = None
    epochs: int = 0
    duration_s: float = 0.0
    reason: str = ""
    run_id: str | None = None
    tuner: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StudyDir:
    """Paths and state of one study directory."""

    path: Path

    @property
    def info_path(self) -> Path:
        return self.path / STUDY_FILE

    @property
    def recipe_path(self) -> Path:
        return self.path / "recipe.yaml"

    @property
    def manifest_path(self) -> Path:
        return self.path / "split" / "manifest.parquet"

    @property
    def split_summary_path(self) -> Path:
        return self.path / "split" / "summary.json"

    @property
    def rounds_dir(self) -> Path:
        return self.path / "rounds"

    @property
    def trials_dir(self) -> Path:
        return self.path / "trials"

    @property
    def table_csv(self) -> Path:
        return self.path / "trials.csv"

    @property
    def table_parquet(self) -> Path:
        return self.path / "trials.parquet"

    @property
    def best_recipe_path(self) -> Path:
        return self.path / "best.yaml"

    @property
    def plots_dir(self) -> Path:
        return self.path / "plots"

    def trial_dir(self, name: str) -> Path:
        return self.trials_dir / name

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the study's lock (workers of one study share its files)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def info(self) -> dict[str, Any]:
        return dict(json.loads(self.info_path.read_text(encoding="utf-8")))

    def update_info(self, **fields: Any) -> dict[str, Any]:
        with self.locked():
            info = self.info() if self.info_path.exists() else {}
            info.update(fields)
            write_json(self.info_path, info)
            return info

    def write_record(self, record: TrialRecord) -> None:
        write_json(self.trial_dir(record.trial) / "trial.json", record.to_dict())

    def records(self) -> list[TrialRecord]:
        """Every trial record, in round and trial order."""
        found = []
        for path in sorted(self.trials_dir.glob("*/trial.json")):
            with contextlib.suppress(json.JSONDecodeError, TypeError):
                found.append(TrialRecord(**json.loads(path.read_text(encoding="utf-8"))))
        return sorted(found, key=lambda r: (r.round, r.kt_trial_id))

    def write_table(self, objective: str, direction: str) -> pd.DataFrame:
        """Rewrite trials.csv and trials.parquet from the records (atomically, under the lock)."""
        with self.locked():
            frame = trials_frame(rank(self.records(), direction), objective)
            _atomic(self.table_csv, lambda p: frame.to_csv(p, index=False))
            _atomic(self.table_parquet, lambda p: _parquet_safe(frame).to_parquet(p, index=False))
            return frame

    @classmethod
    def open(cls, path: str | Path) -> StudyDir:
        """Open an existing study directory.

        Raises:
            RunNotFoundError: no study.json there.
        """
        study = cls(Path(path))
        if not study.info_path.is_file():
            raise RunNotFoundError(f"{path}: not a dlkit study directory (no {STUDY_FILE})")
        return study


class TrialTable:
    """A study's trials.csv and trials.parquet, rebuilt from every trial record.

    After a trial the table is rewritten at most every ``every_s`` seconds (the first trial's
    always): it is read back from all the records, so its cost grows with the study (in a study
    of 2-second trials it was 8% of what a trial cost besides its fit). A trial that ends
    sooner leaves it stale until a later one or :meth:`flush` (the round's end). The records stay
    the truth: ``--resume``, the result and the reports read them, not the table.

    Args:
        study: the study directory.
        objective: the column the table is ranked by.
        direction: ``max`` or ``min``.
        every_s: the least time between two rewrites after trials.
        clock: seconds, for the interval (:func:`time.monotonic`).
    """

    def __init__(
        self,
        study: StudyDir,
        objective: str,
        direction: str,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.study, self.objective, self.direction = study, objective, direction
        self.every_s, self.clock = every_s, clock
        self.written = -math.inf  # clock() at the last rewrite
        self.stale = False

    def write(self) -> None:
        """Rewrite the table now."""
        self.study.write_table(self.objective, self.direction)
        self.written, self.stale = self.clock(), False

    def after_trial(self) -> None:
        """A trial ended: rewrite the table unless the last rewrite is under ``every_s`` old."""
        if self.clock() - self.written < self.every_s:
            self.stale = True
        else:
            self.write()

    def flush(self) -> None:
        """Rewrite the table if a trial ended since the last rewrite."""
        if self.stale:
            self.write()


def _atomic(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python types (a choice of numbers and text) become text for Parquet."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col].dropna()}
            if len(kinds) > 1 or kinds & {dict, list}:
                out[col] = out[col].map(
                    lambda v: None if v is None else json.dumps(v) if isinstance(v, dict | list) else str(v)
                )
    return out


def rank(records: list[TrialRecord], direction: str) -> list[TrialRecord]:
    """Feasible completed trials best first, then infeasible ones (shown, never picked), then the rest."""

    def key(r: TrialRecord) -> tuple[int, float]:
        if r.status != "COMPLETED" or r.objective is None or not math.isfinite(r.objective):
            return (2, 0.0)
        sign = -1.0 if direction == "max" else 1.0
        return (0 if r.feasible else 1, sign * r.objective)

    return sorted(records, key=key)


def best_of(records: list[TrialRecord], direction: str) -> TrialRecord | None:
    """The best feasible completed trial, or None."""
    ranked = rank(records, direction)
    if ranked and ranked[0].status == "COMPLETED" and ranked[0].feasible:
        return ranked[0]
    return None


def trials_frame(ranked: list[TrialRecord], objective: str) -> pd.DataFrame:
    """One row per trial, best first: rank, objective, feasibility, sampled values, measures."""
    rows = []
    for position, r in enumerate(ranked, start=1):
        ok = r.status == "COMPLETED" and r.feasible
        row: dict[str, Any] = {
            "rank": position if ok else None,
            "trial": r.trial,
            "round": r.round,
            "status": r.status,
            objective: r.objective,
            "feasible": r.feasible,
            "violations": "; ".join(r.violations),
        }
        row.update(r.values)
        row.update(r.measured)
        row.update({k: v for k, v in r.metrics.items() if k != objective})
        row.update(
            {
                "n_params": r.n_params,
                "epochs": r.epochs,
                "duration_s": round(r.duration_s, 2),
                "tuner": r.tuner,
                "run_id": r.run_id,
                "reason": r.reason,
            }
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    if "rank" in frame:
        frame["rank"] = frame["rank"].astype("Int64")
    return frame


def best_trial_dir(study_path: str | Path) -> Path:
    """The run directory of a study's best feasible trial (what ``dlkit diagnose STUDY`` reads).

    Raises:
        RunNotFoundError: not a study, or no trial finished within the constraints.
    """
    study = StudyDir.open(study_path)
    info = study.info()
    best = best_of(study.records(), info.get("direction", "max"))
    if best is None:
        raise RunNotFoundError(
            f"study {study_path}: no completed trial meets the satisficing constraints yet"
        )
    return study.trial_dir(best.trial)


def load_study_data(recipe: Recipe, study: StudyDir) -> StudyData:
    """The study's data, loaded and split as ``dlkit train`` does, checked against the stored split
    (the same examples in every trial, round, resumed run and worker process).

    Raises:
        DataError: the data changed since the study split it.
    """
    from dlkit.training.prepare import check_same_split, split_recipe

    outcome = split_recipe(recipe)
    check_same_split(f"study {study.path}", outcome, study.info().get("content_hash"), study.manifest_path)
    return outcome
