"""Word vectors: the pure NumPy maths behind ``dlkit embed`` (no TensorFlow).

What the trainers in :mod:`dlkit.embeddings` draw their examples from, and what the reports
compute on the vectors they write:

- :func:`count_words`: the vocabulary of a corpus, most frequent first, words rarer than
  ``min_count`` left out;
- :func:`unigram_distribution`: the negative-sampling distribution ``P(w) ∝ count(w)^0.75``
  (Mikolov et al. 2013);
- :func:`keep_probabilities`: subsampling of frequent words, each occurrence kept with
  probability ``min(1, sqrt(t / f(w)))`` where ``f(w)`` is the word's share of the corpus;
- :func:`skipgram_pairs` and :func:`negative_sampling_examples`: the (centre, context) pairs of
  a window and, per pair, ``k`` negatives drawn from the unigram distribution with the targets
  ``[1, 0, ..., 0]``;
- :func:`cooccurrences` and :func:`glove_weight`: GloVe's counts in a window (each pair weighted
  ``1/distance``) and its weighting ``f(x) = (x / x_max)^α`` below ``x_max``, else 1 (f(0) = 0);
- :func:`cosine_similarities`, :func:`neighbors`, :func:`analogy`: cosine similarity, nearest
  words, and ``a : b :: c : ?`` as the word nearest ``b − a + c`` (unit vectors, the query
  words excluded; Mikolov's 3CosAdd);
- :func:`evaluate_analogies`, :func:`similarity_correlation`: analogy accuracy per section and
  Spearman's ρ between human scores and cosine similarities, with their coverage;
- :func:`project_2d`: PCA (NumPy SVD) or t-SNE (scikit-learn) to two dimensions for a plot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from dlkit.errors import DataError

Projection = Literal["pca", "tsne"]


# -- corpus statistics -----------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Words kept from a corpus, most frequent first (ties alphabetical); id i is ``words[i]``."""

    words: list[str]
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def encode(self, sentences: Iterable[Sequence[str]]) -> list[np.ndarray]:
        """Each sentence as an array of ids, words outside the vocabulary dropped."""
        index = self.index
        return [np.array([index[w] for w in s if w in index], dtype=np.int64) for s in sentences]


