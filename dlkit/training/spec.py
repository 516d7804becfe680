"""The recipe's ``train`` section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, model_validator

from dlkit._spec import Spec
from dlkit.training.optimizers import OPTIMIZERS, AdamSpec
from dlkit.training.schedules import SCHEDULES

if TYPE_CHECKING:
    # registry-built unions are only known at run time; mypy sees these fields as Any
    OptimizerSpec = Any
    ScheduleSpec = Any
else:
    # Union over a tuple of classes: the registry's specs, discriminated by `type`
    OptimizerSpec = Annotated[Union[OPTIMIZERS.specs()], Field(discriminator="type")]  # noqa: UP007
    ScheduleSpec = Annotated[Union[SCHEDULES.specs()], Field(discriminator="type")]  # noqa: UP007


class EarlyStoppingSpec(Spec):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (on dev)."""

    monitor: str = "val_loss"
    patience: int = Field(default=5, ge=0)
    min_delta: float = Field(default=0.0, ge=0)
    restore_best_weights: bool = True


class TrainSpec(Spec):
    """How to fit: epochs, mini-batches, optimizer, schedule, early stopping, loss."""

    epochs: int = Field(default=20, ge=1)
    batch_size: int = Field(default=64, ge=1, description="Examples per mini-batch (64 to 512 are usual).")
    shuffle: bool = True
    optimizer: OptimizerSpec = Field(default_factory=AdamSpec)
    schedule: ScheduleSpec | None = None
    early_stopping: EarlyStoppingSpec | None = None
    loss: str | None = Field(default=None, description="A Keras loss name; chosen from the task when absent.")

    @model_validator(mode="before")
    @classmethod
    def _optimizer_defaults_to_adam(cls, data: Any) -> Any:
        # `optimizer: {learning_rate: 0.01}` (or a --set of one field) means the default, Adam
        optimizer = data.get("optimizer") if isinstance(data, dict) else None
        if isinstance(optimizer, dict) and "type" not in optimizer:
            data = {**data, "optimizer": {"type": "adam", **optimizer}}
        return data
