"""``seq2seq``: an encoder-decoder with attention, and greedy / beam-search decoding.

Training uses teacher forcing: the model takes the source ids `(batch, Tx)` and the target
shifted right behind the start token `(batch, Ty)`, and gives next-token probabilities
`(batch, Ty, target vocabulary)`. Id 0 is padding everywhere (masked; train with
:func:`seq2seq_loss`, which ignores it), ``start_token`` opens and ``end_token`` closes a target.

The encoder is a (bidirectional) GRU or LSTM over the source embeddings; its final states,
through a dense "bridge", start the decoder RNN. At every target step the decoder state
queries the encoder outputs: ``attention: additive`` scores them as vᵀ tanh(q + W k)
(Bahdanau), ``attention: dot`` as qᵀ W k (Luong's "general" score). The context vector and
the decoder state are combined by a tanh layer before the softmax (Luong et al., 2015).

:func:`decode` runs the trained (or reloaded) model step by step: greedy, or beam search with
``beam_width`` hypotheses and length normalisation (log P / Ty^alpha), as in the course.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from dlkit._lazy import lazy_module
from dlkit._spec import Spec
from dlkit.models._errors import ModelError
from dlkit.models.registry import BuildContext, Head

if TYPE_CHECKING:
    import keras
    import numpy as np
else:
    np = lazy_module("numpy")

PAD = 0


class DecodingSpec(Spec):
    """How :func:`decode` turns the model's step probabilities into a sequence."""

    method: Literal["greedy", "beam"] = "beam"
    beam_width: int = Field(default=3, ge=1)
    alpha: float = Field(default=0.7, ge=0, description="Length normalisation: score = log P / Ty^alpha.")
    max_length: int = Field(default=50, ge=1, description="Most tokens generated per sequence.")


class Seq2SeqSpec(Spec):
    """Encoder-decoder with attention for token-id sequences."""

    type: Literal["seq2seq"] = "seq2seq"
    example_input: ClassVar[tuple[int, ...]] = (10,)
    source_vocab_size: int | None = Field(default=None, ge=3, description="From the data when absent.")
    target_vocab_size: int | None = Field(
        default=None, ge=3, description="From the data when absent, else source_vocab_size."
    )
    embedding_dim: int = Field(default=32, ge=1)
    units: int = Field(default=64, ge=1, description="Encoder and decoder RNN width.")
    cell: Literal["gru", "lstm"] = "gru"
    bidirectional: bool = Field(default=True, description="Bidirectional encoder.")
    attention: Literal["additive", "dot"] = Field(
        default="additive", description="additive (Bahdanau) or dot (Luong) scores."
    )
    dropout: float = Field(default=0.0, ge=0, lt=1, description="On the combined context and state.")
    start_token: int = Field(default=1, ge=1)
    end_token: int = Field(default=2, ge=1)
    decoding: DecodingSpec = Field(default_factory=DecodingSpec)

    @model_validator(mode="after")
    def _tokens_differ(self) -> Seq2SeqSpec:
        if self.start_token == self.end_token:
            raise ValueError(f"start_token and end_token must differ (both {self.start_token})")
        return self

    def token_inputs(self, input_shape: tuple[int | None, ...], context: BuildContext) -> bool:
        return True

    def raw_inputs(self, input_shape: tuple[int | None, ...], context: BuildContext) -> bool:
        return True


def _vocab(
    spec_value: int | None, context: BuildContext, attrs: tuple[str, ...], fallback: int | None
) -> int | None:
    if spec_value is not None:
        return spec_value
    for attr in attrs:
        value = getattr(context.data, attr, None)
        if value:
            return int(value)
    return fallback


