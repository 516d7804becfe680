"""rnn, transformer and seq2seq: masks, positional encoding, GloVe vectors, decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dlkit.errors import BuildError, DataError
from dlkit.models import MODELS, BuildContext, Head, build_model, load_model
from dlkit.models.seq2seq import decode, seq2seq_loss, teacher_forcing
from dlkit.models.transformer import sinusoidal_encoding


def test_sinusoidal_encoding_known_values() -> None:
    pe = sinusoidal_encoding(3, 4)
    assert pe[0].tolist() == [0.0, 1.0, 0.0, 1.0]
    # position 1: sin(1), cos(1), sin(1 / 10000^(2/4)), cos(1 / 100)
    np.testing.assert_allclose(pe[1], [np.sin(1), np.cos(1), np.sin(0.01), np.cos(0.01)], rtol=1e-6)


def test_positional_encoding_layer_adds_the_encoding() -> None:
    from dlkit.models.layers import PositionalEncoding

    out = PositionalEncoding(scale=False)(np.zeros((2, 5, 6), "float32"))
    np.testing.assert_allclose(np.asarray(out)[1], sinusoidal_encoding(5, 6), atol=1e-6)


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("transformer", {"embedding": {"input_dim": 20}, "d_model": 8, "num_layers": 2, "dropout": 0.0}),
        ("rnn", {"embedding": {"input_dim": 20}, "cell": "gru", "bidirectional": True, "units": [6, 6]}),
        ("rnn", {"embedding": {"input_dim": 20}, "cell": "lstm"}),
        ("avg_embedding", {"embedding": {"input_dim": 20}, "dense": [4]}),
    ],
)
def test_padding_does_not_change_the_prediction(name: str, settings: dict) -> None:
    model = build_model(MODELS.get(name).spec(**settings), (None,), Head(3, "softmax"))
    short = np.array([[5, 3, 7]], "int32")
    padded = np.array([[5, 3, 7, 0, 0, 0, 0]], "int32")
    np.testing.assert_allclose(np.asarray(model(short)), np.asarray(model(padded)), atol=1e-5)
    other = np.array([[5, 3, 8]], "int32")
    assert not np.allclose(np.asarray(model(short)), np.asarray(model(other)), atol=1e-7)


def test_bidirectional_stacked_many_to_many_shapes() -> None:
    spec = MODELS.get("rnn").spec(units=[4, 5], bidirectional=True, output="sequence")
    model = build_model(spec, (6, 2), Head(3, "softmax"))
    assert model.get_layer("bidirectional_1").output.shape[1:] == (6, 10)
    assert model.output_shape == (None, 6, 3)


def test_transformer_rejects_heads_that_do_not_divide() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"d_model \(10\) must be a multiple of num_heads \(4\)"):
        MODELS.get("transformer").spec(d_model=10, num_heads=4)


def test_token_input_needs_a_vocabulary_size() -> None:
    with pytest.raises(BuildError, match=r"model rnn: embedding.input_dim: the vocabulary size is needed"):
        build_model(MODELS.get("rnn").spec(embedding={}), (5,), Head(2, "softmax"))


def test_vocabulary_size_comes_from_the_data() -> None:
    class Data:
        vocab_size = 17

    model = build_model(
        MODELS.get("rnn").spec(embedding={}), (5,), Head(2, "softmax"), context=BuildContext(data=Data())
    )
    assert model.get_layer("embedding").get_config()["input_dim"] == 17


def test_feature_sequences_need_a_time_axis() -> None:
    with pytest.raises(BuildError, match=r"model rnn needs sequences of shape \(timesteps, features\)"):
        build_model(MODELS.get("rnn").spec(), (5,), Head(2, "softmax"))


def _glove(folder: Path) -> tuple[Path, Path]:
    vectors = folder / "vectors.txt"
    vectors.write_text("the 0.1 0.2 0.3\ncat 1.0 -1.0 0.5\nunused 9 9 9\n", encoding="utf-8")
    vocab = folder / "vocab.txt"
    vocab.write_text("<pad>\nthe\ncat\nzebra\n", encoding="utf-8")
    return vectors, vocab


def test_embedding_initialised_from_glove_vectors(workdir: Path) -> None:
    _glove(workdir)
    spec = MODELS.get("rnn").spec(
        embedding={"vectors": "vectors.txt", "vocabulary": "vocab.txt", "trainable": False}
    )
    model = build_model(spec, (5,), Head(2, "softmax"), context=BuildContext(base_dir=workdir))
    layer = model.get_layer("embedding")
    weights = np.asarray(layer.get_weights()[0])
    assert weights.shape == (4, 3)  # vocabulary size x the file's vector size
    np.testing.assert_allclose(weights[0], 0.0)  # padding
    np.testing.assert_allclose(weights[1], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(weights[2], [1.0, -1.0, 0.5])
    assert not layer.trainable


def test_glove_errors(workdir: Path) -> None:
    vectors, _ = _glove(workdir)
    context = BuildContext(base_dir=workdir)
    spec = MODELS.get("rnn").spec(
        embedding={"vectors": "vectors.txt", "vocabulary": "vocab.txt", "output_dim": 5}
    )
    with pytest.raises(
        BuildError, match=r"embedding.output_dim is 5 but .*vectors.txt has vectors of 3 numbers"
    ):
        build_model(spec, (5,), Head(2, "softmax"), context=context)
    vectors.write_text("the 0.1 0.2 0.3\ncat 1.0 -1.0\n", encoding="utf-8")
    spec = MODELS.get("rnn").spec(embedding={"vectors": "vectors.txt", "vocabulary": "vocab.txt"})
    with pytest.raises(
        DataError, match=r"vectors.txt: line 2: expected 3 numbers after the token, as on line 1 \(got 2\)"
    ):
        build_model(spec, (5,), Head(2, "softmax"), context=context)
    spec = MODELS.get("rnn").spec(embedding={"vectors": "vectors.txt", "input_dim": 4})
    with pytest.raises(BuildError, match=r"embedding\.vectors needs the vocabulary"):
        build_model(spec, (5,), Head(2, "softmax"), context=context)


def test_avg_embedding_is_the_mean_of_the_real_tokens_vectors(workdir: Path) -> None:
    import keras

    _glove(workdir)
    spec = MODELS.get("avg_embedding").spec(
        embedding={"vectors": "vectors.txt", "vocabulary": "vocab.txt", "trainable": False}
    )
    model = build_model(spec, (None,), Head(2, "softmax"), context=BuildContext(base_dir=workdir))
    mean = keras.Model(model.inputs[0], model.get_layer("mean").output)
    ids = np.array([[1, 2, 0, 0], [2, 2, 2, 0]], "int32")  # "the cat" and "cat cat cat", padded
    expected = [[(0.1 + 1.0) / 2, (0.2 - 1.0) / 2, (0.3 + 0.5) / 2], [1.0, -1.0, 0.5]]
    np.testing.assert_allclose(np.asarray(mean(ids)), expected, rtol=1e-6)
    assert not model.get_layer("embedding").trainable


def test_vectors_round_trip_through_the_glove_format(workdir: Path) -> None:
    from dlkit.models._embedding import read_vectors, write_vectors

    words = ["zebra", "the", "ünïcode"]
    values = np.array([[0.1, -2.5e-8, 3.0], [1 / 3, 0.0, -7.25], [1e6, 2.0, -0.5]], "float32")
    write_vectors(workdir / "out" / "v.txt", words, values)
    found, dim = read_vectors(workdir / "out" / "v.txt", None)
    assert dim == 3 and list(found) == words  # every word, in the file's order
    np.testing.assert_array_equal(np.stack(list(found.values())), values)  # exactly, float32
    with pytest.raises(DataError, match=r"v.txt: cannot write the word 'two words'"):
        write_vectors(workdir / "v.txt", ["two words"], values[:1])
    (workdir / "dup.txt").write_text("a 1 2\nb 3 4\na 5 6\n", encoding="utf-8")
    found, _ = read_vectors(workdir / "dup.txt", None)
    assert list(found) == ["a", "b"] and found["a"].tolist() == [1.0, 2.0]  # the first line of a word


def test_teacher_forcing_known_answer() -> None:
    decoder_in, decoder_out = teacher_forcing(np.array([[7, 5, 0], [4, 0, 0]]), start_token=1, end_token=2)
    assert decoder_in.tolist() == [[1, 7, 5, 0], [1, 4, 0, 0]]
    assert decoder_out.tolist() == [[7, 5, 2, 0], [4, 2, 0, 0]]


def _reversal(n: int, rng: np.random.Generator, length: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Source: 3 to ``length`` symbols from ids 3..12, 0-padded; target: the same reversed."""
    sizes = rng.integers(3, length + 1, n)
    source = np.zeros((n, length), "int32")
    target = np.zeros((n, length), "int32")
    for i, size in enumerate(sizes):
        source[i, :size] = rng.integers(3, 13, size)
        target[i, :size] = source[i, :size][::-1]
    return source, target


