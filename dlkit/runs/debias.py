"""``dlkit embed debias``: debias a GloVe-format vectors file (:mod:`dlkit.analysis.debias`).

Reads the vectors and the word lists, refuses a listed word the vectors lack (naming the file
and line), writes the debiased vectors in the same text format and, when asked, a CSV of each
word's projection on the bias direction before and after.

Word-list files are plain text: one pair a line (two words separated by spaces) for the
definitional and equalise pairs, one word a line for the words to neutralise; blank lines and
lines starting with ``#`` are skipped. The gender lists of Bolukbasi et al. ship with dlkit
(:data:`DEFINITIONAL`, :data:`EQUALIZE`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlkit.analysis.debias import DebiasResult, Pair, debias
from dlkit.errors import DataError

DATA_DIR = Path(__file__).resolve().parents[1] / "gallery" / "data"
DEFINITIONAL = DATA_DIR / "gender-definitional.txt"
"""Bolukbasi et al.'s ten definitional gender pairs (female word first: ``g`` points to it)."""
EQUALIZE = DATA_DIR / "gender-equalize.txt"
"""Gender-specific pairs to equalise (the course's and Bolukbasi's, female word first)."""


def _lines(path: Path, what: str) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: the {what} file is not UTF-8 text") from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if words and not words[0].startswith("#"):
            out.append((number, words))
    if not out:
        raise DataError(f"{path}: the {what} file lists no words")
    return out


def read_pairs(path: Path, what: str) -> list[tuple[int, Pair]]:
    """Pairs of words, one a line, with their line numbers.

    Raises:
        DataError: a missing or empty file, or a line without exactly two words.
    """
    pairs = []
    for number, words in _lines(path, what):
        if len(words) != 2:
            raise DataError(
                f"{path}: line {number}: expected two words separated by a space (got {len(words)})"
            )
        pairs.append((number, (words[0], words[1])))
    return pairs


def read_words(path: Path, what: str) -> list[tuple[int, str]]:
    """Words, one a line, with their line numbers.

    Raises:
        DataError: a missing or empty file, or a line of several words.
    """
    out = []
    for number, words in _lines(path, what):
        if len(words) != 1:
            raise DataError(f"{path}: line {number}: expected one word (got {len(words)})")
        out.append((number, words[0]))
    return out


@dataclass
class DebiasOutcome:
    """The debiasing and where it was written."""

    result: DebiasResult
    vectors: Path
    out: Path
    definitional: Path
    equalize: Path | None
    neutralize: Path | None
    report: Path | None

    def to_dict(self, top: int = 20) -> dict[str, object]:
        """JSON-able: the files, and :meth:`DebiasResult.to_dict` with ``top`` neutralised words."""
        return {
            "vectors": str(self.vectors),
            "out": str(self.out),
            "definitional": str(self.definitional),
            "equalize": str(self.equalize) if self.equalize else None,
            "neutralize": str(self.neutralize) if self.neutralize else "every word in no pair",
            "report": str(self.report) if self.report else None,
            **self.result.to_dict(top),
        }


def debias_file(
    vectors: Path,
    out: Path,
    definitional: Path = DEFINITIONAL,
    equalize: Path | None = EQUALIZE,
    neutralize: Path | None = None,
    report: Path | None = None,
) -> DebiasOutcome:
    """Debias the vectors of a GloVe-format file and write them to ``out`` in the same format.

    Args:
        vectors: the GloVe-format input.
        out: the debiased vectors (every vector normalised to unit length first).
        definitional: pairs that define the bias direction.
        equalize: pairs to equalise (None: none).
        neutralize: words to neutralise (None: every word in no pair).
        report: a CSV of each word's role and projection before and after (None: not written).

    Raises:
        DataError: unreadable files, or a listed word that the vectors lack.
    """
    from dlkit.models._embedding import read_vectors, write_vectors

    if out.resolve() == vectors.resolve():
        raise DataError(f"{out}: --out is the input vectors file; write the debiased vectors elsewhere")
    found, _ = read_vectors(vectors, None)

    def check(path: Path, number: int, word: str) -> None:
        if word not in found:
            raise DataError(f"{path}: line {number}: '{word}' is not in {vectors}")

    defs = read_pairs(definitional, "definitional pairs")
    eqs = read_pairs(equalize, "equalize pairs") if equalize is not None else []
    neutral = read_words(neutralize, "neutralize words") if neutralize is not None else None
    listed = [(definitional, n, w) for n, pair in defs for w in pair]
    if equalize is not None:
        listed += [(equalize, n, w) for n, pair in eqs for w in pair]
    if neutralize is not None and neutral is not None:
        listed += [(neutralize, n, w) for n, w in neutral]
    for path, number, word in listed:
        check(path, number, word)
    import numpy as np

    words = list(found)
    result = debias(
        words,
        np.stack([found[w] for w in words]),
        [p for _, p in defs],
        [p for _, p in eqs],
        [w for _, w in neutral] if neutral is not None else None,
    )
    write_vectors(out, result.words, result.vectors)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        result.table.to_csv(report, index=False)
    return DebiasOutcome(result, vectors, out, definitional, equalize, neutralize, report)
