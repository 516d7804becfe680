"""Unaligned string labels (task ``ctc``): one string per example, read left to right.

An ``npz`` source with ``data.task: ctc`` gives inputs (images `(n, height, width, channels)`
or sequences `(n, timesteps, features)`) and one string per example, e.g. ``"4071"``, whose
characters are not aligned to the input's steps. The alphabet is the sorted set of the
characters (or ``data.source.classes``, in that order); a label is encoded as the indices of
its characters plus one, right-padded with 0: index 0 is the CTC blank, never a label.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlkit.data._common import data_row
from dlkit.errors import DataError

BLANK = 0  # the CTC blank's index in the model's output (and the label padding)


def encode_text_labels(
    y: np.ndarray, classes: list[Any] | None, where: str
) -> tuple[np.ndarray, list[object]]:
    """Encode strings `(n,)` as `(n, longest)` alphabet indices + 1, 0-padded, with the alphabet
    (``classes``, or the sorted characters found).

    Args:
        y: one string per example.
        classes: the recipe's (or the trained run's) alphabet, or None.
        where: the file and array, for messages.

    Raises:
        DataError: not one string per example, an empty string, or a character outside
            ``spec.classes``.
    """
    if y.ndim != 1 or y.dtype.kind not in "UiS":
        raise DataError(
            f"{where}: task ctc expects one string per example, shape (n,) (got {y.dtype} {y.shape})"
        )
    texts = [str(v) for v in y.astype(str)]
    empty = [i for i, t in enumerate(texts) if not t]
    if empty:
        raise DataError(
            f"{where}: empty label at {data_row(empty[0])} (task ctc expects at least one character)"
        )
    found = sorted({c for t in texts for c in t})
    if classes is not None:
        alphabet = [str(c) for c in classes]
        if any(len(c) != 1 for c in alphabet):
            raise DataError(
                f"{where}: data.source.classes: task ctc expects single characters (got {alphabet!r})"
            )
        unseen = [c for c in found if c not in alphabet]
        if unseen:
            row = next(i for i, t in enumerate(texts) if unseen[0] in t)
            raise DataError(
                f"{where}: character {unseen[0]!r} at {data_row(row)} is not one of the classes {alphabet!r}"
            )
    else:
        alphabet = found
    return encode_strings(texts, alphabet), list(alphabet)


def encode_strings(texts: list[str], alphabet: list[str]) -> np.ndarray:
    """`(n, longest)` indices + 1 of each string's characters, 0-padded (unknown characters: 0)."""
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    out = np.zeros((len(texts), max((len(t) for t in texts), default=1) or 1), dtype=np.int32)
    for row, text in enumerate(texts):
        out[row, : len(text)] = [index.get(c, BLANK) for c in text]
    return out


def decode_labels(rows: np.ndarray, alphabet: list[object]) -> list[str]:
    """The strings of encoded labels `(n, length)` (0 and negative entries skipped)."""
    return ["".join(str(alphabet[int(i) - 1]) for i in row if i > 0) for row in np.asarray(rows)]
