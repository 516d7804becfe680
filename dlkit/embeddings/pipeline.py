"""What each ``dlkit embed`` verb does, end to end, and the result objects the CLI renders.

``train`` reads the corpus, trains (:mod:`.train`), writes the vectors and their plot, scores
an optional analogy file, and logs all of it to MLflow through the one client
(:class:`~dlkit.tracking.mlflow_tracker.MLflowStore`), as ``dlkit style-transfer`` logs its run.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlkit.analysis import word_vectors as wv
from dlkit.embeddings.files import load_vectors, read_corpus, read_lines, write_vectors
from dlkit.embeddings.train import EmbedOptions
from dlkit.errors import DataError, RecipeError

log = logging.getLogger(__name__)

#: words drawn by ``train``'s plot: the most frequent ones
PLOT_WORDS = 60


def _number(x: float) -> float | None:
    return None if math.isnan(x) else x


@dataclass
class AnalogyReport:
    """Analogy accuracy of a vectors file on a questions file (JSON-ready)."""

    file: str
    scores: wv.AnalogyScores

    def to_dict(self) -> dict[str, Any]:
        s = self.scores
        return {
            "file": self.file,
            "accuracy": _number(s.accuracy),
            "correct": s.correct,
            "answered": s.answered,
            "n_questions": s.n_questions,
            "skipped": s.skipped,
            "coverage": _number(s.coverage),
            "sections": [
                {
                    "section": x.section,
                    "accuracy": _number(x.accuracy),
                    "correct": x.correct,
                    "answered": x.answered,
                    "n_questions": x.n_questions,
                }
                for x in s.sections
            ],
            "wrong": [dict(zip(("a", "b", "c", "expected", "given"), w, strict=True)) for w in s.wrong],
        }


@dataclass
class SimilarityReport:
    """Spearman's ρ of a vectors file on a word-pair file (JSON-ready)."""

    file: str
    score: wv.SimilarityScore

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "spearman": _number(self.score.spearman),
            "answered": self.score.answered,
            "n_pairs": self.score.n_pairs,
            "skipped": self.score.n_pairs - self.score.answered,
            "coverage": _number(self.score.coverage),
        }


@dataclass
class EmbedTrainResult:
    """What ``dlkit embed train`` learned and wrote.

    Attributes:
        vectors: the vectors file (GloVe text format).
        plot: the PCA plot of the most frequent words (None with ``plot=False``).
        options: the method and its settings.
        n_sentences: sentences read.
        n_tokens: words in them.
        n_words: the vocabulary (words seen at least ``min_count`` times).
        n_examples: pairs of the last epoch (skip-gram) or nonzero co-occurrence counts (GloVe).
        losses: the mean loss of each epoch.
        analogies: the accuracy on ``--analogies`` (None without).
        duration_s: training time.
        run_id: the MLflow run (None untracked).
        tracking_uri: its store.
    """

    vectors: Path
    plot: Path | None
    options: EmbedOptions
    n_sentences: int
    n_tokens: int
    n_words: int
    n_examples: int
    losses: list[float]
    analogies: AnalogyReport | None = None
    duration_s: float = 0.0
    run_id: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "vectors": str(self.vectors),
            "plot": str(self.plot) if self.plot else None,
            "options": {**asdict(self.options), "learning_rate": self.options.rate},
            "n_sentences": self.n_sentences,
            "n_tokens": self.n_tokens,
            "n_words": self.n_words,
            "n_examples": self.n_examples,
            "losses": [_number(x) for x in self.losses],
            "analogies": self.analogies.to_dict() if self.analogies else None,
            "duration_s": self.duration_s,
            "run_id": self.run_id,
            "tracking_uri": self.tracking_uri,
            "experiment": self.experiment,
        }


@dataclass
class NeighborsResult:
    """Words nearest a word (``query``: one word) or an analogy's answers (``query``: a, b, c)."""

    vectors: Path
    query: list[str]
    neighbors: list[wv.Neighbor]

    def to_dict(self) -> dict[str, Any]:
        return {
            "vectors": str(self.vectors),
            "query": self.query,
            "neighbors": [{"word": n.word, "similarity": n.similarity} for n in self.neighbors],
        }


