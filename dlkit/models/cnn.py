"""``cnn``: blocks of convolution (+ pooling), then a dense head."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from dlkit._spec import Spec
from dlkit.errors import BuildError
from dlkit.models.mlp import Activation
from dlkit.models.registry import MODELS, Head, output_layer

if TYPE_CHECKING:
    import keras


class CNNSpec(Spec):
    """Conv blocks of ``filters`` each (conv, optional batch norm, activation, pooling)."""

    type: Literal["cnn"] = "cnn"
    filters: list[int] = Field(default_factory=lambda: [16, 32], min_length=1)
    kernel_size: int = Field(default=3, ge=1)
    strides: int = Field(default=1, ge=1)
    padding: Literal["same", "valid"] = "same"
    pool: Literal["max", "average", "none"] = "max"
    pool_size: int = Field(default=2, ge=1)
    global_pool: bool = Field(default=False, description="Global average pooling instead of flatten.")
    dense: list[int] = Field(default_factory=lambda: [64], description="Dense head widths.")
    activation: Activation = "relu"
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout before each dense layer.")
    l2: float = Field(default=0.0, ge=0)
    batch_norm: bool = False


def _conv_out(n: int, f: int, s: int, padding: str) -> int:
    # METHODOLOGY §6: floor((n + 2p - f) / s) + 1, with p = (f - 1) / 2 for "same".
    if padding == "same":
        return -(-n // s)
    return (n - f) // s + 1


def build_cnn(spec: CNNSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    if len(x.shape) != 4:
        raise BuildError(
            f"model cnn needs image input (height, width, channels); the data has shape {tuple(x.shape[1:])}",
            hint="use model.type: mlp for tables",
        )
    reg = keras.regularizers.L2(spec.l2) if spec.l2 else None
    h, w = int(x.shape[1]), int(x.shape[2])
    input_size = f"{h}x{w}"
    for i, filters in enumerate(spec.filters):
        h2, w2 = (_conv_out(d, spec.kernel_size, spec.strides, spec.padding) for d in (h, w))
        if spec.pool != "none":
            h2, w2 = h2 // spec.pool_size, w2 // spec.pool_size
        if min(h2, w2) < 1:
            raise BuildError(
                f"model cnn: input {input_size} is too small for "
                f"{len(spec.filters)} conv blocks: block {i} would shrink {h}x{w} to {h2}x{w2}",
                hint="use fewer filters entries, padding: same, or pool: none",
            )
        x = keras.layers.Conv2D(
            filters,
            spec.kernel_size,
            strides=spec.strides,
            padding=spec.padding,
            kernel_initializer="he_normal",
            kernel_regularizer=reg,
            use_bias=not spec.batch_norm,
            name=f"conv_{i}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(name=f"conv_bn_{i}")(x)
        x = keras.layers.Activation(spec.activation, name=f"conv_act_{i}")(x)
        if spec.pool == "max":
            x = keras.layers.MaxPooling2D(spec.pool_size, name=f"pool_{i}")(x)
        elif spec.pool == "average":
            x = keras.layers.AveragePooling2D(spec.pool_size, name=f"pool_{i}")(x)
        h, w = h2, w2
    if spec.global_pool:
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(spec.dense):
        if spec.dropout:
            x = keras.layers.Dropout(spec.dropout, name=f"dropout_{i}")(x)
        x = keras.layers.Dense(units, activation=spec.activation, kernel_regularizer=reg, name=f"dense_{i}")(
            x
        )
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout_out")(x)
    return output_layer(head)(x)


MODELS.register("cnn", CNNSpec, build_cnn, "conv/pool blocks and a dense head (images)")
