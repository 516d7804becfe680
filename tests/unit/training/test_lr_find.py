"""The range test's reading: bias-corrected smoothing and the suggested range, on planted curves."""

from __future__ import annotations

import numpy as np
import pytest

from dlkit.training.lr_find import log_rates, read_range_test, smooth, smoothing_for


def test_smoothing_is_a_bias_corrected_average() -> None:
    # β = 0.5: v1 = 0.5 -> 1; v2 = 0.25 + 1.5 = 1.75 -> 1.75 / 0.75
    assert smooth([1.0, 3.0], 0.5) == pytest.approx([1.0, 1.75 / 0.75])
    assert smooth([2.0] * 5, 0.9) == pytest.approx([2.0] * 5)  # no start-up bias
    assert smoothing_for(100) == pytest.approx(0.9)
    assert smoothing_for(20) == 0.8 and smoothing_for(10_000) == 0.98


def test_rates_are_log_spaced() -> None:
    assert log_rates(1e-4, 1.0, 5) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])


def test_reading_of_a_planted_valley() -> None:
    # loss falls fastest around 1e-3, lowest at 1e-2, rises beyond
    lrs = list(log_rates(1e-5, 1.0, 101))
    x = np.log10(lrs)
    losses = list(2.0 - np.tanh(2 * (x + 3)) + np.where(x > -2, 8 * (x + 2) ** 2, 0.0))
    result = read_range_test(lrs, losses, beta=0.5)
    assert 1e-2 <= result.min_loss_lr <= 10**-1.7
    assert 10**-3.3 <= result.steepest_lr <= 10**-2.7
    assert result.suggested == pytest.approx((result.min_loss_lr / 1000, result.min_loss_lr / 10))
    assert result.notes == []


def test_reading_says_when_the_range_was_too_narrow() -> None:
    lrs = list(log_rates(1e-5, 1e-3, 30))
    falling = read_range_test(lrs, list(np.linspace(3, 1, 30)), beta=0.5)
    assert falling.min_loss_lr == pytest.approx(1e-3)
    assert falling.notes == ["the loss was still falling at the largest rate tried: raise --max-lr"]
    rising = read_range_test(lrs, list(np.linspace(1, 3, 30)), beta=0.5)
    assert rising.notes == ["the loss was lowest at the smallest rates tried: lower --min-lr"]
