"""Known answers for the error-analysis arithmetic (docs/method.md §4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlkit.analysis.error_analysis import (
    category_report,
    category_rows,
    ceiling,
    confusion,
    highest_loss,
    label_reading,
    most_confused,
    per_class_metrics,
    sample_errors,
    set_report,
    slice_error_rates,
    wilson_interval,
)


def test_ceiling_known_answer_from_methodology():
    # 10% dev error, a category with 5% of the errors: ceiling 0.5 points, error 9.5% at best
    assert ceiling(0.05, 0.10) == pytest.approx(0.005)
    tags = pd.DataFrame({"dog": [True] * 5 + [False] * 95})
    (row,) = category_rows(tags, dev_error=0.10)
    assert row.count == 5
    assert row.share == pytest.approx(0.05)
    assert row.ceiling_points == pytest.approx(0.5)
    assert row.error_if_fixed == pytest.approx(0.095)


def test_wilson_interval_matches_textbook_values():
    # Wilson 95% for 5/100: (0.0215, 0.1118) (Newcombe 1998 style closed form)
    low, high = wilson_interval(5, 100)
    z = 1.959963984540054
    p, n = 0.05, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-9)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0)
    assert all(np.isnan(wilson_interval(0, 0)))


def test_categories_overlap_and_rank_by_ceiling():
    # 10 reviewed errors, 20% dev error; an example can be in several categories
    sheet = pd.DataFrame(
        {
            "id": list(range(10)),
            "blurry": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
            "dog": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
            "incorrectly_labelled": [0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
            "comments": ["", "cat-like", None, "", "", "", "", "", "wrong label", ""],
        }
    ).astype({"blurry": bool, "dog": bool, "incorrectly_labelled": bool})
    report = category_report(sheet, ["blurry", "dog", "incorrectly_labelled"], 0.20, n_errors=40)
    assert [r.name for r in report.categories] == ["blurry", "dog", "incorrectly_labelled"]
    assert sum(r.share for r in report.categories) == pytest.approx(1.0)  # 0.6 + 0.3 + 0.1
    blurry = report.categories[0]
    assert blurry.ceiling == pytest.approx(0.12) and blurry.error_if_fixed == pytest.approx(0.08)
    assert report.n_untagged == 3  # ids 6, 7 and 9 carry no tag at all
    assert report.comments == [("1", "cat-like"), ("8", "wrong label")]
    assert report.n_reviewed == 10 and report.n_errors == 40


def test_rule_tags_join_the_ranking_as_rule_categories():
    sheet = pd.DataFrame({"id": [1, 2, 3, 4], "incorrectly_labelled": [False, False, False, True]})
    rules = pd.DataFrame({"phone": [True, True, True, False]}, index=[10, 11, 12, 13])
    report = category_report(sheet, ["incorrectly_labelled"], 0.1, 4, rule_tags=rules)
    assert report.categories[0].name == "phone"
    assert report.categories[0].source == "rule"
    assert report.categories[0].count == 3


def test_incorrectly_labelled_small_next_to_others_is_not_worth_fixing_first():
    # docs/method.md §4: 10% error, 6% of errors are label mistakes -> 0.6 points, small next to 4 points
    tags = pd.DataFrame(
        {"great_cat": [True] * 40 + [False] * 60, "incorrectly_labelled": [False] * 94 + [True] * 6}
    )
    rows = category_rows(tags, 0.10)
    reading = label_reading(rows, 0.10)
    assert reading.ceiling == pytest.approx(0.006)
    assert reading.corrected_dev_error == pytest.approx(0.094)
    assert not reading.worth_fixing
    assert "great_cat" in reading.reason
    assert "test" in reading.reminder


def test_incorrectly_labelled_large_share_is_worth_fixing():
    # 2% error, 30% of errors are label mistakes -> 0.6 points of 2: the largest category
    tags = pd.DataFrame(
        {"blurry": [True] * 20 + [False] * 80, "incorrectly_labelled": [False] * 70 + [True] * 30}
    )
    reading = label_reading(category_rows(tags, 0.02), 0.02)
    assert reading.worth_fixing
    assert reading.corrected_dev_error == pytest.approx(0.014)


def test_incorrectly_labelled_worth_fixing_when_it_exceeds_the_model_gap():
    tags = pd.DataFrame(
        {"great_cat": [True] * 40 + [False] * 60, "incorrectly_labelled": [False] * 94 + [True] * 6}
    )
    reading = label_reading(category_rows(tags, 0.10), 0.10, model_gap=0.005)
    assert reading.worth_fixing and "gap" in reading.reason


def test_no_label_errors_reads_as_not_worth_fixing():
    tags = pd.DataFrame({"blurry": [True, False], "incorrectly_labelled": [False, False]})
    reading = label_reading(category_rows(tags, 0.1), 0.1)
    assert not reading.worth_fixing and reading.count == 0 and reading.corrected_dev_error == 0.1


def _predictions(n=200, error_every=4, seed=0):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 3, n)
    y_pred = y_true.copy()
    wrong = np.arange(n) % error_every == 0
    y_pred[wrong] = (y_true[wrong] + 1) % 3
    return pd.DataFrame(
        {
            "id": np.arange(n) + 1000,
            "y_true": y_true,
            "y_pred": y_pred,
            "correct": ~wrong,
            "confidence": rng.uniform(0.3, 1, n),
            "loss": rng.uniform(0, 3, n),
        }
    )


def test_sample_errors_is_seeded_takes_only_errors_and_all_when_few():
    frame = _predictions()
    a = sample_errors(frame, 20, seed=1)
    b = sample_errors(frame, 20, seed=1)
    c = sample_errors(frame, 20, seed=2)
    assert len(a) == 20 and not a["correct"].any()
    assert a["id"].tolist() == b["id"].tolist() != c["id"].tolist()
    assert a["id"].is_monotonic_increasing
    assert len(sample_errors(frame, 1000, seed=0)) == int((~frame["correct"]).sum())


def test_stratified_sample_allocates_in_proportion_to_pairs():
    frame = _predictions(n=400)
    errors = frame[~frame["correct"]]
    sample = sample_errors(frame, 30, seed=0, stratify=True)
    assert len(sample) == 30 and sample["id"].is_unique
    full = errors.groupby(["y_true", "y_pred"]).size() / len(errors) * 30
    got = sample.groupby(["y_true", "y_pred"]).size()
    assert ((got - full).abs() < 1).all()


def test_per_class_confusion_and_most_confused_pairs():
    y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    y_pred = [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    rows = per_class_metrics(y_true, y_pred, [0, 1, 2])
    assert [r.label for r in rows] == ["0", "1", "2"]
    assert rows[0].precision == pytest.approx(1.0) and rows[0].recall == pytest.approx(0.5)
    assert rows[1].precision == pytest.approx(0.5) and rows[1].recall == pytest.approx(2 / 3)
    assert rows[2].f1 == pytest.approx(2 * 0.75 * 1 / 1.75)
    matrix = confusion(y_true, y_pred, [0, 1, 2])
    assert matrix.tolist() == [[2, 2, 0], [0, 2, 1], [0, 0, 3]]
    pairs = most_confused(matrix, [0, 1, 2])
    assert [(p.true, p.predicted, p.count) for p in pairs] == [("0", "1", 2), ("1", "2", 1)]
    assert pairs[0].share_of_errors == pytest.approx(2 / 3)


def test_highest_loss_is_sorted_highest_first():
    frame = _predictions()
    top = highest_loss(frame, 5)
    assert top["loss"].tolist() == sorted(frame["loss"], reverse=True)[:5]
    assert list(top.columns) == ["id", "y_true", "y_pred", "confidence", "loss"]


def test_planted_weak_slice_with_three_times_the_base_error_rate_ranks_first():
    rng = np.random.default_rng(0)
    n = 3000
    source = rng.choice(["web", "phone", "scanner", "fax"], size=n, p=[0.4, 0.2, 0.3, 0.1])
    brightness = rng.uniform(0, 1, n)
    base = 0.05
    rate = np.where(source == "phone", 3 * base, base)
    wrong = rng.uniform(size=n) < rate
    frame = pd.DataFrame({"correct": ~wrong, "source": source, "brightness": brightness})
    slices = slice_error_rates(frame, ["brightness", "source"])
    assert (slices[0].column, slices[0].value) == ("source", "phone")
    assert slices[0].ratio == pytest.approx(slices[0].error_rate / wrong.mean())
    assert slices[0].ratio > 2
    # numeric column cut into quantile bins, every example in exactly one bin
    bins = [s for s in slices if s.column == "brightness"]
    assert len(bins) == 4 and sum(s.n for s in bins) == n


def test_tiny_slice_with_one_unlucky_error_does_not_outrank_a_real_weak_slice():
    frame = pd.DataFrame(
        {
            "correct": [False] + [True] * 9 + [False] * 30 + [True] * 70 + [False] * 1,
            "source": ["a"] * 10 + ["b"] * 100 + ["tiny"],
        }
    )
    slices = slice_error_rates(frame, ["source"])
    assert slices[0].value == "b"  # 30% of 100 beats 100% of 1


def test_missing_metadata_values_form_their_own_slice():
    frame = pd.DataFrame({"correct": [True, False, True, False], "source": ["a", None, "a", None]})
    values = {s.value: s.error_rate for s in slice_error_rates(frame, ["source"])}
    assert values == {"(missing)": 1.0, "a": 0.0}


def test_set_report_counts_and_pairs():
    frame = _predictions()
    frame["source"] = np.where(frame["id"] % 2 == 0, "even", "odd")
    report = set_report(frame, [0, 1, 2], ["source"], top=3)
    assert report.n == 200 and report.n_errors == 50 and report.error == pytest.approx(0.25)
    assert report.confusion.sum() == 200 and np.trace(report.confusion) == 150
    assert len(report.confused_pairs) == 3
    assert {s.value for s in report.slices} == {"even", "odd"}


def test_per_class_and_confusion_agree_with_scikit_learn_with_labels_outside_the_classes():
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(0)
    # "9" is a class no example has; "5" is a label outside the classes (counted as scikit-learn does)
    y_true = [str(v) for v in rng.integers(0, 6, size=60)]
    y_pred = [str(v) for v in rng.integers(0, 6, size=60)]
    classes = ["0", "1", "2", "3", "4", "9"]
    rows = per_class_metrics(y_true, y_pred, classes)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    assert [x.precision for x in rows] == pytest.approx(list(p))
    assert [x.recall for x in rows] == pytest.approx(list(r))
    assert [x.f1 for x in rows] == pytest.approx(list(f))
    assert [x.support for x in rows] == list(s)
    expected = confusion_matrix(y_true, y_pred, labels=classes)
    assert confusion(y_true, y_pred, classes).tolist() == expected.tolist()
