"""Label corrections: `analyze-errors --apply-corrections` writes a file the next `dlkit train` uses.

One tiny tabular run (a CSV with text ids, 3 classes, one epoch) is trained per test module;
the sheet of corrections names dev, test and train examples, and the next training is checked
to carry the corrected labels in every set while the split stays exactly the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()

RECIPE = """
name: blobs
seed: 0
data:
  source: {type: csv, path: blobs.csv, target: label, id_column: uid}
  split: {train: 0.6, dev: 0.2, test: 0.2}
model: {type: mlp, units: [8]}
train: {epochs: 1, batch_size: 64, optimizer: {type: adam, learning_rate: 0.01}}
"""


def write_blobs(folder: Path, n: int = 240, seed: int = 0) -> Path:
    """Three well-separated Gaussian classes with text labels and text ids."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    x = centres[y] + rng.normal(size=(n, 2))
    frame = pd.DataFrame(
        {
            "uid": [f"u{i:04d}" for i in range(n)],
            "a": x[:, 0],
            "b": x[:, 1],
            "label": np.array(["cat", "dog", "fox"])[y],
        }
    )
    path = folder / "blobs.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def blobs_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished, untracked one-epoch run on blobs.csv (read it, never modify it)."""
    from dlkit import api

    folder = tmp_path_factory.mktemp("blobs")
    write_blobs(folder)
    recipe = api.load_recipe(write_recipe(folder, RECIPE), [f"tracking.runs_dir={folder / 'runs'}"])
    return api.train(recipe, track=False).run_dir


def _copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def _ids(run: Path, name: str, k: int) -> list[str]:
    return pd.read_parquet(run / "predictions" / f"{name}.parquet")["id"].astype(str).tolist()[:k]


def _label(run: Path, ident: str) -> str:
    for name in ("train", "dev", "test"):
        frame = pd.read_parquet(run / "predictions" / f"{name}.parquet")
        hit = frame.loc[frame["id"].astype(str) == ident, "y_true"]
        if len(hit):
            return str(hit.iloc[0])
    raise KeyError(ident)


def _other(label: str) -> str:
    return {"cat": "dog", "dog": "fox", "fox": "cat"}[label]


