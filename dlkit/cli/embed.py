"""``dlkit embed train|neighbors|analogy|evaluate|plot``: word vectors from a corpus, and their use.

The sub-app is :data:`app`; other commands on word vectors join it here.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from dlkit.cli._errors import report_errors
from dlkit.cli._json import print_json
from dlkit.cli._options import JsonOpt

app = typer.Typer(
    help="Word vectors: train (skip-gram, GloVe), nearest words, analogies, evaluation, plots.",
    no_args_is_help=True,
)

VectorsArg = Annotated[
    Path,
    typer.Argument(help="A vectors file in GloVe's text format (word v1 v2 ...).", metavar="VECTORS"),
]
TopOpt = Annotated[int, typer.Option("-k", "--top", help="How many words to list.", min=1, metavar="K")]


@app.command("train")
@report_errors
def train(
    corpus: Annotated[
        Path,
        typer.Argument(
            help="A text file, one sentence per line (lowercased, split on whitespace), or a CSV.",
            metavar="CORPUS",
        ),
    ],
    method: Annotated[str, typer.Option("--method", help="skipgram or glove.")] = "skipgram",
    dim: Annotated[int, typer.Option("--dim", help="Vector size.")] = 50,
    window: Annotated[int, typer.Option("--window", help="Context words on each side.")] = 5,
    negatives: Annotated[
        int, typer.Option("--negatives", help="Skip-gram: negatives per pair, from unigram^0.75.")
    ] = 5,
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over the data.")] = 5,
    min_count: Annotated[
        int, typer.Option("--min-count", help="Leave out words seen fewer times.", metavar="N")
    ] = 1,
    subsample: Annotated[
        float,
        typer.Option(
            "--subsample", help="Skip-gram: subsampling threshold t (0: keep every word).", metavar="T"
        ),
    ] = 1e-3,
    learning_rate: Annotated[
        Optional[float],  # noqa: UP045 (typer needs Optional)
        typer.Option(
            "--learning-rate", help="Adam's (skip-gram, 0.01) or AdaGrad's (GloVe, 0.1).", show_default=False
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Pairs (skip-gram) or counts (GloVe) per step.")
    ] = 256,
    x_max: Annotated[float, typer.Option("--x-max", help="GloVe: counts from here weigh 1.")] = 100.0,
    seed: Annotated[int, typer.Option("--seed", help="Seeds sampling and initial vectors.")] = 0,
    column: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--column", help="The text column of a CSV corpus.", show_default=False),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="The vectors file (the plot: the same name, .png).", metavar="FILE")
    ] = Path("vectors.txt"),
    analogies: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--analogies",
            help="Score the vectors on this questions file.",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    plot: Annotated[
        bool, typer.Option("--plot/--no-plot", help="Draw the most frequent words (PCA).")
    ] = True,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Record the run in MLflow.")] = True,
    experiment: Annotated[str, typer.Option("--experiment", help="MLflow experiment.")] = "embeddings",
    as_json: JsonOpt = False,
    tracking_uri: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--tracking-uri", help="The MLflow store to record in.", show_default=False, metavar="URI"
        ),
    ] = None,
) -> None:
    """Learn word vectors from CORPUS: skip-gram with negative sampling (subsampling frequent
    words), or GloVe (weighted least squares on co-occurrence counts). Writes them in GloVe's
    text format, which model.embedding.vectors reads."""
    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.cli._errors import err_console
    from dlkit.embeddings.train import EmbedOptions
    from dlkit.reporting.word_vectors import render_train

    options = EmbedOptions(
        method=method,  # type: ignore[arg-type]  # checked by EmbedOptions.check
        dim=dim,
        window=window,
        negatives=negatives,
        epochs=epochs,
        min_count=min_count,
        subsample=subsample,
        learning_rate=learning_rate,
        batch_size=batch_size,
        x_max=x_max,
        seed=seed,
    )
    progress = err_console if as_json else console

    def on_epoch(epoch: int, loss: float) -> None:
        progress.print(f"epoch {epoch}/{epochs}  loss {loss:.4f}", highlight=False)

    result = api.embed_train(
        corpus,
        options,
        out,
        column=column,
        analogies=analogies,
        plot=plot,
        track=track,
        experiment=experiment,
        tracking_uri=tracking_uri,
        on_epoch=on_epoch,
    )
    if as_json:
        print_json(result.to_dict())
        return
    render_train(console, result)


@app.command("neighbors")
@report_errors
def neighbors(
    vectors: VectorsArg,
    word: Annotated[str, typer.Argument(help="The word.", metavar="WORD")],
    k: TopOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """The K words nearest WORD by cosine similarity."""
    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.reporting.word_vectors import render_neighbors

    result = api.embed_neighbors(vectors, word, k)
    if as_json:
        print_json(result.to_dict())
        return
    render_neighbors(console, result)


@app.command("analogy")
@report_errors
def analogy(
    vectors: VectorsArg,
    a: Annotated[str, typer.Argument(help="a in a : b :: c : ?", metavar="A")],
    b: Annotated[str, typer.Argument(help="b", metavar="B")],
    c: Annotated[str, typer.Argument(help="c", metavar="C")],
    k: TopOpt = 5,
    as_json: JsonOpt = False,
) -> None:
    """A : B :: C : ?  The words nearest B - A + C by cosine (unit vectors), A, B and C excluded."""
    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.reporting.word_vectors import render_neighbors

    result = api.embed_analogy(vectors, a, b, c, k)
    if as_json:
        print_json(result.to_dict())
        return
    render_neighbors(console, result)


@app.command("evaluate")
@report_errors
def evaluate(
    vectors: VectorsArg,
    analogies: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--analogies",
            help="Questions as in questions-words.txt: ': section' lines and 'a b c d' lines.",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    similarity: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--similarity",
            help="Lines 'word word score': Spearman's rho.",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Analogy accuracy per section and word-similarity correlation, with coverage (questions
    skipped for words without a vector)."""
    from dlkit import api
    from dlkit.cli._console import console
    from dlkit.reporting.word_vectors import render_evaluate

    result = api.embed_evaluate(vectors, analogies, similarity)
    if as_json:
        print_json(result.to_dict())
        return
    render_evaluate(console, result)


@app.command("plot")
@report_errors
def plot(
    vectors: VectorsArg,
    out: Annotated[Path, typer.Option("--out", help="The PNG.", metavar="FILE")] = Path("vectors.png"),
    words: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--words",
            help="Words to draw, comma-separated or repeated (default: the file's first 60).",
            show_default=False,
            metavar="WORDS",
        ),
    ] = None,
    method: Annotated[str, typer.Option("--method", help="pca or tsne (scikit-learn).")] = "pca",
    as_json: JsonOpt = False,
) -> None:
    """Draw word vectors in two dimensions (PCA by SVD, or t-SNE), each point labelled."""
    from rich.markup import escape

    from dlkit import api
    from dlkit.cli._console import console

    chosen = [w for item in words for w in item.split(",") if w] if words else None
    result = api.embed_plot(vectors, out, chosen, method)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(f"Plot of {len(result.words)} words ({result.method}): {escape(str(result.path))}")


from dlkit.cli.embed_debias import register as _register_debias  # noqa: E402 (after this app's own commands)

_register_debias(app)
