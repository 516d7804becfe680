"""Learning curves: each point's budget, and a reading that agrees with the diagnosis.

Planted curves with known answers: more data is advised only when variance is the largest gap
at the largest point and dev error is still falling (docs/method.md §2).
"""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.analysis.bias_variance import SetError, diagnose_errors
from dlkit.analysis.learning_curve import (
    LearningCurvePoint,
    LearningCurveResult,
    describe_budget,
    diagnose_point,
    plan_budgets,
    read_learning_curve,
    subsample_size,
)
from dlkit.data.split import _counts

SIZES = [100, 250, 500, 1000]


def _points(
    train: list[float], dev: list[float], n_dev: int = 1000, train_dev: list[float] | None = None
) -> list[LearningCurvePoint]:
    tds = train_dev or [None] * len(SIZES)
    return [
        LearningCurvePoint(n / 1000, n, t, d, n_dev, train_dev_error=td, n_train_dev=n_dev if td else None)
        for n, t, d, td in zip(SIZES, train, dev, tds, strict=True)
    ]


# --- the reading ---------------------------------------------------------------------------


def test_high_variance_and_dev_still_falling_means_more_data_helps() -> None:
    # largest point: train 3%, dev 9%, human 1%: variance 6% > avoidable bias 2%
    result = read_learning_curve(_points([0.0, 0.01, 0.02, 0.03], [0.30, 0.20, 0.14, 0.09]), 0.01)
    assert result.verdict == "variance"
    assert result.gaps["variance"] == pytest.approx(0.06)
    assert result.gaps["avoidable_bias"] == pytest.approx(0.02)
    assert result.more_data_helps
    assert result.dev_drop == pytest.approx(0.05)
    assert result.reading.startswith("Variance is the largest gap at 1,000 examples")
    assert "more data is likely to help" in result.reading
    assert [p.n_train for p in result.points] == SIZES


def test_high_bias_flat_curves_do_not_advise_more_data() -> None:
    result = read_learning_curve(_points([0.30, 0.31, 0.30, 0.31], [0.32, 0.31, 0.315, 0.312]), 0.01)
    assert result.verdict == "avoidable_bias"
    assert not result.more_data_helps
    assert "The problem is bias: more data alone will not help" in result.reading
    assert "likely to help" not in result.reading


def test_high_bias_with_dev_still_falling_does_not_advise_more_data() -> None:
    # the case: dev still falls, but train is 24 points above human and dev − train is 3:
    # diagnose says "work on avoidable bias", so the curve must not say "more data"
    result = read_learning_curve(_points([0.20, 0.22, 0.24, 0.24], [0.40, 0.33, 0.30, 0.27]), 0.0)
    assert result.dev_drop > result.dev_drop_se  # still falling...
    assert result.verdict == "avoidable_bias"  # ...but bias dominates
    assert not result.more_data_helps
    assert "The problem is bias" in result.reading
    assert "dev error still falling" in result.reading
    assert "likely to help" not in result.reading


def test_bias_first_then_variance_as_diagnose_orders_them() -> None:
    # train 4%, dev 7%, human 0: avoidable bias 4% is the verdict, variance 3% a problem too
    result = read_learning_curve(_points([0.0, 0.01, 0.03, 0.04], [0.30, 0.20, 0.12, 0.07]), 0.0)
    assert result.verdict == "avoidable_bias"
    assert not result.more_data_helps
    assert result.reading.endswith(
        "Variance (dev − train 3.0%) is a problem too and dev error is still falling: more data is "
        "likely to help with that part, after bias."
    )
    # variance first, bias second: more data for the variance, and a word on the bias
    result = read_learning_curve(_points([0.0, 0.01, 0.03, 0.03], [0.30, 0.20, 0.14, 0.08]), 0.0)
    assert result.verdict == "variance"
    assert result.more_data_helps
    assert result.reading.endswith("Avoidable bias (3.0%) is a problem too, which more data will not fix.")


def test_high_variance_with_flat_dev_says_regularise_not_more_data() -> None:
    result = read_learning_curve(_points([0.0, 0.0, 0.0, 0.01], [0.20, 0.12, 0.10, 0.10]), 0.0)
    assert result.verdict == "variance"
    assert not result.more_data_helps
    assert "dev error has flattened" in result.reading
    assert "regularisation" in result.reading


