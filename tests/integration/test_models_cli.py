"""`dlkit models list/show`, and training zoo models through the real CLI (transfer, python)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.models import MODELS
from tests.conftest import REPO, TINY_DIGITS, write_recipe

runner = CliRunner()


def test_models_list_shows_every_type() -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0
    for name in MODELS.names():
        assert name in result.output


def test_models_show_parameter_count_and_output_shape() -> None:
    result = runner.invoke(
        app,
        ["models", "show", "resnet", "--set", "depth=50", "--input-shape", "224,224,3", "--classes", "1000"],
    )
    assert result.exit_code == 0, result.output
    assert "parameters: 25,636,712" in result.output
    assert "output shape: (None, 1000)" in result.output
    assert "conv5_block3_out" in result.output


def test_models_show_again_answers_without_tensorflow(workdir: Path) -> None:
    args = ["models", "show", "cnn", "--set", "filters=[8, 16]", "--input-shape", "12,12,1"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    # convs 3*3*1*8+8 and 3*3*8*16+16, dense (3*3*16)*64+64, output 65*10
    assert "parameters: 11,178" in first.output
    assert len(list((workdir / "dlkit-cache" / "models").glob("*.json"))) == 1
    code = textwrap.dedent(
        f"""
        import sys
        from typer.testing import CliRunner
        from dlkit.cli import app
        result = CliRunner().invoke(app, {args!r})
        assert "tensorflow" not in sys.modules, "TensorFlow imported"
        sys.stdout.write(result.output)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's builders: the same cache key
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stderr
    assert "parameters: 11,178" in again.stdout and "conv_1" in again.stdout
    # another setting is another question: built, not read
    other = runner.invoke(app, [*args[:4], "filters=[8]", *args[5:]])
    assert "parameters: 19,226" in other.output  # 80, dense (6*6*8)*64+64, output 650
    assert len(list((workdir / "dlkit-cache" / "models").glob("*.json"))) == 2


def test_models_show_for_a_recipe(workdir: Path) -> None:
    recipe = write_recipe(
        workdir, TINY_DIGITS.replace("model: {type: cnn, filters: [8], dense: [16]}", "model: {type: lenet5}")
    )
    result = runner.invoke(app, ["models", "show", "lenet5", "--recipe", str(recipe)])
    assert result.exit_code == 2
    assert (
        "error: model lenet5: input 8x8 is too small for its 2 poolings and strided layers" in result.output
    )
    assert "model.resize: [32, 32]" in result.output
    result = runner.invoke(
        app, ["models", "show", "lenet5", "--recipe", str(recipe), "--set", "resize=[32, 32]"]
    )
    assert result.exit_code == 0, result.output
    assert "input (8, 8, 1) -> 10 output(s), softmax" in result.output
    assert "parameters: 61,706" in result.output


def test_models_show_bad_input() -> None:
    result = runner.invoke(app, ["models", "show", "resnt"])
    assert result.exit_code == 2
    assert "Did you mean 'resnet'?" in result.output
    result = runner.invoke(app, ["models", "show", "resnet", "--set", "depth=19"])
    assert result.exit_code == 2
    assert "error: model.depth: Input should be 18, 34, 50, 101 or 152" in result.output
    result = runner.invoke(app, ["models", "show", "transfer"])
    assert result.exit_code == 2
    assert "error: model.base: required field is missing" in result.output


def test_recipe_validation_knows_the_zoo(workdir: Path) -> None:
    recipe = write_recipe(
        workdir, TINY_DIGITS.replace("type: cnn, filters: [8], dense: [16]", "type: resnet, depth: 19")
    )
    result = runner.invoke(app, ["recipe", "validate", str(recipe)])
    assert result.exit_code == 2
    assert "model.depth: input should be 18, 34, 50, 101 or 152 (got 19)" in result.output


@pytest.mark.slow
def test_transfer_from_an_earlier_run(workdir: Path) -> None:
    import keras

    base = write_recipe(workdir, TINY_DIGITS, "base.yaml")
    result = runner.invoke(app, ["train", str(base), "--no-track"])
    assert result.exit_code == 0, result.output
    (run_name,) = [p.name for p in (workdir / "runs").iterdir()]
    text = TINY_DIGITS.replace("name: tiny-digits", "name: tiny-transfer").replace(
        "model: {type: cnn, filters: [8], dense: [16]}",
        f"model: {{type: transfer, base: {{run: {run_name}, trainable_last: 1}}, dense: [8]}}",
    )
    result = runner.invoke(app, ["train", str(write_recipe(workdir, text, "transfer.yaml")), "--no-track"])
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in (workdir / "runs").iterdir() if p.name.startswith("tiny-transfer")]
    old = keras.models.load_model(workdir / "runs" / run_name / "model" / "model.keras")
    new = keras.models.load_model(run_dir / "model" / "model.keras")
    base_layers = new.get_layer("base")
    # frozen convolution copied unchanged from the earlier run; the last layer fine-tuned
    np.testing.assert_array_equal(
        old.get_layer("conv_0").get_weights()[0], base_layers.get_layer("conv_0").get_weights()[0]
    )
    assert not np.allclose(
        old.get_layer("dense_0").get_weights()[0], base_layers.get_layer("dense_0").get_weights()[0]
    )
    assert json.loads((run_dir / "run.json").read_text())["status"] == "FINISHED"

    missing = text.replace(run_name, "no-such-run")
    result = runner.invoke(app, ["train", str(write_recipe(workdir, missing, "missing.yaml")), "--no-track"])
    assert result.exit_code == 2
    assert "run 'no-such-run'" in result.output


@pytest.mark.slow
def test_python_model_from_the_recipe_folder(workdir: Path) -> None:
    folder = workdir / "project"
    folder.mkdir()
    (folder / "my_model.py").write_text(
        textwrap.dedent(
            """
            import keras

            def build(inputs, n_outputs, activation, units=16):
                x = keras.layers.Flatten()(inputs)
                x = keras.layers.Dense(units, activation="relu", name="mine")(x)
                return keras.layers.Dense(n_outputs, activation=activation, name="output")(x)
            """
        ),
        encoding="utf-8",
    )
    text = TINY_DIGITS.replace(
        "model: {type: cnn, filters: [8], dense: [16]}",
        "model: {type: python, path: my_model.py, options: {units: 12}}",
    )
    recipe = write_recipe(folder, text)
    # run from another folder: the builder's path is taken from the recipe's folder
    result = runner.invoke(app, ["train", str(recipe), "--no-track"])
    assert result.exit_code == 0, result.output
    (run_dir,) = list((workdir / "runs").iterdir())
    info = json.loads((run_dir / "run.json").read_text())
    assert info["n_params"] == 64 * 12 + 12 + 12 * 10 + 10 + 3  # + the normaliser's mean, variance, count


def test_saved_transformer_loads_in_a_fresh_process(workdir: Path) -> None:
    from dlkit.models import Head, build_model

    model = build_model(
        MODELS.get("transformer").spec(embedding={"input_dim": 12}, d_model=8), (5,), Head(2, "softmax")
    )
    model.save(workdir / "t.keras")
    x = np.array([[3, 4, 5, 0, 0]], "int32")
    expected = np.asarray(model(x)).tolist()
    code = (
        "import json, numpy as np\nfrom dlkit.models import load_model\n"
        f"m = load_model({str(workdir / 't.keras')!r})\n"
        "print(json.dumps(np.asarray(m(np.array([[3, 4, 5, 0, 0]], 'int32'))).tolist()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    np.testing.assert_allclose(json.loads(out.strip().splitlines()[-1]), expected, rtol=1e-6)