def build_seq2seq(spec: Seq2SeqSpec, x: keras.KerasTensor, head: Head, context: BuildContext) -> keras.Model:
    import keras

    layers = keras.layers
    if len(x.shape) != 2:
        raise ModelError(
            f"model seq2seq needs token ids of shape (timesteps,); the data has shape {tuple(x.shape[1:])}"
        )
    source_vocab = _vocab(spec.source_vocab_size, context, ("source_vocab_size", "vocab_size"), None)
    # one shared vocabulary unless the spec or the data says otherwise
    target_vocab = _vocab(spec.target_vocab_size, context, ("target_vocab_size",), source_vocab)
    if source_vocab is None or target_vocab is None:
        raise ModelError(
            "model seq2seq: source_vocab_size: the vocabulary size is needed and the data does not give one",
            hint="set model.source_vocab_size (and target_vocab_size if it differs)",
        )
    for name, token in (("start_token", spec.start_token), ("end_token", spec.end_token)):
        if token >= target_vocab:
            raise ModelError(
                f"model seq2seq: {name} {token} is not an id of the target vocabulary (0..{target_vocab - 1})"
            )
    rnn = layers.GRU if spec.cell == "gru" else layers.LSTM
    n_states = 1 if spec.cell == "gru" else 2

    source = x
    embedded = layers.Embedding(source_vocab, spec.embedding_dim, mask_zero=True, name="source_embedding")(
        source
    )
    encoder = rnn(spec.units, return_sequences=True, return_state=True, name="encoder_rnn")
    if spec.bidirectional:
        encoder = layers.Bidirectional(encoder, name="encoder")
        outputs = encoder(embedded)
        encoded, forward, backward = outputs[0], outputs[1 : 1 + n_states], outputs[1 + n_states :]
        final = [
            layers.Concatenate(name=f"encoder_state_{i}")([f, b])
            for i, (f, b) in enumerate(zip(forward, backward, strict=True))
        ]
    else:
        outputs = encoder(embedded)
        encoded, final = outputs[0], list(outputs[1:])
    # the "bridge": the encoder's final states, resized, start the decoder
    initial = [
        layers.Dense(spec.units, activation="tanh", name=f"bridge_{i}")(s) for i, s in enumerate(final)
    ]
    keys = layers.Dense(spec.units, use_bias=False, name="attention_keys")(encoded)

    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    target_embedded = layers.Embedding(
        target_vocab, spec.embedding_dim, mask_zero=True, name="target_embedding"
    )(target_in)
    decoder_out = rnn(spec.units, return_sequences=True, return_state=True, name="decoder_rnn")(
        target_embedded, initial_state=initial
    )[0]
    attention = (
        layers.AdditiveAttention(name="attention")
        if spec.attention == "additive"
        else layers.Attention(name="attention")
    )
    context_vectors = attention([decoder_out, encoded, keys])
    combined = layers.Concatenate(name="attention_concat")([context_vectors, decoder_out])
    combined = layers.Dense(spec.units, activation="tanh", name="attention_combine")(combined)
    if spec.dropout:
        combined = layers.Dropout(spec.dropout, name="dropout")(combined)
    probs = layers.Dense(target_vocab, activation="softmax", dtype="float32", name="output")(combined)
    return keras.Model([source, target_in], probs, name="seq2seq")


def seq2seq_loss() -> Any:
    """Sparse categorical cross-entropy that skips padding targets (id 0)."""
    import keras

    return keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD)


def teacher_forcing(targets: np.ndarray, start_token: int, end_token: int) -> tuple[np.ndarray, np.ndarray]:
    """Decoder inputs and outputs from target sequences padded with 0.

    ``[7, 5, 0]`` becomes input ``[start, 7, 5, 0]`` and output ``[7, 5, end, 0]``.

    Args:
        targets: `(n, Ty)` ids, 0-padded on the right, without start or end tokens.

    Returns:
        `(n, Ty + 1)` decoder inputs and `(n, Ty + 1)` expected outputs.
    """
    n, length = targets.shape
    lengths = (targets != PAD).sum(axis=1)
    decoder_in = np.zeros((n, length + 1), dtype="int32")
    decoder_out = np.zeros((n, length + 1), dtype="int32")
    decoder_in[:, 0] = start_token
    decoder_in[:, 1:] = targets
    decoder_out[:, :length] = targets
    decoder_out[np.arange(n), lengths] = end_token
    # the input after the last real token is padding, not a copy of it
    return decoder_in, decoder_out


