"""Shape checks run while a network is being built, before any training.

Keras would fail later, deep inside a layer call, with a message about tensors; these checks
name the model, the layer and the sizes instead, and say what would fix it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlkit.models._errors import ModelError

if TYPE_CHECKING:
    import keras


def window_out(n: int, size: int, strides: int, padding: str) -> int:
    """Output length of a conv or pooling window (METHODOLOGY §6: ⌊(n + 2p − f) / s⌋ + 1)."""
    if padding == "same":
        return -(-n // strides)
    return (n - size) // strides + 1


def image_size(
    model: str, x: keras.KerasTensor, hint: str = "use model.type: mlp for tables"
) -> tuple[int, int]:
    """Height and width of an image input `(batch, height, width, channels)`.

    Raises:
        ModelError: the input is not an image.
    """
    if len(x.shape) != 4 or x.shape[1] is None or x.shape[2] is None:
        raise ModelError(
            f"model {model} needs image input (height, width, channels); "
            f"the data has shape {tuple(x.shape[1:])}",
            hint=hint,
        )
    return int(x.shape[1]), int(x.shape[2])


def check_window(
    model: str,
    layer: str,
    x: keras.KerasTensor,
    size: int | tuple[int, int],
    strides: int = 1,
    padding: str = "valid",
    hint: str | None = None,
) -> None:
    """Refuse a conv or pooling window that does not fit its input.

    Raises:
        ModelError: ``model <m>: layer <layer>: input HxW is too small for a KxK window ...``.
    """
    h, w = int(x.shape[1]), int(x.shape[2])
    kh, kw = (size, size) if isinstance(size, int) else size
    oh, ow = window_out(h, kh, strides, padding), window_out(w, kw, strides, padding)
    if min(oh, ow) < 1:
        raise ModelError(
            f"model {model}: layer {layer}: input {h}x{w} is too small for a {kh}x{kw} window "
            f"(strides {strides}, padding {padding}): the output would be {oh}x{ow}",
            hint=hint,
        )


def min_input_message(model: str, size: tuple[int, int], needed: int, reductions: int) -> str:
    """The message for an input smaller than the network's ``reductions`` halvings allow."""
    return (
        f"model {model}: input {size[0]}x{size[1]} is too small for its {reductions} "
        f"downsampling stages (poolings or strided convolutions): it needs at least {needed}x{needed}"
    )
