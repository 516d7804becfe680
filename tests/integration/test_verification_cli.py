"""One-shot verification end to end: generated glyph identities, a triplet-loss encoder, the
identity split, τ chosen on dev, `dlkit verify` and `dlkit identify`, diagnose and analyze-errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()

GLYPHS = """
name: tiny-glyphs
seed: 0
data:
  source: {type: glyphs, identities: 62, per_identity: 8, size: 12, noise: 0.0, variation: 0.5}
  task: verification
  split: {train: 0.6, train_dev: 0.05, dev: 0.175, test: 0.175}
model: {type: cnn, filters: [32], dense: [64]}
verification: {embedding: 32, margin: 0.5}
train: {epochs: 15, batch_size: 32, optimizer: {type: adam, learning_rate: 0.003}}
tracking: {experiment: glyphs}
"""


@pytest.fixture(scope="module")
def glyph_run(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> tuple[Path, str]:
    """One tracked verification run (its run dir and MLflow store): read it, never modify it."""
    from dlkit import api

    folder = tmp_path_factory.mktemp("glyph_run")
    shutil.copy(migrated_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    overrides = [f"tracking.runs_dir={folder / 'runs'}", f"tracking.uri={uri}"]
    recipe = api.load_recipe(write_recipe(folder, GLYPHS), overrides)
    return api.train(recipe, track=True).run_dir, uri


def _labels(run: Path, split: str) -> set[str]:
    return set(pd.read_parquet(run / "predictions" / f"{split}.parquet")["y_true"].astype(str))


@pytest.mark.slow
def test_unseen_identities_are_verified(glyph_run: tuple[Path, str]) -> None:
    run, uri = glyph_run
    metrics = json.loads((run / "metrics.json").read_text())
    # one-shot: dev and test identities never seen in training; train-dev shares train's
    train, dev, test = _labels(run, "train"), _labels(run, "dev"), _labels(run, "test")
    assert not train & dev and not train & test and not dev & test
    assert _labels(run, "train_dev") <= train
    # at τ chosen on dev (test measured 0.896 with this seed: τ moves a little between identities)
    assert metrics["dev"]["verification_accuracy"] >= 0.9, metrics["dev"]
    assert metrics["test"]["verification_accuracy"] >= 0.85, metrics["test"]
    for split in ("dev", "test"):
        assert metrics[split]["roc_auc"] >= 0.95, metrics[split]
    # τ is chosen on dev and applied to every set
    assert len({m["threshold"] for m in metrics.values()}) == 1
    predictions = pd.read_parquet(run / "predictions" / "dev.parquet")
    assert {
        "y_true",
        "y_pred",
        "correct",
        "distance",
        "positive_distance",
        "negative_distance",
        "loss",
    } <= set(predictions.columns)
    embedding = predictions[[f"emb_{k}" for k in range(32)]].to_numpy()
    assert np.allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-4)  # L2-normalised
    assert predictions["correct"].mean() == pytest.approx(metrics["dev"]["accuracy"])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    logged = client.search_runs([client.get_experiment_by_name("glyphs").experiment_id])[0]
    assert logged.data.params["data.task"] == "verification"
    assert logged.data.metrics["dev_threshold"] == pytest.approx(metrics["dev"]["threshold"])
    assert logged.data.metrics["test_verification_accuracy"] == pytest.approx(
        metrics["test"]["verification_accuracy"]
    )


def _save(image: np.ndarray, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image[..., 0].astype(np.uint8)).save(path)
    return path


@pytest.mark.slow
def test_verify_and_identify_images(glyph_run: tuple[Path, str], workdir: Path) -> None:
    from dlkit.data.glyphs import GlyphsSource, render_glyphs

    run, _ = glyph_run
    test_ids = sorted(_labels(run, "test"))[:3]
    # new images of the test identities (another seed): a gallery of two each, and probes
    x, chars = render_glyphs(
        GlyphsSource(identities=62, per_identity=3, size=12, noise=0.0, variation=0.5, seed=9)
    )
    for char in test_ids:
        first, second, third = np.flatnonzero(chars == char)
        _save(x[first], workdir / "gallery" / char / "1.png")
        _save(x[second], workdir / "gallery" / char / "2.png")
        _save(x[third], workdir / f"probe_{char}.png")

    verdicts = []
    for other in test_ids:
        result = runner.invoke(
            app, ["verify", str(run), f"probe_{test_ids[0]}.png", f"gallery/{other}/1.png", "--json"]
        )
        assert result.exit_code == 0, result.output
        verdict = json.loads(result.stdout)
        assert verdict["same"] == (verdict["distance"] <= verdict["threshold"])
        verdicts.append(verdict)
    # the same identity is nearer than the others
    assert verdicts[0]["distance"] < min(v["distance"] for v in verdicts[1:])

    right = 0
    for char in test_ids:
        result = runner.invoke(
            app, ["identify", str(run), f"probe_{char}.png", "--gallery", "gallery", "--json"]
        )
        assert result.exit_code == 0, result.output
        found = json.loads(result.stdout)
        distances = [r["distance"] for r in found["ranking"]]
        assert distances == sorted(distances) and found["distance"] == distances[0]
        assert (found["identity"] is None) == (found["distance"] > found["threshold"])
        right += found["identity"] == char
    assert right >= 2

    shown = runner.invoke(app, ["verify", str(run), f"probe_{test_ids[0]}.png", f"probe_{test_ids[0]}.png"])
    assert shown.exit_code == 0 and "same: distance 0.0000 <= τ" in shown.output

    missing = runner.invoke(app, ["verify", str(run), "nothere.png", f"probe_{test_ids[0]}.png"])
    assert missing.exit_code == 1 and "nothere.png: image not found" in missing.output


@pytest.mark.slow
def test_reports_read_a_verification_run(glyph_run: tuple[Path, str]) -> None:
    run, _ = glyph_run
    metrics = json.loads((run / "metrics.json").read_text())
    diagnosed = runner.invoke(app, ["diagnose", str(run), "--human-error", "0.01", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    (diagnosis,) = json.loads(diagnosed.stdout)["runs"]
    # the per-image error: the nearest other image of the set shows another identity
    assert diagnosis["sets"]["dev"]["error"] == pytest.approx(1 - metrics["dev"]["accuracy"])

    analyzed = runner.invoke(app, ["analyze-errors", str(run)])
    assert analyzed.exit_code == 0, analyzed.output
    assert "loss" in analyzed.output.lower()


def test_a_verify_on_another_task_is_refused(digits_run: Path) -> None:
    result = runner.invoke(app, ["verify", str(digits_run), "a.png", "b.png"])
    assert result.exit_code == 2
    assert "verify and identify read a verification run (this one's task is multiclass)" in result.output
