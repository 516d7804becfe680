"""Average ranks and the rank (Mann-Whitney) form of ROC AUC, in NumPy.

Sorting once, in O(n log n) time and O(n) memory, instead of comparing every positive with every
negative: the class metrics (:mod:`dlkit.tasks._metrics`) and face verification's pairs
(:mod:`dlkit.analysis.embedding`) score their sets with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlkit._lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")

NAN = float("nan")


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """The area under the ROC curve: P(score of a positive > score of a negative), ties half
    (the Mann-Whitney statistic). NaN without both a positive and a negative."""
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return NAN
    score = np.asarray(score, dtype=np.float64)
    if np.isnan(score).any():
        return NAN
    ranks = average_ranks(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values`` `(n,)`, tied values sharing the mean of their ranks (as SciPy's
    ``rankdata``; here in NumPy, since the report commands score sets and SciPy is slow to load)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    # a tie group at sorted positions start..end-1 holds ranks start+1..end: their mean
    group_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks
