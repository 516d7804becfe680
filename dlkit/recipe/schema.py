"""The recipe schema: one pydantic model per section, ``extra="forbid"`` throughout.

This module is the truth about what a recipe may say; ``dlkit recipe schema`` exports it as
JSON Schema. Pluggable sections (data source, model, optimizer, schedule) take one spec of their
registry, picked by ``type`` (:meth:`dlkit._registry.Registry.one_of`), so registering a part makes
it valid in recipes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from dlkit._naming import did_you_mean
from dlkit._spec import Spec
from dlkit.analysis.satisficing import DESCRIPTIONS as MEASURES
from dlkit.analysis.satisficing import parse_constraint
from dlkit.analysis.spec import AnalysisSpec
from dlkit.data.dataset import Task as TaskName
from dlkit.data.sources import SOURCES
from dlkit.data.split import SplitSpec
from dlkit.models import MODELS
from dlkit.tasks import TASKS
from dlkit.tasks.spec import VerificationSpec
from dlkit.training.optimizers import OPTIMIZERS
from dlkit.training.schedules import SCHEDULES, monitors
from dlkit.training.spec import TrainSpec
from dlkit.tuning.spec import TuneSpec

if TYPE_CHECKING:
    # registry-built unions are only known at run time; mypy sees these fields as Any
    SourceSpec = Any
    ModelSpec = Any
else:
    # the one spec the value's `type` names; the JSON Schema is the union of the registry's specs
    SourceSpec = SOURCES.one_of()
    ModelSpec = MODELS.one_of()

DISCRIMINATED: dict[str, Any] = {
    "data.source": SOURCES,
    "model": MODELS,
    "train.optimizer": OPTIMIZERS,
    "train.schedule": SCHEDULES,
}

# Every dev-set metric some task reports (each task's set_metrics, dlkit/tasks): what
# metrics.optimize and metrics.satisfice may name before the data says which task it is.
KNOWN_METRICS: tuple[str, ...] = tuple(sorted({m for task in TASKS for m in task.set_metrics}))
# numpy's and TensorFlow's seeds are 32-bit; folds, tuning rounds and layers add offsets to it
MAX_SEED = 2**31 - 1


def _problems(*errors: tuple[tuple[str | int, ...], str, Any]) -> ValidationError:
    """One validation error per (location, message, value), each shown at its own dotted path."""
    return ValidationError.from_exception_data(
        "Recipe",
        [
            InitErrorDetails(type=PydanticCustomError("recipe", message), loc=loc, input=value)
            for loc, message, value in errors
        ],
    )


class DataSpec(Spec):
    """Where the data comes from and how it is split."""

    source: SourceSpec
    split: SplitSpec | None = Field(
        default=None, description="Absent: the size-aware default of docs/method.md §1."
    )
    task: TaskName | None = Field(
        default=None,
        description="Inferred from the target when absent (multitask for a list of targets, "
        "seq2seq for a text_pairs source, trigger_word for a wav source, sequence_labeling for per-step "
        "labels `(n, timesteps)`); "
        "localization, landmarks, segmentation and ctc (one unaligned string per example) are "
        "always named.",
    )
    normalize: bool = Field(
        default=True,
        description="Standardise inputs with statistics of train only, saved inside the model.",
    )
    corrections: Path | None = Field(
        default=None,
        description="A CSV of confirmed label fixes (id, label, ...) applied by id to every set "
        "(dlkit analyze-errors --apply-corrections writes it).",
    )


class MetricsSpec(Spec):
    """One optimizing metric and any number of satisficing thresholds (docs/method.md §3)."""

    optimize: str | None = Field(
        default=None, description="accuracy for classification, mse for regression when absent."
    )
    satisfice: dict[str, str] = Field(
        default_factory=dict, description='e.g. {latency_ms: "<= 100", params: "<= 1e6"}'
    )

    @field_validator("optimize")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_METRICS:
            raise ValueError(
                f"not a metric dlkit reports; expected one of {', '.join(KNOWN_METRICS)}."
                f"{did_you_mean(value, KNOWN_METRICS)}"
            )
        return value

    @field_validator("satisfice")
    @classmethod
    def _constraints_parse(cls, value: dict[str, str]) -> dict[str, str]:
        known = (*MEASURES, *KNOWN_METRICS)
        errors: list[tuple[tuple[str | int, ...], str, Any]] = []
        for name, text in value.items():
            if name not in known:
                hint = did_you_mean(name, known)
                errors.append(((name,), f"unknown metric; expected one of {', '.join(known)}.{hint}", name))
            try:
                number = parse_constraint(text)[1]
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                message = "expected an operator and a number like '<= 100'"
                errors.append(((name,), message, text))
        if errors:
            raise _problems(*errors)
        return value


class TargetsSpec(Spec):
    """Reference levels for the reports."""

    human_error: float | None = Field(
        default=None,
        ge=0,
        description="Human-level error, the proxy for Bayes error (0.01 = 1%): a rate of at most 1 "
        "for classification, in the error metric's units (mse) for regression.",
    )


class TrackingSpec(Spec):
    """Where runs are recorded."""

    uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; MLFLOW_TRACKING_URI, then sqlite:///mlflow.db when absent.",
    )
    experiment: str | None = Field(default=None, description="Defaults to the recipe name.")
    runs_dir: str = Field(
        default="runs", description="Local folder for run directories (checkpoints, predictions)."
    )

    @field_validator("runs_dir")
    @classmethod
    def _a_folder(cls, value: str) -> str:
        # the first part of the path that exists must be a folder, or no run folder can be made
        path = Path(os.path.expanduser(value))  # os's leaves an unknown ~user as it is
        try:
            existing = next((part for part in (path, *path.parents) if part.exists()), None)
            is_file = existing is not None and not existing.is_dir()
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ValueError(f"not a usable folder path ({reason})") from None
        if is_file:
            where = "" if existing == path else f" ({existing} is)"
            raise ValueError(f"expected a folder for run directories, not a file{where}")
        return value


class Recipe(Spec):
    """A whole dlkit recipe."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Seeds every random choice (0 to 2^31-1).")
    data: DataSpec
    model: ModelSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)
    targets: TargetsSpec = Field(default_factory=TargetsSpec)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    tune: TuneSpec | None = Field(default=None, description="What `dlkit tune` searches (docs/method.md §5).")
    verification: VerificationSpec | None = Field(
        default=None, description="Embedding size, triplet margin and mining (task verification)."
    )

    def known_task(self) -> str | None:
        """The task, where the recipe alone tells it (``data.task``, or a source that implies it)."""
        if self.data.task is not None:
            return self.data.task
        # a source spec's class says it (ClassVar), or its fields do (a table's list of targets)
        implied: str | None = getattr(self.data.source, "implied_task", None)
        return implied

    @model_validator(mode="after")
    def _fits_the_task(self) -> Recipe:
        """Refuse settings the task (when the recipe tells it) cannot serve, each at its own path."""
        task_name = self.known_task()
        if task_name is None:
            return self
        task = TASKS.get(task_name)
        errors: list[tuple[tuple[str | int, ...], str, Any]] = []
        human = self.targets.human_error
        if human is not None and task.labels != "continuous" and human > 1:  # a rate, not units
            errors.append(
                (("targets", "human_error"), f"an error rate is at most 1 for a {task_name} model", human)
            )
        metric = self.metrics.optimize
        if metric is not None and metric not in task.set_metrics:
            errors.append(
                (
                    ("metrics", "optimize"),
                    f"not a dev-set metric of a {task_name} model; expected one of "
                    f"{', '.join(task.set_metrics)}",
                    metric,
                )
            )
        logged = monitors(task_name)
        watched = [(("train", "early_stopping", "monitor"), self.train.early_stopping)]
        watched.append((("train", "schedule", "monitor"), self.train.schedule))
        for loc, spec in watched:
            monitor = getattr(spec, "monitor", None)
            if monitor is not None and monitor not in logged:
                errors.append(
                    (loc, f"not logged for a {task_name} model; expected one of {', '.join(logged)}", monitor)
                )
        if errors:
            raise _problems(*errors)
        return self
