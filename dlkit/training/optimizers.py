"""Optimizers: specs with Keras's argument names, beside the builder that makes them.

Every Keras optimizer argument a user may tune is a field, with Keras's name; defaults are
Keras's, except ε = 1e-8 for the Adam family (docs/method.md §6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from dlkit._registry import Registry
from dlkit._spec import Spec

if TYPE_CHECKING:
    import keras

OPTIMIZERS: Registry[Spec] = Registry("optimizer")


class _OptimizerSpec(Spec):
    learning_rate: float = Field(default=1e-3, gt=0)
    weight_decay: float | None = Field(
        default=None, ge=0, description="Decoupled weight decay applied by the optimizer."
    )
    clipnorm: float | None = Field(default=None, gt=0, description="Clip each gradient's norm.")
    clipvalue: float | None = Field(default=None, gt=0, description="Clip each gradient value.")
    global_clipnorm: float | None = Field(
        default=None, gt=0, description="Clip the norm of all gradients taken together."
    )
    use_ema: bool = Field(default=False, description="Keep an exponential moving average of the weights.")
    ema_momentum: float = Field(default=0.99, ge=0, le=1)
    ema_overwrite_frequency: int | None = Field(default=None, ge=1)
    gradient_accumulation_steps: int | None = Field(
        default=None, ge=2, description="Apply accumulated gradients every this many steps."
    )

    @model_validator(mode="after")
    def _one_clipping(self) -> _OptimizerSpec:
        # Keras refuses more than one; say which were given
        given = [n for n in ("clipnorm", "clipvalue", "global_clipnorm") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"set only one of clipnorm, clipvalue, global_clipnorm (got {', '.join(given)})")
        return self


class SGDSpec(_OptimizerSpec):
    """Mini-batch gradient descent, with optional (Nesterov) momentum."""

    type: Literal["sgd"] = "sgd"
    learning_rate: float = Field(default=1e-2, gt=0)
    momentum: float = Field(default=0.0, ge=0, lt=1)
    nesterov: bool = False


class RMSpropSpec(_OptimizerSpec):
    """RMSprop: divide by a running average of squared gradients."""

    type: Literal["rmsprop"] = "rmsprop"
    rho: float = Field(default=0.9, gt=0, lt=1)
    momentum: float = Field(default=0.0, ge=0, lt=1)
    epsilon: float = Field(default=1e-7, gt=0)
    centered: bool = False


class AdagradSpec(_OptimizerSpec):
    """Adagrad: per-parameter rates from the sum of squared gradients."""

    type: Literal["adagrad"] = "adagrad"
    initial_accumulator_value: float = Field(default=0.1, ge=0)
    epsilon: float = Field(default=1e-7, gt=0)


class AdamSpec(_OptimizerSpec):
    """Adam with the usual defaults (docs/method.md §6: β1 0.9, β2 0.999, ε 1e-8)."""

    type: Literal["adam"] = "adam"
    beta_1: float = Field(default=0.9, ge=0, lt=1)
    beta_2: float = Field(default=0.999, ge=0, lt=1)
    epsilon: float = Field(default=1e-8, gt=0)
    amsgrad: bool = False


class AdamWSpec(AdamSpec):
    """Adam with decoupled weight decay (Loshchilov & Hutter)."""

    type: Literal["adamw"] = "adamw"  # type: ignore[assignment]
    weight_decay: float | None = Field(default=0.004, ge=0)


class NadamSpec(_OptimizerSpec):
    """Adam with Nesterov momentum."""

    type: Literal["nadam"] = "nadam"
    beta_1: float = Field(default=0.9, ge=0, lt=1)
    beta_2: float = Field(default=0.999, ge=0, lt=1)
    epsilon: float = Field(default=1e-8, gt=0)


def _keras_kwargs(spec: Spec) -> dict[str, Any]:
    return {k: v for k, v in spec.model_dump().items() if k != "type" and v is not None}


def build_optimizer(spec: Any, learning_rate: Any = None) -> keras.optimizers.Optimizer:
    """Build the Keras optimizer for ``spec``.

    Args:
        spec: an optimizer spec.
        learning_rate: overrides ``spec.learning_rate`` (e.g. a schedule object).
    """
    import keras

    cls = {
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adagrad": keras.optimizers.Adagrad,
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "nadam": keras.optimizers.Nadam,
    }[OPTIMIZERS.get(spec.type).name]
    kwargs = _keras_kwargs(spec)
    if learning_rate is not None:
        kwargs["learning_rate"] = learning_rate
    return cls(**kwargs)


OPTIMIZERS.register("sgd", SGDSpec, build_optimizer, "SGD, optional (Nesterov) momentum")
OPTIMIZERS.register("rmsprop", RMSpropSpec, build_optimizer, "RMSprop")
OPTIMIZERS.register("adagrad", AdagradSpec, build_optimizer, "Adagrad")
OPTIMIZERS.register("adam", AdamSpec, build_optimizer, "Adam")
OPTIMIZERS.register("adamw", AdamWSpec, build_optimizer, "Adam with decoupled weight decay")
OPTIMIZERS.register("nadam", NadamSpec, build_optimizer, "Adam with Nesterov momentum")
