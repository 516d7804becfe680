"""The model registry and the one build path shared by training and tuning.

A builder takes its spec, the input tensor (already normalised) and the :class:`Head`, and
returns the output tensor; :func:`build_model` wraps it into a named ``keras.Model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlkit._registry import Registry
from dlkit._spec import Spec

if TYPE_CHECKING:
    import keras

MODELS: Registry[Spec] = Registry("model")


@dataclass(frozen=True)
class Head:
    """The output layer the task needs: ``units`` outputs with ``activation``."""

    units: int
    activation: str

    @classmethod
    def for_task(cls, task: str, n_classes: int) -> Head:
        """Sigmoid for binary, softmax over the classes for multiclass, linear for regression."""
        if task == "binary":
            return cls(1, "sigmoid")
        if task == "multiclass":
            return cls(n_classes, "softmax")
        return cls(1, "linear")


def build_model(
    spec: Any,
    input_shape: tuple[int, ...],
    head: Head,
    normalizer: keras.layers.Layer | None = None,
    name: str | None = None,
) -> keras.Model:
    """Build the model ``spec`` describes for inputs of ``input_shape``.

    Args:
        spec: a registered model spec (its ``type`` picks the builder).
        input_shape: one example's shape, e.g. `(8, 8, 1)` or `(30,)`.
        head: the output layer.
        normalizer: an adapted normalisation layer applied first, so the saved model takes
            raw inputs.
        name: the Keras model name (defaults to the model type).

    Raises:
        BuildError: unknown type, or a spec that cannot work with this input shape.
    """
    import keras

    entry = MODELS.get(spec.type)
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = normalizer(inputs) if normalizer is not None else inputs
    outputs = entry.builder(spec, x, head)
    return keras.Model(inputs, outputs, name=name or spec.type)


def output_layer(head: Head) -> keras.layers.Layer:
    """The final Dense layer; float32 so mixed precision keeps a stable loss."""
    import keras

    return keras.layers.Dense(head.units, activation=head.activation, dtype="float32", name="output")