def test_data_mismatch_is_not_fixed_by_more_training_data() -> None:
    # train 2%, train-dev 3%, dev 15%: dev − train-dev = 12% is the largest gap
    result = read_learning_curve(
        _points([0.0, 0.01, 0.02, 0.02], [0.40, 0.25, 0.19, 0.15], train_dev=[0.2, 0.1, 0.05, 0.03]), 0.0
    )
    assert result.dev_drop > result.dev_drop_se
    assert result.verdict == "data_mismatch"
    assert not result.variance_includes_mismatch
    assert not result.more_data_helps
    assert result.reading.startswith("Data mismatch is the largest gap")


def test_no_train_dev_set_says_variance_may_include_mismatch() -> None:
    result = read_learning_curve(_points([0.0, 0.01, 0.02, 0.03], [0.30, 0.20, 0.14, 0.09]), 0.01)
    assert result.variance_includes_mismatch
    assert "Without a train-dev set, part of that gap may be data mismatch" in result.reading


def test_a_drop_within_noise_does_not_count() -> None:
    # 0.5 point drop on 200 dev examples at 10% error: standard error ~2.1 points
    result = read_learning_curve(_points([0.05, 0.05, 0.06, 0.06], [0.2, 0.15, 0.105, 0.10], n_dev=200), 0.05)
    assert result.dev_drop_se == pytest.approx((0.1 * 0.9 / 200) ** 0.5)
    assert not result.more_data_helps


def test_no_clear_gap_does_not_advise_more_data() -> None:
    # 40 dev examples: a 10-point drop is past one standard error, but no gap is resolved
    result = read_learning_curve(_points([0.05, 0.05, 0.05, 0.05], [0.30, 0.25, 0.2, 0.1], n_dev=40), 0.05)
    assert result.dev_drop > result.dev_drop_se
    assert result.verdict is None
    assert not result.more_data_helps
    assert "no gap is clearly there" in result.reading


