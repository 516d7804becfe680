"""Character-level error analysis of a CTC model's strings (OCR, speech): what the CER is made of.

Each wrong string is aligned to its reference (Levenshtein with backtrace) into substitutions,
deletions and insertions; their sum over a set is the numerator of its CER (edits / reference
characters). The reading counts each kind per set, the most frequent substitution pairs
(true -> predicted) and the most deleted and inserted characters, and tags CTC's own failure
mode: a *collapsed repeat*, where the prediction is the reference with runs of a repeated
character shortened (``"1100"`` read ``"10"``: greedy decoding merges repeats that no blank
separates). Those examples form a rule category with its ceiling (the exact-match error it could
remove), and the CER it could remove. Pure pandas/numpy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING, Any

import numpy as np

from dlkit._lazy import lazy_module
from dlkit.analysis.error_analysis import CategoryRow, category_rows

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: diagnose reads a run's mistakes without pandas
    pd = lazy_module("pandas")

COLLAPSED = "collapsed_repeat"
TOP = 10

SUB, DEL, INS = "substitution", "deletion", "insertion"


@dataclass(frozen=True)
class EditCounts:
    """The character edits of one set, summed over its examples.

    Attributes:
        set: the set's name.
        n: examples.
        n_chars: reference characters (the CER's denominator).
        substitutions: reference characters read as another.
        deletions: reference characters missing from the prediction.
        insertions: predicted characters with no reference character.
    """

    set: str
    n: int
    n_chars: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def n_edits(self) -> int:
        """All edits: the CER's numerator."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def cer(self) -> float:
        """Edits over reference characters, pooled over the set."""
        return self.n_edits / self.n_chars if self.n_chars else float("nan")

    def share(self, kind: str) -> float:
        """The share of the set's edits of one kind (``substitution``, ``deletion``, ``insertion``)."""
        count = {SUB: self.substitutions, DEL: self.deletions, INS: self.insertions}[kind]
        return count / self.n_edits if self.n_edits else float("nan")


@dataclass(frozen=True)
class CharCount:
    """A character (or a true -> predicted pair) and how often it was edited.

    Attributes:
        true: the reference character ("" for an insertion).
        predicted: the predicted character ("" for a deletion).
        count: times in the set.
        share: count / edits of that kind.
    """

    true: str
    predicted: str
    count: int
    share: float


@dataclass
class CTCErrors:
    """The character-level reading of a CTC run's predictions.

    Attributes:
        set_name: the set the confusions and the collapsed repeats are read on (dev).
        sets: every set's edit counts, in set order.
        substitutions: the most frequent substitution pairs (true -> predicted), most first.
        deletions: the most deleted reference characters.
        insertions: the most inserted characters.
        n_collapsed: examples of the set whose error is exactly collapsed repeats.
        collapsed_edits: the edits of those examples (characters lost to collapsing).
        collapsed_cer: the CER they add: collapsed_edits / the set's reference characters.
        cer_if_fixed: the set's CER without them.
        categories: the collapsed-repeat category's row (count, share of errors, ceiling of the
            exact-match error), as the tagged and rule categories read.
        collapsed_examples: ids of some of those examples, with their strings.
    """

    set_name: str
    sets: list[EditCounts] = field(default_factory=list)
    substitutions: list[CharCount] = field(default_factory=list)
    deletions: list[CharCount] = field(default_factory=list)
    insertions: list[CharCount] = field(default_factory=list)
    n_collapsed: int = 0
    collapsed_edits: int = 0
    collapsed_cer: float = 0.0
    cer_if_fixed: float = float("nan")
    categories: list[CategoryRow] = field(default_factory=list)
    collapsed_examples: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())

    @property
    def dev(self) -> EditCounts | None:
        """The analysed set's edit counts."""
        return next((s for s in self.sets if s.set == self.set_name), None)


