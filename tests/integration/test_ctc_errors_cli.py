"""`dlkit analyze-errors` on a CTC run: the character edits, confusions and collapsed repeats.

The run directory is written by hand (predictions as task ctc stores them), so nothing trains;
tests/integration/test_ctc_cli.py reads a trained run's section too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from dlkit.cli import app
from dlkit.tasks.ctc import ctc_scores, edit_distance

runner = CliRunner()

SETS = {
    "train": [("11", "1"), ("5", "5"), ("42", "42")],
    "dev": [
        ("0123", "0153"),  # substitution 2 -> 5
        ("1100", "10"),  # two collapsed repeats
        ("12", "123"),  # insertion
        ("77", "7"),  # collapsed repeat
        ("456", "456"),
        ("92", "95"),  # substitution 2 -> 5
    ],
}


def _ctc_run(root: Path) -> Path:
    path = root / "runs" / "strings"
    (path / "predictions").mkdir(parents=True)
    for name, pairs in SETS.items():
        frame = pd.DataFrame(
            {
                "id": range(len(pairs)),
                "y_true": [t for t, _ in pairs],
                "y_pred": [p for _, p in pairs],
                "cer": [edit_distance(t, p) / len(t) for t, p in pairs],
                "correct": [t == p for t, p in pairs],
                "length": [len(t) for t, _ in pairs],
            }
        )
        frame.to_parquet(path / "predictions" / f"{name}.parquet", index=False)
    (path / "recipe.yaml").write_text(yaml.safe_dump({"name": "strings", "seed": 0}), encoding="utf-8")
    info = {"run_name": "strings", "status": "FINISHED", "task": "ctc", "optimize": "cer"}
    (path / "run.json").write_text(
        json.dumps({**info, "run_id": None, "tracking_uri": None}), encoding="utf-8"
    )
    return path


def test_analyze_errors_reads_a_ctc_runs_character_edits(workdir: Path) -> None:
    run = _ctc_run(workdir)
    done = runner.invoke(app, ["analyze-errors", str(run), "--json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["task"] == "ctc" and out["n_errors"] == 5  # the sequence reading stays
    ctc = out["ctc"]
    dev_pairs = SETS["dev"]
    cer = ctc_scores([p for _, p in dev_pairs], [t for t, _ in dev_pairs])["cer"]
    edits = {e["set"]: e for e in ctc["edits"]}
    assert (edits["dev"]["substitutions"], edits["dev"]["deletions"], edits["dev"]["insertions"]) == (2, 3, 1)
    assert edits["dev"]["n_edits"] == pytest.approx(cer * edits["dev"]["n_chars"])
    assert edits["dev"]["cer"] == pytest.approx(cer)
    assert (edits["train"]["n_edits"], edits["train"]["deletions"]) == (1, 1)
    assert ctc["substitutions"][0] == {"true": "2", "predicted": "5", "count": 2, "share": 1.0}
    collapsed = ctc["collapsed_repeats"]
    assert (collapsed["n_examples"], collapsed["edits"]) == (2, 3)
    assert collapsed["cer_if_fixed"] == pytest.approx(cer - 3 / 17)
    (row,) = collapsed["categories"]
    assert row["share"] == pytest.approx(2 / 5) and row["ceiling"] == pytest.approx(2 / 6)

    page = (run / "reports" / "errors.html").read_text(encoding="utf-8")
    assert "Character edits (CTC)" in page and "collapsed_repeat" in page

    text = runner.invoke(app, ["analyze-errors", str(run)], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    assert "Most frequent substitutions on dev (true -> predicted)" in text.output
    assert "Collapsed repeats (a repeated character read once" in text.output
    assert "Error by reference length" in text.output
