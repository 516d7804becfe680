"""Per-epoch learning-rate schedules (docs/method.md §6).

The epoch formulas are plain Python so they are testable without TensorFlow; training applies
them at the start of each epoch. Epochs count from 0, so epoch 0 uses α0 (k / √epoch counts
from 1, as the course does). ``reduce_on_plateau`` depends on the monitored metric, not on the
epoch alone: :class:`Plateau` holds its state, which a resumed run restores.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator

from dlkit._naming import did_you_mean
from dlkit._registry import Registry
from dlkit._spec import Spec
from dlkit.errors import BuildError
from dlkit.tasks import TASKS  # light (no numpy, pandas or TensorFlow): the recipe schema reads it too

SCHEDULES: Registry[Spec] = Registry("schedule")


def monitors(task: str | None = None) -> tuple[str, ...]:
    """What a run of ``task`` logs each epoch (of any task when None): loss, the task's
    ``epoch_metrics`` (what its ``compile_metrics`` names) and their ``val_`` forms on dev."""
    if task is None:
        metrics = tuple(dict.fromkeys(m for t in TASKS for m in t.epoch_metrics))
    else:
        metrics = TASKS.get(task).epoch_metrics if task in TASKS else ()
    names = ("loss", *metrics)
    return (*names, *(f"val_{n}" for n in names))


MONITORS = monitors()


def check_monitor(value: str) -> str:
    """A metric Keras logs per epoch, or a ValueError naming the ones it does."""
    if value not in MONITORS:
        raise ValueError(
            f"not a metric logged each epoch; expected one of {', '.join(MONITORS)}."
            f"{did_you_mean(value, MONITORS)}"
        )
    return value


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


class SqrtSpec(Spec):
    """α = k / √(epoch number) · α0, the epoch number counting from 1."""

    type: Literal["sqrt"] = "sqrt"
    k: float = Field(default=1.0, gt=0)


class CosineSpec(Spec):
    """Linear warm-up to α0 over ``warmup_epochs``, then cosine decay to ``alpha`` · α0."""

    type: Literal["cosine"] = "cosine"
    warmup_epochs: int = Field(default=0, ge=0, description="Epochs of linear warm-up: α0·(e+1)/warmup.")
    decay_epochs: int | None = Field(
        default=None, ge=1, description="Epochs of cosine decay; the rest of train.epochs when absent."
    )
    alpha: float = Field(default=0.0, ge=0, le=1, description="Final rate as a fraction of α0.")


class PlateauSpec(Spec):
    """Multiply α by ``factor`` when ``monitor`` has not improved for ``patience`` epochs."""

    type: Literal["reduce_on_plateau"] = "reduce_on_plateau"
    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    factor: float = Field(default=0.1, gt=0, lt=1)
    patience: int = Field(default=10, ge=0)
    min_delta: float = Field(default=1e-4, ge=0, description="Smaller changes are not improvements.")
    cooldown: int = Field(default=0, ge=0, description="Epochs to wait after a reduction.")
    min_lr: float = Field(default=0.0, ge=0)

    _known_monitor = field_validator("monitor")(check_monitor)


def _inverse_time(spec: InverseTimeSpec, lr0: float, epoch: int, epochs: int | None) -> float:
    return lr0 / (1 + spec.decay_rate * epoch)


def _exponential(spec: ExponentialSpec, lr0: float, epoch: int, epochs: int | None) -> float:
    return lr0 * spec.decay_rate**epoch


def _step(spec: StepSpec, lr0: float, epoch: int, epochs: int | None) -> float:
    return lr0 * spec.factor ** math.floor(epoch / spec.every)


def _sqrt(spec: SqrtSpec, lr0: float, epoch: int, epochs: int | None) -> float:
    return lr0 * spec.k / math.sqrt(epoch + 1)


def _cosine(spec: CosineSpec, lr0: float, epoch: int, epochs: int | None) -> float:
    warmup = spec.warmup_epochs
    if epoch < warmup:
        return lr0 * (epoch + 1) / warmup
    decay = spec.decay_epochs if spec.decay_epochs is not None else max((epochs or 0) - warmup, 1)
    t = min(epoch - warmup, decay)
    return lr0 * (spec.alpha + (1 - spec.alpha) * 0.5 * (1 + math.cos(math.pi * t / decay)))


def _plateau(spec: PlateauSpec, lr0: float, epoch: int, epochs: int | None) -> float:
    raise BuildError("schedule reduce_on_plateau depends on the monitored metric, not on the epoch alone")


SCHEDULES.register("inverse_time", InverseTimeSpec, _inverse_time, "α0 / (1 + decay_rate·epoch)")
SCHEDULES.register("exponential", ExponentialSpec, _exponential, "decay_rate^epoch · α0")
SCHEDULES.register("step", StepSpec, _step, "α0 · factor^floor(epoch / every)")
SCHEDULES.register("sqrt", SqrtSpec, _sqrt, "k / sqrt(epoch + 1) · α0")
SCHEDULES.register("cosine", CosineSpec, _cosine, "linear warm-up, then cosine decay to alpha·α0")
SCHEDULES.register(
    "reduce_on_plateau", PlateauSpec, _plateau, "α · factor when the monitor stalls for patience epochs"
)


def lr_at(spec: Spec, lr0: float, epoch: int, epochs: int | None = None) -> float:
    """The learning rate for ``epoch`` (0-based) under a per-epoch schedule ``spec``.

    Args:
        spec: a schedule spec other than reduce_on_plateau.
        lr0: the optimizer's learning rate α0.
        epoch: 0-based epoch.
        epochs: the run's number of epochs (cosine decays over what is left after warm-up).
    """
    return float(SCHEDULES.build(spec, lr0, epoch, epochs))


def is_per_epoch(spec: Spec | None) -> bool:
    """True for schedules that are a function of the epoch alone."""
    return spec is not None and not isinstance(spec, PlateauSpec)


def better_mode(monitor: str, mode: str = "auto") -> str:
    """``min`` or ``max``: ``auto`` maximises accuracy-like monitors (as Keras does)."""
    if mode != "auto":
        return mode
    return "max" if any(k in monitor for k in ("acc", "auc", "precision", "recall", "f1")) else "min"


class Plateau:
    """Reduce-on-plateau as a pure state machine (Keras's ``ReduceLROnPlateau`` rules).

    Args:
        spec: the schedule spec.
        lr: the current learning rate.
    """

    def __init__(self, spec: PlateauSpec, lr: float) -> None:
        self.spec = spec
        self.lr = lr
        self.maximize = better_mode(spec.monitor, spec.mode) == "max"
        self.best = -math.inf if self.maximize else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, value: float) -> bool:
        if self.maximize:
            return value > self.best + self.spec.min_delta
        return value < self.best - self.spec.min_delta

    def update(self, value: float) -> float:
        """Feed the monitored value at the end of an epoch; return the rate for the next epoch."""
        in_cooldown = self.cooldown_counter > 0
        if in_cooldown:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best = value
            self.wait = 0
        elif not in_cooldown:
            self.wait += 1
            if self.wait >= self.spec.patience and self.lr > self.spec.min_lr:
                self.lr = max(self.lr * self.spec.factor, self.spec.min_lr)
                self.cooldown_counter = self.spec.cooldown
                self.wait = 0
        return self.lr

    def state(self) -> dict[str, Any]:
        """What a resumed run needs to continue exactly."""
        return {
            "lr": self.lr,
            "best": self.best,
            "wait": self.wait,
            "cooldown_counter": self.cooldown_counter,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.lr = float(state["lr"])
        self.best = float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
