"""``mlp``: fully connected layers; with no hidden layers, logistic / softmax regression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from dlkit._spec import Spec, Width
from dlkit.models._initializers import Initializer
from dlkit.models.registry import Head, output_layer

if TYPE_CHECKING:
    import keras

Activation = Literal["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "selu", "elu", "swish", "linear"]


def per_layer(value: Any, n: int) -> list[Any]:
    """A scalar setting repeated for ``n`` layers, or the list given (already length-checked)."""
    return list(value) if isinstance(value, list) else [value] * n


def regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    """Keras' L1L2 penalty, or None when both are zero. L2 adds λ Σ w² to the loss."""
    import keras

    if not l1 and not l2:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


class MLPSpec(Spec):
    """Dense layers of ``units`` each, then the task's output layer."""

    type: Literal["mlp"] = "mlp"
    example_input: ClassVar[tuple[int, ...]] = (30,)
    units: list[Width] = Field(
        default_factory=list,
        description="Hidden layer widths; [] is logistic (binary) or softmax regression.",
    )
    activation: Activation = "relu"
    kernel_initializer: Initializer = Field(
        default="he_normal",
        description="A Keras initializer name: he_normal (ReLU), glorot_uniform (tanh), lecun_normal (SELU).",
    )
    bias_initializer: Initializer = Field(default="zeros", description="A Keras initializer name.")
    dropout: float | list[float] = Field(
        default=0.0, description="Dropout rate after each hidden layer, or one rate per layer."
    )
    l1: float = Field(default=0.0, ge=0, description="L1 penalty on every kernel.")
    l2: float = Field(default=0.0, ge=0, description="L2 penalty on every kernel.")
    batch_norm: bool | list[bool] = Field(
        default=False, description="Batch norm before each activation, or one flag per layer."
    )

    @model_validator(mode="after")
    def _per_layer_lengths(self) -> MLPSpec:
        for name in ("dropout", "batch_norm"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != len(self.units):
                raise ValueError(
                    f"{name}: one value per hidden layer expected ({len(self.units)} units entries), "
                    f"got {len(value)}"
                )
        rates = self.dropout if isinstance(self.dropout, list) else [self.dropout]
        if any(not 0 <= r < 1 for r in rates):
            raise ValueError(f"dropout: rates must be in [0, 1) (got {self.dropout})")
        return self


def build_mlp(spec: MLPSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    reg = regularizer(spec.l1, spec.l2)
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name="flatten")(x)
    dropouts = per_layer(spec.dropout, len(spec.units))
    norms = per_layer(spec.batch_norm, len(spec.units))
    for i, units in enumerate(spec.units):
        x = keras.layers.Dense(
            units,
            kernel_initializer=spec.kernel_initializer,
            bias_initializer=spec.bias_initializer,
            kernel_regularizer=reg,
            # batch norm's β makes the layer's bias redundant (docs/method.md §6)
            use_bias=not norms[i],
            name=f"dense_{i}",
        )(x)
        if norms[i]:
            x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
        x = keras.layers.Activation(spec.activation, name=f"act_{i}")(x)
        if dropouts[i]:
            x = keras.layers.Dropout(dropouts[i], name=f"dropout_{i}")(x)
    return output_layer(head)(x)
