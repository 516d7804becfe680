"""Every trained model logged as an MLflow Model, registered, and the run's system tags and
dataset inputs, read back with MLflow's own clients from a real SQLite store."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()

pytestmark = pytest.mark.slow

TABLE = """
name: tiny-table
seed: 0
data:
  source: {type: csv, path: table.csv, target: label, id_column: id}
  split: {train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15}
model: {type: mlp, units: [8]}
train: {epochs: 2, batch_size: 16}
"""

IMAGES = """
name: tiny-images
seed: 0
data:
  source: {type: sklearn, name: digits}
  split: {train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15}
model: {type: cnn, filters: [4], dense: [8]}
train: {epochs: 1, batch_size: 128}
"""


def _table(folder: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "a": rng.normal(size=n),
            "b": rng.normal(size=n) * 10 + 3,
            "c": rng.integers(0, 5, n),  # an integer column: raw rows mix int and float
        }
    )
    frame["label"] = np.where(frame.a + frame.b / 10 > 0.3, "yes", "no")
    frame.to_csv(folder / "table.csv", index=False)
    return frame


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> dict[str, Any]:
    """A table run (registered with ``--register``) and an image run in one store."""
    folder = tmp_path_factory.mktemp("mlflow_model")
    shutil.copy(migrated_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    frame = _table(folder)
    done: dict[str, Any] = {"uri": uri, "folder": folder, "table": frame}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(folder)
        for key, text, extra in (("table_run", TABLE, ["--register", "tiny"]), ("image_run", IMAGES, [])):
            recipe = write_recipe(folder, text, f"{key}.yaml")
            result = runner.invoke(
                app, ["train", str(recipe), "--set", f"tracking.runs_dir={folder / 'runs'}", *extra]
            )
            assert result.exit_code == 0, result.output
            done[f"{key}_output"] = result.output
            done[key] = sorted((folder / "runs").glob(f"{text.split()[1]}-*"))[-1]
    return done


def _info(run_dir: Path) -> dict[str, Any]:
    import json

    return json.loads((run_dir / "run.json").read_text())


def _dev(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "predictions" / "dev.parquet")


def test_pyfunc_predicts_raw_table_rows_as_the_run_did(runs: dict[str, Any]) -> None:
    import mlflow

    run_id = _info(runs["table_run"])["run_id"]
    mlflow.set_tracking_uri(runs["uri"])
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    stored = _dev(runs["table_run"])
    rows = runs["table"].set_index("id").loc[stored["id"], ["a", "b", "c"]]  # raw: not normalised
    predicted = np.asarray(model.predict(rows)).ravel()
    np.testing.assert_allclose(predicted, stored["proba_1"].to_numpy(), atol=1e-5)
    assert model.metadata.get_input_schema().inputs[0].shape == (-1, 3)
    assert model.metadata.saved_input_example_info is not None


def test_image_model_loads_with_pyfunc_and_keras(runs: dict[str, Any]) -> None:
    import mlflow
    from sklearn.datasets import load_digits

    run_id = _info(runs["image_run"])["run_id"]
    mlflow.set_tracking_uri(runs["uri"])
    stored = _dev(runs["image_run"])
    images = load_digits().images.astype(np.float32)[stored["id"].to_numpy(dtype=int), ..., np.newaxis]
    expected = stored[[f"proba_{k}" for k in range(10)]].to_numpy()
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    np.testing.assert_allclose(np.asarray(pyfunc.predict(images)), expected, atol=1e-5)
    keras_model = mlflow.keras.load_model(f"runs:/{run_id}/model")
    np.testing.assert_allclose(keras_model.predict(images, verbose=0), expected, atol=1e-5)
    # MLflow 3: a logged model, output of the run, in the run's experiment
    client = mlflow.MlflowClient(runs["uri"])
    run = client.get_run(run_id)
    [output] = run.outputs.model_outputs
    logged = client.get_logged_model(output.model_id)
    assert (logged.name, logged.source_run_id, logged.experiment_id) == (
        "model",
        run_id,
        run.info.experiment_id,
    )
    assert output.step == 1  # the last epoch


def test_register_makes_versions_and_a_failure_leaves_nothing(runs: dict[str, Any]) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(runs["uri"])
    assert "Registered tiny version 1" in " ".join(runs["table_run_output"].split())
    env = {"MLFLOW_TRACKING_URI": runs["uri"]}
    table_run = str(runs["table_run"])
    result = runner.invoke(app, ["register", table_run, "tiny"], env=env)
    assert result.exit_code == 0, result.output
    versions = client.search_model_versions("name = 'tiny'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert {v.run_id for v in versions} == {_info(runs["table_run"])["run_id"]}

    result = runner.invoke(app, ["register", "no-such-run", "other"], env=env)
    assert result.exit_code == 2
    assert "run 'no-such-run': no run directory, run name or MLflow run id matches" in result.output
    assert "Traceback" not in result.output
    assert [m.name for m in client.search_registered_models()] == ["tiny"]


def test_runs_carry_system_tags_and_dataset_inputs(runs: dict[str, Any]) -> None:
    from mlflow import MlflowClient

    info = _info(runs["table_run"])
    run = MlflowClient(runs["uri"]).get_run(info["run_id"])
    tags = run.data.tags
    for key in ("mlflow.user", "mlflow.source.name", "mlflow.source.type"):
        assert tags[key]
    assert tags["dlkit.version.tensorflow"] and tags["dlkit.version.keras"] and tags["dlkit.version.python"]
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"train", "train_dev", "dev", "test"}
    contexts = {name: {t.key: t.value for t in d.tags}["mlflow.data.context"] for name, d in inputs.items()}
    assert contexts == {"train": "training", "train_dev": "train_dev", "dev": "dev", "test": "test"}
    assert len({d.dataset.digest for d in inputs.values()}) == 4
    assert all("table.csv" in d.dataset.source for d in inputs.values())
    assert "" not in run.data.params.values()