def edit_operations(truth: Sequence[Any], predicted: Sequence[Any]) -> list[tuple[str, Any, Any]]:
    """The edits of a fewest-edits alignment of ``predicted`` to ``truth`` (Levenshtein, backtraced).

    Ties between alignments of equal cost go to a substitution, then a deletion, then an insertion,
    so the result is deterministic.

    Returns:
        ``(kind, true, predicted)`` per edit in reference order: ``("substitution", t, p)``,
        ``("deletion", t, "")``, ``("insertion", "", p)``; matches are left out. Its length is the
        edit distance.
    """
    n, m = len(truth), len(predicted)
    # plain lists: indexing a numpy array element by element is several times slower
    cost = [[i + j if i == 0 or j == 0 else 0 for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        above, row = cost[i - 1], cost[i]
        for j in range(1, m + 1):
            row[j] = min(above[j - 1] + (truth[i - 1] != predicted[j - 1]), above[j] + 1, row[j - 1] + 1)
    ops: list[tuple[str, Any, Any]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (truth[i - 1] != predicted[j - 1]):
            if truth[i - 1] != predicted[j - 1]:
                ops.append((SUB, truth[i - 1], predicted[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            ops.append((DEL, truth[i - 1], ""))
            i -= 1
        else:
            ops.append((INS, "", predicted[j - 1]))
            j -= 1
    return ops[::-1]


def collapsed_repeats(truth: str, predicted: str) -> int:
    """How many repeated characters the prediction lost, when that is its only error.

    The prediction is the reference with some runs of one character shortened, each keeping at
    least one (``"1100"`` -> ``"10"``: 2); greedy CTC decoding merges repeats that no blank
    separates.

    Returns:
        The characters lost, or 0 when the prediction is right or has any other error.
    """
    runs_true = [(c, len(list(g))) for c, g in groupby(truth)]
    runs_pred = [(c, len(list(g))) for c, g in groupby(predicted)]
    if [c for c, _ in runs_true] != [c for c, _ in runs_pred]:
        return 0
    if any(p > t for (_, t), (_, p) in zip(runs_true, runs_pred, strict=True)):
        return 0
    return sum(t - p for (_, t), (_, p) in zip(runs_true, runs_pred, strict=True))


def _text(value: Any) -> str:
    # an empty decoded string may come back from parquet as None
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _counts(counter: Counter[tuple[str, str]], top: int) -> list[CharCount]:
    total = sum(counter.values())
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [CharCount(t, p, k, k / total) for (t, p), k in ranked]


def ctc_errors(frames: Mapping[str, pd.DataFrame], set_name: str = "dev", top: int = TOP) -> CTCErrors:
    """Edit counts per set; character confusions and collapsed repeats of ``set_name``.

    Args:
        frames: every set's predictions (``id``, ``y_true``, ``y_pred`` strings, ``correct``);
            ``set_name`` among them.
        set_name: the set whose confusions and collapsed repeats are read.
        top: how many pairs and characters each table keeps.
    """
    out = CTCErrors(set_name=set_name)
    for name, frame in frames.items():
        truths = [_text(v) for v in frame["y_true"].tolist()]
        preds = [_text(v) for v in frame["y_pred"].tolist()]
        kinds: Counter[str] = Counter()
        by_kind: dict[str, Counter[tuple[str, str]]] = {SUB: Counter(), DEL: Counter(), INS: Counter()}
        for t, p in zip(truths, preds, strict=True):
            if t == p:
                continue
            for kind, a, b in edit_operations(t, p):
                kinds[kind] += 1
                by_kind[kind][(a, b)] += 1
        counts = EditCounts(name, len(frame), sum(len(t) for t in truths), kinds[SUB], kinds[DEL], kinds[INS])
        out.sets.append(counts)
        if name != set_name:
            continue
        out.substitutions = _counts(by_kind[SUB], top)
        out.deletions = _counts(by_kind[DEL], top)
        out.insertions = _counts(by_kind[INS], top)
        lost = np.array([collapsed_repeats(t, p) for t, p in zip(truths, preds, strict=True)], dtype=np.int64)
        wrong = ~frame["correct"].astype(bool).to_numpy()
        out.n_collapsed = int((lost > 0).sum())
        out.collapsed_edits = int(lost.sum())
        out.collapsed_cer = out.collapsed_edits / counts.n_chars if counts.n_chars else float("nan")
        out.cer_if_fixed = counts.cer - out.collapsed_cer
        dev_error = float(wrong.mean()) if len(frame) else float("nan")
        tags = pd.DataFrame({COLLAPSED: lost[wrong] > 0})
        out.categories = category_rows(tags, dev_error, {COLLAPSED: "rule"})
        picked = frame.loc[lost > 0, ["id", "y_true", "y_pred"]].head(top)
        out.collapsed_examples = picked.assign(lost=lost[lost > 0][: len(picked)]).reset_index(drop=True)
    return out


def ctc_dict(c: CTCErrors) -> dict[str, Any]:
    """A JSON-ready form of the reading (rates and shares as fractions)."""
    from dataclasses import asdict

    return {
        "set": c.set_name,
        "edits": [
            {
                **asdict(s),
                "n_edits": s.n_edits,
                "cer": s.cer,
                **{f"{kind}_share": s.share(kind) for kind in (SUB, DEL, INS)},
            }
            for s in c.sets
        ],
        "substitutions": [asdict(r) for r in c.substitutions],
        "deletions": [asdict(r) for r in c.deletions],
        "insertions": [asdict(r) for r in c.insertions],
        "collapsed_repeats": {
            "n_examples": c.n_collapsed,
            "edits": c.collapsed_edits,
            "cer": c.collapsed_cer,
            "cer_if_fixed": c.cer_if_fixed,
            "categories": [{**asdict(r), "ceiling_points": r.ceiling_points} for r in c.categories],
            "examples": c.collapsed_examples.astype(object).to_dict("records"),
        },
    }
