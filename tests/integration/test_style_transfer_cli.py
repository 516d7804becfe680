"""`dlkit style-transfer`: scikit-learn's sample images on a tiny random conv base and on a dlkit
run; the total cost falls over the steps, the images and costs are written and logged to MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app

runner = CliRunner()


def _tiny_base(path: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="c2")(x)
    keras.Model(inputs, x).save(path)
    return path


@pytest.mark.slow
def test_style_transfer_lowers_its_cost_and_is_logged(workdir: Path, tracking_uri: str) -> None:
    from PIL import Image

    _tiny_base(workdir / "tiny.keras")
    args = ["style-transfer", "sklearn:china.jpg", "sklearn:flower.jpg", "--base", "tiny.keras"]
    result = runner.invoke(
        app,
        [
            *args,
            "--steps",
            "10",
            "--size",
            "32",
            "--save-every",
            "5",
            "--tv-weight",
            "1",
            "--out",
            "out",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["content_layer"] == "c2"
    assert document["style_layers"] == [{"layer": "c1", "weight": 0.5}, {"layer": "c2", "weight": 0.5}]
    costs = pd.read_csv(workdir / "out" / "costs.csv")
    assert costs["step"].tolist() == list(range(11))
    assert costs["total"].iloc[-1] < 0.9 * costs["total"].iloc[0]
    assert (costs["total"].diff().dropna() < 0).mean() >= 0.8  # falls at (nearly) every step
    assert costs["total"].to_numpy() == pytest.approx(
        (10 * costs["content"] + 40 * costs["style"] + costs["tv"]).to_numpy(), rel=1e-4
    )
    with Image.open(workdir / "out" / "result.png") as image:
        assert image.size == (32, 21) and image.mode == "RGB"  # china.jpg is 640x427
    steps = sorted(p.name for p in (workdir / "out" / "steps").iterdir())
    assert steps == ["step_0000.png", "step_0005.png", "step_0010.png"]

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    run = client.get_run(document["run_id"])
    assert run.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "total")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(11))
    assert run.data.params["content_layer"] == "c2"
    logged = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"result.png", "costs.csv", "steps"} <= logged


@pytest.mark.slow
def test_a_dlkit_run_is_a_base(digits_run: Path, workdir: Path) -> None:
    from PIL import Image

    result = runner.invoke(
        app,
        [
            "style-transfer",
            "sklearn:flower.jpg",
            "sklearn:china.jpg",
            "--base",
            str(digits_run),
            "--steps",
            "3",
            "--size",
            "16",
            "--save-every",
            "0",
            "--no-track",
            "--out",
            "out",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["run_id"] is None
    assert document["base"] == f"run {digits_run}"
    with Image.open(workdir / "out" / "result.png") as image:
        assert image.mode == "L"  # the digits CNN takes one channel
    assert not (workdir / "out" / "steps").exists()


def test_bad_bases_and_layers_are_refused_in_one_line(workdir: Path) -> None:
    _tiny_base(workdir / "tiny.keras")
    (workdir / "junk.keras").write_text("not a model")
    base = ["style-transfer", "sklearn:china.jpg", "sklearn:flower.jpg", "--no-track", "--base"]
    junk = runner.invoke(app, [*base, "junk.keras"])
    assert junk.exit_code == 2 and "junk.keras: neither a Keras model nor VGG-19 weights" in junk.output
    layer = runner.invoke(app, [*base, "tiny.keras", "--style-layer", "c9:0.5"])
    assert layer.exit_code == 2
    assert "'c9' is not a convolution of model file tiny.keras; expected one of c1, c2." in layer.output
    image = runner.invoke(
        app, ["style-transfer", "sklearn:nope.jpg", "x.png", "--no-track", "--base", "tiny.keras"]
    )
    assert image.exit_code == 1 and "not one of scikit-learn's sample images" in image.output