@pytest.mark.slow
def test_seq2seq_learns_to_reverse_sequences(workdir: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    source, target = _reversal(2000, rng)
    held_source, held_target = _reversal(150, rng)
    spec = MODELS.get("seq2seq").spec(source_vocab_size=13, units=48, decoding={"max_length": 10})
    model = build_model(spec, (6,), Head(13, "softmax"))
    decoder_in, decoder_out = teacher_forcing(target, spec.start_token, spec.end_token)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=seq2seq_loss())
    model.fit([source, decoder_in], decoder_out, epochs=5, batch_size=64, verbose=0)

    truth = [row[row != 0].tolist() for row in held_target]
    greedy = decode(model, held_source, spec, method="greedy")
    beam = decode(model, held_source, spec, method="beam", beam_width=3)
    assert np.mean([g == t for g, t in zip(greedy, truth, strict=True)]) >= 0.9
    assert np.mean([b == t for b, t in zip(beam, truth, strict=True)]) >= 0.9
    assert decode(model, held_source, spec, method="beam", beam_width=1) == greedy

    model.save(workdir / "s2s.keras")
    assert decode(load_model(workdir / "s2s.keras"), held_source[:20], spec, method="greedy") == greedy[:20]


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_beam_width_one_is_greedy_on_an_untrained_model(attention: str) -> None:
    import keras

    keras.utils.set_random_seed(1)
    spec = MODELS.get("seq2seq").spec(source_vocab_size=9, units=8, attention=attention)
    model = build_model(spec, (5,), Head(9, "softmax"))
    source, _ = _reversal(12, np.random.default_rng(1), length=5)
    source = np.minimum(source, 8)
    greedy = decode(model, source, spec, method="greedy", max_length=7)
    assert decode(model, source, spec, method="beam", beam_width=1, max_length=7) == greedy
    assert all(len(g) <= 7 for g in greedy)


def test_length_normalisation_changes_the_choice() -> None:
    """alpha = 0 maximises raw log P (short outputs); a larger alpha lets longer ones win."""
    import keras

    keras.utils.set_random_seed(3)
    spec = MODELS.get("seq2seq").spec(source_vocab_size=6, units=4)
    model = build_model(spec, (4,), Head(6, "softmax"))
    source = np.array([[3, 4, 5, 0]] * 4, "int32")
    short = decode(model, source, spec, method="beam", beam_width=4, alpha=0.0, max_length=8)
    long = decode(model, source, spec, method="beam", beam_width=4, alpha=1.5, max_length=8)
    assert len(short[0]) <= len(long[0])


def test_seq2seq_refuses_bad_tokens() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="start_token and end_token must differ"):
        MODELS.get("seq2seq").spec(start_token=2, end_token=2)
    with pytest.raises(
        BuildError, match=r"model seq2seq: end_token 12 is not an id of the target vocabulary"
    ):
        build_model(MODELS.get("seq2seq").spec(source_vocab_size=10, end_token=12), (5,), Head(2, "softmax"))
