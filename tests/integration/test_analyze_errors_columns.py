"""`dlkit analyze-errors` on a classification run whose sheet is kept reads the dev predictions'
columns without pandas (about half a second of import): same reading as from the frames."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from dlkit.cli import app

runner = CliRunner()


def _run(folder: Path) -> Path:
    """A finished 3-class run directory without metadata (the common case), losses with ties."""
    rng = np.random.default_rng(3)
    n = 120
    y_true = rng.integers(0, 3, n)
    wrong = rng.uniform(size=n) < 0.2
    y_pred = np.where(wrong, (y_true + 1) % 3, y_true)
    confidence = rng.choice([0.6, 0.7, 0.9], n)
    labels = np.array(["cat", "dog", "fox"])
    frame = pd.DataFrame(
        {
            "id": np.arange(n) + 7,
            "y_true": labels[y_true],
            "y_pred": labels[y_pred],
            "correct": ~wrong,
            "confidence": confidence,
            "loss": np.where(wrong, -np.log(1 - confidence), -np.log(confidence)),
        }
    )
    run = folder / "cls-run"
    (run / "predictions").mkdir(parents=True)
    frame.to_parquet(run / "predictions" / "dev.parquet", index=False)
    info = {"run_name": "cls-run", "status": "FINISHED", "task": "multiclass", "classes": list(labels)}
    (run / "run.json").write_text(json.dumps(info))
    (run / "recipe.yaml").write_text(yaml.safe_dump({"name": "cls", "seed": 0, "analysis": {"sample": 5}}))
    return run


def _tables(output: str) -> str:
    """The rich tables of the terminal output (from 'Per class' to the notes)."""
    lines = output.splitlines()
    start = lines.index("Per class")
    end = next(k for k, line in enumerate(lines) if line.startswith(("note:", "Report:")))
    return "\n".join(lines[start:end])


def test_kept_sheet_reads_columns_without_pandas_and_reports_what_the_frames_gave(tmp_path: Path):
    run = _run(tmp_path)
    # first: the sheet is drawn and written (the frames' way)
    first = runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report"])
    assert first.exit_code == 0, first.output
    kept = runner.invoke(app, ["analyze-errors", str(run), "--json", "--no-report"])
    assert kept.exit_code == 0, kept.output
    a, b = json.loads(first.stdout), json.loads(kept.stdout)
    assert a["sheet_written"] and not b["sheet_written"] and a["n_sampled"] == b["n_sampled"] == 5
    for key in (
        "n",
        "n_errors",
        "error",
        "per_class",
        "confusion",
        "most_confused",
        "highest_loss",
        "slices",
    ):
        assert a[key] == b[key], key
    assert [row["id"] for row in b["highest_loss"]][:2] and isinstance(b["highest_loss"][0]["id"], int)

    (run / "analysis" / "errors.csv").unlink()
    written = runner.invoke(app, ["analyze-errors", str(run)], env={"COLUMNS": "120"})
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from dlkit.cli import app\n"
        f"r = CliRunner().invoke(app, ['analyze-errors', {str(run)!r}], env={{'COLUMNS': '120'}})\n"
        "assert r.exit_code == 0, r.output\n"
        "print(r.output)\n"
        "print([m for m in ('pandas', 'pyarrow.compute', 'matplotlib', 'tensorflow') if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert _tables(done.stdout) == _tables(written.output)
    assert "kept the existing sheet" in done.stdout
    assert (run / "reports" / "errors.html").is_file()


# what neither report command loads on a classification run with the analysis section dlkit
# train writes out (no section of the recipe's own) and a kept sheet
NOT_FOR_REPORTS = ("pydantic", "dlkit.analysis.spec", "pandas", "pyarrow.compute", "matplotlib", "tensorflow")


def test_both_report_commands_on_the_default_analysis_section_load_no_pydantic(tmp_path: Path):
    run = _run(tmp_path)
    (run / "recipe.yaml").write_text(
        yaml.safe_dump({"name": "cls", "seed": 0, "analysis": {"categories": [], "rules": {}, "sample": 100}})
    )
    shutil.copy(run / "predictions" / "dev.parquet", run / "predictions" / "train.parquet")
    first = runner.invoke(app, ["analyze-errors", str(run), "--no-report"])  # writes the sheet
    assert first.exit_code == 0, first.output
    code = (
        "import contextlib, io, json, os, sys\nfrom dlkit.cli import app\n"
        "assert 'numpy' not in sys.modules\nout = []\n"
        f"for argv in (['analyze-errors', {str(run)!r}], ['diagnose', {str(run)!r}, '--human-error', '0']):\n"
        "    for extra in (['--json', '--no-report'], ['--json']):\n"
        "        buf = io.StringIO()\n"
        "        with contextlib.redirect_stdout(buf):\n"
        "            try:\n                app([*argv, *extra])\n"
        "            except SystemExit as e:\n                assert e.code in (0, None), (argv, e.code)\n"
        "        out.append(json.loads(buf.getvalue()))\n"
        f"print(json.dumps([out, [m for m in {NOT_FOR_REPORTS!r} if m in sys.modules], "
        "'pyarrow.parquet' in sys.modules, os.environ.get('OPENBLAS_THREAD_TIMEOUT')]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, env=env
    )
    (errors_no_report, errors, diagnosis_no_report, diagnosis), loaded, read, blas = json.loads(done.stdout)
    assert loaded == [] and read  # ... and the predictions were read
    assert blas == "4"  # OpenBLAS's idle threads sleep at once (dlkit/cli/_blas.py)
    n_errors = int((~pd.read_parquet(run / "predictions" / "dev.parquet")["correct"]).sum())
    assert errors["n_errors"] == errors_no_report["n_errors"] == n_errors and not errors["sheet_written"]
    assert errors["report"] and errors_no_report["report"] is None
    dev_error = n_errors / 120
    for d in (diagnosis, diagnosis_no_report):
        sets = d["runs"][0]["sets"]
        assert sets["dev"]["error"] == sets["train"]["error"] == pytest.approx(dev_error)