def test_corrections_reach_dev_test_and_train_of_the_next_training(
    blobs_run: Path, tmp_path: Path, tracking_uri: str
):
    run = _copy(blobs_run, tmp_path)
    dev, test, train = _ids(run, "dev", 2), _ids(run, "test", 2), _ids(run, "train", 1)
    picked = [*dev, *test, *train]
    wanted = {i: _other(_label(run, i)) for i in picked}
    # a sheet as a person fills it: other rows and columns, empty corrected_label = no correction
    sheet = pd.DataFrame(
        {
            "id": [*picked, _ids(run, "dev", 3)[2]],
            "incorrectly_labelled": ["1"] * len(picked) + ["0"],
            "corrected_label": [wanted[i] for i in picked] + [""],
        }
    )
    sheet_path = tmp_path / "filled.csv"
    sheet.to_csv(sheet_path, index=False)
    out = tmp_path / "data" / "corrections.csv"
    result = runner.invoke(
        app,
        ["analyze-errors", str(run), "--apply-corrections", str(sheet_path), "--corrections-out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "5 label correction(s)" in result.stdout and "2 in dev, 2 in test, 1 in train" in result.stdout
    assert f"--set data.corrections={out.resolve()}" in result.stdout.replace("\n", "")
    written = pd.read_csv(run / "analysis" / "corrections.csv", dtype=str, keep_default_na=False)
    assert list(written.columns) == ["id", "label", "previous_label", "set", "reason"]
    assert written["id"].tolist() == picked
    assert written["label"].tolist() == [wanted[i] for i in picked]
    assert written["previous_label"].tolist() == [_label(run, i) for i in picked]
    assert written["set"].tolist() == ["dev", "dev", "test", "test", "train"]
    assert out.read_text() == (run / "analysis" / "corrections.csv").read_text()

    # the next training, with the corrections named in the recipe
    recipe = write_recipe(tmp_path, RECIPE.replace("seed: 0", "seed: 0\ntracking: {runs_dir: runs2}"))
    write_blobs(tmp_path)
    trained = runner.invoke(app, ["train", str(recipe), "--set", f"data.corrections={out}"])
    assert trained.exit_code == 0, trained.output
    (new_run,) = (tmp_path / "runs2").iterdir()
    for ident, label in wanted.items():
        assert _label(new_run, ident) == label
    # the split is drawn on the labels as given: no example moved to another set
    assert pd.read_parquet(new_run / "split" / "manifest.parquet").equals(
        pd.read_parquet(blobs_run / "split" / "manifest.parquet")
    )
    # every other label is as before, and the file is logged as params of the run
    for name in ("train", "dev", "test"):
        before = pd.read_parquet(blobs_run / "predictions" / f"{name}.parquet").set_index("id")["y_true"]
        after = pd.read_parquet(new_run / "predictions" / f"{name}.parquet").set_index("id")["y_true"]
        changed = set(before.index[before.astype(str) != after.astype(str)].astype(str))
        assert changed == {i for i in picked if i in set(before.index.astype(str))}
    from mlflow.tracking import MlflowClient

    info = json.loads((new_run / "run.json").read_text())
    params = MlflowClient(tracking_uri=tracking_uri).get_run(info["run_id"]).data.params
    assert params["data.corrections.n"] == "5"
    assert params["data.corrections"] == str(out.resolve())
    assert len(params["data.corrections.sha256"]) == 64


def test_dev_only_corrections_remind_to_review_test(blobs_run: Path, tmp_path: Path):
    run = _copy(blobs_run, tmp_path)
    ident = _ids(run, "dev", 1)[0]
    sheet_path = tmp_path / "filled.csv"
    pd.DataFrame({"id": [ident], "corrected_label": [_other(_label(run, ident))]}).to_csv(
        sheet_path, index=False
    )
    result = runner.invoke(
        app, ["analyze-errors", str(run), "--apply-corrections", str(sheet_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["n_new"] == 1 and out["by_set"] == {"dev": 1}
    assert any("touch dev only: review test by the same rule" in n for n in out["notes"])


def test_a_second_round_keeps_earlier_corrections_and_the_source_label(blobs_run: Path, tmp_path: Path):
    from dlkit.rundir import RunDir
    from dlkit.runs.corrections import apply_sheet_corrections

    run = _copy(blobs_run, tmp_path)
    a, b = _ids(run, "dev", 2)
    first = tmp_path / "first.csv"
    pd.DataFrame({"id": [a, b], "corrected_label": [_other(_label(run, a)), _other(_label(run, b))]}).to_csv(
        first, index=False
    )
    earlier = apply_sheet_corrections(RunDir(run), first, out=tmp_path / "c1.csv").path
    # the run was trained with them: its recipe names the file and its labels are the corrected ones
    recipe = (
        (run / "recipe.yaml").read_text().replace("corrections: null", f"corrections: {tmp_path / 'c1.csv'}")
    )
    (run / "recipe.yaml").write_text(recipe)
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    original_b = _label(blobs_run, b)
    dev.loc[dev["id"].astype(str) == b, "y_true"] = _other(original_b)
    dev.to_parquet(run / "predictions" / "dev.parquet", index=False)
    # second round: b goes to a third label; a is not mentioned
    second = tmp_path / "second.csv"
    third = _other(_other(original_b))
    pd.DataFrame({"id": [b], "corrected_label": [third]}).to_csv(second, index=False)
    result = apply_sheet_corrections(RunDir(run), second)
    assert result.path == earlier and (result.n_new, result.n_earlier, result.n_total) == (1, 2, 2)
    final = pd.read_csv(earlier, dtype=str).set_index("id")
    assert final.loc[a, "label"] == _other(_label(blobs_run, a))
    assert (final.loc[b, "label"], final.loc[b, "previous_label"]) == (third, original_b)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            {"id": ["nope"], "corrected_label": ["cat"]},
            "{sheet}: line 2, column 'id': 'nope' is not an example of this run",
        ),
        (
            {"id": ["<dev>"], "corrected_label": ["cta"]},
            "{sheet}: line 2, column 'corrected_label': 'cta' is not a class "
            "(expected one of cat, dog, fox). "
            "Did you mean 'cat'?",
        ),
        (
            {"id": ["<dev>"], "label": ["cat"]},
            "{sheet}: no column 'corrected_label'.",
        ),
        (
            {"id": ["<dev>", "<dev>"], "corrected_label": ["cat", "dog"]},
            "{sheet}: line 3, column 'id': '<dev>' repeats line 2",
        ),
    ],
)
def test_bad_corrections_sheet_is_one_line_and_exit_2(blobs_run: Path, tmp_path: Path, cells, message):
    run = _copy(blobs_run, tmp_path)
    ident = _ids(run, "dev", 1)[0]
    cells = {k: [ident if v == "<dev>" else v for v in vs] for k, vs in cells.items()}
    sheet = tmp_path / "bad.csv"
    pd.DataFrame(cells).to_csv(sheet, index=False)
    result = runner.invoke(app, ["analyze-errors", str(run), "--apply-corrections", str(sheet)])
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: " + message.format(sheet=sheet).replace("<dev>", ident))
    assert "Traceback" not in result.output
    assert not (run / "analysis" / "corrections.csv").exists()


def test_bad_corrections_file_in_a_recipe_stops_training_with_one_line(tmp_path: Path):
    write_blobs(tmp_path)
    recipe = write_recipe(tmp_path, RECIPE)
    label = pd.read_csv(tmp_path / "blobs.csv").set_index("uid").loc["u0001", "label"]
    stale = _other(_other(label))  # neither the source's label nor the corrected one
    (tmp_path / "c.csv").write_text(f"id,label,previous_label\nu0001,{_other(label)},{stale}\n")
    result = runner.invoke(app, ["train", str(recipe), "--no-track", "--set", "data.corrections=c.csv"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {tmp_path / 'c.csv'}: line 2, column 'previous_label': id u0001 is labelled "
        f"'{label}' in {tmp_path / 'blobs.csv'}, not '{stale}': the data changed since this correction"
    )
    (tmp_path / "c.csv").write_text("id,label\nu0001,cat\nu9999,cat\n")
    result = runner.invoke(app, ["train", str(recipe), "--no-track", "--set", "data.corrections=c.csv"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {tmp_path / 'c.csv'}: line 3, column 'id': 'u9999' is not an example of "
        f"{tmp_path / 'blobs.csv'}"
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()
