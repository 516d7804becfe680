"""``unet``: an encoder-decoder with skip connections for one prediction per pixel (segmentation).

Ronneberger et al. (2015): ``depth`` encoder blocks (two 3x3 convolutions, then 2x2 max
pooling) halve the image and double the filters from ``filters``; a bottleneck block; then as
many decoder blocks, each a 2x2 transposed convolution that doubles the size, concatenated
with the encoder block of the same size (the skip connection), and two 3x3 convolutions; a
1x1 convolution gives the head's outputs per pixel. Same padding keeps the output the input's
size: `(batch, height, width, channels)` -> `(batch, height, width, units)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dlkit._spec import Spec, Width
from dlkit.models._errors import ModelError
from dlkit.models._initializers import Initializer
from dlkit.models._shapes import image_size
from dlkit.models.mlp import Activation
from dlkit.models.registry import Head

if TYPE_CHECKING:
    import keras


class UNetSpec(Spec):
    """U-Net: ``depth`` halvings, ``filters`` in the first block, doubled at each level."""

    type: Literal["unet"] = "unet"
    example_input: ClassVar[tuple[int, ...]] = (16, 16, 1)
    depth: int = Field(default=2, ge=1, le=6, description="Encoder blocks (each halves the image).")
    filters: Width = Field(default=16, description="Filters of the first block; doubled at each level.")
    activation: Activation = "relu"
    kernel_initializer: Initializer = "he_normal"
    batch_norm: bool = Field(default=False, description="Batch normalisation after every convolution.")
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout in the bottleneck.")


def _block(spec: UNetSpec, x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    import keras

    for j in range(2):
        x = keras.layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=not spec.batch_norm,
            kernel_initializer=spec.kernel_initializer,
            name=f"{name}_conv{j}",
        )(x)
        if spec.batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn{j}")(x)
        x = keras.layers.Activation(spec.activation, name=f"{name}_act{j}")(x)
    return x


def build_unet(spec: UNetSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    """Encoder, bottleneck, decoder with skip concatenations, 1x1 output per pixel.

    Raises:
        ModelError: the image's sides are not divisible by 2^depth (the skips would not line up).
    """
    import keras

    h, w = image_size("unet", x, hint="unet takes images; use model.type: mlp for tables")
    factor = 2**spec.depth
    if h % factor or w % factor:
        raise ModelError(
            f"model unet: input {h}x{w} must be divisible by 2^depth = {factor} (depth {spec.depth}), "
            "so every skip connection meets a decoder block of its size",
            hint=f"resize the images to a multiple of {factor}, or lower model.depth",
        )
    skips = []
    for level in range(spec.depth):
        x = _block(spec, x, spec.filters * 2**level, f"down{level}")
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"down{level}_pool")(x)
    x = _block(spec, x, spec.filters * factor, "bottleneck")
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="bottleneck_dropout")(x)
    for level in reversed(range(spec.depth)):
        filters = spec.filters * 2**level
        x = keras.layers.Conv2DTranspose(
            filters,
            2,
            strides=2,
            padding="same",
            kernel_initializer=spec.kernel_initializer,
            name=f"up{level}_transpose",
        )(x)
        x = keras.layers.Concatenate(name=f"up{level}_skip")([x, skips[level]])
        x = _block(spec, x, filters, f"up{level}")
    return keras.layers.Conv2D(head.units, 1, activation=head.activation, dtype="float32", name="output")(x)
