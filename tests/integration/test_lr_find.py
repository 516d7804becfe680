"""`dlkit lr-find`: a range test on a real model, its plot, and the stop where the loss blows up."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()
pytestmark = pytest.mark.slow

RECIPE = """
name: lrf-digits
seed: 0
data:
  source: {type: sklearn, name: digits}
model: {type: mlp, units: [32]}
train: {batch_size: 32, optimizer: {type: sgd}}
"""


def test_range_test_finds_a_range_and_stops_when_the_loss_blows_up(workdir: Path) -> None:
    recipe = write_recipe(workdir, RECIPE)
    args = ["lr-find", str(recipe), "--min-lr", "1e-5", "--max-lr", "100", "--steps", "60", "--json"]
    result = runner.invoke(app, [*args, "--plot", "out/lr.png"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    lrs = np.asarray(report["lrs"])
    assert lrs[0] == pytest.approx(1e-5)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], (100 / 1e-5) ** (1 / 59))  # log-spaced
    # plain SGD on standardised digits diverges well before a rate of 100
    assert report["diverged_at"] is not None and report["diverged_at"] < 100 and len(lrs) < 60
    assert report["smoothed"][int(np.argmin(report["smoothed"]))] < 0.8 * report["smoothed"][0]
    low, high = report["suggested"]
    assert low == pytest.approx(report["min_loss_lr"] / 1000) and high == pytest.approx(
        report["min_loss_lr"] / 10
    )
    assert 1e-3 < report["min_loss_lr"] < report["diverged_at"]
    assert (workdir / "out" / "lr.png").stat().st_size > 10_000

    text = runner.invoke(app, ["lr-find", str(recipe), "--steps", "20"])
    assert text.exit_code == 0, text.output
    assert "train.optimizer.learning_rate: {log: [" in text.output


def test_bad_range_is_refused(workdir: Path) -> None:
    recipe = write_recipe(workdir, RECIPE)
    result = runner.invoke(app, ["lr-find", str(recipe), "--min-lr", "1", "--max-lr", "0.1"])
    assert result.exit_code == 2
    assert "lr-find: expected 0 < min-lr < max-lr and steps >= 5 (got 1, 0.1, 100)" in result.output
