"""`analyze-errors --folds K`: suspected label errors from K-fold predictions of the recipe's own model.

Planted label noise on generated data (four overlapping Gaussian classes, so the model makes
honest mistakes too): the confident-learning list must find most planted errors and be clearly
more precise than flagging every example whose prediction differs from its label.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.analysis.label_issues import precision_recall
from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()

NAMES = np.array(["ant", "bee", "cow", "doe"])
RECIPE = """
name: noisy
seed: 0
data:
  source: {type: csv, path: noisy.csv, target: label, id_column: uid}
  split: {train: 0.5, dev: 0.25, test: 0.25}
model: {type: mlp, units: [16]}
train: {epochs: 10, batch_size: 32, optimizer: {type: adam, learning_rate: 0.02}}
"""


def write_noisy(folder: Path, n: int = 600, rate: float = 0.1, seed: int = 0) -> set[str]:
    """Four classes in 5-D, centres 2.5 standard deviations apart; ``rate`` of labels flipped
    uniformly to another class. Returns the ids of the flipped examples."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = (rng.normal(size=(4, 5)) * 2.5)[y] + rng.normal(size=(n, 5))
    flip = rng.uniform(size=n) < rate
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, 4, int(flip.sum()))) % 4
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
    frame["uid"] = [f"e{i:03d}" for i in range(n)]
    frame["label"] = NAMES[noisy]
    frame.to_csv(folder / "noisy.csv", index=False)
    return {f"e{i:03d}" for i in np.flatnonzero(flip)}


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    from dlkit import api

    folder = tmp_path_factory.mktemp("noisy")
    planted = write_noisy(folder)
    recipe = api.load_recipe(write_recipe(folder, RECIPE), [f"tracking.runs_dir={folder / 'runs'}"])
    return api.train(recipe, track=False).run_dir, planted


def test_folds_find_planted_label_noise_well_above_the_baseline(noisy_run, tmp_path: Path):
    import shutil

    source, planted = noisy_run
    run = tmp_path / "run"
    shutil.copytree(source, run)
    result = runner.invoke(
        app,
        [
            "analyze-errors",
            str(run),
            "--folds",
            "3",
            "--label-issues-on",
            "train,dev,test",
            "--json",
            "--no-report",
        ],
    )
    assert result.exit_code == 0, result.output
    li = json.loads(result.stdout)["label_issues"]
    assert li["sets"] == ["train", "dev", "test"] and li["n_examples"] == 600
    assert "3-fold cross-validated predictions of the recipe's mlp model" in li["source"]
    assert "a person must look at each flagged example" in li["caveat"]
    # every example has exactly one out-of-sample prediction, from the fold that held it out
    probs = pd.read_parquet(run / "analysis" / "oos_probabilities.parquet")
    assert len(probs) == 600 and probs["id"].is_unique and sorted(probs["fold"].unique()) == [1, 2, 3]
    proba = probs[[f"proba_{k}" for k in range(4)]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    predicted = NAMES[proba.argmax(axis=1)]
    assert li["oos_accuracy"] == pytest.approx(float((predicted == probs["y_true"]).mean()))
    assert li["oos_accuracy"] >= 0.8

    ids = probs["id"].tolist()
    position = {ident: k for k, ident in enumerate(ids)}
    truly = [position[i] for i in planted]
    flagged = [position[i["id"]] for i in li["issues"]]
    baseline = np.flatnonzero(predicted != probs["y_true"].to_numpy())
    precision, recall = precision_recall(flagged, truly)
    base_precision, _ = precision_recall(baseline, truly)
    assert recall >= 0.85
    assert precision >= 0.7
    assert precision >= base_precision + 0.1
    # ranked most suspect first
    quality = [i["label_quality"] for i in li["issues"]]
    assert quality == sorted(quality)

    # the list is a sheet: confirm two flags, apply, and get a corrections file
    listed = pd.read_csv(run / "analysis" / "label_issues.csv", dtype=str, keep_default_na=False)
    assert list(listed.columns) == [
        "rank",
        "id",
        "set",
        "given",
        "suggested",
        "label_quality",
        "suggested_proba",
        "corrected_label",
    ]
    assert listed["id"].tolist() == [i["id"] for i in li["issues"]]
    listed.loc[:1, "corrected_label"] = listed.loc[:1, "suggested"]
    listed.to_csv(run / "analysis" / "label_issues.csv", index=False)
    applied = runner.invoke(
        app, ["analyze-errors", str(run), "--apply-corrections", str(run / "analysis" / "label_issues.csv")]
    )
    assert applied.exit_code == 0, applied.output
    corrections = pd.read_csv(run / "analysis" / "corrections.csv", dtype=str)
    assert corrections["id"].tolist() == listed["id"].tolist()[:2]
    assert corrections["label"].tolist() == listed["suggested"].tolist()[:2]


def test_train_needs_folds_and_sets_are_checked(noisy_run):
    run, _ = noisy_run
    result = runner.invoke(app, ["analyze-errors", str(run), "--label-issues-on", "dev,train", "--no-report"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "error: --label-issues-on train: the run's train predictions are in-sample (its model trained "
        "on them); add --folds K for out-of-sample ones"
    )
    result = runner.invoke(app, ["analyze-errors", str(run), "--label-issues-on", "dve", "--no-report"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "error: --label-issues-on: unknown set 'dve' (expected some of train, train_dev, dev, test). "
        "Did you mean 'dev'?"
    )
    result = runner.invoke(app, ["analyze-errors", str(run), "--folds", "1", "--no-report"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: --folds: expected at least 2 folds (got 1)"
