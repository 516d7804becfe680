"""Known answers of the character-level CTC reading: alignments, collapsed repeats, counts, ceilings."""

from __future__ import annotations

import pandas as pd
import pytest

from dlkit.analysis.ctc_errors import (
    COLLAPSED,
    collapsed_repeats,
    ctc_dict,
    ctc_errors,
    edit_operations,
)
from dlkit.tasks.ctc import ctc_scores, edit_distance


def _frame(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list(range(len(pairs))),
            "y_true": [t for t, _ in pairs],
            "y_pred": [p for _, p in pairs],
            "correct": [t == p for t, p in pairs],
        }
    )


@pytest.mark.parametrize(
    ("truth", "predicted", "ops"),
    [
        ("0123", "0153", [("substitution", "2", "5")]),
        ("12", "123", [("insertion", "", "3")]),
        ("123", "13", [("deletion", "2", "")]),
        ("1100", "10", [("deletion", "1", ""), ("deletion", "0", "")]),
        ("abc", "abc", []),
        ("", "7", [("insertion", "", "7")]),
        ("45", "", [("deletion", "4", ""), ("deletion", "5", "")]),
        (
            "kitten",
            "sitting",
            [("substitution", "k", "s"), ("substitution", "e", "i"), ("insertion", "", "g")],
        ),
    ],
)
def test_edit_operations_backtrace_a_fewest_edits_alignment(
    truth: str, predicted: str, ops: list[tuple[str, str, str]]
) -> None:
    assert edit_operations(truth, predicted) == ops
    assert len(ops) == edit_distance(truth, predicted)


@pytest.mark.parametrize(
    ("truth", "predicted", "lost"),
    [
        ("1100", "10", 2),
        ("100", "10", 1),
        ("1112", "112", 1),
        ("00", "0", 1),
        ("1100", "1100", 0),  # right
        ("12", "1", 0),  # a deletion, not a repeat
        ("1100", "100", 1),
        ("1100", "0", 0),  # a whole run lost
        ("110", "1100", 0),  # longer
        ("11", "12", 0),
    ],
)
def test_collapsed_repeats_is_the_whole_error_or_nothing(truth: str, predicted: str, lost: int) -> None:
    assert collapsed_repeats(truth, predicted) == lost


PAIRS = [
    ("0123", "0153"),  # 1 substitution 2 -> 5
    ("1100", "10"),  # 2 collapsed repeats (2 deletions)
    ("12", "123"),  # 1 insertion
    ("77", "7"),  # 1 collapsed repeat
    ("456", "456"),  # right
    ("2020", "2020"),  # right
    ("92", "95"),  # 1 substitution 2 -> 5
    ("33", None),  # decoded nothing: 2 deletions (not a collapsed repeat: the run is gone)
]


def test_counts_sum_to_the_cer_numerator_and_collapsed_repeats_get_a_ceiling() -> None:
    dev = _frame([(t, p or "") for t, p in PAIRS]).assign(y_pred=[p for _, p in PAIRS])
    train = _frame([("11", "1"), ("5", "5")])
    c = ctc_errors({"train": train, "dev": dev})

    assert [s.set for s in c.sets] == ["train", "dev"]
    d = c.dev
    assert d is not None
    assert (d.substitutions, d.deletions, d.insertions) == (2, 5, 1)
    assert d.n_chars == 4 + 4 + 2 + 2 + 3 + 4 + 2 + 2
    truths = [t for t, _ in PAIRS]
    preds = [p or "" for _, p in PAIRS]
    assert d.n_edits == pytest.approx(ctc_scores(preds, truths)["cer"] * d.n_chars)
    assert d.cer == pytest.approx(ctc_scores(preds, truths)["cer"])
    assert d.share("deletion") == pytest.approx(5 / 8)
    train_counts = c.sets[0]
    assert (train_counts.n_edits, train_counts.n_chars) == (1, 3)

    assert [(r.true, r.predicted, r.count, r.share) for r in c.substitutions] == [("2", "5", 2, 1.0)]
    assert [(r.true, r.count) for r in c.deletions] == [("3", 2), ("0", 1), ("1", 1), ("7", 1)]
    assert [(r.predicted, r.count) for r in c.insertions] == [("3", 1)]

    assert (c.n_collapsed, c.collapsed_edits) == (2, 3)
    assert c.collapsed_cer == pytest.approx(3 / 23)
    assert c.cer_if_fixed == pytest.approx(5 / 23)
    (row,) = c.categories
    # 6 wrong of 8: the category is 2 of the 6 errors; fixing it removes 2/8 of the exact-match error
    assert (row.name, row.source, row.count) == (COLLAPSED, "rule", 2)
    assert row.share == pytest.approx(2 / 6)
    assert row.ceiling == pytest.approx(2 / 8)
    assert row.error_if_fixed == pytest.approx(4 / 8)
    assert c.collapsed_examples.to_dict("records") == [
        {"id": 1, "y_true": "1100", "y_pred": "10", "lost": 2},
        {"id": 3, "y_true": "77", "y_pred": "7", "lost": 1},
    ]

    out = ctc_dict(c)
    assert out["edits"][1]["n_edits"] == 8 and out["edits"][1]["deletion_share"] == pytest.approx(5 / 8)
    assert out["collapsed_repeats"]["categories"][0]["ceiling_points"] == pytest.approx(25.0)


def test_a_set_without_errors_reads_zero_edits() -> None:
    c = ctc_errors({"dev": _frame([("12", "12")])})
    assert c.dev is not None and c.dev.n_edits == 0 and c.dev.cer == 0.0
    assert c.n_collapsed == 0 and c.substitutions == [] and c.categories[0].count == 0
