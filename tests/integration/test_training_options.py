"""Training options end to end through `dlkit train`: determinism, many options in one run,
and the training-curve warnings (printed, in run.json, in MLflow), including a NaN stop."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit import api
from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()
pytestmark = pytest.mark.slow

SMALL = """
name: opts
seed: 4
data:
  source: {type: sklearn, name: digits}
  split: {train: 0.5, dev: 0.25, test: 0.25}
model: {type: mlp, units: [16], dropout: 0.2}
train: {epochs: 2, batch_size: 64, deterministic: true}
"""


def _only_run(folder: Path) -> Path:
    (run_dir,) = [p for p in folder.iterdir() if p.is_dir()]
    return run_dir


def test_two_runs_of_one_recipe_are_identical(workdir: Path) -> None:
    results = []
    for folder in ("a", "b"):
        recipe = api.load_recipe(write_recipe(workdir, SMALL), [f"tracking.runs_dir={workdir / folder}"])
        results.append(api.train(recipe, track=False))
    first, second = results
    assert first.history == second.history
    assert first.metrics == second.metrics
    pd.testing.assert_frame_equal(
        pd.read_parquet(first.run_dir / "predictions" / "dev.parquet"),
        pd.read_parquet(second.run_dir / "predictions" / "dev.parquet"),
    )


def test_many_options_in_one_run(workdir: Path) -> None:
    import keras
    import numpy as np

    recipe = write_recipe(
        workdir,
        """
        name: opts-cnn
        seed: 0
        data:
          source: {type: sklearn, name: digits}
          split: {train: 0.5, dev: 0.25, test: 0.25}
        model: {type: cnn, filters: [4], dense: [8]}
        train:
          epochs: 3
          batch_size: full
          optimizer: {type: nadam, learning_rate: 0.01, global_clipnorm: 1.0}
          schedule: {type: cosine, warmup_epochs: 1}
          regularization: {l1: 1.0e-5, l2: 1.0e-4}
          initializer: glorot_uniform
          augment: {flip: horizontal, rotation: 0.05, zoom: 0.1, translation: 0.1, contrast: 0.2}
          strategy: mirrored
          jit_compile: true
          mixed_precision: auto
        """,
    )
    result = runner.invoke(app, ["train", str(recipe), "--no-track"])
    assert result.exit_code == 0, result.output
    run_dir = _only_run(workdir / "runs")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["runtime"] == {
        "strategy": "mirrored",
        "replicas": 1,
        "mixed_precision": False,  # auto on a CPU-only machine
        "deterministic": False,
        "jit_compile": False,  # asked, but Keras cannot compile random augmentation layers with XLA
    }
    history = pd.read_csv(run_dir / "history.csv")
    c = math.cos(math.pi / 2)
    assert history["lr"].tolist() == pytest.approx([0.01, 0.01, 0.005 * (1 + c)], rel=1e-6)
    # full batch: one step per epoch
    assert json.loads((run_dir / "checkpoints" / "state.json").read_text())["iterations"] == 3

    model = keras.models.load_model(run_dir / "model" / "model.keras")
    assert [layer.name for layer in model.get_layer("augment").layers] == [
        "flip",
        "rotation",
        "zoom",
        "translation",
        "contrast",
    ]
    assert len(model.losses) == 3  # conv, dense and output kernels carry the elastic net
    dev = pd.read_parquet(run_dir / "predictions" / "dev.parquet")
    from sklearn.datasets import load_digits

    images = load_digits().images.astype("float32")[..., None][dev["id"].to_numpy()]
    # inference mode: no augmentation, so the saved predictions come back exactly
    proba = model.predict(images, verbose=0)
    np.testing.assert_allclose(proba, dev[[f"proba_{k}" for k in range(10)]].to_numpy(), atol=1e-5)


def test_nan_loss_stops_and_fails_the_run(tracking_uri: str, workdir: Path) -> None:
    import numpy as np
    from mlflow.tracking import MlflowClient

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, size=(200, 3))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": x.sum(axis=1)}).to_csv(
        "big.csv", index=False
    )
    # raw inputs around 100 and a learning rate of 1: gradient descent overshoots to infinity
    recipe = write_recipe(
        workdir,
        """
        name: nan-reg
        data: {source: {type: csv, path: big.csv, target: y}, task: regression, normalize: false}
        model: {type: mlp, units: []}
        train: {epochs: 20, batch_size: 16, optimizer: {type: sgd, learning_rate: 1.0}}
        """,
    )
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 1, result.output
    assert "error: training loss became NaN or infinite in epoch 1 (learning rate 1); training stopped" in (
        result.output
    )
    assert "Lower train.optimizer.learning_rate" in result.output and "Traceback" not in result.output
    info = json.loads((_only_run(workdir / "runs") / "run.json").read_text())
    assert info["status"] == "FAILED" and info["warnings"][0]["code"] == "non_finite_loss"
    assert info["reason"].startswith("training loss became NaN")
    run = MlflowClient(tracking_uri=tracking_uri).get_run(info["run_id"])
    assert run.info.status == "FAILED"
    assert run.data.tags["dlkit.warnings"] == "non_finite_loss"


def test_flat_loss_is_warned_and_logged(tracking_uri: str, workdir: Path) -> None:
    from mlflow.tracking import MlflowClient

    recipe = write_recipe(
        workdir,
        """
        name: flat-iris
        data: {source: {type: sklearn, name: iris}}
        model: {type: mlp, units: []}
        train:
          epochs: 3
          optimizer: {type: sgd, learning_rate: 1.0e-7}
          initializer: glorot_uniform
          jit_compile: true
        """,
    )
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "warning: training loss flat from the start" in result.output
    assert "learning rate far too small" in result.output
    run_dir = _only_run(workdir / "runs")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "FINISHED" and [w["code"] for w in info["warnings"]] == ["flat_loss"]
    assert info["runtime"]["jit_compile"] is True  # XLA on CPU for a model without random layers
    client = MlflowClient(tracking_uri=tracking_uri)
    assert client.get_run(info["run_id"]).data.tags["dlkit.warnings"] == "flat_loss"
    assert "warnings.json" in {a.path for a in client.list_artifacts(info["run_id"])}


def test_multi_worker_from_tf_config_in_a_fresh_process(workdir: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    from tests.conftest import TINY_DIGITS

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    # a one-worker cluster: the strategy must be created before TensorFlow runs anything,
    # which a fresh `dlkit train` process does
    env = {
        **os.environ,
        "TF_CONFIG": json.dumps(
            {"cluster": {"worker": [f"localhost:{port}"]}, "task": {"type": "worker", "index": 0}}
        ),
    }
    recipe = write_recipe(workdir, TINY_DIGITS)
    args = [
        "train",
        str(recipe),
        "--no-track",
        "--set",
        "train.strategy=multi_worker",
        "--set",
        "train.epochs=1",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "dlkit", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads((_only_run(workdir / "runs") / "run.json").read_text())
    assert info["status"] == "FINISHED"
    assert info["runtime"]["strategy"] == "multi_worker" and info["runtime"]["replicas"] == 1
