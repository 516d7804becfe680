"""`dlkit init`: a starter recipe for each kind validates (filled in from real data files), refuses
to overwrite, and the tabular and images starters train one epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.recipe.loader import load_recipe
from dlkit.recipe.starter import KINDS

runner = CliRunner()


def _init(*args: str) -> str:
    result = runner.invoke(app, ["init", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _table(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["city"] = ["x", "y", "z"] * 20
    frame["label"] = np.where(x[:, 0] > 0, "yes", "no")
    frame.insert(0, "row_id", range(100, 160))
    path = folder / "data" / "table.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    return path


def _images(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (folder / "pics" / name).mkdir(parents=True)
        for i in range(10):
            pixels = (rng.random((6, 10)) * 255).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / "pics" / name / f"{i}.png")
    return folder / "pics"


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_without_data_writes_a_recipe_that_validates(workdir: Path, kind: str) -> None:
    _init(kind, "my.yaml")
    text = (workdir / "my.yaml").read_text()
    assert text.startswith("# A starter recipe")
    recipe = load_recipe(workdir / "my.yaml")
    assert recipe.name == "my"
    assert recipe.tune is not None
    # the scales of METHODOLOGY §5: a log learning rate and 1 - beta on a log scale
    assert tuple(recipe.tune.space["train.optimizer.learning_rate"].log) == (1.0e-4, 1.0e-1)
    assert tuple(recipe.tune.space["train.optimizer.beta_1"].one_minus_log) == (0.8, 0.999)
    # the example data it points at exists (it trains as written)
    path = getattr(recipe.data.source, "path", None)
    assert path is None or Path(path).exists()


def test_tabular_from_a_csv_fills_in_columns_target_and_classes(workdir: Path) -> None:
    data = _table(workdir)
    output = _init("tabular", "my.yaml", "--data", str(data))
    assert "target 'label' (binary), 3 numeric features" in output
    source = yaml.safe_load((workdir / "my.yaml").read_text())["data"]["source"]
    assert source == {
        "type": "csv",
        "path": "data/table.csv",
        "target": "label",
        "id_column": "row_id",
        "features": ["a", "b", "c"],
        "metadata": ["city"],
        "classes": ["no", "yes"],
    }
    assert load_recipe(workdir / "my.yaml").data.task == "binary"


def test_a_parquet_regression_target_and_a_guessed_kind(workdir: Path) -> None:
    frame = pd.DataFrame({"x1": np.arange(30.0), "x2": np.arange(30.0) ** 2, "price": np.linspace(1, 9, 30)})
    frame.to_parquet(workdir / "house.parquet")
    _init("my.yaml", "--data", "house.parquet")  # no kind: a table is tabular
    recipe = load_recipe(workdir / "my.yaml")
    assert recipe.data.source.type == "parquet" and recipe.data.source.target == "price"
    assert recipe.data.task == "regression" and recipe.metrics.optimize == "mse"


def test_images_from_a_folder_fill_in_classes_size_and_colour(workdir: Path) -> None:
    _init("images", "my.yaml", "--data", str(_images(workdir)))
    source = load_recipe(workdir / "my.yaml").data.source
    assert (source.type, source.image_size, source.color_mode, source.classes) == (
        "images",
        (6, 10),
        "grayscale",
        ["cat", "dog"],
    )


def test_npz_shapes_choose_the_source_and_the_output(workdir: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(workdir / "seq.npz", x=rng.random((20, 5, 2)), y=rng.integers(0, 3, 20))
    np.savez(workdir / "img.npz", x=rng.random((20, 4, 4, 1)), y=rng.integers(0, 2, 20))
    _init("sequences", "s.yaml", "--data", "seq.npz")
    seq = load_recipe(workdir / "s.yaml")
    assert (seq.data.source.type, seq.model.type, seq.model.output) == ("sequence", "rnn", "last")
    _init("i.yaml", "--data", "img.npz")  # 4-d x: images
    assert load_recipe(workdir / "i.yaml").model.type == "cnn"


def test_text_and_pairs_columns_are_guessed(workdir: Path) -> None:
    pd.DataFrame({"review": ["good film", "bad plot here", "fine"] * 5, "stars": [1, 0, 1] * 5}).to_csv(
        workdir / "reviews.csv", index=False
    )
    pd.DataFrame({"question": ["ab", "cd"] * 5, "answer": ["ba", "dc"] * 5}).to_csv(
        workdir / "pairs.csv", index=False
    )
    _init("text", "t.yaml", "--data", "reviews.csv")
    source = load_recipe(workdir / "t.yaml").data.source
    assert (source.text, source.target, source.output_sequence_length) == ("review", "stars", 4)
    _init("seq2seq", "q.yaml", "--data", "pairs.csv")
    pairs = load_recipe(workdir / "q.yaml").data.source
    assert (pairs.input, pairs.output, pairs.level) == ("question", "answer", "char")


def test_refuses_to_overwrite_without_force(workdir: Path) -> None:
    (workdir / "my.yaml").write_text("mine")
    result = runner.invoke(app, ["init", "tabular", "my.yaml"])
    assert result.exit_code == 2
    assert "my.yaml: already exists; pass --force to overwrite it" in result.output
    assert (workdir / "my.yaml").read_text() == "mine"
    _init("tabular", "my.yaml", "--force")
    assert load_recipe(workdir / "my.yaml").model.type == "mlp"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["tabuler", "my.yaml"], 2, "unknown kind 'tabuler'; expected one of tabular, images, sequences, "),
        (["my.yaml"], 2, "give a kind of data (tabular, images, sequences, text, seq2seq) or --data PATH"),
        (["tabular", "my.yaml", "--data", "nope.csv"], 1, "nope.csv: file or folder not found"),
    ],
)
def test_bad_input_is_one_line(workdir: Path, args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, ["init", *args])
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output and not (workdir / "my.yaml").exists()


@pytest.mark.slow
def test_tabular_and_images_starters_train_one_epoch(workdir: Path) -> None:
    _init("tabular", "t.yaml", "--data", str(_table(workdir)))
    _init("images", "i.yaml", "--data", str(_images(workdir)))
    for name in ("t.yaml", "i.yaml"):
        result = runner.invoke(app, ["train", name, "--no-track", "--set", "train.epochs=1"])
        assert result.exit_code == 0, result.output
    runs = sorted(p.name for p in (workdir / "runs").iterdir())
    assert [r.split("-")[0] for r in runs] == ["i", "t"]
    assert all((workdir / "runs" / r / "model" / "model.keras").is_file() for r in runs)