@dataclass
class EvaluateVectorsResult:
    """``dlkit embed evaluate``: analogy accuracy and/or similarity correlation of a vectors file."""

    vectors: Path
    n_words: int
    analogies: AnalogyReport | None = None
    similarity: SimilarityReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "vectors": str(self.vectors),
            "n_words": self.n_words,
            "analogies": self.analogies.to_dict() if self.analogies else None,
            "similarity": self.similarity.to_dict() if self.similarity else None,
        }


@dataclass
class PlotResult:
    """The words drawn and their two coordinates."""

    path: Path
    method: str
    words: list[str]
    coordinates: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plot": str(self.path),
            "method": self.method,
            "words": [
                {"word": w, "x": float(x), "y": float(y)}
                for w, (x, y) in zip(self.words, self.coordinates, strict=True)
            ],
        }


def analogy_report(vectors: wv.WordVectors, path: Path) -> AnalogyReport:
    """Score ``vectors`` on a questions file (Mikolov's layout).

    Raises:
        DataError: a missing file or a malformed line (named by its number).
    """
    questions = wv.parse_analogies(read_lines(path, "analogy questions"), str(path))
    return AnalogyReport(str(path), wv.evaluate_analogies(vectors, questions))


def similarity_report(vectors: wv.WordVectors, path: Path) -> SimilarityReport:
    """Spearman's ρ of ``vectors`` on a ``word word score`` file.

    Raises:
        DataError: a missing file or a malformed line.
    """
    pairs = wv.parse_similarities(read_lines(path, "word similarity"), str(path))
    return SimilarityReport(str(path), wv.similarity_correlation(vectors, pairs))