@dataclass
class _Stepper:
    """Runs the decoder one token at a time with the trained model's own layers."""

    model: Any

    def __post_init__(self) -> None:
        import keras

        m = self.model
        names = {layer.name for layer in m.layers}
        bridges = sorted(name for name in names if name.startswith("bridge_"))
        encoded = m.get_layer("encoder" if "encoder" in names else "encoder_rnn").output[0]
        self.encoder = keras.Model(
            m.inputs[0],
            [encoded, m.get_layer("attention_keys").output, *(m.get_layer(b).output for b in bridges)],
        )
        self.embedding = m.get_layer("target_embedding")
        self.rnn = m.get_layer("decoder_rnn")
        self.attention = m.get_layer("attention")
        self.combine = m.get_layer("attention_combine")
        self.concat = m.get_layer("attention_concat")
        self.output = m.get_layer("output")

    def encode(self, source: np.ndarray) -> tuple[Any, Any, list[Any]]:
        encoded, keys, *states = self.encoder(source, training=False)
        return encoded, keys, list(states)

    def step(
        self, tokens: np.ndarray, states: list[Any], encoded: Any, keys: Any, source_mask: Any
    ) -> tuple[np.ndarray, list[Any]]:
        """Log-probabilities `(batch, vocab)` of the next token, and the new decoder states."""
        import keras

        emb = self.embedding(tokens[:, None])
        out, *states = self.rnn(emb, initial_state=states, training=False)
        context = self.attention([out, encoded, keys], mask=[None, source_mask], training=False)
        combined = self.combine(self.concat([context, out]))
        probs = keras.ops.convert_to_numpy(self.output(combined))[:, 0, :]
        return np.log(np.maximum(probs, 1e-12)), states


def _take(tensors: list[Any], index: np.ndarray) -> list[Any]:
    import keras

    return [keras.ops.take(t, index, axis=0) for t in tensors]


def greedy_decode(
    model: keras.Model, source: np.ndarray, *, start_token: int = 1, end_token: int = 2, max_length: int = 50
) -> list[list[int]]:
    """The most likely next token at every step, until ``end_token`` or ``max_length``.

    Returns:
        One list of ids per source sequence, without start and end tokens.
    """
    import keras

    stepper = _Stepper(model)
    source = np.asarray(source, dtype="int32")
    encoded, keys, states = stepper.encode(source)
    mask = keras.ops.convert_to_tensor(source != PAD)
    n = len(source)
    tokens = np.full(n, start_token, dtype="int32")
    out: list[list[int]] = [[] for _ in range(n)]
    done = np.zeros(n, dtype=bool)
    for _ in range(max_length):
        logp, states = stepper.step(tokens, states, encoded, keys, mask)
        tokens = logp.argmax(axis=1).astype("int32")
        for i in np.flatnonzero(~done):
            if tokens[i] == end_token:
                done[i] = True
            else:
                out[i].append(int(tokens[i]))
        if done.all():
            break
    return out


