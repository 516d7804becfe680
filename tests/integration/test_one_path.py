"""A tune trial is `dlkit train` with the sampled values, nothing less.

The same recipe trained by ``dlkit train`` and as a one-trial study (the sampled value equal to
the recipe's) must give the same history: regularisation, initialiser, augmentation, runtime
and stream are honoured alike. A study's trials see the recipe's label corrections and accept
``group`` and ``time`` splits exactly as ``dlkit train`` does, with the same manifest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

pytestmark = pytest.mark.slow
runner = CliRunner()

ONE_TRIAL = """
tune:
  strategy: grid
  trials: 1
  space:
    train.optimizer.learning_rate: {choice: [0.01]}
"""


def _table(folder: Path, n: int = 200) -> None:
    """Two Gaussian classes with a group column, a date column and text ids."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 3)) + y[:, None] * 1.5
    pd.DataFrame(
        {
            "uid": [f"u{i:03d}" for i in range(n)],
            "a": x[:, 0],
            "b": x[:, 1],
            "c": x[:, 2],
            "site": rng.integers(0, 12, n),
            "day": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "label": np.array(["no", "yes"])[y],
        }
    ).to_csv(folder / "table.csv", index=False)


def _recipe(folder: Path, split: str, extra: str = "") -> Path:
    return write_recipe(
        folder,
        f"""
name: one-path
seed: 3
data:
  source: {{type: csv, path: table.csv, target: label, id_column: uid, metadata: [site, day]}}
  split: {split}
{extra}
model: {{type: mlp, units: [8], dropout: 0.1}}
train:
  epochs: 3
  batch_size: 32
  optimizer: {{type: adam, learning_rate: 0.01}}
  regularization: {{l2: 0.05}}
  initializer: he_normal
{ONE_TRIAL}
""",
    )


def _train_and_tune(folder: Path, recipe: Path) -> tuple[Path, Path]:
    trained = runner.invoke(app, ["train", str(recipe), "--no-track"])
    assert trained.exit_code == 0, trained.output
    (run,) = (p for p in (folder / "runs").iterdir())
    tuned = runner.invoke(app, ["tune", str(recipe), "--no-track", "--study", "study"])
    assert tuned.exit_code == 0, tuned.output
    (trial,) = (folder / "study" / "trials").iterdir()
    return run, trial


def test_a_trial_trains_exactly_as_train_does(workdir: Path) -> None:
    _table(workdir)
    run, trial = _train_and_tune(workdir, _recipe(workdir, "{train: 0.6, dev: 0.2, test: 0.2}"))
    trained = pd.read_csv(run / "history.csv")
    tried = pd.read_csv(trial / "history.csv")
    # the recipe-wide l2 penalty is in both losses: the same numbers, epoch by epoch
    assert tried["loss"].to_numpy() == pytest.approx(trained["loss"].to_numpy(), rel=1e-5)
    assert tried["val_loss"].to_numpy() == pytest.approx(trained["val_loss"].to_numpy(), rel=1e-5)
    dev_run = pd.read_parquet(run / "predictions" / "dev.parquet")
    dev_trial = pd.read_parquet(trial / "predictions" / "dev.parquet")
    assert dev_trial["id"].tolist() == dev_run["id"].tolist()
    assert dev_trial["loss"].to_numpy() == pytest.approx(dev_run["loss"].to_numpy(), rel=1e-4)


def test_without_the_penalty_the_loss_differs(workdir: Path) -> None:
    _table(workdir)
    recipe = _recipe(workdir, "{train: 0.6, dev: 0.2, test: 0.2}")
    run, trial = _train_and_tune(workdir, recipe)
    plain = runner.invoke(app, ["train", str(recipe), "--no-track", "--set", "train.regularization=null"])
    assert plain.exit_code == 0, plain.output
    newest = max((workdir / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    assert newest != run
    penalised = pd.read_csv(trial / "history.csv")["loss"].iloc[0]
    assert penalised > pd.read_csv(newest / "history.csv")["loss"].iloc[0] + 0.01


@pytest.mark.parametrize("by", ["group: site", "time: day"])
def test_group_and_time_splits_tune_on_trains_manifest(workdir: Path, by: str) -> None:
    _table(workdir)
    run, trial = _train_and_tune(workdir, _recipe(workdir, f"{{train: 0.6, dev: 0.2, test: 0.2, {by}}}"))
    assert pd.read_parquet(trial / "split" / "manifest.parquet").equals(
        pd.read_parquet(run / "split" / "manifest.parquet")
    )


def test_trials_score_against_corrected_labels(workdir: Path) -> None:
    _table(workdir)
    frame = pd.read_csv(workdir / "table.csv")
    flipped = frame["uid"].iloc[:40]
    old = frame["label"].iloc[:40]
    pd.DataFrame({"id": flipped, "label": old.map({"no": "yes", "yes": "no"}), "previous_label": old}).to_csv(
        workdir / "corrections.csv", index=False
    )
    recipe = _recipe(workdir, "{train: 0.6, dev: 0.2, test: 0.2}", "  corrections: corrections.csv")
    run, trial = _train_and_tune(workdir, recipe)
    corrected = dict(zip(flipped, old.map({"no": "yes", "yes": "no"}), strict=True))
    for folder in (run, trial):
        dev = pd.read_parquet(folder / "predictions" / "dev.parquet")
        hit = dev[dev["id"].isin(corrected)]
        assert len(hit) > 0
        assert (hit["y_true"] == hit["id"].map(corrected)).all()


def test_a_trial_on_the_previous_trials_model_trains_exactly_as_train_does(workdir: Path) -> None:
    """The second trial builds the model the first one did: the study resets and reuses it
    (dropout seeds, batch-norm averages, normaliser and weights as built), and it must train as
    `dlkit train` does on a new one."""
    _table(workdir)
    recipe = _recipe(workdir, "{train: 0.6, dev: 0.2, test: 0.2}")
    text = recipe.read_text().replace("dropout: 0.1}", "dropout: 0.1, batch_norm: true}")
    recipe.write_text(
        text.replace("choice: [0.01]", "choice: [0.05, 0.01]").replace("trials: 1", "trials: 2")
    )
    trained = runner.invoke(app, ["train", str(recipe), "--no-track"])
    assert trained.exit_code == 0, trained.output
    (run,) = (workdir / "runs").iterdir()
    tuned = runner.invoke(app, ["tune", str(recipe), "--no-track", "--study", "study"])
    assert tuned.exit_code == 0, tuned.output
    trials = pd.read_csv(workdir / "study" / "trials.csv")
    assert trials["train.optimizer.learning_rate"].tolist() == [0.05, 0.01]  # the reused one is second
    second = workdir / "study" / "trials" / trials["trial"].iloc[1]
    assert pd.read_csv(second / "history.csv").equals(pd.read_csv(run / "history.csv"))
    dev_run = pd.read_parquet(run / "predictions" / "dev.parquet")
    dev_trial = pd.read_parquet(second / "predictions" / "dev.parquet")
    pd.testing.assert_frame_equal(dev_trial, dev_run)
