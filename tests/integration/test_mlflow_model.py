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
from dlkit.tracking.queued import WRITER_ENV
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

TEXT = """
name: tiny-text
seed: 0
data:
  source:
    {type: text, path: text.csv, text: t, target: y, id_column: id, max_tokens: 30, output_sequence_length: 6}
  split: {train: 0.6, train_dev: 0.1, dev: 0.15, test: 0.15}
model: {type: transformer, d_model: 8, num_heads: 2, ff_dim: 8, num_layers: 1, embedding: {output_dim: 8}}
train: {epochs: 1, batch_size: 16}
"""


def _texts(folder: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    good, bad, filler = ["good", "great", "fun"], ["bad", "awful", "dull"], ["movie", "film", "the", "a"]
    rows = []
    for i in range(40):
        words = [*rng.choice(good if i % 2 else bad, 2), *rng.choice(filler, 3)]
        rows.append({"id": f"t{i}", "t": " ".join(words), "y": "pos" if i % 2 else "neg"})
    frame = pd.DataFrame(rows)
    frame.to_csv(folder / "text.csv", index=False)
    return frame


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
    done: dict[str, Any] = {"uri": uri, "folder": folder, "table": _table(folder), "texts": _texts(folder)}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(folder)
        for key, text, extra in (
            ("table_run", TABLE, ["--register", "tiny"]),
            ("image_run", IMAGES, []),
            ("text_run", TEXT, []),
        ):
            recipe = write_recipe(folder, text, f"{key}.yaml")
            # the text model (raw strings in, a served model of its own) is logged by a writer
            # process, the others from this process (where MLflow is imported already)
            mp.setenv(WRITER_ENV, "process" if key == "text_run" else "thread")
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
    assert output.step == 0  # the last epoch's step (one epoch: step 0, as autolog counts)
    # the run's own .keras file, not the model serialised again (a new save's zip differs)
    folder = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model", dst_path=str(runs["folder"])))
    model_file = runs["image_run"] / "model" / "model.keras"
    assert (folder / "data" / "model.keras").read_bytes() == model_file.read_bytes()
    assert (folder / "data" / "keras_module.txt").read_text() == "keras"
    requirements = (folder / "requirements.txt").read_text().split()
    assert [r.split("==")[0] for r in requirements] == ["mlflow", "tensorflow", "keras"]
    assert (folder / "conda.yaml").is_file() and (folder / "python_env.yaml").is_file()
    outputs = pyfunc.metadata.get_output_schema().inputs  # declared by the model, not predicted
    assert [o.shape for o in outputs] == [(-1, 10)]


def test_text_model_takes_raw_strings(runs: dict[str, Any]) -> None:
    """The vocabulary adapted on train is inside the logged model; dlkit's layers load with it."""
    import mlflow

    run_id = _info(runs["text_run"])["run_id"]
    mlflow.set_tracking_uri(runs["uri"])
    stored = _dev(runs["text_run"])
    texts = runs["texts"].set_index("id").loc[stored["id"], "t"]
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    expected = stored["proba_1"].to_numpy()
    np.testing.assert_allclose(np.asarray(model.predict(texts.to_numpy())).ravel(), expected, atol=1e-5)
    column = pd.DataFrame({"text": texts.to_numpy()})
    np.testing.assert_allclose(np.asarray(model.predict(column)).ravel(), expected, atol=1e-5)


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


def test_predict_takes_a_registered_model(runs: dict[str, Any]) -> None:
    """`dlkit predict models:/NAME/VERSION` predicts with the run that version came from."""
    folder, env = runs["folder"], {"MLFLOW_TRACKING_URI": runs["uri"]}
    dev = _dev(runs["table_run"]).set_index("id")
    for ref in ("models:/tiny/1", "models:/tiny/latest"):
        out = folder / f"registered-{ref.rsplit('/', 1)[1]}.csv"
        result = runner.invoke(
            app,
            [
                "predict",
                ref,
                str(folder / "table.csv"),
                "--out",
                str(out),
                "--runs-dir",
                str(folder / "runs"),
            ],
            env=env,
        )
        assert result.exit_code == 0, result.output
        predicted = pd.read_csv(out).set_index("id").loc[dev.index]
        assert np.allclose(predicted["proba_1"].to_numpy(), dev["proba_1"].to_numpy(), atol=1e-5)
    result = runner.invoke(app, ["predict", "models:/tiny/99", str(folder / "table.csv")], env=env)
    assert result.exit_code == 2, result.output
    assert "models:/tiny/99" in result.output and "Traceback" not in result.output


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


def test_seq2seq_model_of_two_inputs_loads(workdir: Path, tracking_uri: str) -> None:
    """A model of several inputs takes them by name, as it was trained (its logged example)."""
    import mlflow

    from dlkit.models import load_model
    from tests.integration.test_every_task import CASES

    make, text = CASES["seq2seq"]
    make(workdir)
    recipe = write_recipe(workdir, f"name: tiny-s2s\nseed: 0\n{text}\ntrain: {{epochs: 1, batch_size: 32}}\n")
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 0, result.output
    run_dir = next((workdir / "runs").glob("tiny-s2s-*"))
    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{_info(run_dir)['run_id']}/model")
    example = model.input_example
    assert isinstance(example, dict) and len(example) == 2
    expected = load_model(run_dir / "model" / "model.keras").predict(example, verbose=0)
    np.testing.assert_allclose(np.asarray(model.predict(example)), expected, atol=1e-5)
