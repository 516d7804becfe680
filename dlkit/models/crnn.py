"""``crnn``: a convolutional recurrent network that reads an image left to right (task ``ctc``).

Conv blocks (convolution, ReLU, max pooling) turn an image `(height, width, channels)` into
feature maps; each column of the maps is one time step `(width', height' * filters)`, read by
a (bidirectional) GRU or LSTM, and a softmax over the alphabet and the CTC blank gives one
distribution per step `(batch, width', classes + 1)` (Shi et al., 2015). Every block halves
the height; only the first ``width_pools`` blocks halve the width, so the image keeps enough
columns for the longest label (CTC needs at least one step per character, and a blank
between repeated characters).

How the steps become a string is the model's ``decoding`` (:func:`dlkit.tasks.ctc.ctc_decode`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dlkit._spec import Spec, Width
from dlkit.models._errors import ModelError
from dlkit.models._shapes import image_size
from dlkit.models.registry import Head, output_layer

if TYPE_CHECKING:
    import keras


class CTCDecodingSpec(Spec):
    """How the per-step distributions become a string."""

    method: Literal["greedy", "beam"] = Field(
        default="greedy",
        description="greedy: the most likely class per step, repeats collapsed, blanks dropped; "
        "beam: CTC beam search over the collapsed strings.",
    )
    beam_width: int = Field(default=10, ge=1)


class CRNNSpec(Spec):
    """Conv blocks over an image, then a recurrent layer over its columns, one softmax per column."""

    type: Literal["crnn"] = "crnn"
    example_input: ClassVar[tuple[int, ...]] = (8, 32, 1)
    filters: list[Width] = Field(default_factory=lambda: [16, 32], min_length=1)
    kernel_size: int = Field(default=3, ge=1)
    width_pools: int = Field(
        default=1, ge=0, description="How many of the first conv blocks also halve the width."
    )
    units: int = Field(default=64, ge=1, description="Recurrent units (per direction).")
    cell: Literal["gru", "lstm"] = "gru"
    bidirectional: bool = True
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Before the output layer.")
    decoding: CTCDecodingSpec = Field(default_factory=CTCDecodingSpec)


def build_crnn(spec: CRNNSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    layers = keras.layers
    h, w = image_size("crnn", x, hint="crnn reads images (n, height, width, channels)")
    for i, filters in enumerate(spec.filters):
        pool = (2 if h >= 2 else 1, 2 if i < spec.width_pools else 1)
        if pool[1] == 2 and w < 2:
            raise ModelError(
                f"model crnn: block {i} would halve a width of {w}",
                hint="lower width_pools or use fewer filters entries",
            )
        x = layers.Conv2D(filters, spec.kernel_size, padding="same", activation="relu", name=f"conv_{i}")(x)
        x = layers.MaxPooling2D(pool, name=f"pool_{i}")(x)
        h, w = h // pool[0], w // pool[1]
    # (batch, h, w, c) -> (batch, w, h * c): one time step per column
    x = layers.Permute((2, 1, 3), name="columns")(x)
    x = layers.Reshape((w, h * int(spec.filters[-1])), name="steps")(x)
    rnn = layers.GRU if spec.cell == "gru" else layers.LSTM
    recurrent = rnn(spec.units, return_sequences=True, name="rnn")
    x = layers.Bidirectional(recurrent, name="birnn")(x) if spec.bidirectional else recurrent(x)
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="dropout")(x)
    return output_layer(head)(x)
