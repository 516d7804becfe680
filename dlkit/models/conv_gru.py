"""``conv_gru``: the course's trigger-word model, a strided Conv1D then GRUs, a sigmoid per step.

A spectrogram `(frames, bins)` goes through Conv1D (``filters``, ``kernel_size``, ``strides``,
``same`` padding: ``ceil(frames / strides)`` steps) → batch normalisation → ReLU → dropout, then
one GRU per ``units`` entry (each returning every step, followed by dropout and batch
normalisation), and a Dense layer applied to every step (one sigmoid per output step for task
``trigger_word``). The GRUs are unidirectional: a detector that runs live cannot read ahead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dlkit._spec import Spec, Width
from dlkit.models.registry import Head, output_layer

if TYPE_CHECKING:
    import keras


class ConvGRUSpec(Spec):
    """Conv1D over time (downsampling by ``strides``), stacked GRUs, one output per step."""

    type: Literal["conv_gru"] = "conv_gru"
    example_input: ClassVar[tuple[int, ...]] = (12, 5)
    filters: Width = Field(default=196, description="Conv1D filters (the course: 196).")
    kernel_size: int = Field(default=15, ge=1, description="Conv1D window in spectrogram frames.")
    strides: int = Field(
        default=4,
        ge=1,
        description="Frames per output step; the data's labels must match (data.source.stride).",
    )
    units: list[Width] = Field(
        default_factory=lambda: [128, 128],
        min_length=1,
        description="One GRU per entry (the course: 128, 128).",
    )
    dropout: float = Field(default=0.2, ge=0, lt=1, description="After the convolution and after each GRU.")
    batch_norm: bool = Field(default=True, description="After the convolution and after each GRU.")


def build_conv_gru(spec: ConvGRUSpec, x: keras.KerasTensor, head: Head) -> keras.KerasTensor:
    import keras

    layers = keras.layers
    x = layers.Conv1D(spec.filters, spec.kernel_size, strides=spec.strides, padding="same", name="conv")(x)
    if spec.batch_norm:
        x = layers.BatchNormalization(name="conv_bn")(x)
    x = layers.Activation("relu", name="conv_relu")(x)
    if spec.dropout:
        x = layers.Dropout(spec.dropout, name="conv_dropout")(x)
    for i, units in enumerate(spec.units):
        x = layers.GRU(units, return_sequences=True, name=f"gru_{i}")(x)
        if spec.dropout:
            x = layers.Dropout(spec.dropout, name=f"gru_{i}_dropout")(x)
        if spec.batch_norm:
            x = layers.BatchNormalization(name=f"gru_{i}_bn")(x)
    # Dense on a (batch, steps, features) tensor is applied to every step (TimeDistributed)
    return output_layer(head)(x)
