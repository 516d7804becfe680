"""The worked examples of docs/method.md, figure by figure, as the code computes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlkit.analysis.bias_variance import SetError, diagnose_errors, wilson_interval
from dlkit.analysis.error_analysis import category_rows, label_reading
from dlkit.analysis.satisficing import check_satisficing
from dlkit.tuning.space import Dimension, narrow
from dlkit.tuning.spec import DimensionSpec


def _sets(sizes: dict[str, int], **errors: float) -> dict[str, SetError]:
    return {name: SetError.from_rate(name, rate / 100, sizes[name]) for name, rate in errors.items()}


def _pct(value: float) -> float:
    return round(100 * value, 2)


def test_section_2_wilson_interval() -> None:
    low, high = wilson_interval(100, 1000)
    assert (_pct(low), _pct(high)) == (8.29, 12.02)


def test_section_2_row_1_avoidable_bias() -> None:
    result = diagnose_errors(_sets(dict.fromkeys(("train", "dev"), 1000), train=8, dev=10), 0.01)
    bias, variance = result.gap("avoidable_bias"), result.gap("variance")
    assert bias is not None and variance is not None
    assert (_pct(bias.value), _pct(bias.low), _pct(bias.high)) == (7.0, 5.47, 8.85)
    assert variance.status == "unresolved" and _pct(variance.resolution) == 2.52
    assert result.verdict == "avoidable_bias" and result.problems == ["avoidable_bias"]


def test_section_2_row_2_sets_too_small() -> None:
    result = diagnose_errors(_sets(dict.fromkeys(("train", "dev"), 200), train=8, dev=10), 0.075)
    assert result.verdict is None
    assert [round(g.scale_needed or 0, 1) for g in result.gaps] == [58.0, 8.3]


def test_section_2_row_3_data_mismatch() -> None:
    sizes = {"train": 5000, "train_dev": 1000, "dev": 1000, "test": 1000}
    result = diagnose_errors(_sets(sizes, train=1, train_dev=1.5, dev=10, test=11), 0.0)
    mismatch = result.gap("data_mismatch")
    assert mismatch is not None
    assert (_pct(mismatch.value), _pct(mismatch.low), _pct(mismatch.high)) == (8.5, 6.54, 10.6)
    assert result.verdict == "data_mismatch" and result.problems == ["data_mismatch"]
    assert [g.status for g in result.gaps if g.name in ("variance", "overfitting_to_dev")] == [
        "unresolved",
        "unresolved",
    ]


def test_section_2_row_4_second_problem_at_half_the_verdict() -> None:
    sizes = dict.fromkeys(("train", "train_dev", "dev"), 1000)
    result = diagnose_errors(_sets(sizes, train=10, train_dev=11, dev=20), 0.0)
    assert result.problems == ["avoidable_bias", "data_mismatch"]


def test_section_3_satisficing_example() -> None:
    models = {"a": (0.90, 80.0), "b": (0.92, 95.0), "c": (0.95, 1500.0)}
    ok = {
        name: check_satisficing({"latency_ms": "<= 100"}, {"latency_ms": ms})[0].met
        for name, (_, ms) in models.items()
    }
    assert ok == {"a": True, "b": True, "c": False}
    assert max((acc, name) for name, (acc, _) in models.items() if ok[name])[1] == "b"


def test_section_4_ceilings_and_labels() -> None:
    tags = pd.DataFrame(
        {
            "blurry": [True] * 5 + [False] * 95,
            "great_cat": [True] * 40 + [False] * 60,
            "incorrectly_labelled": [False] * 94 + [True] * 6,
        }
    )
    rows = {r.name: r for r in category_rows(tags, 0.10)}
    assert rows["blurry"].ceiling_points == pytest.approx(0.5)
    assert rows["blurry"].error_if_fixed == pytest.approx(0.095)
    assert rows["great_cat"].ceiling_points == pytest.approx(4.0)
    reading = label_reading(list(rows.values()), 0.10)
    assert reading.ceiling == pytest.approx(0.006) and reading.corrected_dev_error == pytest.approx(0.094)
    assert not reading.worth_fixing


def test_section_5_scales_and_coarse_to_fine() -> None:
    rng = np.random.default_rng(0)
    lr = Dimension("lr", DimensionSpec.model_validate({"log": [1e-4, 1.0]}))
    draws = np.asarray(lr.sample(20_000, rng))
    assert np.mean(draws < 1e-3) == pytest.approx(0.25, abs=0.02)  # a quarter per decade
    beta = Dimension("beta", DimensionSpec.model_validate({"one_minus_log": [0.9, 0.999]}))
    assert np.mean(np.asarray(beta.sample(20_000, rng)) >= 0.99) == pytest.approx(0.5, abs=0.02)

    box = narrow(
        Dimension("lr", DimensionSpec.model_validate({"log": [1e-4, 1e-1]})), [1e-3, 3e-3], 1e-3, 0.1
    )
    assert box.spec.log == pytest.approx((5.01e-4, 5.99e-3), rel=1e-3)
    optimizer = Dimension(
        "opt", DimensionSpec.model_validate({"choice": ["adam", "sgd", "rmsprop", "adamw"]})
    )
    kept = narrow(optimizer, ["adam"], "adam", 0.1, tried=["adam", "sgd"])
    assert kept.spec.choice == ["adam", "rmsprop", "adamw"]
