"""Error analysis of sequence outputs (seq2seq, per-step labels): whole sequences and positions.

An example is right only when its whole output sequence is (``correct``: exact match); its
*position accuracy* (``token_accuracy`` of a decoded sequence, ``step_accuracy`` of per-step
labels) says how much of it was right. The reading of a set: exact match against position
accuracy on every set, the worst examples (the wrong ones with the lowest position accuracy),
the error by reference length (with the mean sentence BLEU of each length, where the
predictions have a ``bleu`` column), and the error by metadata value. Pure pandas/numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.analysis.error_analysis import SliceRow, slice_error_rates, wilson_interval

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: diagnose reads a run's mistakes without pandas
    pd = lazy_module("pandas")

MAX_LENGTHS = 12  # more distinct lengths than this: quantile bins of the length


@dataclass(frozen=True)
class SequenceSetScores:
    """Exact match and position accuracy of one set.

    Attributes:
        set: the set's name.
        n: examples.
        exact_match: share of examples whose whole sequence is right.
        position_accuracy: the set's token or step accuracy (see :func:`position_accuracy`).
    """

    set: str
    n: int
    exact_match: float
    position_accuracy: float


@dataclass(frozen=True)
class LengthRow:
    """The error of the examples with one reference length (or a range of lengths).

    Attributes:
        length: the length, or a range ``(a, b]``, as text.
        n: examples.
        n_errors: wrong sequences among them.
        error_rate: n_errors / n (1 − exact match).
        low: lower end of the 95% Wilson interval of the error rate.
        high: upper end.
        position_accuracy: their token or step accuracy.
        bleu: their mean sentence BLEU (None without a ``bleu`` column).
    """

    length: str
    n: int
    n_errors: int
    error_rate: float
    low: float
    high: float
    position_accuracy: float
    bleu: float | None = None


@dataclass
class SequenceReport:
    """The reading of a sequence task's predictions.

    Attributes:
        score: the position-accuracy column (``token_accuracy`` or ``step_accuracy``).
        weighted: whether position accuracy is pooled over positions (per-step labels) or
            averaged over examples (decoded sequences, whose decoded length may differ).
        n: examples of the analysed set.
        n_errors: wrong sequences in it.
        error: n_errors / n, 1 − exact match.
        sets: exact match and position accuracy of every set, in set order.
        worst: the wrong examples with the lowest position accuracy (the highest score when
            :attr:`higher_better` is False, e.g. a character error rate), worst first.
        by_length: the error by reference length, shortest first.
        slices: the error rate by metadata value, weakest first.
    """

    score: str
    weighted: bool
    n: int
    n_errors: int
    error: float
    sets: list[SequenceSetScores] = field(default_factory=list)
    worst: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    by_length: list[LengthRow] = field(default_factory=list)
    slices: list[SliceRow] = field(default_factory=list)
    higher_better: bool = True


def position_accuracy(frame: pd.DataFrame, score: str, weighted: bool) -> float:
    """A set's position accuracy from its examples' ``score`` column.

    Weighted: the examples' scores weighted by their ``length`` (per-step labels: right steps
    over labelled steps, as ``metrics.json``'s step_accuracy). Unweighted: their mean (decoded
    sequences: the mean of each example's token accuracy).
    """
    if not len(frame):
        return float("nan")
    values = frame[score].to_numpy(dtype=np.float64)
    if not weighted:
        return float(values.mean())
    lengths = frame["length"].to_numpy(dtype=np.float64)
    return float((values * lengths).sum() / lengths.sum()) if lengths.sum() else float("nan")


def set_scores(name: str, frame: pd.DataFrame, score: str, weighted: bool) -> SequenceSetScores:
    """Exact match and position accuracy of one set's predictions."""
    n = len(frame)
    exact = float(frame["correct"].astype(bool).mean()) if n else float("nan")
    return SequenceSetScores(name, n, exact, position_accuracy(frame, score, weighted))


def worst_sequences(
    frame: pd.DataFrame, score: str, top: int = 10, extra: Sequence[str] = (), higher_better: bool = True
) -> pd.DataFrame:
    """The wrong examples with the lowest ``score`` (highest unless ``higher_better``), worst first
    (ties: the longer first, then by id)."""
    wrong = frame.loc[~frame["correct"].astype(bool)]
    columns = [c for c in ("id", "input", "y_true", "y_pred", score, "length", *extra) if c in wrong]
    ranked = wrong.sort_values([score, "length", "id"], ascending=[higher_better, False, True], kind="stable")
    return ranked.head(top)[columns].reset_index(drop=True)


def error_by_length(
    frame: pd.DataFrame, score: str, weighted: bool, max_lengths: int = MAX_LENGTHS
) -> list[LengthRow]:
    """The error (1 − exact match), position accuracy and mean sentence BLEU (when the frame has a
    ``bleu`` column) by reference length, shortest first.

    Each length is its own row when there are at most ``max_lengths`` of them; otherwise the
    lengths are cut into quantile ranges.
    """
    lengths = frame["length"].astype(np.int64)
    keys = (
        lengths
        if lengths.nunique() <= max_lengths
        else pd.qcut(lengths, q=max_lengths // 2, duplicates="drop")
    )
    rows = []
    for key, group in frame.groupby(keys, sort=True, observed=True):
        n = len(group)
        n_errors = int((~group["correct"].astype(bool)).sum())
        low, high = wilson_interval(n_errors, n)
        bleu = float(group["bleu"].astype(np.float64).mean()) if "bleu" in group else None
        rows.append(
            LengthRow(
                str(key),
                n,
                n_errors,
                n_errors / n,
                low,
                high,
                position_accuracy(group, score, weighted),
                bleu,
            )
        )
    return rows


def sequence_report(
    frames: Mapping[str, pd.DataFrame],
    score: str,
    *,
    weighted: bool,
    set_name: str = "dev",
    metadata_columns: Sequence[str] = (),
    examples: pd.DataFrame | None = None,
    top: int = 10,
    higher_better: bool = True,
) -> SequenceReport:
    """Exact match against position accuracy per set, worst examples, error by length and slice.

    Args:
        frames: every set's predictions (``correct``, ``score``, ``length``, ``id``, ...);
            ``set_name`` among them.
        score: the position-accuracy column.
        weighted: pool position accuracy over positions (see :func:`position_accuracy`).
        set_name: the set analysed.
        metadata_columns: columns to slice the error rate by.
        examples: the rows of the analysed set a person looks at (the worst examples come from
            them; all of the set when None).
        top: how many worst examples to keep.
        higher_better: ``score`` is an accuracy (True) or an error rate (False).
    """
    frame = frames[set_name]
    n = len(frame)
    n_errors = int((~frame["correct"].astype(bool)).sum())
    return SequenceReport(
        score=score,
        weighted=weighted,
        n=n,
        n_errors=n_errors,
        error=n_errors / n if n else float("nan"),
        sets=[set_scores(name, f, score, weighted) for name, f in frames.items()],
        worst=worst_sequences(
            frame if examples is None else examples, score, top, metadata_columns, higher_better
        ),
        by_length=error_by_length(frame, score, weighted),
        slices=slice_error_rates(frame, metadata_columns),
        higher_better=higher_better,
    )
