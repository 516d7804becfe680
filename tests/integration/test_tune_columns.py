"""``dlkit tune`` over a typed column's encoding: trials really build one-hot or embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()

RECIPE = """
name: islands
seed: 0
data:
  source: {{type: csv, path: penguins.csv, target: label, columns: {{mass: {{bins: 0}}}}}}
model: {{type: mlp, units: [4]}}
train: {{epochs: 1, batch_size: 32}}
tune:
  strategy: grid
  trials: 3
  space:
    {space}
"""
SPACE = (
    "data.source.columns.island.encoding: {choice: [one_hot, embedding]}\n"
    "    data.source.columns.island.embedding_dim: {choice: [3, 6], "
    "when: {data.source.columns.island.encoding: embedding}}"
)


def _table(folder: Path) -> None:
    """60 penguins: a 3-valued category that decides the label, and a number."""
    rng = np.random.default_rng(0)
    island = rng.choice(["Biscoe", "Dream", "Torgersen"], 60)
    pd.DataFrame(
        {
            "island": island,
            "mass": rng.normal(4000, 500, 60).round(0),
            "label": np.where(island == "Biscoe", "a", "b"),
        }
    ).to_csv(folder / "penguins.csv", index=False)


@pytest.mark.slow
def test_trials_build_the_encodings_the_space_names(workdir: Path) -> None:
    from dlkit.models import load_model

    _table(workdir)
    recipe = write_recipe(workdir, RECIPE.format(space=SPACE))
    result = runner.invoke(app, ["tune", str(recipe), "--no-track"])
    assert result.exit_code == 0, result.output
    [study] = [p for p in (workdir / "runs").iterdir() if (p / "study.json").is_file()]
    built: dict[tuple[str, int | None], int] = {}
    for trial in sorted((study / "trials").iterdir()):
        record = json.loads((trial / "trial.json").read_text())
        values = record["values"]
        encoding = values["data.source.columns.island.encoding"]
        dim = values.get("data.source.columns.island.embedding_dim")
        layers = {layer.name: layer for layer in load_model(trial / "model" / "model.keras").layers}
        if encoding == "embedding":
            assert layers["island_embedding"].output_dim == dim
        else:
            assert "island_embedding" not in layers
            assert layers["island_lookup"].output_mode == "one_hot"
        built[(encoding, dim)] = record["n_params"]
    # the mass without piecewise-linear bins (bins: 0) is one feature; the island (3 values +
    # out-of-vocabulary) and the mass feed a 4-unit layer and one output:
    # one-hot 4 + 1 features -> 6*4 + 5 = 29; an embedding of width d: 4d + (d + 1)*4 + 4 + 5 = 8d + 13
    assert built == {("one_hot", None): 29, ("embedding", 3): 37, ("embedding", 6): 61}
    best = (study / "best.yaml").read_text()
    assert "island:" in best and "encoding:" in best


def _refused(workdir: Path, space: str) -> str:
    _table(workdir)
    recipe = write_recipe(workdir, RECIPE.format(space=space))
    result = runner.invoke(app, ["tune", str(recipe), "--no-track"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not (workdir / "runs").exists()  # refused before any study folder or trial
    return result.output.strip().splitlines()[0]


def test_a_column_the_data_lacks_is_refused_in_one_line(workdir: Path) -> None:
    line = _refused(workdir, "data.source.columns.islnd.encoding: {choice: [one_hot, embedding]}")
    assert line == (
        f"error: {workdir / 'recipe.yaml'}: tune.space.data.source.columns.islnd.encoding: no feature "
        f"column 'islnd' in {workdir / 'penguins.csv'}. Did you mean 'island'?"
    )


def test_a_numeric_column_has_no_encoding_to_tune(workdir: Path) -> None:
    line = _refused(workdir, "data.source.columns.mass.encoding: {choice: [one_hot, embedding]}")
    assert line == (
        f"error: {workdir / 'recipe.yaml'}: tune.space.data.source.columns.mass.encoding: column 'mass' "
        "is numeric; only category and boolean columns have an encoding to tune"
    )


def test_an_encoding_that_does_not_exist_is_refused_in_one_line(workdir: Path) -> None:
    line = _refused(workdir, "data.source.columns.island.encoding: {choice: [one_hot, onehot]}")
    assert line.startswith(
        f"error: {workdir / 'recipe.yaml'}: tune.space.data.source.columns.island.encoding: "
    )
    assert "'onehot'" in line and "one_hot" in line and "embedding" in line


def test_how_a_column_is_read_is_not_searchable(workdir: Path) -> None:
    line = _refused(workdir, "data.source.columns.island.type: {choice: [category, text]}")
    assert "tune.space.data.source.columns.island.type: not searchable" in line