@pytest.mark.parametrize("seed", range(5))
def test_reading_agrees_with_diagnose_on_random_curves(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        train = sorted(rng.uniform(0, 0.3, 4))
        dev = sorted((t + rng.uniform(0, 0.3) for t in train), reverse=True)
        human = float(rng.uniform(0, 0.05))
        n_dev = int(rng.integers(50, 5000))
        points = _points([round(t, 3) for t in train], [round(d, 3) for d in dev], n_dev=n_dev)
        result = read_learning_curve(points, human)
        last = points[-1]
        sets = {
            "train": SetError.from_rate("train", last.train_error, last.n_train),
            "dev": SetError.from_rate("dev", last.dev_error, last.n_dev),
        }
        assert result.verdict == diagnose_errors(sets, human).verdict
        falling = result.dev_drop > result.dev_drop_se
        assert result.more_data_helps == (result.verdict == "variance" and falling)


def test_the_runs_own_diagnosis_decides() -> None:
    points = _points([0.0, 0.01, 0.02, 0.03], [0.30, 0.20, 0.14, 0.09])
    # diagnose measured train on more mistakes than the rates say (e.g. a subsample): bias wins
    sets = {"train": SetError.from_rate("train", 0.08, 1000), "dev": SetError.from_rate("dev", 0.09, 1000)}
    result = read_learning_curve(points, 0.0, diagnosis=diagnose_errors(sets, 0.0))
    assert result.verdict == "avoidable_bias"
    assert not result.more_data_helps
    assert "train error 8.0% against human level 0.0%" in result.reading


def test_regression_losses_use_the_diagnosis_interval() -> None:
    rng = np.random.default_rng(0)
    points = [LearningCurvePoint(f, n, 0.1, d, 500) for f, n, d in [(0.5, 500, 4.0), (1.0, 1000, 2.0)]]
    sets = {
        "train": SetError.from_losses("train", rng.exponential(0.1, 1000)),
        "dev": SetError.from_losses("dev", rng.exponential(2.0, 500)),
    }
    diagnosis = diagnose_errors(sets, 0.0)
    result = read_learning_curve(points, 0.0, diagnosis=diagnosis)
    dev = diagnosis.sets["dev"]
    assert result.kind == "mean"
    assert result.dev_drop_se == pytest.approx((dev.high - dev.low) / 2 / 1.959964, rel=1e-5)
    assert result.more_data_helps
    assert "4 at 500 examples, 2 at 1,000" in result.reading
    with pytest.raises(ValueError, match="not rates in"):
        diagnose_point(points[-1], 0.0)


def test_order_does_not_matter_and_two_points_needed() -> None:
    pts = _points([0.0, 0.01, 0.02, 0.03], [0.30, 0.20, 0.14, 0.09])
    assert read_learning_curve(list(reversed(pts)), None).dev_drop == pytest.approx(0.05)
    with pytest.raises(ValueError, match="at least two points"):
        read_learning_curve(pts[:1], None)


def test_unknown_human_error_is_said() -> None:
    result = read_learning_curve(_points([0.0, 0.01, 0.02, 0.03], [0.30, 0.20, 0.14, 0.09]), None)
    assert result.notes == ["No human-level error given: avoidable bias is measured against 0."]


def test_result_round_trips_through_json_data() -> None:
    result = read_learning_curve(_points([0.0, 0.01, 0.02, 0.03], [0.30, 0.20, 0.14, 0.09]), 0.01)
    result.budget = "every point: 300 steps"
    back = LearningCurveResult.from_dict({**result.to_dict(), "from_a_later_version": 1})
    assert back == result


# --- the budget ----------------------------------------------------------------------------


def test_every_point_gets_the_full_runs_optimizer_steps() -> None:
    # 1,800 examples in batches of 128: 15 steps an epoch, 20 epochs = 300 steps
    budgets = plan_budgets([1.0, 0.1, 0.3], 1800, 20, 128)
    assert [(b.fraction, b.n_train, b.steps_per_epoch, b.epochs) for b in budgets] == [
        (0.1, 180, 2, 150),
        (0.3, 540, 5, 60),
        (1.0, 1800, 15, 20),
    ]
    assert [b.steps for b in budgets] == [300, 300, 300]
    assert [b.scale for b in budgets] == [7.5, 3.0, 1.0]
    assert not any(b.capped for b in budgets)


def test_steps_are_rounded_up_to_whole_epochs() -> None:
    # 1,000 examples / 64 = 16 steps an epoch (320 steps); 25% = 250 examples = 4 steps
    (quarter, _) = plan_budgets([0.25, 1], 1000, 20, 64)
    assert (quarter.epochs, quarter.steps) == (80, 320)
    # 10% = 100 examples = 2 steps: 160 epochs, 10% scale cap (200) not reached
    (tenth, _) = plan_budgets([0.1, 1], 1000, 20, 64)
    assert (tenth.epochs, tenth.steps) == (160, 320)
    # 3 examples an epoch cannot divide 320: one step more, never fewer
    (small, _) = plan_budgets([0.2, 1], 1000, 20, 64, max_epoch_scale=1000)
    assert small.steps_per_epoch == 4 and small.steps == 320


def test_tiny_shares_are_capped_and_said_so() -> None:
    budgets = plan_budgets([0.01, 1.0], 1800, 20, 128)
    tiny = budgets[0]
    assert (tiny.n_train, tiny.steps_per_epoch, tiny.epochs, tiny.capped) == (18, 1, 200, True)
    text = describe_budget(budgets, 20, 300, 10)
    assert "Every point is given the optimizer steps of the full run (300: 20 epochs" in text
    assert "Capped, so given fewer steps than the full run: 1% (67% of the steps)" in text
    uncapped = describe_budget(plan_budgets([0.1, 1.0], 1800, 20, 128), 20, 300, 10)
    assert uncapped.endswith("(capped at 10x the epochs; no point needed more).")


def test_full_batch_points_keep_the_epochs() -> None:
    assert [b.epochs for b in plan_budgets([0.1, 0.5, 1], 1800, 20, 64, full_batch=True)] == [20, 20, 20]


def test_point_sizes_match_the_split() -> None:
    for n in (5, 10, 37, 1800, 12345):
        for f in (0.01, 0.1, 0.25, 0.3, 0.5, 0.7, 1.0):
            assert subsample_size(n, f) == max(1, _counts(n, {"train": f, "unused": 1 - f})["train"]), (n, f)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fractions": [0, 1]}, r"fractions must be in \(0, 1\]"),
        ({"fractions": [0.5, 1.5]}, r"fractions must be in \(0, 1\]"),
        ({"max_epoch_scale": 0.5}, "max_epoch_scale must be >= 1"),
        ({"epochs": 0}, "need n_train, epochs and batch_size >= 1"),
    ],
)
def test_bad_budget_input_is_rejected(kwargs: dict, message: str) -> None:
    args = {"fractions": [0.1, 1], "n_train": 100, "epochs": 5, "batch_size": 8} | kwargs
    with pytest.raises(ValueError, match=message):
        plan_budgets(**args)
