"""Reading a learning curve: still falling -> more data helps; flat above human -> bias."""

from __future__ import annotations

import pytest

from dlkit.analysis.learning_curve import LearningCurvePoint, read_learning_curve


def _points(train: list[float], dev: list[float], n_dev: int = 1000) -> list[LearningCurvePoint]:
    sizes = [100, 250, 500, 1000]
    return [LearningCurvePoint(n / 1000, n, t, d, n_dev) for n, t, d in zip(sizes, train, dev, strict=True)]


def test_dev_still_falling_means_more_data_helps() -> None:
    result = read_learning_curve(_points([0.0, 0.01, 0.02, 0.03], [0.30, 0.20, 0.14, 0.09]), 0.01)
    assert result.more_data_helps
    assert result.dev_drop == pytest.approx(0.05)
    assert result.reading.startswith("Dev error is still falling")
    assert [p.n_train for p in result.points] == [100, 250, 500, 1000]


def test_flat_above_human_is_bias() -> None:
    result = read_learning_curve(_points([0.30, 0.31, 0.30, 0.31], [0.32, 0.31, 0.315, 0.312]), 0.01)
    assert not result.more_data_helps
    assert "the problem is bias" in result.reading


def test_flat_near_human_says_more_data_will_not_help_much() -> None:
    result = read_learning_curve(_points([0.0, 0.0, 0.005, 0.008], [0.05, 0.03, 0.02, 0.02]), 0.01)
    assert not result.more_data_helps
    assert result.reading.startswith("Dev error has flattened")


def test_a_drop_within_noise_does_not_count() -> None:
    # 0.5 point drop on 200 dev examples at 10% error: standard error ~2.1 points
    result = read_learning_curve(_points([0.05, 0.05, 0.06, 0.06], [0.2, 0.15, 0.105, 0.10], n_dev=200), 0.05)
    assert result.dev_drop_se == pytest.approx((0.1 * 0.9 / 200) ** 0.5)
    assert not result.more_data_helps


def test_order_does_not_matter_and_two_points_needed() -> None:
    pts = _points([0.0, 0.01, 0.02, 0.03], [0.30, 0.20, 0.14, 0.09])
    assert read_learning_curve(list(reversed(pts)), None).dev_drop == pytest.approx(0.05)
    with pytest.raises(ValueError, match="at least two points"):
        read_learning_curve(pts[:1], None)
