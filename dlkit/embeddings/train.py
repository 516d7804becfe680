"""Training word vectors: skip-gram with negative sampling, and GloVe, as small Keras models.

Both read a corpus of tokenised sentences and return one vector per vocabulary word; the maths
they draw their examples from (vocabulary, unigram^0.75 table, subsampling, pairs, co-occurrence
counts, GloVe's weighting) is :mod:`dlkit.analysis.word_vectors`.

- **skip-gram** (Mikolov et al. 2013): each epoch subsamples the corpus afresh, takes every
  (centre, context) pair of the window and draws ``negatives`` words per pair from the unigram
  distribution to the 3/4 power. The model scores a pair by the dot product of the centre's
  vector (``target`` embedding) and the context's (``context`` embedding); the loss is the
  logistic loss of the true context against 1 and of the negatives against 0. The vectors
  written are the ``target`` embedding's.
- **GloVe** (Pennington et al. 2014): the co-occurrence counts ``X_ij`` of the window (each pair
  weighted 1/distance) are counted once; the model predicts ``w_i·w̃_j + b_i + b̃_j`` and is
  fitted to ``log X_ij`` on the nonzero counts with the weights ``f(X_ij)`` (the weighted least
  squares objective: Keras's mean squared error with ``f`` as the sample weight), with AdaGrad as
  in the paper. The vectors written are ``(w + w̃) / 2``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from dlkit.analysis import word_vectors as wv
from dlkit.errors import DataError, RecipeError

log = logging.getLogger(__name__)

Method = Literal["skipgram", "glove"]
METHODS: tuple[str, ...] = ("skipgram", "glove")


@dataclass
class EmbedOptions:
    """How word vectors are trained.

    Attributes:
        method: ``skipgram`` (negative sampling) or ``glove``.
        dim: vector size.
        window: context words on each side of a centre word.
        negatives: skip-gram: negatives drawn per (centre, context) pair.
        epochs: passes over the pairs (skip-gram) or the nonzero counts (GloVe).
        min_count: words seen fewer times are left out of the vocabulary.
        subsample: skip-gram: the threshold t of subsampling (0: keep every word).
        learning_rate: Adam's (skip-gram) or AdaGrad's (GloVe); None: 0.01 and 0.1.
        batch_size: pairs (skip-gram) or counts (GloVe) per step.
        x_max: GloVe: counts at or above it get weight 1.
        alpha: GloVe: the exponent of the weighting below ``x_max``.
        seed: seeds the subsampling, the negatives and the initial vectors.
    """

    method: Method = "skipgram"
    dim: int = 50
    window: int = 5
    negatives: int = 5
    epochs: int = 5
    min_count: int = 1
    subsample: float = 1e-3
    learning_rate: float | None = None
    batch_size: int = 256
    x_max: float = 100.0
    alpha: float = 0.75
    seed: int = 0

    def check(self) -> None:
        """Raises RecipeError for an unknown method or a value out of range (named as its option)."""
        if self.method not in METHODS:
            raise RecipeError(f"--method: expected one of {', '.join(METHODS)} (got {self.method!r})")
        for name in ("dim", "window", "epochs", "min_count", "batch_size"):
            if getattr(self, name) < 1:
                raise RecipeError(
                    f"--{name.replace('_', '-')}: expected at least 1 (got {getattr(self, name)})"
                )
        if self.negatives < 1:
            raise RecipeError(f"--negatives: expected at least 1 (got {self.negatives})")
        if self.subsample < 0:
            raise RecipeError(f"--subsample: expected 0 (off) or a positive threshold (got {self.subsample})")

    @property
    def rate(self) -> float:
        """The learning rate: given, else 0.01 for skip-gram (Adam) and 0.1 for GloVe (AdaGrad)."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 0.01 if self.method == "skipgram" else 0.1


@dataclass
class Trained:
    """Vectors and the loss after each epoch."""

    vectors: wv.WordVectors
    losses: list[float]
    n_examples: int


def train_vectors(
    sentences: list[list[str]],
    options: EmbedOptions,
    source: str = "corpus",
    on_epoch: Callable[[int, float], None] | None = None,
) -> Trained:
    """Learn a vector for every word seen at least ``min_count`` times.

    Args:
        sentences: tokenised sentences.
        options: the method and its settings.
        source: names the corpus in errors.
        on_epoch: called with the epoch (from 1) and its mean loss.

    Raises:
        DataError: no word seen ``min_count`` times, or no sentence of two words.
    """
    options.check()
    vocabulary = wv.count_words(sentences, options.min_count)
    if len(vocabulary) < 2:
        raise DataError(
            f"{source}: {len(vocabulary)} distinct word(s) seen at least {options.min_count} times "
            "(--min-count); at least 2 are needed",
            hint="a larger corpus, or a smaller --min-count",
        )
    ids = [s for s in vocabulary.encode(sentences) if len(s) >= 2]
    if not ids:
        raise DataError(f"{source}: no sentence has two words of the vocabulary; no context to learn from")
    import keras

    keras.utils.set_random_seed(options.seed)
    fit = _skipgram if options.method == "skipgram" else _glove
    matrix, losses, n_examples = fit(ids, vocabulary, options, on_epoch)
    return Trained(wv.WordVectors(vocabulary.words, matrix), losses, n_examples)


