"""Planted problems found end to end: generated CSV -> `dlkit train` -> `dlkit diagnose --json`.

Each scenario plants one problem of docs/method.md §2 (or none) and checks the verdict across
seeds. Human-level error is the known Bayes error of the generated data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

pytestmark = pytest.mark.slow
runner = CliRunner()
SEEDS = [0, 1, 2]

RECIPE = """
name: planted
seed: {seed}
data:
  source: {{type: csv, path: data.csv, target: y, id_column: id}}
  split: {split}
model: {{type: mlp, units: {units}}}
train: {{epochs: {epochs}, batch_size: {batch_size}, optimizer: {{type: adam, learning_rate: {lr}}}}}
targets: {{human_error: {human}}}
"""
BALANCED = "{train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15}"


def _write_csv(folder: Path, x: np.ndarray, y: np.ndarray) -> None:
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame.insert(0, "id", np.arange(len(y)))
    frame["y"] = y.astype(int)
    frame.to_csv(folder / "data.csv", index=False)


def _train_and_diagnose(folder: Path, **recipe: object) -> dict:
    write_recipe(folder, RECIPE.format(**recipe))
    trained = runner.invoke(app, ["train", "recipe.yaml", "--no-track"])
    assert trained.exit_code == 0, trained.output
    (run,) = (folder / "runs").iterdir()
    diagnosed = runner.invoke(app, ["diagnose", str(run), "--json", "--no-report"])
    assert diagnosed.exit_code == 0, diagnosed.output
    return json.loads(diagnosed.stdout)["runs"][0]


@pytest.mark.parametrize("seed", SEEDS)
def test_tiny_model_on_a_nonlinear_task_has_avoidable_bias(workdir, seed):
    # a disc inside a square: no linear boundary exists, and a model with no hidden layer is linear
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(2000, 2))
    _write_csv(workdir, x, (x**2).sum(axis=1) < 0.5)
    out = _train_and_diagnose(
        workdir, seed=seed, split=BALANCED, units="[]", epochs=10, batch_size=64, lr=0.01, human=0.0
    )
    assert out["verdict"] == "avoidable_bias"
    assert out["problems"] == ["avoidable_bias"]
    assert out["gaps"]["avoidable_bias"]["low"] > 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_large_model_on_few_examples_has_variance(workdir, seed):
    # 150 training examples, 40 features of which 2 matter: a 256x256 MLP memorises train
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1500, 40))
    _write_csv(workdir, x, x[:, 0] + x[:, 1] > 0)
    out = _train_and_diagnose(
        workdir,
        seed=seed,
        split="{train: 0.1, train_dev: 0.3, dev: 0.3, test: 0.3}",
        units="[256, 256]",
        epochs=60,
        batch_size=32,
        lr=0.001,
        human=0.0,
    )
    assert out["verdict"] == "variance"
    assert out["problems"] == ["variance"]
    assert out["variance_includes_mismatch"] is False
    assert out["gaps"]["data_mismatch"]["status"] != "clear"


@pytest.mark.parametrize("seed", SEEDS)
def test_shift_on_dev_and_test_inputs_is_data_mismatch(workdir, seed):
    # a sensor offset on dev and test inputs only; labels come from the unshifted inputs
    from dlkit import api

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2000, 2))
    y = x[:, 0] + x[:, 1] > 0
    _write_csv(workdir, x, y)
    recipe = dict(seed=seed, split=BALANCED, units="[16]", epochs=15, batch_size=64, lr=0.01, human=0.0)
    write_recipe(workdir, RECIPE.format(**recipe))
    # the split depends on labels and seed only, so it can be known before the inputs change
    manifest = api.split(api.load_recipe(workdir / "recipe.yaml", [])).split.manifest
    shifted = manifest["set"].isin(["dev", "test"]).to_numpy()
    x[shifted, 0] += 1.5
    _write_csv(workdir, x, y)
    out = _train_and_diagnose(workdir, **recipe)
    (run,) = (workdir / "runs").iterdir()
    stored = pd.read_parquet(run / "split" / "manifest.parquet")
    assert stored["id"].tolist() == manifest["id"].tolist()
    assert stored["set"].tolist() == manifest["set"].tolist()
    assert out["verdict"] == "data_mismatch"
    assert out["problems"] == ["data_mismatch"]
    assert out["gaps"]["variance"]["status"] != "clear"


@pytest.mark.parametrize("seed", SEEDS)
def test_nothing_planted_nothing_flagged(workdir, seed):
    # a linear task with 10% label noise (Bayes error 0.1) fitted by a linear model; a moderate
    # learning rate, so the last iterate sits near the optimum whatever the batch order
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(4000, 2))
    y = (x[:, 0] + x[:, 1] > 0) ^ (rng.random(4000) < 0.1)
    _write_csv(workdir, x, y)
    out = _train_and_diagnose(
        workdir, seed=seed, split=BALANCED, units="[]", epochs=30, batch_size=64, lr=0.01, human=0.1
    )
    assert out["verdict"] is None
    assert out["problems"] == []
    assert all(g["status"] != "clear" for g in out["gaps"].values())
