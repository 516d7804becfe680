"""``cnn``: blocks of convolution (+ pooling), then a dense head."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from dlkit._spec import Spec, Width
from dlkit.models._errors import ModelError
from dlkit.models._initializers import Initializer
from dlkit.models._shapes import image_size, window_out
from dlkit.models.mlp import Activation, per_layer, regularizer
from dlkit.models.registry import Head, output_layer

if TYPE_CHECKING:
    import keras


class CNNSpec(Spec):
    """Conv blocks of ``filters`` each (conv, optional batch norm, activation, pooling).

    ``kernel_size``, ``strides`` and ``pool`` take one value for every block or a list with one
    per block; a block with ``kernel_size: 1`` is a 1x1 convolution (mixes channels, keeps the
    size), and ``pool: none`` on a block leaves it unpooled.
    """

    type: Literal["cnn"] = "cnn"
    example_input: ClassVar[tuple[int, ...]] = (8, 8, 1)
    filters: list[Width] = Field(default_factory=lambda: [16, 32], min_length=1)
    kernel_size: int | list[int] = Field(default=3, description="Per block, or one for all.")
    strides: int | list[int] = Field(default=1, description="Per block, or one for all.")
    padding: Literal["same", "valid"] = "same"
    pool: Literal["max", "average", "none"] | list[Literal["max", "average", "none"]] = "max"
    pool_size: int = Field(default=2, ge=1)
    global_pool: bool | Literal["average", "max"] = Field(
        default=False, description="Global average (true / average) or max pooling instead of flatten."
    )
    dense: list[Width] = Field(default_factory=lambda: [64], description="Dense head widths.")
    activation: Activation = "relu"
    kernel_initializer: Initializer = "he_normal"
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout before each dense layer.")
    l1: float = Field(default=0.0, ge=0)
    l2: float = Field(default=0.0, ge=0)
    batch_norm: bool = False

    @model_validator(mode="after")
    def _per_block_lengths(self) -> CNNSpec:
        for name in ("kernel_size", "strides", "pool"):
            value = getattr(self, name)
            if isinstance(value, list) and len(value) != len(self.filters):
                raise ValueError(
                    f"{name}: one value per conv block expected ({len(self.filters)} filters entries), "
                    f"got {len(value)}"
                )
        for name in ("kernel_size", "strides"):
            values = per_layer(getattr(self, name), 1)
            if any(v < 1 for v in values):
                raise ValueError(f"{name}: values must be at least 1 (got {getattr(self, name)})")
        return self


def build_cnn(spec: CNNSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    h, w = image_size("cnn", x)
    reg = regularizer(spec.l1, spec.l2)
    n = len(spec.filters)
    kernels, strides, pools = (per_layer(v, n) for v in (spec.kernel_size, spec.strides, spec.pool))
    input_size = f"{h}x{w}"
    for i, filters in enumerate(spec.filters):
        h2, w2 = (window_out(d, kernels[i], strides[i], spec.padding) for d in (h, w))
        if pools[i] != "none":
            h2, w2 = h2 // spec.pool_size, w2 // spec.pool_size
        if min(h2, w2) < 1:
            raise ModelError(
                f"model cnn: input {input_size} is too small for "
                f"{n} conv blocks: block {i} would shrink {h}x{w} to {h2}x{w2}",
                hint="use fewer filters entries, padding: same, smaller strides, or pool: none",
            )
        x = keras.layers.Conv2D(
            filters,
            kernels[i],
            strides=strides[i],
            padding=spec.padding,
            kernel_initializer=spec.kernel_initializer,
            kernel_regularizer=reg,
            use_bias=not spec.batch_norm,
            name=f"conv_{i}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(name=f"conv_bn_{i}")(x)
        x = keras.layers.Activation(spec.activation, name=f"conv_act_{i}")(x)
        if pools[i] == "max":
            x = keras.layers.MaxPooling2D(spec.pool_size, name=f"pool_{i}")(x)
        elif pools[i] == "average":
            x = keras.layers.AveragePooling2D(spec.pool_size, name=f"pool_{i}")(x)
        h, w = h2, w2
    if head.grid is not None:  # a detection grid reads the feature map itself, cell by cell
        return output_layer(head)(x)
    if spec.global_pool == "max":
        x = keras.layers.GlobalMaxPooling2D(name="global_pool")(x)
    elif spec.global_pool:
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(spec.dense):
        if spec.dropout:
            x = keras.layers.Dropout(spec.dropout, name=f"dropout_{i}")(x)
        x = keras.layers.Dense(
            units,
            activation=spec.activation,
            kernel_initializer=spec.kernel_initializer,
            kernel_regularizer=reg,
            name=f"dense_{i}",
        )(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout_out")(x)
    return output_layer(head)(x)
