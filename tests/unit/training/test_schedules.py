"""Learning-rate schedules against docs/method.md §6's formulas, epoch by epoch."""

from __future__ import annotations

import math

import pytest

from dlkit.errors import BuildError
from dlkit.training.schedules import (
    CosineSpec,
    ExponentialSpec,
    InverseTimeSpec,
    Plateau,
    PlateauSpec,
    SqrtSpec,
    StepSpec,
    lr_at,
)


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


def test_sqrt_counts_epochs_from_one() -> None:
    # α = k / √(epoch number) · α0: 1, 1/√2, 1/√3, 1/2 with k = 1, α0 = 1
    spec = SqrtSpec(k=1.0)
    assert [lr_at(spec, 1.0, e) for e in range(4)] == pytest.approx([1.0, 2**-0.5, 3**-0.5, 0.5])
    assert lr_at(SqrtSpec(k=0.5), 0.2, 3) == pytest.approx(0.05)


def test_cosine_with_warmup_known_values() -> None:
    # warm-up 0.5, 1; then 0.5·(1 + cos(π t / 4)) for t = 0..4, and flat at alpha after
    spec = CosineSpec(warmup_epochs=2, decay_epochs=4)
    expected = [
        0.5,
        1.0,
        1.0,
        0.5 * (1 + math.cos(math.pi / 4)),
        0.5,
        0.5 * (1 - math.cos(math.pi / 4)),
        0.0,
        0.0,
    ]
    assert [lr_at(spec, 1.0, e) for e in range(8)] == pytest.approx(expected)
    floor = CosineSpec(decay_epochs=2, alpha=0.1)
    assert [lr_at(floor, 2.0, e) for e in range(4)] == pytest.approx([2.0, 1.1, 0.2, 0.2])


def test_cosine_decays_over_the_rest_of_the_epochs_by_default() -> None:
    # 5 epochs, 1 of warm-up: decay over 4, so the last epoch is one step short of alpha (no epoch at 0)
    spec = CosineSpec(warmup_epochs=1)
    c = math.cos(math.pi / 4)
    expected = [1.0, 1.0, 0.5 * (1 + c), 0.5, 0.5 * (1 - c)]
    assert [lr_at(spec, 1.0, e, epochs=5) for e in range(5)] == pytest.approx(expected)


def test_plateau_reduces_after_patience_and_cools_down() -> None:
    spec = PlateauSpec(factor=0.5, patience=2, min_delta=0.0, cooldown=1, min_lr=0.2)
    plateau = Plateau(spec, 1.0)
    losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 0.94, 0.99, 0.98]
    rates = [plateau.update(v) for v in losses]
    # epochs 3-4 do not beat 0.9: halve; one epoch of cooldown; two more without progress: halve
    # again, then the floor min_lr holds
    assert rates == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25])
    assert plateau.update(2.0) == pytest.approx(0.2)


def test_plateau_maximises_accuracy_and_restores_its_state() -> None:
    plateau = Plateau(PlateauSpec(monitor="val_accuracy", patience=1, factor=0.1, min_delta=0.0), 1.0)
    assert [plateau.update(v) for v in (0.5, 0.6, 0.55)] == pytest.approx([1.0, 1.0, 0.1])
    again = Plateau(PlateauSpec(monitor="val_accuracy", patience=1, factor=0.1, min_delta=0.0), 1.0)
    again.load_state(plateau.state())
    assert again.update(0.58) == pytest.approx(0.01)  # 0.58 < best 0.6: reduce again


def test_plateau_is_not_a_function_of_the_epoch() -> None:
    with pytest.raises(BuildError, match="depends on the monitored metric"):
        lr_at(PlateauSpec(), 0.1, 3)
