"""Learning-rate schedules against METHODOLOGY §6's formulas, epoch by epoch."""

from __future__ import annotations

import pytest

from dlkit.training.schedules import ExponentialSpec, InverseTimeSpec, StepSpec, lr_at


def test_inverse_time_known_values() -> None:
    # α = α0 / (1 + decay_rate · epoch) with α0 = 0.2, decay_rate = 1: 0.2, 0.1, 0.0667, 0.05
    spec = InverseTimeSpec(decay_rate=1.0)
    assert [lr_at(spec, 0.2, e) for e in range(4)] == pytest.approx([0.2, 0.1, 0.2 / 3, 0.05])


def test_exponential_known_values() -> None:
    spec = ExponentialSpec(decay_rate=0.95)
    assert [lr_at(spec, 1.0, e) for e in range(3)] == pytest.approx([1.0, 0.95, 0.9025])


def test_step_halves_every_n_epochs() -> None:
    spec = StepSpec(factor=0.5, every=2)
    assert [lr_at(spec, 0.08, e) for e in range(6)] == pytest.approx([0.08, 0.08, 0.04, 0.04, 0.02, 0.02])
