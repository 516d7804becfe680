"""``mlp``: fully connected layers; with no hidden layers, logistic / softmax regression."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from dlkit._spec import Spec
from dlkit.models.registry import MODELS, Head, output_layer

if TYPE_CHECKING:
    import keras

Activation = Literal["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "selu", "elu", "linear"]


class MLPSpec(Spec):
    """Dense layers of ``units`` each, then the task's output layer."""

    type: Literal["mlp"] = "mlp"
    units: list[int] = Field(
        default_factory=list,
        description="Hidden layer widths; [] is logistic (binary) or softmax regression.",
    )
    activation: Activation = "relu"
    kernel_initializer: str = Field(default="he_normal", description="A Keras initializer name.")
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout rate after each hidden layer.")
    l2: float = Field(default=0.0, ge=0, description="L2 penalty on every kernel.")
    batch_norm: bool = False


def build_mlp(spec: MLPSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    reg = keras.regularizers.L2(spec.l2) if spec.l2 else None
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(spec.units):
        x = keras.layers.Dense(
            units,
            kernel_initializer=spec.kernel_initializer,
            kernel_regularizer=reg,
            use_bias=not spec.batch_norm,
            name=f"dense_{i}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
        x = keras.layers.Activation(spec.activation, name=f"act_{i}")(x)
        if spec.dropout:
            x = keras.layers.Dropout(spec.dropout, name=f"dropout_{i}")(x)
    return output_layer(head)(x)


MODELS.register("mlp", MLPSpec, build_mlp, "dense layers; none = logistic/softmax regression")