def count_words(sentences: Iterable[Sequence[str]], min_count: int = 1) -> Vocabulary:
    """The vocabulary of ``sentences``: words seen at least ``min_count`` times, most frequent first."""
    counter = Counter(w for s in sentences for w in s)
    kept = sorted(((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
    return Vocabulary([w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64))


def unigram_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """The negative-sampling distribution: ``count^power``, normalised to sum to 1."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def keep_probabilities(counts: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Subsampling: the probability that one occurrence of each word is kept,
    ``min(1, sqrt(t / f))`` with ``f`` the word's share of the corpus (all 1 when ``t`` is 0)."""
    c = np.asarray(counts, dtype=np.float64)
    if threshold <= 0:
        return np.ones_like(c)
    share = c / c.sum()
    return np.minimum(1.0, np.sqrt(threshold / share))


def subsample(sentences: list[np.ndarray], keep: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Each sentence with each occurrence kept with its word's ``keep`` probability."""
    return [s[rng.random(len(s)) < keep[s]] for s in sentences]


def skipgram_pairs(sentences: list[np.ndarray], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (centre, context) pair with the context at most ``window`` words from the centre,
    within one sentence.

    Returns:
        ``(centres, contexts)``, each `(pairs,)`: sentence by sentence, centre by centre, the
        contexts from left to right.
    """
    centres: list[np.ndarray] = []
    contexts: list[np.ndarray] = []
    for s in sentences:
        n = len(s)
        offsets = np.array([o for o in range(-window, window + 1) if o != 0])
        pc = np.repeat(np.arange(n), len(offsets))
        px = pc + np.tile(offsets, n)
        inside = (px >= 0) & (px < n)
        centres.append(s[pc[inside]])
        contexts.append(s[px[inside]])
    if not centres:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(centres).astype(np.int64), np.concatenate(contexts).astype(np.int64)


@dataclass(frozen=True)
class NegativeSamplingExamples:
    """Skip-gram training examples: per pair its centre, its true context followed by ``k``
    negatives, and the targets ``[1, 0, ..., 0]``.

    Attributes:
        centres: `(pairs,)` word ids.
        contexts: `(pairs, 1 + k)` word ids, column 0 the observed context.
        targets: `(pairs, 1 + k)` 1.0 in column 0, else 0.0.
    """

    centres: np.ndarray
    contexts: np.ndarray
    targets: np.ndarray


def negative_sampling_examples(
    centres: np.ndarray,
    contexts: np.ndarray,
    negatives: int,
    distribution: np.ndarray,
    rng: np.random.Generator,
) -> NegativeSamplingExamples:
    """Add ``negatives`` words drawn from ``distribution`` (with replacement) to every pair."""
    n = len(centres)
    drawn = rng.choice(len(distribution), size=(n, negatives), p=distribution)
    targets = np.zeros((n, 1 + negatives), dtype=np.float32)
    targets[:, 0] = 1.0
    return NegativeSamplingExamples(
        np.asarray(centres, dtype=np.int64),
        np.concatenate([np.asarray(contexts, dtype=np.int64)[:, None], drawn], axis=1),
        targets,
    )


@dataclass(frozen=True)
class Cooccurrences:
    """GloVe's nonzero co-occurrence counts ``X_ij`` (symmetric: both orders are listed)."""

    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray


def cooccurrences(sentences: list[np.ndarray], window: int, vocab_size: int) -> Cooccurrences:
    """Counts of word j within ``window`` words of word i, each occurrence weighted
    ``1 / distance`` (GloVe's weighting of the window), both directions."""
    matrix = np.zeros((vocab_size, vocab_size), dtype=np.float64)
    for s in sentences:
        for d in range(1, window + 1):
            if d >= len(s):
                break
            np.add.at(matrix, (s[:-d], s[d:]), 1.0 / d)
            np.add.at(matrix, (s[d:], s[:-d]), 1.0 / d)
    rows, cols = np.nonzero(matrix)
    return Cooccurrences(rows.astype(np.int64), cols.astype(np.int64), matrix[rows, cols])


def glove_weight(x: np.ndarray | float, x_max: float = 100.0, alpha: float = 0.75) -> np.ndarray:
    """GloVe's weighting ``f(x) = (x / x_max)^α`` for ``x < x_max``, else 1; ``f(0) = 0``."""
    v = np.asarray(x, dtype=np.float64)
    return np.where(v < x_max, (np.maximum(v, 0.0) / x_max) ** alpha, 1.0)


def glove_cost(
    w: np.ndarray, w_tilde: np.ndarray, b: np.ndarray, b_tilde: np.ndarray, co: Cooccurrences, **weight: Any
) -> float:
    """GloVe's objective ``Σ f(X_ij) (w_i·w̃_j + b_i + b̃_j − log X_ij)²`` over the nonzero counts."""
    fit = (w[co.rows] * w_tilde[co.cols]).sum(axis=1) + b[co.rows] + b_tilde[co.cols]
    return float((glove_weight(co.counts, **weight) * (fit - np.log(co.counts)) ** 2).sum())


# -- using the vectors ------------------------------------------------------------------------


@dataclass(frozen=True)
class WordVectors:
    """Words and their vectors `(words, dim)`, in the order of the file they came from."""

    words: list[str]
    matrix: np.ndarray

    @cached_property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def unit(self) -> np.ndarray:
        """Every vector divided by its L2 norm (a zero vector stays zero)."""
        m = np.asarray(self.matrix, dtype=np.float64)
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms == 0, 1.0, norms)


def cosine_similarities(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarity `(words,)` between every row of ``matrix`` and ``query`` (0 for a zero vector)."""
    m = np.asarray(matrix, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1) * np.linalg.norm(q)
    return np.where(norms == 0, 0.0, (m @ q) / np.where(norms == 0, 1.0, norms))


@dataclass(frozen=True)
class Neighbor:
    word: str
    similarity: float


def _ranked(vectors: WordVectors, scores: np.ndarray, exclude: set[str], k: int) -> list[Neighbor]:
    order = np.argsort(-scores, kind="stable")
    found: list[Neighbor] = []
    for i in order:
        if vectors.words[i] in exclude:
            continue
        found.append(Neighbor(vectors.words[i], float(scores[i])))
        if len(found) == k:
            break
    return found


def _row(vectors: WordVectors, word: str, source: str) -> int:
    i = vectors.index.get(word)
    if i is None:
        raise DataError(f"{source}: '{word}' is not in the vocabulary ({len(vectors.words)} words)")
    return i


def neighbors(vectors: WordVectors, word: str, k: int = 10, source: str = "vectors") -> list[Neighbor]:
    """The ``k`` words most cosine-similar to ``word``, best first, the word itself excluded.

    Raises:
        DataError: ``word`` has no vector (``source`` names the file in the message).
    """
    i = _row(vectors, word, source)
    return _ranked(vectors, cosine_similarities(vectors.matrix, vectors.matrix[i]), {word}, k)


def analogy(
    vectors: WordVectors, a: str, b: str, c: str, k: int = 1, source: str = "vectors"
) -> list[Neighbor]:
    """``a : b :: c : ?``: the ``k`` words nearest ``b − a + c`` by cosine (unit vectors summed),
    the three query words excluded.

    Raises:
        DataError: a query word has no vector.
    """
    unit = vectors.unit()
    ia, ib, ic = (_row(vectors, w, source) for w in (a, b, c))
    target = unit[ib] - unit[ia] + unit[ic]
    return _ranked(vectors, cosine_similarities(unit, target), {a, b, c}, k)


# -- evaluation files -------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalogyQuestion:
    section: str
    words: tuple[str, str, str, str]
    line: int


def parse_analogies(lines: Iterable[str], source: str) -> list[AnalogyQuestion]:
    """Questions in Mikolov's ``questions-words.txt`` layout: ``: section`` lines and
    ``a b c d`` lines (lowercased; blank lines skipped).

    Raises:
        DataError: a line that is neither, or a file without questions.
    """
    questions: list[AnalogyQuestion] = []
    section = ""
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if text.startswith(":"):
            section = text[1:].strip()
            continue
        words = text.lower().split()
        if len(words) != 4:
            raise DataError(
                f"{source}: line {number}: expected four words 'a b c d' or a ': section' line "
                f"(got {len(words)} words: {text[:60]!r})"
            )
        questions.append(AnalogyQuestion(section, (words[0], words[1], words[2], words[3]), number))
    if not questions:
        raise DataError(f"{source}: no analogy questions (expected lines 'a b c d')")
    return questions


@dataclass
class SectionScore:
    """Analogy accuracy of one section: ``correct`` of ``answered`` (of ``n_questions``)."""

    section: str
    n_questions: int
    answered: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else float("nan")


@dataclass
class AnalogyScores:
    """Analogy accuracy over the questions whose four words all have vectors.

    Attributes:
        sections: one score per section, in file order.
        skipped: questions left out for a word without a vector (coverage = answered / total).
        wrong: up to 20 questions answered wrongly ``(a, b, c, expected, given)``.
    """

    sections: list[SectionScore]
    skipped: int
    wrong: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    @property
    def n_questions(self) -> int:
        return sum(s.n_questions for s in self.sections)

    @property
    def answered(self) -> int:
        return sum(s.answered for s in self.sections)

    @property
    def correct(self) -> int:
        return sum(s.correct for s in self.sections)

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else float("nan")

    @property
    def coverage(self) -> float:
        return self.answered / self.n_questions if self.n_questions else float("nan")


def evaluate_analogies(vectors: WordVectors, questions: list[AnalogyQuestion]) -> AnalogyScores:
    """Each question ``a b c d`` is right when ``d`` is the word nearest ``b − a + c`` (3CosAdd,
    the query words excluded); questions with a word that has no vector are skipped."""
    unit = vectors.unit()
    index = vectors.index
    sections: dict[str, SectionScore] = {}
    wrong: list[tuple[str, str, str, str, str]] = []
    skipped = 0
    for q in questions:
        score = sections.setdefault(q.section, SectionScore(q.section, 0, 0, 0))
        score.n_questions += 1
        ids = [index.get(w) for w in q.words]
        if any(i is None for i in ids):
            skipped += 1
            continue
        ia, ib, ic, id_ = (int(i) for i in ids if i is not None)
        sims = unit @ (unit[ib] - unit[ia] + unit[ic])
        sims[[ia, ib, ic]] = -np.inf
        best = int(np.argmax(sims))
        score.answered += 1
        if best == id_:
            score.correct += 1
        elif len(wrong) < 20:
            wrong.append((*q.words, vectors.words[best]))
    return AnalogyScores(list(sections.values()), skipped, wrong)


@dataclass(frozen=True)
class SimilarityPair:
    first: str
    second: str
    score: float
    line: int


def parse_similarities(lines: Iterable[str], source: str) -> list[SimilarityPair]:
    """Lines ``w1 w2 score`` (spaces or tabs; lowercased; blank lines and ``#`` comments skipped).

    Raises:
        DataError: a line that is not two words and a number, or a file without pairs.
    """
    pairs: list[SimilarityPair] = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.lower().split()
        try:
            if len(parts) != 3:
                raise ValueError
            pairs.append(SimilarityPair(parts[0], parts[1], float(parts[2]), number))
        except ValueError:
            raise DataError(
                f"{source}: line {number}: expected 'word word score' (got {text[:60]!r})"
            ) from None
    if not pairs:
        raise DataError(f"{source}: no word pairs (expected lines 'word word score')")
    return pairs


@dataclass(frozen=True)
class SimilarityScore:
    """Spearman's ρ between the file's scores and the cosine similarities of the pairs with vectors."""

    spearman: float
    n_pairs: int
    answered: int

    @property
    def coverage(self) -> float:
        return self.answered / self.n_pairs if self.n_pairs else float("nan")


def similarity_correlation(vectors: WordVectors, pairs: list[SimilarityPair]) -> SimilarityScore:
    """Spearman's ρ of human scores against cosine similarity (pairs with an OOV word skipped;
    NaN with fewer than two pairs answered)."""
    from scipy.stats import spearmanr

    index = vectors.index
    human: list[float] = []
    cosine: list[float] = []
    for p in pairs:
        i, j = index.get(p.first), index.get(p.second)
        if i is None or j is None:
            continue
        human.append(p.score)
        cosine.append(float(cosine_similarities(vectors.matrix[[j]], vectors.matrix[i])[0]))
    rho = float(spearmanr(human, cosine).statistic) if len(human) >= 2 else float("nan")
    return SimilarityScore(rho, len(pairs), len(human))


def project_2d(matrix: np.ndarray, method: Projection = "pca", seed: int = 0) -> np.ndarray:
    """Rows of ``matrix`` `(n, dim)` in two dimensions `(n, 2)`: the first two principal
    components (SVD of the centred rows; each component's sign set so its largest loading is
    positive), or t-SNE (scikit-learn, seeded; perplexity at most n − 1)."""
    m = np.asarray(matrix, dtype=np.float64)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(1, len(m) - 1)))
        return np.asarray(TSNE(2, perplexity=perplexity, random_state=seed, init="pca").fit_transform(m))
    centred = m - m.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:2]
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    out = centred @ components.T
    if out.shape[1] < 2:  # one-dimensional vectors
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out
