"""Per-epoch learning-rate schedules (METHODOLOGY §6), as pure functions of the epoch.

``lr_at`` is plain Python so the formulas are testable without TensorFlow; training applies it
through a ``LearningRateScheduler`` callback. Epochs count from 0, so epoch 0 uses α0.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from dlkit._registry import Registry
from dlkit._spec import Spec

SCHEDULES: Registry[Spec] = Registry("schedule")


class InverseTimeSpec(Spec):
    """α = α0 / (1 + decay_rate · epoch)."""

    type: Literal["inverse_time"] = "inverse_time"
    decay_rate: float = Field(default=1.0, ge=0)


class ExponentialSpec(Spec):
    """α = decay_rate^epoch · α0 (e.g. 0.95^epoch)."""

    type: Literal["exponential"] = "exponential"
    decay_rate: float = Field(default=0.95, gt=0, le=1)


class StepSpec(Spec):
    """Staircase: α = α0 · factor^⌊epoch / every⌋ (halve every ``every`` epochs)."""

    type: Literal["step"] = "step"
    factor: float = Field(default=0.5, gt=0, le=1)
    every: int = Field(default=10, ge=1)


def _inverse_time(spec: InverseTimeSpec, lr0: float, epoch: int) -> float:
    return lr0 / (1 + spec.decay_rate * epoch)


def _exponential(spec: ExponentialSpec, lr0: float, epoch: int) -> float:
    return lr0 * spec.decay_rate**epoch


def _step(spec: StepSpec, lr0: float, epoch: int) -> float:
    return lr0 * spec.factor ** math.floor(epoch / spec.every)


SCHEDULES.register("inverse_time", InverseTimeSpec, _inverse_time, "α0 / (1 + decay_rate·epoch)")
SCHEDULES.register("exponential", ExponentialSpec, _exponential, "decay_rate^epoch · α0")
SCHEDULES.register("step", StepSpec, _step, "α0 · factor^floor(epoch / every)")


def lr_at(spec: Spec, lr0: float, epoch: int) -> float:
    """The learning rate for ``epoch`` (0-based) under schedule ``spec``."""
    return float(SCHEDULES.build(spec, lr0, epoch))
