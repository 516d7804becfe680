"""`dlkit diagnose --learning-curve`: planted data where more data helps, and where it cannot.

Every point gets the full run's optimizer steps; the reading agrees with the diagnosis; the
plot and the reading go into diagnose.html; progress is printed as each point starts and ends.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.reporting.learning_curve import learning_curve_section
from dlkit.runs.learning_curve import stretch_training
from dlkit.training.schedules import lr_at
from dlkit.training.spec import TrainSpec
from tests.conftest import write_recipe

runner = CliRunner()

# batches of 128: 15 steps an epoch on 1,800 examples, 10 on 1,200
RECIPE = """
name: curve
seed: 0
data:
  source: {{type: csv, path: data.csv, target: y}}
  split: {{train: 0.6, dev: 0.4, test: 0.0}}
model: {{type: mlp, units: []}}
train: {{epochs: {epochs}, batch_size: 128, optimizer: {{type: adam, learning_rate: 0.1}}}}
targets: {{human_error: 0.0}}
"""


def _write(folder: Path, x: np.ndarray, y: np.ndarray) -> None:
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame["y"] = y.astype(int)
    frame.to_csv(folder / "data.csv", index=False)


def _train(folder: Path, epochs: int, extra: list[str]) -> Path:
    write_recipe(folder, RECIPE.format(epochs=epochs))
    trained = runner.invoke(app, ["train", "recipe.yaml", *extra])
    assert trained.exit_code == 0, trained.output
    (run,) = [p for p in (folder / "runs").iterdir() if not p.name.startswith(".")]
    return run


@pytest.mark.slow
def test_many_features_few_examples_more_data_helps(tracking_uri: str, workdir: Path) -> None:
    # logistic regression on 60 features: its error shrinks roughly like features / examples
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 60))
    _write(workdir, x, x @ rng.normal(size=60) > 0)
    run = _train(workdir, epochs=20, extra=[])
    out = runner.invoke(app, ["diagnose", str(run), "--json", "--learning-curve", "--fractions", "0.1,0.3,1"])
    assert out.exit_code == 0, out.output
    (entry,) = json.loads(out.stdout)["runs"]
    curve = entry["learning_curve"]
    points = curve["points"]
    assert [p["n_train"] for p in points] == [180, 540, 1800]
    assert len({p["n_dev"] for p in points}) == 1  # one dev set for every point

    # the same optimizer steps for every point: 20 epochs x 15 batches of the full run
    assert [p["epochs"] for p in points] == [150, 60, 20]
    assert [p["steps"] for p in points] == [300, 300, 300]
    assert "optimizer steps of the full run (300: 20 epochs" in curve["budget"]
    # the full point is the run itself, not a retraining
    assert [p["retrained"] for p in points] == [True, True, False]
    assert points[-1]["run_name"] == run.name

    assert points[0]["dev_error"] > points[-1]["dev_error"]
    assert curve["more_data_helps"] is True
    # the reading and the diagnosis of the same run agree
    assert curve["verdict"] == entry["verdict"] == "variance"
    assert curve["gaps"]["variance"] == pytest.approx(entry["gaps"]["variance"]["value"])

    # progress: a line as each point starts and ends (stderr, as stdout is the JSON)
    assert "point 1/3: 10% of train (n=180), 150 epochs (300 optimizer steps)" in out.stderr
    assert "point 2/3 done in" in out.stderr
    assert "point 3/3: 100% of train (n=1,800): the finished run itself, 20 epochs" in out.stderr

    # each retrained point is a child run of the diagnosed run, with its epochs as a param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    parent_id = json.loads((run / "run.json").read_text())["run_id"]
    runs = client.search_runs([client.get_run(parent_id).info.experiment_id])
    children = sorted(
        (int(r.data.params["data.n_train"]), r.data.params["train.epochs"])
        for r in runs
        if r.data.tags.get("mlflow.parentRunId") == parent_id
    )
    assert children == [(180, "150"), (540, "60")]
    logged = {a.path for a in client.list_artifacts(parent_id, "reports")}
    assert {"reports/learning_curve.png", "reports/learning_curve.json", "reports/diagnose.html"} <= logged

    # diagnose.html carries the plot and the reading
    page = (run / "reports" / "diagnose.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Learning curve</h2>") :]
    assert "<svg" in section
    assert html.escape(curve["reading"]) in section
    assert (run / "reports" / "learning_curve.png").stat().st_size > 1000
    frame = pd.read_csv(run / "reports" / "learning_curve.csv")
    assert frame["steps"].tolist() == [300, 300, 300]


@pytest.mark.slow
def test_linear_model_on_a_disc_is_bias_not_data(workdir: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(2000, 2))
    _write(workdir, x, (x**2).sum(axis=1) < 0.5)
    run = _train(workdir, epochs=10, extra=["--no-track"])
    out = runner.invoke(app, ["diagnose", str(run), "--learning-curve", "--fractions", "0.1,1"])
    assert out.exit_code == 0, out.output
    # 1,200 examples: 10 steps an epoch; 120 examples: 1 step an epoch, so 100 epochs
    assert "point 1/2: 10% of train (n=120), 100 epochs (100 optimizer steps)..." in out.stdout
    assert "optimizer steps" in out.stdout  # the table's column
    curve = json.loads((run / "reports" / "learning_curve.json").read_text())
    assert curve["more_data_helps"] is False
    assert curve["verdict"] == "avoidable_bias"
    assert "The problem is bias" in curve["reading"]
    assert "Work on avoidable bias" in out.stdout  # what diagnose says, in the same output
    # diagnose writes its page after the curve: the page carries it
    page = (run / "reports" / "diagnose.html").read_text(encoding="utf-8")
    assert "The problem is bias" in page


def test_no_curve_no_section(workdir: Path) -> None:
    assert learning_curve_section(workdir) == ""


# --- each point's training, stretched to the full run's steps --------------------------------


def _spec(**train: object) -> TrainSpec:
    return TrainSpec.model_validate({"epochs": 10, **train})


@pytest.mark.parametrize(
    "schedule",
    [
        {"type": "inverse_time", "decay_rate": 1.0},
        {"type": "exponential", "decay_rate": 0.9},
        {"type": "step", "factor": 0.5, "every": 3},
        {"type": "cosine", "warmup_epochs": 2},
        {"type": "cosine", "warmup_epochs": 2, "decay_epochs": 6, "alpha": 0.1},
    ],
)
def test_stretched_schedule_follows_the_full_runs_course(schedule: dict) -> None:
    spec = _spec(schedule=schedule)
    stretched, notes = stretch_training(spec, 40)
    assert stretched.epochs == 40 and notes == []
    # a warm-up's ramp is finer-grained over more epochs; after it, the course is the same
    for epoch in [e for e in (0, 2, 3, 5, 9) if e >= schedule.get("warmup_epochs", 0)]:
        full = lr_at(spec.schedule, 0.1, epoch, spec.epochs)
        point = lr_at(stretched.schedule, 0.1, epoch * 4, stretched.epochs)
        assert point == pytest.approx(full, rel=1e-9), epoch


def test_stretch_scales_patience_and_plateau() -> None:
    spec = _spec(
        early_stopping={"patience": 3, "start_from_epoch": 2},
        schedule={"type": "reduce_on_plateau", "patience": 2, "cooldown": 1},
    )
    stretched, notes = stretch_training(spec, 25)
    assert stretched.early_stopping.patience == 8  # round(3 x 2.5)
    assert stretched.early_stopping.start_from_epoch == 5
    assert (stretched.schedule.patience, stretched.schedule.cooldown) == (5, 2)
    assert notes == []
    assert spec.epochs == 10 and spec.early_stopping.patience == 3  # the recipe is not changed


def test_stretch_keeps_zero_and_says_what_it_cannot_stretch() -> None:
    same, notes = stretch_training(_spec(early_stopping={"patience": 0}), 10)
    assert same.epochs == 10 and notes == []
    stretched, notes = stretch_training(_spec(early_stopping={"patience": 0}, schedule={"type": "sqrt"}), 30)
    assert stretched.early_stopping.patience == 0
    assert stretched.schedule.k == 1.0
    assert notes == [
        "schedule sqrt cannot be stretched: points with more epochs follow it per epoch, so their "
        "learning rate decays further than the full run's."
    ]
    assert math.isclose(stretched.epochs / 10, 3)