def train_embeddings(
    corpus: Path,
    options: EmbedOptions,
    out: Path,
    *,
    column: str | None = None,
    analogies: Path | None = None,
    plot: bool = True,
    track: bool = True,
    experiment: str = "embeddings",
    tracking_uri: str | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> EmbedTrainResult:
    """Train word vectors on ``corpus`` and write them to ``out`` (GloVe text format).

    The plot of the most frequent words goes beside it (``out`` with ``.png``). With ``track``,
    the MLflow run holds the options as params, the loss per epoch (``loss``, step = epoch from 1),
    the analogy accuracy and coverage when ``analogies`` is given, and the vectors file and the
    plot as artifacts.

    Raises:
        DataError: an unreadable or empty corpus, or a malformed questions file.
        RecipeError: an option out of range.
    """
    from dlkit._tf import import_tensorflow
    from dlkit.embeddings.train import train_vectors

    options.check()
    sentences = read_corpus(corpus, column)
    questions = read_lines(analogies, "analogy questions") if analogies is not None else None
    if questions is not None:  # a malformed file fails before the training, not after
        wv.parse_analogies(questions, str(analogies))
    import_tensorflow()
    from dlkit.tracking.mlflow_tracker import command_run

    name = f"embed-{options.method}-{corpus.stem}"
    with command_run(track, tracking_uri, experiment, name, "embed train") as (store, run_id):

        def epoch_end(epoch: int, loss: float) -> None:
            if store is not None:
                store.log_metrics(run_id, {"loss": loss}, step=epoch)
            if on_epoch is not None:
                on_epoch(epoch, loss)

        started = time.perf_counter()
        trained = train_vectors(sentences, options, str(corpus), epoch_end)
        duration = time.perf_counter() - started
        write_vectors(out, trained.vectors)
        picture = None
        if plot:
            words = trained.vectors.words[:PLOT_WORDS]
            picture = draw(trained.vectors, words, out.with_suffix(".png"), "pca", options.seed).path
        report = analogy_report(trained.vectors, analogies) if analogies is not None else None
        result = EmbedTrainResult(
            vectors=out,
            plot=picture,
            options=options,
            n_sentences=len(sentences),
            n_tokens=sum(len(s) for s in sentences),
            n_words=len(trained.vectors.words),
            n_examples=trained.n_examples,
            losses=trained.losses,
            analogies=report,
            duration_s=duration,
        )
        if store is not None:
            store.log_params(
                run_id,
                {
                    **result.to_dict()["options"],
                    "corpus": str(corpus),
                    "column": column,
                    "n_words": result.n_words,
                    "n_tokens": result.n_tokens,
                },
            )
            if report is not None:
                store.log_metrics(
                    run_id,
                    {"analogy_accuracy": report.scores.accuracy, "analogy_coverage": report.scores.coverage},
                )
            store.log_artifact(run_id, out)
            if picture is not None:
                store.log_artifact(run_id, picture)
            result.run_id, result.tracking_uri, result.experiment = run_id, store.uri, experiment
        return result


def nearest_words(path: Path, word: str, k: int = 10) -> NeighborsResult:
    """The ``k`` words of a vectors file most cosine-similar to ``word``.

    Raises:
        DataError: a missing or malformed file, or a word without a vector.
    """
    vectors = load_vectors(path)
    word = word.lower()
    return NeighborsResult(path, [word], wv.neighbors(vectors, word, k, source=str(path)))


def solve_analogy(path: Path, a: str, b: str, c: str, k: int = 5) -> NeighborsResult:
    """``a : b :: c : ?``, the ``k`` words nearest ``b − a + c`` (the query words excluded).

    Raises:
        DataError: a missing or malformed file, or a query word without a vector.
    """
    vectors = load_vectors(path)
    query = [a.lower(), b.lower(), c.lower()]
    return NeighborsResult(
        path, query, wv.analogy(vectors, query[0], query[1], query[2], k=k, source=str(path))
    )


def evaluate_vectors(
    path: Path, analogies: Path | None = None, similarity: Path | None = None
) -> EvaluateVectorsResult:
    """Analogy accuracy (with coverage) and/or Spearman's ρ on word pairs.

    Raises:
        RecipeError: neither file given.
        DataError: a missing or malformed file.
    """
    if analogies is None and similarity is None:
        raise RecipeError("dlkit embed evaluate: give --analogies FILE and/or --similarity FILE")
    vectors = load_vectors(path)
    return EvaluateVectorsResult(
        path,
        len(vectors.words),
        analogy_report(vectors, analogies) if analogies is not None else None,
        similarity_report(vectors, similarity) if similarity is not None else None,
    )


def draw(vectors: wv.WordVectors, words: list[str], out: Path, method: str, seed: int = 0) -> PlotResult:
    """Project ``words``' vectors to 2-D and draw them, labelled, to a PNG."""
    from dlkit.reporting.word_vectors import plot_words

    if method not in ("pca", "tsne"):
        raise RecipeError(f"--method: expected pca or tsne (got {method!r})")
    index = vectors.index
    rows = [index[w] for w in words]
    coordinates = wv.project_2d(vectors.matrix[rows], "tsne" if method == "tsne" else "pca", seed)
    plot_words(
        words, coordinates, out, f"{'PCA' if method == 'pca' else 't-SNE'} of {len(words)} word vectors"
    )
    return PlotResult(out, method, words, coordinates)


def plot_vectors(
    path: Path, out: Path, words: list[str] | None = None, method: str = "pca", n: int = PLOT_WORDS
) -> PlotResult:
    """Draw ``words`` (default: the file's first ``n``, the most frequent for a file ``dlkit embed``
    wrote) in two dimensions.

    Raises:
        DataError: a missing or malformed file, a word without a vector, or fewer than 2 words.
    """
    vectors = load_vectors(path)
    chosen = [w.lower() for w in words] if words else vectors.words[:n]
    index = vectors.index
    missing = [w for w in chosen if w not in index]
    if missing:
        raise DataError(
            f"{path}: {', '.join(repr(w) for w in missing[:5])} not in the vocabulary "
            f"({len(vectors.words)} words)"
        )
    if len(chosen) < 2:
        raise DataError(f"{path}: a plot needs at least 2 words (got {len(chosen)})")
    return draw(vectors, chosen, out, method)
