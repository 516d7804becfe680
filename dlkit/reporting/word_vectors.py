"""Rendering of ``dlkit embed`` results: the 2-D plot of word vectors (PNG) and the terminal tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rich.console import Console

    from dlkit.embeddings.pipeline import (
        AnalogyReport,
        EmbedTrainResult,
        EvaluateVectorsResult,
        NeighborsResult,
        SimilarityReport,
    )


def plot_words(words: list[str], coordinates: np.ndarray, path: Path, title: str) -> Path:
    """Draw each word at its 2-D coordinates `(words, 2)`, labelled, to a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 7), dpi=100)
    ax = fig.subplots()
    ax.scatter(coordinates[:, 0], coordinates[:, 1], s=12, color="#4c72b0")
    for word, (x, y) in zip(words, coordinates, strict=True):
        ax.annotate(word, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _pct(x: float) -> str:
    return "–" if x != x else f"{x:.1%}"


def render_analogies(console: Console, report: AnalogyReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    s = report.scores
    table = Table(title=f"Analogies: {escape(report.file)}", title_justify="left")
    for head in ("section", "accuracy", "correct", "answered", "questions"):
        table.add_column(head, justify="left" if head == "section" else "right")
    for x in s.sections:
        table.add_row(
            escape(x.section or "-"), _pct(x.accuracy), str(x.correct), str(x.answered), str(x.n_questions)
        )
    table.add_row("all", _pct(s.accuracy), str(s.correct), str(s.answered), str(s.n_questions), style="bold")
    console.print(table)
    console.print(
        f"Coverage {_pct(s.coverage)}: {s.skipped} of {s.n_questions} questions skipped "
        "(a word without a vector)"
    )


def render_similarity(console: Console, report: SimilarityReport) -> None:
    from rich.markup import escape

    s = report.score
    rho = "–" if s.spearman != s.spearman else f"{s.spearman:.3f}"
    console.print(
        f"Similarity {escape(report.file)}: Spearman ρ {rho} on {s.answered} of {s.n_pairs} pairs "
        f"(coverage {_pct(s.coverage)})"
    )


def render_train(console: Console, result: EmbedTrainResult) -> None:
    from rich.markup import escape

    o = result.options
    loss = f"{result.losses[0]:.4g} -> {result.losses[-1]:.4g}" if result.losses else "–"
    console.print(
        f"{o.method}: {result.n_words} words x {o.dim} dimensions from {result.n_sentences} sentences "
        f"({result.n_tokens} tokens), {o.epochs} epochs in {result.duration_s:.1f} s, loss {loss}"
    )
    console.print(f"Vectors: {escape(str(result.vectors))}")
    if result.plot is not None:
        console.print(f"Plot: {escape(str(result.plot))}")
    if result.analogies is not None:
        render_analogies(console, result.analogies)
    if result.run_id:
        console.print(f"Recorded in MLflow: {escape(str(result.tracking_uri))}  run id {result.run_id}")


def render_neighbors(console: Console, result: NeighborsResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    if len(result.query) == 3:
        a, b, c = (escape(w) for w in result.query)
        title = f"{a} : {b} :: {c} : ?"
    else:
        title = f"Nearest to {escape(result.query[0])}"
    table = Table(title=title, title_justify="left")
    table.add_column("word")
    table.add_column("cosine", justify="right")
    for n in result.neighbors:
        table.add_row(escape(n.word), f"{n.similarity:.3f}")
    console.print(table)


def render_evaluate(console: Console, result: EvaluateVectorsResult) -> None:
    from rich.markup import escape

    console.print(f"{escape(str(result.vectors))}: {result.n_words} words")
    if result.analogies is not None:
        render_analogies(console, result.analogies)
    if result.similarity is not None:
        render_similarity(console, result.similarity)
