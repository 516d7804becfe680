"""The recipe schema: one pydantic model per section, ``extra="forbid"`` throughout.

This module is the truth about what a recipe may say; ``dlkit recipe schema`` exports it as
JSON Schema. Pluggable sections (data source, model, optimizer, schedule) are discriminated
unions built from their registries, so registering a part makes it valid in recipes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field, field_validator

from dlkit._spec import Spec
from dlkit.analysis.spec import AnalysisSpec
from dlkit.data.sources import SOURCES
from dlkit.data.split import SplitSpec
from dlkit.models import MODELS
from dlkit.training.optimizers import OPTIMIZERS
from dlkit.training.schedules import SCHEDULES
from dlkit.training.spec import TrainSpec
from dlkit.tuning.spec import TuneSpec

if TYPE_CHECKING:
    # registry-built unions are only known at run time; mypy sees these fields as Any
    SourceSpec = Any
    ModelSpec = Any
else:
    # Union over a tuple of classes: the registry's specs, discriminated by `type`
    SourceSpec = Annotated[Union[SOURCES.specs()], Field(discriminator="type")]  # noqa: UP007
    ModelSpec = Annotated[Union[MODELS.specs()], Field(discriminator="type")]  # noqa: UP007

DISCRIMINATED: dict[str, Any] = {
    "data.source": SOURCES,
    "model": MODELS,
    "train.optimizer": OPTIMIZERS,
    "train.schedule": SCHEDULES,
}

_CONSTRAINT = re.compile(r"^\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


class DataSpec(Spec):
    """Where the data comes from and how it is split."""

    source: SourceSpec
    split: SplitSpec | None = Field(
        default=None, description="Absent: the size-aware default of METHODOLOGY §1."
    )
    task: (
        Literal["binary", "multiclass", "regression", "multitask", "seq2seq", "sequence_labeling"] | None
    ) = Field(
        default=None,
        description="Inferred from the target when absent (multitask for a list of targets, "
        "seq2seq for a text_pairs source, sequence_labeling for per-step labels `(n, timesteps)`).",
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
    """One optimizing metric and any number of satisficing thresholds (METHODOLOGY §3)."""

    optimize: str | None = Field(
        default=None, description="accuracy for classification, mse for regression when absent."
    )
    satisfice: dict[str, str] = Field(
        default_factory=dict, description='e.g. {latency_ms: "<= 100", params: "<= 1e6"}'
    )

    @field_validator("satisfice")
    @classmethod
    def _constraints_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _CONSTRAINT.match(str(text)):
                raise ValueError(
                    f"satisficing constraint {name}: expected an operator and a number "
                    f"like '<= 100' (got {text!r})"
                )
        return value


class TargetsSpec(Spec):
    """Reference levels for the reports."""

    human_error: float | None = Field(
        default=None, ge=0, description="Human-level error, the proxy for Bayes error (0.01 = 1%)."
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


class Recipe(Spec):
    """A whole dlkit recipe."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 0
    data: DataSpec
    model: ModelSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)
    targets: TargetsSpec = Field(default_factory=TargetsSpec)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    tune: TuneSpec | None = Field(default=None, description="What `dlkit tune` searches (METHODOLOGY §5).")
