"""Helpers shared by the classic image networks: input resizing and size checks per layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dlkit.models._errors import ModelError
from dlkit.models._shapes import image_size, window_out

if TYPE_CHECKING:
    import keras


@dataclass
class SizeCheck:
    """Checks, layer by layer, that a network's windows fit the image as it shrinks.

    Attributes:
        model: the model type, for messages.
        input_size: the (possibly resized) input, height x width.
        reductions: how many poolings / strided layers the network has.
        nominal: the input size the architecture was designed for, suggested in the hint.
    """

    model: str
    input_size: tuple[int, int]
    reductions: int
    nominal: int

    def check(
        self, layer: str, x: keras.KerasTensor, size: int, strides: int = 1, padding: str = "valid"
    ) -> None:
        """Refuse a window that does not fit ``x`` (before the layer is made).

        Raises:
            ModelError: naming the layer, its input size and the window.
        """
        h, w = int(x.shape[1]), int(x.shape[2])
        oh, ow = window_out(h, size, strides, padding), window_out(w, size, strides, padding)
        if min(oh, ow) >= 1:
            return
        H, W = self.input_size
        raise ModelError(
            f"model {self.model}: input {H}x{W} is too small for its {self.reductions} poolings "
            f"and strided layers: layer {layer} gets {h}x{w}, too small for its {size}x{size} "
            f"window (strides {strides}, padding {padding})",
            hint=f"resize the input, e.g. model.resize: [{self.nominal}, {self.nominal}]",
        )


def prepare_image(
    model: str, x: keras.KerasTensor, resize: list[int] | None
) -> tuple[keras.KerasTensor, tuple[int, int]]:
    """Check that ``x`` is an image and resize it if the spec asks; return it and its size.

    Raises:
        ModelError: the input is not an image `(height, width, channels)`.
    """
    import keras

    image_size(model, x, hint="classic networks take images; use model.type: mlp for tables")
    if resize is not None:
        x = keras.layers.Resizing(resize[0], resize[1], name="resize")(x)
    return x, (int(x.shape[1]), int(x.shape[2]))


def require_min(model: str, size: tuple[int, int], needed: int, reductions: int, nominal: int) -> None:
    """Refuse inputs under ``needed`` pixels a side (keras.applications' own minimum).

    Raises:
        ModelError: ``model vgg16: input 8x8 is too small for its 5 poolings ...``.
    """
    if min(size) < needed:
        raise ModelError(
            f"model {model}: input {size[0]}x{size[1]} is too small for its {reductions} poolings "
            f"and strided layers: it needs at least {needed}x{needed}",
            hint=f"resize the input, e.g. model.resize: [{max(needed, 32)}, {max(needed, 32)}] "
            f"(the architecture was designed for {nominal}x{nominal})",
        )
