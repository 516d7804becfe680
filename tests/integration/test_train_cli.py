"""`dlkit train` through the real CLI against a real MLflow SQLite store, read back afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import REPO, TINY_DIGITS, WATCHED_DLKIT, write_recipe

runner = CliRunner()

pytestmark = pytest.mark.slow


def _run_of(uri: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments])
    return client, runs


def test_train_records_a_finished_run(tracking_uri: str, workdir: Path) -> None:
    import keras

    recipe = write_recipe(workdir, TINY_DIGITS)
    result = runner.invoke(app, ["train", str(recipe), "--set", "train.epochs=2"])
    assert result.exit_code == 0, result.output
    client, runs = _run_of(tracking_uri)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.info.run_id in result.output and tracking_uri in result.output
    assert "mlflow ui --backend-store-uri" in result.output
    assert client.get_experiment(run.info.experiment_id).name == "tiny-digits"

    # params: the flattened recipe plus data facts
    params = run.data.params
    assert params["train.epochs"] == "2"
    assert params["model.type"] == "cnn"
    assert params["data.n_train_dev"] == "180"
    # per-epoch history and final per-set metrics
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in history] == [0, 1]  # epoch index, as MLflow's Keras autolog
    for name in ("train", "train_dev", "dev", "test"):
        assert 0 <= run.data.metrics[f"{name}_error"] <= 1
        assert run.data.metrics[f"{name}_accuracy"] == pytest.approx(1 - run.data.metrics[f"{name}_error"])
    # artifacts
    listed = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "recipe.yaml",
        "run.json",
        "metrics.json",
        "history.csv",
        "split",
        "model",
        "predictions",
    } <= listed
    predictions = {a.path for a in client.list_artifacts(run.info.run_id, "predictions")}
    assert predictions == {f"predictions/{s}.parquet" for s in ("train", "train_dev", "dev", "test")}

    # the logged model reloads and reproduces the saved dev predictions from raw inputs
    local = Path(client.download_artifacts(run.info.run_id, "", str(workdir / "dl")))
    model = keras.models.load_model(local / "model" / "model.keras")
    dev = pd.read_parquet(local / "predictions" / "dev.parquet")
    from sklearn.datasets import load_digits

    images = load_digits().images.astype("float32")[..., None]
    proba = model.predict(images[dev["id"].to_numpy()], verbose=0)
    np.testing.assert_allclose(proba, dev[[f"proba_{k}" for k in range(10)]].to_numpy(), atol=1e-5)

    # errors are measured in inference mode on each set, not Keras's running average
    metrics = json.loads((local / "metrics.json").read_text())
    assert metrics["dev"]["error"] == pytest.approx(1 - dev["correct"].mean())
    info = json.loads((local / "run.json").read_text())
    assert info["status"] == "FINISHED" and info["run_id"] == run.info.run_id
    assert info["classes"] == list(range(10))

    # the manifest: every example exactly once, sets as configured
    manifest = pd.read_parquet(local / "split" / "manifest.parquet")
    assert len(manifest) == 1797 and manifest["id"].is_unique
    assert manifest["set"].value_counts().to_dict() == info["split_sizes"]


def test_no_track_writes_run_directory_only(workdir: Path) -> None:
    recipe = write_recipe(workdir, TINY_DIGITS)
    result = runner.invoke(app, ["train", str(recipe), "--no-track", "--set", "train.epochs=1"])
    assert result.exit_code == 0, result.output
    assert not (workdir / "mlflow.db").exists()
    (run_dir,) = (workdir / "runs").iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "FINISHED" and info["run_id"] is None
    assert (run_dir / "model" / "model.keras").is_file()
    assert (run_dir / "checkpoints" / "last.keras").is_file()
    assert "Not tracked in MLflow" in result.output


def test_failed_run_is_marked_failed_not_finished(tracking_uri: str, workdir: Path) -> None:
    recipe = write_recipe(workdir, TINY_DIGITS.replace("filters: [8]", "filters: [8, 8, 8, 8]"))
    result = runner.invoke(app, ["train", str(recipe)])
    # a model that cannot fit the data is the recipe's mistake: a usage error, found before training
    assert result.exit_code == 2
    assert "error: model cnn: input 8x8 is too small for 4 conv blocks" in result.output
    assert "Traceback" not in result.output
    _, runs = _run_of(tracking_uri)
    assert [r.info.status for r in runs] == ["FAILED"]
    (run_dir,) = (workdir / "runs").iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "FAILED" and "too small" in info["reason"]


def test_bad_recipe_exit_2_one_line(workdir: Path) -> None:
    recipe = write_recipe(workdir, TINY_DIGITS.replace("learning_rate", "learnig_rate"))
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {recipe}: train.optimizer.learnig_rate: unknown field. Did you mean 'learning_rate'?"
    )
    assert not (workdir / "runs").exists()


def test_bad_data_exit_1_and_nothing_written(workdir: Path) -> None:
    recipe = write_recipe(
        workdir, "name: t\ndata: {source: {type: csv, path: missing.csv, target: y}}\nmodel: {type: mlp}\n"
    )
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: {workdir / 'missing.csv'}: file not found"
    assert not (workdir / "runs").exists()


def test_csv_binary_end_to_end_with_metadata(tracking_uri: str, workdir: Path) -> None:
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=(n, 2))
    frame = pd.DataFrame(
        {
            "a": x[:, 0],
            "b": x[:, 1],
            "site": rng.choice(["north", "south"], n),
            "y": np.where(x[:, 0] > 0, "pos", "neg"),
        }
    )
    frame.to_csv(workdir / "d.csv", index=False)
    recipe = write_recipe(
        workdir,
        """
        name: csv-binary
        data:
          source: {type: csv, path: d.csv, target: y, metadata: [site]}
          split: {dev: 0.25, test: 0.25}
        model: {type: mlp, units: []}
        train: {epochs: 30, batch_size: 32, optimizer: {type: sgd, learning_rate: 0.5, momentum: 0.9}}
        """,
    )
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 0, result.output
    (run_dir,) = (workdir / "runs").iterdir()
    dev = pd.read_parquet(run_dir / "predictions" / "dev.parquet")
    assert set(dev["site"]) == {"north", "south"}
    assert set(dev["y_true"]) == {"neg", "pos"}
    # logistic regression separates a linear boundary
    assert dev["correct"].mean() >= 0.9


def test_quickstart_in_a_real_subprocess(workdir: Path) -> None:
    """The README's quick start, as a user runs it (shortened to 2 epochs): everything is in
    MLflow, written by the writer process; the command itself never imports MLflow."""
    from mlflow.tracking import MlflowClient

    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            WATCHED_DLKIT,
            "train",
            str(REPO / "recipes" / "digits-cnn.yaml"),
            "--set",
            "train.epochs=2",
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (workdir / "mlflow.db").is_file()
    assert "Recorded in MLflow: sqlite:///" in proc.stdout
    assert "epoch 2/2" in proc.stdout  # plain progress lines when not a terminal
    assert "mlflow imported: False" in proc.stdout
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    (run_dir,) = (workdir / "runs").iterdir()
    run = client.get_run(json.loads((run_dir / "run.json").read_text())["run_id"])
    assert run.info.status == "FINISHED" and run.data.params["train.epochs"] == "2"
    assert run.data.tags["dlkit.run_dir"] == str(run_dir.resolve())
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1]
    assert {d.dataset.name for d in run.inputs.dataset_inputs} == {"train", "train_dev", "dev", "test"}
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"metrics.json", "model", "split"}
    [output] = run.outputs.model_outputs
    assert client.get_logged_model(output.model_id).status == "READY" and output.step == 1