def beam_search(
    model: keras.Model,
    source: np.ndarray,
    *,
    beam_width: int = 3,
    alpha: float = 0.7,
    start_token: int = 1,
    end_token: int = 2,
    max_length: int = 50,
) -> list[list[int]]:
    """Beam search: keep the ``beam_width`` most likely partial sequences at every step.

    A hypothesis that emits ``end_token`` within the top ``beam_width`` candidates is finished;
    a source is done once it has ``beam_width`` finished hypotheses (or at ``max_length``, when
    the live ones count as finished). The answer maximises log P(y | x) / Ty^alpha, Ty counting
    the end token; alpha = 0 is the raw probability, which favours short outputs. With
    ``beam_width`` 1 this is exactly greedy decoding.

    Returns:
        One list of ids per source sequence, without start and end tokens.
    """
    import keras

    stepper = _Stepper(model)
    source = np.asarray(source, dtype="int32")
    n, k = len(source), beam_width
    encoded, keys, states = stepper.encode(source)
    rows = np.repeat(np.arange(n), k)
    encoded, keys = _take([encoded, keys], rows)
    states = _take(states, rows)
    mask = keras.ops.convert_to_tensor(np.repeat(source != PAD, k, axis=0))
    scores = np.full((n, k), -np.inf)
    scores[:, 0] = 0.0  # one live hypothesis to start with, not k copies of it
    seqs: list[list[list[int]]] = [[[] for _ in range(k)] for _ in range(n)]
    tokens = np.full(n * k, start_token, dtype="int32")
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(n)]
    done = np.zeros(n, dtype=bool)
    for t in range(max_length):
        logp, states = stepper.step(tokens, states, encoded, keys, mask)
        vocab = logp.shape[1]
        candidates = scores[:, :, None] + logp.reshape(n, k, vocab)
        flat = candidates.reshape(n, k * vocab)
        order = np.argsort(-flat, axis=1, kind="stable")[:, : 2 * k]
        new_scores = np.full((n, k), -np.inf)
        new_seqs: list[list[list[int]]] = [[[] for _ in range(k)] for _ in range(n)]
        parents = np.zeros((n, k), dtype=int)
        new_tokens = np.full((n, k), end_token, dtype="int32")
        for i in range(n):
            if done[i]:
                continue
            alive = 0
            for rank, index in enumerate(order[i]):
                score = flat[i, index]
                if not np.isfinite(score):
                    break
                beam, token = divmod(int(index), vocab)
                if token == end_token:
                    if rank < k:
                        finished[i].append((score / (len(seqs[i][beam]) + 1) ** alpha, seqs[i][beam]))
                    continue
                if alive < k:
                    new_scores[i, alive] = score
                    new_seqs[i][alive] = [*seqs[i][beam], token]
                    parents[i, alive] = beam
                    new_tokens[i, alive] = token
                    alive += 1
            if len(finished[i]) >= k:
                done[i] = True
        if done.all():
            break
        last = t == max_length - 1
        for i in range(n):
            if not done[i] and last:
                for b in range(k):
                    if np.isfinite(new_scores[i, b]):
                        finished[i].append((new_scores[i, b] / len(new_seqs[i][b]) ** alpha, new_seqs[i][b]))
        scores, seqs = new_scores, new_seqs
        tokens = new_tokens.reshape(-1)
        states = _take(states, (np.arange(n)[:, None] * k + parents).reshape(-1))
    return [max(f, key=lambda item: item[0])[1] if f else [] for f in finished]


def decode(
    model: keras.Model, source: np.ndarray, spec: Seq2SeqSpec | None = None, **overrides: Any
) -> list[list[int]]:
    """Decode ``source`` `(n, Tx)` with the spec's decoding settings (greedy or beam search).

    Args:
        model: a built, trained or reloaded seq2seq model.
        source: source ids, 0-padded.
        spec: the model's spec (its tokens and ``decoding``); the defaults when None.
        **overrides: any of ``method``, ``beam_width``, ``alpha``, ``max_length``.
    """
    spec = spec or Seq2SeqSpec()
    settings = spec.decoding.model_copy(update=overrides)
    tokens = {"start_token": spec.start_token, "end_token": spec.end_token, "max_length": settings.max_length}
    if settings.method == "greedy":
        return greedy_decode(model, source, **tokens)
    return beam_search(model, source, beam_width=settings.beam_width, alpha=settings.alpha, **tokens)


def attention_weights(model: keras.Model, source: np.ndarray, target_in: np.ndarray) -> np.ndarray:
    """The decoder's attention over the source at every target step, teacher-forced.

    Args:
        model: a trained seq2seq model.
        source: `(n, Tx)` source ids, 0-padded.
        target_in: `(n, Ty)` decoder inputs: the start token, then the output's ids, 0-padded.

    Returns:
        `(n, Ty, Tx)` weights: row t is where the decoder looked to emit output token t (each
        row sums to 1 over the source's real tokens; padding gets 0).
    """
    import keras

    stepper = _Stepper(model)
    source = np.asarray(source, dtype="int32")
    encoded, keys, states = stepper.encode(source)
    emb = stepper.embedding(np.asarray(target_in, dtype="int32"))
    out = stepper.rnn(emb, initial_state=states, training=False)[0]
    mask = keras.ops.convert_to_tensor(source != PAD)
    _, scores = stepper.attention(
        [out, encoded, keys], mask=[None, mask], return_attention_scores=True, training=False
    )
    return np.asarray(keras.ops.convert_to_numpy(scores), dtype=np.float64)
