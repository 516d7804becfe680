"""The files of ``dlkit embed``: a corpus in, vectors out (GloVe's text format), questions in.

The vectors file is what :func:`dlkit.models._embedding.read_vectors` reads: one word per line
followed by its numbers, separated by single spaces, no header line. Reading it back goes through
that same reader, so a file ``dlkit embed`` writes always initialises ``model.embedding.vectors``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlkit.analysis.word_vectors import WordVectors
from dlkit.errors import DataError, RecipeError
from dlkit.models._embedding import read_vectors


def tokenize(text: str) -> list[str]:
    """A sentence's words: lowercased, split on whitespace."""
    return text.lower().split()


def read_corpus(path: Path, column: str | None = None) -> list[list[str]]:
    """Sentences of a corpus: a text file (one sentence per line) or a CSV's text column.

    A ``.csv`` file (or any file with ``column`` given) is read as a table; its ``column`` holds
    one sentence per row (a CSV of one column needs no ``column``).

    Raises:
        DataError: a missing file, a corpus without words, or a CSV without the column.
        RecipeError: a CSV of several columns and no ``column``.
    """
    if not path.is_file():
        raise DataError(f"{path}: corpus file not found")
    if column is not None or path.suffix.lower() == ".csv":
        import pandas as pd

        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not a readable CSV: {str(exc).strip()}") from None
        if column is None:
            if len(frame.columns) != 1:
                raise RecipeError(
                    f"--column: {path} has {len(frame.columns)} columns; name the one with the text "
                    f"(columns: {', '.join(map(str, frame.columns))})"
                )
            column = str(frame.columns[0])
        if column not in frame.columns:
            raise DataError(f"{path}: no column '{column}' (columns: {', '.join(map(str, frame.columns))})")
        texts = frame[column].tolist()
    else:
        try:
            texts = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a UTF-8 text file (expected one sentence per line)") from None
    sentences = [words for words in map(tokenize, texts) if words]
    if not sentences:
        raise DataError(f"{path}: the corpus has no words (expected one sentence per line)")
    return sentences


def write_vectors(path: Path, vectors: WordVectors) -> Path:
    """Write ``word v1 ... vd`` lines, the words in ``vectors``' order (see
    :func:`dlkit.models._embedding.write_vectors`: values read back exactly)."""
    from dlkit.models._embedding import write_vectors as write_glove

    write_glove(path, vectors.words, vectors.matrix)
    return path


def load_vectors(path: Path) -> WordVectors:
    """Every word and vector of a GloVe-format file, in file order (a word listed twice keeps its
    first vector).

    Raises:
        DataError: a missing or empty file, or a malformed line (as ``read_vectors`` words it).
    """
    found, dim = read_vectors(path, None)
    if not found:
        raise DataError(f"{path}: the vectors file has no vectors")
    ordered = list(found)
    return WordVectors(ordered, np.stack([found[w] for w in ordered]).reshape(len(ordered), dim))


def read_lines(path: Path, what: str) -> list[str]:
    """The lines of a questions file.

    Raises:
        DataError: the file is missing or not UTF-8 text.
    """
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
