"""``avg_embedding``: the mean of a text's word vectors, then dense layers (the course's Emojify V1).

Token ids `(timesteps,)` go through an ``embedding`` (id 0 is padding), the vectors of the
non-padding tokens are averaged (`(batch, output_dim)`), and optional dense layers lead to the
output. Without ``embedding`` the input is sequences of feature vectors `(timesteps, features)`,
averaged over time. Word order is lost; with pretrained ``embedding.vectors`` a word absent from the labelled
data still lands near its synonyms, so the model generalises to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from dlkit._spec import Width
from dlkit.models._embedding import embedding_layer, needs_tokens
from dlkit.models.registry import BuildContext, Head, output_layer
from dlkit.models.rnn import _SequenceSpec

if TYPE_CHECKING:
    import keras


class AvgEmbeddingSpec(_SequenceSpec):
    """Averaged word vectors of token-id input (``embedding: {}``), then ``dense`` layers."""

    type: Literal["avg_embedding"] = "avg_embedding"
    example_input: ClassVar[tuple[int, ...]] = (12, 3)
    dense: list[Width] = Field(default_factory=list, description="Dense layers after the mean (ReLU).")
    dropout: float = Field(default=0.0, ge=0, lt=1, description="Dropout on the mean vector.")


def build_avg_embedding(
    spec: AvgEmbeddingSpec, x: keras.KerasTensor, head: Head, context: BuildContext
) -> keras.KerasTensor:
    import keras

    needs_tokens("avg_embedding", x, spec.embedding)
    if spec.embedding is not None:
        # with mask_zero the mask reaches the pooling layer: the mean is over real tokens only
        x = embedding_layer(spec.embedding, "avg_embedding", context)(x)
    x = keras.layers.GlobalAveragePooling1D(name="mean")(x)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    for i, units in enumerate(spec.dense):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    return output_layer(head)(x)
