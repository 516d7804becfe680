"""Verification trained as a binary classifier on pairs, on identity-balanced batches (P
identities × K images), end to end: glyph identities in an npz, the classifier's weights in the
model, τ chosen on dev, `dlkit verify`, and `dlkit predict` / `evaluate` at the run's τ."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.analysis import embedding as emb
from dlkit.cli import app
from tests.conftest import write_recipe

pytestmark = pytest.mark.slow

runner = CliRunner()

PAIRS = """
name: glyph-pairs
seed: 0
data:
  source: {type: npz, path: glyphs.npz}
  task: verification
  split: {train: 0.6, train_dev: 0.05, dev: 0.175, test: 0.175}
model: {type: cnn, filters: [32], dense: [64]}
verification: {objective: pairs, embedding: 32, identities_per_batch: 8, images_per_identity: 4}
train: {epochs: 10, batch_size: 32, optimizer: {type: adam, learning_rate: 0.003}}
"""


def _glyphs(path: Path, per_identity: int, seed: int) -> Path:
    from dlkit.data.glyphs import GlyphsSource, render_glyphs

    x, chars = render_glyphs(
        GlyphsSource(identities=62, per_identity=per_identity, size=12, noise=0.0, variation=0.5, seed=seed)
    )
    np.savez(path, x=x, y=chars.astype(str))
    return path


@pytest.fixture(scope="module")
def pairs_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One untracked pairs run: read it, never modify it."""
    from dlkit import api

    folder = tmp_path_factory.mktemp("pairs_run")
    _glyphs(folder / "glyphs.npz", 8, 0)
    recipe = api.load_recipe(write_recipe(folder, PAIRS), [f"tracking.runs_dir={folder / 'runs'}"])
    return api.train(recipe, track=False).run_dir


def test_a_pair_classifier_verifies_unseen_identities(pairs_run: Path) -> None:
    from dlkit.models import load_model
    from dlkit.rundir import RunDir

    metrics = json.loads((pairs_run / "metrics.json").read_text())
    # identities dev and test never saw in training; τ chosen on dev (measured 0.92 and 0.88)
    assert metrics["dev"]["verification_accuracy"] >= 0.9, metrics["dev"]
    assert metrics["test"]["verification_accuracy"] >= 0.85, metrics["test"]
    assert metrics["test"]["roc_auc"] >= 0.93, metrics["test"]
    assert len({m["threshold"] for m in metrics.values()}) == 1
    # the classifier's weights on |f(x1) - f(x2)| are the model's last layer
    model = load_model(RunDir(pairs_run).model_path)
    assert model.layers[-1].name == "pair_weights" and model.layers[-2].name == "l2_normalize"
    w = np.asarray(model.layers[-1].get_weights()[0])
    assert w.shape == (32,) and not np.allclose(w, 1.0)  # learned, from 1
    dev = pd.read_parquet(pairs_run / "predictions" / "dev.parquet")
    g = dev[[f"emb_{k}" for k in range(32)]].to_numpy()
    # the distance is L1 between weighted embeddings; confidence the classifier's probability
    nearest = dev["nearest"].to_numpy()
    assert np.allclose(dev["distance"], np.abs(g - g[nearest]).sum(axis=1), rtol=1e-5)
    assert np.allclose(dev["confidence"], 1 / (1 + np.exp(dev["distance"] - emb.PAIR_BIAS)))
    assert dev["correct"].mean() == pytest.approx(metrics["dev"]["accuracy"])


def test_verify_reads_the_pair_classifier(pairs_run: Path, workdir: Path) -> None:
    from PIL import Image

    x = np.load(_glyphs(workdir / "new.npz", 2, 9))["x"]
    for i in range(2):
        Image.fromarray(x[i, ..., 0].astype(np.uint8)).save(workdir / f"{i}.png")
    result = runner.invoke(app, ["verify", str(pairs_run), "0.png", "0.png", "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["distance"] == 0.0 and verdict["same"]
    other = json.loads(runner.invoke(app, ["verify", str(pairs_run), "0.png", "1.png", "--json"]).stdout)
    assert other["distance"] > 0 and other["same"] == (other["distance"] <= other["threshold"])


def test_predict_and_evaluate_score_new_data_at_the_runs_threshold(pairs_run: Path, workdir: Path) -> None:
    tau = json.loads((pairs_run / "metrics.json").read_text())["dev"]["threshold"]
    data = _glyphs(workdir / "new.npz", 3, 9)  # other images of every identity
    result = runner.invoke(app, ["predict", str(pairs_run), str(data), "--out", "p.parquet", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["threshold"] == pytest.approx(tau)  # never chosen again on the data predicted
    frame = pd.read_parquet(workdir / "p.parquet")
    g = frame[[f"emb_{k}" for k in range(32)]].to_numpy()
    index = {c: i for i, c in enumerate(sorted(set(frame["y_true"])))}
    pairs = emb.verification_pairs(np.array([index[c] for c in frame["y_true"]]), 0)
    distances = emb.pair_distances(g, pairs, "l1")
    at_tau = emb.verification_scores(distances, pairs.same, tau)["verification_accuracy"]
    assert metrics["verification_accuracy"] == pytest.approx(at_tau)
    # τ chosen on these pairs would do better on them than the run's τ does
    best = emb.choose_threshold(distances, pairs.same)
    assert emb.verification_scores(distances, pairs.same, best)["verification_accuracy"] >= at_tau

    evaluated = runner.invoke(app, ["evaluate", str(pairs_run), str(data), "--json", "--no-track"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["metrics"]["threshold"] == pytest.approx(tau)
