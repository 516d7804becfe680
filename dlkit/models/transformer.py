"""``transformer``: a Transformer encoder classifier (Vaswani et al., 2017).

Token ids (with an ``embedding``) or feature vectors (projected to ``d_model``), plus sinusoidal
positional encoding, then ``num_layers`` encoder blocks: multi-head self-attention and a
position-wise feed-forward network, each wrapped in dropout, a residual connection and layer
normalisation. Padding (id 0) is masked in attention and in the final average pooling, so the
prediction for a sequence does not depend on how much padding follows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from dlkit._lazy import lazy_module
from dlkit._spec import Width
from dlkit.models._embedding import embedding_layer, needs_tokens
from dlkit.models._errors import ModelError
from dlkit.models.registry import BuildContext, Head, output_layer
from dlkit.models.rnn import _SequenceSpec

if TYPE_CHECKING:
    import keras
    import numpy as np
else:
    np = lazy_module("numpy")


def sinusoidal_encoding(length: int, depth: int) -> np.ndarray:
    """`(length, depth)`: PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(same)."""
    positions = np.arange(length)[:, None]
    rates = 1.0 / np.power(10000.0, (2 * (np.arange(depth) // 2)) / depth)
    angles = positions * rates[None, :]
    out = np.zeros((length, depth), dtype="float32")
    out[:, 0::2] = np.sin(angles[:, 0::2])
    out[:, 1::2] = np.cos(angles[:, 1::2])
    return out


class TransformerSpec(_SequenceSpec):
    """Encoder blocks of multi-head self-attention and feed-forward layers, then average pooling."""

    type: Literal["transformer"] = "transformer"
    example_input: ClassVar[tuple[int, ...]] = (12, 3)
    d_model: int = Field(default=32, ge=2, description="Width of every position's vector.")
    num_heads: int = Field(default=2, ge=1)
    ff_dim: int = Field(default=64, ge=1, description="Hidden width of the feed-forward sub-layer.")
    num_layers: int = Field(default=2, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    dense: list[Width] = Field(default_factory=list, description="Dense layers before the output.")

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerSpec:
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be a multiple of num_heads ({self.num_heads}): "
                "each head attends in d_model / num_heads dimensions"
            )
        if self.embedding is not None and self.embedding.output_dim not in (None, self.d_model):
            raise ValueError(
                f"embedding.output_dim ({self.embedding.output_dim}) must equal d_model ({self.d_model})"
            )
        return self


def build_transformer(
    spec: TransformerSpec, x: keras.KerasTensor, head: Head, context: BuildContext
) -> keras.KerasTensor:
    import keras

    from dlkit.models.layers import PaddingMask, PositionalEncoding

    layers = keras.layers
    needs_tokens("transformer", x, spec.embedding)
    # explicit masks: Keras' implicit mask propagation does not reach a second attention block
    mask = PaddingMask(name="padding_mask")(x) if spec.embedding is not None else None
    attention_mask = mask[:, None, :] if mask is not None else None
    if spec.embedding is not None:
        emb = spec.embedding
        if emb.output_dim is None and emb.vectors is None:
            emb = emb.model_copy(update={"output_dim": spec.d_model})
        x = embedding_layer(emb, "transformer", context)(x)
        if int(x.shape[-1]) != spec.d_model:
            raise ModelError(
                f"model transformer: the embedding gives vectors of {int(x.shape[-1])} numbers "
                f"but d_model is {spec.d_model}",
                hint=f"set model.d_model: {int(x.shape[-1])}",
            )
    else:
        x = layers.Dense(spec.d_model, name="projection")(x)
    x = PositionalEncoding(scale=spec.embedding is not None, name="positional_encoding")(x)
    x = layers.Dropout(spec.dropout, name="input_dropout")(x)
    for i in range(spec.num_layers):
        attention = layers.MultiHeadAttention(
            spec.num_heads, spec.d_model // spec.num_heads, dropout=spec.dropout, name=f"block{i}_attention"
        )(x, x, attention_mask=attention_mask)
        attention = layers.Dropout(spec.dropout, name=f"block{i}_attention_dropout")(attention)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_attention_norm")(
            layers.Add(name=f"block{i}_attention_add")([x, attention])
        )
        ff = layers.Dense(spec.ff_dim, activation="relu", name=f"block{i}_ff1")(x)
        ff = layers.Dense(spec.d_model, name=f"block{i}_ff2")(ff)
        ff = layers.Dropout(spec.dropout, name=f"block{i}_ff_dropout")(ff)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_ff_norm")(
            layers.Add(name=f"block{i}_ff_add")([x, ff])
        )
    # the average over real tokens only
    x = layers.GlobalAveragePooling1D(name="pool")(x, mask=mask)
    for i, units in enumerate(spec.dense):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    return output_layer(head)(x)
