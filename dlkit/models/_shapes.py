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
    """Output length of a conv or pooling window (docs/method.md §6: ⌊(n + 2p − f) / s⌋ + 1)."""
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
