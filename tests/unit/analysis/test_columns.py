"""The classification reading from NumPy columns (no pandas) equals the reading from a frame."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from dlkit.analysis.columns import Columns
from dlkit.analysis.error_analysis import highest_loss, label_indices, records, set_report


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y_true = rng.choice(["a", "b", "c"], n)
    y_pred = np.where(rng.random(n) < 0.3, rng.choice(["a", "b", "c"], n), y_true)
    loss = rng.choice([0.1, 0.5, 0.9, 2.0], n)  # many ties
    loss[[3, n - 2]] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n) * 10,
            "y_true": y_true,
            "y_pred": y_pred,
            "correct": y_true == y_pred,
            "confidence": rng.random(n),
            "loss": loss,
        }
    )


def _plain(rows: list[dict]) -> list[dict]:
    """Rows with NaN as text (NaN is not equal to itself)."""
    return [{k: "nan" if isinstance(v, float) and np.isnan(v) else v for k, v in row.items()} for row in rows]


def _columns(frame: pd.DataFrame) -> Columns:
    return Columns({c: frame[c].to_numpy() for c in frame.columns})


# (n, top): pandas picks the top with a stable sort while top < n, else sorts the whole column
# (its tie order is defined there for up to 16 rows, numpy's insertion sort)
@pytest.mark.parametrize(("n", "top"), [(60, 0), (60, 5), (60, 10), (60, 58), (60, 59), (12, 12), (12, 30)])
def test_highest_loss_of_columns_is_the_frames_with_ties_in_row_order_and_nan_last(n: int, top: int) -> None:
    frame = _frame(n)
    expected = highest_loss(frame, top).to_dict("records")
    got = highest_loss(_columns(frame), top)
    assert isinstance(got, Columns) and got.columns == ["id", "y_true", "y_pred", "confidence", "loss"]
    assert _plain(records(got)) == _plain(expected)
    assert len(got) == min(top, n)


def test_highest_loss_known_answer() -> None:
    table = Columns({"id": np.array([1, 2, 3, 4]), "loss": np.array([0.5, np.nan, 2.0, 0.5])})
    assert records(highest_loss(table, 3)) == [
        {"id": 3, "loss": 2.0},
        {"id": 1, "loss": 0.5},
        {"id": 4, "loss": 0.5},
    ]
    assert records(highest_loss(table, 9))[-1]["id"] == 2  # NaN last


def test_set_report_from_columns_equals_the_frames() -> None:
    frame = _frame(200, seed=1)
    classes = ["a", "b", "c"]
    a, b = set_report(frame, classes), set_report(_columns(frame), classes)
    assert (a.n, a.n_errors, a.error, a.classes) == (b.n, b.n_errors, b.error, b.classes)
    assert a.confusion.tolist() == b.confusion.tolist()
    assert [asdict(r) for r in a.per_class] == [asdict(r) for r in b.per_class]
    assert a.confused_pairs == b.confused_pairs and a.slices == b.slices == []
    assert _plain(records(a.highest_loss)) == _plain(records(b.highest_loss))


def test_slices_need_a_frame() -> None:
    frame = _frame().assign(source="web")
    with pytest.raises(ValueError, match="slices by metadata need the predictions as a DataFrame"):
        set_report(_columns(frame), ["a", "b", "c"], ["source"])


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        Columns({"id": np.arange(3), "loss": np.zeros(2)})


@pytest.mark.parametrize(
    "values",
    [
        np.array([3, 1, 2, 3, 7]),
        np.array([True, False, True]),
        np.array(["b", "a", "zz", "a"], dtype=object),
        np.array(["b", 1, "1", True], dtype=object),  # mixed: each value's own text
        np.array([True, 1, 0], dtype=object),  # equal under ==, not as text
        np.array([0.0, -0.0, 1.0]),
        np.array([], dtype=np.int64),
    ],
)
def test_labels_are_matched_as_text_value_by_value(values: np.ndarray) -> None:
    labels = ["1", "3", "a", "b", "True", "0.0", "-0.0"]
    expected = [labels.index(str(v)) if str(v) in labels else -1 for v in values.tolist()]
    assert label_indices(values, labels).tolist() == expected
    assert label_indices(list(values), labels).tolist() == expected
    assert label_indices(pd.Series(values), labels).tolist() == expected  # a frame's column
