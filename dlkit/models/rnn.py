"""``rnn``: SimpleRNN, GRU or LSTM layers, stacked and optionally bidirectional.

Input is either sequences of feature vectors `(timesteps, features)` or token ids
`(timesteps,)` with an ``embedding`` front (id 0 is padding and is masked throughout). The
output is one prediction per sequence (``output: last``, many-to-one) or one per timestep
(``output: sequence``, many-to-many).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dlkit._spec import Spec, Width
from dlkit.models._embedding import EmbeddingSpec, embedding_layer, needs_tokens
from dlkit.models.registry import BuildContext, Head, output_layer

if TYPE_CHECKING:
    import keras

Cell = Literal["simple_rnn", "gru", "lstm"]


class _SequenceSpec(Spec):
    embedding: EmbeddingSpec | None = Field(
        default=None, description="Token-id input: an Embedding layer first (id 0 = padding)."
    )

    def token_inputs(self, input_shape: tuple[int | None, ...], context: BuildContext) -> bool:
        """Token ids come in as integers."""
        return self.embedding is not None

    def raw_inputs(self, input_shape: tuple[int | None, ...], context: BuildContext) -> bool:
        """Token ids must not be standardised."""
        return self.embedding is not None

    def resolve_paths(self, base_dir: Path) -> None:
        """Make the embedding's files absolute, relative to the recipe's folder."""
        if self.embedding is None:
            return
        for name in ("vectors", "vocabulary"):
            value = getattr(self.embedding, name)
            if value is not None and not value.is_absolute():
                setattr(self.embedding, name, (base_dir / value).resolve())


class RNNSpec(_SequenceSpec):
    """Recurrent layers of ``units`` each (one entry per stacked layer)."""

    type: Literal["rnn"] = "rnn"
    example_input: ClassVar[tuple[int, ...]] = (12, 3)
    cell: Cell = "lstm"
    units: list[Width] = Field(
        default_factory=lambda: [32], min_length=1, description="One per stacked layer."
    )
    bidirectional: bool = False
    merge_mode: Literal["concat", "sum", "ave", "mul"] = Field(
        default="concat", description="How the two directions combine."
    )
    output: Literal["last", "sequence"] = Field(
        default="last", description="last: one output per sequence; sequence: one per timestep."
    )
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout on each layer's inputs.")
    recurrent_dropout: float = Field(default=0.0, ge=0, lt=1)
    dense: list[Width] = Field(default_factory=list, description="Dense layers before the output.")


def recurrent_layer(cell: Cell, units: int, name: str, **kwargs: object) -> keras.layers.Layer:
    """A Keras SimpleRNN, GRU or LSTM layer."""
    import keras

    kind = {"simple_rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    return kind(units, name=name, **kwargs)


def build_rnn(spec: RNNSpec, x: keras.KerasTensor, head: Head, context: BuildContext) -> keras.KerasTensor:
    import keras

    needs_tokens("rnn", x, spec.embedding)
    if spec.embedding is not None:
        x = embedding_layer(spec.embedding, "rnn", context)(x)
    for i, units in enumerate(spec.units):
        last = i == len(spec.units) - 1
        layer = recurrent_layer(
            spec.cell,
            units,
            f"{spec.cell}_{i}",
            return_sequences=not last or spec.output == "sequence",
            dropout=spec.dropout,
            recurrent_dropout=spec.recurrent_dropout,
        )
        if spec.bidirectional:
            layer = keras.layers.Bidirectional(layer, merge_mode=spec.merge_mode, name=f"bidirectional_{i}")
        x = layer(x)
    for i, units in enumerate(spec.dense):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    return output_layer(head)(x)
