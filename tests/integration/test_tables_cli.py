"""A messy table through the real CLI: typed columns printed, a category learned only when used,
and a saved model that predicts from raw rows (blanks, '?', unseen categories, day-first dates)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.data.columns import model_inputs
from dlkit.models import load_model
from tests.conftest import write_recipe

runner = CliRunner()
N = 240
RECIPE = """
name: colours
data:
  source:
    type: csv
    path: colours.csv
    target: label
    id_column: uid
    na_values: ['?']
    drop_missing_target: true
    drop: {drop}
model: {{type: mlp}}
train: {{epochs: 5, batch_size: 32, optimizer: {{type: adam, learning_rate: 0.1}}}}
"""


def _table(folder: Path) -> Path:
    """The label is decided by the colour alone; the rest is noise with blanks, '?' and dates."""
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue", "grey"], N)
    noise = rng.normal(size=N).round(3).astype(object)
    odd = rng.choice(N, 30, replace=False)
    noise[odd[:20]], noise[odd[20:]] = "?", None
    frame = pd.DataFrame(
        {
            "uid": [f"u{i}" for i in range(N)],
            "colour": colour,
            "noise": noise,
            "flag": rng.choice(["yes", "no"], N),
            "seen": (pd.Timestamp("2013-01-13") + pd.to_timedelta(rng.integers(0, 400, N), "D")).strftime(
                "%d/%m/%Y"
            ),
            "label": np.where(np.isin(colour, ["red", "green"]), "warm", "cold"),
        }
    )
    frame.loc[3, "colour"] = None
    frame.loc[7, "label"] = None
    path = folder / "colours.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One run with the colour, one without it (module-wide: two short trainings in all)."""
    folder = tmp_path_factory.mktemp("tables")
    _table(folder)
    out: dict[str, Path] = {}
    with contextlib.chdir(folder):
        for name, drop in (("with", "[]"), ("without", "[colour]")):
            recipe = write_recipe(folder, RECIPE.format(drop=drop), name=f"{name}.yaml")
            # the first run is tracked: its MLflow Model and `dlkit predict` take raw rows
            track = (
                ["--set", f"tracking.uri=sqlite:///{folder}/mlflow.db"] if name == "with" else ["--no-track"]
            )
            result = runner.invoke(app, ["train", str(recipe), *track])
            assert result.exit_code == 0, result.output
            out[name] = max((folder / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    return out


def test_split_prints_the_inferred_types(workdir: Path) -> None:
    _table(workdir)
    recipe = write_recipe(workdir, RECIPE.format(drop="[]"))
    result = runner.invoke(app, ["split", str(recipe)])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 4}
    assert "category" in lines["colour"] and "one-hot, missing as a value" in lines["colour"]
    assert "numeric" in lines["noise"] and "30" in lines["noise"]  # 20 '?' and 10 blanks
    assert "boolean" in lines["flag"]
    assert "date" in lines["seen"] and "%d/%m/%Y" in lines["seen"]
    assert "Dropped 1 row(s) without a target (drop_missing_target)." in result.output


@pytest.mark.slow
def test_a_deciding_category_is_learned_only_when_used(runs: dict[str, Path]) -> None:
    with_colour = json.loads((runs["with"] / "metrics.json").read_text())["dev"]["accuracy"]
    without = json.loads((runs["without"] / "metrics.json").read_text())["dev"]["accuracy"]
    assert with_colour >= 0.95, with_colour
    assert without <= 0.75, without


@pytest.mark.slow
def test_saved_model_predicts_from_raw_rows(runs: dict[str, Path]) -> None:
    run = runs["with"]
    columns = json.loads((run / "split" / "columns.json").read_text())
    model = load_model(run / "model" / "model.keras")
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    raw = pd.read_csv(run.parents[1] / "colours.csv", na_values=["?"]).set_index("uid").loc[dev["id"]]
    proba = np.asarray(model.predict(model_inputs(raw, columns), verbose=0))
    assert np.allclose(proba[:, 0], dev["proba_1"].to_numpy(), atol=1e-5)
    odd = pd.DataFrame(
        {
            "colour": ["purple", None],
            "noise": [None, 0.5],
            "flag": [None, "yes"],
            "seen": [None, "31/12/2014"],
        }
    )
    assert np.isfinite(np.asarray(model.predict(model_inputs(odd, columns), verbose=0))).all()


@pytest.mark.slow
def test_logged_model_and_predict_take_raw_rows(runs: dict[str, Path]) -> None:
    """MLflow's pyfunc and `dlkit predict` on the raw file (blanks, '?', day-first dates) give the
    run's stored dev predictions; a file whose every value looks numeric is still read as typed."""
    import mlflow

    run = runs["with"]
    folder = run.parents[1]
    info = json.loads((run / "run.json").read_text())
    dev = pd.read_parquet(run / "predictions" / "dev.parquet").set_index("id")
    raw = pd.read_csv(folder / "colours.csv", na_values=["?"]).set_index("uid").loc[dev.index]
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{info['run_id']}/model")
    proba = np.asarray(pyfunc.predict(raw.drop(columns=["label"]).reset_index(drop=True)))
    assert np.allclose(proba[:, 0], dev["proba_1"].to_numpy(), atol=1e-5)

    out = folder / "predicted.csv"
    with contextlib.chdir(folder):
        result = runner.invoke(app, ["predict", str(run), "colours.csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(out).set_index("id").loc[dev.index]
    assert np.allclose(predicted["proba_1"].to_numpy(), dev["proba_1"].to_numpy(), atol=1e-5)
