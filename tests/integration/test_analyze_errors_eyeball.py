"""Eyeball / black-box dev: the sheet is drawn from the eyeball part only, and says so.

The split manifest (``split/manifest.parquet``) may carry a ``dev_part`` column with
``eyeball`` or ``blackbox`` for each dev row (the contract with ``dlkit split``); the manifest
here is written by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from dlkit.cli import app
from tests.integration.test_analyze_errors import _tabular_run

runner = CliRunner()


def _with_parts(run: Path) -> tuple[set[str], set[str]]:
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    part = ["eyeball" if i % 3 == 0 else "blackbox" for i in range(len(dev))]
    manifest = pd.DataFrame({"id": dev["id"], "set": "dev", "dev_part": part})
    (run / "split").mkdir(exist_ok=True)
    manifest.to_parquet(run / "split" / "manifest.parquet", index=False)
    ids = dev["id"].astype(str)
    eyeball = set(ids[[p == "eyeball" for p in part]])
    return eyeball, set(ids) - eyeball


def test_sheet_and_highest_loss_come_from_the_eyeball_part_only(tmp_path: Path):
    run = _tabular_run(tmp_path)
    eyeball, blackbox = _with_parts(run)
    result = runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report", "--sample", "1000"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    dev = pd.read_parquet(run / "predictions" / "dev.parquet")
    wrong = set(dev.loc[~dev["correct"], "id"].astype(str))
    sheet = pd.read_csv(run / "analysis" / "errors.csv", dtype={"id": str})
    # every eyeball error, and nothing from the black-box part
    assert set(sheet["id"]) == wrong & eyeball
    assert {str(r["id"]) for r in out["highest_loss"]} <= eyeball
    # the measured numbers are still those of the whole dev set
    assert out["n"] == len(dev) and out["n_errors"] == len(wrong)
    (note,) = [n for n in out["notes"] if "eyeball part" in n]
    assert f"an eyeball part ({len(eyeball)} examples, {len(wrong & eyeball)} errors)" in note
    assert f"a black-box part ({len(blackbox)} examples" in note
    # the text report says so too
    text = runner.invoke(app, ["analyze-errors", str(run), "--no-report"])
    assert "the sheet and the highest-loss list come from the eyeball part only" in text.stdout.replace(
        "\n", " "
    )


def test_a_black_box_id_on_the_sheet_is_refused(tmp_path: Path):
    run = _tabular_run(tmp_path)
    _, blackbox = _with_parts(run)
    assert runner.invoke(app, ["analyze-errors", str(run), "--no-report"]).exit_code == 0
    sheet = pd.read_csv(run / "analysis" / "errors.csv", dtype=str, keep_default_na=False)
    sheet.loc[0, "id"] = sorted(blackbox)[0]
    filled = tmp_path / "filled.csv"
    sheet.to_csv(filled, index=False)
    result = runner.invoke(app, ["analyze-errors", str(run), "--tags", str(filled), "--no-report"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {filled}: row 2, column 'id': {sorted(blackbox)[0]!r} is not an example of the eyeball "
        "part of this run's dev set"
    )


def test_a_bad_dev_part_value_names_the_manifest_and_column(tmp_path: Path):
    run = _tabular_run(tmp_path)
    _with_parts(run)
    manifest = pd.read_parquet(run / "split" / "manifest.parquet")
    manifest.loc[4, "dev_part"] = "peek"
    manifest.to_parquet(run / "split" / "manifest.parquet", index=False)
    result = runner.invoke(app, ["analyze-errors", str(run), "--no-report"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"error: {run / 'split' / 'manifest.parquet'}: column 'dev_part': dev example "
        f"{manifest.loc[4, 'id']!r} is 'peek'; expected 'eyeball' or 'blackbox'"
    )
    assert not (run / "analysis").exists()
