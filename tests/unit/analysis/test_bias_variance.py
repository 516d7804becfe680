"""Known answers for the gaps of docs/method.md §2, their intervals, verdicts and readings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlkit.analysis.bias_variance import (
    ACTIONS,
    SetError,
    diagnose_errors,
    difference_interval,
    wilson_interval,
)

BIG = 200_000  # examples per set in the worked examples: intervals of about ±0.2%


def _sets(train: float, dev: float, train_dev: float | None = None, test: float | None = None, n: int = BIG):
    rates = {"train": train, "train_dev": train_dev, "dev": dev, "test": test}
    return {k: SetError.from_rate(k, v / 100, n) for k, v in rates.items() if v is not None}


# ---- the interval formulas -------------------------------------------------------------------


def test_wilson_interval_known_answer():
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553 to 0.3662
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Newcombe (1998), table II, method 10 (hybrid score), examples (a) and (b)
        ((56, 70), (48, 80), (0.0524, 0.3339)),
        ((9, 10), (3, 10), (0.1705, 0.8090)),
    ],
)
def test_newcombe_hybrid_score_known_answers(a, b, expected):
    pa, pb = a[0] / a[1], b[0] / b[1]
    low, high = difference_interval(pa, wilson_interval(*a), pb, wilson_interval(*b))
    assert (round(low, 4), round(high, 4)) == expected


def test_difference_of_normal_intervals_is_welch():
    a = SetError.from_losses("dev", np.array([1.0, 2.0, 3.0, 4.0]))
    b = SetError.from_losses("train", np.array([0.0, 1.0, 1.0, 2.0, 1.0]))
    low, high = difference_interval(a.error, a.interval, b.error, b.interval)
    se = math.sqrt(np.var([1, 2, 3, 4], ddof=1) / 4 + np.var([0, 1, 1, 2, 1], ddof=1) / 5)
    assert low == pytest.approx(1.5 - 1.959964 * se, rel=1e-5)
    assert high == pytest.approx(1.5 + 1.959964 * se, rel=1e-5)


# ---- the worked examples of docs/method.md §2 ---------------------------------------------------


def test_row1_bias_larger_than_variance_work_on_bias():
    r = diagnose_errors(_sets(train=8, dev=10), human_error=0.01)
    assert r.gap("avoidable_bias").value == pytest.approx(0.07)
    assert r.gap("variance").value == pytest.approx(0.02)
    assert r.verdict == "avoidable_bias"
    assert r.problems == ["avoidable_bias"]
    assert r.actions == {"avoidable_bias": ACTIONS["avoidable_bias"]}
    assert r.variance_includes_mismatch
    assert r.gap("data_mismatch") is None
    assert any("variance and data mismatch cannot be told apart" in n for n in r.notes)


def test_row2_bias_smaller_than_variance_work_on_variance():
    r = diagnose_errors(_sets(train=8, dev=10), human_error=0.075)
    assert r.gap("avoidable_bias").value == pytest.approx(0.005)
    assert r.gap("variance").value == pytest.approx(0.02)
    assert r.verdict == "variance"
    assert r.problems == ["variance"]
    assert r.actions["variance"][: len(ACTIONS["variance"])] == ACTIONS["variance"]
    assert "add a train-dev set to tell variance from data mismatch" in r.actions["variance"]


def test_row3_variance():
    r = diagnose_errors(_sets(train=1, train_dev=9, dev=10), human_error=0.0)
    assert r.gap("variance").value == pytest.approx(0.08)
    assert r.verdict == "variance"
    assert r.problems == ["variance"]
    assert not r.variance_includes_mismatch
    assert not any("cannot be told apart" in n for n in r.notes)


def test_row4_data_mismatch():
    r = diagnose_errors(_sets(train=1, train_dev=1.5, dev=10), human_error=0.0)
    assert r.gap("data_mismatch").value == pytest.approx(0.085)
    assert r.verdict == "data_mismatch"
    assert r.problems == ["data_mismatch"]
    assert r.actions == {"data_mismatch": ACTIONS["data_mismatch"]}


def test_row5_avoidable_bias_only():
    r = diagnose_errors(_sets(train=10, train_dev=11, dev=12), human_error=0.0)
    assert r.gap("avoidable_bias").value == pytest.approx(0.10)
    assert r.verdict == "avoidable_bias"
    # variance and mismatch of 1% are measurable at this size but small beside 10% of bias
    assert r.problems == ["avoidable_bias"]


def test_row6_avoidable_bias_and_data_mismatch():
    r = diagnose_errors(_sets(train=10, train_dev=11, dev=20), human_error=0.0)
    assert r.gap("avoidable_bias").value == pytest.approx(0.10)
    assert r.gap("data_mismatch").value == pytest.approx(0.09)
    assert r.verdict == "avoidable_bias"
    assert r.problems == ["avoidable_bias", "data_mismatch"]
    assert list(r.actions) == ["avoidable_bias", "data_mismatch"]


# ---- intervals, resolution, edge cases -------------------------------------------------------


def test_avoidable_bias_interval_is_train_wilson_minus_human():
    sets = {"train": SetError.from_counts("train", 80, 1000), "dev": SetError.from_counts("dev", 100, 1000)}
    r = diagnose_errors(sets, human_error=0.01)
    low, high = wilson_interval(80, 1000)
    bias = r.gap("avoidable_bias")
    assert (bias.low, bias.high) == pytest.approx((low - 0.01, high - 0.01))
    assert bias.resolution == pytest.approx((high - low) / 2)


def test_small_sets_leave_gap_unresolved_and_say_how_much_more_data():
    # 8% vs 10% on 200 examples each: the interval spans zero
    sets = {"train": SetError.from_rate("train", 0.08, 200), "dev": SetError.from_rate("dev", 0.10, 200)}
    r = diagnose_errors(sets, human_error=0.075)
    var = r.gap("variance")
    assert var.status == "unresolved"
    assert var.low < 0 < var.high
    assert var.resolution > 0.02
    assert var.scale_needed == pytest.approx((var.resolution / 0.02) ** 2)
    assert r.verdict is None and r.problems == [] and r.actions == {}
    assert any("Sets too small to resolve variance" in n for n in r.notes)
    assert any("nothing is flagged" in n for n in r.notes)


def test_negative_gap_is_explained_not_flagged():
    r = diagnose_errors(_sets(train=5, train_dev=5, dev=3, test=3), human_error=0.0)
    mismatch = r.gap("data_mismatch")
    assert mismatch.status == "negative" and not mismatch.flagged
    assert "dev is easier than the training distribution" in mismatch.reading
    assert any(n.startswith("Negative data mismatch") for n in r.notes)
    assert r.problems == ["avoidable_bias"]


def test_train_error_below_human_level_says_bayes_is_lower():
    r = diagnose_errors(_sets(train=1, train_dev=1, dev=1), human_error=0.02)
    bias = r.gap("avoidable_bias")
    assert bias.status == "negative"
    assert not bias.flagged
    assert any("Bayes error must be lower than the human estimate" in n for n in r.notes)
    assert r.verdict is None


def test_overfitting_to_dev():
    r = diagnose_errors(_sets(train=2, train_dev=2, dev=2, test=6), human_error=0.02)
    assert r.gap("overfitting_to_dev").value == pytest.approx(0.04)
    assert r.verdict == "overfitting_to_dev"
    assert r.actions == {"overfitting_to_dev": ["a bigger dev set"]}


def test_nothing_planted_nothing_flagged():
    r = diagnose_errors(_sets(train=5, train_dev=5, dev=5, test=5), human_error=0.05)
    assert r.verdict is None
    assert all(g.status == "unresolved" and not g.flagged for g in r.gaps)


def test_regression_means_use_normal_intervals():
    rng = np.random.default_rng(0)
    sets = {
        "train": SetError.from_losses("train", rng.exponential(1.0, 5000)),
        "train_dev": SetError.from_losses("train_dev", rng.exponential(1.0, 5000)),
        "dev": SetError.from_losses("dev", rng.exponential(3.0, 5000)),
    }
    r = diagnose_errors(sets, human_error=1.0)
    assert r.kind == "mean"
    assert r.verdict == "data_mismatch"
    assert r.gap("data_mismatch").value == pytest.approx(2.0, abs=0.15)


def test_to_dict_is_json_ready():
    import json

    r = diagnose_errors(_sets(train=8, dev=10), human_error=0.01)
    data = json.loads(json.dumps(r.to_dict()))
    assert data["verdict"] == "avoidable_bias"
    assert data["gaps"]["avoidable_bias"]["label"] == "avoidable bias"
    assert data["sets"]["train"]["n"] == BIG


@pytest.mark.parametrize(
    ("sets", "human", "message"),
    [
        ({"dev": SetError.from_rate("dev", 0.1, 10)}, 0.0, "needs a train error"),
        (
            {"train": SetError.from_rate("train", 0.1, 10), "dev": SetError.from_rate("dev", 0.1, 10)},
            1.5,
            "human_error must be in [0, 1]",
        ),
    ],
)
def test_bad_input_is_rejected(sets, human, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        diagnose_errors(sets, human)


@pytest.mark.parametrize("n", [1, 7, 30, 263, 10_000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_closed_form_matches_scipy(n, confidence):
    from scipy.stats import binomtest

    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
        assert wilson_interval(k, n, confidence) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_tiny_gap_gets_no_more_data_advice():
    # 10.0% vs 10.1% on 3,000 examples: resolving 0.1 points would take thousands of times more data
    sets = {"train": SetError.from_rate("train", 0.100, 3000), "dev": SetError.from_rate("dev", 0.101, 3000)}
    var = diagnose_errors(sets, human_error=0.1).gap("variance")
    assert var.status == "unresolved" and var.scale_needed is None


def test_wilson_interval_holds_the_rate_exactly_at_zero_and_all_errors():
    # the closed form rounds to a low bound a hair above 0 for 0 errors at many n (e.g. 5, 10);
    # a report's error bars (p - low) then went negative and the HTML plot raised
    for n in range(1, 3000):
        assert wilson_interval(0, n)[0] == 0.0
        assert wilson_interval(n, n)[1] == 1.0
    for n_errors, n in [(1, 7), (3, 10), (50, 1000), (999, 1000)]:
        low, high = wilson_interval(n_errors, n)
        assert low <= n_errors / n <= high


def test_html_report_draws_a_set_with_no_errors(tmp_path):
    from dlkit.reporting.diagnose import to_html
    from dlkit.runs.diagnose import RunDiagnosis

    sets = {
        "train": SetError.from_rate("train", 0.0, 10),
        "dev": SetError.from_rate("dev", 0.1, 10),
    }
    d = RunDiagnosis(
        run_name="r",
        run_dir=tmp_path,
        task="multiclass",
        metric="accuracy",
        human_error_source="recipe targets.human_error",
        result=diagnose_errors(sets, 0.0),
    )
    page = to_html(d)
    assert "<svg" in page and "Diagnosis of r" in page
