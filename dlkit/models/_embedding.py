"""The ``embedding`` front of sequence models: token ids -> vectors, optionally from GloVe.

A GloVe-format file is plain text, one token per line followed by its vector's numbers,
separated by spaces (``the 0.418 0.24968 -0.41242 ...``). It is read from a path the user
gives, never downloaded. Only the tokens in the vocabulary are kept, so a large file costs one
pass and little memory.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.errors import DataError
from dlkit.models._errors import ModelError

if TYPE_CHECKING:
    import keras
    import numpy as np

    from dlkit.models.registry import BuildContext
else:
    np = lazy_module("numpy")

log = logging.getLogger(__name__)


class EmbeddingSpec(Spec):
    """An ``Embedding`` layer for integer token ids (0 is padding)."""

    input_dim: int | None = Field(
        default=None, ge=2, description="Vocabulary size (ids 0..input_dim-1); from the data when absent."
    )
    output_dim: int | None = Field(
        default=None, ge=1, description="Vector size; the vectors file's when absent, else 32."
    )
    mask_zero: bool = Field(default=True, description="Id 0 is padding: masked in every later layer.")
    vectors: Path | None = Field(
        default=None,
        description="A GloVe-format text file to initialise the vectors from (never downloaded).",
    )
    vocabulary: Path | None = Field(
        default=None, description="Tokens, one per line, line i = id i; from the data when absent."
    )
    trainable: bool = Field(default=True, description="False keeps pretrained vectors fixed.")


def read_vocabulary(path: Path) -> list[str]:
    """Tokens of a vocabulary file, one per line (line i is id i).

    Raises:
        DataError: missing or empty file.
    """
    if not path.is_file():
        raise DataError(f"{path}: vocabulary file not found")
    tokens = path.read_text(encoding="utf-8").splitlines()
    if not tokens:
        raise DataError(f"{path}: the vocabulary file is empty; expected one token per line")
    return tokens


def read_vectors(path: Path, vocabulary: list[str] | None) -> tuple[dict[str, np.ndarray], int]:
    """Vectors of the vocabulary's tokens found in a GloVe-format file, and the vector size.

    With ``vocabulary`` None, every token's, in the file's order (the first line of a token
    that appears twice).

    Raises:
        DataError: missing file, a line that is not a token followed by numbers, or lines of
            different lengths.
    """
    if not path.is_file():
        raise DataError(f"{path}: vectors file not found")
    wanted = set(vocabulary) if vocabulary is not None else None
    found: dict[str, np.ndarray] = {}
    dim: int | None = None
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if len(parts) < 2:
                if not line.strip():
                    continue
                raise DataError(
                    f"{path}: line {number}: expected a token followed by numbers (got {line[:40]!r})"
                )
            if dim is None:
                dim = len(parts) - 1
            elif len(parts) - 1 != dim:
                raise DataError(
                    f"{path}: line {number}: expected {dim} numbers after the token, as on line 1 "
                    f"(got {len(parts) - 1})"
                )
            keep = parts[0] not in found if wanted is None else parts[0] in wanted
            if keep:
                try:
                    found[parts[0]] = np.asarray(parts[1:], dtype="float32")
                except ValueError:
                    raise DataError(
                        f"{path}: line {number}: the vector of '{parts[0]}' has a value that is not a number"
                    ) from None
    if dim is None:
        raise DataError(f"{path}: the vectors file is empty")
    return found, dim


def write_vectors(path: Path, words: list[str], vectors: np.ndarray) -> None:
    """Write vectors in the GloVe text format :func:`read_vectors` reads (float32 values, printed
    with 9 significant digits so they read back exactly).

    Raises:
        DataError: a word that is empty or holds whitespace (it would not read back as one token).
    """
    for word in words:
        if not word or any(c.isspace() for c in word):
            raise DataError(
                f"{path}: cannot write the word {word!r}: a token must be non-empty, without spaces"
            )
    values = np.asarray(vectors, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for word, row in zip(words, values, strict=True):
            f.write(word + " " + " ".join(f"{v:.9g}" for v in row.tolist()) + "\n")


def _vocabulary(spec: EmbeddingSpec, context: BuildContext) -> list[str] | None:
    if spec.vocabulary is not None:
        return read_vocabulary(context.path(spec.vocabulary))
    vocab = getattr(context.data, "vocabulary", None)
    return [str(t) for t in vocab] if vocab is not None else None


def embedding_layer(spec: EmbeddingSpec, model: str, context: BuildContext, name: str = "embedding") -> Any:
    """A built ``keras.layers.Embedding``; with ``vectors``, its rows are set from the file.

    Tokens missing from the file keep small random vectors; id 0 (padding) gets zeros. The
    vectors go into the layer's weights, not its config, so a saved model stays small.

    Raises:
        ModelError: no vocabulary size, or a vector size that contradicts the file.
        DataError: unreadable vocabulary or vectors file.
    """
    import keras

    vocabulary = _vocabulary(spec, context)
    input_dim = spec.input_dim
    if input_dim is None:
        input_dim = getattr(context.data, "vocab_size", None) or (len(vocabulary) if vocabulary else None)
    if input_dim is None:
        raise ModelError(
            f"model {model}: embedding.input_dim: the vocabulary size is needed for token input "
            "and the data does not give one",
            hint="set model.embedding.input_dim (or model.embedding.vocabulary: a file of tokens)",
        )
    matrix = None
    output_dim = spec.output_dim
    if spec.vectors is not None:
        if vocabulary is None:
            raise ModelError(
                f"model {model}: embedding.vectors needs the vocabulary (which token each id is)",
                hint="set model.embedding.vocabulary: a file with one token per line (line i = id i)",
            )
        path = context.path(spec.vectors)
        found, dim = read_vectors(path, vocabulary)
        if output_dim is not None and output_dim != dim:
            raise ModelError(
                f"model {model}: embedding.output_dim is {output_dim} but {path} has vectors of {dim} numbers"
            )
        output_dim = dim
        rng = np.random.default_rng(0)
        matrix = rng.normal(0.0, 0.1, size=(input_dim, dim)).astype("float32")
        hits = 0
        for i, token in enumerate(vocabulary[:input_dim]):
            if token in found:
                matrix[i] = found[token]
                hits += 1
        if spec.mask_zero:
            matrix[0] = 0.0
        log.info("embedding: %d of %d tokens have vectors in %s", hits, min(input_dim, len(vocabulary)), path)
    layer = keras.layers.Embedding(
        input_dim, output_dim or 32, mask_zero=spec.mask_zero, trainable=spec.trainable, name=name
    )
    if matrix is not None:
        layer.build((None, None))
        layer.set_weights([matrix])
    return layer


def needs_tokens(model: str, x: keras.KerasTensor, embedding: EmbeddingSpec | None) -> None:
    """Refuse a shape that does not suit the input mode.

    Raises:
        ModelError: token ids without an embedding, or feature sequences with one.
    """
    if embedding is not None and len(x.shape) != 2:
        raise ModelError(
            f"model {model}: embedding expects token ids of shape (timesteps,); "
            f"the data has shape {tuple(x.shape[1:])}",
            hint="remove model.embedding for sequences of feature vectors",
        )
    if embedding is None and len(x.shape) != 3:
        raise ModelError(
            f"model {model} needs sequences of shape (timesteps, features), or token ids with "
            f"model.embedding; the data has shape {tuple(x.shape[1:])}",
            hint="add model.embedding: {} for token ids",
        )
