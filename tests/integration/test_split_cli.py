"""`dlkit split` through the real CLI: tables, checks, the manifest, --check, --dedupe, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from dlkit.cli import app
from tests.conftest import write_recipe

runner = CliRunner()


def _web_phone(folder: Path, n_web: int = 2000, n_phone: int = 100) -> Path:
    rng = np.random.default_rng(0)
    n = n_web + n_phone
    frame = pd.DataFrame(
        {
            "uid": [f"u{i}" for i in range(n)],
            "a": rng.normal(size=n).round(6),
            "b": rng.normal(size=n).round(6),
            "source": ["web"] * n_web + ["phone"] * n_phone,
            "label": rng.choice(["cat", "dog"], size=n),
        }
    )
    path = folder / "photos.csv"
    frame.to_csv(path, index=False)
    return path


RECIPE = """
name: photos
data:
  source: {type: csv, path: photos.csv, target: label, id_column: uid, metadata: [source]}
  split: {target_distribution: {column: source, value: phone}, train_dev: 0.05, eyeball: 0.4}
model: {type: mlp}
"""


def test_split_shows_sets_sources_and_writes_manifest(workdir: Path) -> None:
    _web_phone(workdir)
    recipe = write_recipe(workdir, RECIPE)
    result = runner.invoke(app, ["split", str(recipe), "--out", "m.parquet"])
    assert result.exit_code == 0, result.output
    assert "target distribution source = phone: dev and test only from its 100 rows" in result.output
    assert "Share of each 'source' per set" in result.output
    assert "Dev divided: 10 eyeball (to look at in error analysis), 15 black box" in result.output
    assert "No exact duplicates across sets." in result.output
    manifest = pd.read_parquet(workdir / "m.parquet")
    assert manifest["set"].value_counts().to_dict() == {
        "train": 1948,
        "train_dev": 102,
        "dev": 25,
        "test": 25,
    }
    assert manifest.loc[manifest["set"] == "dev", "dev_part"].value_counts().to_dict() == {
        "blackbox": 15,
        "eyeball": 10,
    }
    assert manifest.loc[manifest["set"] != "dev", "dev_part"].isna().all()

    summary = json.loads(runner.invoke(app, ["split", str(recipe), "--json"]).output)
    assert summary["sets"]["dev"]["n"] == 25 and summary["distribution"]["source_shares"]["test"] == {
        "phone": 1.0
    }


def test_check_reproduces_then_detects_changed_and_appended_data(workdir: Path) -> None:
    path = _web_phone(workdir)
    recipe = write_recipe(workdir, RECIPE.replace("train_dev: 0.05, eyeball: 0.4", "hash: true"))
    assert runner.invoke(app, ["split", str(recipe), "--out", "m.parquet"]).exit_code == 0
    same = runner.invoke(app, ["split", str(recipe), "--check", "m.parquet"])
    assert same.exit_code == 0, same.output
    assert "Data unchanged since m.parquet" in same.output
    assert "Split reproduced exactly: 2,100 examples in the same sets." in same.output

    frame = pd.read_csv(path)
    frame.loc[7, "a"] += 1.0
    frame.to_csv(path, index=False)
    changed = runner.invoke(app, ["split", str(recipe), "--check", "m.parquet", "--json"])
    assert changed.exit_code == 1
    report = json.loads(changed.output)
    assert report["same_data"] is False and report["changed"] == ["u7"] and report["n_moved"] == 0

    more = pd.concat([frame, frame.assign(uid=[f"v{i}" for i in range(len(frame))])], ignore_index=True)
    more.to_csv(path, index=False)
    appended = json.loads(runner.invoke(app, ["split", str(recipe), "--check", "m.parquet", "--json"]).output)
    # stable hashing: 2,100 new rows, none of the old ones moved to another set
    assert appended["n_added"] == 2100 and appended["n_moved"] == 0 and appended["n_removed"] == 0


def test_check_against_a_trained_run(digits_run: Path, workdir: Path) -> None:
    result = runner.invoke(app, ["split", str(digits_run / "recipe.yaml"), "--check", str(digits_run)])
    assert result.exit_code == 0, result.output
    assert "Split reproduced exactly: 1,797 examples in the same sets." in result.output
    assert "Data unchanged since" in result.output


def test_planted_duplicates_reported_and_deduped(workdir: Path) -> None:
    path = _web_phone(workdir)
    frame = pd.read_csv(path)
    frame.loc[:99, ["a", "b"]] = frame.loc[2000:2099, ["a", "b"]].to_numpy()  # web rows copying phone rows
    frame.to_csv(path, index=False)
    recipe = write_recipe(workdir, RECIPE)
    result = runner.invoke(app, ["split", str(recipe)])
    assert result.exit_code == 0, result.output
    # rows with their own ids (uid) that measure alike are different examples: counted, not leakage
    assert "Identical feature rows across sets" in result.output and "(leakage)" not in result.output
    summary = json.loads(runner.invoke(app, ["split", str(recipe), "--json"]).output)
    leakage = summary["leakage"]
    [warning] = summary["warnings"]
    assert warning["code"] == "identical_features"
    assert leakage["n_held_out"] == leakage["n_same_target"] + leakage["n_other_target"] >= 50
    assert f"warning: {leakage['n_held_out']:,} train-dev/dev/test row(s) have feature values" in " ".join(
        result.output.split()
    )
    pairs = leakage["pairs"]
    # every phone row in dev or test has a web copy in train or train-dev: 50 leaks into evaluation
    assert sum(pairs.get(p, 0) for p in ("train/dev", "train/test", "train_dev/dev", "train_dev/test")) == 50
    assert leakage["n_inputs"] == 50 + pairs.get("train/train_dev", 0) and leakage["n_conflicting"] > 0
    deduped = json.loads(runner.invoke(app, ["split", str(recipe), "--json", "--dedupe"]).output)
    assert deduped["n_dropped"] == leakage["n_inputs"]
    assert deduped["sets"]["dev"]["n"] == 25 and deduped["sets"]["test"]["n"] == 25
    assert deduped["notes"] == [f"dedupe: dropped {leakage['n_inputs']} duplicate example(s) across sets"]


def _fails(workdir: Path, recipe_text: str, *args: str) -> tuple[int, str]:
    recipe = write_recipe(workdir, recipe_text)
    result = runner.invoke(app, ["split", str(recipe), "--out", "m.parquet", *args])
    assert "Traceback" not in result.output
    assert not (workdir / "m.parquet").exists()
    return result.exit_code, result.output.strip().splitlines()[0]


def test_bad_input_is_one_line_and_nothing_is_written(workdir: Path) -> None:
    path = _web_phone(workdir, 60, 20)
    recipe = workdir / "recipe.yaml"
    assert _fails(workdir, RECIPE.replace("photos.csv", "nope.csv")) == (
        1,
        f"error: {workdir / 'nope.csv'}: file not found",
    )
    assert _fails(workdir, RECIPE.replace("target: label", "target: labl")) == (
        1,
        f"error: {path}: no target column 'labl'. Did you mean 'label'?",
    )
    bad_fractions = RECIPE.replace(
        "{target_distribution: {column: source, value: phone}, train_dev: 0.05, eyeball: 0.4}",
        "{train: 0.8, dev: 0.2, test: 0.2}",
    )
    assert _fails(workdir, bad_fractions) == (
        2,
        f"error: {recipe}: data.split: train + train_dev + dev + test add up to 1.2; they must add up to 1 "
        "(or leave out train to give it the rest)",
    )
    no_group = RECIPE.replace("train_dev: 0.05, eyeball: 0.4", "group: patient")
    assert _fails(workdir, no_group)[1] == f"error: {path}: no split column 'patient'."
    no_time = RECIPE.replace(
        "{target_distribution: {column: source, value: phone}, train_dev: 0.05, eyeball: 0.4}", "{time: when}"
    )
    assert _fails(workdir, no_time)[1] == f"error: {path}: no split column 'when'."
    frame = pd.read_csv(path)
    frame.loc[5, "label"] = None
    frame.to_csv(path, index=False)
    assert _fails(workdir, RECIPE)[1] == (
        f"error: {path}: target column 'label': 1 missing target value(s), first at line 7"
    )
    frame.loc[5, "label"] = "cat"
    frame.loc[70, "label"] = "bird"
    frame.to_csv(path, index=False)
    assert _fails(workdir, RECIPE)[1] == (
        f"error: {path}: class 'bird' has 1 example(s), too few to stratify over 3 sets (train, dev, test)"
    )
    with_classes = RECIPE.replace("metadata: [source]", "metadata: [source], classes: [cat, dog]")
    assert _fails(workdir, with_classes)[1] == (
        f"error: {path}: target column 'label': label 'bird' at line 72 "
        "is not one of the classes ['cat', 'dog']"
    )