def _epoch_relay(first: int, losses: list[float], on_epoch: Callable[[int, float], None] | None) -> Any:
    """A Keras callback that records each epoch's loss and relays it, numbered after ``first``
    epochs already run (skip-gram fits one epoch at a time)."""
    import keras

    class Relay(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            loss = float((logs or {}).get("loss", float("nan")))
            losses.append(loss)
            if on_epoch is not None:
                on_epoch(first + epoch + 1, loss)

    return Relay()


def _uniform(dim: int, seed: int) -> Any:
    """word2vec's and GloVe's initial vectors: uniform in ±0.5/dim."""
    import keras

    return keras.initializers.RandomUniform(-0.5 / dim, 0.5 / dim, seed=seed)


def _skipgram(
    ids: list[np.ndarray],
    vocabulary: wv.Vocabulary,
    options: EmbedOptions,
    on_epoch: Callable[[int, float], None] | None,
) -> tuple[np.ndarray, list[float], int]:
    import keras
    import tensorflow as tf

    n, d = len(vocabulary), options.dim
    centre = keras.Input((), dtype="int32", name="centre")
    contexts = keras.Input((options.negatives + 1,), dtype="int32", name="contexts")
    target = keras.layers.Embedding(n, d, embeddings_initializer=_uniform(d, options.seed), name="target")
    context = keras.layers.Embedding(
        n, d, embeddings_initializer=_uniform(d, options.seed + 1), name="context"
    )
    logits = keras.layers.Dot(axes=(2, 1))([context(contexts), target(centre)])
    model = keras.Model([centre, contexts], logits)
    # XLA (Keras's "auto" on TensorFlow) compiles for longer than these small steps run
    model.compile(
        optimizer=keras.optimizers.Adam(options.rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        jit_compile=False,
    )
    rng = np.random.default_rng(options.seed)
    distribution = wv.unigram_distribution(vocabulary.counts)
    keep = wv.keep_probabilities(vocabulary.counts, options.subsample)
    losses: list[float] = []
    n_examples = 0
    for epoch in range(options.epochs):
        # a fresh subsample and fresh negatives every epoch, as word2vec draws them per pass
        centres, observed = wv.skipgram_pairs(wv.subsample(ids, keep, rng), options.window)
        if not len(centres):
            raise DataError("subsampling left no pair of words; lower --subsample (0 keeps every word)")
        examples = wv.negative_sampling_examples(centres, observed, options.negatives, distribution, rng)
        n_examples = len(centres)
        data = (
            tf.data.Dataset.from_tensor_slices(
                ((examples.centres.astype("int32"), examples.contexts.astype("int32")), examples.targets)
            )
            .shuffle(len(centres), seed=options.seed + epoch)
            .batch(options.batch_size)
        )
        model.fit(data, epochs=1, verbose=0, shuffle=False, callbacks=[_epoch_relay(epoch, losses, on_epoch)])
    return np.asarray(target.embeddings.numpy(), dtype=np.float32), losses, n_examples


def _glove(
    ids: list[np.ndarray],
    vocabulary: wv.Vocabulary,
    options: EmbedOptions,
    on_epoch: Callable[[int, float], None] | None,
) -> tuple[np.ndarray, list[float], int]:
    import keras
    import tensorflow as tf

    n, d = len(vocabulary), options.dim
    co = wv.cooccurrences(ids, options.window, n)
    weights = wv.glove_weight(co.counts, options.x_max, options.alpha).astype("float32")
    i_in = keras.Input((), dtype="int32", name="word")
    j_in = keras.Input((), dtype="int32", name="context")

    w = keras.layers.Embedding(n, d, embeddings_initializer=_uniform(d, options.seed), name="w")
    w_tilde = keras.layers.Embedding(
        n, d, embeddings_initializer=_uniform(d, options.seed + 1), name="w_tilde"
    )
    b = keras.layers.Embedding(n, 1, embeddings_initializer="zeros", name="b")
    b_tilde = keras.layers.Embedding(n, 1, embeddings_initializer="zeros", name="b_tilde")
    dot = keras.layers.Dot(axes=1)([w(i_in), w_tilde(j_in)])
    prediction = keras.layers.Add()([dot, b(i_in), b_tilde(j_in)])
    model = keras.Model([i_in, j_in], prediction)
    # Keras's AdaGrad starts its accumulators at 0.1, which damps the first (tiny) gradients of
    # vectors initialised near 0 for hundreds of steps; near 0 it is the paper's scale-free AdaGrad
    optimizer = keras.optimizers.Adagrad(options.rate, initial_accumulator_value=1e-6)
    model.compile(optimizer=optimizer, loss="mse", jit_compile=False)
    data = (
        tf.data.Dataset.from_tensor_slices(
            (
                (co.rows.astype("int32"), co.cols.astype("int32")),
                np.log(co.counts).astype("float32")[:, None],
                weights,
            )
        )
        .shuffle(len(co.counts), seed=options.seed)
        .batch(options.batch_size)
    )
    losses: list[float] = []
    model.fit(
        data, epochs=options.epochs, verbose=0, shuffle=False, callbacks=[_epoch_relay(0, losses, on_epoch)]
    )
    vectors = (np.asarray(w.embeddings.numpy()) + np.asarray(w_tilde.embeddings.numpy())) / 2.0
    return vectors.astype(np.float32), losses, len(co.counts)
