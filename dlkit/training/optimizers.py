"""Optimizers: specs with Keras's argument names, beside the builder that makes them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from dlkit._registry import Registry
from dlkit._spec import Spec

if TYPE_CHECKING:
    import keras

OPTIMIZERS: Registry[Spec] = Registry("optimizer")


class _OptimizerSpec(Spec):
    learning_rate: float = Field(default=1e-3, gt=0)
    clipnorm: float | None = Field(default=None, gt=0, description="Clip each gradient's norm.")
    clipvalue: float | None = Field(default=None, gt=0, description="Clip each gradient value.")


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


class AdamSpec(_OptimizerSpec):
    """Adam with the usual defaults (METHODOLOGY §6: β1 0.9, β2 0.999, ε 1e-8)."""

    type: Literal["adam"] = "adam"
    beta_1: float = Field(default=0.9, ge=0, lt=1)
    beta_2: float = Field(default=0.999, ge=0, lt=1)
    epsilon: float = Field(default=1e-8, gt=0)
    amsgrad: bool = False


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
        "adam": keras.optimizers.Adam,
    }[OPTIMIZERS.get(spec.type).name]
    kwargs = _keras_kwargs(spec)
    if learning_rate is not None:
        kwargs["learning_rate"] = learning_rate
    return cls(**kwargs)


OPTIMIZERS.register("sgd", SGDSpec, build_optimizer, "SGD, optional (Nesterov) momentum")
OPTIMIZERS.register("rmsprop", RMSpropSpec, build_optimizer, "RMSprop")
OPTIMIZERS.register("adam", AdamSpec, build_optimizer, "Adam")
